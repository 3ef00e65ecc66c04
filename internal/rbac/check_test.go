package rbac

import "testing"

func TestCheck(t *testing.T) {
	c := mustCatalog(t, nil)
	aliceSelf := c.Expand([]string{"self"}, alice, Client{})
	admin := c.Expand(DefaultRoles()[1].Scopes, alice, Client{})
	teacher := c.Expand([]string{"admin:servers!group=physics", "read:users!group=physics", "list:users!group=physics"}, bob, Client{})
	serverTok := NewSet("access:servers!server=alice/", "users:activity!user=alice", "read:users:activity!user=alice")
	unexpanded := NewSet("admin:users", "servers!user=carol")
	rawServerRead := NewSet("read:servers!server=alice/")

	inPhysics := []string{"physics"}
	cases := []struct {
		name     string
		set      Set
		required []string
		target   Target
		want     Decision
	}{
		{"self reads own user", aliceSelf, []string{"read:users"}, Target{User: "alice"}, Allowed},
		{"self: other user is 404", aliceSelf, []string{"read:users"}, Target{User: "bob"}, NotFound},
		{"self: own default server via !user", aliceSelf, []string{"servers"}, Target{User: "alice", Server: "alice/"}, Allowed},
		{"self: own named server via !user", aliceSelf, []string{"delete:servers"}, Target{Server: "alice/gpu"}, Allowed},
		{"self: bob's server 404", aliceSelf, []string{"servers"}, Target{Server: "bob/"}, NotFound},
		{"self: no list:users", aliceSelf, []string{"list:users"}, Target{}, Forbidden},
		{"self: admin:users not held at all", aliceSelf, []string{"admin:users"}, Target{User: "bob"}, Forbidden},
		{"self: unfiltered request with filtered scope is 403", aliceSelf, []string{"read:users"}, Target{}, Forbidden},
		{"self: any of", aliceSelf, []string{"admin:users", "read:users"}, Target{User: "alice"}, Allowed},
		{"any of: 404 beats 403", aliceSelf, []string{"admin:users", "read:users"}, Target{User: "bob"}, NotFound},
		{"admin everything", admin, []string{"admin:server_state"}, Target{Server: "bob/x"}, Allowed},
		{"admin group", admin, []string{"delete:groups"}, Target{Group: "physics"}, Allowed},
		{"admin has no custom", admin, []string{"custom:x:y"}, Target{User: "bob"}, Forbidden},
		{"group filter covers member", teacher, []string{"read:users"}, Target{User: "alice", UserGroups: inPhysics}, Allowed},
		{"group filter covers member's server", teacher, []string{"admin:server_state"}, Target{Server: "alice/", UserGroups: inPhysics}, Allowed},
		{"group filter: non-member 404", teacher, []string{"read:users"}, Target{User: "carol", UserGroups: []string{"chem"}}, NotFound},
		{"group filter matches group target", teacher, []string{"read:users"}, Target{Group: "physics"}, Allowed},
		{"group filter: other group 404", teacher, []string{"read:users"}, Target{Group: "chem"}, NotFound},
		{"group-filtered read:users:name: non-member 404", teacher, []string{"read:users:name"}, Target{User: "carol"}, NotFound},
		{"server token: its server", serverTok, []string{"access:servers"}, Target{Server: "alice/"}, Allowed},
		{"server token: named server is 404", serverTok, []string{"access:servers"}, Target{Server: "alice/gpu"}, NotFound},
		{"server filter does not cover the user", serverTok, []string{"access:servers"}, Target{User: "alice"}, NotFound},
		{"server token: activity", serverTok, []string{"users:activity"}, Target{User: "alice"}, Allowed},
		{"server token: no read:users", serverTok, []string{"read:users"}, Target{User: "alice"}, Forbidden},
		{"service filter", NewSet("read:services!service=culler"), []string{"read:services"}, Target{Service: "culler"}, Allowed},
		{"service filter other 404", NewSet("read:services!service=culler"), []string{"read:services"}, Target{Service: "x"}, NotFound},
		{"user filter does not match a service of the same name", NewSet("read:services!user=culler"), []string{"read:services"}, Target{Service: "culler"}, NotFound},
		{"superscope unexpanded implies subscope", unexpanded, []string{"read:users:activity"}, Target{User: "zed"}, Allowed},
		{"filtered superscope unexpanded", unexpanded, []string{"read:servers"}, Target{Server: "carol/"}, Allowed},
		{"filtered superscope unexpanded: other 404", unexpanded, []string{"start:servers"}, Target{Server: "dave/"}, NotFound},
		{"server-filtered read:servers implies no read:users:name", rawServerRead, []string{"read:users:name"}, Target{Server: "alice/"}, Forbidden},
		{"server-filtered read:servers: read:users:name on a user is 403, as expanded", rawServerRead, []string{"read:users:name"}, Target{User: "bob"}, Forbidden},
		{"empty set", Set{}, []string{"read:hub"}, Target{}, Forbidden},
		{"nil set", nil, []string{"read:users"}, Target{User: "a"}, Forbidden},
		{"no required scopes", admin, nil, Target{}, Forbidden},
		{"prefix is not a filter", NewSet("read:users:name!user=alice"), []string{"read:users"}, Target{User: "bob"}, Forbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.set.Check(tc.required, tc.target); got != tc.want {
				t.Errorf("Check(%v, %+v) = %v, want %v", tc.required, tc.target, got, tc.want)
			}
			if len(tc.required) == 1 {
				if got := tc.set.Has(tc.required[0], tc.target); got != (tc.want == Allowed) {
					t.Errorf("Has = %v", got)
				}
			}
		})
	}
}

