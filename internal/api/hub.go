package api

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

// getVersion answers GET /api and /api/ without authentication (§1.2).
func (a *API) getVersion(w http.ResponseWriter, r *http.Request, _ *caller) error {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	return writeJSON(w, http.StatusOK, map[string]string{"version": a.d.Version})
}

// getHealth answers GET/HEAD /api/health: 200, empty.
func (a *API) getHealth(w http.ResponseWriter, r *http.Request, _ *caller) error {
	writeEmpty(w, http.StatusOK)
	return nil
}

// getInfo answers GET /api/info (read:hub).
func (a *API) getInfo(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := need(c, rbac.Target{}, "read:hub"); err != nil {
		return err
	}
	exe, _ := os.Executable()
	i := a.d.Info
	return writeJSON(w, http.StatusOK, map[string]any{
		"version": a.d.Version,
		// Deliberate difference: there is no Python; these name the Go runtime and binary.
		"python":         runtime.Version(),
		"sys_executable": exe,
		"spawner":        map[string]string{"class": i.SpawnerClass, "version": i.SpawnerVersion},
		"authenticator":  map[string]string{"class": i.AuthenticatorClass, "version": i.AuthenticatorVersion},
	})
}

// getIdentity answers GET /api/user: the owner's model built with its identify scopes added,
// plus token_id, session_id and the request's own scopes (§1.1 Identity model).
func (a *API) getIdentity(w http.ResponseWriter, r *http.Request, c *caller) error {
	if c == nil {
		return errNoCredentials
	}
	withID, _ := c.scopes.WithIdentify(c.owner)
	view := &caller{kind: c.kind, user: c.user, service: c.service, token: c.token, owner: c.owner, scopes: withID}
	j := getJW()
	defer putJW(j)
	if err := a.writeOwner(r, j, view); err != nil {
		return err
	}
	j.b = j.b[:len(j.b)-1] // reopen the object to add the request's details
	j.key("token_id")
	sessionID := ""
	if c.token != nil {
		j.str(fmt.Sprintf("a%d", c.token.ID))
		sessionID = c.token.SessionID
	} else {
		j.null()
		if a.d.Sessions != nil {
			sessionID = a.d.Sessions.SessionID(r)
		}
	}
	j.key("session_id")
	j.strOrNull(sessionID)
	j.key("scopes")
	j.strs(c.scopes.Sorted())
	j.close()
	writeBody(w, http.StatusOK, j.b)
	return nil
}

// writeOwner writes the fresh user or service model of view's owner as view's scopes allow.
func (a *API) writeOwner(r *http.Request, j *jw, view *caller) error {
	ctx := r.Context()
	if view.kind == store.KindService {
		s, err := a.db.GetService(ctx, view.service.Name)
		if err != nil {
			return fmt.Errorf("identity: %w", err)
		}
		if !a.writeService(j, view.scopes, s) {
			return errNoCredentials
		}
		return nil
	}
	u, err := a.db.GetUserByID(ctx, view.user.ID)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if !a.writeUser(j, u, a.viewOf(view, u), userOpts{}) {
		return errNoCredentials
	}
	return nil
}

// getTokenOwner answers the deprecated GET /api/authorizations/token/{token} (§1.8): the
// model of another token's owner, for token-authenticated callers only.
func (a *API) getTokenOwner(w http.ResponseWriter, r *http.Request, c *caller) error {
	if c == nil || c.token == nil {
		return errNoCredentials
	}
	a.log.Warn("/authorizations/token/:token is deprecated; use /api/user")
	e, err := a.tokenCaller(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	if e == nil {
		return errorf(http.StatusNotFound, "")
	}
	// Holding the token is reason enough to read its owner's identity.
	scopes := c.scopes.Clone()
	for _, s := range rbac.IdentifyScopes(e.c.owner) {
		scopes[s] = struct{}{}
	}
	a.bumpTokenActivity(r.Context(), e)
	view := &caller{kind: e.c.kind, user: e.c.user, service: e.c.service, owner: e.c.owner, scopes: scopes}
	j := getJW()
	defer putJW(j)
	if err := a.writeOwner(r, j, view); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(http.StatusNotFound, "")
		}
		return err
	}
	writeBody(w, http.StatusOK, j.b)
	return nil
}

// postAuthorizationsToken is POST /api/authorizations/token, removed in JupyterHub 2.0.
func (a *API) postAuthorizationsToken(w http.ResponseWriter, r *http.Request, _ *caller) error {
	return errorf(http.StatusNotFound, "This endpoint was removed; request tokens with POST /hub/api/users/:name/tokens")
}

// postAdminAccess is the deprecated no-op POST /api/users/{name}/admin-access.
func (a *API) postAdminAccess(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	u, t, err := a.userTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "servers"); err != nil {
		return err
	}
	if !a.d.AdminAccess {
		return errorf(http.StatusForbidden, "admin access to user servers is disabled")
	}
	if u == nil {
		return errorf(http.StatusNotFound, "No such user: %s", name)
	}
	writeEmpty(w, http.StatusOK)
	return nil
}
