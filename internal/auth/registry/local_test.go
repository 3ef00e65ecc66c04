package registry_test

import (
	"slices"
	"testing"

	"gohub/internal/auth/firstuse"
	"gohub/internal/auth/pam"
	"gohub/internal/auth/registry"
	"gohub/internal/config"
	"gohub/internal/hub"
)

// TestLocalAuthenticatorSection: LocalAuthenticator traits reach PAM and FirstUse, the most
// specific section wins, and Authenticator traits come through both levels.
func TestLocalAuthenticatorSection(t *testing.T) {
	f, err := config.Parse("gohub_config.yaml", []byte(`
JupyterHub:
  authenticator_class: firstuse
Authenticator:
  admin_users: [root]
  failed_logins_before_lockout: 7
LocalAuthenticator:
  create_system_users: true
  add_user_cmd: [useradd, --create-home, --gid, jupyterhub-users, --shell, /bin/bash]
  allowed_groups: [staff]
FirstUseAuthenticator:
  allowed_groups: [wheel]
  min_password_length: 9
PAMAuthenticator:
  service: gohub-x
`))
	if err != nil {
		t.Fatal(err)
	}
	schema := hub.Schema()
	if err := f.Validate(schema); err != nil {
		t.Fatal(err)
	}
	e, _ := registry.Lookup("firstuse")
	cfg := e.NewConfig().(*firstuse.Config)
	if err := f.Decode(schema, e.Class, cfg); err != nil {
		t.Fatal(err)
	}
	if !cfg.CreateSystemUsers || cfg.AddUserCmd[3] != "jupyterhub-users" || !slices.Equal(cfg.AllowedGroups, []string{"wheel"}) ||
		cfg.MinPasswordLength != 9 || !slices.Equal(cfg.AdminUsers, []string{"root"}) || cfg.FailedLoginsBeforeLockout != 7 {
		t.Errorf("firstuse config = %+v", cfg)
	}
	p, _ := registry.Lookup("pam")
	pcfg := p.NewConfig().(*pam.Config)
	if err := f.Decode(schema, p.Class, pcfg); err != nil {
		t.Fatal(err)
	}
	if pcfg.Service != "gohub-x" || !pcfg.CreateSystemUsers || !slices.Equal(pcfg.AllowedGroups, []string{"staff"}) || !pcfg.CheckAccount {
		t.Errorf("pam config = %+v", pcfg)
	}
}
