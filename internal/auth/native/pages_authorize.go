package native

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"gohub/internal/auth"
	"gohub/internal/store"
)

// pageSize is how many sign-ups the authorize page lists at once.
const pageSize = 50

var authorizeTmpl = parse("authorize", `<section class="card card-xwide" id="native-authorize">
<h1>Authorize users</h1>
<p class="lead">People who signed up wait here until an administrator authorizes them.</p>
{{template "alert" .Alert}}
<form action="{{.Prefix}}authorize" method="get" class="searchbar" id="native-search" role="search">
<label class="visually-hidden" for="search_input">Search usernames</label>
<input id="search_input" type="search" name="q" value="{{.Query}}" placeholder="Search usernames">
<label class="visually-hidden" for="state_input">State</label>
<select id="state_input" name="state">
<option value=""{{if eq .State ""}} selected{{end}}>All sign-ups</option>
<option value="unauthorized"{{if eq .State "unauthorized"}} selected{{end}}>Waiting for approval</option>
<option value="authorized"{{if eq .State "authorized"}} selected{{end}}>Authorized</option>
</select>
<button type="submit" class="btn btn-secondary btn-small">Filter</button>
</form>
<table class="table" id="native-users">
<thead><tr><th>Username</th><th>Email</th><th>2FA</th><th class="nowrap">Signed up</th><th>State</th><th></th></tr></thead>
<tbody>
{{range .Users}}<tr id="user-{{.Username}}">
<td><strong>{{.Username}}</strong></td><td>{{if .Email}}{{.Email}}{{else}}<span class="muted">—</span>{{end}}</td>
<td>{{if .Has2FA}}on{{else}}<span class="muted">off</span>{{end}}</td>
<td class="muted nowrap">{{if not .Created.IsZero}}{{.Created.UTC.Format "2006-01-02"}}{{end}}</td>
<td class="nowrap">{{if .Authorized}}<span class="badge badge-ok">Authorized</span>{{else}}<span class="badge badge-busy">Waiting for approval</span>{{end}}{{if index $.Taken .Username}}
<span class="badge badge-failed" title="A hub user of this name existed before the sign-up: authorizing hands that account to whoever signed up.">Name of an existing user</span>{{end}}</td>
<td class="actions">
<form action="{{$.Prefix}}authorize" method="post" class="inline">
<input type="hidden" name="_xsrf" value="{{$.XSRF}}">
<input type="hidden" name="username" value="{{.Username}}">
<input type="hidden" name="q" value="{{$.Query}}"><input type="hidden" name="state" value="{{$.State}}"><input type="hidden" name="page" value="{{$.Page}}">
{{if .Authorized}}<button type="submit" name="action" value="unauthorize" class="btn btn-small btn-secondary">Unauthorize</button>
{{else}}<button type="submit" name="action" value="authorize" class="btn btn-small btn-primary">Authorize</button><button type="submit" name="action" value="discard" class="btn btn-small btn-danger">Discard</button>{{end}}
</form><a class="action-link" href="{{$.Prefix}}change-password/{{pathEscape .Username}}">Set password</a>
</td></tr>
{{else}}<tr><td colspan="6" class="muted">No sign-ups match.</td></tr>
{{end}}
</tbody></table>
<div class="pager"><span class="muted" id="native-count">{{.Total}} sign-up{{if ne .Total 1}}s{{end}}{{if .Users}}, showing {{.First}}–{{.Last}}{{end}}</span>
<span>{{if .Prev}}<a class="btn btn-small btn-secondary" href="{{.Prev}}" rel="prev">← Previous</a>{{end}} {{if .Next}}<a class="btn btn-small btn-secondary" href="{{.Next}}" rel="next">Next →</a>{{end}}</span></div>
<p class="muted note">Discard deletes a sign-up that is waiting for approval and the hub user of that
name from the hub database, unless that hub user existed before the sign-up.
It never touches system accounts, home directories or other files.</p>
</section>`)

type authorizeView struct {
	Prefix, XSRF, Query, State string
	Page, Total, First, Last   int
	Users                      []*store.NativeUser
	// Taken marks waiting sign-ups whose name was a hub user before the sign-up (someone may be
	// claiming an existing account).
	Taken      map[string]bool
	Prev, Next string
	Alert      *alert
}

