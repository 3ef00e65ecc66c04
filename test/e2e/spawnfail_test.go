package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSpawnFailures: a command that exits at once fails the spawn with a clear message in the
// API and the progress stream and leaves no route; a command that never listens fails after
// http_timeout.
func TestSpawnFailures(t *testing.T) {
	bin := gohubBinary(t)
	dir := t.TempDir()
	hubPort, pubPort := freePort(t), freePort(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
JupyterHub:
  bind_url: http://127.0.0.1:%d
  hub_bind_url: http://127.0.0.1:%d
  db_url: sqlite:///gohub.sqlite
  authenticator_class: dummy
  spawner_class: simple
  allow_named_servers: true
  services:
    - {name: admin-bot, api_token: %s, admin: true}
Spawner:
  cmd: [sh, -c, 'exit 3']
  http_timeout: 2
SimpleLocalProcessSpawner:
  home_dir_template: /tmp
  user_overrides:
    silent:
      cmd: [sleep, '60']
`, pubPort, hubPort, svcToken))
	h := startHub(t, bin, dir, cfg, hubPort, pubPort)
	for _, u := range []string{"carol", "silent"} {
		if code := call(t, "POST", h.apiURL+"/users/"+u, svcToken, nil, nil); code != 201 {
			t.Fatalf("create %s: %d", u, code)
		}
	}

	var errBody map[string]any
	code := call(t, "POST", h.apiURL+"/users/carol/server", svcToken, nil, &errBody)
	if code < 400 || !strings.Contains(fmt.Sprint(errBody["message"]), "exit") {
		t.Errorf("start with a command that exits: %d %v, want an error naming the exit", code, errBody)
	}
	events := progressEvents(t, h.apiURL+"/users/carol/server/progress")
	if len(events) == 0 || !strings.Contains(events[len(events)-1], `"failed":true`) {
		t.Errorf("progress of the failed spawn: %v, want a final failed event", events)
	}
	var routes map[string]any
	call(t, "GET", h.apiURL+"/proxy", svcToken, nil, &routes)
	if _, ok := routes["/user/carol/"]; ok {
		t.Errorf("a failed spawn left a route: %v", routes)
	}

	start := time.Now()
	code = call(t, "POST", h.apiURL+"/users/silent/server", svcToken, nil, nil)
	if code == 202 {
		events = progressEvents(t, h.apiURL+"/users/silent/server/progress")
		if len(events) == 0 || !strings.Contains(events[len(events)-1], `"failed":true`) {
			t.Errorf("progress of a server that never listens: %v", events)
		}
	} else if code < 400 {
		t.Errorf("start of a server that never listens: %d", code)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("a server that never listens failed after %v, want about http_timeout (2 s)", el)
	}
	var u map[string]any
	call(t, "GET", h.apiURL+"/users/silent", svcToken, nil, &u)
	if servers, _ := u["servers"].(map[string]any); len(servers) != 0 {
		t.Errorf("silent's server still listed after the failure: %v", servers)
	}
}

// progressEvents reads a progress event stream to its end (or 30 s) and returns the data lines.
func progressEvents(t *testing.T, url string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "token "+svcToken)
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}
