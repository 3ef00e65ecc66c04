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

// send sends a request to a public path with headers (name, value pairs) and returns the
// response with its body read.
func (b *browser) send(method, path string, form url.Values, headers ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.lh.public+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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
