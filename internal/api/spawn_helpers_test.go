package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gohub/internal/spawner"
	"gohub/internal/spawner/local"
	"gohub/internal/spawner/registry"
	"gohub/internal/spawner/spawnertest"
	"gohub/internal/store"
)

// The test binary doubles as the single-user server the simple spawner starts.
func TestMain(m *testing.M) {
	spawnertest.MaybeRunHelper()
	os.Exit(m.Run())
}

// spawnSetup configures newSpawnHub.
type spawnSetup struct {
	mode     string        // spawnertest helper mode: serve, slow, exit, stubborn (comma-separated)
	delay    time.Duration // the slow mode's delay
	limits   spawner.Limits
	fakeSeed bool             // keep alice's pretend running server of the seed
	now      func() time.Time // the API's clock (time.Now when nil)
}

// spawnLimits are limits for tests: named servers on (limit 3), 10 s slow timeouts.
func spawnLimits() spawner.Limits {
	l := spawner.DefaultLimits()
	l.AllowNamedServers = true
	l.NamedServerLimitPerUser = 3
	return l
}

// spawnHub is a testHub whose API drives a real spawner.Manager running the simple spawner
// (the helper server), with a recording proxy and shutdown.
type spawnHub struct {
	*testHub
	hs       *spawnertest.Harness
	proxy    *testProxy
	shutdown chan [2]bool
}

func newSpawnHub(t *testing.T, s spawnSetup) *spawnHub {
	t.Helper()
	if s.mode == "" {
		s.mode = "serve"
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := local.DefaultSimpleConfig()
	cfg.Cmd = []string{self}
	cfg.Environment = map[string]string{spawnertest.HelperEnv: s.mode, spawnertest.DelayEnv: s.delay.String()}
	cfg.HomeDirTemplate = filepath.Join(t.TempDir(), "home-{username}")
	cfg.StartTimeout = spawner.Seconds(20)
	cfg.HTTPTimeout = spawner.Seconds(20)
	cfg.TermTimeout = spawner.Seconds(2)
	e, ok := registry.Lookup("simple")
	if !ok {
		t.Fatal("no simple spawner")
	}
	hs := spawnertest.NewHarness(t, e.Plugin(cfg), s.limits)
	sh := &spawnHub{hs: hs, proxy: &testProxy{}, shutdown: make(chan [2]bool, 1)}
	sh.testHub = newTestHubWith(t, hubOptions{db: hs.DB, noFakeServer: !s.fakeSeed, deps: func(d *Deps) {
		d.Servers = hs.M
		d.ServerLimits = s.limits
		d.Proxy = sh.proxy
		d.Shutdown = func(servers, proxy bool) { sh.shutdown <- [2]bool{servers, proxy} }
		d.CleanupServers, d.CleanupProxy = true, true
		d.Now = s.now
	}})
	return sh
}

// user returns the spawner's view of a seeded user.
func (h *spawnHub) user(name string) spawner.User {
	h.t.Helper()
	u, err := h.db.GetUser(context.Background(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	return spawner.UserFromStore(u)
}

// model returns GET /users/{name}?include_stopped_servers as caller.
func (h *spawnHub) model(caller, name string) map[string]any {
	h.t.Helper()
	r := h.do(caller, "GET", "/hub/api/users/"+name+"?include_stopped_servers", nil)
	if r.status != 200 {
		h.t.Fatalf("GET user %s: %d %s", name, r.status, r.body)
	}
	return r.json(h.t).(map[string]any)
}

// server returns one server of a user model, nil if absent.
func server(m map[string]any, name string) map[string]any {
	s, _ := m["servers"].(map[string]any)
	v, _ := s[name].(map[string]any)
	return v
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	spawnertest.WaitFor(t, d, what, cond)
}

// progress reads a progress stream to its end (at most 30 s) and returns its events and the
// reply's status and headers.
func (h *spawnHub) progress(req *http.Request) (int, http.Header, []map[string]any) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		h.t.Fatalf("progress: %v", err)
	}
	defer resp.Body.Close()
	var events []map[string]any
	if resp.StatusCode != 200 {
		return resp.StatusCode, resp.Header, nil
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			if line != "" {
				h.t.Errorf("progress: unexpected line %q", line)
			}
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			h.t.Fatalf("progress event %q: %v", data, err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		h.t.Fatalf("progress stream: %v", err)
	}
	return resp.StatusCode, resp.Header, events
}

// progressAs builds a token-authenticated progress request.
func (h *spawnHub) progressAs(caller, path string) *http.Request {
	req, _ := http.NewRequest("GET", h.srv.URL+path, nil)
	if tok, ok := h.tokens[caller]; ok {
		req.Header.Set("Authorization", "token "+tok)
	}
	return req
}

// testProxy stands in for the hub's proxy behind /api/proxy: a route table and a count of
// reconciliations.
type testProxy struct {
	mu     sync.Mutex
	routes map[string]RouteInfo
	checks int
}

func (p *testProxy) Routes(ctx context.Context) (map[string]RouteInfo, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]RouteInfo{}
	for k, v := range p.routes {
		out[k] = v
	}
	return out, nil
}

func (p *testProxy) CheckRoutes(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checks++
	return nil
}

func (p *testProxy) set(routes map[string]RouteInfo) {
	p.mu.Lock()
	p.routes = routes
	p.mu.Unlock()
}

func (p *testProxy) checked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checks
}

// spawnerRow returns a user's spawner row, nil if none.
func (h *spawnHub) spawnerRow(user, name string) *store.Spawner {
	h.t.Helper()
	u, err := h.db.GetUser(context.Background(), user)
	if err != nil {
		h.t.Fatal(err)
	}
	return findSpawner(u, name)
}
