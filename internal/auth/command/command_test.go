package command_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gohub/internal/auth"
	"gohub/internal/auth/command"
)

// script writes an executable /bin/sh script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "check")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// setup builds the authenticator for argv and the login pipeline around it.
func setup(t *testing.T, edit func(*command.Config), argv ...string) (*auth.Pipeline, *logBuffer) {
	t.Helper()
	cfg := command.DefaultConfig()
	cfg.Command = argv
	cfg.AllowAll = auth.Bool(true)
	cfg.ManageGroups, cfg.EnableAuthState = true, true
	cfg.FailedLoginsBeforeLockout = 0
	if edit != nil {
		edit(cfg)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	a, err := command.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.NewPipeline(cfg.Config, a, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	})
	return p, logs
}

func TestAllow(t *testing.T) {
	dir := t.TempDir()
	seen := filepath.Join(dir, "stdin.json")
	env := filepath.Join(dir, "env")
	check := script(t, `cat > "$SEEN"; env > "$ENVFILE"
echo '{"name": "Alice", "admin": true, "groups": ["staff", "gpu"], "auth_state": {"token": "t0k"}}'`)
	t.Setenv("JUPYTERHUB_CRYPT_KEY", "hub-secret-that-must-not-leak")
	p, _ := setup(t, func(c *command.Config) {
		c.Environment = map[string]string{"SEEN": seen, "ENVFILE": env}
	}, check, "--some-arg")

	id, err := p.Login(t.Context(), auth.Credentials{Username: " Alice ", Password: "pw with spaces",
		Form: url.Values{"username": {" Alice "}, "password": {"pw with spaces"}, "otp": {"123456"}}})
	if err != nil {
		t.Fatal(err)
	}
	if id.Name != "alice" || id.Admin == nil || !*id.Admin || strings.Join(id.Groups, ",") != "gpu,staff" || id.AuthState["token"] != "t0k" {
		t.Errorf("identity %+v", id)
	}
	var got map[string]any
	data, _ := os.ReadFile(seen)
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("stdin %q: %v", data, err)
	}
	want := map[string]any{"username": "alice", "typed_username": "Alice", "password": "pw with spaces", "fields": map[string]any{"otp": "123456"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stdin = %v\nwant %v", got, want)
	}
	envData, _ := os.ReadFile(env)
	if strings.Contains(string(envData), "JUPYTERHUB_CRYPT_KEY") || !strings.Contains(string(envData), "PATH=") {
		t.Errorf("the command's environment:\n%s", envData)
	}
}

func TestRefuse(t *testing.T) {
	p, _ := setup(t, nil, script(t, `read line
case "$line" in
*'"password":"right"'*) echo '{"name": "bob"}' ;;
*'"username":"carol"'*) echo '{"refused": true, "message": "Your account is disabled."}' ;;
*) echo '{"refused": true}' ;;
esac`))
	if id, err := p.Login(t.Context(), auth.Credentials{Username: "bob", Password: "right"}); err != nil || id.Name != "bob" || id.Admin != nil || id.Groups != nil {
		t.Fatalf("bob: %+v, %v", id, err)
	}
	_, err := p.Login(t.Context(), auth.Credentials{Username: "bob", Password: "wrong"})
	var shown *auth.Rejection
	if !errors.Is(err, auth.ErrRejected) || errors.As(err, &shown) {
		t.Errorf("wrong password: %v, want the generic refusal", err)
	}
	_, err = p.Login(t.Context(), auth.Credentials{Username: "carol", Password: "x"})
	if !errors.As(err, &shown) || shown.Message != "Your account is disabled." {
		t.Errorf("carol: %v, want the command's message", err)
	}
}

