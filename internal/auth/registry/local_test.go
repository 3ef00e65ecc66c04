package registry_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"gohub/internal/auth/firstuse"
	"gohub/internal/auth/localvariant"
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

// TestLocalVariantSections: the Local* identity-provider variants take LocalAuthenticator's
// traits, except allowed_groups, which would be read as provider groups: that is a config error
// that names allowed_system_groups. Their own allowed_groups stays the provider's.
func TestLocalVariantSections(t *testing.T) {
	f, err := config.Parse("gohub_config.yaml", []byte(`
JupyterHub:
  authenticator_class: local-github
Authenticator:
  manage_groups: true
LocalAuthenticator:
  create_system_users: true
  add_user_cmd: [useradd, -m]
OAuthenticator:
  client_id: abc
GitHubOAuthenticator:
  allowed_organizations: [jupyterhub]
LocalGitHubOAuthenticator:
  allowed_groups: [hub-team]
  allowed_system_groups: [staff]
`))
	if err != nil {
		t.Fatal(err)
	}
	schema := hub.Schema()
	if err := f.Validate(schema); err != nil {
		t.Fatal(err)
	}
	e, _ := registry.Lookup("oauthenticator.github.LocalGitHubOAuthenticator")
	cfg := e.NewConfig().(*localvariant.GitHubConfig)
	if err := f.Decode(schema, e.Class, cfg); err != nil {
		t.Fatal(err)
	}
	if !cfg.CreateSystemUsers || !slices.Equal(cfg.AddUserCmd, []string{"useradd", "-m"}) || cfg.ClientID != "abc" ||
		!slices.Equal(cfg.AllowedOrganizations, []string{"jupyterhub"}) || !slices.Equal(cfg.GitHubConfig.AllowedGroups, []string{"hub-team"}) ||
		!slices.Equal(cfg.AllowedSystemGroups, []string{"staff"}) || !cfg.ManageGroups {
		t.Errorf("config = %+v", cfg)
	}
	if _, _, err := e.New(cfg, nil); err != nil {
		t.Errorf("New: %v", err)
	}

	for _, tc := range []struct{ class, yaml, want string }{
		{"local-github", "LocalAuthenticator:\n  allowed_groups: [staff]\n",
			"gohub_config.yaml:4: LocalAuthenticator.allowed_groups does not apply to LocalGitHubOAuthenticator: allowed_groups in the Local* OAuth classes are the provider's groups (OAuthenticator.allowed_groups, with manage_groups); set LocalGitHubOAuthenticator.allowed_system_groups for UNIX groups"},
		{"local-command", "LocalAuthenticator:\n  allowed_groups: [staff]\n",
			"LocalAuthenticator.allowed_groups does not apply to LocalCommandAuthenticator: UNIX groups are allowed_system_groups in every Local* variant"},
		{"local-ldap", "LocalAuthenticator:\n  allowed_groups: [staff]\n",
			"LocalAuthenticator.allowed_groups does not apply to LocalLDAPAuthenticator: allowed_groups in LocalLDAPAuthenticator are LDAP group DNs"},
	} {
		f, err := config.Parse("gohub_config.yaml", []byte("JupyterHub:\n  authenticator_class: "+tc.class+"\n"+tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		e, _ := registry.Lookup(tc.class)
		err = f.Decode(schema, e.Class, e.NewConfig())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Decode = %v, want %q", tc.class, err, tc.want)
		}
		// PAM still reads LocalAuthenticator.allowed_groups as UNIX groups.
		p, _ := registry.Lookup("pam")
		pcfg := p.NewConfig().(*pam.Config)
		if err := f.Decode(schema, p.Class, pcfg); err != nil || !slices.Equal(pcfg.AllowedGroups, []string{"staff"}) {
			t.Errorf("pam: %v %v", pcfg.AllowedGroups, err)
		}
	}

	// The variant's own allowed_groups without manage_groups: an error that points to
	// allowed_system_groups.
	e, _ = registry.Lookup("local-google")
	gcfg := e.NewConfig().(*localvariant.GoogleConfig)
	gcfg.GoogleConfig.AllowedGroups = []string{"staff"}
	if _, _, err := e.New(gcfg, nil); err == nil || !strings.Contains(err.Error(), "for UNIX groups set LocalGoogleOAuthenticator.allowed_system_groups") {
		t.Errorf("New(allowed_groups without manage_groups) = %v", err)
	}
	// A hostile name in uids is refused when the authenticator is built.
	lcfg := e.NewConfig().(*localvariant.GoogleConfig)
	lcfg.UIDs = map[string]int{"../x": 5000}
	if _, _, err := e.New(lcfg, nil); err == nil || !strings.Contains(err.Error(), "uids") {
		t.Errorf("New(uids ../x) = %v", err)
	}
}

// TestGenerateLocalVariants: generate-config documents every Local* variant: its system account
// traits, allowed_system_groups and why LocalAuthenticator.allowed_groups does not apply.
func TestGenerateLocalVariants(t *testing.T) {
	var buf bytes.Buffer
	if err := config.Generate(&buf, hub.Schema()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, e := range registry.Entries {
		if !strings.HasPrefix(e.Names[0], "local-") {
			continue
		}
		i := strings.Index(out, "## ---- "+e.Class+" (inherits the traits of LocalAuthenticator, ")
		if i < 0 {
			t.Errorf("no section for %s", e.Class)
			continue
		}
		section := out[i:]
		section = section[:strings.Index(section[1:], "## ----")+1]
		for _, want := range []string{
			"## LocalAuthenticator.allowed_groups does not apply to " + e.Class + ": ",
			"set " + e.Class + ".allowed_system_groups for UNIX groups",
			"#   create_system_users: false",
			"#   add_user_cmd: []",
			"#   allowed_system_groups: []",
		} {
			if !strings.Contains(section, want) {
				t.Errorf("%s section lacks %q:\n%s", e.Class, want, section)
			}
		}
	}
}
