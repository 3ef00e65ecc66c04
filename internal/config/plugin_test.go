package config_test

import (
	"bytes"
	"strings"
	"testing"

	"gohub/internal/auth"
	"gohub/internal/auth/dummy"
	"gohub/internal/config"
)

// The real authenticator config structs plug in as the package documentation says: the base
// Authenticator class and DummyAuthenticator, whose Config embeds it inline.
func authSchema() *config.Schema {
	return config.NewSchema(
		config.HubClassDef(),
		config.Class{Name: "Authenticator", New: func() any { c := auth.DefaultConfig(); return &c }},
		config.Class{Name: "DummyAuthenticator", Parent: "Authenticator", New: func() any { return dummy.DefaultConfig() }},
	)
}

func TestAuthenticatorPrecedence(t *testing.T) {
	f, err := config.Parse("gohub_config.yaml", []byte(`
JupyterHub:
  authenticator_class: dummy
Authenticator:
  admin_users: [admin]
  allowed_users: [alice, bob]
  otp_prompt: "Code:"
DummyAuthenticator:
  allowed_users: [carol]
  password: letmein1
`))
	if err != nil {
		t.Fatal(err)
	}
	s := authSchema()
	if err := f.Validate(s); err != nil {
		t.Fatal(err)
	}
	d := dummy.DefaultConfig()
	if err := f.Decode(s, "DummyAuthenticator", d); err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.AllowedUsers, ",") != "carol" || strings.Join(d.AdminUsers, ",") != "admin" ||
		d.OTPPrompt != "Code:" || d.Password != "letmein1" || d.AuthRefreshAge != 300 {
		t.Errorf("DummyAuthenticator config = %+v", d)
	}
	base := auth.DefaultConfig()
	if err := f.Decode(s, "Authenticator", &base); err != nil {
		t.Fatal(err)
	}
	if strings.Join(base.AllowedUsers, ",") != "alice,bob" {
		t.Errorf("Authenticator.allowed_users = %v", base.AllowedUsers)
	}
}

func TestAuthenticatorErrors(t *testing.T) {
	f, err := config.Parse("gohub_config.yaml", []byte("Authenticator:\n  allowed_user: [a]\n  password: x\nDummyAuthentcator:\n  password: y\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"gohub_config.yaml:2: unknown trait Authenticator.allowed_user (did you mean Authenticator.allowed_users?)",
		"gohub_config.yaml:3: unknown trait Authenticator.password",
		"gohub_config.yaml:4: unknown class DummyAuthentcator (did you mean DummyAuthenticator?)",
	}, "\n")
	if err := f.Validate(authSchema()); err == nil || err.Error() != want {
		t.Errorf("Validate:\n%v\nwant:\n%s", err, want)
	}
}

func TestGenerateWithAuthenticators(t *testing.T) {
	var buf bytes.Buffer
	if err := config.Generate(&buf, authSchema()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# Authenticator:\n#   admin_users: []   # Users that get admin rights",
		"# DummyAuthenticator:\n#   password: \"\"   # Deprecated",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("generated config lacks %q", want)
		}
	}
	if _, err := config.Parse("g.yaml", buf.Bytes()); err != nil {
		t.Errorf("generated config does not parse: %v", err)
	}
}