// TestTimeout: a command that hangs is killed with its whole process group, and the login is
// refused soon after the timeout.
func TestTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	p, logs := setup(t, func(c *command.Config) {
		c.Timeout = 0.3
		c.Environment = map[string]string{"PIDFILE": pidFile}
	}, script(t, `sleep 60 & echo $! > "$PIDFILE"; sleep 60`))
	start := time.Now()
	_, err := p.Login(t.Context(), auth.Credentials{Username: "alice", Password: "pw"})
	if !errors.Is(err, auth.ErrRejected) {
		t.Fatalf("login: %v, want a refusal", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the refusal took %s", d)
	}
	if !strings.Contains(logs.String(), "did not answer within 300ms") {
		t.Errorf("no timeout reason in the log:\n%s", logs)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(2 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the background child %d survived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// TestGarbage: every malformed answer refuses the login, with the reason in the log.
func TestGarbage(t *testing.T) {
	cases := map[string]struct{ body, reason string }{
		"not json":         {`echo 'OK alice'`, "not the expected JSON object"},
		"nothing":          {`true`, "wrote nothing"},
		"two values":       {`echo '{"name": "a"} {"name": "b"}'`, "more than one JSON value"},
		"unknown key":      {`echo '{"name": "a", "admins": true}'`, "unknown field"},
		"wrong type":       {`echo '{"name": "a", "admin": "yes"}'`, "not the expected JSON object"},
		"array":            {`echo '[{"name": "a"}]'`, "not the expected JSON object"},
		"no name":          {`echo '{"admin": true}'`, "neither a"},
		"blank name":       {`echo '{"name": "  "}'`, "neither a"},
		"name and refused": {`echo '{"name": "a", "refused": true}'`, "both refused and name"},
		"crash":            {`echo '{"name": "a"}'; echo 'Traceback: boom' >&2; exit 1`, "exit status 1"},
		"echoes its input": {`cat; exit 3`, "exit status 3"},
		"killed":           {`kill -9 $$`, "signal: killed"},
		"too much output":  {`yes '{"name": "a"}' | head -c 100000`, "more than max_output_bytes (1024 bytes)"},
		"endless output":   {`yes '{"name": "a"}'`, "more than max_output_bytes (1024 bytes)"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, logs := setup(t, func(c *command.Config) { c.MaxOutputBytes, c.Timeout = 1024, 5 }, script(t, tc.body))
			id, err := p.Login(t.Context(), auth.Credentials{Username: "a", Password: "s3cret-Pw-42"})
			if !errors.Is(err, auth.ErrRejected) {
				t.Fatalf("login: %+v, %v; want a refusal", id, err)
			}
			var shown *auth.Rejection
			if errors.As(err, &shown) {
				t.Errorf("garbage produced a message for the user: %q", shown.Message)
			}
			if !strings.Contains(logs.String(), tc.reason) || !strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("log lacks a warning with %q:\n%s", tc.reason, logs)
			}
			if strings.Contains(logs.String(), "s3cret-Pw-42") {
				t.Errorf("the password is in the log:\n%s", logs)
			}
		})
	}
}

// TestMaxConcurrent: with every slot taken, a login waits a moment and is then refused as busy,
// without starting another process.
func TestMaxConcurrent(t *testing.T) {
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	p, _ := setup(t, func(c *command.Config) {
		c.MaxConcurrent, c.Timeout = 1, 20
		c.Environment = map[string]string{"STARTED": started, "RELEASE": release}
	}, script(t, `echo x >> "$STARTED"; while [ ! -e "$RELEASE" ]; do sleep 0.02; done; echo '{"name": "a"}'`))
	first := make(chan error, 1)
	go func() {
		_, err := p.Login(t.Context(), auth.Credentials{Username: "a", Password: "pw"})
		first <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first command did not start")
		}
	}
	_, err := p.Login(t.Context(), auth.Credentials{Username: "b", Password: "pw"})
	var shown *auth.Rejection
	if !errors.As(err, &shown) || shown.Message != command.Busy {
		t.Errorf("second login: %v, want busy", err)
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Errorf("first login: %v", err)
	}
	if data, _ := os.ReadFile(started); strings.Count(string(data), "x") != 1 {
		t.Errorf("%d commands started, want 1", strings.Count(string(data), "x"))
	}
	// The slot is free again.
	if _, err := p.Login(t.Context(), auth.Credentials{Username: "c", Password: "pw"}); err != nil {
		t.Errorf("third login: %v", err)
	}
}

func TestConfig(t *testing.T) {
	if _, err := command.New(&command.Config{Command: []string{"/nonexistent/check"}, Timeout: 1, MaxOutputBytes: 1, MaxConcurrent: 1}, nil); err == nil {
		t.Error("New accepted a missing program")
	}
	cfg := command.DefaultConfig()
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "command") {
		t.Errorf("Validate without a command: %v", err)
	}
	cfg.Command, cfg.Timeout = []string{"true"}, 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("Validate with timeout 0: %v", err)
	}
	a, err := command.New(command.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := a.ConfigWarnings(auth.Config{}); len(w) != 1 {
		t.Errorf("warnings without a command: %q", w)
	}
}

// A hub started with neither PATH nor LANG (env -i, a bare container) and no environment
// setting must still give the command an empty environment: exec treats a nil one as "inherit
// everything", which would hand it the hub's secrets.
func TestNoInheritedEnvironmentWithoutPathOrLang(t *testing.T) {
	t.Setenv("JUPYTERHUB_CRYPT_KEY", "hub-secret-that-must-not-leak")
	for _, k := range []string{"PATH", "LANG"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	p, _ := setup(t, nil, "/bin/sh", "-c", `printf '{"name": "%s"}' "${JUPYTERHUB_CRYPT_KEY:-clean}"`)
	id, err := p.Login(t.Context(), auth.Credentials{Username: "bob", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if id.Name != "clean" {
		t.Errorf("the command saw the hub's environment: it answered %q", id.Name)
	}
}

// TestRemoteAddr: remote_addr is the client's address, from X-Forwarded-For only when the peer
// is a trusted proxy, without the port.
func TestRemoteAddr(t *testing.T) {
	seen := filepath.Join(t.TempDir(), "stdin.json")
	check := script(t, `cat > "$SEEN"; echo '{"name": "alice"}'`)
	p, _ := setup(t, func(c *command.Config) {
		c.Environment = map[string]string{"SEEN": seen}
		c.TrustedProxies = []string{"10.0.0.5"}
	}, check)
	for _, tc := range []struct{ peer, want string }{
		{"10.0.0.5:443", "203.0.113.9"}, // the load balancer in front
		{"127.0.0.1:5555", "127.0.0.1"}, // anyone else: the header is theirs
	} {
		r := httptest.NewRequest("POST", "/hub/login", nil)
		r.RemoteAddr = tc.peer
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		if _, err := p.Login(t.Context(), auth.Credentials{Username: "alice", Request: r}); err != nil {
			t.Fatal(err)
		}
		var got struct {
			RemoteAddr string `json:"remote_addr"`
		}
		data, _ := os.ReadFile(seen)
		if err := json.Unmarshal(data, &got); err != nil || got.RemoteAddr != tc.want {
			t.Errorf("peer %s: remote_addr %q (%v), want %q", tc.peer, got.RemoteAddr, err, tc.want)
		}
	}
}
