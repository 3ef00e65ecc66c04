package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"gohub/internal/store"
)

// This file serves /hub/admin: a server-rendered shell whose script (static/admin.js) lists,
// searches, sorts and pages users through GET {hub}api/users (offset, limit, name_filter,
// sort, state) and acts through the REST API with the page's _xsrf token, as JupyterHub's
// admin page does. Every action is authorised by the API's own scope checks; the page only
// decides who may open it.

// pageWith is the data of a page with fields of its own: the layout reads the view's fields,
// the page body reads .Page.
type pageWith struct {
	*view
	Page any
}

// renderWith writes a page with fields of its own (admin.html, token.html): the layout's
// fields as render sets them, plus data as .Page.
func (p *Pages) renderWith(w http.ResponseWriter, status int, name string, v *view, data any) {
	p.execute(w, status, name, v, pageWith{view: v, Page: data})
}

// rawScopes returns the unfiltered scope names the roles of u grant (its own roles and its
// groups'), as configured: enough to decide what the pages offer, since every action is
// checked again by the API with the expanded scopes.
func (p *Pages) rawScopes(ctx context.Context, u *store.User) (map[string]bool, error) {
	roles, err := p.d.Store.RolesOf(ctx, store.KindUser, u.ID)
	if err != nil {
		return nil, fmt.Errorf("roles of %s: %w", u.Name, err)
	}
	out := map[string]bool{}
	for _, r := range roles {
		for _, s := range r.Scopes {
			out[s] = true
		}
	}
	return out, nil
}

// Grants reports whether u may use an admin page that needs scope (auth.PageHost): u is an
// admin, or the roles of u hold scope unfiltered, as rawScopes reads them. A filtered grant
// (admin:users!group=x) does not count: these pages act on every user.
func (p *Pages) Grants(ctx context.Context, u *store.User, scope string) (bool, error) {
	if u == nil {
		return false, nil
	}
	if u.Admin {
		return true, nil
	}
	scopes, err := p.rawScopes(ctx, u)
	if err != nil {
		return false, err
	}
	return scopes[scope], nil
}

// canAdminUI is the layout's CanAdmin: whether u gets the Admin link (Grants admin-ui). A
// database failure hides the link (the page itself checks again).
func (p *Pages) canAdminUI(u *store.User) bool {
	if u == nil {
		return false
	}
	if u.Admin {
		return true
	}
	// The render paths carry no request; the lookup is one indexed query.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, err := p.Grants(ctx, u, "admin-ui")
	if err != nil {
		p.log.Warn("admin link: read the roles of the user", "user", u.Name, "err", err)
		return false
	}
	return ok
}

// adminPage is what admin.html shows besides the layout.
type adminPage struct {
	XSRF    string
	APIURL  string // {hub}api/
	JS      string // the script's versioned URL
	Me      string
	Access  bool // the viewer holds access:servers: running servers get an Open link
	Spawn   bool // the hub runs servers: Start and Stop buttons
	Named   bool // allow_named_servers
	PerPage int
	// With admin:users (PageHost.Grants): Block shows a user's block and Block/Unblock buttons
	// (the hub blocks users: its Authenticator knows blocks); Resets a "Reset link" button
	// per user and Invites an Invite button (account recovery has an authenticator that keeps
	// passwords).
	Block, Resets, Invites bool
}

// adminPageSizes are the page sizes the admin page offers; the first is the default.
var adminPageSizes = []int{50, 100, 200}

// adminPage answers GET /hub/admin: for admins and users whose roles hold admin-ui (as
// upstream checks); anyone else gets the 403 page.
func (p *Pages) adminPage(w http.ResponseWriter, r *http.Request) {
	u, ok := p.requireUser(w, r)
	if !ok {
		return
	}
	scopes, err := p.rawScopes(r.Context(), u)
	if err != nil {
		p.log.Error("admin page", "user", u.Name, "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
		return
	}
	if !u.Admin && !scopes["admin-ui"] {
		p.Error(w, r, http.StatusForbidden, "The admin page is for administrators.")
		return
	}
	data := &adminPage{
		XSRF:    p.XSRFToken(w, r, u),
		APIURL:  p.hubPrefix + "api/",
		JS:      p.hubPrefix + "static/admin.js?v=" + p.static.version("admin.js"),
		Me:      u.Name,
		Access:  scopes["access:servers"],
		Spawn:   p.d.Servers != nil,
		Named:   p.d.AllowNamedServers,
		PerPage: adminPageSizes[0],
	}
	if u.Admin || scopes["admin:users"] {
		_, data.Block = p.d.Auth.(interface{ IsBlocked(name string) bool })
		if rs := p.d.Recovery; rs != nil {
			data.Resets, data.Invites = rs.Available(), rs.InvitesAvailable()
		}
	}
	p.renderWith(w, http.StatusOK, "admin.html", &view{Title: "Admin", User: u}, data)
}
