package rbac

import (
	"slices"
	"testing"
)

func groupsFrom(m map[string][]string) func(string) []string {
	return func(u string) []string { return m[u] }
}

func TestIntersect(t *testing.T) {
	groups := groupsFrom(map[string][]string{"alice": {"physics"}, "bob": {"chem"}})
	cases := []struct {
		name string
		a, b []string
		want []string
	}{
		{"both unfiltered", []string{"read:users"}, []string{"read:users"}, []string{"read:users"}},
		{"a unfiltered keeps b's filter", []string{"read:users"}, []string{"read:users!user=alice"}, []string{"read:users!user=alice"}},
		{"b unfiltered keeps a's filter", []string{"servers!server=alice/"}, []string{"servers"}, []string{"servers!server=alice/"}},
		{"a user, b server: narrower kept", []string{"access:servers!user=alice"}, []string{"access:servers!server=alice/"}, []string{"access:servers!server=alice/"}},
		{"a server, b user: server kept", []string{"access:servers!server=alice/gpu"}, []string{"access:servers!user=alice"}, []string{"access:servers!server=alice/gpu"}},
		{"server of another user dropped", []string{"access:servers!server=bob/"}, []string{"access:servers!user=alice"}, nil},
		{"same user", []string{"read:users!user=alice"}, []string{"read:users!user=alice", "read:users!user=bob"}, []string{"read:users!user=alice"}},
		{"different users", []string{"read:users!user=alice"}, []string{"read:users!user=bob"}, nil},
		{"a user in b's group", []string{"read:users!user=alice", "read:users!user=bob"}, []string{"read:users!group=physics"}, []string{"read:users!user=alice"}},
		{"a group containing b's user", []string{"read:users!group=physics"}, []string{"read:users!user=alice", "read:users!user=bob"}, []string{"read:users!user=alice"}},
		{"a server of b's group member", []string{"servers!server=alice/x", "servers!server=bob/"}, []string{"servers!group=physics"}, []string{"servers!server=alice/x"}},
		{"a group containing b's server's user", []string{"servers!group=chem"}, []string{"servers!server=bob/"}, []string{"servers!server=bob/"}},
		{"same group", []string{"read:groups!group=physics"}, []string{"read:groups!group=physics"}, []string{"read:groups!group=physics"}},
		{"different groups cannot be compared", []string{"read:users!group=physics"}, []string{"read:users!group=chem"}, nil},
		{"services", []string{"access:services!service=a", "access:services!service=b"}, []string{"access:services!service=b"}, []string{"access:services!service=b"}},
		{"kinds do not mix", []string{"read:users!user=x"}, []string{"read:users!service=x"}, nil},
		{"bases do not mix", []string{"read:users"}, []string{"users"}, nil},
		{"empty a", nil, []string{"users"}, nil},
		{"malformed filters grant nothing", []string{"read:users!user="}, []string{"read:users"}, nil},
		{"mixed", []string{"read:users", "servers!user=alice", "tokens!user=alice"},
			[]string{"read:users!group=chem", "servers!server=alice/", "servers!server=bob/", "tokens"},
			[]string{"read:users!group=chem", "servers!server=alice/", "tokens!user=alice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantSet(t, "a∩b", Intersect(NewSet(tc.a...), NewSet(tc.b...), groups), tc.want)
			wantSet(t, "b∩a", Intersect(NewSet(tc.b...), NewSet(tc.a...), groups), tc.want)
		})
	}
	// Without a group lookup, user/group pairs resolve to nothing (fewer rights, never more).
	wantSet(t, "nil groupsOf", Intersect(NewSet("read:users!user=alice"), NewSet("read:users!group=physics"), nil), nil)
}

