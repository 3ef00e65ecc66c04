package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// fixedNow is the timestamp of the hand-computed vectors below.
var fixedNow = time.Unix(1700000000, 0)

// Computed from the wire format with Python's hmac/hashlib/base64 (what tornado does):
// HMAC-SHA256 keyed with testSecret over everything up to and including the last "|".
const (
	vectorCookieID = "5f0c8a0d2f0e4a5c9b1d3e7f6a8b9c0d"
	vectorLogin    = "2|1:0|10:1700000000|20:jupyterhub-hub-login|44:NWYwYzhhMGQyZjBlNGE1YzliMWQzZTdmNmE4YjljMGQ=|" +
		"6b4e16c71d4aef38bf120f73f27480928506b099d648a8b8e90dbd690d940da1"
	vectorXSRFID    = "sess:5f0c8a0d2f0e4a5c9b1d3e7f6a8b9c0d"
	vectorXSRFToken = "MnwxOjB8MTA6MTcwMDAwMDAwMHw1Ol94c3JmfDUyOmMyVnpjem8xWmpCak9HRXdaREptTUdVMFlUVmpPV0l4WkRObE4yWTJZVGhpT1dNd1pBPT18" +
		"YTkzYjk0YWRhMGRkM2IzMDliYTRjNWE2YjAyNDE0YTQ1MzgyMmE1MmM3MjdlODMyOWJjMmQ2ZWY0ZWZhYjdiMQ"
)

