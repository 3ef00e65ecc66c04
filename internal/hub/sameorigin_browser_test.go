package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/store"
	"gohub/internal/testutil"
)

// evilPage is what mallory's server serves: a script that, run in the victim's browser with the
// victim's hub cookies, tries every way a page on the hub's origin has to read a secret of the
// hub (the _xsrf token of /hub/token and /hub/home, the user model) and to mint an API token
// for the victim. HUB is the hub's origin; the findings land in window.__result as JSON.
const evilPage = `<!doctype html><title>mallory</title><body><script>
const HUB = %q;
const found = [];
const notes = {};
const xsrfIn = html => {
  const m = html.match(/data-xsrf="([^"]+)"/) || html.match(/name="_xsrf" value="([^"]+)"/);
  return m ? m[1] : "";
};
async function read(name, url, opts) {
  try {
    const r = await fetch(url, Object.assign({credentials: "include"}, opts || {}));
    const text = r.type === "opaque" ? "" : await r.text();
    const x = xsrfIn(text);
    notes[name] = {status: r.status, type: r.type, url: r.url, xsrf: x !== ""};
    if (x) found.push(x);
    return text;
  } catch (e) { notes[name] = {error: String(e)}; return ""; }
}
function viaXHR(url) {
  return new Promise(done => {
    const x = new XMLHttpRequest();
    x.open("GET", url);
    x.withCredentials = true;
    x.onload = () => { const t = xsrfIn(x.responseText); notes.xhr = {status: x.status, xsrf: t !== ""}; if (t) found.push(t); done(); };
    x.onerror = () => { notes.xhr = {error: "network"}; done(); };
    x.send();
  });
}
function viaFrame(url) {
  return new Promise(done => {
    const f = document.createElement("iframe");
    f.src = url;
    f.onload = () => {
      try {
        const t = xsrfIn(f.contentDocument.documentElement.outerHTML);
        notes.frame = {read: true, xsrf: t !== ""};
        if (t) found.push(t);
      } catch (e) { notes.frame = {error: String(e)}; }
      done();
    };
    document.body.appendChild(f);
    setTimeout(done, 5000);
  });
}
(async () => {
  await read("token", HUB + "/hub/token");
  await read("tokenNoCors", HUB + "/hub/token", {mode: "no-cors"});
  await read("home", HUB + "/hub/home");
  await read("tokenSameHost", "/hub/token");
  await read("user", HUB + "/hub/api/users/victim");
  await read("userNoCors", HUB + "/hub/api/users/victim", {mode: "no-cors"});
  await viaXHR(HUB + "/hub/token");
  await viaFrame(HUB + "/hub/token");
  // Mint a token with whatever was found, and once without any.
  const tries = found.length ? found : [""];
  notes.mint = [];
  for (const x of tries) {
    try {
      const r = await fetch(HUB + "/hub/api/users/victim/tokens", {method: "POST", credentials: "include",
        headers: {"Content-Type": "application/json", "X-XSRFToken": x}, body: JSON.stringify({note: "stolen"})});
      notes.mint.push({status: r.status, body: r.type === "opaque" ? "" : await r.text()});
    } catch (e) { notes.mint.push({error: String(e)}); }
  }
  window.__result = JSON.stringify({found, notes});
})();
</script></body>`

// attackResult is what evilPage reports.
type attackResult struct {
	Found []string                   `json:"found"`
	Notes map[string]json.RawMessage `json:"notes"`
}

// runSameOriginAttack logs the victim in with Chromium at hubOrigin, opens mallory's page at
// evilURL (served by the route the caller registered) and returns what its script achieved,
// with the tokens named "stolen" the victim has afterwards.
func runSameOriginAttack(t *testing.T, lh *liveHub, hubOrigin, evilURL string) (attackResult, int) {
	t.Helper()
	b := testutil.NewTab(t, 90*time.Second)
	b.Do(
		chromedp.Navigate(hubOrigin+"/hub/login"),
		chromedp.WaitVisible(chromedp.CSS("#username_input")),
		chromedp.SendKeys(chromedp.CSS("#username_input"), "victim"),
		chromedp.SendKeys(chromedp.CSS("#password_input"), "pw"),
		chromedp.Click(chromedp.CSS("#login_submit")),
		chromedp.WaitNotPresent(chromedp.CSS("#login_submit")),
		// The victim looks at their tokens once: the _xsrf cookie is set for the session.
		chromedp.Navigate(hubOrigin+"/hub/token"),
		chromedp.WaitVisible(chromedp.CSS("#tokens")),
	)
	b.Do(chromedp.Navigate(evilURL))
	raw, err := chromedp.Run(b.Ctx, chromedp.Poll[string](`window.__result`, chromedp.WithPollingTimeout(30*time.Second)))
	b.Must(err)
	var res attackResult
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatalf("result %q: %v", raw, err)
	}
	t.Logf("attack from %s: %s", evilURL, raw)
	// The victim is still logged in: the script's requests did not clear the login cookie.
	b.Do(chromedp.Navigate(hubOrigin + "/hub/home"))
	if loc := b.Location(); strings.Contains(loc, "/hub/login") {
		t.Errorf("the victim was logged out by the script's requests (at %s)", loc)
	}

	ctx := context.Background()
	u, err := lh.h.db.GetUser(ctx, "victim")
	if err != nil {
		t.Fatal(err)
	}
	toks, err := lh.h.db.ListTokens(ctx, store.KindUser, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	stolen := 0
	for _, tk := range toks {
		if tk.Note == "stolen" {
			stolen++
		}
	}
	return res, stolen
}

