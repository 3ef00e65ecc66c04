package api

import (
	"net/http"
	"slices"
	"strings"

	"gohub/internal/rbac"
)

// handler is an API endpoint: c is nil for an anonymous request. A returned error is written
// by fail.
type handler func(w http.ResponseWriter, r *http.Request, c *caller) error

// methods maps HTTP methods to handlers for one path.
type methods map[string]handler

// routes builds the mux: every path of §1 that this package serves, a JSON 404 for the rest.
func (a *API) routes() http.Handler {
	mux := http.NewServeMux()
	p := a.prefix
	anon := func(path string, m methods) { a.handle(mux, path, m, false) }
	authed := func(path string, m methods) { a.handle(mux, path, m, true) }

	anon(p, methods{"GET": a.getVersion})
	anon(p+"/{$}", methods{"GET": a.getVersion})
	anon(p+"/health", methods{"GET": a.getHealth, "HEAD": a.getHealth})
	authed(p+"/info", methods{"GET": a.getInfo})
	authed(p+"/user", methods{"GET": a.getIdentity})

	authed(p+"/users", methods{"GET": a.listUsers, "POST": a.createUsers})
	authed(p+"/users/{name}", methods{"GET": a.getUser, "POST": a.createUser, "PATCH": a.patchUser, "DELETE": a.deleteUser})
	authed(p+"/users/{name}/activity", methods{"POST": a.postActivity})
	authed(p+"/users/{name}/admin-access", methods{"POST": a.postAdminAccess})
	authed(p+"/users/{name}/tokens", methods{"GET": a.listTokens, "POST": a.createToken})
	authed(p+"/users/{name}/tokens/{token_id}", methods{"GET": a.getToken, "DELETE": a.deleteToken})
	authed(p+"/users/{name}/password-reset", methods{"POST": a.postPasswordReset})
	authed(p+"/invitations", methods{"POST": a.postInvitation})

	server := methods{"POST": a.startServer, "DELETE": a.stopServer, "GET": a.getServer}
	named := methods{"POST": a.startServer, "DELETE": a.stopServer, "GET": a.getServer, "PUT": a.putServer, "PATCH": a.patchServer}
	authed(p+"/users/{name}/server", server)
	authed(p+"/users/{name}/servers/{$}", server)
	authed(p+"/users/{name}/servers/{server_name}", named)
	authed(p+"/users/{name}/server/progress", methods{"GET": a.serverProgress})
	authed(p+"/users/{name}/servers/{server_name}/progress", methods{"GET": a.serverProgress})

	authed(p+"/proxy", methods{"GET": a.getProxy, "POST": a.postProxy, "PATCH": a.patchProxy})
	authed(p+"/shutdown", methods{"POST": a.postShutdown})

	authed(p+"/groups", methods{"GET": a.listGroups, "POST": a.createGroups})
	authed(p+"/groups/{name}", methods{"GET": a.getGroup, "POST": a.createGroup, "DELETE": a.deleteGroup})
	authed(p+"/groups/{name}/users", methods{"POST": a.addGroupUsers, "DELETE": a.removeGroupUsers})
	authed(p+"/groups/{name}/properties", methods{"PUT": a.putGroupProperties})

	authed(p+"/services", methods{"GET": a.listServices})
	authed(p+"/services/{name}", methods{"GET": a.getService, "POST": a.createService, "DELETE": a.deleteService})

	authed(p+"/authorizations/token/{token}", methods{"GET": a.getTokenOwner})
	anon(p+"/authorizations/token", methods{"POST": a.postAuthorizationsToken})

	mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, errorf(http.StatusNotFound, "No API endpoint at %s", r.URL.Path))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.setHeaders(w)
		if r.Method == http.MethodOptions {
			// CORS preflight: no authentication, no body (§0.2).
			w.WriteHeader(http.StatusOK)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// handle registers one path: method dispatch (405 JSON otherwise), authentication, and a
// cache generation bump after every successful write.
func (a *API) handle(mux *http.ServeMux, path string, m methods, auth bool) {
	allowed := make([]string, 0, len(m)+1)
	for k := range m {
		allowed = append(allowed, k)
	}
	allowed = append(allowed, http.MethodOptions)
	slices.Sort(allowed)
	allow := strings.Join(allowed, ", ")
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		h, ok := m[r.Method]
		if !ok {
			w.Header().Set("Allow", allow)
			a.fail(w, r, errorf(http.StatusMethodNotAllowed, ""))
			return
		}
		var c *caller
		if auth {
			var err error
			if c, err = a.authenticate(r); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		err := h(w, r, c)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		// A safety net: write handlers also bump before replying. Refused requests do not,
		// so they cannot force cache rebuilds.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			a.gen.Add(1)
		}
	})
}

// setHeaders sets the headers of every API reply (§0.2).
func (a *API) setHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-JupyterHub-Version", a.d.Version)
	h.Set("Content-Security-Policy", "frame-ancestors 'none'; report-uri "+a.hubPrefix()+"security/csp-report; default-src 'none'")
	h.Set("Access-Control-Allow-Headers", "accept, content-type, authorization")
}

// need returns nil when c holds any of scopes for target, else the 403 or 404 of §0.5.
func need(c *caller, target rbac.Target, scopes ...string) error {
	if c == nil {
		return errNoCredentials
	}
	switch c.scopes.Check(scopes, target) {
	case rbac.Allowed:
		return nil
	case rbac.NotFound:
		return errNoAccess
	}
	return errScopes(scopes)
}

// needAny is need for endpoints that post-filter their results: the scope must be held at all.
func needAny(c *caller, scope string) error {
	if c == nil {
		return errNoCredentials
	}
	if !c.scopes.HasAny(scope) {
		return errScopes([]string{scope})
	}
	return nil
}
