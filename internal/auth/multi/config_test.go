package multi_test

import (
	"path/filepath"
	"strings"
	"testing"

	"gohub/internal/config"
	"gohub/internal/hub"
)

// validate parses yaml as gohub_config.yaml and validates it against the hub's schema.
func validate(t *testing.T, yaml string) error {
	t.Helper()
	file, err := config.Parse("gohub_config.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return file.Validate(hub.Schema())
}

// A source's config is checked as strictly as a section of its own: an unknown or misspelt key,
// a value of the wrong type and the class's own rules are errors at the line that has them.
func TestSourceConfigStrict(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", `
MultiAuthenticator:
  authenticators:
    - class: dummy
    - class: ldap
      config:
        server_address: ldap.example.org
        bind_dn_template: "uid={username},dc=example"
        server_adress: typo
`, []string{"gohub_config.yaml:9: unknown key MultiAuthenticator.authenticators[1].config.server_adress", "did you mean server_address?"}},
		{"wrong type", `
MultiAuthenticator:
  authenticators:
    - class: firstuse
      config:
        min_password_length: eight
`, []string{"gohub_config.yaml:6: MultiAuthenticator.authenticators[0].config.min_password_length: expected an integer"}},
		{"class rules", `
MultiAuthenticator:
  authenticators:
    - class: ldap
      config:
        server_address: "ldap://x"
        bind_dn_template: "uid={username},dc=example"
`, []string{"gohub_config.yaml:6: MultiAuthenticator.authenticators[0].config.server_address: give a host name"}},
		{"ldap without server", `
MultiAuthenticator:
  authenticators:
    - class: ldap
      config: {bind_dn_template: "uid={username},dc=example"}
`, []string{"MultiAuthenticator.authenticators[0].config.server_address: must be set"}},
		{"unknown entry key", `
MultiAuthenticator:
  authenticators:
    - class: dummy
      lable: Staff
`, []string{"gohub_config.yaml:5: unknown key MultiAuthenticator.authenticators[0].lable", "did you mean label?"}},
		{"unknown class", `
MultiAuthenticator:
  authenticators:
    - class: dummy
    - class: kerberos
`, []string{"gohub_config.yaml:5: MultiAuthenticator.authenticators[1].class: unknown authenticator class \"kerberos\""}},
		{"no class", `
MultiAuthenticator:
  authenticators:
    - label: Staff
`, []string{"MultiAuthenticator.authenticators[0].class: is required"}},
		{"nested multi", `
MultiAuthenticator:
  authenticators:
    - class: multi
`, []string{"cannot contain another one"}},
		{"null", `
MultiAuthenticator:
  authenticators:
    - class: "null"
`, []string{"null authenticator has no way to log in"}},
		{"same name", `
MultiAuthenticator:
  authenticators:
    - class: github
    - class: github
`, []string{"gohub_config.yaml:5: MultiAuthenticator.authenticators[1].name: \"github\" is also the name of authenticators[0]"}},
		{"bad names", `
MultiAuthenticator:
  authenticators:
    - class: dummy
      name: "Staff Members"
      prefix: "GH-"
      url_prefix: "a/b"
`, []string{"authenticators[0].name: \"Staff Members\" must be lowercase", "authenticators[0].prefix: \"GH-\" must be lowercase", "authenticators[0].url_prefix: \"a/b\" must be one path segment"}},
		{"map from nowhere", `
MultiAuthenticator:
  authenticators:
    - class: dummy
      map_users_from: [staff]
`, []string{"gohub_config.yaml:5: MultiAuthenticator.authenticators[0].map_users_from: \"staff\" is not the name of another source"}},
		{"auto login", `
MultiAuthenticator:
  auto_login: true
  authenticators: [{class: dummy}]
`, []string{"MultiAuthenticator.auto_login: cannot be used with several sources"}},
		{"config not a mapping", `
MultiAuthenticator:
  authenticators:
    - class: dummy
      config: [1, 2]
`, []string{"gohub_config.yaml:5: MultiAuthenticator.authenticators[0].config: expected a mapping"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(t, tc.yaml)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestValidConfig(t *testing.T) {
	err := validate(t, `
JupyterHub: {authenticator_class: multi}
MultiAuthenticator:
  allowed_users: [gh-alice]
  authenticators:
    - {class: dummy, name: staff, label: "Staff", config: {password: "a-long-password"}}
    - {class: GitHubOAuthenticator, label: GitHub, prefix: gh-, url_prefix: github, config: {client_id: x, client_secret: y}}
    - {class: native, prefix: guest-, config: {enable_signup: true}, map_users_from: [staff]}
`)
	if err != nil {
		t.Fatal(err)
	}
}

// Two OAuth providers at the same url_prefix would register the same oauth_callback: the hub
// refuses to start and says what to do.
func TestPagesClash(t *testing.T) {
	dir := t.TempDir()
	file, err := config.Parse("gohub_config.yaml", []byte(`
JupyterHub:
  authenticator_class: multi
  db_url: sqlite:///`+filepath.Join(dir, "hub.sqlite")+`
MultiAuthenticator:
  authenticators:
    - {class: github, config: {client_id: x, client_secret: y}}
    - {class: gitlab, config: {client_id: x, client_secret: y}}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"JPY_COOKIE_SECRET": strings.Repeat("ab", 32)}
	h, err := hub.New(t.Context(), file, hub.Options{Getenv: func(k string) string { return env[k] }})
	if err == nil {
		h.Close()
		t.Fatal("hub started with two OAuth sources on the same paths")
	}
	if !strings.Contains(err.Error(), "authenticators[1] (gitlab): its pages clash") || !strings.Contains(err.Error(), "url_prefix") {
		t.Errorf("error = %v", err)
	}
}