func TestCheckLongNamesAndNoAllocs(t *testing.T) {
	long := make([]byte, 400)
	for i := range long {
		long[i] = 'x'
	}
	name := string(long)
	s := NewSet("read:users!user="+name, "servers!group=g")
	if !s.Has("read:users", Target{User: name}) {
		t.Error("long user name not matched")
	}
	tgt := Target{Server: "alice/gpu", UserGroups: []string{"a", "b", "g"}}
	allocs := testing.AllocsPerRun(100, func() {
		if s.Check([]string{"delete:servers"}, tgt) != Allowed {
			t.Fatal("not allowed")
		}
		if s.Check([]string{"tokens"}, Target{User: "bob"}) != Forbidden {
			t.Fatal("not forbidden")
		}
	})
	if allocs != 0 {
		t.Errorf("Check allocates %v times", allocs)
	}
}

func TestListFilter(t *testing.T) {
	c := mustCatalog(t, nil)
	cases := []struct {
		name                    string
		set                     Set
		scope                   string
		held, all               bool
		users, groups, services []string
	}{
		{"admin", c.Expand([]string{"admin:users"}, alice, Client{}), "list:users", true, true, nil, nil, nil},
		{"self has none", c.Expand([]string{"self"}, alice, Client{}), "list:users", false, false, nil, nil, nil},
		{"filtered", NewSet("list:users!user=b", "list:users!user=a", "list:users!group=g", "list:users!user=a"), "list:users", true, false, []string{"a", "b"}, []string{"g"}, nil},
		{"superscope counts", NewSet("users!user=z"), "list:users", true, false, []string{"z"}, nil, nil},
		{"groups", NewSet("list:groups!group=g1", "list:services"), "list:groups", true, false, nil, []string{"g1"}, nil},
		{"services", NewSet("list:services!service=s1", "list:groups"), "list:services", true, false, nil, nil, []string{"s1"}},
		{"server filter held but reaches nobody", NewSet("list:users!server=a/"), "list:users", true, false, nil, nil, nil},
	}
	for _, tc := range cases {
		held, all, users, groups, services := tc.set.ListFilter(tc.scope)
		if held != tc.held || all != tc.all || !eq(users, tc.users) || !eq(groups, tc.groups) || !eq(services, tc.services) {
			t.Errorf("%s: ListFilter = %v %v %v %v %v", tc.name, held, all, users, groups, services)
		}
	}
}

func eq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestModelKeys(t *testing.T) {
	c := mustCatalog(t, nil)
	keys := func(m map[string]bool) Set {
		s := Set{}
		for k, v := range m {
			if v {
				s[k] = struct{}{}
			}
		}
		return s
	}
	aliceTok := c.Expand([]string{"read:users:name!user=alice", "read:users:groups!user=alice", "access:servers!server=alice/"}, alice, Client{})
	wantSet(t, "identify keys", keys(aliceTok.UserModelKeys(Target{User: "alice"})), []string{"kind", "name", "admin", "groups", "user_info"})
	wantSet(t, "other user invisible", keys(aliceTok.UserModelKeys(Target{User: "bob"})), nil)
	self := c.Expand([]string{"self"}, alice, Client{})
	wantSet(t, "self keys", keys(self.UserModelKeys(Target{User: "alice", Server: "ignored/"})),
		[]string{"kind", "name", "admin", "roles", "groups", "server", "pending", "created", "last_activity", "servers", "user_info"})
	admin := c.Expand(DefaultRoles()[1].Scopes, alice, Client{})
	wantSet(t, "admin keys", keys(admin.UserModelKeys(Target{User: "bob"})),
		[]string{"kind", "name", "admin", "roles", "groups", "server", "pending", "created", "last_activity", "servers", "user_info", "auth_state"})
	wantSet(t, "activity only", keys(NewSet("read:users:activity!group=g").UserModelKeys(Target{User: "x", UserGroups: []string{"g"}})),
		[]string{"kind", "name", "last_activity"})
	wantSet(t, "group keys", keys(admin.GroupModelKeys(Target{Group: "g"})), []string{"kind", "name", "users", "properties", "roles"})
	wantSet(t, "group name only", keys(NewSet("read:groups:name!group=g").GroupModelKeys(Target{Group: "g"})), []string{"kind", "name"})
	wantSet(t, "service keys", keys(admin.ServiceModelKeys(Target{Service: "s"})),
		[]string{"kind", "name", "admin", "roles", "url", "prefix", "command", "pid", "info", "display"})
	wantSet(t, "service identify", keys(NewSet("read:services:name!service=s").ServiceModelKeys(Target{Service: "s"})), []string{"kind", "name", "admin"})
	wantSet(t, "roles only", keys(NewSet("read:roles:services").ServiceModelKeys(Target{Service: "s"})), []string{"kind", "name", "admin", "roles"})
}

func TestHasAny(t *testing.T) {
	cases := []struct {
		set   Set
		scope string
		want  bool
	}{
		{NewSet("list:users!group=g"), "list:users", true},
		{NewSet("list:users"), "list:users", true},
		{NewSet("users!user=a"), "list:users", true},
		{NewSet("read:users:name"), "list:users", false},
		{NewSet("users!server=a/"), "read:users", false},
		{NewSet("users!user=a"), "read:users", true},
		{NewSet("list:groups"), "list:users", false},
	}
	for _, tc := range cases {
		if got := tc.set.HasAny(tc.scope); got != tc.want {
			t.Errorf("%v.HasAny(%s) = %v", tc.set.Sorted(), tc.scope, got)
		}
	}
}
