package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGHUPRevokes drives `gohub serve` from outside: alice and bob have a browser session, an
// API token and a running server (Python's http.server under the simple spawner); alice is
// added to blocked_users and the process gets SIGHUP. Within 2 s alice's cookie, token and
// server are gone, bob's all still work, and the hub never restarted.
func TestSIGHUPRevokes(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("/usr/bin/python3 is missing")
		}
		t.Skip("/usr/bin/python3 is missing")
	}
	bin := gohubBinary(t)
	dir := t.TempDir()
	hubPort, pubPort := freePort(t), freePort(t)
	config := func(blocked string) string {
		return fmt.Sprintf(`
JupyterHub:
  bind_url: http://127.0.0.1:%d
  hub_bind_url: http://127.0.0.1:%d
  db_url: sqlite:///gohub.sqlite
  authenticator_class: dummy
  spawner_class: simple
  services:
    - {name: admin-bot, api_token: %s, admin: true}
Authenticator:
  allowed_users: [alice, bob]
  blocked_users: [%s]
DummyAuthenticator:
  password: pw
Spawner:
  cmd: [sh, -c, 'p=${JUPYTERHUB_SERVICE_URL#*//}; p=${p#*:}; exec /usr/bin/python3 -m http.server --bind 127.0.0.1 ${p%%%%/*}']
  http_timeout: 20
SimpleLocalProcessSpawner:
  home_dir_template: %s
`, pubPort, hubPort, svcToken, blocked, dir)
	}
	cfg := writeConfig(t, dir, config(""))
	h := startHub(t, bin, dir, cfg, hubPort, pubPort)
	pid := h.cmd.Process.Pid
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub output:\n%s", h.log.String())
		}
		for _, u := range []string{"alice", "bob"} {
			call(t, "DELETE", h.apiURL+"/users/"+u+"/server", svcToken, nil, nil)
		}
	})

	type access struct {
		b      *browser
		token  string
		target string
	}
	users := map[string]*access{}
	for _, name := range []string{"alice", "bob"} {
		a := &access{b: newBrowser(t, h.pubURL)}
		a.b.login(name, "pw")
		var tok map[string]any
		if code := call(t, "POST", h.apiURL+"/users/"+name+"/tokens", svcToken, map[string]any{}, &tok); code != 201 {
			t.Fatalf("token for %s: %d", name, code)
		}
		a.token = tok["token"].(string)
		// The login's landing page may have started it already (400 "already running").
		var reply map[string]any
		if code := call(t, "POST", h.apiURL+"/users/"+name+"/server", svcToken, nil, &reply); code != 201 && code != 202 &&
			!(code == 400 && strings.Contains(fmt.Sprint(reply["message"]), "already")) {
			t.Fatalf("start %s's server: %d %v", name, code, reply)
		}
		var routes map[string]map[string]any
		if !waitFor(20*time.Second, func() bool {
			call(t, "GET", h.apiURL+"/proxy", svcToken, nil, &routes)
			return routes["/user/"+name+"/"] != nil
		}) {
			t.Fatalf("%s's server never got a route", name)
		}
		a.target = fmt.Sprint(routes["/user/"+name+"/"]["target"])
		users[name] = a
	}
	works := func(a *access) (cookie bool, token int, server bool) {
		resp, err := a.b.c.Get(a.b.public + "/hub/home")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			cookie = resp.StatusCode == 200 && strings.HasSuffix(resp.Request.URL.Path, "/hub/home")
		}
		token = call(t, "GET", h.apiURL+"/user", a.token, nil, nil)
		c := &http.Client{Timeout: time.Second}
		if resp, err := c.Get(a.target + "/"); err == nil {
			resp.Body.Close()
			server = true
		}
		return
	}
	for name, a := range users {
		if c, tok, s := works(a); !c || tok != 200 || !s {
			t.Fatalf("%s before the reload: cookie %v, token %d, server %v", name, c, tok, s)
		}
	}

	writeConfig(t, dir, config("alice"))
	start := time.Now()
	if err := h.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(2*time.Second, func() bool {
		c, tok, s := works(users["alice"])
		return !c && tok == 403 && !s
	}) {
		c, tok, s := works(users["alice"])
		t.Errorf("alice %v after SIGHUP: cookie works %v, token %d, server answers %v", time.Since(start), c, tok, s)
	}
	if c, tok, s := works(users["bob"]); !c || tok != 200 || !s {
		t.Errorf("bob after the reload: cookie %v, token %d, server %v", c, tok, s)
	}
	if h.cmd.ProcessState != nil || h.cmd.Process.Pid != pid {
		t.Error("the hub restarted")
	}
	if !strings.Contains(h.log.String(), "config reloaded") {
		t.Errorf("no reload in the hub's log:\n%s", h.log.String())
	}
}

// waitFor polls cond every 50 ms for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
