package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gohub/internal/auth"
)

// TestReloadLists: a reload swaps the name lists for the next login and reports the changes;
// a bad list changes nothing; run-time blocks refuse a login like blocked_users.
func TestReloadLists(t *testing.T) {
	ctx := context.Background()
	cfg := auth.DefaultConfig()
	cfg.FailedLoginsBeforeLockout = 0
	cfg.AdminUsers = []string{"Root"}
	cfg.AllowedUsers = []string{"alice", "bob"}
	cfg.AllowExistingUsers = auth.Bool(false)
	a := &scripted{id: &auth.Identity{Name: "alice"}}
	p, err := auth.NewPipeline(cfg, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	login := func(name string) error {
		a.id = &auth.Identity{Name: name}
		_, err := p.Login(ctx, auth.Credentials{Username: name, Password: "x"})
		return err
	}
	if err := login("bob"); err != nil {
		t.Fatalf("bob before reload: %v", err)
	}

	next := cfg
	next.AdminUsers = []string{"root", "carol"}
	next.AllowedUsers = []string{"alice"}
	next.BlockedUsers = []string{"Alice"}
	next.AllowExistingUsers = nil // resolved again: true, allowed_users is set
	ch, err := p.ReloadLists(next)
	if err != nil {
		t.Fatal(err)
	}
	want := auth.ListChanges{Blocked: []string{"alice"}, AdminsAdded: []string{"carol"},
		AllowedRemoved: []string{"bob"}, AllowExistingChanged: true}
	if d := cmp.Diff(want, ch); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	for _, name := range []string{"alice", "bob"} {
		if err := login(name); !errors.Is(err, auth.ErrRejected) {
			t.Errorf("%s after reload: %v, want refused", name, err)
		}
	}
	if err := login("carol"); err != nil {
		t.Errorf("carol, a new admin: %v", err)
	}
	if !p.IsBlocked("alice") || !p.IsAdminUser("carol") || p.Config().BlockedUsers[0] != "Alice" {
		t.Errorf("lists after reload: blocked %v admins %v", p.BlockedUsers(), p.AdminUsers())
	}

	bad := next
	bad.BlockedUsers = []string{"a/b"}
	if _, err := p.ReloadLists(bad); err == nil {
		t.Error("a list with an invalid name was accepted")
	}
	if !p.IsBlocked("alice") {
		t.Error("a refused reload changed the lists")
	}

	p.Block("carol")
	if err := login("carol"); !errors.Is(err, auth.ErrRejected) || !p.IsBlocked("carol") {
		t.Errorf("carol blocked at run time: %v", err)
	}
	if ok, _ := p.IsAllowed(ctx, "carol"); ok {
		t.Error("a blocked admin is allowed")
	}
	p.Unblock("carol")
	if err := login("carol"); err != nil {
		t.Errorf("carol unblocked: %v", err)
	}
	p.SetBlocked([]string{"root"})
	if !p.IsBlocked("root") || p.IsBlocked("carol") {
		t.Error("SetBlocked did not replace the run-time set")
	}

	// An invited account is allowed like allowed_users, until the user is deleted.
	if err := login("dora"); !errors.Is(err, auth.ErrRejected) {
		t.Errorf("dora before her invitation: %v", err)
	}
	p.Invite("dora")
	if err := login("dora"); err != nil {
		t.Errorf("dora, invited: %v", err)
	}
	p.DeleteUser(ctx, "dora")
	if ok, _ := p.IsAllowed(ctx, "dora"); ok {
		t.Error("a deleted invited user is still allowed")
	}
	p.SetInvited([]string{"erin"})
	if ok, _ := p.IsAllowed(ctx, "erin"); !ok {
		t.Error("SetInvited did not allow erin")
	}
}

// revokerFunc adapts a function to auth.Revoker.
type revokerFunc func(ctx context.Context, name, reason string) error

func (f revokerFunc) RevokeUser(ctx context.Context, name, reason string) error {
	return f(ctx, name, reason)
}

// revoking is an authenticator that keeps the hub's Revoker (as Native's un-authorize will).
type revoking struct {
	scripted
	r auth.Revoker
}

func (r *revoking) UseRevoker(rv auth.Revoker) { r.r = rv }

// TestUseRevoker: the hub's Revoker reaches an authenticator that asks for it and the pipeline.
func TestUseRevoker(t *testing.T) {
	a := &revoking{}
	p, err := auth.NewPipeline(auth.DefaultConfig(), a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Revoke(context.Background(), "x", "test"); !errors.Is(err, auth.ErrNoRevoker) {
		t.Errorf("Revoke before UseRevoker: %v", err)
	}
	var got []string
	p.UseRevoker(revokerFunc(func(_ context.Context, name, reason string) error {
		got = append(got, name+":"+reason)
		return nil
	}))
	if a.r == nil {
		t.Fatal("the authenticator did not get the revoker")
	}
	a.r.RevokeUser(context.Background(), "dora", "un-authorized")
	p.Revoke(context.Background(), "eve", "test")
	if d := cmp.Diff([]string{"dora:un-authorized", "eve:test"}, got); d != "" {
		t.Errorf("revocations (-want +got):\n%s", d)
	}
}