func newManager(t *testing.T, now *time.Time, o Options) *Manager {
	t.Helper()
	o.Secret = testSecret
	o.Now = func() time.Time { return *now }
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewRejectsShortSecret(t *testing.T) {
	if _, err := New(Options{Secret: make([]byte, 31)}); err == nil {
		t.Fatal("31-byte secret accepted")
	}
}

func TestFixedVector(t *testing.T) {
	now := fixedNow
	m := newManager(t, &now, Options{})
	if got := m.Sign(LoginCookie, vectorCookieID); got != vectorLogin {
		t.Fatalf("Sign:\n got %s\nwant %s", got, vectorLogin)
	}
	if v, ok := m.Verify(LoginCookie, vectorLogin); !ok || v != vectorCookieID {
		t.Fatalf("Verify = %q, %v", v, ok)
	}
	if got := m.mintXSRF(vectorXSRFID); got != vectorXSRFToken {
		t.Fatalf("xsrf token:\n got %s\nwant %s", got, vectorXSRFToken)
	}
}

func TestRoundTrip(t *testing.T) {
	now := time.Now()
	m := newManager(t, &now, Options{})
	for _, v := range []string{"", "x", "ünïcødé|:|2|", strings.Repeat("a", 1000)} {
		got, ok := m.Verify("n", m.Sign("n", v))
		if !ok || got != v {
			t.Errorf("round trip %q: got %q, %v", v, got, ok)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	now := fixedNow
	m := newManager(t, &now, Options{MaxAge: 14 * 24 * time.Hour})
	other, _ := New(Options{Secret: []byte("another-secret-another-secret-12")})
	flipSig := vectorLogin[:len(vectorLogin)-1] + "0"
	if strings.HasSuffix(vectorLogin, "0") {
		flipSig = vectorLogin[:len(vectorLogin)-1] + "1"
	}
	cases := map[string]string{
		"empty":           "",
		"v1 format":       "NWYw|1700000000|abcdef",
		"bad signature":   flipSig,
		"value changed":   strings.Replace(vectorLogin, "NWYw", "NWYx", 1),
		"timestamp moved": strings.Replace(vectorLogin, "1700000000", "1700000001", 1),
		"other secret":    other.Sign(LoginCookie, vectorCookieID),
		"short length":    strings.Replace(vectorLogin, "44:", "43:", 1),
		"huge length":     strings.Replace(vectorLogin, "44:", "99999:", 1),
		"negative length": strings.Replace(vectorLogin, "1:0", "-1:0", 1),
		"no signature":    vectorLogin[:strings.LastIndex(vectorLogin, "|")+1],
		"truncated":       vectorLogin[:30],
	}
	for name, signed := range cases {
		if v, ok := m.Verify(LoginCookie, signed); ok {
			t.Errorf("%s: accepted, value %q", name, v)
		}
	}
	if _, ok := m.Verify("jupyterhub-user-alice", vectorLogin); ok {
		t.Error("accepted under another cookie name")
	}
}

func TestExpiry(t *testing.T) {
	now := fixedNow
	m := newManager(t, &now, Options{MaxAge: 14 * 24 * time.Hour})
	now = fixedNow.Add(14*24*time.Hour - time.Second)
	if _, ok := m.Verify(LoginCookie, vectorLogin); !ok {
		t.Fatal("rejected just inside max age")
	}
	now = fixedNow.Add(14*24*time.Hour + time.Second)
	if _, ok := m.Verify(LoginCookie, vectorLogin); ok {
		t.Fatal("accepted past max age")
	}
}

func TestDefaultMaxAge(t *testing.T) {
	now := fixedNow
	m := newManager(t, &now, Options{})
	now = fixedNow.Add(15 * 24 * time.Hour)
	if _, ok := m.Verify(LoginCookie, vectorLogin); ok {
		t.Fatal("default max age is not 14 days")
	}
}

// A cookie set by Python's http.cookies is quoted because its value holds "=" and "/".
func TestLoginCookieFromPythonHub(t *testing.T) {
	now := fixedNow.Add(time.Hour)
	m := newManager(t, &now, Options{})
	r := httptest.NewRequest("GET", "/hub/home", nil)
	r.Header.Set("Cookie", `other=1; jupyterhub-hub-login="`+vectorLogin+`"`)
	id, ok := m.LoginCookieID(r)
	if !ok || id != vectorCookieID {
		t.Fatalf("LoginCookieID = %q, %v", id, ok)
	}
}

func TestLoginCookieFirstValidWins(t *testing.T) {
	now := fixedNow
	m := newManager(t, &now, Options{})
	r := httptest.NewRequest("GET", "/hub/home", nil)
	r.Header.Set("Cookie", "jupyterhub-hub-login=garbage; jupyterhub-hub-login="+vectorLogin)
	if id, ok := m.LoginCookieID(r); !ok || id != vectorCookieID {
		t.Fatalf("LoginCookieID = %q, %v", id, ok)
	}
	r.Header.Set("Cookie", "jupyterhub-hub-login=garbage")
	if _, ok := m.LoginCookieID(r); ok {
		t.Fatal("garbage accepted")
	}
	if !m.HasLoginCookie(r) {
		t.Fatal("HasLoginCookie false")
	}
}

func cookieNamed(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, resp.Header["Set-Cookie"])
	return nil
}

func TestCookieAttributes(t *testing.T) {
	now := time.Now()
	m := newManager(t, &now, Options{BaseURL: "/prefix", Secure: true})
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/prefix/hub/login", nil)
	m.SetLogin(w, vectorCookieID)
	sid := m.EnsureSessionID(w, r)
	m.ResetXSRF(w, m.XSRFID(r, ""))
	resp := w.Result()

	login := cookieNamed(t, resp, LoginCookie)
	if login.Path != "/prefix/hub/" || !login.HttpOnly || !login.Secure || login.SameSite != http.SameSiteLaxMode {
		t.Errorf("login cookie attributes: %+v", login)
	}
	if login.MaxAge != int(DefaultMaxAge/time.Second) {
		t.Errorf("login cookie Max-Age %d", login.MaxAge)
	}
	if v, ok := m.Verify(LoginCookie, login.Value); !ok || v != vectorCookieID {
		t.Errorf("login cookie does not verify")
	}

	sess := cookieNamed(t, resp, SessionCookie)
	if sess.Path != "/prefix/" || !sess.HttpOnly || sess.Value != sid || len(sid) != 32 || sid[12] != '4' {
		t.Errorf("session cookie: %+v", sess)
	}
	if got := m.SessionID(r); got != sid {
		t.Errorf("new session id not visible in the same request: %q", got)
	}
	if again := m.EnsureSessionID(httptest.NewRecorder(), r); again != sid {
		t.Errorf("EnsureSessionID minted again")
	}

	x := cookieNamed(t, resp, XSRFCookie)
	if x.Path != "/prefix/hub/" || x.HttpOnly || x.MaxAge != 3600 {
		t.Errorf("anonymous _xsrf cookie: %+v", x)
	}

	w = httptest.NewRecorder()
	m.ClearLogin(w)
	m.ClearSessionID(w)
	m.ClearXSRF(w)
	resp = w.Result()
	for name, path := range map[string]string{LoginCookie: "/prefix/hub/", SessionCookie: "/prefix/", XSRFCookie: "/prefix/hub/"} {
		c := cookieNamed(t, resp, name)
		if c.MaxAge >= 0 || c.Value != "" || c.Path != path {
			t.Errorf("cleared %s: %+v", name, c)
		}
	}
}

func TestEnsureSessionIDReplacesEmpty(t *testing.T) {
	now := time.Now()
	m := newManager(t, &now, Options{})
	r := httptest.NewRequest("GET", "/hub/login", nil)
	r.Header.Set("Cookie", "jupyterhub-session-id=")
	id := m.EnsureSessionID(httptest.NewRecorder(), r)
	if id == "" || m.SessionID(r) != id {
		t.Fatalf("EnsureSessionID %q, SessionID %q", id, m.SessionID(r))
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(vectorLogin)
	f.Add("2|1:0|1:1|1:n|0:|")
	f.Add("2|")
	now := fixedNow
	secret := testSecret
	f.Fuzz(func(t *testing.T, signed string) {
		v, ok := verifyV2(secret, LoginCookie, signed, DefaultMaxAge, now)
		// Without the secret nothing but the one signed value in the corpus may verify.
		if ok && (signed != vectorLogin || v != vectorCookieID) {
			t.Fatalf("accepted %q → %q", signed, v)
		}
	})
}
