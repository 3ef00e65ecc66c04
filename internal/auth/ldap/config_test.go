package ldap_test

import (
	"slices"
	"strings"
	"testing"

	"gohub/internal/auth/ldap"
	"gohub/internal/auth/registry"
	"gohub/internal/config"
	"gohub/internal/hub"
)

// decode reads a config file with an LDAPAuthenticator section the way the hub does.
func decode(t *testing.T, yaml string) (*ldap.Config, error) {
	t.Helper()
	f, err := config.Parse("gohub_config.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	schema := hub.Schema()
	if err := f.Validate(schema); err != nil {
		return nil, err
	}
	e, ok := registry.Lookup("ldapauthenticator.LDAPAuthenticator")
	if !ok {
		t.Fatal("ldap is not in the registry")
	}
	cfg := e.NewConfig().(*ldap.Config)
	return cfg, f.Decode(schema, e.Class, cfg)
}

func TestConfigFile(t *testing.T) {
	cfg, err := decode(t, `
JupyterHub:
  authenticator_class: ldap
Authenticator:
  admin_users: [root]
LDAPAuthenticator:
  server_address: ldap.example.org
  bind_dn_template: uid={username},ou=people,dc=example,dc=org
  allowed_groups: ["cn=jupyter,ou=groups,dc=example,dc=org"]
  tls_kwargs: {ca_certs_file: /etc/ssl/ldap-ca.pem}
`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.BindDNTemplate, ldap.StringList{"uid={username},ou=people,dc=example,dc=org"}) ||
		!slices.Equal(cfg.ServerAddress, ldap.StringList{"ldap.example.org"}) || cfg.TLSStrategy != ldap.BeforeBind ||
		!slices.Equal(cfg.AdminUsers, []string{"root"}) || cfg.TLSKwargs["ca_certs_file"] != "/etc/ssl/ldap-ca.pem" {
		t.Errorf("decoded %+v", cfg)
	}

	cfg, err = decode(t, `
LDAPAuthenticator:
  server_address: 10.0.0.5
  tls_strategy: on_connect
  bind_dn_template:
    - uid={username},ou=people,dc=example,dc=org
    - uid={username},ou=staff,dc=example,dc=org
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.BindDNTemplate) != 2 || cfg.TLSStrategy != ldap.OnConnect {
		t.Errorf("decoded %+v", cfg)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]string{
		"LDAPAuthenticator:\n  bind_dn_template: uid={username},dc=x\n":                                                                                       "server_address: must be set",
		"LDAPAuthenticator:\n  server_address: ldap\n":                                                                                                        "set bind_dn_template, or lookup_dn",
		"LDAPAuthenticator:\n  server_address: ldap://ldap:389\n  bind_dn_template: uid={username},dc=x\n":                                                    "without scheme",
		"LDAPAuthenticator:\n  server_address: ldap\n  tls_strategy: starttls\n  bind_dn_template: uid={username}\n":                                          "before_bind, on_connect or insecure",
		"LDAPAuthenticator:\n  server_address: ldap\n  bind_dn_template: uid=alice,dc=x\n":                                                                    "has no {username}",
		"LDAPAuthenticator:\n  server_address: ldap\n  lookup_dn: true\n":                                                                                     "lookup_dn needs user_search_base",
		"LDAPAuthenticator:\n  server_address: ldap\n  bind_dn_template: [1, 2]\n":                                                                            "bind_dn_template",
		"LDAPAuthenticator:\n  server_address: ldap\n  bind_dn_template: uid={username}\n  valid_username_regex: '['\n":                                       "valid_username_regex",
		"LDAPAuthenticator:\n  server_address: ldap\n  bind_dn_template: uid={username}\n  allowed_groups: [cn=x]\n  group_search_filter: (member={userdn}\n": "not a valid LDAP filter",
		"LDAPAuthenticator:\n  server_address: ldap\n  bind_dn_template: uid={username}\n  tls_kwargs: {validate: 0}\n":                                       "tls_kwargs",
		"LDAPAuthenticator:\n  server_address: ldap\n  bind_dn_template: uid={username}\n  lookup_dn_search_user: cn=search\n":                                "go together",
		"LDAPAuthenticator:\n  server_address: ldap\n  bind_dn_template: uid={username}\n  allowed_groups: ['not a dn']\n":                                    "is not a DN",
	}
	// The trap of YAML flow lists: an unquoted DN is split at its commas.
	cases["LDAPAuthenticator:\n  server_address: ldap\n  bind_dn_template: uid={username}\n  allowed_groups: [cn=jupyter,ou=groups,dc=example,dc=org]\n"] = "quote each DN"
	for yaml, want := range cases {
		_, err := decode(t, yaml)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", yaml, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), "gohub_config.yaml:") {
			t.Errorf("%s: error %v does not name the file and line", yaml, err)
		}
	}

	// New refuses what cannot work even with the defaults otherwise accepted.
	cfg := ldap.DefaultConfig()
	cfg.TLSCAFile = "/nonexistent/ca.pem"
	if _, err := ldap.New(cfg, nil); err == nil || !strings.Contains(err.Error(), "tls_ca_file") {
		t.Errorf("New with a missing CA file: %v", err)
	}
	if _, err := ldap.New(ldap.DefaultConfig(), nil); err != nil {
		t.Errorf("New with the defaults: %v", err)
	}
}