// requireAdmin returns the logged-in user if they may manage users (an admin, or roles that
// hold admin:users: the hub's PageHost.Grants), or answers (login redirect, 403) and returns
// false.
func (a *Authenticator) requireAdmin(w http.ResponseWriter, r *http.Request, d auth.PageDeps) (*store.User, bool) {
	u, ok := d.Host.RequireUser(w, r)
	if !ok {
		return nil, false
	}
	may, err := d.Host.Grants(r.Context(), u, "admin:users")
	if err != nil {
		a.log.Error("native: read the scopes of a user", "user", u.Name, "err", err)
		d.Host.Error(w, r, http.StatusInternalServerError, "")
		return nil, false
	}
	if !may {
		a.forbidden(w, d, u)
		return nil, false
	}
	return u, true
}

// registerAuthorize adds GET {prefix}authorize (the list, with q, state and page) and POST
// {prefix}authorize (action authorize, unauthorize or discard of username), for admins.
func (a *Authenticator) registerAuthorize(mux *http.ServeMux, d auth.PageDeps) {
	path := d.Prefix + "authorize"
	handleSecure(mux, "GET "+path, func(w http.ResponseWriter, r *http.Request) {
		u, ok := a.requireAdmin(w, r, d)
		if !ok {
			return
		}
		q := r.URL.Query()
		var al *alert
		if m := doneMessage(q.Get("done"), q.Get("user")); m != "" {
			al = infoAlert(m)
		}
		a.renderAuthorize(w, r, d, u, http.StatusOK, q, al)
	})
	handleSecure(mux, "POST "+path, func(w http.ResponseWriter, r *http.Request) {
		u, ok := a.requireAdmin(w, r, d)
		if !ok {
			return
		}
		if err := readForm(w, r); err != nil {
			a.renderAuthorize(w, r, d, u, http.StatusBadRequest, url.Values{}, errAlert("The form could not be read."))
			return
		}
		back := url.Values{"q": {r.PostForm.Get("q")}, "state": {r.PostForm.Get("state")}, "page": {r.PostForm.Get("page")}}
		if !d.Host.CheckXSRF(r, u) {
			a.renderAuthorize(w, r, d, u, http.StatusForbidden, back, errAlert(msgFormStale))
			return
		}
		name := r.PostForm.Get("username")
		action := r.PostForm.Get("action")
		err := a.act(r.Context(), d, actor{u.Name, u.Admin}, action, name)
		var shown *auth.Rejection
		switch {
		case errors.Is(err, auth.ErrOnlyAdmins):
			a.renderAuthorize(w, r, d, u, http.StatusForbidden, back, errAlert(msgOnlyAdmins))
			return
		case errors.As(err, &shown):
			a.renderAuthorize(w, r, d, u, http.StatusBadRequest, back, errAlert(shown.Message))
			return
		case errors.Is(err, store.ErrNotFound):
			a.renderAuthorize(w, r, d, u, http.StatusNotFound, back, errAlert("There is no sign-up named "+name+"."))
			return
		case err != nil:
			a.log.Error("native: authorize page", "user", name, "err", err)
			a.renderAuthorize(w, r, d, u, http.StatusInternalServerError, back, errAlert("The change could not be made."))
			return
		}
		back.Set("done", action)
		back.Set("user", name)
		w.Header().Set("Location", path+"?"+back.Encode())
		w.WriteHeader(http.StatusSeeOther)
	})
}

// doneMessage is the page's note after a successful action (fixed texts, so a link cannot make
// the page say anything else).
func doneMessage(action, name string) string {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, ", \t\r\n/") {
		return "" // not a sign-up name: a crafted link cannot put sentences on the page
	}
	switch action {
	case "authorize":
		return name + " is authorized."
	case "unauthorize":
		return name + " is no longer authorized."
	case "discard":
		return "The sign-up of " + name + " was discarded."
	}
	return ""
}

// msgOnlyAdmins answers a non-admin acting on an admin's account (auth.ErrOnlyAdmins).
const msgOnlyAdmins = "Only admins can change the account of an admin."

// actor is who acts on a sign-up: their hub name and admin flag.
type actor struct {
	Name  string
	Admin bool
}

