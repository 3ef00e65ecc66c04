// Package registry is the one table of gohub's spawners: the names `JupyterHub.spawner_class`
// accepts, the config section of each, and how to build it. Adding a spawner is one line in
// Entries. The table lives here, not in package spawner, because spawner cannot import its
// plug-ins without an import cycle.
package registry

import (
	"fmt"
	"log/slog"
	"strings"

	"gohub/internal/spawner"
	"gohub/internal/spawner/local"
)

// Entry describes one spawner class.
type Entry struct {
	// Names are what spawner_class accepts for it: upstream's entry-point name first, then the
	// class name and the Python import paths upstream configs use.
	Names []string
	// Class is the config section name, upstream's class name ("LocalProcessSpawner").
	Class string
	// Parents are the config sections it inherits from, most general first
	// (["Spawner", "LocalProcessSpawner"]); the most specific section wins, as with traitlets.
	Parents []string
	// NewConfig returns a pointer to the class's config struct filled with its defaults.
	NewConfig func() any
	// New validates a config made by NewConfig (and filled from the file) and returns the
	// factory of the class's Spawners.
	New func(cfg any, log *slog.Logger) (spawner.Factory, error)
}

// Entries lists every spawner, one line each. The first is the default (spawner_class unset).
var Entries = []Entry{
	entry([]string{"localprocess", "LocalProcessSpawner", "jupyterhub.spawner.LocalProcessSpawner", "default"}, "LocalProcessSpawner", local.DefaultConfig, local.New),
	entry([]string{"simple", "SimpleLocalProcessSpawner", "jupyterhub.spawner.SimpleLocalProcessSpawner"}, "SimpleLocalProcessSpawner", local.DefaultSimpleConfig, local.NewSimple, "LocalProcessSpawner"),
}

// Common is the base `Spawner` class: its section applies to every spawner. It has no Names (it
// cannot be selected) and no New.
var Common = Entry{
	Class:     "Spawner",
	NewConfig: func() any { c := spawner.DefaultConfig(); return &c },
}

// configPtr is what every spawner's config pointer is: it embeds spawner.Config, which gives it
// the promoted Common method.
type configPtr[C any] interface {
	*C
	Common() *spawner.Config
}

// entry builds a table row from a spawner package's default-config and New functions. parents
// are the sections between Spawner and the class itself, most general first.
func entry[C any, P configPtr[C]](names []string, class string, defaults func() P, open func(P, *slog.Logger) (spawner.Factory, error), parents ...string) Entry {
	return Entry{
		Names:     names,
		Class:     class,
		Parents:   append([]string{Common.Class}, parents...),
		NewConfig: func() any { return defaults() },
		New: func(cfg any, log *slog.Logger) (spawner.Factory, error) {
			c, ok := cfg.(P)
			if !ok || c == nil {
				return nil, fmt.Errorf("%s: config is %T, want %T", class, cfg, P(nil))
			}
			if log == nil {
				log = slog.New(slog.DiscardHandler)
			}
			return open(c, log)
		},
	}
}

// Plugin returns what spawner.NewManager needs: the entry with its loaded config.
func (e Entry) Plugin(cfg any) spawner.Plugin {
	return spawner.Plugin{Class: e.Class, Config: cfg, Open: e.New}
}

// Lookup finds the entry for a spawner_class value: an entry-point name, a class name or an
// import path ("jupyterhub.spawner:LocalProcessSpawner" is read as
// "jupyterhub.spawner.LocalProcessSpawner"). Case does not matter; "" is the default.
func Lookup(name string) (Entry, bool) {
	name = strings.ReplaceAll(strings.TrimSpace(name), ":", ".")
	if name == "" {
		return Entries[0], true
	}
	for _, e := range Entries {
		for _, n := range e.Names {
			if strings.EqualFold(n, name) {
				return e, true
			}
		}
	}
	return Entry{}, false
}

// Names lists the entry-point name of every spawner, comma-separated, for error messages.
func Names() string {
	names := make([]string, 0, len(Entries))
	for _, e := range Entries {
		names = append(names, e.Names[0])
	}
	return strings.Join(names, ", ")
}
