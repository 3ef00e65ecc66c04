package e2e

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEscapedNamesEndToEnd logs in users "a b" and "a%20b" (the second's URL, /user/a%2520b/,
// decodes once to the first's name) and has each reach their own jupyterhub-singleuser through
// the built-in proxy and the real configurable-http-proxy: the whoami.txt in its home directory names the owner.
// Each one's browser on the other's URL is refused by that server (403 after the OAuth round),
// never answered by their own.
func TestEscapedNamesEndToEnd(t *testing.T) {
	for _, proxyClass := range []string{"builtin", "configurable-http-proxy"} {
		t.Run(proxyClass, func(t *testing.T) {
			sc := startScenario(t, proxyClass)
			names := []string{"a b", "a%20b"}
			browsers := map[string]*browser{}
			for _, n := range names {
				// The server serves its home directory: whoami.txt there names its owner.
				home := filepath.Join(sc.dir, "home", n)
				if err := os.MkdirAll(home, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(home, "whoami.txt"), []byte(n), 0o644); err != nil {
					t.Fatal(err)
				}
				b := newBrowser(t, sc.h.pubURL)
				b.c.Jar = rawPathJar{b.jar}
				b.login(n, "anything")
				browsers[n] = b
				landOn(t, b, "/user/"+url.PathEscape(n)+"/")
			}
			for _, n := range names {
				for _, other := range names {
					code, me := whoami(t, browsers[n], "/user/"+url.PathEscape(other)+"/files/whoami.txt")
					switch {
					case other == n && (code != 200 || me != n):
						t.Errorf("%q on their own server: %d, whoami.txt %q", n, code, me)
					case other != n && (code != http.StatusForbidden || me != ""):
						t.Errorf("%q on %q's URL: %d, whoami.txt %q, want 403", n, other, code, me)
					}
				}
			}
		})
	}
}

// landOn follows redirects from path (the hub's OAuth round) until a 200 page under it.
func landOn(t *testing.T, b *browser, path string) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		resp, err := b.c.Get(b.public + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.HasPrefix(resp.Request.URL.EscapedPath(), path) {
			return
		}
	}
	t.Fatalf("never landed on a 200 page under %s", path)
}

// whoami fetches a server's whoami.txt and returns the status and, on 200, the content.
func whoami(t *testing.T, b *browser, path string) (int, string) {
	t.Helper()
	resp, err := b.c.Get(b.public + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, string(body)
}

// rawPathJar matches cookie paths against the escaped request path, as browsers do; Go's
// cookiejar uses the decoded one, so the cookies a server at /user/a%20b/ sets for its own
// path would never be sent back to it.
type rawPathJar struct{ http.CookieJar }

func (j rawPathJar) SetCookies(u *url.URL, cs []*http.Cookie) {
	j.CookieJar.SetCookies(rawPathURL(u), cs)
}
func (j rawPathJar) Cookies(u *url.URL) []*http.Cookie { return j.CookieJar.Cookies(rawPathURL(u)) }

func rawPathURL(u *url.URL) *url.URL {
	c := *u
	c.Path, c.RawPath = u.EscapedPath(), ""
	return &c
}
