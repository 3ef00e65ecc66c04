package session

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestXSRFID(t *testing.T) {
	now := time.Now()
	m := newManager(t, &now, Options{})
	r := httptest.NewRequest("GET", "/hub/login", nil)
	r.RemoteAddr = "203.0.113.7:5555"
	r.Header.Set("User-Agent", "agent/1")
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "sess"})

	if got := m.XSRFID(r, "cid"); got != "sess:cid" {
		t.Errorf("logged-in id %q", got)
	}
	anon := m.XSRFID(r, "")
	// Computed with Python's hashlib as JupyterHub's _anonymous_xsrf_id does.
	if anon != "sess:KL7FXUYw8arK-xIcUugAP2uXDSxZD90y9rMdkZDf4l4=" {
		t.Errorf("anonymous id %q differs from JupyterHub's", anon)
	}
	if !strings.HasPrefix(anon, "sess:") || !isAnonymousID(anon) || isAnonymousID("sess:"+vectorCookieID) {
		t.Errorf("anonymous id %q", anon)
	}
	// Same client, same id; another User-Agent or address, another id.
	r2 := r.Clone(r.Context())
	if m.XSRFID(r2, "") != anon {
		t.Error("anonymous id not stable")
	}
	r2.Header.Set("User-Agent", "agent/2")
	if m.XSRFID(r2, "") == anon {
		t.Error("anonymous id ignores User-Agent")
	}
	r3 := r.Clone(r.Context())
	r3.RemoteAddr = "198.51.100.1:1"
	if m.XSRFID(r3, "") == anon {
		t.Error("anonymous id ignores the address")
	}
	// A client cannot name another address: forwarding headers are not the manager's to
	// believe (Options.ClientIP is).
	r4 := r.Clone(r.Context())
	r4.Header.Set("X-Forwarded-For", "10.0.0.1, 198.51.100.1")
	r4.Header.Set("X-Real-Ip", "198.51.100.1")
	if m.XSRFID(r4, "") != anon {
		t.Error("anonymous id follows a client's X-Forwarded-For or X-Real-Ip")
	}
	mt := newManager(t, &now, Options{ClientIP: func(*http.Request) string { return "198.51.100.1" }})
	if mt.XSRFID(r, "") != m.XSRFID(r3, "") {
		t.Error("Options.ClientIP not used")
	}

	// Addresses inside a configured CIDR hash as the network.
	mc := newManager(t, &now, Options{AnonymousIPCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	a := httptest.NewRequest("GET", "/", nil)
	a.RemoteAddr = "10.1.2.3:1"
	b := httptest.NewRequest("GET", "/", nil)
	b.RemoteAddr = "10.9.9.9:1"
	if mc.XSRFID(a, "") != ":G7wGkSw_Kh8FIvoq2A5b8yX9UUio6Vd0VhNp3rJGTFQ=" {
		t.Errorf("CIDR-collapsed id %q differs from JupyterHub's", mc.XSRFID(a, ""))
	}
	if mc.XSRFID(a, "") != mc.XSRFID(b, "") {
		t.Error("CIDR not collapsed")
	}
	if m.XSRFID(a, "") == m.XSRFID(b, "") {
		t.Error("addresses collapsed without a CIDR")
	}
}

func TestXSRFTokenCookie(t *testing.T) {
	now := time.Now()
	m := newManager(t, &now, Options{})
	id := "sess:cid"

	// No cookie: mint and set it (navigation).
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/hub/home", nil)
	tok := m.XSRFToken(w, r, id)
	c := cookieNamed(t, w.Result(), XSRFCookie)
	if c.Value != tok || c.MaxAge != 0 || c.HttpOnly {
		t.Fatalf("cookie %+v for token %s", c, tok)
	}

	// The cookie signs the same id: reused, nothing set.
	now = now.Add(5 * time.Second)
	w = httptest.NewRecorder()
	r = httptest.NewRequest("GET", "/hub/home", nil)
	r.AddCookie(&http.Cookie{Name: XSRFCookie, Value: tok})
	if got := m.XSRFToken(w, r, id); got != tok {
		t.Errorf("token not reused")
	}
	if len(w.Result().Cookies()) != 0 {
		t.Errorf("cookie set again")
	}
	// RefreshXSRFToken resends the same token.
	w = httptest.NewRecorder()
	if got := m.RefreshXSRFToken(w, r, id); got != tok || cookieNamed(t, w.Result(), XSRFCookie).Value != tok {
		t.Errorf("refresh changed the token")
	}

	// Another id (after login): minted anew.
	w = httptest.NewRecorder()
	if got := m.XSRFToken(w, r, "sess:other"); got == tok {
		t.Error("token reused for another id")
	}
	// ... but not set as a cookie on fetch() requests.
	w = httptest.NewRecorder()
	r.Header.Set("Sec-Fetch-Mode", "cors")
	m.XSRFToken(w, r, "sess:other")
	if len(w.Result().Cookies()) != 0 {
		t.Error("cookie set on a cors request")
	}

	// A cookie older than 31 days is not reused.
	now = now.Add(32 * 24 * time.Hour)
	r = httptest.NewRequest("GET", "/hub/home", nil)
	r.AddCookie(&http.Cookie{Name: XSRFCookie, Value: tok})
	if got := m.XSRFToken(httptest.NewRecorder(), r, id); got == tok {
		t.Error("expired cookie reused")
	}
}

func TestCheckXSRF(t *testing.T) {
	now := time.Now()
	m := newManager(t, &now, Options{})
	const id = "sess:cid"
	good := m.mintXSRF(id)
	now = now.Add(3 * time.Second) // a freshly minted token differs from the cookie's
	otherID := m.mintXSRF("sess:someone-else")
	fresh := m.mintXSRF(id)

	type tc struct {
		name       string
		method     string
		mode, site string // Sec-Fetch-Mode, Sec-Fetch-Site
		dest       string // Sec-Fetch-Dest
		cookie     string
		query      string // _xsrf in the query
		form       string // _xsrf in a urlencoded body
		header     string // X-XSRFToken
		csrfHeader string // X-CSRFToken
		want       bool
	}
	cases := []tc{
		{name: "GET navigate skips", method: "GET", mode: "navigate", want: true},
		{name: "GET no header skips", method: "GET", want: true},
		{name: "HEAD skips", method: "HEAD", want: true},
		{name: "OPTIONS skips", method: "OPTIONS", want: true},
		{name: "websocket skips", method: "GET", mode: "websocket", want: true},
		{name: "GET cors needs token", method: "GET", mode: "cors", cookie: good, want: false},
		{name: "GET cors with query token", method: "GET", mode: "cors", cookie: good, query: good, want: true},
		{name: "GET same-origin mode needs token", method: "GET", mode: "same-origin", cookie: good, want: false},
		{name: "same-origin no-cors image GET skips", method: "GET", mode: "no-cors", site: "same-origin", dest: "image", want: true},
		// fetch(url, {mode: "no-cors"}) of the same origin is readable: it needs the token.
		{name: "same-origin no-cors fetch checked", method: "GET", mode: "no-cors", site: "same-origin", dest: "empty", want: false},
		{name: "same-origin no-cors without dest checked", method: "GET", mode: "no-cors", site: "same-origin", want: false},
		// A frame's document is readable by a same-origin parent.
		{name: "GET navigate into a frame checked", method: "GET", mode: "navigate", dest: "iframe", cookie: good, want: false},
		{name: "GET navigate document skips", method: "GET", mode: "navigate", dest: "document", want: true},
		{name: "cross-site no-cors GET checked", method: "GET", mode: "no-cors", site: "cross-site", want: false},
		{name: "no-cors POST checked", method: "POST", mode: "no-cors", site: "same-origin", want: false},
		{name: "POST without token", method: "POST", cookie: good, want: false},
		{name: "POST navigate without token", method: "POST", mode: "navigate", cookie: good, want: false},
		{name: "POST form token", method: "POST", mode: "navigate", cookie: good, form: good, want: true},
		{name: "POST query token", method: "POST", cookie: good, query: good, want: true},
		{name: "POST X-XSRFToken", method: "POST", cookie: good, header: good, want: true},
		{name: "DELETE X-CSRFToken", method: "DELETE", cookie: good, csrfHeader: good, want: true},
		{name: "PATCH wrong token", method: "PATCH", cookie: good, header: good + "x", want: false},
		{name: "token for another id", method: "POST", cookie: otherID, form: otherID, want: false},
		{name: "token without cookie", method: "POST", form: good, want: false},
		{name: "cookie for another id", method: "POST", cookie: otherID, form: good, want: false},
		// A token minted this second for a request without the cookie (what a page shows then).
		{name: "fresh token without cookie", method: "POST", form: fresh, want: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := "/hub/api/x"
			if c.query != "" {
				target += "?_xsrf=" + url.QueryEscape(c.query)
			}
			var r *http.Request
			if c.form != "" {
				r = httptest.NewRequest(c.method, target, strings.NewReader(url.Values{"_xsrf": {c.form}}.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				r = httptest.NewRequest(c.method, target, nil)
			}
			if c.mode != "" {
				r.Header.Set("Sec-Fetch-Mode", c.mode)
			}
			if c.site != "" {
				r.Header.Set("Sec-Fetch-Site", c.site)
			}
			if c.dest != "" {
				r.Header.Set("Sec-Fetch-Dest", c.dest)
			}
			if c.cookie != "" {
				r.AddCookie(&http.Cookie{Name: XSRFCookie, Value: c.cookie})
			}
			if c.header != "" {
				r.Header.Set("X-XSRFToken", c.header)
			}
			if c.csrfHeader != "" {
				r.Header.Set("X-CSRFToken", c.csrfHeader)
			}
			if got := m.CheckXSRF(r, id); got != c.want {
				t.Errorf("CheckXSRF = %v, want %v", got, c.want)
			}
		})
	}
}

// A Python hub's _xsrf cookie (the fixed vector) checks out against the same id.
func TestCheckXSRFVector(t *testing.T) {
	now := fixedNow.Add(time.Hour)
	m := newManager(t, &now, Options{})
	r := httptest.NewRequest("POST", "/hub/api/users", nil)
	r.AddCookie(&http.Cookie{Name: XSRFCookie, Value: vectorXSRFToken})
	r.Header.Set("X-XSRFToken", vectorXSRFToken)
	if !m.CheckXSRF(r, vectorXSRFID) {
		t.Fatal("vector token refused")
	}
	if m.CheckXSRF(r, "sess:other") {
		t.Fatal("vector token accepted for another id")
	}
}

// A page fetched by a script (not a navigation) gets no token unless it sent the valid one:
// a user's server on the hub's origin must not read the victim's _xsrf from a page. Same for
// CookieUsable, which pages use to treat such a request as logged out.
func TestXSRFTokenNotRevealedToScripts(t *testing.T) {
	now := time.Now()
	m := newManager(t, &now, Options{})
	const cookieID = "cid"
	req := func(mode, dest, xsrf string) *http.Request {
		r := httptest.NewRequest("GET", "/hub/token", nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "sess"})
		r.AddCookie(&http.Cookie{Name: XSRFCookie, Value: m.mintXSRF("sess:" + cookieID)})
		if mode != "" {
			r.Header.Set("Sec-Fetch-Mode", mode)
		}
		if dest != "" {
			r.Header.Set("Sec-Fetch-Dest", dest)
		}
		if xsrf != "" {
			r.Header.Set("X-XSRFToken", xsrf)
		}
		return r
	}
	good := m.mintXSRF("sess:" + cookieID)
	for _, c := range []struct {
		mode, dest, xsrf string
		reveal           bool
	}{
		{"navigate", "document", "", true},
		{"", "", "", true},
		{"cors", "empty", "", false},
		{"no-cors", "empty", "", false},
		{"same-origin", "empty", "", false},
		{"navigate", "iframe", "", false},
		{"cors", "empty", good, true},
		{"cors", "empty", good + "x", false},
	} {
		r := req(c.mode, c.dest, c.xsrf)
		id := m.XSRFID(r, cookieID)
		got := m.XSRFToken(httptest.NewRecorder(), r, id)
		if (got != "") != c.reveal {
			t.Errorf("%s/%s xsrf=%v: token %q, want revealed %v", c.mode, c.dest, c.xsrf != "", got, c.reveal)
		}
		if got := m.RefreshXSRFToken(httptest.NewRecorder(), r, id); (got != "") != c.reveal {
			t.Errorf("%s/%s: refreshed token %q, want revealed %v", c.mode, c.dest, got, c.reveal)
		}
		if m.CookieUsable(r, cookieID) != c.reveal {
			t.Errorf("%s/%s xsrf=%v: CookieUsable %v", c.mode, c.dest, c.xsrf != "", !c.reveal)
		}
	}
}
