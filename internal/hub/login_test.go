package hub

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gohub/internal/auth"
	"gohub/internal/authstate"
	"gohub/internal/store"
)

// idpAuth is an authenticator that answers like an identity provider: groups and auth_state.
type idpAuth struct{ groups []string }

func (a *idpAuth) Authenticate(_ context.Context, c auth.Credentials) (*auth.Identity, error) {
	if c.Password != "right" {
		return nil, auth.ErrRejected
	}
	return &auth.Identity{Name: c.Username, Groups: a.groups,
		AuthState: map[string]any{"access_token": "tok-" + c.Username}}, nil
}

// TestLoginKeepsGroupsAndAuthState: with manage_groups and enable_auth_state a login writes the
// user's groups exactly and its auth_state encrypted (no token in clear in the database).
func TestLoginKeepsGroupsAndAuthState(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "h.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := auth.DefaultConfig()
	cfg.ManageGroups, cfg.EnableAuthState = true, true
	cfg.AllowAll = auth.Bool(true)
	idp := &idpAuth{groups: []string{"physics", "staff"}}
	p, err := auth.NewPipeline(cfg, idp, func(context.Context, string) (bool, error) { return false, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	crypt, err := authstate.New(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	invalidated := 0
	l := loginAdapter{p: p, db: db, crypt: crypt, invalidate: func() { invalidated++ }}
	r := httptest.NewRequest("POST", "/hub/login", nil)

	if _, _, err := l.Login(ctx, r, "dora", "wrong", nil); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, err := db.GetUser(ctx, "dora"); err == nil {
		t.Error("a refused login created the user")
	}
	if _, _, err := l.Login(ctx, r, "dora", "right", nil); err != nil {
		t.Fatal(err)
	}
	u, err := db.GetUser(ctx, "dora")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.Groups, []string{"physics", "staff"}) {
		t.Errorf("groups after login = %v", u.Groups)
	}
	if len(u.EncryptedAuthState) == 0 || strings.Contains(string(u.EncryptedAuthState), "tok-dora") {
		t.Errorf("auth_state not stored encrypted: %q", u.EncryptedAuthState)
	}
	state, err := crypt.Decrypt(ctx, u.EncryptedAuthState)
	if err != nil || state["access_token"] != "tok-dora" {
		t.Errorf("auth_state = %v, %v", state, err)
	}

	idp.groups = []string{"staff"}
	if _, _, err := l.Login(ctx, r, "dora", "right", nil); err != nil {
		t.Fatal(err)
	}
	u, _ = db.GetUser(ctx, "dora")
	if !slices.Equal(u.Groups, []string{"staff"}) {
		t.Errorf("groups after the provider dropped physics = %v, want [staff]", u.Groups)
	}
	if invalidated != 2 {
		t.Errorf("API cache invalidated %d times, want 2", invalidated)
	}
}