// act authorizes, un-authorizes or discards the sign-up of name for the actor. Only admins
// act on the sign-up of an admin (auth.CheckActOn): a holder of admin:users who is not one
// could otherwise authorize someone's sign-up of an admin's name, or lock the admins out.
func (a *Authenticator) act(ctx context.Context, d auth.PageDeps, who actor, action, name string) error {
	db, err := a.store()
	if err != nil {
		return err
	}
	if err := auth.CheckActOn(ctx, db, d.Pipeline, who.Admin, name); err != nil {
		return err
	}
	by := who.Name
	defer a.invalidate()
	switch action {
	case "authorize", "unauthorize":
		if err := db.SetNativeAuthorized(ctx, name, action == "authorize"); err != nil {
			return err
		}
		if action == "unauthorize" {
			// With the hub's revoker: cookies, tokens and servers, at once.
			if b := a.revoker.Load(); b != nil {
				if err := b.r.RevokeUser(ctx, name, "un-authorized by "+by); err != nil {
					return err
				}
				a.log.Info("native: unauthorized", "user", name, "by", by)
				return nil
			}
			// Without one (a hub that did not start the pipeline): sign the user out of every
			// browser; a new cookie id voids the old login cookies.
			if hu, err := db.GetUser(ctx, name); err == nil {
				if _, err := db.RotateCookieID(ctx, hu.ID); err != nil {
					return err
				}
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		a.log.Info("native: "+action+"d", "user", name, "by", by)
		return nil
	case "discard":
		nu, err := db.GetNativeUser(ctx, name)
		if err != nil {
			return err
		}
		if nu.Authorized {
			return auth.Reject("Unauthorize " + name + " before discarding the sign-up.")
		}
		if name == by {
			return auth.Reject("You cannot discard your own account.")
		}
		hu, err := db.GetUser(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case hu.Created.Before(nu.Created):
			// The hub user predates the sign-up (made through the API or the admin page):
			// whoever signed up with its name does not own it, so only the sign-up goes.
			if err := db.DeleteNativeUser(ctx, name); err != nil {
				return err
			}
			a.log.Info("native: sign-up discarded; the older hub user of that name is kept", "user", name, "by", by)
			return nil
		default:
			for _, sp := range hu.Spawners {
				if sp.Server != nil {
					return auth.Reject("Stop the servers of " + name + " before discarding the sign-up.")
				}
			}
		}
		if err := db.DiscardNativeUser(ctx, name); err != nil {
			return err
		}
		a.log.Info("native: sign-up discarded", "user", name, "by", by)
		return nil
	}
	return auth.Reject("Unknown action.")
}

func (a *Authenticator) renderAuthorize(w http.ResponseWriter, r *http.Request, d auth.PageDeps, u *store.User, status int, q url.Values, al *alert) {
	v := &authorizeView{Prefix: d.Prefix, XSRF: d.Host.XSRFToken(w, r, u), Query: q.Get("q"), State: q.Get("state"), Alert: al}
	if v.State != "authorized" && v.State != "unauthorized" {
		v.State = ""
	}
	v.Page, _ = strconv.Atoi(q.Get("page"))
	v.Page = max(v.Page, 1)
	db, err := a.store()
	if err == nil {
		v.Users, v.Total, err = db.ListNativeUsers(r.Context(), store.NativeListOptions{
			Search: v.Query, State: v.State, Offset: (v.Page - 1) * pageSize, Limit: pageSize,
		})
	}
	if err != nil {
		a.log.Error("native: list sign-ups", "err", err)
		status, v.Alert = http.StatusInternalServerError, errAlert("The sign-ups could not be listed.")
	}
	if len(v.Users) > 0 {
		v.First, v.Last = (v.Page-1)*pageSize+1, (v.Page-1)*pageSize+len(v.Users)
		v.Taken = a.takenNames(r.Context(), db, v.Users)
	}
	link := func(page int) string {
		return d.Prefix + "authorize?" + url.Values{"q": {v.Query}, "state": {v.State}, "page": {strconv.Itoa(page)}}.Encode()
	}
	if v.Page > 1 {
		v.Prev = link(v.Page - 1)
	}
	if v.Page*pageSize < v.Total {
		v.Next = link(v.Page + 1)
	}
	a.render(w, d, status, "Authorize users", u, authorizeTmpl, v)
}

// takenNames are the waiting sign-ups of list whose name belonged to a hub user created before
// the sign-up: authorizing one hands that user's account, servers and tokens to whoever signed up.
func (a *Authenticator) takenNames(ctx context.Context, db *store.DB, list []*store.NativeUser) map[string]bool {
	taken := map[string]bool{}
	for _, nu := range list {
		if nu.Authorized {
			continue
		}
		hu, err := db.GetUser(ctx, nu.Username)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				a.log.Warn("native: look up the hub user of a sign-up", "user", nu.Username, "err", err)
			}
			continue
		}
		if hu.Created.Before(nu.Created) {
			taken[nu.Username] = true
		}
	}
	return taken
}
