package auth_test

import (
	"context"
	"errors"
	"testing"

	"gohub/internal/auth"
)

// plainAuth accepts any name and is not auth.SelfNamed: it stands for PAM, which vouches for
// the system account itself.
type plainAuth struct{}

func (plainAuth) Authenticate(_ context.Context, c auth.Credentials) (*auth.Identity, error) {
	return &auth.Identity{Name: c.Username}, nil
}

// Authenticators where people choose their own name refuse system accounts at login with a
// message saying why, typed in any case; a person's name and an authenticator that vouches
// for the account (not SelfNamed) are not affected.
func TestSelfNamedRefuseSystemAccounts(t *testing.T) {
	cfg := auth.DefaultConfig()
	cfg.AllowAll = auth.Bool(true)
	for _, c := range []struct {
		name string
		a    auth.Authenticator
		pw   string
	}{{"dummy", dummyAuth(t, ""), "x"}, {"shared-password", sharedAuth(t, "a-long-user-password", ""), "a-long-user-password"}} {
		p, err := auth.NewPipeline(cfg, c.a, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"root", "daemon", "ROOT"} {
			_, err := p.Login(t.Context(), auth.Credentials{Username: name, Password: c.pw})
			var shown *auth.Rejection
			if !errors.As(err, &shown) || shown.Message == "" || !errors.Is(err, auth.ErrRejected) {
				t.Errorf("%s: login as %s: %v", c.name, name, err)
			}
		}
		if id, err := p.Login(t.Context(), auth.Credentials{Username: "alice", Password: c.pw}); err != nil || id.Name != "alice" {
			t.Errorf("%s: alice: %v, %v", c.name, id, err)
		}
	}
	p, err := auth.NewPipeline(cfg, plainAuth{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := p.Login(t.Context(), auth.Credentials{Username: "daemon", Password: "x"}); err != nil || id.Name != "daemon" {
		t.Errorf("not self-named: daemon: %v, %v", id, err)
	}
	if err := auth.RefuseSystemAccount("no-such-user-gohub"); err != nil {
		t.Errorf("unknown name: %v", err)
	}
}
