package storetest

import (
	"testing"
	"time"

	"gohub/internal/store"
)

// listFixture creates users with known activity, groups and one active server:
//
//	id order: carol(t+2h, active) alice(t+0) Bob_1(nil) dave(t+1h) e%ve(nil)
func listFixture(t *testing.T, db *store.DB) {
	ctx := t.Context()
	for i, n := range []string{"carol", "alice", "Bob_1", "dave", "e%ve"} {
		u := must(db.CreateUser(ctx, n, false))
		switch i {
		case 0:
			ok(t, db.TouchUser(ctx, u.ID, at(2*time.Hour)))
			sp := must(db.EnsureSpawner(ctx, u.ID, ""))
			ok(t, db.SetSpawnerServer(ctx, sp.ID, &store.Server{IP: "127.0.0.1", Port: 1}))
			must(db.EnsureSpawner(ctx, u.ID, "stopped"))
		case 1:
			ok(t, db.TouchUser(ctx, u.ID, at(0)))
		case 3:
			ok(t, db.TouchUser(ctx, u.ID, at(time.Hour)))
			must(db.EnsureSpawner(ctx, u.ID, "idle"))
		}
	}
	must(db.CreateGroups(ctx, []string{"staff"}, []string{"alice", "dave"}))
	must(db.CreateGroups(ctx, []string{"ops"}, []string{"dave"}))
}

func testListUsers(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	listFixture(t, db)
	cases := []struct {
		name  string
		q     store.UserQuery
		want  []string
		total int
	}{
		{"all by id", store.UserQuery{}, []string{"carol", "alice", "Bob_1", "dave", "e%ve"}, 5},
		{"-id", store.UserQuery{Sort: "-id"}, []string{"e%ve", "dave", "Bob_1", "alice", "carol"}, 5},
		{"name", store.UserQuery{Sort: "name"}, []string{"Bob_1", "alice", "carol", "dave", "e%ve"}, 5},
		{"-name", store.UserQuery{Sort: "-name"}, []string{"e%ve", "dave", "carol", "alice", "Bob_1"}, 5},
		{"last_activity nulls last", store.UserQuery{Sort: "last_activity"},
			[]string{"alice", "dave", "carol", "Bob_1", "e%ve"}, 5},
		{"-last_activity nulls last", store.UserQuery{Sort: "-last_activity"},
			[]string{"carol", "dave", "alice", "e%ve", "Bob_1"}, 5},
		{"page", store.UserQuery{Offset: 1, Limit: 2}, []string{"alice", "Bob_1"}, 5},
		{"page past end", store.UserQuery{Offset: 10, Limit: 2}, []string{}, 5},
		{"filter case-insensitive", store.UserQuery{NameFilter: "BOB"}, []string{"Bob_1"}, 1},
		{"filter percent is literal", store.UserQuery{NameFilter: "%"}, []string{"e%ve"}, 1},
		{"filter underscore is literal", store.UserQuery{NameFilter: "b_"}, []string{"Bob_1"}, 1},
		{"filter substring", store.UserQuery{NameFilter: "a"}, []string{"carol", "alice", "dave"}, 3},
		{"active", store.UserQuery{State: "active"}, []string{"carol"}, 1},
		{"inactive paged", store.UserQuery{State: "inactive", Limit: 2}, []string{"alice", "Bob_1"}, 4},
		{"filter+sort+page", store.UserQuery{NameFilter: "a", Sort: "-name", Offset: 1, Limit: 1},
			[]string{"carol"}, 3},
	}
	for _, c := range cases {
		users, total, err := db.ListUsers(ctx, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		eqList(t, c.name, names(users), c.want)
		eq(t, c.name+" total", total, c.total)
	}

	// Users come with groups, roles and spawners (default first).
	users, _, err := db.ListUsers(ctx, store.UserQuery{})
	ok(t, err)
	carol, dave := users[0], users[3]
	eqList(t, "dave groups", dave.Groups, []string{"ops", "staff"})
	if len(carol.Spawners) != 2 || carol.Spawners[0].Name != "" || carol.Spawners[0].Server == nil ||
		carol.Spawners[1].Name != "stopped" || carol.Spawners[1].Server != nil {
		t.Errorf("carol spawners = %+v", carol.Spawners)
	}
	if len(dave.Spawners) != 1 || dave.Spawners[0].Name != "idle" {
		t.Errorf("dave spawners = %+v", dave.Spawners)
	}
	if la := users[1].LastActivity; la == nil || !la.Equal(at(0)) {
		t.Errorf("alice last activity = %v", la)
	}

	for _, q := range []store.UserQuery{{Sort: "bogus"}, {State: "running"}} {
		if _, _, err := db.ListUsers(ctx, q); err == nil {
			t.Errorf("ListUsers(%+v) accepted", q)
		}
	}
}

func testListUsersRestrict(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	listFixture(t, db)
	cases := []struct {
		name string
		q    store.UserQuery
		want []string
	}{
		{"nothing allowed", store.UserQuery{Restrict: true}, []string{}},
		{"names", store.UserQuery{Restrict: true, Names: []string{"e%ve", "alice", "ghost"}},
			[]string{"alice", "e%ve"}},
		{"groups", store.UserQuery{Restrict: true, Groups: []string{"staff"}}, []string{"alice", "dave"}},
		{"names or groups", store.UserQuery{Restrict: true, Names: []string{"carol"}, Groups: []string{"ops"}},
			[]string{"carol", "dave"}},
		{"restrict and filter", store.UserQuery{Restrict: true, Groups: []string{"staff"}, NameFilter: "d"},
			[]string{"dave"}},
	}
	for _, c := range cases {
		users, total, err := db.ListUsers(ctx, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		eqList(t, c.name, names(users), c.want)
		eq(t, c.name+" total", total, len(c.want))
	}
}
