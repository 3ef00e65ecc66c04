// Package session holds what the hub's browser sessions are made of (protocol.md §4.1, §4.4): tornado
// "secure cookie v2" signing, the login cookie jupyterhub-hub-login over users.cookie_id, the
// unsigned jupyterhub-session-id cookie, and the _xsrf token. Pages and the API both use it.
package session

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Cookie names.
const (
	LoginCookie   = "jupyterhub-hub-login"
	SessionCookie = "jupyterhub-session-id"
	XSRFCookie    = "_xsrf"

	// HostPrefix is the cookie-name prefix browsers accept only from the exact host, Secure,
	// with Path=/ and no Domain: a user's server on a subdomain cannot set such a cookie.
	HostPrefix = "__Host-"
)

// DefaultMaxAge is cookie_max_age_days' default, 14 days.
const DefaultMaxAge = 14 * 24 * time.Hour

// Options configure a Manager.
type Options struct {
	Secret  []byte        // cookie_secret, 32 bytes or more
	BaseURL string        // JupyterHub.base_url, "/" by default; hub prefix is BaseURL+"hub/"
	MaxAge  time.Duration // cookie_max_age_days as a duration (14 days by default)
	Secure  bool          // set Secure on cookies (https public URL)
	Now     func() time.Time

	// AnonymousIPCIDRs collapse client addresses in the anonymous _xsrf id to their network, as
	// $JUPYTERHUB_XSRF_ANONYMOUS_IP_CIDRS does (proxies whose replicas have different addresses).
	AnonymousIPCIDRs []netip.Prefix
	// AnonymousIDHeaders are the request headers hashed into the anonymous _xsrf id
	// ($JUPYTERHUB_XSRF_ANONYMOUS_ID_HEADERS); ["User-Agent"] when empty.
	AnonymousIDHeaders []string
	// ClientIP is the client's address hashed into the anonymous _xsrf id; the connection's
	// peer when nil. It must not be one the client can choose (a forwarding header believed
	// from anyone): the hub passes its forwarded.Trust.
	ClientIP func(*http.Request) string

	// HostPrefix is JupyterHub.cookie_host_prefix_enabled: the login cookie is
	// __Host-jupyterhub-hub-login, Secure, on Path=/.
	HostPrefix bool
	// CookieDomain is the hub's host under JupyterHub.subdomain_host ("" without): a user's
	// server below it can toss cookies with Domain=CookieDomain (or a parent) onto the hub's
	// host, so several login cookies make a request anonymous, and a navigation then clears the
	// tossed ones (see LoginCookieID).
	CookieDomain string
}

// Manager signs and reads the hub's cookies. It is safe for concurrent use.
type Manager struct {
	secret      []byte
	baseURL     string
	hubPrefix   string
	maxAge      time.Duration
	secure      bool
	now         func() time.Time
	anonCIDRs   []netip.Prefix
	anonHeaders []string
	clientIP    func(*http.Request) string
	loginName   string // LoginCookie, with HostPrefix when enabled
	loginPath   string // hubPrefix, "/" with HostPrefix
	loginSecure bool   // secure, always with HostPrefix
	domain      string // Options.CookieDomain
}