// TestOAuthTokenForOwnServer is the example of protocol.md §1.1/§2.4: alice's OAuth token issued to her
// own default server carries exactly the access scope and the two identify scopes.
func TestOAuthTokenForOwnServer(t *testing.T) {
	c := mustCatalog(t, nil)
	client := Client{Server: "alice/"}
	ownerScopes := c.RoleScopes([]Role{DefaultRoles()[0]}, alice)
	want := []string{"access:servers!server=alice/", "read:users:groups!user=alice", "read:users:name!user=alice"}

	// The scopes the authorize step stored: requested = identify + access, resolved against
	// alice's raw role scopes.
	have := append([]string{"self", "inherit", AccessScope(client)}, RawIdentifyScopes()...)
	requested := append([]string{AccessScope(client)}, RawIdentifyScopes()...)
	allowed, denied := c.ResolveRequested(requested, have, alice, client, nil)
	if len(denied) != 0 {
		t.Fatalf("denied %v", denied)
	}
	wantSet(t, "token scopes", c.TokenScopes(allowed, alice, client, ownerScopes), want)
	// Nothing stored at all: the access and identify scopes are added anyway.
	wantSet(t, "empty raw", c.TokenScopes(nil, alice, client, ownerScopes), want)

	// The /api/user reply lists them; nothing had to be added to build the model.
	tok := c.TokenScopes(allowed, alice, client, ownerScopes)
	aug, added := tok.WithIdentify(alice)
	if len(added) != 0 || !aug.Equal(tok) {
		t.Errorf("WithIdentify added %v", added)
	}
	if !slices.Equal(tok.Sorted(), want) {
		t.Errorf("Sorted = %v", tok.Sorted())
	}
	// Bob, holding only self, gets no access to alice's server from such a token.
	bobScopes := c.RoleScopes([]Role{DefaultRoles()[0]}, bob)
	wantSet(t, "bob's token for alice's server", c.TokenScopes(nil, bob, client, bobScopes),
		[]string{"read:users:groups!user=bob", "read:users:name!user=bob"})
}

func TestTokenScopes(t *testing.T) {
	c := mustCatalog(t, nil)
	aliceScopes := c.RoleScopes(DefaultRoles()[:1], alice)
	t.Run("inherit is exactly the owner's scopes", func(t *testing.T) {
		got := c.TokenScopes([]string{"inherit"}, alice, Client{}, aliceScopes)
		if !got.Equal(aliceScopes) {
			t.Fatalf("inherit: %v", got.Sorted())
		}
		got["x"] = struct{}{}
		if _, ok := aliceScopes["x"]; ok {
			t.Fatal("inherit returned the owner's set itself")
		}
		svc := NewSet("list:users", "read:users:name")
		wantSet(t, "service inherit", c.TokenScopes([]string{"inherit", "read:users"}, cull, Client{}, svc), svc.Sorted())
	})
	t.Run("token narrower than owner", func(t *testing.T) {
		wantSet(t, "read:users!user", c.TokenScopes([]string{"read:users!user"}, alice, Client{}, aliceScopes),
			withFilter("user=alice", "read:users", "read:users:name", "read:users:groups", "read:users:activity"))
	})
	t.Run("token wider than owner is cut down", func(t *testing.T) {
		wantSet(t, "admin:users", c.TokenScopes([]string{"admin:users"}, alice, Client{}, aliceScopes),
			withFilter("user=alice", "read:users", "read:users:name", "read:users:groups", "read:users:activity", "users:activity"))
	})
	t.Run("service identify kept only when the owner holds it", func(t *testing.T) {
		owner := c.Expand([]string{"list:users", "users:activity"}, cull, Client{})
		wantSet(t, "culler", c.TokenScopes([]string{"list:users"}, cull, Client{}, owner), []string{"list:users", "read:users:name"})
		owner2 := c.Expand([]string{"list:users", "read:services"}, cull, Client{})
		wantSet(t, "culler with read:services", c.TokenScopes([]string{"list:users"}, cull, Client{}, owner2),
			[]string{"list:users", "read:users:name", "read:services:name!service=culler"})
	})
	t.Run("service client access scope", func(t *testing.T) {
		owner := c.Expand([]string{"self", "access:services"}, alice, Client{})
		got := c.TokenScopes(nil, alice, Client{Service: "announce"}, owner)
		wantSet(t, "service client", got, []string{"access:services!service=announce", "read:users:groups!user=alice", "read:users:name!user=alice"})
	})
	t.Run("group filters of the owner resolve through Owner.Groups", func(t *testing.T) {
		// servers implies read:servers → read:users:name, so alice's identify name scope survives too.
		owner := c.Expand([]string{"servers!group=physics"}, alice, Client{})
		id := "read:users:name!user=alice"
		wantSet(t, "own servers", c.TokenScopes([]string{"delete:servers!user"}, alice, Client{}, owner), []string{"delete:servers!user=alice", id})
		wantSet(t, "bob unknown", c.TokenScopes([]string{"delete:servers!user=bob"}, alice, Client{}, owner), []string{id})
		wantSet(t, "bob via lookup", c.TokenScopesFunc([]string{"delete:servers!user=bob"}, alice, Client{}, owner,
			groupsFrom(map[string][]string{"bob": {"physics"}, "alice": {"physics"}})), []string{"delete:servers!user=bob", id})
	})
}

