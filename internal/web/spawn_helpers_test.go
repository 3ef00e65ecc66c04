package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gohub/internal/spawner"
	"gohub/internal/store"
)

// testSpawnerConfig is the configuration of testSpawner: the common traits plus how long a
// start takes and an error to fail with (set per user through user_overrides).
type testSpawnerConfig struct {
	spawner.Config `yaml:",inline"`
	Delay          spawner.Duration `yaml:"delay"`
	Fail           string           `yaml:"fail"`
	StopDelay      spawner.Duration `yaml:"stop_delay"`
}

type testFactory struct{ cfg *testSpawnerConfig }

func (f *testFactory) Common() *spawner.Config { return &f.cfg.Config }
func (f *testFactory) NewSpawner(json.RawMessage) (spawner.Spawner, error) {
	return &testSpawner{cfg: f.cfg}, nil
}

// testSpawner runs a tiny single-user server in the test process: it reports four progress
// steps over Delay, then serves {prefix}api (with X-JupyterHub-Version) and a hello page.
type testSpawner struct {
	cfg *testSpawnerConfig

	mu  sync.Mutex
	srv *http.Server
}

func (s *testSpawner) Start(ctx context.Context, req *spawner.Request) (string, error) {
	if s.cfg.Fail != "" {
		return "", errors.New(s.cfg.Fail)
	}
	const steps = 4
	for i := 1; i <= steps; i++ {
		select {
		case <-time.After(s.cfg.Delay.D() / steps):
		case <-ctx.Done():
			return "", ctx.Err()
		}
		req.ReportProgress(spawner.Event{Progress: 20 * i, Message: fmt.Sprintf("Preparing the server, step %d of %d", i, steps)})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc(req.Prefix+"api", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-JupyterHub-Version", "5.4.0")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"version": "test"}`))
	})
	user := req.User.Name
	var env []string
	for _, k := range slices.Sorted(maps.Keys(s.cfg.Environment)) {
		env = append(env, k+"="+s.cfg.Environment[k])
	}
	mux.HandleFunc(req.Prefix, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><title>server</title><h1 id="server-hello">Hello from %s's server at %s</h1><pre id="server-env">%s</pre>`,
			html.EscapeString(user), html.EscapeString(r.URL.Path), html.EscapeString(strings.Join(env, "\n")))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	return "http://" + ln.Addr().String(), nil
}

func (s *testSpawner) Poll(context.Context) (spawner.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return spawner.Status{Running: s.srv != nil}, nil
}

func (s *testSpawner) Stop(ctx context.Context, _ bool) error {
	select {
	case <-time.After(s.cfg.StopDelay.D()):
	case <-ctx.Done():
	}
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		return srv.Close()
	}
	return nil
}

func (s *testSpawner) State() json.RawMessage { return nil }

// testHooks is the rest of the hub for the manager: the server's OAuth client in the store (its
// spawner row refers to it) and a route table in place of the proxy.
type testHooks struct {
	db     *store.DB
	mu     sync.Mutex
	routes map[string]string
}

func (h *testHooks) PrepareServer(ctx context.Context, s spawner.ServerSetup) (string, error) {
	_, err := h.db.UpsertOAuthClient(ctx, store.OAuthClient{Identifier: s.ClientID, Description: s.Description,
		Secret: store.HashToken("test-secret", store.SuppliedTokenRounds), RedirectURI: s.RedirectURI,
		AllowedScopes: s.ClientAllowedScopes})
	return "test-token", err
}

func (h *testHooks) AddRoute(_ context.Context, spec, target string, _ map[string]any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.routes[spec] = target
	return nil
}

func (h *testHooks) DeleteRoute(_ context.Context, spec string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.routes, spec)
	return nil
}

func (h *testHooks) Cleanup(context.Context, spawner.ServerSetup) error { return nil }

// route returns the target of the longest route that prefixes path.
func (h *testHooks) route(path string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	best, target := "", ""
	for spec, t := range h.routes {
		if strings.HasPrefix(path, spec) && len(spec) > len(best) {
			best, target = spec, t
		}
	}
	return target, best != ""
}

// spawnEnv is an env whose pages spawn through a real spawner.Manager with testSpawner.
type spawnEnv struct {
	*env
	m     *spawner.Manager
	hooks *testHooks
}

// newSpawnEnv builds the pages with a manager over the env's store. It also mounts what other
// packages serve in the hub: the REST progress stream (a stand-in for internal/api) and a
// proxy for /user/ routes that falls back to NotHub, as the proxy's default route does.
func newSpawnEnv(t *testing.T, cfg testSpawnerConfig, opts ...envOption) *spawnEnv {
	t.Helper()
	se := &spawnEnv{hooks: &testHooks{routes: map[string]string{}}}
	if cfg.Cmd == nil {
		cfg.Config = spawner.DefaultConfig()
	}
	limits := spawner.DefaultLimits()
	limits.AllowNamedServers = true
	withServers := func(d *Deps) {
		se.hooks.db = d.Store
		m, err := spawner.NewManager(spawner.Options{
			DB: d.Store, Hooks: se.hooks, Limits: limits,
			Plugin: spawner.Plugin{Class: "TestSpawner", Config: &cfg,
				Open: func(c any, _ *slog.Logger) (spawner.Factory, error) {
					return &testFactory{cfg: c.(*testSpawnerConfig)}, nil
				}},
			Env:    spawner.EnvSettings{BaseURL: "/"},
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m.StopAll(ctx)
			m.Close()
		})
		d.Servers, d.AllowNamedServers, d.RedirectToServer = m, true, true
		se.m = m
	}
	a := newAuth()
	a.passwords["bob"], a.passwords["carol"] = "builder", "lewis"
	se.env = newEnv(t, a, append([]envOption{withServers}, opts...)...)
	se.mux.HandleFunc("GET /hub/api/users/{name}/server/progress", se.progress)
	se.mux.HandleFunc("GET /hub/api/users/{name}/servers/{server}/progress", se.progress)
	se.mux.HandleFunc("/user/", se.proxy)
	return se
}

// progress streams a server's progress events as the REST API does (protocol.md §1.4).
func (se *spawnEnv) progress(w http.ResponseWriter, r *http.Request) {
	ch, err := se.m.Progress(r.Context(), r.PathValue("name"), r.PathValue("server"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	for ev := range ch {
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "data: %s\n\n", b)
		w.(http.Flusher).Flush()
	}
}

// proxy forwards /user/... to a routed server, else hands the request to the hub.
func (se *spawnEnv) proxy(w http.ResponseWriter, r *http.Request) {
	target, ok := se.hooks.route(r.URL.Path)
	if !ok {
		se.pages.NotHub(w, r)
		return
	}
	u, _ := url.Parse(target)
	httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
}

// waitStatus waits until cond holds for the status of user's server.
func (se *spawnEnv) waitStatus(user, server string, cond func(spawner.ServerStatus) bool) spawner.ServerStatus {
	se.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := se.m.Status(user, server)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			se.t.Fatalf("server %s/%s: status %+v", user, server, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loggedIn returns a browser logged in as user (alice or Boss of newAuth).
func (se *spawnEnv) loggedIn(user, password string) *browser {
	se.t.Helper()
	b := se.browser()
	if r := b.login("?next=%2Fhub%2Fhome", user, password); r.StatusCode != http.StatusFound {
		se.t.Fatalf("login %s: %d %s", user, r.StatusCode, r.body)
	}
	return b
}