// New returns a Manager; it fails on a secret shorter than 32 bytes.
func New(o Options) (*Manager, error) {
	if len(o.Secret) < 32 {
		return nil, errors.New("session: cookie secret must be at least 32 bytes")
	}
	base := o.BaseURL
	if base == "" {
		base = "/"
	}
	if !strings.HasPrefix(base, "/") {
		base = "/" + base
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	m := &Manager{
		secret:      append([]byte(nil), o.Secret...),
		baseURL:     base,
		hubPrefix:   base + "hub/",
		maxAge:      o.MaxAge,
		secure:      o.Secure,
		now:         o.Now,
		anonCIDRs:   o.AnonymousIPCIDRs,
		anonHeaders: o.AnonymousIDHeaders,
		clientIP:    o.ClientIP,
		loginName:   LoginCookie,
		loginPath:   base + "hub/",
		loginSecure: o.Secure,
		domain:      strings.ToLower(o.CookieDomain),
	}
	if o.HostPrefix {
		m.loginName, m.loginPath, m.loginSecure = HostPrefix+LoginCookie, "/", true
	}
	if m.maxAge <= 0 {
		m.maxAge = DefaultMaxAge
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.clientIP == nil {
		m.clientIP = peerIP
	}
	if len(m.anonHeaders) == 0 {
		m.anonHeaders = []string{"User-Agent"}
	}
	return m, nil
}

// HubPrefix is BaseURL+"hub/", the path of the login and _xsrf cookies.
func (m *Manager) HubPrefix() string { return m.hubPrefix }

// BaseURL is the normalised base URL ("/" or "/prefix/"), the session cookie's path.
func (m *Manager) BaseURL() string { return m.baseURL }

// Sign returns the tornado v2 signed form of value for cookie name.
func (m *Manager) Sign(name, value string) string {
	return signV2(m.secret, name, value, m.now())
}

// Verify returns the value inside a v2 signed cookie if the signature holds and it is younger
// than MaxAge.
func (m *Manager) Verify(name, signed string) (string, bool) {
	return verifyV2(m.secret, name, signed, m.maxAge, m.now())
}

// LoginCookieName is the login cookie's name: jupyterhub-hub-login, with the __Host- prefix
// when cookie_host_prefix_enabled.
func (m *Manager) LoginCookieName() string { return m.loginName }

// LoginCookieID returns the users.cookie_id carried by a valid login cookie.
//
// Under subdomain_host (CookieDomain set) a request with several login cookies has none: one
// of them may have been tossed onto the hub's host by a user's server (Domain=hub host), and
// the hub cannot tell which is its own. With the __Host- prefix no subdomain can set the
// cookie, so this never happens.
func (m *Manager) LoginCookieID(r *http.Request) (string, bool) {
	cookies := r.CookiesNamed(m.loginName)
	if m.domain != "" && len(cookies) > 1 {
		return "", false
	}
	// Several cookies of the name may arrive (different paths); the first valid one wins.
	for _, c := range cookies {
		if id, ok := m.Verify(m.loginName, c.Value); ok && id != "" {
			return id, true
		}
	}
	return "", false
}

// HasLoginCookie reports whether the request carries a login cookie at all, valid or not (a
// stale one is worth clearing).
func (m *Manager) HasLoginCookie(r *http.Request) bool {
	return len(r.CookiesNamed(m.loginName)) > 0
}

// SetLogin sets the signed login cookie (path hub prefix, HttpOnly).
//
// The browser keeps it for MaxAge, the age past which the hub refuses it anyway (tornado would
// ask for 30 days).
func (m *Manager) SetLogin(w http.ResponseWriter, cookieID string) {
	http.SetCookie(w, &http.Cookie{
		Name:     m.loginName,
		Value:    m.Sign(m.loginName, cookieID), // signed with the prefix, as tornado does
		Path:     m.loginPath,
		MaxAge:   int(m.maxAge / time.Second),
		HttpOnly: true,
		Secure:   m.loginSecure,
		SameSite: http.SameSiteLaxMode,
	})
}

// ClearLogin expires the login cookie.
func (m *Manager) ClearLogin(w http.ResponseWriter) {
	m.clearSecure(w, m.loginName, m.loginPath, true, m.loginSecure, "")
}

// maxTossedPaths bounds the paths ClearTossedLogin expires per domain.
const maxTossedPaths = 16

// ClearTossedLogin expires, besides the hub's own login cookie, the login cookies a user's
// server may have set onto the hub's host under subdomain_host: Domain the hub's host or one
// of its parents, Path any prefix of r's path (a cookie is only sent where its path matches).
// Without CookieDomain, or with the __Host- prefix (which no Domain cookie can carry), it is
// ClearLogin.
func (m *Manager) ClearTossedLogin(w http.ResponseWriter, r *http.Request) {
	m.ClearLogin(w)
	if m.domain == "" || m.loginName != LoginCookie {
		return
	}
	var paths []string
	add := func(path string) {
		if len(paths) < maxTossedPaths {
			paths = append(paths, path)
		}
	}
	p := r.URL.Path
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			if i > 0 {
				add(p[:i])
			}
			add(p[:i+1])
		}
	}
	if p != "" && !strings.HasSuffix(p, "/") {
		add(p)
	}
	// The hub's host and its parents of two labels or more; a browser ignores a Domain that is
	// a public suffix.
	for d := m.domain; strings.Contains(d, "."); {
		for _, path := range paths {
			m.clearSecure(w, m.loginName, path, true, m.loginSecure, d)
		}
		_, d, _ = strings.Cut(d, ".")
	}
}

// SessionID returns the jupyterhub-session-id cookie's value, "" if none.
func (m *Manager) SessionID(r *http.Request) string {
	for _, c := range r.CookiesNamed(SessionCookie) {
		if c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// EnsureSessionID returns the session id, setting a new random one (uuid4 hex) if missing.
// A new id is also added to r's Cookie header, so later reads in the same request see it.
func (m *Manager) EnsureSessionID(w http.ResponseWriter, r *http.Request) string {
	if id := m.SessionID(r); id != "" {
		return id
	}
	id := newUUID4Hex()
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    id,
		Path:     m.baseURL,
		HttpOnly: true,
		Secure:   m.secure,
		SameSite: http.SameSiteLaxMode,
	})
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: id})
	return id
}

// ClearSessionID expires the session cookie.
func (m *Manager) ClearSessionID(w http.ResponseWriter) {
	m.clear(w, SessionCookie, m.baseURL, true)
}

// ClearXSRF expires the _xsrf cookie.
func (m *Manager) ClearXSRF(w http.ResponseWriter) {
	m.clear(w, XSRFCookie, m.hubPrefix, false)
}

// clear sends an expired, empty cookie with the attributes it was set with.
func (m *Manager) clear(w http.ResponseWriter, name, path string, httpOnly bool) {
	m.clearSecure(w, name, path, httpOnly, m.secure, "")
}

// clearSecure is clear with Secure and Domain given.
func (m *Manager) clearSecure(w http.ResponseWriter, name, path string, httpOnly, secure bool, domain string) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    "",
		Path:     path,
		Domain:   domain,
		MaxAge:   -1,
		Expires:  time.Unix(0, 0),
		HttpOnly: httpOnly,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// newUUID4Hex returns a random version-4 UUID in hex without dashes (Python's uuid4().hex).
func newUUID4Hex() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}