// evilServer serves evilPage (with hubOrigin) under /user/mallory/.
func evilServer(t *testing.T, hubOrigin string) *httptest.Server {
	page := fmt.Sprintf(evilPage, hubOrigin)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// assertAttackFailed: the script read no _xsrf token, minted nothing, and the API refused it.
func assertAttackFailed(t *testing.T, res attackResult, stolen int) {
	t.Helper()
	if len(res.Found) > 0 {
		t.Errorf("mallory's script read %d _xsrf token(s) of the victim", len(res.Found))
	}
	if stolen > 0 {
		t.Errorf("mallory's script minted %d token(s) for the victim", stolen)
	}
	if mint := string(res.Notes["mint"]); strings.Contains(mint, `"status":201`) || strings.Contains(mint, `"token"`) {
		t.Errorf("token request answered: %s", mint)
	}
	for _, k := range []string{"user", "userNoCors"} {
		if user := string(res.Notes[k]); strings.Contains(user, `"status":200`) {
			t.Errorf("the user model was readable (%s): %s", k, user)
		}
	}
}

// TestSameOriginAttackInBrowser (issue 12 §2): without subdomain_host, a page served by
// mallory's server at /user/mallory/ runs on the hub's origin. In a real Chromium the victim
// logs in, then opens mallory's page; its script fetches /hub/token and /hub/home (cors and
// no-cors), the user model, the token page through XMLHttpRequest and an iframe, and tries to
// mint a token for the victim with any _xsrf it found. Nothing is read and nothing is minted.
func TestSameOriginAttackInBrowser(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return hubConfig(t, dir, pub, hubPort, "dummy", "DummyAuthenticator:\n  password: pw\n")
	})
	evil := evilServer(t, lh.public)
	// Mallory's server: a route the hub does not own, as a running server's would be.
	if _, err := lh.h.table.Put("/user/mallory", map[string]any{"target": evil.URL}); err != nil {
		t.Fatal(err)
	}
	res, stolen := runSameOriginAttack(t, lh, lh.public, lh.public+"/user/mallory/evil.html")
	assertAttackFailed(t, res, stolen)
}

// subdomainConfig is hubConfig with subdomain_host http://localhost:{pub}: the hub on
// localhost, each user's servers on {user}.localhost (Chromium resolves *.localhost to the
// loopback address).
func subdomainConfig(t *testing.T, dir string, pub, hubPort int, extra string) string {
	cfg := hubConfig(t, dir, pub, hubPort, "dummy", extra)
	old := fmt.Sprintf("public_url: http://127.0.0.1:%d/\n", pub)
	if !strings.Contains(cfg, old) {
		t.Fatal("hubConfig changed: no public_url line")
	}
	return strings.Replace(cfg, old, fmt.Sprintf("public_url: http://localhost:%d/\n  subdomain_host: http://localhost:%d\n", pub, pub), 1)
}

// TestSameOriginAttackInBrowserSubdomains is TestSameOriginAttackInBrowser with
// subdomain_host: mallory's page is on http://mallory.localhost:{port}, another origin than
// the hub's (http://localhost:{port}). Its script reaches the hub cross-origin (and /hub/ on
// its own host, which the hub sends to the hub's host): it reads nothing and mints nothing.
func TestSameOriginAttackInBrowserSubdomains(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	var pub int
	lh := startLiveHub(t, nil, func(dir string, p, hubPort int) string {
		pub = p
		return subdomainConfig(t, dir, p, hubPort, "DummyAuthenticator:\n  password: pw\n")
	})
	hubOrigin := fmt.Sprintf("http://localhost:%d", pub)
	evil := evilServer(t, hubOrigin)
	if _, err := lh.h.table.Put("/mallory.localhost/user/mallory", map[string]any{"target": evil.URL}); err != nil {
		t.Fatal(err)
	}
	res, stolen := runSameOriginAttack(t, lh, hubOrigin, fmt.Sprintf("http://mallory.localhost:%d/user/mallory/evil.html", pub))
	assertAttackFailed(t, res, stolen)
}
