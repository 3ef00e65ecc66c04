package local_test

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"gohub/internal/spawner"
)

// concurrent_spawn_limit and active_server_limit refuse starts with a LimitError (429).
func TestSpawnLimits(t *testing.T) {
	cfg := simpleConfig(t, "slow,serve")
	cfg.Environment["GOHUB_TEST_DELAY"] = "1s"
	l := limits()
	l.SlowSpawnTimeout = spawner.Seconds(0.01)
	l.ConcurrentSpawnLimit = 1
	l.ActiveServerLimit = 2
	h := newHarness(t, "simple", cfg, l)
	ctx := t.Context()
	u1, u2, u3 := h.user("u1", false), h.user("u2", false), h.user("u3", false)
	if ready, err := h.m.Start(ctx, u1, "", nil); ready || err != nil {
		t.Fatalf("first start = %v, %v", ready, err)
	}
	var le *spawner.LimitError
	if _, err := h.m.Start(ctx, u2, "", nil); !errors.As(err, &le) || le.RetryAfter < 30*time.Second ||
		!strings.Contains(le.Message, "Too many users") {
		t.Fatalf("second concurrent start: %v", err)
	}
	waitFor(t, 10*time.Second, "u1 ready", func() bool { return h.m.Status("u1", "").Ready })
	if _, err := h.m.Start(ctx, u2, "", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "u2 ready", func() bool { return h.m.Status("u2", "").Ready })
	if _, err := h.m.Start(ctx, u3, "", nil); !errors.As(err, &le) || !strings.Contains(le.Message, "Active user limit") {
		t.Fatalf("start over active_server_limit: %v", err)
	}
}

// Named servers need allow_named_servers and respect named_server_limit_per_user; each has its
// own prefix, client id and environment.
func TestNamedServers(t *testing.T) {
	cfg := simpleConfig(t, "serve")
	h := newHarness(t, "simple", cfg, limits())
	ivy := h.user("ivy", false)
	ctx := t.Context()
	if _, err := h.m.Start(ctx, ivy, "gpu", nil); !errors.Is(err, spawner.ErrNamedServersDisabled) || err.Error() != "Named servers are not enabled." {
		t.Fatalf("named start without allow_named_servers: %v", err)
	}
	h.m.Close()
	h.limits.AllowNamedServers = true
	h.limits.NamedServerLimitPerUser = 1
	h.open()
	if ready, err := h.m.Start(ctx, ivy, "gpu", nil); !ready || err != nil {
		t.Fatalf("named start = %v, %v", ready, err)
	}
	var env map[string]string
	h.get(ivy, "gpu", "env", &env)
	got := map[string]string{}
	for _, k := range []string{"JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_CLIENT_ID", "JUPYTERHUB_SERVER_NAME", "JUPYTERHUB_OAUTH_CALLBACK_URL", "JUPYTERHUB_OAUTH_ACCESS_SCOPES"} {
		got[k] = env[k]
	}
	want := map[string]string{
		"JUPYTERHUB_SERVICE_PREFIX":      "/user/ivy/gpu/",
		"JUPYTERHUB_CLIENT_ID":           "jupyterhub-user-ivy-gpu",
		"JUPYTERHUB_SERVER_NAME":         "gpu",
		"JUPYTERHUB_OAUTH_CALLBACK_URL":  "/user/ivy/gpu/oauth_callback",
		"JUPYTERHUB_OAUTH_ACCESS_SCOPES": `["access:servers!server=ivy/gpu", "access:servers!user=ivy"]`,
	}
	if !maps.Equal(got, want) {
		t.Errorf("named server env: %v, want %v", got, want)
	}
	if _, ok := h.hub.route("/user/ivy/gpu/"); !ok {
		t.Error("no route for the named server")
	}
	if _, err := h.m.Start(ctx, ivy, "cpu", nil); !errors.Is(err, spawner.ErrNamedServerLimit) || !strings.Contains(err.Error(), "maximum of 1 named servers") {
		t.Fatalf("second named server: %v", err)
	}
	// The default server does not count, and the existing named server may restart.
	if ready, err := h.m.Start(ctx, ivy, "", nil); !ready || err != nil {
		t.Fatalf("default server = %v, %v", ready, err)
	}
	if stopped, err := h.m.Stop(ctx, ivy, "gpu"); !stopped || err != nil {
		t.Fatalf("stop named = %v, %v", stopped, err)
	}
	if ready, err := h.m.Start(ctx, ivy, "gpu", nil); !ready || err != nil {
		t.Fatalf("restart named = %v, %v", ready, err)
	}
	if _, err := h.m.Stop(ctx, ivy, "nope"); !errors.Is(err, spawner.ErrNotFound) {
		t.Fatalf("stop unknown named server: %v", err)
	}
}
