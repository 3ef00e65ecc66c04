package spawnertest

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gohub/internal/spawner"
)

// Kind describes a spawner kind to the conformance suite.
type Kind struct {
	// Class is the kind's class name (for messages).
	Class string
	// NewConfig returns a config of the kind with its own traits set for tests; the suite sets
	// the common traits (cmd, environment, timeouts) through Common().
	NewConfig func(t *testing.T) any
	// Open is the kind's registry New.
	Open func(cfg any, log *slog.Logger) (spawner.Factory, error)
	// Command runs the test server of this package (HelperBinary for local processes).
	Command []string
	// User returns the name of a new user that can run servers (a system user for
	// LocalProcessSpawner); nil means any fresh name.
	User func(t *testing.T) string
	// UserEnv returns what the kind adds to the environment of protocol.md §2.2 for user (USER,
	// HOME, SHELL for local processes).
	UserEnv func(t *testing.T, user string) map[string]string
}

// Run runs the conformance suite: start with exactly the environment of protocol.md §2.2, progress
// events, failures (exit at once, never answering), polling, stop, restore after a restart,
// spawn limits, named servers, cancelling a spawn.
func Run(t *testing.T, k Kind) {
	s := &suite{k: k}
	t.Run("Lifecycle", s.lifecycle)
	t.Run("SlowSpawnProgress", s.slowProgress)
	t.Run("ExitsAtOnce", s.exitsAtOnce)
	t.Run("NeverAnswers", s.neverAnswers)
	t.Run("PollNoticesDeath", s.pollNoticesDeath)
	t.Run("RestoreAfterRestart", s.restore)
	t.Run("SpawnLimits", s.spawnLimits)
	t.Run("NamedServers", s.namedServers)
	t.Run("StopCancelsSpawn", s.stopCancels)
}

type suite struct {
	k Kind
	n atomic.Int32
}

// harness builds a manager for the kind running the test server in mode; adjust changes the
// common config and extra adds environment.
func (s *suite) harness(t *testing.T, mode string, limits spawner.Limits, adjust func(*spawner.Config)) *Harness {
	cfg := s.k.NewConfig(t)
	c := cfg.(interface{ Common() *spawner.Config }).Common()
	c.Cmd = s.k.Command
	c.Environment = map[string]string{HelperEnv: mode}
	c.StartTimeout, c.HTTPTimeout = spawner.Seconds(20), spawner.Seconds(20)
	if adjust != nil {
		adjust(c)
	}
	return NewHarness(t, spawner.Plugin{Class: s.k.Class, Config: cfg, Open: s.k.Open}, limits)
}

// user makes a user who can run servers.
func (s *suite) user(t *testing.T, h *Harness) spawner.User {
	if s.k.User != nil {
		return h.User(s.k.User(t), false)
	}
	return h.User(fmt.Sprintf("user%d", s.n.Add(1)), false)
}

// Limits returns upstream's limits with slow_spawn/stop_timeout long enough for tests.
func Limits() spawner.Limits {
	l := spawner.DefaultLimits()
	l.SlowSpawnTimeout, l.SlowStopTimeout = spawner.Seconds(20), spawner.Seconds(20)
	return l
}