func TestResolveRequested(t *testing.T) {
	c := mustCatalog(t, nil)
	have := []string{"self", "inherit", "read:users:name!user", "read:users:groups!user"}
	cases := []struct {
		name            string
		requested       []string
		allowed, denied []string
	}{
		{"held verbatim", []string{"self", "read:users:name!user"}, []string{"read:users:name!user", "self"}, nil},
		{"inherit", []string{"inherit"}, []string{"inherit"}, nil},
		{"identify is ignored", []string{"identify", "read:users:name!user"}, []string{"read:users:name!user"}, nil},
		{"narrower than held", []string{"servers!server=alice/gpu", "read:users!user=alice"}, []string{"read:users!user=alice", "servers!server=alice/gpu"}, nil},
		{"not held", []string{"read:users!user=bob"}, nil, []string{"read:users!user=bob"}},
		{"partly held", []string{"users!user=alice"},
			withFilter("user=alice", "read:users", "read:users:activity", "read:users:groups", "read:users:name", "users:activity"),
			[]string{"users!user=alice"}},
		{"covered by what is already allowed", []string{"self", "read:tokens!user=alice"}, []string{"read:tokens!user=alice", "self"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			allowed, denied := c.ResolveRequested(tc.requested, have, alice, Client{}, nil)
			wantSet(t, "allowed", NewSet(allowed...), tc.allowed)
			wantSet(t, "denied", NewSet(denied...), tc.denied)
		})
	}
}

func TestRoles(t *testing.T) {
	c := mustCatalog(t, nil)
	for name, want := range map[string]bool{
		"abc": true, "my-role": true, "a.b_c~d9": true, "ab": false, "Abc": false, "1bc": false, "abc-": false,
		"a" + string(make([]byte, 0)) + "bc": true, "": false, "a b": false,
	} {
		if ValidRoleName(name) != want {
			t.Errorf("ValidRoleName(%q) != %v", name, want)
		}
	}
	long := "a"
	for len(long) < 255 {
		long += "b"
	}
	if !ValidRoleName(long) || ValidRoleName(long+"c") {
		t.Error("length limit is 255")
	}
	for _, r := range DefaultRoles() {
		if err := c.ValidateRole(r); err != nil {
			t.Errorf("default role %s: %v", r.Name, err)
		}
	}
	bad := []Role{
		{Name: "x"},
		{Name: "readers", Scopes: []string{"all"}},
		{Name: "readers", Scopes: []string{"read:users!bogus=1"}},
		{Name: "admin", Scopes: []string{"read:users"}},
		{Name: "admin", Description: "mine"},
	}
	for _, r := range bad {
		if err := c.ValidateRole(r); err == nil {
			t.Errorf("ValidateRole(%+v) accepted", r)
		}
	}
	if err := c.ValidateRole(Role{Name: "admin"}); err != nil {
		t.Errorf("admin with members only: %v", err)
	}
}
