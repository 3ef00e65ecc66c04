package api

import (
	"errors"
	"net/http"

	"gohub/internal/rbac"
)

// ErrXSRF is what Identify returns for a cookie-authenticated request without a valid _xsrf
// token: answer it 403.
var ErrXSRF = errors.New("'_xsrf' argument missing or invalid (cookie-authenticated requests need it)")

// Caller is who made a request to an endpoint served outside this package (an authenticator's
// own API under /hub/api/), as the REST API would see it.
type Caller struct {
	// Name is the user's or service's name; Kind is store.KindUser or store.KindService.
	Name, Kind string
	// Admin is the owner's admin flag.
	Admin bool
	// Cookie is true when the login cookie, not a token, authenticated the request.
	Cookie bool
	scopes rbac.Set
}

// HasScope reports whether the caller holds scope without a filter (e.g. "admin:users" for
// every user), superscopes included.
func (c *Caller) HasScope(scope string) bool { return c.scopes.Has(scope, rbac.Target{}) }

// Identify authenticates r exactly as the REST API does (an "Authorization: token" header, or
// the login cookie with the _xsrf rules of §4.4): nil, nil when the request is anonymous,
// ErrXSRF when a cookie request lacks its token, another error when the database failed.
// After a change made on behalf of a caller, call Invalidate.
func (a *API) Identify(r *http.Request) (*Caller, error) {
	c, err := a.authenticate(r)
	if errors.Is(err, errXSRF) {
		return nil, ErrXSRF
	}
	if err != nil || c == nil {
		return nil, err
	}
	return &Caller{Name: c.name(), Kind: c.kind, Admin: c.isAdmin(), Cookie: c.token == nil, scopes: c.scopes}, nil
}
