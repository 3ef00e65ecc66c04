package hub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/testutil"
)

// TestSubdomainHostCHPInBrowser (issue 12 §2): subdomain_host with the real
// configurable-http-proxy, which the hub starts with --host-routing, and
// cookie_host_prefix_enabled. In Chromium the victim logs in on hub.localhost; alice's server
// is reached through CHP on alice.hub.localhost (directly, and from /user/alice/ on the hub's
// host), and none of the hub's cookies (the __Host- login cookie on Path=/ included) reach it.
func TestSubdomainHostCHPInBrowser(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	chp, err := exec.LookPath("configurable-http-proxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("configurable-http-proxy is not installed")
		}
		t.Skip("configurable-http-proxy is not installed")
	}
	// The hub does not listen on the public port in this mode: CHP does, so every answer
	// below came through CHP.
	const chpToken = "chp-subdomain-test-token"
	chpAPI := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	lh, hubOrigin := tossingHub(t, "  cookie_host_prefix_enabled: true\n  proxy_class: configurable-http-proxy\n",
		"ConfigurableHTTPProxy:\n  command: ["+chp+"]\n  auth_token: "+chpToken+"\n  api_url: "+chpAPI+"\n")
	if code := lh.api("POST", "/users/alice", adminToken, nil, nil); code != 201 {
		t.Fatalf("create alice: %d", code)
	}
	lh.startServer("alice")
	aliceOrigin := strings.Replace(hubOrigin, "//hub.localhost", "//alice.hub.localhost", 1)

	// CHP holds alice's route under her host.
	req, _ := http.NewRequest("GET", chpAPI+"/api/routes", nil)
	req.Header.Set("Authorization", "token "+chpToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var routes map[string]any
	json.NewDecoder(resp.Body).Decode(&routes)
	resp.Body.Close()
	if _, ok := routes["/alice.hub.localhost/user/alice"]; !ok {
		t.Fatalf("CHP routes %v: no host route for alice's server", routes)
	}

	// The server is told to prefix its own cookie too.
	code, _, _, body := hostGet(t, lh, "GET", strings.TrimPrefix(aliceOrigin, "http://"), "/user/alice/env", nil)
	var env map[string]string
	if code != 200 || json.Unmarshal([]byte(body), &env) != nil || env["JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED"] != "1" {
		t.Errorf("alice's env through CHP: %d, JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED=%q", code, env["JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED"])
	}

	b := testutil.NewTab(t, 90*time.Second)
	loginTab(b, hubOrigin, "victim")
	if who := homeUser(t, b, hubOrigin); who != "victim" {
		t.Fatalf("after login the hub shows %q", who)
	}
	for _, start := range []string{aliceOrigin + "/user/alice/headers", hubOrigin + "/user/alice/headers"} {
		b.Do(chromedp.Navigate(start))
		if loc := b.Location(); loc != aliceOrigin+"/user/alice/headers" {
			t.Errorf("%s ended at %s, want alice's host", start, loc)
			continue
		}
		var got struct {
			Host    string              `json:"host"`
			Headers map[string][]string `json:"headers"`
		}
		text := b.Text("body")
		if err := json.Unmarshal([]byte(text), &got); err != nil {
			t.Fatalf("alice's server answered %q: %v", text, err)
		}
		if got.Host != strings.TrimPrefix(aliceOrigin, "http://") {
			t.Errorf("alice's server saw Host %q", got.Host)
		}
		cookies := strings.Join(got.Headers["Cookie"], "; ")
		for _, name := range []string{"jupyterhub-hub-login", "jupyterhub-session-id", "_xsrf"} {
			if strings.Contains(cookies, name) {
				t.Errorf("via %s alice's server received the hub's %s cookie: %s", start, name, cookies)
			}
		}
		t.Logf("via %s alice's server saw %v", start, got.Headers)
	}
}
