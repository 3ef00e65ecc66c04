package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// needSingleuser returns the path of Debian's jupyterhub-singleuser, skipping (failing in CI)
// when it is missing.
func needSingleuser(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("jupyterhub-singleuser")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("jupyterhub-singleuser is not installed (scripts/install-deps.sh test installs it)")
		}
		t.Skip("jupyterhub-singleuser is not installed")
	}
	return p
}

// browser is a Go HTTP client with a cookie jar, as a browser would keep them.
type browser struct {
	t      *testing.T
	c      *http.Client
	jar    *cookiejar.Jar
	public string // http://127.0.0.1:<port>
}

func newBrowser(t *testing.T, public string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, jar: jar, public: strings.TrimSuffix(public, "/"),
		c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

var xsrfField = regexp.MustCompile(`name="_xsrf"\s+value="([^"]+)"`)

// login posts the hub's login form as a person would.
func (b *browser) login(user, password string) *http.Response {
	b.t.Helper()
	resp, err := b.c.Get(b.public + "/hub/login")
	if err != nil {
		b.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := xsrfField.FindSubmatch(page)
	if m == nil {
		b.t.Fatalf("login page has no _xsrf field:\n%s", page)
	}
	form := url.Values{"username": {user}, "password": {password}, "_xsrf": {string(m[1])}}
	resp, err = b.c.PostForm(b.public+"/hub/login", form)
	if err != nil {
		b.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// cookie returns the value of the named cookie the jar would send to path.
func (b *browser) cookie(path, name string) string {
	u, _ := url.Parse(b.public + path)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// TestSingleuserEndToEnd is issue 3's first acceptance item: alice logs in, follows the
// redirects to /user/alice/ through the hub's OAuth flow, lands on a Jupyter page, runs
// print(6*7) on a kernel over the proxied websocket, and after her server is stopped through
// the API the hub answers /user/alice/ with 424.
func TestSingleuserEndToEnd(t *testing.T) {
	for _, proxyClass := range []string{"builtin", "configurable-http-proxy"} {
		t.Run(proxyClass, func(t *testing.T) { singleuserScenario(t, proxyClass) })
	}
}

// scenario is a running gohub with alice logged in through a browser-like client.
type scenario struct {
	h        *hubProc
	b        *browser
	bin, dir string
	cfg      string
	hubPort  int
	pubPort  int
}

const svcToken = "e2e-admin-token-0123456789abcdef0123"

// startScenario starts gohub (dummy authenticator, simple spawner running Debian's
// jupyterhub-singleuser) with the given proxy class and logs alice in.
func startScenario(t *testing.T, proxyClass string) *scenario {
	singleuser := needSingleuser(t)
	sc := &scenario{bin: gohubBinary(t), dir: t.TempDir(), hubPort: freePort(t), pubPort: freePort(t)}
	extra := ""
	if proxyClass != "builtin" {
		chp, err := exec.LookPath("configurable-http-proxy")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("configurable-http-proxy is not installed")
			}
			t.Skip("configurable-http-proxy is not installed")
		}
		extra = fmt.Sprintf("ConfigurableHTTPProxy:\n  api_url: http://127.0.0.1:%d\n  command: [%s]\n", freePort(t), chp)
	}
	sc.cfg = writeConfig(t, sc.dir, fmt.Sprintf(`
JupyterHub:
  bind_url: http://127.0.0.1:%d
  hub_bind_url: http://127.0.0.1:%d
  db_url: sqlite:///gohub.sqlite
  authenticator_class: dummy
  spawner_class: simple
  proxy_class: %s
  services:
    - {name: admin-bot, api_token: %s, admin: true}
Spawner:
  cmd: [%s]
  args: [--allow-root]
  start_timeout: 60
  http_timeout: 45
SimpleLocalProcessSpawner:
  home_dir_template: %s/home/{username}
%s`, sc.pubPort, sc.hubPort, proxyClass, svcToken, singleuser, sc.dir, extra))
	if err := os.MkdirAll(sc.dir+"/home/alice", 0o755); err != nil {
		t.Fatal(err)
	}
	sc.h = startHub(t, sc.bin, sc.dir, sc.cfg, sc.hubPort, sc.pubPort)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub output:\n%s", sc.h.log.String())
		}
		// The servers outlive the hub by design; stop them at the end of the test.
		sc.stopServers(t)
	})
	sc.b = newBrowser(t, sc.h.pubURL)
	sc.b.login("alice", "anything")
	return sc
}

// stopServers stops every running server, named ones included, through the API if a hub is up
// (bob's login starts one for him too), and waits (up to 15 s) until the hub reports none active.
func (sc *scenario) stopServers(t *testing.T) {
	api := func(method, path string) *http.Response {
		req, _ := http.NewRequest(method, sc.h.apiURL+path, nil)
		req.Header.Set("Authorization", "token "+svcToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil
		}
		return resp
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp := api("GET", "/users?state=active")
		if resp == nil {
			return
		}
		var users []struct {
			Name    string
			Servers map[string]json.RawMessage
		}
		json.NewDecoder(resp.Body).Decode(&users)
		resp.Body.Close()
		if len(users) == 0 {
			return
		}
		for _, u := range users {
			// Named servers too: they would outlive the hub (cleanup_servers is false).
			paths := []string{"/users/" + u.Name + "/server"}
			for name := range u.Servers {
				if name != "" {
					paths = append(paths, "/users/"+u.Name+"/servers/"+url.PathEscape(name))
				}
			}
			for _, p := range paths {
				if resp := api("DELETE", p); resp != nil {
					resp.Body.Close()
				}
			}
		}
	}
}

