package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestJupyterHubWithGohubProxy runs the real JupyterHub with `gohub proxy` as its
// configurable-http-proxy, and with the real CHP for comparison, and users "a b" and "a%20b"
// (the second's URL decodes once to the first's name): each user's token reaches their own
// jupyterhub-singleuser at their URL and is refused at the other's, JupyterHub reads back the
// routes it added (GET /hub/api/proxy), and its route check (POST /hub/api/proxy) finds
// nothing to add, update or delete.
func TestJupyterHubWithGohubProxy(t *testing.T) {
	jh, err := exec.LookPath("jupyterhub")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("jupyterhub is not installed")
		}
		t.Skip("jupyterhub is not installed")
	}
	singleuser := needSingleuser(t)
	proxies := map[string][]string{"gohub-proxy": {gohubBinary(t), "proxy"}}
	if chp, err := exec.LookPath("configurable-http-proxy"); err == nil {
		proxies["chp"] = []string{chp}
	}
	for name, command := range proxies {
		t.Run(name, func(t *testing.T) { jupyterHubScenario(t, jh, singleuser, command) })
	}
}

func jupyterHubScenario(t *testing.T, jh, singleuser string, proxyCommand []string) {
	dir := t.TempDir()
	pub, hubPort, apiPort := freePort(t), freePort(t), freePort(t)
	const token = "e2e-jupyterhub-admin-token-0123456789"
	py := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var cmdList []string
	for _, c := range proxyCommand {
		cmdList = append(cmdList, py(c))
	}
	cfg := strings.Join([]string{
		"c = get_config()  # noqa",
		"c.JupyterHub.ip = '127.0.0.1'",
		fmt.Sprintf("c.JupyterHub.port = %d", pub),
		"c.JupyterHub.hub_ip = '127.0.0.1'",
		fmt.Sprintf("c.JupyterHub.hub_port = %d", hubPort),
		fmt.Sprintf("c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:%d'", apiPort),
		fmt.Sprintf("c.ConfigurableHTTPProxy.command = [%s]", strings.Join(cmdList, ", ")),
		fmt.Sprintf("c.ConfigurableHTTPProxy.pid_file = %s", py(filepath.Join(dir, "proxy.pid"))),
		"c.JupyterHub.db_url = 'sqlite:///jupyterhub.sqlite'",
		fmt.Sprintf("c.JupyterHub.cookie_secret_file = %s", py(filepath.Join(dir, "cookie_secret"))),
		"c.JupyterHub.authenticator_class = 'dummy'",
		"c.JupyterHub.spawner_class = 'simple'",
		fmt.Sprintf("c.Spawner.cmd = [%s]", py(singleuser)),
		"c.Spawner.args = ['--allow-root']",
		"c.Spawner.http_timeout = 60",
		"c.Spawner.start_timeout = 90",
		fmt.Sprintf("c.SimpleLocalProcessSpawner.home_dir_template = %s", py(filepath.Join(dir, "home", "{username}"))),
		"c.JupyterHub.cleanup_servers = True",
		"c.JupyterHub.cleanup_proxy = True",
		fmt.Sprintf("c.JupyterHub.services = [{'name': 'e2e', 'api_token': %s, 'admin': True}]", py(token)),
		"",
	}, "\n")
	cfgPath := filepath.Join(dir, "jupyterhub_config.py")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(jh, "-f", cfgPath)
	cmd.Dir = dir
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("JupyterHub's output:\n%s", log.String())
		}
	})
	api := fmt.Sprintf("http://127.0.0.1:%d/hub/api", hubPort)
	public := fmt.Sprintf("http://127.0.0.1:%d", pub)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get(public + "/hub/api"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			t.Fatalf("JupyterHub did not come up:\n%s", log.String())
		}
	}

	names := []string{"a b", "a%20b"}
	tokens := map[string]string{}
	for _, n := range names {
		esc := url.PathEscape(n)
		home := filepath.Join(dir, "home", n)
		if err := os.MkdirAll(home, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, "whoami.txt"), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
		if code := call(t, "POST", api+"/users/"+esc, token, nil, nil); code != 201 {
			t.Fatalf("create %q: %d", n, code)
		}
		var tok map[string]any
		if code := call(t, "POST", api+"/users/"+esc+"/tokens", token, map[string]any{"note": "e2e"}, &tok); code != 201 {
			t.Fatalf("token for %q: %d", n, code)
		}
		tokens[n] = tok["token"].(string)
		if code := call(t, "POST", api+"/users/"+esc+"/server", token, nil, nil); code != 201 && code != 202 {
			t.Fatalf("start %q's server: %d", n, code)
		}
	}
	for _, n := range names {
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(300 * time.Millisecond) {
			var u struct {
				Servers map[string]struct{ Ready bool }
			}
			call(t, "GET", api+"/users/"+url.PathEscape(n), token, nil, &u)
			if u.Servers[""].Ready {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%q's server did not become ready", n)
			}
		}
	}
	for _, n := range names {
		for _, other := range names {
			req, _ := http.NewRequest("GET", public+"/user/"+url.PathEscape(other)+"/files/whoami.txt", nil)
			req.Header.Set("Authorization", "token "+tokens[n])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case other == n && (resp.StatusCode != 200 || string(body) != n):
				t.Errorf("%q on their own URL: %d %.100q", n, resp.StatusCode, body)
			case other != n && resp.StatusCode != http.StatusForbidden:
				t.Errorf("%q on %q's URL: %d %.100q, want 403", n, other, resp.StatusCode, body)
			}
		}
	}
	var routes map[string]any
	if code := call(t, "GET", api+"/proxy", token, nil, &routes); code != 200 {
		t.Fatalf("GET /proxy: %d", code)
	}
	for _, spec := range []string{"/", "/user/a%20b/", "/user/a%2520b/"} {
		if _, ok := routes[spec]; !ok {
			t.Errorf("JupyterHub does not read back its route %s: %v", spec, routes)
		}
	}
	before := log.String()
	if code := call(t, "POST", api+"/proxy", token, nil, nil); code != 200 {
		t.Fatalf("POST /proxy: %d", code)
	}
	after := strings.TrimPrefix(log.String(), before)
	for _, bad := range []string{"Adding missing route", "Updating route", "Deleting stale route"} {
		if strings.Contains(after, bad) {
			t.Errorf("JupyterHub's route check changed routes (%q):\n%s", bad, after)
		}
	}
}
