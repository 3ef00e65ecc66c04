package hub

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/testutil"
)

// tossPage is what mallory's server serves to toss cookies onto the hub's host: it sets each
// cookie of COOKIES (document.cookie strings, Domain=the hub's host) and reports what it set.
const tossPage = `<!doctype html><title>mallory</title><body><script>
for (const c of %s) document.cookie = c;
window.__tossed = document.cookie;
</script></body>`

// tossingHub starts a hub with subdomain_host http://hub.localhost:{port} (Chromium lets
// mallory.hub.localhost set Domain=hub.localhost cookies; "localhost" itself is a top-level
// name, so Domain=localhost is refused) and extra JupyterHub lines; it returns the hub and
// its origin. sections are appended to the config (other classes).
func tossingHub(t *testing.T, jupyterhubExtra, sections string) (*liveHub, string) {
	var pub int
	lh := startLiveHub(t, nil, func(dir string, p, hubPort int) string {
		pub = p
		cfg := hubConfig(t, dir, p, hubPort, "dummy", "DummyAuthenticator:\n  password: pw\n")
		old := fmt.Sprintf("public_url: http://127.0.0.1:%d/\n", p)
		if !strings.Contains(cfg, old) {
			t.Fatal("hubConfig changed: no public_url line")
		}
		return strings.Replace(cfg, old, fmt.Sprintf("public_url: http://hub.localhost:%d/\n  subdomain_host: http://hub.localhost:%d\n%s", p, p, jupyterhubExtra), 1) + sections
	})
	return lh, fmt.Sprintf("http://hub.localhost:%d", pub)
}

// malloryLogin logs mallory in with a plain client and returns her login cookie (name=value)
// as the hub set it, which she can copy from her own browser.
func malloryLogin(t *testing.T, lh *liveHub) (name, value string) {
	t.Helper()
	b := lh.browser()
	rec := &cookieRecorder{}
	b.c.Transport = rec
	b.login("mallory", "pw")
	for _, sc := range rec.setCookies {
		if c, err := http.ParseSetCookie(sc); err == nil && strings.HasSuffix(c.Name, "jupyterhub-hub-login") && c.Value != "" {
			return c.Name, c.Value
		}
	}
	t.Fatalf("no login cookie for mallory in %q", rec.setCookies)
	return "", ""
}

// serveToss registers mallory's server (a route on her host) serving tossPage with cookies.
func serveToss(t *testing.T, lh *liveHub, cookies []string) string {
	t.Helper()
	var js strings.Builder
	js.WriteString("[")
	for i, c := range cookies {
		if i > 0 {
			js.WriteString(",")
		}
		fmt.Fprintf(&js, "%q", c)
	}
	js.WriteString("]")
	page := fmt.Sprintf(tossPage, js.String())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	if _, err := lh.h.table.Put("/mallory.hub.localhost/user/mallory", map[string]any{"target": srv.URL}); err != nil {
		t.Fatal(err)
	}
	return strings.Replace(lh.public, "127.0.0.1", "mallory.hub.localhost", 1) + "/user/mallory/toss.html"
}

// visitToss opens mallory's page in the tab and waits for its script.
func visitToss(t *testing.T, b *testutil.Tab, tossURL string) {
	t.Helper()
	b.Do(chromedp.Navigate(tossURL))
	got, err := chromedp.Run(b.Ctx, chromedp.Poll[string](`window.__tossed`, chromedp.WithPollingTimeout(10*time.Second)))
	b.Must(err)
	t.Logf("cookies on mallory's host after tossing: %s", got)
}

// homeUser navigates to the hub's home and returns who the page shows ("" for the login page).
func homeUser(t *testing.T, b *testutil.Tab, hubOrigin string) string {
	t.Helper()
	b.Do(chromedp.Navigate(hubOrigin + "/hub/home"))
	if strings.Contains(b.Location(), "/hub/login") {
		return ""
	}
	return b.Text("#current-user")
}

