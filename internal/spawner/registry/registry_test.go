package registry_test

import (
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"gohub/internal/spawner"
	"gohub/internal/spawner/local"
	"gohub/internal/spawner/registry"
)

func TestLookup(t *testing.T) {
	for name, class := range map[string]string{
		"":                                       "LocalProcessSpawner",
		"localprocess":                           "LocalProcessSpawner",
		"default":                                "LocalProcessSpawner",
		"LocalProcessSpawner":                    "LocalProcessSpawner",
		"jupyterhub.spawner.LocalProcessSpawner": "LocalProcessSpawner",
		"jupyterhub.spawner:LocalProcessSpawner": "LocalProcessSpawner",
		"simple":                                 "SimpleLocalProcessSpawner",
		"SimpleLocalProcessSpawner":              "SimpleLocalProcessSpawner",
		" jupyterhub.spawner.simplelocalprocessspawner ": "SimpleLocalProcessSpawner",
	} {
		e, ok := registry.Lookup(name)
		if !ok || e.Class != class {
			t.Errorf("Lookup(%q) = %q, %v; want %q", name, e.Class, ok, class)
		}
	}
	if _, ok := registry.Lookup("dockerspawner.DockerSpawner"); ok {
		t.Error("unknown class found")
	}
	if got := registry.Names(); got != "localprocess, simple" {
		t.Errorf("Names() = %q", got)
	}
}

func TestEntries(t *testing.T) {
	simple, _ := registry.Lookup("simple")
	if !slices.Equal(simple.Parents, []string{"Spawner", "LocalProcessSpawner"}) {
		t.Errorf("simple parents %v", simple.Parents)
	}
	lp, _ := registry.Lookup("localprocess")
	if !slices.Equal(lp.Parents, []string{"Spawner"}) {
		t.Errorf("localprocess parents %v", lp.Parents)
	}
	// Defaults are upstream's: LocalProcessSpawner's env_keep, SimpleLocalProcessSpawner's home.
	lc := lp.NewConfig().(*local.Config)
	if !slices.Contains(lc.EnvKeep, "PATH") || lc.Cmd[0] != "jupyterhub-singleuser" || lc.StartTimeout != spawner.Seconds(60) {
		t.Errorf("localprocess defaults %+v", lc)
	}
	sc := simple.NewConfig().(*local.SimpleConfig)
	if sc.HomeDirTemplate != "/tmp/{username}" || !slices.Contains(sc.EnvKeep, "PATH") {
		t.Errorf("simple defaults %+v", sc)
	}
	base := registry.Common.NewConfig().(*spawner.Config)
	if slices.Contains(base.EnvKeep, "PATH") {
		t.Errorf("base Spawner env_keep %v", base.EnvKeep)
	}
	// A section read from YAML opens; a bad value or a config of the wrong type does not.
	if err := yaml.Unmarshal([]byte("home_dir_template: /srv/{username}\nmem_limit: 2G\nterm_timeout: 1\n"), sc); err != nil {
		t.Fatal(err)
	}
	f, err := simple.New(sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Common().MemLimit != 2<<30 {
		t.Errorf("Common() = %+v", f.Common())
	}
	if _, err := simple.New(lc, nil); err == nil || !strings.Contains(err.Error(), "want *local.SimpleConfig") {
		t.Errorf("wrong config type: %v", err)
	}
	sc.HTTPTimeout = 0
	if _, err := simple.New(sc, nil); err == nil || !strings.Contains(err.Error(), "http_timeout") {
		t.Errorf("bad config: %v", err)
	}
	if p := lp.Plugin(lc); p.Class != "LocalProcessSpawner" || p.Config != any(lc) || p.Open == nil {
		t.Errorf("Plugin() = %+v", p)
	}
}
