// Package e2e drives the real gohub binary (and, in later issues, jupyterhub-singleuser,
// configurable-http-proxy and Chromium) from the outside, as an admin would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gohubBinary builds cmd/gohub once per test binary.
func gohubBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gohub-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "gohub")
		out, err := exec.Command("go", "build", "-o", binPath, "gohub/cmd/gohub").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// hubProc is a running gohub process.
type hubProc struct {
	cmd    *exec.Cmd
	log    *syncBuffer
	apiURL string // http://127.0.0.1:<hub port>/hub/api
	pubURL string
}

// startHub runs `gohub serve -f config` in dir and waits until its API answers.
func startHub(t *testing.T, bin, dir, configPath string, hubPort, pubPort int) *hubProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "-f", configPath)
	cmd.Dir = dir
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	// Servers the hub starts inherit its output; don't wait for them to close it.
	cmd.WaitDelay = 2 * time.Second
	cmd.Env = append(os.Environ(), "JPY_COOKIE_SECRET=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &hubProc{cmd: cmd, log: log,
		apiURL: fmt.Sprintf("http://127.0.0.1:%d/hub/api", hubPort),
		pubURL: fmt.Sprintf("http://127.0.0.1:%d/", pubPort)}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.apiURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gohub did not come up; its output:\n%s", log.String())
	return nil
}

func (p *hubProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("gohub exited with %v after SIGTERM; output:\n%s", err, p.log.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("gohub did not stop within 15 s of SIGTERM")
	}
}

func (p *hubProc) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	// Gracefully first, so the hub stops the configurable-http-proxy it started.
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// call does one API request with a token and decodes a JSON reply into out (if non-nil).
func call(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: reply is not JSON: %v\n%s", method, url, err, data)
		}
	}
	return resp.StatusCode
}

func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "gohub_config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServeServiceTokenAndRestart is issue 2's acceptance: gohub serve with a config service
// token answers GET /hub/api/users on the hub port with JupyterHub's JSON shape, and a restart
// (SIGTERM, start again) keeps users, groups and tokens.
func TestServeServiceTokenAndRestart(t *testing.T) {
	bin := gohubBinary(t)
	dir := t.TempDir()
	hubPort, pubPort := freePort(t), freePort(t)
	const svcToken = "bench-token-0123456789abcdef0123456789"
	cfg := writeConfig(t, dir, fmt.Sprintf(`
JupyterHub:
  bind_url: http://127.0.0.1:%d
  hub_bind_url: http://127.0.0.1:%d
  db_url: sqlite:///gohub.sqlite
  authenticator_class: dummy
  services:
    - name: bench
      api_token: %s
      admin: true
Authenticator:
  admin_users: [admin]
`, pubPort, hubPort, svcToken))
	h := startHub(t, bin, dir, cfg, hubPort, pubPort)

	var version map[string]any
	if code := call(t, "GET", h.apiURL, "", nil, &version); code != 200 || version["version"] == nil {
		t.Fatalf("GET /hub/api: %d %v", code, version)
	}
	var created []map[string]any
	if code := call(t, "POST", h.apiURL+"/users", svcToken, map[string]any{"usernames": []string{"alice", "bob"}}, &created); code != 201 {
		t.Fatalf("bulk create: %d %v", code, created)
	}
	if code := call(t, "POST", h.apiURL+"/groups/physics", svcToken, map[string]any{"users": []string{"alice"}}, nil); code != 201 {
		t.Fatalf("create group: %d", code)
	}
	var tok map[string]any
	if code := call(t, "POST", h.apiURL+"/users/alice/tokens", svcToken, map[string]any{"note": "kept across restarts"}, &tok); code != 201 {
		t.Fatalf("create token: %d %v", code, tok)
	}
	aliceToken, _ := tok["token"].(string)

	var users []map[string]any
	if code := call(t, "GET", h.apiURL+"/users", svcToken, nil, &users); code != 200 {
		t.Fatalf("GET /users: %d", code)
	}
	names := map[string]map[string]any{}
	for _, u := range users {
		names[u["name"].(string)] = u
		for _, key := range []string{"kind", "name", "admin", "groups", "server", "pending", "created", "last_activity", "servers", "roles"} {
			if _, ok := u[key]; !ok {
				t.Errorf("user %v lacks key %q", u["name"], key)
			}
		}
	}
	for _, want := range []string{"admin", "alice", "bob"} {
		if names[want] == nil {
			t.Errorf("GET /users lacks %s: %v", want, users)
		}
	}
	if names["admin"] != nil && names["admin"]["admin"] != true {
		t.Errorf("admin user is not admin: %v", names["admin"])
	}

	h.stop(t)
	h = startHub(t, bin, dir, cfg, hubPort, pubPort)

	var alice map[string]any
	if code := call(t, "GET", h.apiURL+"/users/alice", svcToken, nil, &alice); code != 200 {
		t.Fatalf("after restart GET /users/alice: %d", code)
	}
	if g, _ := alice["groups"].([]any); len(g) != 1 || g[0] != "physics" {
		t.Errorf("after restart alice's groups = %v, want [physics]", alice["groups"])
	}
	var me map[string]any
	if code := call(t, "GET", h.apiURL+"/user", aliceToken, nil, &me); code != 200 || me["name"] != "alice" {
		t.Errorf("after restart alice's token: %d %v", code, me)
	}
	if code := call(t, "GET", h.apiURL+"/users", "not-a-token-at-all", nil, nil); code != 403 {
		t.Errorf("bad token: got %d, want 403", code)
	}
	if !strings.Contains(h.log.String(), "gohub is running") {
		t.Errorf("log lacks the start line:\n%s", h.log.String())
	}
}

