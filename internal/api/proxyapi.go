package api

import (
	"net/http"
	"slices"

	"gohub/internal/rbac"
)

// errNoProxy answers /api/proxy of an API built without Deps.Proxy.
var errNoProxy = &httpError{http.StatusNotImplemented, "This hub has no proxy API"}

// getProxy answers GET /proxy (proxy): the hub's routes as {routespec: {routespec, target,
// data}}, sorted by routespec and paginated like the other lists (the items of the paginated
// form are that object).
func (a *API) getProxy(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := need(c, rbac.Target{}, "proxy"); err != nil {
		return err
	}
	if a.d.Proxy == nil {
		return errNoProxy
	}
	p, err := a.parsePage(r)
	if err != nil {
		return err
	}
	routes, err := a.d.Proxy.Routes(r.Context())
	if err != nil {
		return errorf(http.StatusBadGateway, "Reading the proxy's routes failed: %v", err)
	}
	specs := make([]string, 0, len(routes))
	for k := range routes {
		specs = append(specs, k)
	}
	slices.Sort(specs)
	total := len(specs)
	specs = specs[min(p.offset, total):min(p.offset+p.limit, total)]
	j := getJW()
	defer putJW(j)
	if p.paginated {
		j.b = append(j.b, `{"items":`...)
	}
	j.open()
	for _, k := range specs {
		ri := routes[k]
		j.keyStr(k)
		j.open()
		j.key("routespec")
		j.str(k)
		j.key("target")
		j.str(ri.Target)
		j.key("data")
		if ri.Data == nil {
			j.b = append(j.b, "{}"...)
		} else {
			j.value(ri.Data)
		}
		j.close()
	}
	j.close()
	p.endItems(j, r, total)
	writeBody(w, http.StatusOK, j.b)
	return nil
}

// postProxy answers POST /proxy (proxy): reconcile the proxy's routes now (§3.4).
func (a *API) postProxy(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := need(c, rbac.Target{}, "proxy"); err != nil {
		return err
	}
	if a.d.Proxy == nil {
		return errNoProxy
	}
	if err := a.d.Proxy.CheckRoutes(r.Context()); err != nil {
		return errorf(http.StatusBadGateway, "Syncing the proxy's routes failed: %v", err)
	}
	writeEmpty(w, http.StatusOK)
	return nil
}

// patchProxy answers PATCH /proxy (proxy): a JSON object; api_url and auth_token, when given,
// point the hub at a new proxy (only a Proxy implementing ProxyReconfigurer can), then the
// routes are reconciled. Other keys (ip, port, protocol in the yaml) are accepted and ignored,
// as JupyterHub does.
func (a *API) patchProxy(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := need(c, rbac.Target{}, "proxy"); err != nil {
		return err
	}
	if a.d.Proxy == nil {
		return errNoProxy
	}
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	body, ok := v.(map[string]any)
	if !ok {
		return errorf(http.StatusBadRequest, "Body must be a JSON dict, not %s", jsonType(v))
	}
	apiURL, hasURL, err := stringField(body, "api_url", "body")
	if err != nil {
		return err
	}
	token, hasToken, err := stringField(body, "auth_token", "body")
	if err != nil {
		return err
	}
	ctx := r.Context()
	if hasURL || hasToken {
		rc, ok := a.d.Proxy.(ProxyReconfigurer)
		if !ok {
			return errorf(http.StatusBadRequest, "This hub's proxy cannot be replaced (api_url, auth_token)")
		}
		if err := rc.Reconfigure(ctx, apiURL, token); err != nil {
			return errorf(http.StatusBadRequest, "Switching proxies failed: %v", err)
		}
	}
	if err := a.d.Proxy.CheckRoutes(ctx); err != nil {
		return errorf(http.StatusBadGateway, "Syncing the proxy's routes failed: %v", err)
	}
	writeEmpty(w, http.StatusOK)
	return nil
}

// postShutdown answers POST /shutdown (shutdown): optional {"servers": bool, "proxy": bool}
// (defaults CleanupServers, CleanupProxy), 202 {"message": "Shutting down Hub"}, then
// Deps.Shutdown runs in its own goroutine.
func (a *API) postShutdown(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := need(c, rbac.Target{}, "shutdown"); err != nil {
		return err
	}
	if a.d.Shutdown == nil {
		return errorf(http.StatusNotImplemented, "This hub cannot be shut down through the API")
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	servers, proxy := a.d.CleanupServers, a.d.CleanupProxy
	for key, dst := range map[string]*bool{"servers": &servers, "proxy": &proxy} {
		v, ok := body[key]
		if !ok {
			continue
		}
		b, isBool := v.(bool)
		if !isBool {
			return errorf(http.StatusBadRequest, "%s must be true or false, not %s", key, jsonType(v))
		}
		*dst = b
	}
	if err := writeJSON(w, http.StatusAccepted, map[string]string{"message": "Shutting down Hub"}); err != nil {
		return err
	}
	a.log.Info("shutdown requested through the API", "by", c.name(), "servers", servers, "proxy", proxy)
	go a.d.Shutdown(servers, proxy)
	return nil
}
