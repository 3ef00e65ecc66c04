package session

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// xsrfMaxAge is how old a signed _xsrf value may be (JupyterHub verifies it with 31 days).
const xsrfMaxAge = 31 * 24 * time.Hour

// anonymousXSRFMaxAge limits the cookie of a not-logged-in browser to one hour.
const anonymousXSRFMaxAge = 3600

// XSRFID is what the _xsrf token signs: "{session_id}:{cookie_id}" for a logged-in user
// (cookieID != ""), else the anonymous form from the client's address and User-Agent.
//
// For a logged-in user the caller ensures the session id first (EnsureSessionID), as
// JupyterHub does.
func (m *Manager) XSRFID(r *http.Request, cookieID string) string {
	if cookieID != "" {
		return m.SessionID(r) + ":" + cookieID
	}
	return m.SessionID(r) + ":" + m.anonymousID(r)
}

// anonymousID is b64url(sha256(ip + header + 0xFF for each configured header)), with ip
// replaced by its network when it falls in one of the configured CIDRs.
func (m *Manager) anonymousID(r *http.Request) string {
	h := sha256.New()
	ip := m.clientIP(r)
	if addr, err := netip.ParseAddr(ip); err == nil {
		for _, p := range m.anonCIDRs {
			if p.Contains(addr.Unmap()) {
				ip = p.String()
				break
			}
		}
	}
	h.Write([]byte(ip))
	for _, name := range m.anonHeaders {
		h.Write([]byte(r.Header.Get(name)))
		h.Write([]byte{0xff}) // a delimiter no UTF-8 text contains
	}
	return base64.URLEncoding.EncodeToString(h.Sum(nil))
}

// isAnonymousID tells an anonymous id from a logged-in one: the anonymous part is padded
// base64 of a SHA-256 (44 characters ending in "="), which a hex cookie_id never is.
func isAnonymousID(id string) bool {
	i := strings.LastIndexByte(id, ':')
	rest := id[i+1:]
	return len(rest) == 44 && strings.HasSuffix(rest, "=")
}

// peerIP is the connection's peer address. Upstream (tornado's xheaders) takes X-Real-Ip or
// X-Forwarded-For from anyone here, which lets a login-CSRF attacker mint a victim's token.
func peerIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return ip
}

// mintXSRF signs id into a new token: urlsafe base64, unpadded, of the v2 signed value.
func (m *Manager) mintXSRF(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(m.Sign(XSRFCookie, id)))
}

// cookieXSRF returns the first _xsrf cookie that verifies and signs id. Another one (a user's
// server under subdomain_host may toss its own, validly signed for its owner, onto the hub's
// host) is passed over, so it can neither take the place of the session's nor hide it.
func (m *Manager) cookieXSRF(r *http.Request, id string) (token string, ok bool) {
	for _, c := range r.CookiesNamed(XSRFCookie) {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(c.Value, "="))
		if err != nil {
			continue
		}
		if cid, ok := verifyV2(m.secret, XSRFCookie, string(raw), xsrfMaxAge, m.now()); ok && cid == id {
			return c.Value, true
		}
	}
	return "", false
}

// expectedXSRF is the token a request must carry for id: the cookie's when it signs id, else a
// freshly minted one (reported by fresh).
func (m *Manager) expectedXSRF(r *http.Request, id string) (token string, fresh bool) {
	if tok, ok := m.cookieXSRF(r, id); ok {
		return tok, false
	}
	return m.mintXSRF(id), true
}

// XSRFToken returns the token a page must embed for id, reusing the _xsrf cookie when it signs
// the same id and otherwise minting one (set as a cookie when Sec-Fetch-Mode is navigate or absent).
//
// A request a script can read (not a navigation, see IsNavigation) gets "" unless it carries the
// valid token already: a page fetched by a user's server must not hand it the token.
func (m *Manager) XSRFToken(w http.ResponseWriter, r *http.Request, id string) string {
	if !m.mayReveal(r, id) {
		return ""
	}
	tok, fresh := m.expectedXSRF(r, id)
	if fresh && isNavigation(r) {
		m.setXSRF(w, tok, id)
	}
	return tok
}

// RefreshXSRFToken is XSRFToken that always (re)sends the cookie on a navigation, restarting
// its lifetime; the login page uses it so a form is never served with a nearly expired cookie.
func (m *Manager) RefreshXSRFToken(w http.ResponseWriter, r *http.Request, id string) string {
	if !m.mayReveal(r, id) {
		return ""
	}
	tok, _ := m.expectedXSRF(r, id)
	if isNavigation(r) {
		m.setXSRF(w, tok, id)
	}
	return tok
}

// ResetXSRF mints a token for id and sets it as the _xsrf cookie whatever the request (after a
// login, so the next page needs no extra round trip), and returns it.
func (m *Manager) ResetXSRF(w http.ResponseWriter, id string) string {
	tok := m.mintXSRF(id)
	m.setXSRF(w, tok, id)
	return tok
}

