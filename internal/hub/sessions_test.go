package hub

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// from returns a browser whose connections come from the loopback address ip (all of
// 127.0.0.0/8 is loopback): the hub sees another client per address.
func (lh *liveHub) from(ip string) *browser {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &browser{t: lh.t, lh: lh, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// copyCookies returns a new browser holding b's cookies, as someone who copied them would.
func (b *browser) copyCookies() *browser {
	c := b.lh.browser()
	u, _ := url.Parse(b.lh.public + "/hub/")
	c.c.Jar.SetCookies(u, b.c.Jar.Cookies(u))
	return c
}

// send sends a request to a public path with headers (name, value pairs), a form body when
// form is not nil, and returns the response with its body read.
func (b *browser) send(method, path string, form url.Values, headers ...string) (*http.Response, string) {
	b.t.Helper()
	if form == nil {
		return b.exchange(method, path, nil, headers...)
	}
	headers = append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)
	return b.exchange(method, path, strings.NewReader(form.Encode()), headers...)
}

// exchange makes a request with the browser's cookies and the given headers (pairs) and
// returns the response with its body read.
func (b *browser) exchange(method, path string, body io.Reader, headers ...string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.lh.public+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// loginToken gets the login page with headers and returns its _xsrf value.
func (b *browser) loginToken(headers ...string) string {
	b.t.Helper()
	_, page := b.send("GET", "/hub/login", nil, headers...)
	m := xsrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no _xsrf on the login page:\n%s", page)
	}
	return m[1]
}

// TestLogoutEndsCopiedSessions: a login cookie copied from ivy's browser stops working when ivy
// logs out (the hub gives her a new cookie_id), and so does her session on another device.
func TestLogoutEndsCopiedSessions(t *testing.T) {
	t.Parallel()
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return recoveryConfig(t, dir, pub, hubPort, "")
	})
	ivy, laptop := lh.browser(), lh.browser()
	if !ivy.login("ivy", "ivy-first-pw") || !laptop.login("ivy", "ivy-first-pw") {
		t.Fatal("ivy's logins")
	}
	thief := ivy.copyCookies()
	if !thief.loggedIn() {
		t.Fatal("the copied cookie does not log in to begin with")
	}
	if code, _, _ := ivy.get("/hub/logout"); code != http.StatusFound {
		t.Fatalf("logout: %d", code)
	}
	if ivy.loggedIn() || thief.loggedIn() || laptop.loggedIn() {
		t.Errorf("after the logout: browser %v, copied cookie %v, other device %v; want all logged out",
			ivy.loggedIn(), thief.loggedIn(), laptop.loggedIn())
	}
	if !ivy.login("ivy", "ivy-first-pw") {
		t.Error("ivy cannot log in again")
	}
}

// TestFirstUsePasswordChangeEndsOtherSessions: changing one's password on FirstUse's page ends
// the sessions of a copied cookie and keeps the browser that changed it logged in.
func TestFirstUsePasswordChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return recoveryConfig(t, dir, pub, hubPort, "")
	})
	ivy := lh.browser()
	if !ivy.login("ivy", "ivy-first-pw") {
		t.Fatal("ivy's login")
	}
	thief := ivy.copyCookies()
	for _, pw := range []string{"ivy-second-pw", "ivy-third-pw"} { // the second uses the page's fresh _xsrf
		code, _, body := ivy.post("/hub/auth/change-password", "/hub/auth/change-password", url.Values{"password": {pw}})
		if code != http.StatusOK || !strings.Contains(body, `id="change-password-done"`) {
			t.Fatalf("change to %s: %d\n%s", pw, code, body)
		}
	}
	if thief.loggedIn() {
		t.Error("a copied login cookie still works after the password change")
	}
	if !ivy.loggedIn() {
		t.Error("ivy was logged out by changing her own password")
	}
}

