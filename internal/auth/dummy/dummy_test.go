package dummy_test

import (
	"errors"
	"testing"

	"go.yaml.in/yaml/v3"

	"gohub/internal/auth"
	"gohub/internal/auth/dummy"
)

func TestAuthenticate(t *testing.T) {
	tests := []struct {
		name, password string // configured password
		user, given    string
		ok             bool
	}{
		{name: "no password: anything goes", user: "alice", given: "whatever", ok: true},
		{name: "no password: empty password", user: "alice", given: "", ok: true},
		{name: "no username", user: "", given: "x"},
		{name: "right password", password: "letmein", user: "alice", given: "letmein", ok: true},
		{name: "wrong password", password: "letmein", user: "alice", given: "letmeout"},
		{name: "prefix of the password", password: "letmein", user: "alice", given: "letme"},
		{name: "empty password given", password: "letmein", user: "alice", given: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := dummy.DefaultConfig()
			cfg.Password = tt.password
			a, err := dummy.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			id, err := a.Authenticate(t.Context(), auth.Credentials{Username: tt.user, Password: tt.given})
			if tt.ok {
				if err != nil || id == nil || id.Name != tt.user || id.Admin != nil {
					t.Fatalf("Authenticate = %+v, %v; want %s with admin unchanged", id, err, tt.user)
				}
				return
			}
			if !errors.Is(err, auth.ErrRejected) || id != nil {
				t.Fatalf("Authenticate = %+v, %v; want ErrRejected", id, err)
			}
		})
	}
}

// TestAllowAllDefault checks upstream's dynamic default through the pipeline: anyone may log in
// unless allowed_users is set, and an explicit allow_all wins.
func TestAllowAllDefault(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		user    string
		allowed bool
	}{
		{name: "default", yaml: "{}", user: "anyone", allowed: true},
		{name: "allowed_users set", yaml: "allowed_users: [alice]", user: "anyone"},
		{name: "allowed_users set, listed", yaml: "allowed_users: [alice]", user: "alice", allowed: true},
		{name: "allow_all false", yaml: "allow_all: false", user: "anyone"},
		{name: "allow_all true with allowed_users", yaml: "{allow_all: true, allowed_users: [alice]}", user: "anyone", allowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := dummy.DefaultConfig()
			if err := yaml.Unmarshal([]byte(tt.yaml), cfg); err != nil {
				t.Fatal(err)
			}
			a, err := dummy.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			p, err := auth.NewPipeline(cfg.Config, a, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Login(t.Context(), auth.Credentials{Username: tt.user, Password: "x"})
			if (err == nil) != tt.allowed {
				t.Fatalf("Login(%s) = %v, want allowed=%v", tt.user, err, tt.allowed)
			}
		})
	}
}

func TestConfigFromYAML(t *testing.T) {
	cfg := dummy.DefaultConfig()
	src := "password: pw\nadmin_users: [root]\nauth_refresh_age: 60\n"
	if err := yaml.Unmarshal([]byte(src), cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Password != "pw" || len(cfg.AdminUsers) != 1 || cfg.AdminUsers[0] != "root" || cfg.AuthRefreshAge != 60 || cfg.OTPPrompt != "OTP:" {
		t.Errorf("decoded %+v", cfg)
	}
}

func TestWarnings(t *testing.T) {
	a, _ := dummy.New(dummy.DefaultConfig())
	if w := a.ConfigWarnings(auth.DefaultConfig()); len(w) != 1 {
		t.Errorf("warnings without password = %q, want the testing warning", w)
	}
	cfg := dummy.DefaultConfig()
	cfg.Password = "pw"
	a, _ = dummy.New(cfg)
	if w := a.ConfigWarnings(auth.DefaultConfig()); len(w) != 2 {
		t.Errorf("warnings with password = %q, want the testing and deprecation warnings", w)
	}
	if _, err := dummy.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}