func (s *suite) lifecycle(t *testing.T) {
	h := s.harness(t, "serve", Limits(), nil)
	u := s.user(t, h)
	ctx := t.Context()
	if ready, err := h.M.Start(ctx, u, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v; want ready", ready, err)
	}
	prefix := "/user/" + u.Name + "/"
	st := h.M.Status(u.Name, "")
	if !st.Ready || st.Pending != "" || !st.Active || st.Prefix != prefix || st.Version != "5.5.1" {
		t.Fatalf("status after start: %+v", st)
	}
	if target, ok := h.Hub.Route(prefix); !ok || target != st.Target {
		t.Fatalf("route %s = %q, %v; want %q", prefix, target, ok, st.Target)
	}
	var env map[string]string
	h.Get(u, "", "env", &env)
	if diff := cmp.Diff(s.expectedEnv(t, h, u.Name, st.Target), env); diff != "" {
		t.Errorf("server environment (-want +got):\n%s", diff)
	}
	row, err := h.DB.GetSpawner(ctx, u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	client := spawner.ClientID(u.Name, "")
	if row.Server == nil || row.Server.BaseURL != prefix || row.Started == nil || row.OAuthClientID != client || len(row.State) == 0 {
		t.Fatalf("spawner row: %+v server %+v state %s", row, row.Server, row.State)
	}
	ch, err := h.M.Progress(ctx, u.Name, "")
	if err != nil {
		t.Fatal(err)
	}
	if evs := Collect(t, ch); len(evs) != 1 || !evs[0].Ready || evs[0].URL != prefix || evs[0].Message != "Server ready at "+prefix {
		t.Fatalf("progress of a ready server: %+v", evs)
	}
	if _, err := h.M.Start(ctx, u, "", nil); !errors.Is(err, spawner.ErrAlreadyRunning) {
		t.Fatalf("second start: %v", err)
	}
	if stopped, err := h.M.Stop(ctx, u, ""); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	if _, ok := h.Hub.Route(prefix); ok {
		t.Error("route left after stop")
	}
	row, _ = h.DB.GetSpawner(ctx, u.ID, "")
	if row.Server != nil || row.Started != nil || len(row.State) != 0 {
		t.Errorf("spawner row after stop: %+v (state %s)", row, row.State)
	}
	if _, err := h.DB.GetOAuthClient(ctx, client); err == nil {
		t.Error("OAuth client left after stop")
	}
	if st := h.M.Status(u.Name, ""); st.Active || st.Target != "" {
		t.Errorf("status after stop: %+v", st)
	}
	if _, err := h.M.Progress(ctx, u.Name, ""); !errors.Is(err, spawner.ErrNotStarting) {
		t.Errorf("progress after stop: %v", err)
	}
	if stopped, err := h.M.Stop(ctx, u, ""); !stopped || err != nil {
		t.Errorf("second stop = %v, %v", stopped, err)
	}
}

// expectedEnv is protocol.md §2.2 for a default server at target, with the harness's settings.
func (s *suite) expectedEnv(t *testing.T, h *Harness, user, target string) map[string]string {
	c := h.plugin.Config.(interface{ Common() *spawner.Config }).Common()
	prefix := "/user/" + user + "/"
	token := h.Hub.Token(spawner.ClientID(user, ""))
	scopes := `["access:servers!server=` + user + `/", "access:servers!user=` + user + `"]`
	want := map[string]string{}
	for _, k := range c.EnvKeep {
		if v, ok := HubEnv[k]; ok {
			want[k] = v
		}
	}
	maps.Copy(want, map[string]string{
		"JUPYTERHUB_API_TOKEN":                   token,
		"JPY_API_TOKEN":                          token,
		"JUPYTERHUB_CLIENT_ID":                   spawner.ClientID(user, ""),
		"JUPYTERHUB_API_URL":                     "http://127.0.0.1:8081/hub/api",
		"JUPYTERHUB_ACTIVITY_URL":                "http://127.0.0.1:8081/hub/api/users/" + user + "/activity",
		"JUPYTERHUB_BASE_URL":                    "/",
		"JUPYTERHUB_SERVICE_PREFIX":              prefix,
		"JUPYTERHUB_SERVICE_URL":                 target + prefix,
		"JUPYTERHUB_OAUTH_CALLBACK_URL":          prefix + "oauth_callback",
		"JUPYTERHUB_OAUTH_ACCESS_SCOPES":         scopes,
		"JUPYTERHUB_OAUTH_SCOPES":                scopes,
		"JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": "[]",
		"JUPYTERHUB_USER":                        user,
		"JUPYTERHUB_SERVER_NAME":                 "",
		"JUPYTERHUB_HOST":                        "",
		"JUPYTERHUB_PUBLIC_URL":                  "",
		"JUPYTERHUB_PUBLIC_HUB_URL":              "",
		"JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED":  "0",
	})
	maps.Copy(want, c.Environment)
	if s.k.UserEnv != nil {
		maps.Copy(want, s.k.UserEnv(t, user))
	}
	if len(token) < 32 {
		t.Errorf("server token %q", token)
	}
	return want
}

func (s *suite) slowProgress(t *testing.T) {
	l := Limits()
	l.SlowSpawnTimeout = spawner.Seconds(0.05)
	h := s.harness(t, "slow,serve", l, func(c *spawner.Config) { c.Environment[DelayEnv] = "700ms" })
	u := s.user(t, h)
	ctx := t.Context()
	if ready, err := h.M.Start(ctx, u, "", map[string]any{"profile": "small"}); ready || err != nil {
		t.Fatalf("Start = %v, %v; want pending", ready, err)
	}
	if st := h.M.Status(u.Name, ""); st.Pending != "spawn" || st.Ready || !st.Active {
		t.Fatalf("status while spawning: %+v", st)
	}
	if ready, err := h.M.Start(ctx, u, "", nil); ready || err != nil {
		t.Fatalf("start while pending = %v, %v", ready, err)
	}
	early, err := h.M.Progress(ctx, u.Name, "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	late, err := h.M.Progress(ctx, u.Name, "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := Collect(t, early), Collect(t, late)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("early and late watchers differ:\n%s", diff)
	}
	if len(a) < 2 || a[0] != (spawner.Event{Progress: 0, Message: "Server requested"}) || !a[len(a)-1].Ready {
		t.Fatalf("events: %+v", a)
	}
	for _, e := range a[:len(a)-1] {
		if e.Ready || e.Failed {
			t.Fatalf("non-final event marked final: %+v", e)
		}
	}
	if st := h.M.Status(u.Name, ""); !st.Ready {
		t.Fatalf("status after progress ended: %+v", st)
	}
	row, _ := h.DB.GetSpawner(ctx, u.ID, "")
	if string(row.UserOptions) != `{"profile":"small"}` {
		t.Fatalf("user_options %s", row.UserOptions)
	}
}

func (s *suite) exitsAtOnce(t *testing.T) {
	h := s.harness(t, "exit", Limits(), nil)
	u := s.user(t, h)
	ctx := t.Context()
	start := time.Now()
	ready, err := h.M.Start(ctx, u, "", nil)
	if ready || err == nil || !strings.Contains(err.Error(), "before it answered") {
		t.Fatalf("Start = %v, %v; want a failure naming the early exit", ready, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("failure took %s; the server was gone at once", d)
	}
	st := h.M.Status(u.Name, "")
	if st.Active || st.LastFailure == nil {
		t.Fatalf("status: %+v", st)
	}
	ch, err := h.M.Progress(ctx, u.Name, "")
	if err != nil {
		t.Fatal(err)
	}
	if evs := Collect(t, ch); len(evs) != 1 || !evs[0].Failed || !strings.HasPrefix(evs[0].Message, "Spawn failed: ") {
		t.Fatalf("progress after failure: %+v", evs)
	}
	if row, _ := h.DB.GetSpawner(ctx, u.ID, ""); row.Server != nil {
		t.Error("server row left after failure")
	}
	if _, ok := h.Hub.Route("/user/" + u.Name + "/"); ok {
		t.Error("route left after failure")
	}
}

func (s *suite) neverAnswers(t *testing.T) {
	h := s.harness(t, "silent", Limits(), func(c *spawner.Config) { c.HTTPTimeout = spawner.Seconds(1) })
	u := s.user(t, h)
	start := time.Now()
	ready, err := h.M.Start(t.Context(), u, "", nil)
	if ready || err == nil || !strings.Contains(err.Error(), "did not answer within 1s") {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("failure after %s, before http_timeout", d)
	}
	if row, _ := h.DB.GetSpawner(t.Context(), u.ID, ""); row.Server != nil || len(row.State) != 0 {
		t.Errorf("silent server not cleared: %+v state %s", row.Server, row.State)
	}
}

func (s *suite) pollNoticesDeath(t *testing.T) {
	h := s.harness(t, "serve", Limits(), func(c *spawner.Config) { c.PollInterval = spawner.Seconds(0.1) })
	u := s.user(t, h)
	if ready, err := h.M.Start(t.Context(), u, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	h.Poke(u, "", "exit")
	WaitFor(t, 10*time.Second, "the hub to notice", func() bool { return !h.M.Status(u.Name, "").Active })
	if st := h.M.Status(u.Name, ""); st.LastExit == nil {
		t.Errorf("no exit recorded: %+v", st)
	}
	if _, ok := h.Hub.Route("/user/" + u.Name + "/"); ok {
		t.Error("route left after death")
	}
	if row, _ := h.DB.GetSpawner(t.Context(), u.ID, ""); row.Server != nil {
		t.Error("server row left after death")
	}
	if ready, err := h.M.Start(t.Context(), u, "", nil); !ready || err != nil {
		t.Fatalf("restart = %v, %v", ready, err)
	}
}

func (s *suite) restore(t *testing.T) {
	h := s.harness(t, "serve", Limits(), func(c *spawner.Config) { c.HTTPTimeout = spawner.Seconds(1) })
	live, dead, hung := s.user(t, h), s.user(t, h), s.user(t, h)
	for _, u := range []spawner.User{live, dead, hung} {
		if ready, err := h.M.Start(t.Context(), u, "", nil); !ready || err != nil {
			t.Fatalf("Start %s = %v, %v", u.Name, ready, err)
		}
	}
	target := h.M.Status(live.Name, "").Target
	h.M.Close() // the hub goes away; its servers keep running
	h.Poke(dead, "", "exit")
	h.Poke(hung, "", "hang")
	time.Sleep(300 * time.Millisecond)

	h.Open() // the new hub
	if err := h.M.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := h.M.Status(live.Name, ""); !st.Ready || st.Target != target {
		t.Fatalf("%s after restore: %+v (target before %s)", live.Name, st, target)
	}
	if rt, ok := h.Hub.Route("/user/" + live.Name + "/"); !ok || rt != target {
		t.Errorf("route after restore = %q, %v", rt, ok)
	}
	var who map[string]string
	h.Get(live, "", "env", &who) // the adopted server still answers
	for _, u := range []spawner.User{dead, hung} {
		if st := h.M.Status(u.Name, ""); st.Active {
			t.Errorf("%s restored: %+v", u.Name, st)
		}
		if row, _ := h.DB.GetSpawner(t.Context(), u.ID, ""); row.Server != nil || len(row.State) != 0 {
			t.Errorf("%s not cleared: server %+v state %s", u.Name, row.Server, row.State)
		}
	}
	if stopped, err := h.M.Stop(t.Context(), live, ""); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
}

func (s *suite) spawnLimits(t *testing.T) {
	l := Limits()
	l.SlowSpawnTimeout = spawner.Seconds(0.01)
	l.ConcurrentSpawnLimit, l.ActiveServerLimit = 1, 2
	h := s.harness(t, "slow,serve", l, func(c *spawner.Config) { c.Environment[DelayEnv] = "1s" })
	ctx := t.Context()
	u1, u2, u3 := s.user(t, h), s.user(t, h), s.user(t, h)
	if ready, err := h.M.Start(ctx, u1, "", nil); ready || err != nil {
		t.Fatalf("first start = %v, %v", ready, err)
	}
	var le *spawner.LimitError
	if _, err := h.M.Start(ctx, u2, "", nil); !errors.As(err, &le) || le.RetryAfter <= 0 {
		t.Fatalf("start over concurrent_spawn_limit: %v", err)
	}
	WaitFor(t, 20*time.Second, "first server ready", func() bool { return h.M.Status(u1.Name, "").Ready })
	if _, err := h.M.Start(ctx, u2, "", nil); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 20*time.Second, "second server ready", func() bool { return h.M.Status(u2.Name, "").Ready })
	if _, err := h.M.Start(ctx, u3, "", nil); !errors.As(err, &le) || !strings.Contains(le.Message, "Active user limit") {
		t.Fatalf("start over active_server_limit: %v", err)
	}
}

func (s *suite) namedServers(t *testing.T) {
	l := Limits()
	h := s.harness(t, "serve", l, nil)
	u := s.user(t, h)
	ctx := t.Context()
	if _, err := h.M.Start(ctx, u, "gpu", nil); !errors.Is(err, spawner.ErrNamedServersDisabled) {
		t.Fatalf("named start without allow_named_servers: %v", err)
	}
	h.M.Close()
	h.Limits.AllowNamedServers, h.Limits.NamedServerLimitPerUser = true, 1
	h.Open()
	if ready, err := h.M.Start(ctx, u, "gpu", nil); !ready || err != nil {
		t.Fatalf("named start = %v, %v", ready, err)
	}
	var env map[string]string
	h.Get(u, "gpu", "env", &env)
	prefix := "/user/" + u.Name + "/gpu/"
	for k, want := range map[string]string{
		"JUPYTERHUB_SERVICE_PREFIX":      prefix,
		"JUPYTERHUB_CLIENT_ID":           spawner.ClientID(u.Name, "gpu"),
		"JUPYTERHUB_SERVER_NAME":         "gpu",
		"JUPYTERHUB_OAUTH_CALLBACK_URL":  prefix + "oauth_callback",
		"JUPYTERHUB_OAUTH_ACCESS_SCOPES": `["access:servers!server=` + u.Name + `/gpu", "access:servers!user=` + u.Name + `"]`,
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if _, ok := h.Hub.Route(prefix); !ok {
		t.Error("no route for the named server")
	}
	if _, err := h.M.Start(ctx, u, "cpu", nil); !errors.Is(err, spawner.ErrNamedServerLimit) {
		t.Fatalf("second named server: %v", err)
	}
	if ready, err := h.M.Start(ctx, u, "", nil); !ready || err != nil {
		t.Fatalf("default server beside the named one = %v, %v", ready, err)
	}
	if stopped, err := h.M.Stop(ctx, u, "gpu"); !stopped || err != nil {
		t.Fatalf("stop named = %v, %v", stopped, err)
	}
	if ready, err := h.M.Start(ctx, u, "gpu", nil); !ready || err != nil {
		t.Fatalf("restart named = %v, %v", ready, err)
	}
	if _, err := h.M.Stop(ctx, u, "nope"); !errors.Is(err, spawner.ErrNotFound) {
		t.Fatalf("stop unknown named server: %v", err)
	}
}

func (s *suite) stopCancels(t *testing.T) {
	l := Limits()
	l.SlowSpawnTimeout = spawner.Seconds(0.01)
	h := s.harness(t, "slow,serve", l, func(c *spawner.Config) { c.Environment[DelayEnv] = "3s" })
	u := s.user(t, h)
	ctx := t.Context()
	if ready, err := h.M.Start(ctx, u, "", nil); ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	p, err := h.M.Progress(ctx, u.Name, "")
	if err != nil {
		t.Fatal(err)
	}
	if stopped, err := h.M.Stop(ctx, u, ""); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	evs := Collect(t, p)
	if last := evs[len(evs)-1]; !last.Failed || last.Message != "Spawn cancelled" {
		t.Fatalf("last event %+v", last)
	}
	if st := h.M.Status(u.Name, ""); st.Active || !st.Cancelled {
		t.Fatalf("status %+v", st)
	}
}
