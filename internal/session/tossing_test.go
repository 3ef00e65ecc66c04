package session

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// TestHostPrefixLoginCookie: with HostPrefix the login cookie is __Host-jupyterhub-hub-login,
// Secure (even when the hub's URL is not https), on Path=/, without Domain, as browsers demand
// of the prefix; the unprefixed name a subdomain can toss is not read at all.
func TestHostPrefixLoginCookie(t *testing.T) {
	now := time.Now()
	m := newManager(t, &now, Options{BaseURL: "/prefix/", HostPrefix: true, CookieDomain: "hub.example.org"})
	if m.LoginCookieName() != "__Host-jupyterhub-hub-login" {
		t.Fatalf("name %q", m.LoginCookieName())
	}
	w := httptest.NewRecorder()
	m.SetLogin(w, vectorCookieID)
	c := cookieNamed(t, w.Result(), "__Host-jupyterhub-hub-login")
	if c.Path != "/" || !c.Secure || !c.HttpOnly || c.Domain != "" {
		t.Errorf("prefixed login cookie: %+v", c)
	}
	// Signed with the prefixed name, as upstream's (tornado signs the cookie's full name).
	if _, ok := m.Verify(m.LoginCookieName(), c.Value); !ok {
		t.Error("prefixed cookie not signed with its name")
	}
	r := httptest.NewRequest("GET", "/prefix/hub/home", nil)
	r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	if id, ok := m.LoginCookieID(r); !ok || id != vectorCookieID {
		t.Fatalf("prefixed cookie not read: %q %v", id, ok)
	}
	// A tossed unprefixed cookie (valid: mallory's own, copied from her browser) is ignored.
	r = httptest.NewRequest("GET", "/prefix/hub/home", nil)
	r.AddCookie(&http.Cookie{Name: LoginCookie, Value: m.Sign(LoginCookie, "mallory")})
	r.AddCookie(&http.Cookie{Name: LoginCookie, Value: m.Sign(m.LoginCookieName(), "mallory")})
	if id, ok := m.LoginCookieID(r); ok {
		t.Fatalf("unprefixed cookie accepted as %q", id)
	}
	// Clearing sends one expiry, without Domain (browsers refuse a __Host- cookie with one).
	w = httptest.NewRecorder()
	m.ClearTossedLogin(w, httptest.NewRequest("GET", "/prefix/hub/home", nil))
	if n := len(w.Result().Cookies()); n != 1 {
		t.Errorf("ClearTossedLogin with the prefix sent %d cookies, want 1", n)
	}
	c = cookieNamed(t, w.Result(), "__Host-jupyterhub-hub-login")
	if c.MaxAge >= 0 || c.Path != "/" || !c.Secure || c.Domain != "" {
		t.Errorf("cleared prefixed cookie: %+v", c)
	}
}

// TestTossedLoginCookie: under subdomain_host (CookieDomain) a request with two login cookies,
// the victim's and one tossed by a user's server, is anonymous whichever comes first, and
// ClearTossedLogin expires the tossed one at the Domain and paths it can have.
func TestTossedLoginCookie(t *testing.T) {
	now := time.Now()
	m := newManager(t, &now, Options{CookieDomain: "hub.example.org"})
	victim, mallory := m.Sign(LoginCookie, "victim"), m.Sign(LoginCookie, "mallory")
	for _, order := range [][]string{{mallory, victim}, {victim, mallory}} {
		r := httptest.NewRequest("GET", "/hub/token", nil)
		for _, v := range order {
			r.AddCookie(&http.Cookie{Name: LoginCookie, Value: v})
		}
		if id, ok := m.LoginCookieID(r); ok {
			t.Errorf("two login cookies: logged in as %q", id)
		}
	}
	// One cookie is a login as before.
	r := httptest.NewRequest("GET", "/hub/token", nil)
	r.AddCookie(&http.Cookie{Name: LoginCookie, Value: victim})
	if id, ok := m.LoginCookieID(r); !ok || id != "victim" {
		t.Errorf("one login cookie: %q %v", id, ok)
	}
	// Without subdomain_host, several cookies are paths of the hub's own: the first valid wins.
	plain := newManager(t, &now, Options{})
	r = httptest.NewRequest("GET", "/hub/token", nil)
	r.AddCookie(&http.Cookie{Name: LoginCookie, Value: "stale"})
	r.AddCookie(&http.Cookie{Name: LoginCookie, Value: victim})
	if id, ok := plain.LoginCookieID(r); !ok || id != "victim" {
		t.Errorf("without subdomains: %q %v", id, ok)
	}

	w := httptest.NewRecorder()
	m.ClearTossedLogin(w, httptest.NewRequest("GET", "/hub/token", nil))
	var got []string
	for _, c := range w.Result().Cookies() {
		if c.Name != LoginCookie || c.MaxAge >= 0 {
			t.Errorf("not an expiry of the login cookie: %+v", c)
		}
		got = append(got, c.Domain+" "+c.Path)
	}
	want := []string{" /hub/"}
	for _, d := range []string{"hub.example.org", "example.org"} {
		for _, p := range []string{"/", "/hub", "/hub/", "/hub/token"} {
			want = append(want, d+" "+p)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("cleared\n %q\nwant\n %q", got, want)
	}
	// A deep path clears at most maxTossedPaths paths per domain.
	w = httptest.NewRecorder()
	m.ClearTossedLogin(w, httptest.NewRequest("GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m", nil))
	if n := len(w.Result().Cookies()); n != 1+2*maxTossedPaths {
		t.Errorf("deep path: %d cookies, want %d", n, 1+2*maxTossedPaths)
	}
}

// TestTossedXSRFCookie: a user's server tosses its own _xsrf cookie (validly signed, for
// mallory's id) onto the hub's host with a longer path, so browsers send it first. The
// victim's token still checks, and a page still shows the victim's token, not mallory's.
func TestTossedXSRFCookie(t *testing.T) {
	now := time.Now()
	m := newManager(t, &now, Options{CookieDomain: "hub.example.org"})
	victimID, malloryID := "sess:victim", "sess2:mallory"
	victimTok, malloryTok := m.mintXSRF(victimID), m.mintXSRF(malloryID)
	r := httptest.NewRequest("POST", "/hub/api/users/victim/tokens", nil)
	r.Header.Set("Cookie", "_xsrf="+malloryTok+"; _xsrf="+victimTok)
	r.Header.Set("X-XSRFToken", victimTok)
	r.Header.Set("Sec-Fetch-Mode", "cors")
	if !m.CheckXSRF(r, victimID) {
		t.Error("the victim's token was refused beside a tossed _xsrf cookie")
	}
	r.Header.Set("X-XSRFToken", malloryTok)
	if m.CheckXSRF(r, victimID) {
		t.Error("mallory's token passed for the victim")
	}
	g := httptest.NewRequest("GET", "/hub/token", nil)
	g.Header.Set("Cookie", "_xsrf="+malloryTok+"; _xsrf="+victimTok)
	w := httptest.NewRecorder()
	if tok := m.XSRFToken(w, g, victimID); tok != victimTok {
		t.Errorf("page token %q, want the victim's cookie's", tok)
	}
}
