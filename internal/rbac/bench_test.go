package rbac

import "testing"

// BenchmarkCheck measures the per-request scope check on typical sets.
func BenchmarkCheck(b *testing.B) {
	c := mustCatalog(b, nil)
	admin := c.Expand(DefaultRoles()[1].Scopes, alice, Client{})
	self := c.Expand([]string{"self"}, alice, Client{})
	teacher := c.Expand([]string{"self", "admin:servers!group=physics", "read:users!group=physics"}, bob, Client{})
	cases := []struct {
		name     string
		set      Set
		required []string
		target   Target
		want     Decision
	}{
		{"admin/unfiltered", admin, []string{"read:users"}, Target{User: "bob"}, Allowed},
		{"self/own server", self, []string{"servers"}, Target{Server: "alice/gpu"}, Allowed},
		{"self/other user 404", self, []string{"admin:users", "read:users"}, Target{User: "bob"}, NotFound},
		{"self/forbidden", self, []string{"admin:users"}, Target{User: "bob"}, Forbidden},
		{"group/member server", teacher, []string{"admin:server_state"}, Target{Server: "alice/", UserGroups: []string{"chem", "physics"}}, Allowed},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if tc.set.Check(tc.required, tc.target) != tc.want {
					b.Fatal("wrong decision")
				}
			}
		})
	}
}

// BenchmarkExpand measures role expansion (done per request for a user's roles unless cached).
func BenchmarkExpand(b *testing.B) {
	c := mustCatalog(b, nil)
	for _, r := range DefaultRoles()[:3] {
		b.Run(r.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Expand(r.Scopes, alice, Client{Server: "alice/"})
			}
		})
	}
}

// BenchmarkTokenScopes measures a token's effective scopes: expansion plus intersection.
func BenchmarkTokenScopes(b *testing.B) {
	c := mustCatalog(b, nil)
	admin := c.Expand(DefaultRoles()[1].Scopes, alice, Client{})
	self := c.Expand([]string{"self"}, alice, Client{})
	client := Client{Server: "alice/"}
	b.Run("oauth/self", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.TokenScopes([]string{"access:servers!server", "read:users:name!user", "read:users:groups!user"}, alice, client, self)
		}
	})
	b.Run("admin-role-token/admin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.TokenScopes(DefaultRoles()[1].Scopes, alice, Client{}, admin)
		}
	})
}