// TestBrokenConfigRefusesToStart: an unknown trait stops the hub with file:line and key.
func TestBrokenConfigRefusesToStart(t *testing.T) {
	bin := gohubBinary(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "JupyterHub:\n  authenticator_class: dummy\nAuthenticator:\n  admin_user: [x]\n")
	out, err := exec.Command(bin, "serve", "-f", cfg).CombinedOutput()
	if err == nil {
		t.Fatalf("gohub started with a broken config:\n%s", out)
	}
	if !strings.Contains(string(out), "gohub_config.yaml:4") || !strings.Contains(string(out), "admin_user") {
		t.Errorf("error does not name file:line and key:\n%s", out)
	}
}

// TestCommands covers the offline subcommands against one database: user add/list/set-admin/
// delete, token, upgrade-db, version, generate-config.
func TestCommands(t *testing.T) {
	bin := gohubBinary(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "JupyterHub:\n  db_url: sqlite:///cli.sqlite\n  authenticator_class: dummy\n")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "-f", cfg)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("gohub %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("user", "add", "Carol", "dave")
	if out := run("user", "list"); !strings.Contains(out, "carol") || !strings.Contains(out, "dave") {
		t.Errorf("user list:\n%s", out)
	}
	run("user", "set-admin", "carol", "true")
	if out := run("user", "list"); !strings.Contains(out, "carol   true") && !strings.Contains(out, "carol  true") {
		t.Errorf("carol not admin in list:\n%s", out)
	}
	tok := strings.TrimSpace(run("token", "carol", "--note", "cli"))
	if len(tok) != 32 {
		t.Errorf("token %q is not 32 hex characters", tok)
	}
	run("user", "delete", "dave")
	if out := run("user", "list"); strings.Contains(out, "dave") {
		t.Errorf("dave still listed:\n%s", out)
	}
	if out := run("upgrade-db"); !strings.Contains(out, "schema version") {
		t.Errorf("upgrade-db: %s", out)
	}
	if out := run("version"); !strings.Contains(out, "gohub") {
		t.Errorf("version: %s", out)
	}
	gen := run("generate-config")
	for _, key := range []string{"JupyterHub:", "bind_url", "Authenticator:", "admin_users", "DummyAuthenticator:"} {
		if !strings.Contains(gen, key) {
			t.Errorf("generate-config lacks %q", key)
		}
	}
	cmd := exec.Command(bin, "token", "nobody", "-f", cfg)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no such user") {
		t.Errorf("token for a missing user: err=%v\n%s", err, out)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// syncBuffer is a bytes.Buffer safe for the process's writer and the test's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
