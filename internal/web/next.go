package web

import (
	"net/http"
	"net/url"
	"strings"

	"gohub/internal/store"
)

// validateNext keeps next only if it is a same-origin path (protocol.md §4.3), reducing an absolute URL
// of this hub to path?query#fragment; it returns "" for anything else.
func (p *Pages) validateNext(r *http.Request, next string) string {
	if next == "" {
		return ""
	}
	// Some browsers treat a backslash as a slash: keep it from turning /\host into //host.
	next = strings.ReplaceAll(next, `\`, "%5C")
	proto, host := p.origin(r)
	if strings.HasPrefix(next, "///") {
		// Browsers read any run of leading slashes as "//host"; so must we.
		next = "//" + strings.TrimLeft(next, "/")
	}
	u, err := url.Parse(next)
	if err != nil {
		// Control characters (which browsers strip, joining "/\t/x" into "//x") and bad escapes.
		return ""
	}
	// With subdomains, a server's URL on its user's host is ours too (as upstream, reduced to
	// its path, which the hub sends back to that host).
	userHost := p.d.Subdomains != nil && u.Host != "" && (u.Scheme == "" || u.Scheme == proto) &&
		p.d.Subdomains.IsUserHost(u.Host)
	if userHost || strings.HasPrefix(next+"/", proto+"://"+host+"/") || strings.HasPrefix(next+"/", "//"+host+"/") {
		next = "/" + strings.TrimLeft(u.EscapedPath(), "/")
		if u.RawQuery != "" {
			next += "?" + u.RawQuery
		}
		if u.Fragment != "" {
			next += "#" + u.EscapedFragment()
		}
		if u, err = url.Parse(next); err != nil {
			return ""
		}
	}
	if u.Host != "" || u.Scheme != "" || u.User != nil || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		p.log.Warn("refusing redirect outside the hub", "next", truncate(next, 100))
		return ""
	}
	return next
}

// origin is the public scheme and host: PublicURL's, else the request's as the browser sees it.
func (p *Pages) origin(r *http.Request) (proto, host string) {
	if p.d.PublicURL != nil && p.d.PublicURL.Host != "" {
		return p.d.PublicURL.Scheme, p.d.PublicURL.Host
	}
	proto = "http"
	if r.TLS != nil {
		proto = "https"
	}
	for _, h := range []string{"X-Scheme", "X-Forwarded-Proto"} {
		if v := r.Header.Get(h); v != "" {
			v, _, _ = strings.Cut(v, ",")
			if v = strings.ToLower(strings.TrimSpace(v)); v == "http" || v == "https" {
				proto = v
				break
			}
		}
	}
	return proto, r.Host
}

// nextURL is where a logged-in user goes (protocol.md §4.3): a valid ?next, else default_url, else the
// redirect_to_server landing, else /hub/home. A target that did not come from ?next gets the
// request's query, less next and _xsrf.
func (p *Pages) nextURL(r *http.Request, u *store.User) string {
	if next := p.validateNext(r, r.URL.Query().Get("next")); next != "" {
		return next
	}
	target := p.d.DefaultURL
	if target == "" && u != nil && p.d.RedirectToServer {
		switch {
		case p.d.ServerLanding != nil:
			target = p.d.ServerLanding(r, u)
		case p.d.Servers != nil:
			target = p.serverLanding(r, u)
		}
	}
	if target == "" {
		target = p.hubPrefix + "home"
	}
	q := r.URL.Query()
	q.Del("next")
	q.Del("_xsrf")
	if len(q) > 0 {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + q.Encode()
	}
	return target
}

// truncate shortens user input before it is logged.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
