package auth_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"gohub/internal/auth"
)

// refresher answers refreshes from a table; a missing name must log in again.
type refresher struct{ ids map[string]*auth.Identity }

func (r refresher) Authenticate(context.Context, auth.Credentials) (*auth.Identity, error) {
	return nil, auth.ErrRejected
}

func (r refresher) RefreshUser(_ context.Context, name string, _ map[string]any) (*auth.Identity, error) {
	if id, ok := r.ids[name]; ok {
		return id, nil
	}
	return nil, errors.New("provider down")
}

// Pipeline.Refresh applies a login's policy to what the authenticator refreshed: a name now
// blocked or no longer allowed must log in again, admin_users stay admin, groups only with
// manage_groups, nothing without enable_auth_state; provider errors are not refusals.
func TestPipelineRefresh(t *testing.T) {
	ids := map[string]*auth.Identity{
		"ann":  {Name: "renamed", Admin: auth.Bool(false), Groups: []string{"b", "a", "a"}, AuthState: map[string]any{"t": 2}},
		"bob":  {Name: "bob"},
		"carl": {Name: "carl"},
		"dee":  nil,
	}
	cfg := auth.DefaultConfig()
	cfg.EnableAuthState, cfg.ManageGroups = true, true
	cfg.AdminUsers = []string{"ann"}
	cfg.AllowedUsers = []string{"ann", "bob", "carl"}
	cfg.BlockedUsers = []string{"carl"}
	p, err := auth.NewPipeline(cfg, refresher{ids}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.CanRefresh() || p.RefreshPreSpawn() { // refresh_pre_spawn is off by default outside OAuth
		t.Errorf("CanRefresh %v RefreshPreSpawn %v", p.CanRefresh(), p.RefreshPreSpawn())
	}
	id, err := p.Refresh(t.Context(), "ann", nil)
	if err != nil || id.Name != "ann" || id.Admin == nil || !*id.Admin || !slices.Equal(id.Groups, []string{"a", "b"}) || id.AuthState["t"] != 2 {
		t.Errorf("ann: %+v, %v", id, err)
	}
	if id, err := p.Refresh(t.Context(), "dee", nil); id != nil || err != nil {
		t.Errorf("up to date: %+v, %v", id, err)
	}
	if _, err := p.Refresh(t.Context(), "carl", nil); !errors.Is(err, auth.ErrRejected) {
		t.Errorf("blocked carl: %v", err)
	}
	if _, err := p.Refresh(t.Context(), "eve", nil); err == nil || errors.Is(err, auth.ErrRejected) {
		t.Errorf("provider down: %v", err)
	}
	ids["frank"] = &auth.Identity{Name: "frank"}
	if _, err := p.Refresh(t.Context(), "frank", nil); !errors.Is(err, auth.ErrRejected) {
		t.Errorf("frank is not allowed: %v", err)
	}

	cfg.EnableAuthState = false
	p, _ = auth.NewPipeline(cfg, refresher{ids}, nil, nil)
	if id, err := p.Refresh(t.Context(), "ann", nil); id != nil || err != nil || p.CanRefresh() {
		t.Errorf("without auth_state: %+v, %v", id, err)
	}
}
