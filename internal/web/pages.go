package web

import (
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"gohub/internal/spawner"
	"gohub/internal/store"
)

// root answers GET /hub/ (protocol.md §4.5): default_url if set, the next-URL logic when logged in,
// else the login page with next pointing back here.
func (p *Pages) root(w http.ResponseWriter, r *http.Request) {
	if p.d.DefaultURL != "" {
		redirect(w, p.d.DefaultURL)
		return
	}
	u, ok := p.user(w, r)
	if !ok {
		return
	}
	if u == nil {
		redirect(w, p.hubPrefix+"login?next="+url.QueryEscape(r.URL.RequestURI()))
		return
	}
	redirect(w, p.nextURL(r, u))
}

// home answers GET /hub/home: the user's control panel. With spawning it lists the default
// server and, with allow_named_servers, the named ones, each with the buttons its state allows,
// and a form to create a named server.
func (p *Pages) home(w http.ResponseWriter, r *http.Request) {
	u, ok := p.requireUser(w, r)
	if !ok {
		return
	}
	v := &view{Title: "Home", User: u, XSRF: p.XSRFToken(w, r, u), Spawning: p.d.Servers != nil}
	if x, ok := p.d.Auth.(PageExtras); ok {
		v.Links = x.HomeLinks(u)
	}
	spawners := u.Spawners
	if v.Spawning && (len(spawners) == 0 || spawners[0].Name != "") {
		// The default server exists before its first start, as upstream's home shows it.
		spawners = append([]*store.Spawner{{Name: ""}}, spawners...)
	}
	v.NamedServers = v.Spawning && p.d.AllowNamedServers
	if v.Spawning {
		f, err := p.d.Servers.SpawnForm(spawner.UserFromStore(u))
		if err != nil {
			p.log.Error("spawn options form", "user", u.Name, "err", err)
		}
		v.HasSpawnForm = err == nil && !f.Empty()
	}
	for _, sp := range spawners {
		if sp.Name != "" && v.Spawning && !v.NamedServers {
			continue // named servers left from a time they were allowed: not reachable now
		}
		sv := serverView{Name: sp.Name, Display: sp.DisplayName, Active: sp.Server != nil, Started: sp.Started}
		sv.URL = p.serverURL(u.Name, sp.Name)
		if sv.Display == "" {
			sv.Display = sp.Name
		}
		if v.Spawning {
			t := &target{caller: u, owner: u, server: sp.Name}
			st := p.d.Servers.Status(u.Name, sp.Name)
			sv.Active, sv.Pending, sv.Ready = st.Active, st.Pending, st.Ready
			sv.SpawnURL = p.hubPrefix + "spawn" + t.urlPath()
			sv.PendingURL = p.hubPrefix + "spawn-pending" + t.urlPath()
			sv.Failed = st.LastFailure != nil && !st.Cancelled && !st.Active
		}
		v.Servers = append(v.Servers, sv)
		if sv.Pending != "" {
			// Look again in a moment, as upstream's home polls the API while a server is busy.
			w.Header().Set("Refresh", "3")
		}
	}
	p.render(w, http.StatusOK, "home.html", v)
}

// escapeName percent-quotes a username for a URL path, leaving @ and ~ (Python's
// quote(name, safe='@~')).
func escapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~@", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)>>4, 16)+strconv.FormatUint(uint64(c)&15, 16)))
		}
	}
	return b.String()
}

// proxyError answers GET /hub/error/{code}, the page the proxy shows when a server does not
// answer. As in JupyterHub the status is 200: the proxy sends it with its own status.
func (p *Pages) proxyError(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.PathValue("code"))
	if err != nil || code < 100 || code > 599 {
		p.notFound(w, r)
		return
	}
	v := &view{Title: statusTitle(code), Status: code, StatusText: http.StatusText(code)}
	if u, err := p.CurrentUser(r); err == nil {
		v.User = u
	}
	if code == http.StatusServiceUnavailable {
		v.MessageHTML = template.HTML(`Your server appears to be down. Try restarting it <a href="` +
			template.HTMLEscapeString(p.hubPrefix+"home") + `">from the hub</a>.`)
	}
	p.render(w, http.StatusOK, "error.html", v)
}

// notFound is the 404 page for unknown paths under the hub prefix.
func (p *Pages) notFound(w http.ResponseWriter, r *http.Request) {
	p.Error(w, r, http.StatusNotFound, "")
}

// Error writes the error page: status, its text, msg (plain text) and a link home.
func (p *Pages) Error(w http.ResponseWriter, r *http.Request, status int, msg string) {
	v := &view{Title: statusTitle(status), Status: status, StatusText: http.StatusText(status), Message: msg}
	if v.StatusText == "" {
		v.StatusText = "Unknown HTTP Error"
	}
	if v.Message == "" {
		v.Message = defaultMessage(status)
	}
	// Show who is logged in when that is cheap to know; errors here are not worth a second page.
	if u, err := p.CurrentUser(r); err == nil {
		v.User = u
	}
	p.render(w, status, "error.html", v)
}

func statusTitle(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// defaultMessage explains the common error statuses in a sentence.
func defaultMessage(status int) string {
	switch status {
	case http.StatusForbidden:
		return "You are not allowed to do that."
	case http.StatusNotFound:
		return "There is nothing at this address."
	case http.StatusMethodNotAllowed:
		return "This address does not accept that request."
	case http.StatusServiceUnavailable:
		return "The service is not available right now. Try again in a moment."
	}
	if status >= 500 {
		return "Something went wrong on the hub. The error has been logged."
	}
	return ""
}

// cspReport logs a Content-Security-Policy violation report from a logged-in browser.
func (p *Pages) cspReport(w http.ResponseWriter, r *http.Request) {
	u, ok := p.requireUser(w, r)
	if !ok {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<10))
	p.log.Warn("content security policy violation", "user", u.Name, "report", string(body))
	w.WriteHeader(http.StatusNoContent)
}
