package web

import (
	"context"
	"errors"
	"net/http"

	"gohub/internal/store"
)

// endSessions gives the user a new cookie_id, so every login cookie of it stops working (a
// logout, a password change), and drops the API's cached credentials. It returns the new id,
// "" when it failed (logged).
func (p *Pages) endSessions(ctx context.Context, u *store.User, why string) string {
	id, err := p.d.Store.RotateCookieID(ctx, u.ID)
	if err != nil {
		p.log.Error("end the sessions of a user", "user", u.Name, "after", why, "err", err)
		return ""
	}
	if p.d.Invalidate != nil {
		p.d.Invalidate()
	}
	return id
}

// PasswordChanged ends the sessions of name after an authenticator's page changed its
// password, keeping the session of the request when it is name's own (auth.PageHost).
func (p *Pages) PasswordChanged(w http.ResponseWriter, r *http.Request, u *store.User, name string) {
	t, err := p.d.Store.GetUser(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return // never logged in (a sign-up not yet used): no session to end
	}
	if err != nil {
		p.log.Error("end the sessions of a user after a password change", "user", name, "err", err)
		return
	}
	id := p.endSessions(r.Context(), t, "a password change")
	if id != "" && u != nil && u.ID == t.ID {
		u.CookieID = id
		p.d.Sessions.SetLogin(w, id)
	}
}
