package web

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"gohub/internal/store"
)

// redirectLimit is how many times /hub/user/... sends a browser back to a ready server whose
// route the proxy does not seem to have, before it gives up with 500 (upstream's
// user_redirect_limit).
const redirectLimit = 4

// userURL answers {hub}user/{name}[/...]: the proxy had no route for /user/{name}/..., so the
// server is stopped, starting, or its route is about to appear (protocol.md §4.5).
func (p *Pages) userURL(w http.ResponseWriter, r *http.Request) {
	name, rest := r.PathValue("name"), r.PathValue("rest")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// As upstream, other methods are taken for API calls and fail without a login check:
		// the answer names no more than the URL did.
		p.notRunningJSON(w, r, name, p.namedServerOf(r, name, rest))
		return
	}
	u, ok := p.requireUser(w, r)
	if !ok {
		return
	}
	owner := u
	if name != u.Name {
		if !u.Admin {
			p.Error(w, r, http.StatusNotFound, "")
			return
		}
		var err error
		if owner, err = p.d.Store.GetUser(r.Context(), name); errors.Is(err, store.ErrNotFound) {
			p.Error(w, r, http.StatusNotFound, "")
			return
		} else if err != nil {
			p.log.Error("look up user", "user", name, "err", err)
			p.Error(w, r, http.StatusInternalServerError, "")
			return
		}
	}
	server := p.serverIn(owner, rest)
	st := p.d.Servers.Status(owner.Name, server)
	if st.Ready {
		p.redirectToServer(w, r, st.Version)
		return
	}
	if wantsJSON(r) || slices.Contains(strings.Split(rest, "/"), "api") {
		p.notRunningJSON(w, r, name, server)
		return
	}
	t := &target{caller: u, owner: owner, server: server}
	next := url.Values{"next": {r.URL.RequestURI()}}.Encode()
	if st.Pending != "" || (st.LastFailure != nil && !st.Cancelled) {
		w.Header().Set("Location", p.hubPrefix+"spawn-pending"+t.urlPath()+"?"+next)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	sv := &serverPage{Owner: owner.Name, Name: server, SpawnURL: p.hubPrefix + "spawn" + t.urlPath() + "?" + next}
	p.render(w, http.StatusFailedDependency, "not_running.html",
		&view{Title: "Server not running", User: u, Server: sv})
}

// serverIn picks the server a /user/{name}/{rest} path is for: with named servers, the first
// segment of rest when the user has a server of that name; else the default server.
func (p *Pages) serverIn(owner *store.User, rest string) string {
	if !p.d.AllowNamedServers {
		return ""
	}
	first, _, _ := strings.Cut(rest, "/")
	if first == "" {
		return ""
	}
	for _, sp := range owner.Spawners {
		if sp.Name == first {
			return first
		}
	}
	return ""
}

// namedServerOf is serverIn for a request without a checked login: only the logged-in owner's
// own named servers count, as upstream.
func (p *Pages) namedServerOf(r *http.Request, name, rest string) string {
	if !p.d.AllowNamedServers || rest == "" {
		return ""
	}
	u, err := p.CurrentUser(r)
	if err != nil || u == nil || u.Name != name {
		return ""
	}
	return p.serverIn(u, rest)
}

// wantsJSON is true when the Accept header prefers application/json to text/html.
func wantsJSON(r *http.Request) bool {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || (mt != "application/json" && mt != "text/html") {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				q = f
			}
		}
		if q > bestQ {
			best, bestQ = mt, q
		}
	}
	return best == "application/json" && bestQ > 0
}

// notRunningJSON is the 424 answer to an API request for a server that is not running.
func (p *Pages) notRunningJSON(w http.ResponseWriter, r *http.Request, user, server string) {
	proto, host := p.origin(r)
	spawnURL := proto + "://" + host + p.hubPrefix + "spawn/" + escapeName(user)
	if server != "" {
		spawnURL += "/" + url.PathEscape(server)
	}
	// The path as the browser asked for it: upstream strips the hub prefix but its slash.
	path := "/" + strings.TrimPrefix(r.URL.EscapedPath(), p.hubPrefix)
	body, _ := json.Marshal(map[string]string{
		"message": "JupyterHub server no longer running at " + path + ". Restart the server at " + spawnURL,
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusFailedDependency)
	w.Write(body)
}

// redirectToServer sends the browser back to /user/... with redirects=N+1: the server is
// ready, so the proxy should have its route by now. After the first bounce it waits 2^N s (at
// most 10) first, and after redirectLimit bounces (or 2 with a server of another hub version)
// it gives up with 500.
func (p *Pages) redirectToServer(w http.ResponseWriter, r *http.Request, serverVersion string) {
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("redirects"))
	if err != nil || n < 0 {
		n = 0
	}
	mismatch := p.d.Version != "" && serverVersion != p.d.Version
	if n >= redirectLimit || (n >= 2 && mismatch) {
		msg := "Redirect loop detected."
		if mismatch {
			sv := serverVersion
			if sv == "" {
				sv = "unknown"
			}
			msg += " The server has jupyterhub version " + sv + ", but the hub expects " + p.d.Version +
				". Installing jupyterhub==" + p.d.Version + " in the user environment may help."
		}
		p.Error(w, r, http.StatusInternalServerError, msg)
		return
	}
	if n > 0 {
		p.log.Warn("redirect loop detected", "path", truncate(r.URL.Path, 100), "redirects", n)
		if err := p.sleep(r.Context(), min(time.Duration(1<<n)*time.Second, 10*time.Second)); err != nil {
			return
		}
	}
	q.Set("redirects", strconv.Itoa(n+1))
	target := p.d.BaseURL + strings.TrimPrefix(r.URL.EscapedPath(), p.hubPrefix) + "?" + q.Encode()
	if p.d.Subdomains != nil {
		target = p.d.Subdomains.UserOrigin(r.PathValue("name")) + target
	}
	redirect(w, target)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// userRedirect answers {hub}user-redirect/<path>: the same path on the caller's own server,
// through the spawn page so that a stopped server is started first.
func (p *Pages) userRedirect(w http.ResponseWriter, r *http.Request) {
	u, ok := p.requireUser(w, r)
	if !ok {
		return
	}
	rest := strings.TrimPrefix(r.URL.EscapedPath(), p.hubPrefix+"user-redirect/")
	next := p.serverURL(u.Name, "") + rest
	if r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	redirect(w, p.hubPrefix+"spawn/"+escapeName(u.Name)+"?"+url.Values{"next": {next}}.Encode())
}

// serverLanding is the redirect_to_server landing when the hub spawns (protocol.md §4.3): the
// default server when it is active, else the spawn page.
func (p *Pages) serverLanding(r *http.Request, u *store.User) string {
	if p.d.Servers.Status(u.Name, "").Active {
		return p.serverURL(u.Name, "")
	}
	return p.hubPrefix + "spawn"
}
