package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

// listServices answers GET /services (list:services): an object keyed by name, as JupyterHub
// returns (the yaml says a list).
func (a *API) listServices(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := needAny(c, "list:services"); err != nil {
		return err
	}
	_, all, _, _, names := c.scopes.ListFilter("list:services")
	svcs, err := a.db.ListServices(r.Context())
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	j := getJW()
	defer putJW(j)
	j.open()
	for _, s := range svcs {
		if !all && !contains(names, s.Name) {
			continue
		}
		mark := len(j.b)
		j.keyStr(s.Name)
		if !a.writeService(j, c.scopes, s) {
			j.b = j.b[:mark]
		}
	}
	j.close()
	writeBody(w, http.StatusOK, j.b)
	return nil
}

// serviceTarget loads the named service (nil if none) and its rbac target.
func (a *API) serviceTarget(r *http.Request, name string) (*store.Service, rbac.Target, error) {
	t := rbac.Target{Service: name}
	s, err := a.db.GetService(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, t, nil
	}
	if err != nil {
		return nil, t, fmt.Errorf("get service: %w", err)
	}
	return s, t, nil
}

// getService answers GET /services/{name}.
func (a *API) getService(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	s, t, err := a.serviceTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "read:services", "read:services:name", "read:roles:services"); err != nil {
		return err
	}
	if s == nil {
		return errorf(http.StatusNotFound, "No such service: %s", name)
	}
	j := getJW()
	defer putJW(j)
	if !a.writeService(j, c.scopes, s) {
		return errNoAccess
	}
	writeBody(w, http.StatusOK, j.b)
	return nil
}

// serviceKeys are the keys POST /services/{name} accepts (§1.7).
var serviceKeys = []string{"admin", "url", "oauth_client_allowed_scopes", "api_token", "info", "display",
	"oauth_no_confirm", "oauth_client_id", "oauth_redirect_uri", "user", "cwd", "environment", "command"}

// createService answers POST /services/{name} (admin:services, JupyterHub 5.0+): an unmanaged
// service created at run time. OAuth clients for such services are not created here yet.
func (a *API) createService(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	old, t, err := a.serviceTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "admin:services"); err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	if err := checkKeys(body, "service", serviceKeys...); err != nil {
		return err
	}
	if _, ok := body["command"]; ok {
		return errorf(http.StatusBadRequest, "Managed services (with a command) cannot be created through the API")
	}
	if _, ok := body["oauth_client_id"]; ok {
		return errorf(http.StatusBadRequest, "OAuth clients for services created through the API are not supported yet")
	}
	if _, ok := body["oauth_redirect_uri"]; ok {
		return errorf(http.StatusBadRequest, "OAuth clients for services created through the API are not supported yet")
	}
	if old != nil {
		return errorf(http.StatusConflict, "Service %s already exists", name)
	}
	s := store.Service{Name: name}
	if s.Admin, _, err = boolField(body, "admin", "service"); err != nil {
		return err
	}
	if s.Admin && !c.isAdmin() {
		return errorf(http.StatusForbidden, "Only admins can create admin services")
	}
	if s.URL, _, err = stringField(body, "url", "service"); err != nil {
		return err
	}
	if s.URL != "" {
		if u, err := url.Parse(s.URL); err != nil || u.Scheme == "" || u.Host == "" {
			return errorf(http.StatusBadRequest, "service.url must be an absolute URL, not %q", s.URL)
		}
	}
	if s.Display, _, err = boolField(body, "display", "service"); err != nil {
		return err
	}
	if _, ok := body["display"]; !ok {
		s.Display = true
	}
	if s.OAuthNoConfirm, _, err = boolField(body, "oauth_no_confirm", "service"); err != nil {
		return err
	}
	if s.Info, _, err = objectField(body, "info", "service"); err != nil {
		return err
	}
	if s.User, _, err = stringField(body, "user", "service"); err != nil {
		return err
	}
	if s.Cwd, _, err = stringField(body, "cwd", "service"); err != nil {
		return err
	}
	env, _, err := objectField(body, "environment", "service")
	if err != nil {
		return err
	}
	s.Environment = map[string]string{}
	for k, v := range env {
		sv, ok := v.(string)
		if !ok {
			return errorf(http.StatusBadRequest, "service.environment values must be strings")
		}
		s.Environment[k] = sv
	}
	scopes, _, err := stringList(body, "oauth_client_allowed_scopes", "service")
	if err != nil {
		return err
	}
	if err := a.d.Catalog.ValidateAll(scopes); err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	for _, sc := range scopes {
		want := a.d.Catalog.Expand([]string{sc}, c.owner, rbac.Client{})
		if !rbac.Intersect(want, c.scopes, a.groupsOf(r.Context(), c.user)).Equal(want) {
			return errorf(http.StatusForbidden, "Cannot grant scope %s that you do not hold", sc)
		}
	}
	s.OAuthClientAllowedScopes = scopes
	token, hasToken, err := stringField(body, "api_token", "service")
	if err != nil {
		return err
	}
	if hasToken && len(token) < store.MinTokenLength {
		return errorf(http.StatusBadRequest, "service.api_token must be at least %d characters", store.MinTokenLength)
	}
	if hasToken {
		if existing, _ := a.db.LookupToken(r.Context(), token, a.now()); existing != nil {
			return errorf(http.StatusBadRequest, "service.api_token is already in use")
		}
	}
	created, err := a.db.UpsertService(r.Context(), s)
	if err != nil {
		return fmt.Errorf("create service: %w", err)
	}
	if hasToken {
		_, err := a.db.CreateToken(r.Context(), store.NewToken{Plain: token, Rounds: store.SuppliedTokenRounds,
			ServiceID: &created.ID, Note: "from API", Scopes: []string{"inherit"}})
		if err != nil {
			// Undo the service so a failed request leaves nothing behind.
			if derr := a.db.DeleteService(r.Context(), name); derr != nil {
				a.log.Error("undo service creation", "service", name, "err", derr)
			}
			return fmt.Errorf("create service token: %w", err)
		}
	}
	a.gen.Add(1)
	if created, err = a.db.GetService(r.Context(), name); err != nil {
		return err
	}
	j := getJW()
	defer putJW(j)
	if !a.writeService(j, c.scopes, created) {
		j.b = append(j.b[:0], "{}"...)
	}
	writeBody(w, http.StatusCreated, j.b)
	return nil
}

// deleteService answers DELETE /services/{name} (admin:services): 405 for config services.
func (a *API) deleteService(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	s, t, err := a.serviceTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "admin:services"); err != nil {
		return err
	}
	if s == nil {
		return errorf(http.StatusNotFound, "No such service: %s", name)
	}
	if s.FromConfig {
		return errorf(http.StatusMethodNotAllowed, "Service %s is defined in the config file and cannot be deleted through the API", name)
	}
	if err := a.db.DeleteService(r.Context(), name); err != nil {
		return fmt.Errorf("delete service: %w", err)
	}
	a.gen.Add(1)
	writeEmpty(w, http.StatusOK)
	return nil
}
