package native

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"gohub/internal/auth"
	"gohub/internal/store"
)

// The admin API, under {prefix}api/native/ (the REST API's authentication: a token in the
// Authorization header, or the login cookie with an X-XSRFToken header for writes):
//
//	GET    users?search=&state=&offset=&limit=  one page of sign-ups: {"items": [...], "total": n}
//	GET    users/{name}                          one sign-up
//	POST   users/{name}/authorize                authorize it; answers the sign-up
//	POST   users/{name}/unauthorize              un-authorize it; answers the sign-up
//	DELETE users/{name}                          discard it (and the hub user); 204
//
// Callers must be admins: a token with the admin:users scope, or an admin's login cookie.

// apiUser is a sign-up as the API shows it (never the hash or the TOTP secret).
type apiUser struct {
	Name       string `json:"name"`
	Email      string `json:"email"`
	Authorized bool   `json:"authorized"`
	Has2FA     bool   `json:"has_2fa"`
	Created    string `json:"created"`
}

func toAPI(u *store.NativeUser) apiUser {
	v := apiUser{Name: u.Username, Email: u.Email, Authorized: u.Authorized, Has2FA: u.Has2FA}
	if !u.Created.IsZero() {
		v.Created = u.Created.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// apiMaxLimit bounds a page of the list.
const apiMaxLimit = 200

// registerAPI adds the admin API's routes.
func (a *Authenticator) registerAPI(mux *http.ServeMux, d auth.PageDeps) {
	base := d.Prefix + "api/native/users"
	handle := func(pattern string, h func(w http.ResponseWriter, r *http.Request, c *auth.APICaller)) {
		handleSecure(mux, pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			c, status := a.apiAdmin(r, d)
			if status != 0 {
				apiError(w, status, http.StatusText(status)+apiWhy(status))
				return
			}
			h(w, r, c)
		})
	}
	handle("GET "+base, func(w http.ResponseWriter, r *http.Request, _ *auth.APICaller) {
		q := r.URL.Query()
		state := q.Get("state")
		if state != "" && state != "authorized" && state != "unauthorized" {
			apiError(w, http.StatusBadRequest, "state must be authorized, unauthorized or empty")
			return
		}
		offset, err1 := atoiDefault(q.Get("offset"), 0)
		limit, err2 := atoiDefault(q.Get("limit"), 100)
		if err1 != nil || err2 != nil || offset < 0 || limit < 1 {
			apiError(w, http.StatusBadRequest, "offset must be a number ≥ 0 and limit a number ≥ 1")
			return
		}
		limit = min(limit, apiMaxLimit)
		db, err := a.store()
		if err != nil {
			a.apiFailed(w, err)
			return
		}
		users, total, err := db.ListNativeUsers(r.Context(), store.NativeListOptions{
			Search: q.Get("search"), State: state, Offset: offset, Limit: limit})
		if err != nil {
			a.apiFailed(w, err)
			return
		}
		items := make([]apiUser, 0, len(users))
		for _, u := range users {
			items = append(items, toAPI(u))
		}
		apiJSON(w, http.StatusOK, map[string]any{"items": items, "total": total, "offset": offset, "limit": limit})
	})
	handle("GET "+base+"/{name}", func(w http.ResponseWriter, r *http.Request, _ *auth.APICaller) {
		a.apiAnswerUser(w, r, r.PathValue("name"), http.StatusOK)
	})
	for _, action := range []string{"authorize", "unauthorize"} {
		handle("POST "+base+"/{name}/"+action, func(w http.ResponseWriter, r *http.Request, c *auth.APICaller) {
			name := r.PathValue("name")
			if err := a.act(r.Context(), d, actor{c.Name, c.Admin}, action, name); err != nil {
				a.apiActFailed(w, name, err)
				return
			}
			a.invalidate()
			a.apiAnswerUser(w, r, name, http.StatusOK)
		})
	}
	handle("DELETE "+base+"/{name}", func(w http.ResponseWriter, r *http.Request, c *auth.APICaller) {
		name := r.PathValue("name")
		if err := a.act(r.Context(), d, actor{c.Name, c.Admin}, "discard", name); err != nil {
			a.apiActFailed(w, name, err)
			return
		}
		a.invalidate()
		w.WriteHeader(http.StatusNoContent)
	})
}

// apiAdmin authenticates an API request; status is 0 for an admin caller, else the answer:
// 403 for anyone else (anonymous, not an admin, a cookie request without _xsrf).
func (a *Authenticator) apiAdmin(r *http.Request, d auth.PageDeps) (*auth.APICaller, int) {
	if d.API == nil || d.API.Identify == nil {
		return nil, http.StatusForbidden
	}
	c, err := d.API.Identify(r)
	switch {
	case errors.Is(err, auth.ErrAPIXSRF):
		return nil, http.StatusForbidden
	case err != nil:
		a.log.Error("native api: authenticate", "err", err)
		return nil, http.StatusInternalServerError
	case c == nil:
		return nil, http.StatusForbidden
	}
	if (c.HasScope != nil && c.HasScope("admin:users")) || (c.Cookie && c.Admin) {
		return c, 0
	}
	return nil, http.StatusForbidden
}

func apiWhy(status int) string {
	if status == http.StatusForbidden {
		return ": this API needs an admin (a token with the admin:users scope, or an admin's login cookie with _xsrf)"
	}
	return ""
}

func atoiDefault(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	return strconv.Atoi(s)
}

func (a *Authenticator) apiAnswerUser(w http.ResponseWriter, r *http.Request, name string, status int) {
	db, err := a.store()
	if err != nil {
		a.apiFailed(w, err)
		return
	}
	u, err := db.GetNativeUser(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		apiError(w, http.StatusNotFound, "no sign-up named "+name)
		return
	}
	if err != nil {
		a.apiFailed(w, err)
		return
	}
	apiJSON(w, status, toAPI(u))
}

func (a *Authenticator) apiActFailed(w http.ResponseWriter, name string, err error) {
	var shown *auth.Rejection
	switch {
	case errors.Is(err, auth.ErrOnlyAdmins):
		apiError(w, http.StatusForbidden, msgOnlyAdmins)
	case errors.As(err, &shown):
		apiError(w, http.StatusBadRequest, shown.Message)
	case errors.Is(err, store.ErrNotFound):
		apiError(w, http.StatusNotFound, "no sign-up named "+name)
	default:
		a.apiFailed(w, err)
	}
}

func (a *Authenticator) apiFailed(w http.ResponseWriter, err error) {
	a.log.Error("native api", "err", err)
	apiError(w, http.StatusInternalServerError, "Internal Server Error")
}

// apiError answers as the REST API does: {"status": n, "message": "..."}.
func apiError(w http.ResponseWriter, status int, msg string) {
	apiJSON(w, status, map[string]any{"status": status, "message": msg})
}

func apiJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