// loginTab logs user in through the hub's login form in the tab.
func loginTab(b *testutil.Tab, hubOrigin, user string) {
	b.Do(
		chromedp.Navigate(hubOrigin+"/hub/login"),
		chromedp.WaitVisible(chromedp.CSS("#username_input")),
		chromedp.SendKeys(chromedp.CSS("#username_input"), user),
		chromedp.SendKeys(chromedp.CSS("#password_input"), "pw"),
		chromedp.Click(chromedp.CSS("#login_submit")),
		chromedp.WaitNotPresent(chromedp.CSS("#login_submit")),
	)
}

// tossCookies are the document.cookie strings mallory's page sets: her login cookie under
// name with Domain=hub.localhost, on the hub's prefix and on a longer path (sent first to
// /hub/home), and, to show the browser refuses it, under the __Host- name as well.
func tossCookies(name, value string) []string {
	bare := strings.TrimPrefix(name, "__Host-")
	var cs []string
	for _, n := range []string{bare, "__Host-" + bare} {
		for _, path := range []string{"/hub/", "/hub/home"} {
			cs = append(cs, fmt.Sprintf("%s=%s; Domain=hub.localhost; Path=%s; Max-Age=3600", n, value, path))
		}
		cs = append(cs, fmt.Sprintf("%s=%s; Domain=hub.localhost; Path=/; Secure; Max-Age=3600", n, value))
	}
	return cs
}

// TestCookieTossingHostPrefixInBrowser (issue 12 §2, cookie tossing): with subdomain_host and
// cookie_host_prefix_enabled, in a real Chromium, a page on mallory.hub.localhost sets her own
// valid login cookie with Domain=hub.localhost. A visitor who is not logged in is not logged in
// as mallory on the hub (login CSRF), and a logged-in victim stays the victim.
func TestCookieTossingHostPrefixInBrowser(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	lh, hubOrigin := tossingHub(t, "  cookie_host_prefix_enabled: true\n", "")
	name, value := malloryLogin(t, lh)
	if name != "__Host-jupyterhub-hub-login" {
		t.Fatalf("login cookie %q, want the __Host- name", name)
	}
	toss := serveToss(t, lh, tossCookies(name, value))
	b := testutil.NewTab(t, 90*time.Second)

	// A fresh visitor opens mallory's page, then the hub: not logged in as anyone.
	visitToss(t, b, toss)
	if who := homeUser(t, b, hubOrigin); who != "" {
		t.Errorf("a visitor of mallory's page is logged in on the hub as %q", who)
	}
	// The victim logs in (the __Host- cookie works over http on localhost), opens mallory's
	// page again, and is still the victim.
	loginTab(b, hubOrigin, "victim")
	if who := homeUser(t, b, hubOrigin); who != "victim" {
		t.Fatalf("after login the hub shows %q", who)
	}
	visitToss(t, b, toss)
	if who := homeUser(t, b, hubOrigin); who != "victim" {
		t.Errorf("after mallory's page the victim's hub shows %q", who)
	}
}

// TestCookieTossingDuplicatesInBrowser: with subdomain_host and without the __Host- prefix, a
// logged-in victim opens mallory's page, which sets her login cookie with Domain=hub.localhost
// on /hub/ and /hub/home (a longer path, so Chromium sends it before the victim's). The hub
// sees two login cookies and treats the request as logged out instead of as mallory, expires
// the tossed cookies, and a new login is the victim's again.
func TestCookieTossingDuplicatesInBrowser(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	lh, hubOrigin := tossingHub(t, "", "")
	name, value := malloryLogin(t, lh)
	toss := serveToss(t, lh, tossCookies(name, value))
	b := testutil.NewTab(t, 90*time.Second)

	loginTab(b, hubOrigin, "victim")
	if who := homeUser(t, b, hubOrigin); who != "victim" {
		t.Fatalf("after login the hub shows %q", who)
	}
	visitToss(t, b, toss)
	if who := homeUser(t, b, hubOrigin); who != "" {
		t.Errorf("with a tossed login cookie the victim's hub shows %q, want the login page", who)
	}
	loginTab(b, hubOrigin, "victim")
	if who := homeUser(t, b, hubOrigin); who != "victim" {
		t.Errorf("after logging in again the hub shows %q, want victim (tossed cookies not cleared)", who)
	}
}