// TestLoginCSRF: a page of another site cannot log a browser into the attacker's account. The
// attacker mints a login _xsrf token for the victim's address by naming it in X-Real-Ip (or
// X-Forwarded-For), and has the victim's browser post it with the attacker's credentials; the
// token no longer matches (it is keyed on the connection's address), and a browser's
// cross-site Origin or Sec-Fetch-Site is refused even with a valid token.
func TestLoginCSRF(t *testing.T) {
	t.Parallel()
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return recoveryConfig(t, dir, pub, hubPort, "")
	})
	const victimIP, agent = "127.0.0.8", "VictimBrowser/1.0"
	creds := url.Values{"username": {"jack"}, "password": {"jack-first-pw"}}
	post := func(b *browser, token string, headers ...string) int {
		form := url.Values{"_xsrf": {token}}
		for k, v := range creds {
			form[k] = v
		}
		resp, _ := b.send("POST", "/hub/login", form, append([]string{"User-Agent", agent}, headers...)...)
		return resp.StatusCode
	}

	// The token of the attacker's own connection, claiming the victim's address.
	minted := lh.from("127.0.0.1").loginToken("User-Agent", agent, "X-Real-Ip", victimIP, "X-Forwarded-For", victimIP)
	if code := post(lh.from(victimIP), minted); code != http.StatusForbidden {
		t.Errorf("a token minted for the victim's address by someone else: %d, want 403", code)
	}

	// The victim's own valid token, posted by another site's page.
	for _, h := range [][]string{
		{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"},
		{"Origin", "http://evil.example"},
		{"Origin", "null"},
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"}, // a sibling host, such as a user's server under subdomain_host
	} {
		victim := lh.from(victimIP)
		token := victim.loginToken("User-Agent", agent)
		if code := post(victim, token, h...); code != http.StatusForbidden {
			t.Errorf("login post with %v: %d, want 403", h, code)
		}
		if victim.loggedIn() {
			t.Errorf("login post with %v logged the browser in", h)
		}
	}

	// The hub's own page, and clients that send neither header, still log in.
	for _, h := range [][]string{
		{"Origin", lh.public, "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate"},
		{"Origin", strings.ToUpper(lh.public)},
		{},
	} {
		victim := lh.from(victimIP)
		token := victim.loginToken("User-Agent", agent)
		if code := post(victim, token, h...); code != http.StatusFound {
			t.Errorf("same-origin login post with %v: %d, want 302", h, code)
		}
	}
}

// TestSecureCookiesBehindTrustedProxy: behind a TLS-terminating proxy listed in
// trusted_proxies, the hub's cookies are Secure although public_url is http; the same
// X-Forwarded-Proto from any other client (a user's server on loopback) changes nothing.
func TestSecureCookiesBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return hubConfig(t, dir, pub, hubPort, "firstuse", "Authenticator:\n  allowed_users: [ivy]\n  trusted_proxies: [127.0.0.3]\n")
	})
	fwd := []string{"X-Forwarded-Proto", "https", "X-Forwarded-For", "203.0.113.9"}
	// cookies logs ivy in from the address from and returns every Set-Cookie of the login page
	// and the login. The client keeps no jar (it would not send Secure cookies over http): the
	// _xsrf cookie goes back by hand.
	cookies := func(from string) []string {
		b := lh.from(from)
		b.c.Jar = nil
		resp, page := b.send("GET", "/hub/login", nil, fwd...)
		var xsrfCookie string
		for _, c := range resp.Cookies() {
			if c.Name == "_xsrf" {
				xsrfCookie = c.Value
			}
		}
		m := xsrfRE.FindStringSubmatch(page)
		if m == nil || xsrfCookie == "" {
			t.Fatalf("login page from %s: no _xsrf", from)
		}
		form := url.Values{"_xsrf": {m[1]}, "username": {"ivy"}, "password": {"ivy-first-pw"}}
		resp2, _ := b.send("POST", "/hub/login", form, append(fwd, "Cookie", "_xsrf="+xsrfCookie)...)
		if resp2.StatusCode != http.StatusFound {
			t.Fatalf("login from %s: %d", from, resp2.StatusCode)
		}
		return append(resp.Header.Values("Set-Cookie"), resp2.Header.Values("Set-Cookie")...)
	}
	secure := func(c string) bool { return strings.Contains(strings.ToLower(c), "; secure") }
	got := cookies("127.0.0.3")
	if len(got) < 3 {
		t.Fatalf("cookies set through the proxy: %q", got)
	}
	for _, c := range got {
		if !secure(c) {
			t.Errorf("through the trusted TLS proxy, not Secure: %s", c)
		}
	}
	for _, c := range cookies("127.0.0.1") {
		if secure(c) {
			t.Errorf("X-Forwarded-Proto of an untrusted client made a cookie Secure: %s", c)
		}
	}
}