// landOnServer follows the redirects to /user/alice/ as a browser would, until the Jupyter
// page answers 200.
func (sc *scenario) landOnServer(t *testing.T) {
	t.Helper()
	sc.landOnServerOf(t, "alice")
}

// landOnServerOf is landOnServer for the named user's browser.
func (sc *scenario) landOnServerOf(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := sc.b.c.Get(sc.b.public + "/user/" + name + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.HasPrefix(resp.Request.URL.Path, "/user/"+name+"/") {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("never landed on a 200 page under /user/%s/", name)
}

func singleuserScenario(t *testing.T, proxyClass string) {
	sc := startScenario(t, proxyClass)
	h, b := sc.h, sc.b
	sc.landOnServer(t)
	if b.cookie("/user/alice/", "jupyterhub-user-alice") == "" {
		t.Errorf("no jupyterhub-user-alice cookie after the OAuth round")
	}

	// Create a kernel through the proxy with the server's _xsrf cookie.
	xsrf := b.cookie("/user/alice/", "_xsrf")
	req, _ := http.NewRequest("POST", b.public+"/user/alice/api/kernels", strings.NewReader(`{"name":"python3"}`))
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
	if got := runOnKernel(t, b, kernel.ID, "print(6*7)"); got != "42\n" {
		t.Errorf("print(6*7) printed %q, want 42", got)
	}

	// bob is logged in too, but alice's server is not his: the OAuth round ends in 403, and
	// his token cannot stop her server.
	bob := newBrowser(t, h.pubURL)
	bob.login("bob", "anything")
	resp, err = bob.c.Get(bob.public + "/user/alice/api/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("bob on alice's server: %d at %s, want 403", resp.StatusCode, resp.Request.URL)
	}
	var bobTok map[string]any
	if code := call(t, "POST", h.apiURL+"/users/bob/tokens", svcToken, map[string]any{"note": "bob"}, &bobTok); code != 201 {
		t.Fatalf("token for bob: %d", code)
	}
	if code := call(t, "DELETE", h.apiURL+"/users/alice/server", bobTok["token"].(string), nil, nil); code != 403 && code != 404 {
		t.Errorf("bob's token stopping alice's server: %d, want 403 or 404", code)
	}
	if code := sc.status(t, "/user/alice/api/status"); code != 200 {
		t.Errorf("alice's server after bob's attempt: %d, want still 200", code)
	}

	// Stop the server through the API; the hub then answers /user/alice/ itself with 424.
	if code := call(t, "DELETE", h.apiURL+"/users/alice/server", svcToken, nil, nil); code != 204 && code != 202 {
		t.Fatalf("stop server: %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var u map[string]any
		call(t, "GET", h.apiURL+"/users/alice", svcToken, nil, &u)
		if servers, _ := u["servers"].(map[string]any); len(servers) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server still listed 30 s after stop: %v", u)
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err = b.c.Get(b.public + "/user/alice/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFailedDependency {
		t.Errorf("/user/alice/ after stop: %d at %s, want 424", resp.StatusCode, resp.Request.URL)
	}
}

// runOnKernel executes code on the kernel over its channels websocket (through the proxy) and
// returns what it printed on stdout.
func runOnKernel(t *testing.T, b *browser, kernelID, code string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wsURL := strings.Replace(b.public, "http://", "ws://", 1) + "/user/alice/api/kernels/" + kernelID + "/channels?session_id=e2e"
	hdr := http.Header{"Origin": {b.public}}
	u, _ := url.Parse(b.public + "/user/alice/")
	var cookies []string
	for _, c := range b.jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	hdr.Set("Cookie", strings.Join(cookies, "; "))
	conn, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: hdr, HTTPClient: &http.Client{Transport: b.c.Transport}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("kernel websocket through the proxy: %v (status %d)", err, status)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 20)
	msgID := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	msg := map[string]any{
		"header": map[string]any{"msg_id": msgID, "username": "alice", "session": "e2e",
			"msg_type": "execute_request", "version": "5.3"},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell",
		"content": map[string]any{"code": code, "silent": false, "store_history": false,
			"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
	}
	data, _ := json.Marshal(msg)
	if err := conn.Write(ctx, websocket.MessageText, data); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("reading kernel messages: %v (stdout so far %q)", err, out.String())
		}
		var m struct {
			Channel string `json:"channel"`
			Header  struct {
				MsgType string `json:"msg_type"`
			} `json:"header"`
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
			Content map[string]any `json:"content"`
		}
		if json.Unmarshal(data, &m) != nil || m.ParentHeader.MsgID != msgID {
			continue
		}
		switch {
		case m.Header.MsgType == "stream" && m.Content["name"] == "stdout":
			out.WriteString(fmt.Sprint(m.Content["text"]))
		case m.Header.MsgType == "error":
			t.Fatalf("kernel error: %v", m.Content)
		case m.Header.MsgType == "status" && m.Content["execution_state"] == "idle":
			return out.String()
		}
	}
}

// TestCHPRestartRestoresRoutes: when the configurable-http-proxy the hub started dies, the hub
// starts it again and restores alice's route.
func TestCHPRestartRestoresRoutes(t *testing.T) {
	sc := startScenario(t, "configurable-http-proxy")
	sc.landOnServer(t)
	out, err := exec.Command("pkill", "-f", fmt.Sprintf("configurable-http-proxy.*--port %d", sc.pubPort)).CombinedOutput()
	if err != nil {
		t.Fatalf("pkill configurable-http-proxy: %v %s", err, out)
	}
	time.Sleep(time.Second)
	if code := sc.status(t, "/user/alice/api/status"); code != 200 {
		// status retries for 10 s; the watcher checks every 5 s.
		t.Errorf("after the proxy was killed /user/alice/api/status: %d, want 200 once the hub restarted it", code)
	}
}
