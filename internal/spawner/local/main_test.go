package local_test

import (
	"os"
	"path/filepath"
	"testing"

	"gohub/internal/spawner"
	"gohub/internal/spawner/local"
	"gohub/internal/spawner/registry"
	"gohub/internal/spawner/spawnertest"
)

// The test binary doubles as the single-user server the spawners start (spawnertest's helper).
func TestMain(m *testing.M) {
	spawnertest.MaybeRunHelper()
	os.Exit(m.Run())
}

// newHarness builds a manager for a registered spawner class with cfg.
func newHarness(t *testing.T, class string, cfg any, limits spawner.Limits) *spawnertest.Harness {
	t.Helper()
	e, ok := registry.Lookup(class)
	if !ok {
		t.Fatalf("no spawner class %q", class)
	}
	return spawnertest.NewHarness(t, e.Plugin(cfg), limits)
}

// SimpleLocalProcessSpawner passes the spawner conformance suite.
func TestSimpleConformance(t *testing.T) {
	home := t.TempDir()
	e, _ := registry.Lookup("simple")
	spawnertest.Run(t, spawnertest.Kind{
		Class: e.Class,
		NewConfig: func(t *testing.T) any {
			c := local.DefaultSimpleConfig()
			c.HomeDirTemplate = filepath.Join(home, "{username}")
			c.TermTimeout = spawner.Seconds(2)
			return c
		},
		Open:    e.New,
		Command: []string{spawnertest.HelperBinary(t)},
		UserEnv: func(t *testing.T, user string) map[string]string {
			return map[string]string{"USER": user, "HOME": filepath.Join(home, user), "SHELL": "/bin/bash"}
		},
	})
}

// LocalProcessSpawner passes the spawner conformance suite, running every server as a system
// user made for the test (root only).
func TestLocalProcessConformance(t *testing.T) {
	needRoot(t)
	e, _ := registry.Lookup("localprocess")
	homes := map[string]string{}
	spawnertest.Run(t, spawnertest.Kind{
		Class: e.Class,
		NewConfig: func(t *testing.T) any {
			c := local.DefaultConfig()
			c.TermTimeout = spawner.Seconds(2)
			return c
		},
		Open:    e.New,
		Command: []string{spawnertest.HelperBinary(t)},
		User: func(t *testing.T) string {
			name, home, _ := systemUser(t)
			homes[name] = home
			return name
		},
		UserEnv: func(t *testing.T, user string) map[string]string {
			return map[string]string{"USER": user, "HOME": homes[user], "SHELL": "/bin/sh"}
		},
	})
}
