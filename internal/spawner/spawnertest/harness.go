package spawnertest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gohub/internal/spawner"
	"gohub/internal/store"
)

// FakeHub implements spawner.Hooks with the real store for tokens and OAuth clients, and a
// recorded route table in place of the proxy.
type FakeHub struct {
	db *store.DB

	mu      sync.Mutex
	routes  map[string]string // routespec → target
	tokens  map[string]string // client id → plaintext token of the running server
	tokenID map[string]int64
	cleaned []string
}

// PrepareServer creates the server's OAuth client and API token in the store.
func (h *FakeHub) PrepareServer(ctx context.Context, s spawner.ServerSetup) (string, error) {
	b := make([]byte, 16)
	rand.Read(b)
	plain := hex.EncodeToString(b)
	hashed := store.HashToken(plain, store.SuppliedTokenRounds)
	if _, err := h.db.UpsertOAuthClient(ctx, store.OAuthClient{Identifier: s.ClientID, Description: s.Description,
		Secret: hashed, RedirectURI: s.RedirectURI, AllowedScopes: s.ClientAllowedScopes}); err != nil {
		return "", err
	}
	uid := s.User.ID
	tok, err := h.db.CreateToken(ctx, store.NewToken{Plain: plain, Rounds: 1, UserID: &uid, Note: s.Description,
		Scopes: []string{"users:activity!user", "access:servers!server"}})
	if err != nil {
		return "", err
	}
	h.mu.Lock()
	h.tokens[s.ClientID], h.tokenID[s.ClientID] = plain, tok.ID
	h.mu.Unlock()
	return plain, nil
}

// AddRoute records a route.
func (h *FakeHub) AddRoute(ctx context.Context, spec, target string, data map[string]any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.routes[spec] = target
	return nil
}

// DeleteRoute forgets a route.
func (h *FakeHub) DeleteRoute(ctx context.Context, spec string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.routes, spec)
	return nil
}

// Cleanup deletes the server's token and OAuth client.
func (h *FakeHub) Cleanup(ctx context.Context, s spawner.ServerSetup) error {
	h.mu.Lock()
	id, ok := h.tokenID[s.ClientID]
	delete(h.tokenID, s.ClientID)
	delete(h.tokens, s.ClientID)
	h.cleaned = append(h.cleaned, s.ClientID)
	h.mu.Unlock()
	if ok {
		if err := h.db.DeleteToken(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if err := h.db.DeleteOAuthClient(ctx, s.ClientID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// Route returns the target of a route, if it exists.
func (h *FakeHub) Route(spec string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.routes[spec]
	return t, ok
}

// Token returns the plaintext API token of a running server, by OAuth client id.
func (h *FakeHub) Token(client string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tokens[client]
}

// HubEnv is the environment of the "hub" the tests pretend to be: env_keep picks from it.
var HubEnv = map[string]string{"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "CONFIGPROXY_AUTH_TOKEN": "must-not-leak"}

// Harness is one hub's worth of spawning: a database, the fake hub and a manager.
type Harness struct {
	t      *testing.T
	dbPath string
	plugin spawner.Plugin

	DB  *store.DB
	Hub *FakeHub
	M   *spawner.Manager
	// Limits, EnvAPI (the hub API URL servers get; a default when empty) and OnFailureLimit
	// apply from the next Open.
	Limits         spawner.Limits
	EnvAPI         string
	OnFailureLimit func(int)
}

// NewHarness opens a fresh SQLite database and builds a manager for plugin.
func NewHarness(t *testing.T, plugin spawner.Plugin, limits spawner.Limits) *Harness {
	t.Helper()
	h := &Harness{t: t, dbPath: filepath.Join(t.TempDir(), "hub.sqlite"), plugin: plugin, Limits: limits}
	h.Open()
	return h
}

// Open (re)opens the database and builds a new manager: a hub "restart" when called again
// (Close the old manager first). Managers are stopped (StopAll, Close) when the test ends.
func (h *Harness) Open() {
	t := h.t
	t.Helper()
	db, err := store.Open(t.Context(), "sqlite:///"+h.dbPath, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hub := &FakeHub{db: db, routes: map[string]string{}, tokens: map[string]string{}, tokenID: map[string]int64{}}
	m, err := spawner.NewManager(spawner.Options{
		DB: db, Plugin: h.plugin, Hooks: hub, Limits: h.Limits,
		Env:            spawner.EnvSettings{HubAPIURL: cmp.Or(h.EnvAPI, "http://127.0.0.1:8081/hub/api"), BaseURL: "/"},
		Logger:         slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		LookupEnv:      func(k string) (string, bool) { v, ok := HubEnv[k]; return v, ok },
		OnFailureLimit: h.OnFailureLimit,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		m.StopAll(ctx)
		m.Close()
	})
	h.DB, h.Hub, h.M = db, hub, m
}

// User creates (or finds) a hub user, in the given groups.
func (h *Harness) User(name string, admin bool, groups ...string) spawner.User {
	h.t.Helper()
	ctx := h.t.Context()
	u, err := h.DB.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		u, err = h.DB.CreateUser(ctx, name, admin)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	for _, g := range groups {
		if _, err := h.DB.GetGroup(ctx, g); errors.Is(err, store.ErrNotFound) {
			if _, err := h.DB.CreateGroups(ctx, []string{g}, nil); err != nil {
				h.t.Fatal(err)
			}
		}
		if _, err := h.DB.AddGroupMembers(ctx, g, []string{name}); err != nil {
			h.t.Fatal(err)
		}
	}
	u, err = h.DB.GetUser(ctx, name)
	if err != nil {
		h.t.Fatal(err)
	}
	return spawner.UserFromStore(u)
}

// Get fetches path under a running server's prefix and decodes its JSON into v.
func (h *Harness) Get(u spawner.User, server, path string, v any) {
	h.t.Helper()
	st := h.M.Status(u.Name, server)
	if st.Target == "" {
		h.t.Fatalf("%s/%s has no target: %+v", u.Name, server, st)
	}
	resp, err := http.Get(st.Target + st.Prefix + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if v == nil {
		return
	}
	if err := json.Unmarshal(body, v); err != nil {
		h.t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// Poke requests path under a running server's prefix and ignores the answer (exit, hang).
func (h *Harness) Poke(u spawner.User, server, path string) {
	st := h.M.Status(u.Name, server)
	resp, err := http.Get(st.Target + st.Prefix + path)
	if err == nil {
		resp.Body.Close()
	}
}

// State returns the saved spawner state of a server.
func (h *Harness) State(u spawner.User, server string) map[string]any {
	h.t.Helper()
	row, err := h.DB.GetSpawner(h.t.Context(), u.ID, server)
	if err != nil {
		h.t.Fatal(err)
	}
	m := map[string]any{}
	if len(row.State) > 0 {
		if err := json.Unmarshal(row.State, &m); err != nil {
			h.t.Fatal(err)
		}
	}
	return m
}

// HelperBinary copies the test binary where any user can run it, and returns its path.
func HelperBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gohub-spawner-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	path := filepath.Join(dir, "singleuser-helper")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// WaitFor polls cond until it holds or d passes, and fails the test then.
func WaitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Collect reads a progress stream to its end.
func Collect(t *testing.T, ch <-chan spawner.Event) []spawner.Event {
	t.Helper()
	var out []spawner.Event
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, e)
		case <-timeout:
			t.Fatalf("progress stream did not end; got %+v", out)
		}
	}
}
