package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gohub/internal/naming"
	"gohub/internal/spawner"
	"gohub/internal/store"
)

// spawnWait is how long the spawn page waits for a server before sending the browser to the
// spawn-pending page (upstream waits one second too).
const spawnWait = time.Second

// target is the server a spawn page acts on: its owner and name, and who is asking.
type target struct {
	caller *store.User
	owner  *store.User
	server string
}

// urlPath is /{user}[/{server}], escaped, the tail of the spawn and spawn-pending URLs.
func (t *target) urlPath() string {
	s := "/" + escapeName(t.owner.Name)
	if t.server != "" {
		s += "/" + url.PathEscape(t.server)
	}
	return s
}

// serverTarget resolves {user} and {server} of a spawn page for the logged-in caller. A caller
// may act on their own servers; admins on anyone's. Other users' servers, and unknown users,
// are 404, so the page does not tell who exists; a server name the REST API refuses is 400. It
// answers the request itself when !ok.
func (p *Pages) serverTarget(w http.ResponseWriter, r *http.Request) (*target, bool) {
	u, ok := p.requireUser(w, r)
	if !ok {
		return nil, false
	}
	t := &target{caller: u, owner: u, server: r.PathValue("server")}
	if t.server != "" {
		// The REST API's rule: a name it refuses must not be created through this page.
		if err := naming.CheckServerName(t.server); err != nil {
			p.Error(w, r, http.StatusBadRequest, err.Error())
			return nil, false
		}
	}
	name := r.PathValue("user")
	if name == "" || name == u.Name {
		return t, true
	}
	if !u.Admin {
		p.Error(w, r, http.StatusNotFound, "")
		return nil, false
	}
	owner, err := p.d.Store.GetUser(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		p.Error(w, r, http.StatusNotFound, "No such user: "+name)
		return nil, false
	}
	if err != nil {
		p.log.Error("look up user", "user", name, "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
		return nil, false
	}
	t.owner = owner
	return t, true
}

// serverURL is the path of a server, /user/alice/[gpu/]; with subdomains, the absolute URL on
// the user's own host.
func (p *Pages) serverURL(user, server string) string {
	s := p.d.BaseURL + "user/" + escapeName(user) + "/"
	if p.d.Subdomains != nil {
		s = p.d.Subdomains.UserOrigin(user) + s
	}
	if server != "" {
		s += url.PathEscape(server) + "/"
	}
	return s
}

// readyTarget is where a browser goes once the server is ready: a valid next, else the server.
func (p *Pages) readyTarget(r *http.Request, t *target) string {
	if next := p.validateNext(r, r.URL.Query().Get("next")); next != "" {
		return next
	}
	return p.serverURL(t.owner.Name, t.server)
}

// pendingURL is the spawn-pending page of t with the request's query kept.
func (p *Pages) pendingURL(r *http.Request, t *target) string {
	s := p.hubPrefix + "spawn-pending" + t.urlPath()
	if r.URL.RawQuery != "" {
		s += "?" + r.URL.RawQuery
	}
	return s
}

// spawnGet answers GET /hub/spawn[/{user}[/{server}]] (protocol.md §4.5): a ready server is opened,
// a pending one watched; otherwise opt- arguments start it with those options, the options
// form is shown when the spawner has one (options_form or profile_list), else the server starts
// with the options of its last start.
func (p *Pages) spawnGet(w http.ResponseWriter, r *http.Request) {
	t, ok := p.serverTarget(w, r)
	if !ok {
		return
	}
	if st := p.d.Servers.Status(t.owner.Name, t.server); !st.Ready && st.Pending == "" {
		f, ok := p.spawnForm(w, r, t)
		if !ok {
			return
		}
		if opts := optionsFromQuery(r.URL.Query()); opts != nil {
			// A link that says what to start (/hub/spawn?opt-profile=science) skips the form.
			p.startAndRedirect(w, r, t, opts, func(status int, msg string) {
				p.renderSpawnForm(w, r, t, f, nil, status, msg)
			})
			return
		}
		if !f.Empty() {
			p.renderSpawnForm(w, r, t, f, nil, http.StatusOK, "")
			return
		}
	}
	p.startAndRedirect(w, r, t, nil, nil)
}

// optionsFromQuery reads the opt- arguments of a spawn link as JupyterHub 6's
// options_from_query does: opt-profile=science is the form field profile=science; nil without
// any. (Upstream's older unprefixed arguments are not read: next and the like are no options.)
func optionsFromQuery(q url.Values) map[string]any {
	form := url.Values{}
	for k, vs := range q {
		if name, ok := strings.CutPrefix(k, "opt-"); ok && name != "" {
			form[name] = vs
		}
	}
	if len(form) == 0 {
		return nil
	}
	return optionsFromForm(form)
}

// spawnForm returns the options form of t's owner; on failure it answers the request.
func (p *Pages) spawnForm(w http.ResponseWriter, r *http.Request, t *target) (spawner.SpawnForm, bool) {
	f, err := p.d.Servers.SpawnForm(spawner.UserFromStore(t.owner))
	if err != nil {
		p.log.Error("spawn options form", "user", t.owner.Name, "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
		return f, false
	}
	return f, true
}

// spawnPost answers POST /hub/spawn[/{user}[/{server}]], the options form: its fields become
// user_options (optionsFromForm). A choice the spawner refuses shows the form again with why.
func (p *Pages) spawnPost(w http.ResponseWriter, r *http.Request) {
	t, ok := p.serverTarget(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, p.d.MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if !p.CheckXSRF(r, t.caller) {
		p.Error(w, r, http.StatusForbidden, "'_xsrf' argument missing from POST")
		return
	}
	f, ok := p.spawnForm(w, r, t)
	if !ok {
		return
	}
	p.startAndRedirect(w, r, t, optionsFromForm(r.PostForm), func(status int, msg string) {
		p.renderSpawnForm(w, r, t, f, r.PostForm, status, msg)
	})
}

// startAndRedirect starts t's server unless it is ready or busy, waits up to spawnWait, and
// sends the browser to the server or to the spawn-pending page. options nil reuses the last.
// A refused start (400) is answered by refused when it is set (the form again), else by the
// error page.
func (p *Pages) startAndRedirect(w http.ResponseWriter, r *http.Request, t *target, options map[string]any, refused func(status int, msg string)) {
	m := p.d.Servers
	st := m.Status(t.owner.Name, t.server)
	if st.Ready {
		redirect(w, p.readyTarget(r, t))
		return
	}
	if st.Pending != "" {
		redirect(w, p.pendingURL(r, t))
		return
	}
	// The spawn itself runs under the manager's context: this one only bounds the wait.
	ctx, cancel := context.WithTimeout(r.Context(), spawnWait)
	defer cancel()
	ready, err := m.Start(ctx, spawner.UserFromStore(t.owner), t.server, options)
	var limit *spawner.LimitError
	switch {
	case ready || errors.Is(err, spawner.ErrAlreadyRunning):
		redirect(w, p.readyTarget(r, t))
	case errors.As(err, &limit):
		w.Header().Set("Retry-After", retryAfterSeconds(limit.RetryAfter))
		p.Error(w, r, http.StatusTooManyRequests, limit.Message)
	case errors.Is(err, spawner.ErrBadRequest) && refused != nil:
		refused(http.StatusBadRequest, err.Error())
	case errors.Is(err, spawner.ErrBadRequest):
		p.Error(w, r, http.StatusBadRequest, err.Error())
	case errors.Is(err, spawner.ErrClosed):
		p.Error(w, r, http.StatusServiceUnavailable, "The hub is shutting down.")
	default:
		// Pending, or failed within the wait: spawn-pending shows which.
		if err != nil {
			p.log.Info("spawn failed", "user", t.owner.Name, "server", t.server, "err", err)
		}
		redirect(w, p.pendingURL(r, t))
	}
}

// retryAfterSeconds formats a Retry-After value in whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(s, 1))
}

// spawnPending answers GET /hub/spawn-pending/{user}[/{server}] (protocol.md §4.5).
func (p *Pages) spawnPending(w http.ResponseWriter, r *http.Request) {
	t, ok := p.serverTarget(w, r)
	if !ok {
		return
	}
	st := p.d.Servers.Status(t.owner.Name, t.server)
	spawnURL := p.hubPrefix + "spawn" + t.urlPath()
	if r.URL.RawQuery != "" {
		spawnURL += "?" + r.URL.RawQuery
	}
	sv := &serverPage{Owner: t.owner.Name, Name: t.server, SpawnURL: spawnURL}
	v := &view{Title: "Server", User: t.caller, Server: sv}
	switch {
	case st.Ready:
		redirect(w, p.readyTarget(r, t))
	case st.Pending == "spawn":
		v.Title = "Starting server"
		sv.ProgressURL = p.progressURL(t) + "?_xsrf=" + url.QueryEscape(p.XSRFToken(w, r, t.caller))
		p.render(w, http.StatusOK, "spawn_pending.html", v)
	case st.Pending != "":
		v.Title = "Server busy"
		sv.Busy = st.Pending
		// The page looks again until the action is done (upstream's page polls the API).
		w.Header().Set("Refresh", "2")
		p.render(w, http.StatusOK, "spawn_pending.html", v)
	case st.LastFailure != nil && !st.Cancelled:
		v.Title = "Server failed to start"
		sv.Failure = "Spawn failed: " + st.LastFailure.Error()
		p.render(w, http.StatusInternalServerError, "not_running.html", v)
	default:
		v.Title = "Server not running"
		p.render(w, http.StatusOK, "not_running.html", v)
	}
}

// progressURL is the REST progress stream of t's server (protocol.md §1.4).
func (p *Pages) progressURL(t *target) string {
	s := p.hubPrefix + "api/users/" + escapeName(t.owner.Name)
	if t.server == "" {
		return s + "/server/progress"
	}
	return s + "/servers/" + url.PathEscape(t.server) + "/progress"
}

// homeStop answers POST /hub/home/stop, the home page's Stop button: it stops the caller's
// server named by the form field server ("" for the default) and goes back home.
func (p *Pages) homeStop(w http.ResponseWriter, r *http.Request) {
	u, ok := p.requireUser(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, p.d.MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if !p.CheckXSRF(r, u) {
		p.Error(w, r, http.StatusForbidden, "'_xsrf' argument missing from POST")
		return
	}
	server := strings.TrimSpace(r.PostForm.Get("server"))
	_, err := p.d.Servers.Stop(r.Context(), spawner.UserFromStore(u), server)
	switch {
	case errors.Is(err, spawner.ErrNotFound):
		p.Error(w, r, http.StatusNotFound, "No such server.")
		return
	case errors.Is(err, spawner.ErrBadRequest):
		p.Error(w, r, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		p.log.Error("stop server", "user", u.Name, "server", server, "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
		return
	}
	w.Header().Set("Location", p.hubPrefix+"home")
	w.WriteHeader(http.StatusSeeOther)
}
