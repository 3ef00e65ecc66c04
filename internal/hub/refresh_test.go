package hub

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gohub/internal/auth"
	"gohub/internal/authstate"
	"gohub/internal/spawner"
	"gohub/internal/store"
)

// refreshingAuth logs users in with groups and a token, and refreshes them from a table.
type refreshingAuth struct {
	next    map[string]*auth.Identity // what RefreshUser returns per user; missing: must log in again
	seen    []map[string]any          // the auth_state each refresh got
	refresh int
}

func (a *refreshingAuth) Authenticate(_ context.Context, c auth.Credentials) (*auth.Identity, error) {
	return &auth.Identity{Name: c.Username, Groups: []string{"physics"}, AuthState: map[string]any{"access_token": "tok-1"}}, nil
}

func (a *refreshingAuth) RefreshUser(_ context.Context, name string, state map[string]any) (*auth.Identity, error) {
	a.refresh++
	a.seen = append(a.seen, state)
	id, ok := a.next[name]
	if !ok {
		return nil, auth.ErrRejected
	}
	return id, nil
}

// Before a spawn (refresh_pre_spawn, even with auth_refresh_age 0) the authenticator refreshes
// the user from the decrypted auth_state; the new auth_state, groups and admin flag are kept and
// the spawn gets the new auth_state. A user who must log in again cannot spawn.
func TestRefreshBeforeSpawn(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "h.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := auth.DefaultConfig()
	cfg.ManageGroups, cfg.EnableAuthState, cfg.RefreshPreSpawn = true, true, true
	cfg.AuthRefreshAge = 0
	cfg.AllowAll = auth.Bool(true)
	a := &refreshingAuth{next: map[string]*auth.Identity{
		"dora": {Name: "dora", Admin: auth.Bool(true), Groups: []string{"staff"}, AuthState: map[string]any{"access_token": "tok-2"}},
	}}
	p, err := auth.NewPipeline(cfg, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	crypt, _ := authstate.New(strings.Repeat("cd", 32))
	l := loginAdapter{p: p, db: db, crypt: crypt}
	f := newRefresher(p, db, crypt, l, slog.New(slog.DiscardHandler))
	for _, name := range []string{"dora", "eve"} {
		if _, _, err := l.Login(ctx, nil, name, "pw", nil); err != nil {
			t.Fatal(err)
		}
	}
	dora, _ := db.GetUser(ctx, "dora")
	state, err := f.spawnAuthState(ctx, spawner.UserFromStore(dora))
	if err != nil {
		t.Fatal(err)
	}
	if state["access_token"] != "tok-2" {
		t.Errorf("spawn got auth_state %v", state)
	}
	if len(a.seen) != 1 || a.seen[0]["access_token"] != "tok-1" {
		t.Errorf("the refresh got %v", a.seen)
	}
	dora, _ = db.GetUser(ctx, "dora")
	if !dora.Admin || !slices.Equal(dora.Groups, []string{"staff"}) {
		t.Errorf("after refresh: admin %v groups %v", dora.Admin, dora.Groups)
	}

	eve, _ := db.GetUser(ctx, "eve")
	_, err = f.spawnAuthState(ctx, spawner.UserFromStore(eve))
	if !errors.Is(err, spawner.ErrBadRequest) || !strings.Contains(err.Error(), "authentication has expired") {
		t.Errorf("eve's spawn: %v", err)
	}
}

// downAuth is an authenticator whose back end does not answer refreshes.
type downAuth struct{ refreshingAuth }

func (a *downAuth) RefreshUser(context.Context, string, map[string]any) (*auth.Identity, error) {
	a.refresh++
	return nil, errors.New("no LDAP server answered")
}

// A refresh that fails because the back end is down keeps the session and is not tried again
// on every request: the user is due again only after refreshRetry.
func TestRefreshBackOffWhenDown(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "h.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := auth.DefaultConfig()
	cfg.AuthRefreshAge, cfg.EnableAuthState = 300, true
	cfg.AllowAll = auth.Bool(true)
	a := &downAuth{}
	p, err := auth.NewPipeline(cfg, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := loginAdapter{p: p, db: db}
	f := newRefresher(p, db, nil, l, slog.New(slog.DiscardHandler))
	fay, err := db.CreateUser(ctx, "fay", false)
	if err != nil {
		t.Fatal(err)
	}
	if !f.due("fay") {
		t.Fatal("never refreshed, yet not due")
	}
	if err := f.refresh(ctx, fay); err == nil || errors.Is(err, auth.ErrRejected) {
		t.Fatalf("refresh with the back end down: %v", err)
	}
	if f.due("fay") {
		t.Error("due again at once after a failed refresh: every request would wait for the dead back end")
	}
	f.mu.Lock()
	f.last["fay"] = f.last["fay"].Add(-refreshRetry)
	f.mu.Unlock()
	if !f.due("fay") {
		t.Error("not due again refreshRetry after the failure")
	}
	if a.refresh != 1 {
		t.Errorf("%d refreshes, want 1", a.refresh)
	}
}