// setXSRF sets the _xsrf cookie: path hub prefix, readable by scripts, one hour when anonymous.
func (m *Manager) setXSRF(w http.ResponseWriter, token, id string) {
	c := &http.Cookie{
		Name:     XSRFCookie,
		Value:    token,
		Path:     m.hubPrefix,
		Secure:   m.secure,
		SameSite: http.SameSiteLaxMode,
	}
	if isAnonymousID(id) {
		c.MaxAge = anonymousXSRFMaxAge
	}
	http.SetCookie(w, c)
}

// isNavigation is IsNavigation; the _xsrf cookie is set only on navigations.
func isNavigation(r *http.Request) bool { return IsNavigation(r) }

// IsNavigation reports whether r is a browser loading a page into a window, whose answer no
// script reads: Sec-Fetch-Mode navigate with Sec-Fetch-Dest document (or absent), or no fetch
// metadata at all (browsers send none to insecure origins, nor do non-browser clients).
//
// A fetch() or XMLHttpRequest sends another mode ("cors", "no-cors", "same-origin"), and a
// frame sends Sec-Fetch-Dest iframe: a script on the same origin (a user's server without
// subdomain_host) reads both answers, so neither counts.
func IsNavigation(r *http.Request) bool {
	mode, dest := r.Header.Get("Sec-Fetch-Mode"), r.Header.Get("Sec-Fetch-Dest")
	return (mode == "" || mode == "navigate") && (dest == "" || dest == "document")
}

// NeedsXSRFCheck applies the skip rules of protocol.md §4.4 to a cookie-authenticated request: no
// check for websockets, for GET/HEAD/OPTIONS navigations (IsNavigation), and for same-origin
// no-cors GET/HEAD/OPTIONS of a subresource (an image, a script). Token-authenticated requests
// are the caller's to skip.
//
// Unlike JupyterHub, a no-cors request with Sec-Fetch-Dest empty (or none) is checked: that is
// fetch(url, {mode: "no-cors"}), and a same-origin answer to it is readable by the script.
func NeedsXSRFCheck(r *http.Request) bool {
	mode := r.Header.Get("Sec-Fetch-Mode")
	readOnly := r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
	dest := r.Header.Get("Sec-Fetch-Dest")
	switch {
	case mode == "websocket":
		return false
	case readOnly && IsNavigation(r):
		return false
	case mode == "no-cors" && r.Header.Get("Sec-Fetch-Site") == "same-origin" && readOnly &&
		dest != "" && dest != "empty":
		return false
	}
	return true
}

// mayReveal reports whether a page answering r may embed the _xsrf token of id: the request
// is a navigation, or carries that token already.
func (m *Manager) mayReveal(r *http.Request, id string) bool {
	return IsNavigation(r) || m.validXSRF(r, id)
}

// CookieUsable reports whether r may be authenticated by the login cookie of cookieID: it needs
// no token (NeedsXSRFCheck), or carries the session's valid one. A page treats a request
// failing it as anonymous, so a script on the hub's origin that fetches a page with the
// victim's cookies gets the login page, not the victim's secrets.
//
// It reads the _xsrf form argument: call it on a POST only after limiting the body.
func (m *Manager) CookieUsable(r *http.Request, cookieID string) bool {
	return m.CheckXSRF(r, m.XSRFID(r, cookieID))
}

// SubmittedXSRF is the token a request carries: the _xsrf query or form argument, else the
// X-XSRFToken or X-CSRFToken header; "" when none.
func SubmittedXSRF(r *http.Request) string {
	if v := r.FormValue("_xsrf"); v != "" {
		return v
	}
	if v := r.Header.Get("X-XSRFToken"); v != "" {
		return v
	}
	return r.Header.Get("X-CSRFToken")
}

// CheckXSRF reports whether the request carries the expected token for id in the _xsrf query or
// form argument or the X-XSRFToken / X-CSRFToken header, compared in constant time. It applies
// the skip rules of protocol.md §4.4 for safe methods (GET/HEAD/OPTIONS with Sec-Fetch-Mode navigate or
// absent, websocket).
//
// The token must be the one of the request's _xsrf cookie, which must sign id: one minted now
// for a request without that cookie is never accepted (it would equal a token minted in the
// same second, which a page fetched by a script could have shown).
func (m *Manager) CheckXSRF(r *http.Request, id string) bool {
	if !NeedsXSRFCheck(r) {
		return true
	}
	return m.validXSRF(r, id)
}

// validXSRF: r carries a token equal to its _xsrf cookie, and that cookie signs id.
func (m *Manager) validXSRF(r *http.Request, id string) bool {
	got := SubmittedXSRF(r)
	if got == "" {
		return false
	}
	want, ok := m.cookieXSRF(r, id)
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
