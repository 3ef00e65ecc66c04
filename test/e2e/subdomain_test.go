package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSingleuserSubdomain is TestSingleuserEndToEnd's first half with JupyterHub.subdomain_host
// http://localhost:{port}: alice logs in on the hub's host, /user/alice/ sends her to
// alice.localhost, the real jupyterhub-singleuser completes the OAuth round there (its callback
// on her host, the authorize page on the hub's), and a kernel runs print(6*7) over the proxied
// websocket. The hub's cookies never reach alice's host.
func TestSingleuserSubdomain(t *testing.T) {
	singleuser := needSingleuser(t)
	bin, dir, hubPort, pubPort := gohubBinary(t), t.TempDir(), freePort(t), freePort(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
JupyterHub:
  bind_url: http://127.0.0.1:%d
  hub_bind_url: http://127.0.0.1:%d
  subdomain_host: http://localhost:%d
  db_url: sqlite:///gohub.sqlite
  authenticator_class: dummy
  spawner_class: simple
  services:
    - {name: admin-bot, api_token: %s, admin: true}
Spawner:
  cmd: [%s]
  args: [--allow-root]
  start_timeout: 60
  http_timeout: 45
SimpleLocalProcessSpawner:
  home_dir_template: %s/home/{username}
`, pubPort, hubPort, pubPort, svcToken, singleuser, dir))
	if err := os.MkdirAll(dir+"/home/alice", 0o755); err != nil {
		t.Fatal(err)
	}
	h := startHub(t, bin, dir, cfg, hubPort, pubPort)
	sc := &scenario{h: h}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub output:\n%s", h.log.String())
		}
		sc.stopServers(t)
	})

	// A browser that resolves localhost and *.localhost to the loopback address, as browsers do.
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}}
	hubOrigin := fmt.Sprintf("http://localhost:%d", pubPort)
	aliceOrigin := fmt.Sprintf("http://alice.localhost:%d", pubPort)
	b := &browser{t: t, jar: jar, public: hubOrigin, c: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: tr}}
	b.login("alice", "anything")
	if b.cookie("/hub/", "jupyterhub-hub-login") == "" {
		t.Fatal("no login cookie on the hub's host")
	}

	deadline := time.Now().Add(90 * time.Second)
	var landed *url.URL
	for landed == nil && time.Now().Before(deadline) {
		resp, err := b.c.Get(hubOrigin + "/user/alice/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.HasPrefix(resp.Request.URL.Path, "/user/alice/") {
			landed = resp.Request.URL
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if landed == nil {
		t.Fatal("never landed on a 200 page under /user/alice/")
	}
	if got := landed.Scheme + "://" + landed.Host; got != aliceOrigin {
		t.Errorf("landed on %s, want alice's host %s", landed, aliceOrigin)
	}
	alice := &browser{t: t, jar: jar, public: aliceOrigin, c: b.c}
	if alice.cookie("/user/alice/", "jupyterhub-user-alice") == "" {
		t.Errorf("no jupyterhub-user-alice cookie on alice's host after the OAuth round")
	}
	for _, name := range []string{"jupyterhub-hub-login", "jupyterhub-session-id", "_xsrf"} {
		if v := alice.cookie("/hub/", name); v != "" && v == b.cookie("/hub/", name) {
			t.Errorf("the hub's %s cookie is sent to alice's host", name)
		}
	}

	// A kernel through the proxy on alice's host.
	xsrf := alice.cookie("/user/alice/", "_xsrf")
	req, _ := http.NewRequest("POST", aliceOrigin+"/user/alice/api/kernels", strings.NewReader(`{"name":"python3"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-XSRFToken", xsrf)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var kernel struct{ ID string }
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || json.Unmarshal(body, &kernel) != nil || kernel.ID == "" {
		t.Fatalf("create kernel: %d %s", resp.StatusCode, body)
	}
	if got := runOnKernel(t, alice, kernel.ID, "print(6*7)"); got != "42\n" {
		t.Errorf("print(6*7) printed %q, want 42", got)
	}
}
