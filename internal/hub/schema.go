package hub

import (
	"fmt"
	"log/slog"

	"gohub/internal/auth"
	authreg "gohub/internal/auth/registry"
	"gohub/internal/config"
	"gohub/internal/recovery"
	spawnreg "gohub/internal/spawner/registry"
)

// chpClass is the config section of the external proxy.
const chpClass = "ConfigurableHTTPProxy"

// Schema lists every config class gohub knows, in the order generate-config prints them.
func Schema() *config.Schema {
	classes := []config.Class{
		{Name: "JupyterHub", New: func() any { return config.DefaultHub() }},
		{Name: chpClass, New: func() any { return DefaultCHPConfig() }},
		{Name: config.BuiltinProxyClass, New: func() any { return config.DefaultBuiltinProxy() }},
		{Name: revocationClass, New: func() any { return DefaultRevocationConfig() }},
		{Name: recovery.Class, New: func() any { return recovery.DefaultConfig() }},
	}
	seen := map[string]bool{}
	for _, e := range authreg.Bases() {
		if len(e.Parents) == 0 {
			seen[e.Class] = true
			classes = append(classes, config.Class{Name: e.Class, New: e.NewConfig})
			continue
		}
		classes = append(classes, pluginClasses(e.Class, e.Parents, e.NewConfig, authreg.Common.Class, seen)...)
	}
	for _, e := range authreg.Entries {
		cs := pluginClasses(e.Class, e.Parents, e.NewConfig, authreg.Common.Class, seen)
		if n := len(cs); n > 0 {
			cs[n-1].Mixins, cs[n-1].Refused = e.Mixins, e.Refused
		}
		classes = append(classes, cs...)
	}
	classes = append(classes, config.Class{Name: spawnreg.Common.Class, New: spawnreg.Common.NewConfig})
	for _, e := range spawnreg.Entries {
		classes = append(classes, pluginClasses(e.Class, e.Parents, e.NewConfig, spawnreg.Common.Class, seen)...)
	}
	return config.NewSchema(classes...)
}

// pluginClasses returns the config class of a plug-in, after any of its intermediate parents
// that are plug-ins of their own and not yet listed (their entries come with their own config).
func pluginClasses(class string, parents []string, newConfig func() any, root string, seen map[string]bool) []config.Class {
	if seen[class] {
		return nil
	}
	seen[class] = true
	parent := root
	if n := len(parents); n > 0 {
		parent = parents[n-1]
	}
	return []config.Class{{Name: class, Parent: parent, New: newConfig}}
}

// loaded is the decoded config: the JupyterHub section and the selected plug-ins.
type loaded struct {
	hub          *config.Hub
	authEntry    authreg.Entry
	auth         auth.Authenticator
	authCommon   *auth.Config
	spawnerEntry spawnreg.Entry
	spawnerCfg   any
	chp          *CHPConfig
	builtinProxy *config.BuiltinProxy
	revocation   *RevocationConfig
	recovery     *recovery.Config
}

// loadConfig validates the whole file and decodes the JupyterHub section and the sections of
// the selected authenticator, spawner and proxy.
func loadConfig(file *config.File, log *slog.Logger) (*loaded, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	schema := Schema()
	if err := file.Validate(schema); err != nil {
		return nil, err
	}
	l := &loaded{hub: config.DefaultHub()}
	if err := file.Decode(schema, "JupyterHub", l.hub); err != nil {
		return nil, err
	}
	var ok bool
	l.authEntry, ok = authreg.Lookup(l.hub.AuthenticatorClass)
	if !ok {
		return nil, fmt.Errorf("JupyterHub.authenticator_class: unknown authenticator %q (known: %s)", l.hub.AuthenticatorClass, authreg.Names())
	}
	acfg := l.authEntry.NewConfig()
	if err := file.Decode(schema, l.authEntry.Class, acfg); err != nil {
		return nil, err
	}
	var err error
	l.auth, l.authCommon, err = l.authEntry.New(acfg, log)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.authEntry.Class, err)
	}
	l.spawnerEntry, ok = spawnreg.Lookup(l.hub.SpawnerClass)
	if !ok {
		return nil, fmt.Errorf("JupyterHub.spawner_class: unknown spawner %q (known: %s)", l.hub.SpawnerClass, spawnreg.Names())
	}
	l.spawnerCfg = l.spawnerEntry.NewConfig()
	if err := file.Decode(schema, l.spawnerEntry.Class, l.spawnerCfg); err != nil {
		return nil, err
	}
	l.chp = DefaultCHPConfig()
	if err := file.Decode(schema, chpClass, l.chp); err != nil {
		return nil, err
	}
	l.builtinProxy = config.DefaultBuiltinProxy()
	if err := file.Decode(schema, config.BuiltinProxyClass, l.builtinProxy); err != nil {
		return nil, err
	}
	l.revocation = DefaultRevocationConfig()
	if err := file.Decode(schema, revocationClass, l.revocation); err != nil {
		return nil, err
	}
	l.recovery = recovery.DefaultConfig()
	if err := file.Decode(schema, recovery.Class, l.recovery); err != nil {
		return nil, err
	}
	if err := l.recovery.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", recovery.Class, err)
	}
	return l, nil
}
