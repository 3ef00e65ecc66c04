package storetest

import (
	"testing"

	"gohub/internal/store"
)

func testGroups(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	for _, n := range []string{"bob", "alice", "carol"} {
		must(db.CreateUser(ctx, n, false))
	}
	gs := must(db.CreateGroups(ctx, []string{"g1", "g2"}, []string{"bob", "alice"}))
	if len(gs) != 2 || gs[0].Name != "g1" || gs[1].Name != "g2" {
		t.Fatalf("created %+v", gs)
	}
	eqList(t, "g1 users", gs[0].Users, []string{"alice", "bob"})
	eqList(t, "g1 roles", gs[0].Roles, []string{})
	if gs[0].Properties == nil || len(gs[0].Properties) != 0 {
		t.Errorf("properties = %v, want empty map", gs[0].Properties)
	}
	eqList(t, "alice groups", must(db.GetUser(ctx, "alice")).Groups, []string{"g1", "g2"})

	g := must(db.AddGroupMembers(ctx, "g1", []string{"carol", "alice"}))
	eqList(t, "after add", g.Users, []string{"alice", "bob", "carol"})
	g = must(db.RemoveGroupMembers(ctx, "g1", []string{"bob", "carol"}))
	eqList(t, "after remove", g.Users, []string{"alice"})
	g = must(db.SetGroupProperties(ctx, "g1", map[string]any{"course": "math", "n": 3.0}))
	eq(t, "property", g.Properties["course"], any("math"))
	g = must(db.GetGroup(ctx, "g1"))
	eq(t, "property read back", g.Properties["n"], any(3.0))
	g = must(db.SetGroupProperties(ctx, "g1", map[string]any{"x": true}))
	if len(g.Properties) != 1 || g.Properties["x"] != true {
		t.Errorf("properties not replaced: %v", g.Properties)
	}
	must(db.UpsertRole(ctx, store.Role{Name: "r"}))
	ok(t, db.GrantRole(ctx, "r", store.KindGroup, "g1"))
	eqList(t, "group roles", must(db.GetGroup(ctx, "g1")).Roles, []string{"r"})

	ok(t, db.DeleteGroup(ctx, "g1"))
	wantErr(t, db.DeleteGroup(ctx, "g1"), store.ErrNotFound)
	_, err := db.GetGroup(ctx, "g1")
	wantErr(t, err, store.ErrNotFound)
	eqList(t, "alice groups after delete", must(db.GetUser(ctx, "alice")).Groups, []string{"g2"})
	eqList(t, "role groups after delete", must(db.GetRole(ctx, "r")).Groups, []string{})
}

func testGroupsAllOrNothing(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	must(db.CreateUser(ctx, "alice", false))
	must(db.CreateGroups(ctx, []string{"old"}, nil))

	_, err := db.CreateGroups(ctx, []string{"new1", "old", "new2"}, []string{"alice"})
	wantErr(t, err, store.ErrExists)
	_, err = db.CreateGroups(ctx, []string{"new1"}, []string{"alice", "ghost"})
	wantErr(t, err, store.ErrNotFound)
	gs, total, err := db.ListGroups(ctx, store.GroupQuery{})
	ok(t, err)
	eq(t, "groups after failures", total, 1)
	eq(t, "only group", gs[0].Name, "old")
	eqList(t, "alice groups", must(db.GetUser(ctx, "alice")).Groups, []string{})

	_, err = db.AddGroupMembers(ctx, "old", []string{"alice", "ghost"})
	wantErr(t, err, store.ErrNotFound)
	eqList(t, "members after failed add", must(db.GetGroup(ctx, "old")).Users, []string{})
	_, err = db.AddGroupMembers(ctx, "nope", []string{"alice"})
	wantErr(t, err, store.ErrNotFound)
	must(db.AddGroupMembers(ctx, "old", []string{"alice"}))
	_, err = db.RemoveGroupMembers(ctx, "old", []string{"alice", "ghost"})
	wantErr(t, err, store.ErrNotFound)
	eqList(t, "members after failed remove", must(db.GetGroup(ctx, "old")).Users, []string{"alice"})
	_, err = db.SetGroupProperties(ctx, "nope", map[string]any{})
	wantErr(t, err, store.ErrNotFound)
}

func testListGroups(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	must(db.CreateUser(ctx, "alice", false))
	must(db.CreateGroups(ctx, []string{"c", "a", "b"}, []string{"alice"}))
	groupNames := func(gs []*store.Group) []string {
		out := []string{}
		for _, g := range gs {
			out = append(out, g.Name)
		}
		return out
	}
	cases := []struct {
		q     store.GroupQuery
		want  []string
		total int
	}{
		{store.GroupQuery{}, []string{"c", "a", "b"}, 3},
		{store.GroupQuery{Offset: 1, Limit: 1}, []string{"a"}, 3},
		{store.GroupQuery{Offset: 5, Limit: 1}, []string{}, 3},
		{store.GroupQuery{Restrict: true, Names: []string{"b", "c", "zz"}}, []string{"c", "b"}, 2},
		{store.GroupQuery{Restrict: true}, []string{}, 0},
	}
	for _, c := range cases {
		gs, total, err := db.ListGroups(ctx, c.q)
		ok(t, err)
		eqList(t, "groups", groupNames(gs), c.want)
		eq(t, "total", total, c.total)
		for _, g := range gs {
			eqList(t, g.Name+" users", g.Users, []string{"alice"})
		}
	}
}
