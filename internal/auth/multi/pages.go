package multi

import (
	"context"
	"net/http"

	"gohub/internal/auth"
	"gohub/internal/store"
)

// RegisterPages registers every source's own pages (auth.PageProvider) under
// {prefix}{url_prefix}/, or directly under the prefix when url_prefix is empty. Each source's
// pages get its own pipeline and a host that completes logins through that source and shows
// the logged-in user under the source's name.
func (m *Authenticator) RegisterPages(mux *http.ServeMux, d auth.PageDeps) {
	for _, s := range m.sources {
		pp, ok := s.real.(auth.PageProvider)
		if !ok {
			continue
		}
		sd := d
		if s.urlPrefix != "" {
			sd.Prefix, sd.HubPrefix = d.Prefix+s.urlPrefix+"/", d.Hub()
		}
		sd.Host = &sourceHost{PageHost: d.Host, m: m, src: s}
		sd.Pipeline = s.pipeline
		pp.RegisterPages(mux, sd)
	}
}

// sourceHost is the hub's PageHost as one source's pages see it.
type sourceHost struct {
	auth.PageHost
	m   *Authenticator
	src *source
}

// CompleteLogin marks the request as this source's, so the login goes through it.
func (h *sourceHost) CompleteLogin(w http.ResponseWriter, r *http.Request, next string) error {
	return h.PageHost.CompleteLogin(w, r.WithContext(context.WithValue(r.Context(), pageSourceKey{}, h.src)), next)
}

// PasswordChanged ends the sessions of the source's user name (its hub name has the source's
// prefix).
func (h *sourceHost) PasswordChanged(w http.ResponseWriter, r *http.Request, u *store.User, name string) {
	h.PageHost.PasswordChanged(w, r, u, h.src.prefix+name)
}

// RequireUser gives the source's pages the logged-in user under the source's name. A user of
// another source is refused, except one who manages users (an admin, or admin:users), who keeps
// the hub name (Native's authorize page is for them).
func (h *sourceHost) RequireUser(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	u, ok := h.PageHost.RequireUser(w, r)
	if !ok {
		return nil, false
	}
	src, sub, err := h.m.owner(r.Context(), u.Name)
	if err != nil {
		h.m.log.Error("find the source of a user", "user", u.Name, "err", err)
		h.PageHost.Error(w, r, http.StatusInternalServerError, "")
		return nil, false
	}
	if src == h.src {
		c := *u
		c.Name = sub
		return &c, true
	}
	// Those who manage users keep their hub name (the page checks admin:users itself).
	may, err := h.PageHost.Grants(r.Context(), u, "admin:users")
	if err != nil {
		h.m.log.Error("read the scopes of a user", "user", u.Name, "err", err)
		h.PageHost.Error(w, r, http.StatusInternalServerError, "")
		return nil, false
	}
	if may {
		return u, true
	}
	h.PageHost.Error(w, r, http.StatusForbidden, "This page is for accounts of "+h.src.label+".")
	return nil, false
}
