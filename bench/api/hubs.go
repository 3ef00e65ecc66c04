package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// hub is one system under test: how to start it, where its API is, and the service token the
// bench bootstraps with.
type hub struct {
	Name         string
	Dir          string   // working directory: config, database, log
	Argv         []string // command line, without the taskset prefix
	APIURL       string   // http://127.0.0.1:port/hub/api
	ServiceToken string   // api_token of the admin service "bench" from the config
	PidFiles     []string // extra processes to end on Stop (JupyterHub's CHP)
	Pin          bool

	proc *process
}

// Log is the path of the hub's combined output.
func (h *hub) Log() string { return filepath.Join(h.Dir, "hub.log") }

// Start runs the hub and waits until GET /hub/api answers.
func (h *hub) Start(ctx context.Context) error {
	p, err := startProcess(hubCommand(h.Pin, h.Argv), h.Dir, h.Log(), nil)
	if err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	h.proc = p
	if err := waitReady(ctx, p, h.APIURL, 120*time.Second); err != nil {
		h.Stop()
		return fmt.Errorf("%s: %w (log: %s)\n%s", h.Name, err, h.Log(), tail(h.Log(), 30))
	}
	return nil
}

// Stop ends the hub's process group and any process named in PidFiles. It is safe to call twice.
func (h *hub) Stop() {
	if h.proc != nil {
		h.proc.Stop(15 * time.Second)
		h.proc = nil
	}
	for _, f := range h.PidFiles {
		killPidFile(f)
	}
}

// randomToken returns 64 hex characters from crypto/rand.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// pyStr renders s as a Python string literal (a JSON string is one for the characters used here).
func pyStr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// newJupyterHub writes a jupyterhub_config.py into dir and returns the hub that runs it:
// 127.0.0.1 only, free ports, SQLite in dir, DummyAuthenticator, CHP started by the hub on a
// free port, and an admin service whose config token bootstraps the bench.
func newJupyterHub(dir, jupyterhubCmd, chpCmd string, pin bool) (*hub, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	h := &hub{
		Name:         "JupyterHub",
		Dir:          dir,
		APIURL:       fmt.Sprintf("http://127.0.0.1:%d/hub/api", ports[1]),
		ServiceToken: randomToken(),
		PidFiles:     []string{filepath.Join(dir, "chp.pid")},
		Pin:          pin,
	}
	cfg := strings.Join([]string{
		"c = get_config()  # noqa",
		"c.JupyterHub.ip = '127.0.0.1'",
		fmt.Sprintf("c.JupyterHub.port = %d", ports[0]),
		"c.JupyterHub.hub_ip = '127.0.0.1'",
		fmt.Sprintf("c.JupyterHub.hub_port = %d", ports[1]),
		fmt.Sprintf("c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:%d'", ports[2]),
		fmt.Sprintf("c.ConfigurableHTTPProxy.command = [%s]", pyStr(chpCmd)),
		fmt.Sprintf("c.ConfigurableHTTPProxy.pid_file = %s", pyStr(filepath.Join(dir, "chp.pid"))),
		fmt.Sprintf("c.ConfigurableHTTPProxy.auth_token = %s", pyStr(randomToken())),
		"c.JupyterHub.db_url = 'sqlite:///jupyterhub.sqlite'",
		fmt.Sprintf("c.JupyterHub.cookie_secret_file = %s", pyStr(filepath.Join(dir, "cookie_secret"))),
		fmt.Sprintf("c.JupyterHub.pid_file = %s", pyStr(filepath.Join(dir, "jupyterhub.pid"))),
		"c.JupyterHub.authenticator_class = 'dummy'",
		"c.JupyterHub.cleanup_servers = True",
		"c.JupyterHub.cleanup_proxy = True",
		fmt.Sprintf("c.JupyterHub.services = [{'name': 'bench', 'api_token': %s, 'admin': True}]", pyStr(h.ServiceToken)),
		"",
	}, "\n")
	path := filepath.Join(dir, "jupyterhub_config.py")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("write JupyterHub config: %w", err)
	}
	h.Argv = []string{jupyterhubCmd, "-f", path}
	return h, nil
}

// newGohub writes a gohub_config.yaml into dir and returns the hub that runs binary with it.
func newGohub(dir, binary string, pin bool) (*hub, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	h := &hub{
		Name:         "gohub",
		Dir:          dir,
		APIURL:       fmt.Sprintf("http://127.0.0.1:%d/hub/api", ports[1]),
		ServiceToken: randomToken(),
		Pin:          pin,
	}
	cfg := fmt.Sprintf(`JupyterHub:
  bind_url: http://127.0.0.1:%d
  hub_bind_url: http://127.0.0.1:%d
  db_url: sqlite:///gohub.sqlite
  authenticator_class: dummy
  services:
    - name: bench
      api_token: %s
      admin: true
`, ports[0], ports[1], h.ServiceToken)
	path := filepath.Join(dir, "gohub_config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("write gohub config: %w", err)
	}
	h.Argv = []string{binary, "serve", "-f", path}
	return h, nil
}

// buildGohub compiles ./cmd/gohub of the module containing the working directory into dir.
func buildGohub(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "gohub")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/gohub")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gohub: %w\n%s", err, b)
	}
	return out, nil
}

// moduleRoot walks up from the working directory to the directory holding go.mod.
func moduleRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod above the working directory: run the bench from the gohub checkout, or pass -gohub")
		}
		d = parent
	}
}

// findCommand returns flagValue if set, else the first of names found on PATH.
func findCommand(flagValue string, names ...string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %v found on PATH (scripts/install-deps.sh bench installs them)", names)
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
