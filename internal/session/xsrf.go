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

// cookieXSRF returns the first _xsrf cookie that verifies, with the id it signs.
func (m *Manager) cookieXSRF(r *http.Request) (token, id string, ok bool) {
	for _, c := range r.CookiesNamed(XSRFCookie) {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(c.Value, "="))
		if err != nil {
			continue
		}
		if id, ok := verifyV2(m.secret, XSRFCookie, string(raw), xsrfMaxAge, m.now()); ok {
			return c.Value, id, true
		}
	}
	return "", "", false
}

// expectedXSRF is the token a request must carry for id: the cookie's when it signs id, else a
// freshly minted one (reported by fresh).
func (m *Manager) expectedXSRF(r *http.Request, id string) (token string, fresh bool) {
	if tok, cid, ok := m.cookieXSRF(r); ok && cid == id {
		return tok, false
	}
	return m.mintXSRF(id), true
}

// XSRFToken returns the token a page must embed for id, reusing the _xsrf cookie when it signs
// the same id and otherwise minting one (set as a cookie when Sec-Fetch-Mode is navigate or absent).
func (m *Manager) XSRFToken(w http.ResponseWriter, r *http.Request, id string) string {
	tok, fresh := m.expectedXSRF(r, id)
	if fresh && isNavigation(r) {
		m.setXSRF(w, tok, id)
	}
	return tok
}

// RefreshXSRFToken is XSRFToken that always (re)sends the cookie on a navigation, restarting
// its lifetime; the login page uses it so a form is never served with a nearly expired cookie.
func (m *Manager) RefreshXSRFToken(w http.ResponseWriter, r *http.Request, id string) string {
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

// isNavigation: Sec-Fetch-Mode is navigate or absent (insecure origins do not send it).
func isNavigation(r *http.Request) bool {
	mode := r.Header.Get("Sec-Fetch-Mode")
	return mode == "" || mode == "navigate"
}

// NeedsXSRFCheck applies the skip rules of spec §4.4 to a cookie-authenticated request: no
// check for websockets, for GET/HEAD/OPTIONS navigations (Sec-Fetch-Mode navigate or absent),
// and for same-origin no-cors GET/HEAD/OPTIONS. Token-authenticated requests are the caller's
// to skip.
func NeedsXSRFCheck(r *http.Request) bool {
	mode := r.Header.Get("Sec-Fetch-Mode")
	readOnly := r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
	switch {
	case mode == "websocket":
		return false
	case (mode == "" || mode == "navigate") && readOnly:
		return false
	case mode == "no-cors" && r.Header.Get("Sec-Fetch-Site") == "same-origin" && readOnly:
		return false
	}
	return true
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
// the skip rules of spec §4.4 for safe methods (GET/HEAD/OPTIONS with Sec-Fetch-Mode navigate or
// absent, websocket).
func (m *Manager) CheckXSRF(r *http.Request, id string) bool {
	if !NeedsXSRFCheck(r) {
		return true
	}
	got := SubmittedXSRF(r)
	if got == "" {
		return false
	}
	want, _ := m.expectedXSRF(r, id)
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
