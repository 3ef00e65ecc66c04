package null_test

import (
	"errors"
	"testing"

	"gohub/internal/auth"
	"gohub/internal/auth/null"
)

func TestRefusesEverything(t *testing.T) {
	cfg := null.DefaultConfig()
	if !cfg.AutoLogin || cfg.LoginService != "null" {
		t.Errorf("defaults: auto_login=%v login_service=%q, want true and null", cfg.AutoLogin, cfg.LoginService)
	}
	a, err := null.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var _ auth.FormlessAuthenticator = a
	for _, c := range []auth.Credentials{{}, {Username: "alice", Password: "pw"}, {Username: "admin"}} {
		id, err := a.Authenticate(t.Context(), c)
		if id != nil || !errors.Is(err, auth.ErrRejected) {
			t.Errorf("Authenticate(%q) = %+v, %v; want ErrRejected", c.Username, id, err)
		}
	}
	// Even with every allow rule on, the pipeline lets no one in.
	cfg.AllowAll = auth.Bool(true)
	cfg.AdminUsers = []string{"admin"}
	p, err := auth.NewPipeline(cfg.Config, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Login(t.Context(), auth.Credentials{Username: "admin", Password: "pw"}); err != auth.ErrRejected {
		t.Errorf("Login = %v, want ErrRejected", err)
	}
	if p.LoginForm() || !p.AutoLogin() {
		t.Errorf("LoginForm=%v AutoLogin=%v, want false true", p.LoginForm(), p.AutoLogin())
	}
}
