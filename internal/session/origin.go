package session

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// CrossSite reports whether the browser says r was sent by a page of another site than the
// hub, whose origin (scheme://host[:port], as the browser sees the hub) is origin: its
// Sec-Fetch-Site is cross-site or same-site (a sibling host such as a user's server under
// subdomain_host is another site to the hub), or its Origin header is present and is not
// origin ("null" included: sandboxed frames send it). A request with neither header (a
// non-browser client, an old browser) is not cross-site, as upstream's XSRF rules let such
// requests through; the _xsrf token still protects them.
//
// Upstream checks neither header; gohub checks both on the login form, where the anonymous
// _xsrf token alone would let a page of another site log the victim into the attacker's account
// (login CSRF).
func CrossSite(r *http.Request, origin string) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	got := r.Header.Get("Origin")
	if got == "" {
		return false
	}
	return !sameOrigin(got, origin)
}

// sameOrigin compares an Origin header with the hub's origin: hosts ignoring case, and ports,
// where a missing one is the default of the Origin's scheme. Schemes are not compared: without
// public_url the hub cannot always tell that a proxy in front of it speaks https, and a page of
// the same host under the other scheme is served by the hub's own proxies anyway.
func sameOrigin(got, want string) bool {
	ug, err := url.Parse(got)
	if err != nil || ug.Host == "" || ug.Path != "" || ug.User != nil {
		return false
	}
	uw, err := url.Parse(want)
	if err != nil || uw.Host == "" {
		return false
	}
	return hostPort(ug, ug.Scheme) == hostPort(uw, ug.Scheme)
}

// hostPort is u's lower-case host and port, the default port of scheme when u has none.
func hostPort(u *url.URL, scheme string) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
