package storetest

import (
	"testing"

	"gohub/internal/store"
)

func roleNames(rs []*store.Role) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func testRoles(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	must(db.CreateUser(ctx, "alice", false))
	must(db.CreateUser(ctx, "bob", false))
	must(db.CreateGroups(ctx, []string{"g"}, nil))
	must(db.UpsertService(ctx, store.Service{Name: "svc"}))

	r := must(db.UpsertRole(ctx, store.Role{Name: "reader", Description: "reads",
		Scopes: []string{"read:users", "list:users!group=g"}}))
	eq(t, "description", r.Description, "reads")
	eqList(t, "scopes", r.Scopes, []string{"read:users", "list:users!group=g"})
	eqList(t, "users", r.Users, []string{})

	ok(t, db.SetRoleMembers(ctx, "reader", []string{"bob", "alice"}, []string{"g"}, []string{"svc"}))
	r = must(db.GetRole(ctx, "reader"))
	eqList(t, "users", r.Users, []string{"alice", "bob"})
	eqList(t, "groups", r.Groups, []string{"g"})
	eqList(t, "services", r.Services, []string{"svc"})

	// Upsert keeps members.
	r = must(db.UpsertRole(ctx, store.Role{Name: "reader", Scopes: []string{"read:groups"}, ManagedByAuth: true}))
	eqList(t, "scopes updated", r.Scopes, []string{"read:groups"})
	eq(t, "managed", r.ManagedByAuth, true)
	eq(t, "description updated", r.Description, "")
	eqList(t, "users kept", r.Users, []string{"alice", "bob"})

	// A missing member changes nothing.
	wantErr(t, db.SetRoleMembers(ctx, "reader", []string{"alice"}, nil, []string{"ghost"}), store.ErrNotFound)
	r = must(db.GetRole(ctx, "reader"))
	eqList(t, "users after failure", r.Users, []string{"alice", "bob"})
	eqList(t, "services after failure", r.Services, []string{"svc"})
	wantErr(t, db.SetRoleMembers(ctx, "nope", nil, nil, nil), store.ErrNotFound)

	ok(t, db.SetRoleMembers(ctx, "reader", []string{"alice"}, nil, nil))
	r = must(db.GetRole(ctx, "reader"))
	eqList(t, "users replaced", r.Users, []string{"alice"})
	eqList(t, "groups emptied", r.Groups, []string{})

	ok(t, db.GrantRole(ctx, "reader", store.KindUser, "bob"))
	ok(t, db.GrantRole(ctx, "reader", store.KindUser, "bob"))
	ok(t, db.GrantRole(ctx, "reader", store.KindService, "svc"))
	r = must(db.GetRole(ctx, "reader"))
	eqList(t, "granted", r.Users, []string{"alice", "bob"})
	eqList(t, "granted service", r.Services, []string{"svc"})
	eqList(t, "bob roles", must(db.GetUser(ctx, "bob")).Roles, []string{"reader"})
	eqList(t, "svc roles", must(db.GetService(ctx, "svc")).Roles, []string{"reader"})
	ok(t, db.RevokeRole(ctx, "reader", store.KindUser, "bob"))
	ok(t, db.RevokeRole(ctx, "reader", store.KindUser, "bob"))
	eqList(t, "revoked", must(db.GetRole(ctx, "reader")).Users, []string{"alice"})
	wantErr(t, db.GrantRole(ctx, "reader", store.KindUser, "ghost"), store.ErrNotFound)
	wantErr(t, db.GrantRole(ctx, "nope", store.KindUser, "bob"), store.ErrNotFound)
	wantErr(t, db.RevokeRole(ctx, "reader", store.KindGroup, "nope"), store.ErrNotFound)
	if err := db.GrantRole(ctx, "reader", "robot", "bob"); err == nil {
		t.Error("unknown member kind accepted")
	}

	must(db.UpsertRole(ctx, store.Role{Name: "alpha"}))
	eqList(t, "ListRoles", roleNames(must(db.ListRoles(ctx))), []string{"alpha", "reader"})
	rs := must(db.ListRoles(ctx))
	eqList(t, "listed members", rs[1].Users, []string{"alice"})

	ok(t, db.DeleteRole(ctx, "reader"))
	wantErr(t, db.DeleteRole(ctx, "reader"), store.ErrNotFound)
	_, err := db.GetRole(ctx, "reader")
	wantErr(t, err, store.ErrNotFound)
	eqList(t, "alice roles after delete", must(db.GetUser(ctx, "alice")).Roles, []string{})
}

func testRolesOf(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	alice := must(db.CreateUser(ctx, "alice", false))
	bob := must(db.CreateUser(ctx, "bob", false))
	must(db.CreateGroups(ctx, []string{"g1", "g2"}, []string{"alice"}))
	svc := must(db.UpsertService(ctx, store.Service{Name: "svc"}))
	for _, n := range []string{"own", "both", "viagroup", "svcrole"} {
		must(db.UpsertRole(ctx, store.Role{Name: n, Scopes: []string{"scope-" + n}}))
	}
	ok(t, db.GrantRole(ctx, "own", store.KindUser, "alice"))
	ok(t, db.GrantRole(ctx, "both", store.KindUser, "alice"))
	ok(t, db.GrantRole(ctx, "both", store.KindGroup, "g1"))
	ok(t, db.GrantRole(ctx, "viagroup", store.KindGroup, "g1"))
	ok(t, db.GrantRole(ctx, "viagroup", store.KindGroup, "g2"))
	ok(t, db.GrantRole(ctx, "svcrole", store.KindService, "svc"))

	rs := must(db.RolesOf(ctx, store.KindUser, alice.ID))
	eqList(t, "alice", roleNames(rs), []string{"both", "own", "viagroup"})
	eqList(t, "scopes", rs[0].Scopes, []string{"scope-both"})
	eqList(t, "bob", roleNames(must(db.RolesOf(ctx, store.KindUser, bob.ID))), []string{})
	eqList(t, "svc", roleNames(must(db.RolesOf(ctx, store.KindService, svc.ID))), []string{"svcrole"})
	if _, err := db.RolesOf(ctx, "robot", 1); err == nil {
		t.Error("unknown kind accepted")
	}
}
