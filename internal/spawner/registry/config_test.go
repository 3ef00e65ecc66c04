package registry_test

import (
	"strings"
	"testing"

	"gohub/internal/config"
	"gohub/internal/spawner"
	"gohub/internal/spawner/local"
	"gohub/internal/spawner/registry"
)

// schema lists the spawner classes as the hub's schema does.
func schema() *config.Schema {
	classes := []config.Class{{Name: registry.Common.Class, New: registry.Common.NewConfig}}
	for _, e := range registry.Entries {
		classes = append(classes, config.Class{Name: e.Class, Parent: e.Parents[len(e.Parents)-1], New: e.NewConfig})
	}
	return config.NewSchema(classes...)
}

const configFile = `
Spawner:
  mem_limit: 1G
  cpu_limit: 2
  start_timeout: 90
  http_timeout: 1m
  environment: {A: "1"}
  group_overrides:
    01-students:
      groups: [students]
      spawner_override: {mem_limit: 512M, environment: {B: "2"}}
  admin_overrides: {mem_limit: 8G}
  user_overrides:
    alice: {cpu_limit: 4}
  pre_spawn_hook: [/usr/local/bin/hook, --json]
  pre_spawn_hook_timeout: 5
LocalProcessSpawner:
  term_timeout: 2
  cmd: [jupyterhub-singleuser, --debug]
SimpleLocalProcessSpawner:
  home_dir_template: /srv/{username}
`

// The spawner config classes load through the hub's config decoder, sections in class order.
func TestConfigFile(t *testing.T) {
	f, err := config.Parse("gohub_config.yaml", []byte(configFile))
	if err != nil {
		t.Fatal(err)
	}
	s := schema()
	if err := f.Validate(s); err != nil {
		t.Fatal(err)
	}
	e, _ := registry.Lookup("simple")
	cfg := e.NewConfig().(*local.SimpleConfig)
	if err := f.Decode(s, e.Class, cfg); err != nil {
		t.Fatal(err)
	}
	c := cfg.Common()
	switch {
	case c.MemLimit != 1<<30, c.CPULimit != 2, c.StartTimeout != spawner.Seconds(90), c.HTTPTimeout != spawner.Seconds(60):
		t.Errorf("Spawner section: %+v", c)
	case cfg.TermTimeout != spawner.Seconds(2), strings.Join(cfg.Cmd, " ") != "jupyterhub-singleuser --debug":
		t.Errorf("LocalProcessSpawner section: %+v", cfg.Config)
	case cfg.HomeDirTemplate != "/srv/{username}":
		t.Errorf("SimpleLocalProcessSpawner section: %q", cfg.HomeDirTemplate)
	case c.GroupOverrides["01-students"].Groups[0] != "students", c.UserOverrides["alice"]["cpu_limit"] == nil,
		c.AdminOverrides["mem_limit"] != "8G", c.PreSpawnHook[1] != "--json", c.PreSpawnHookTimeout != spawner.Seconds(5):
		t.Errorf("policy: %+v", c)
	}
	p, err := spawner.NewSpawnPolicy(e.Plugin(cfg))
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Resolve(t.Context(), spawner.User{Name: "bob", Groups: []string{"students"}}, "", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if g := got.(*local.SimpleConfig); g.MemLimit != 512<<20 || g.Environment["A"] != "1" || g.Environment["B"] != "2" || g.HomeDirTemplate != "/srv/{username}" {
		t.Errorf("resolved for a student: mem %d env %v home %q", g.MemLimit, g.Environment, g.HomeDirTemplate)
	}

	bad, err := config.Parse("bad.yaml", []byte("Spawner:\n  mem_limit: lots\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Validate(s); err == nil || !strings.Contains(err.Error(), "bad.yaml:2") {
		t.Errorf("bad mem_limit: %v", err)
	}
}
