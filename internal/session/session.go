// Package session holds what the hub's browser sessions are made of (spec §4.1, §4.4): tornado
// "secure cookie v2" signing, the login cookie jupyterhub-hub-login over users.cookie_id, the
// unsigned jupyterhub-session-id cookie, and the _xsrf token. Pages and the API both use it.
package session

// This file is the contract other packages code against. Bodies that panic are being written.

import (
	"net/http"
	"time"
)

// Cookie names.
const (
	LoginCookie   = "jupyterhub-hub-login"
	SessionCookie = "jupyterhub-session-id"
	XSRFCookie    = "_xsrf"
)

// Options configure a Manager.
type Options struct {
	Secret  []byte        // cookie_secret, 32 bytes or more
	BaseURL string        // JupyterHub.base_url, "/" by default; hub prefix is BaseURL+"hub/"
	MaxAge  time.Duration // cookie_max_age_days as a duration (14 days by default)
	Secure  bool          // set Secure on cookies (https public URL)
	Now     func() time.Time
}

// Manager signs and reads the hub's cookies.
type Manager struct{}

// New returns a Manager; it fails on a secret shorter than 32 bytes.
func New(o Options) (*Manager, error) { panic("unimplemented") }

// Sign returns the tornado v2 signed form of value for cookie name.
func (m *Manager) Sign(name, value string) string { panic("unimplemented") }

// Verify returns the value inside a v2 signed cookie if the signature holds and it is younger
// than MaxAge.
func (m *Manager) Verify(name, signed string) (string, bool) { panic("unimplemented") }

// LoginCookieID returns the users.cookie_id carried by a valid login cookie.
func (m *Manager) LoginCookieID(r *http.Request) (string, bool) { panic("unimplemented") }

// SetLogin sets the signed login cookie (path hub prefix, HttpOnly).
func (m *Manager) SetLogin(w http.ResponseWriter, cookieID string) { panic("unimplemented") }

// ClearLogin expires the login cookie.
func (m *Manager) ClearLogin(w http.ResponseWriter) { panic("unimplemented") }

// SessionID returns the jupyterhub-session-id cookie's value, "" if none.
func (m *Manager) SessionID(r *http.Request) string { panic("unimplemented") }

// EnsureSessionID returns the session id, setting a new random one (uuid4 hex) if missing.
func (m *Manager) EnsureSessionID(w http.ResponseWriter, r *http.Request) string {
	panic("unimplemented")
}

// ClearSessionID expires the session cookie.
func (m *Manager) ClearSessionID(w http.ResponseWriter) { panic("unimplemented") }

// XSRFID is what the _xsrf token signs: "{session_id}:{cookie_id}" for a logged-in user
// (cookieID != ""), else the anonymous form from the client's address and User-Agent.
func (m *Manager) XSRFID(r *http.Request, cookieID string) string { panic("unimplemented") }

// XSRFToken returns the token a page must embed for id, reusing the _xsrf cookie when it signs
// the same id and otherwise minting one (set as a cookie when Sec-Fetch-Mode is navigate or absent).
func (m *Manager) XSRFToken(w http.ResponseWriter, r *http.Request, id string) string {
	panic("unimplemented")
}

// CheckXSRF reports whether the request carries the expected token for id in the _xsrf query or
// form argument or the X-XSRFToken / X-CSRFToken header, compared in constant time. It applies
// the skip rules of spec §4.4 for safe methods (GET/HEAD/OPTIONS with Sec-Fetch-Mode navigate or
// absent, websocket).
func (m *Manager) CheckXSRF(r *http.Request, id string) bool { panic("unimplemented") }

// ClearXSRF expires the _xsrf cookie.
func (m *Manager) ClearXSRF(w http.ResponseWriter) { panic("unimplemented") }
