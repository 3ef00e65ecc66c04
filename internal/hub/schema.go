package hub

import (
	"fmt"
	"log/slog"

	"gohub/internal/auth"
	"gohub/internal/auth/registry"
	"gohub/internal/config"
)

// Schema lists every config class gohub knows, in the order generate-config prints them.
func Schema() *config.Schema {
	classes := []config.Class{
		{Name: "JupyterHub", New: func() any { return config.DefaultHub() }},
	}
	for _, b := range registry.Bases() { // Authenticator, LocalAuthenticator
		parent := ""
		if n := len(b.Parents); n > 0 {
			parent = b.Parents[n-1]
		}
		classes = append(classes, config.Class{Name: b.Class, Parent: parent, New: b.NewConfig})
	}
	for _, e := range registry.Entries {
		parent := "Authenticator"
		if n := len(e.Parents); n > 0 {
			parent = e.Parents[n-1]
		}
		classes = append(classes, config.Class{Name: e.Class, Parent: parent, New: e.NewConfig})
	}
	return config.NewSchema(classes...)
}

// loadConfig validates the whole file and decodes the JupyterHub section and the selected
// authenticator's sections.
func loadConfig(file *config.File, log *slog.Logger) (*config.Hub, registry.Entry, auth.Authenticator, *auth.Config, error) {
	schema := Schema()
	var none registry.Entry
	if err := file.Validate(schema); err != nil {
		return nil, none, nil, nil, err
	}
	cfg := config.DefaultHub()
	if err := file.Decode(schema, "JupyterHub", cfg); err != nil {
		return nil, none, nil, nil, err
	}
	entry, ok := registry.Lookup(cfg.AuthenticatorClass)
	if !ok {
		return nil, none, nil, nil, fmt.Errorf("JupyterHub.authenticator_class: unknown authenticator %q (known: %s)", cfg.AuthenticatorClass, registry.Names())
	}
	acfg := entry.NewConfig()
	if err := file.Decode(schema, entry.Class, acfg); err != nil {
		return nil, none, nil, nil, err
	}
	a, common, err := entry.New(acfg, log)
	if err != nil {
		return nil, none, nil, nil, fmt.Errorf("%s: %w", entry.Class, err)
	}
	return cfg, entry, a, common, nil
}
