package rbac

import "testing"

var selfExpected = []string{
	"read:users", "read:users:name", "read:users:groups", "read:users:activity", "users:activity",
	"servers", "read:servers", "start:servers", "delete:servers", "tokens", "read:tokens",
	"access:servers", "users:shares", "read:users:shares", "read:shares",
}

var adminExpected = []string{
	"admin-ui",
	"admin:users", "admin:auth_state", "users", "read:users", "read:users:name", "read:users:groups",
	"read:users:activity", "list:users", "users:activity", "read:roles:users", "delete:users",
	"admin:servers", "admin:server_state", "servers", "read:servers", "start:servers", "delete:servers",
	"admin:services", "list:services", "read:services", "read:services:name", "read:roles:services",
	"tokens", "read:tokens",
	"admin:groups", "groups", "read:groups", "read:groups:name", "list:groups", "read:roles:groups", "delete:groups",
	"read:hub", "proxy", "shutdown", "access:services", "access:servers",
	"read:roles", "read:metrics",
	"shares", "read:shares", "users:shares", "read:users:shares", "groups:shares", "read:groups:shares",
}

// TestDefaultRoleExpansion expands every default role for a user, a service and a server's client.
func TestDefaultRoleExpansion(t *testing.T) {
	c := mustCatalog(t, nil)
	role := func(name string) []string {
		r, ok := DefaultRole(name)
		if !ok {
			t.Fatalf("no default role %s", name)
		}
		return r.Scopes
	}
	srvClient := Client{Server: "alice/"}
	cases := []struct {
		name   string
		role   string
		owner  Owner
		client Client
		want   []string
	}{
		{"user role for alice", RoleUser, alice, Client{}, withFilter("user=alice", selfExpected...)},
		{"user role for a service drops self", RoleUser, cull, Client{}, nil},
		{"user role without owner", RoleUser, Owner{}, Client{}, nil},
		{"admin role", RoleAdmin, alice, Client{}, adminExpected},
		{"admin role for a service", RoleAdmin, cull, Client{}, adminExpected},
		{"server role with spawner client", RoleServer, alice, srvClient,
			[]string{"users:activity!user=alice", "read:users:activity!user=alice", "access:servers!server=alice/"}},
		{"server role without client drops !server", RoleServer, alice, Client{},
			[]string{"users:activity!user=alice", "read:users:activity!user=alice"}},
		{"server role for a service drops both", RoleServer, cull, Client{}, nil},
		{"token role expands to nothing here (inherit is TokenScopes' business)", RoleToken, alice, Client{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantSet(t, tc.role, c.Expand(role(tc.role), tc.owner, tc.client), tc.want)
		})
	}
	if got := len(adminExpected); got != len(NewSet(adminExpected...)) {
		t.Fatalf("adminExpected has duplicates")
	}
}

func TestDefaultRolesExact(t *testing.T) {
	want := map[string][]string{
		"user":   {"self"},
		"admin":  {"admin-ui", "admin:users", "admin:servers", "admin:services", "tokens", "admin:groups", "list:services", "read:services", "read:hub", "proxy", "shutdown", "access:services", "access:servers", "read:roles", "read:metrics", "shares"},
		"server": {"users:activity!user", "access:servers!server"},
		"token":  {"inherit"},
	}
	roles := DefaultRoles()
	if len(roles) != len(want) {
		t.Fatalf("got %d default roles", len(roles))
	}
	for _, r := range roles {
		wantSet(t, r.Name, NewSet(r.Scopes...), want[r.Name])
		if r.Description == "" {
			t.Errorf("role %s has no description", r.Name)
		}
	}
	// The slices are fresh each time: callers may modify them.
	roles[0].Scopes[0] = "x"
	if DefaultRoles()[0].Scopes[0] != "self" {
		t.Error("DefaultRoles shares its slices")
	}
}

func TestExpandFilters(t *testing.T) {
	c := mustCatalog(t, nil)
	svcClient := Client{Service: "announce"}
	cases := []struct {
		name   string
		raw    []string
		owner  Owner
		client Client
		want   []string
	}{
		{"explicit user filter kept on subscopes", []string{"users!user=bob"}, alice, Client{},
			withFilter("user=bob", "users", "read:users", "list:users", "users:activity", "read:users:name", "read:users:groups", "read:users:activity")},
		{"group filter kept", []string{"read:users!group=physics"}, alice, Client{},
			withFilter("group=physics", "read:users", "read:users:name", "read:users:groups", "read:users:activity")},
		{"server filter drops read:users* subscopes", []string{"admin:servers!server=bob/gpu"}, alice, Client{},
			withFilter("server=bob/gpu", "admin:servers", "admin:server_state", "servers", "read:servers", "start:servers", "delete:servers")},
		{"read:users under a server filter vanishes", []string{"read:users!server=bob/", "read:users:shares!server=bob/"}, alice, Client{}, nil},
		{"server placeholder from client", []string{"servers!server"}, alice, Client{Server: "alice/lab"},
			withFilter("server=alice/lab", "servers", "read:servers", "start:servers", "delete:servers")},
		{"user placeholder", []string{"read:users:name!user"}, alice, Client{}, []string{"read:users:name!user=alice"}},
		{"user placeholder unresolvable for a service", []string{"read:users:name!user"}, cull, Client{}, nil},
		{"service placeholder from owner", []string{"read:services!service"}, cull, Client{},
			[]string{"read:services!service=culler", "read:services:name!service=culler"}},
		{"service placeholder: client beats owner", []string{"access:services!service"}, cull, svcClient,
			[]string{"access:services!service=announce"}},
		{"service placeholder from a user's client", []string{"access:services!service"}, alice, svcClient,
			[]string{"access:services!service=announce"}},
		{"service placeholder unresolvable", []string{"access:services!service"}, alice, Client{}, nil},
		{"unfiltered absorbs filtered", []string{"read:users!user=bob", "users"}, alice, Client{},
			[]string{"users", "read:users", "list:users", "users:activity", "read:users:name", "read:users:groups", "read:users:activity"}},
		{"self plus unfiltered", []string{"self", "access:servers"}, bob, Client{},
			append(withFilter("user=bob", "read:users", "read:users:name", "read:users:groups", "read:users:activity", "users:activity",
				"servers", "read:servers", "start:servers", "delete:servers", "tokens", "read:tokens",
				"users:shares", "read:users:shares", "read:shares"), "access:servers")},
		{"unknown and malformed dropped", []string{"nope", "read:users!bogus=1", "read:users!user=", "self!user=x", "inherit", "read:hub!group"}, alice, Client{}, nil},
		{"no_scope label", []string{"(no_scope)"}, alice, Client{}, []string{"(no_scope)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantSet(t, "expanded", c.Expand(tc.raw, tc.owner, tc.client), tc.want)
		})
	}
}
