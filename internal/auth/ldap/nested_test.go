package ldap_test

import (
	"slices"
	"strings"
	"testing"

	"gohub/internal/auth/ldap"
	"gohub/internal/testutil"
)

// groupsConfig enumerates groups under ou=groups, with manage_groups and auth_state.
func groupsConfig(s *testutil.Slapd, depth int) *ldap.Config {
	cfg := baseConfig(s)
	cfg.BindDNTemplate = ldap.StringList{"uid={username}," + people, "uid={username}," + staff}
	cfg.GroupSearchBase = groups
	cfg.NestedGroupsDepth = depth
	cfg.ManageGroups, cfg.EnableAuthState = true, true
	return cfg
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestGroupEnumeration: with group_search_base the hub groups are all of the user's groups
// under it (by member, uniqueMember or memberUid), whatever allowed_groups lists.
func TestGroupEnumeration(t *testing.T) {
	s := startServer(t)
	p, _ := pipeline(t, groupsConfig(s, 0))
	want := map[string][]string{
		"alice": {"jupyter"},   // member; not "outside", which is not under the base
		"bob":   {"hubadmins"}, // uniqueMember
		"carol": {"research"},  // memberUid
		"dave":  {"jupyter"},   // member, user in a nested OU
		"eve":   {},
		"frank": {"backend"}, // in a sub-OU of the base; direct membership only
		"grace": {"loop-a"},
	}
	for user, groups := range want {
		id := mustLogin(t, p, user, user+"-password", user)
		if !slices.Equal(sorted(id.Groups), groups) {
			t.Errorf("%s: groups %q, want %q", user, id.Groups, groups)
		}
	}
	alice := mustLogin(t, p, "alice", "alice-password", "alice")
	if g, _ := alice.AuthState["ldap_groups"].([]string); !slices.Equal(g, []string{"cn=jupyter," + groups}) {
		t.Errorf("auth_state ldap_groups = %v", alice.AuthState["ldap_groups"])
	}

	// {uid} is escaped in the enumeration too: "car*" must not match carol's memberUid.
	cfg0 := groupsConfig(s, 2)
	cfg0.ValidUsernameRegex = `^.+$`
	p0, _ := pipeline(t, cfg0)
	if star := mustLogin(t, p0, "car*", "star-password", "car*"); len(star.Groups) != 0 {
		t.Errorf("car* got groups %q", star.Groups)
	}

	// group_name_attribute: the hub name comes from an attribute, or the RDN without it.
	cfg := groupsConfig(s, 1)
	cfg.GroupNameAttribute = "description"
	p, _ = pipeline(t, cfg)
	frank := mustLogin(t, p, "frank", "frank-password", "frank")
	if got := sorted(frank.Groups); !slices.Equal(got, []string{"Developers", "backend"}) {
		t.Errorf("frank's groups with group_name_attribute description: %q", got)
	}
}

// TestNestedGroups: nested_groups_depth follows groups that are members of groups, by member
// and uniqueMember, up to the depth and no further, through cycles; allowed_groups and
// admin_groups see the nested memberships.
func TestNestedGroups(t *testing.T) {
	s := startServer(t)
	chain := []string{"backend", "devs", "engineering", "everyone"}
	for depth := 0; depth <= 4; depth++ {
		p, _ := pipeline(t, groupsConfig(s, depth))
		frank := mustLogin(t, p, "frank", "frank-password", "frank")
		want := sorted(chain[:min(depth+1, len(chain))])
		if got := sorted(frank.Groups); !slices.Equal(got, want) {
			t.Errorf("depth %d: frank's groups %q, want %q", depth, got, want)
		}
	}

	// A cycle ends: loop-a and loop-b contain each other.
	p, _ := pipeline(t, groupsConfig(s, 10))
	grace := mustLogin(t, p, "grace", "grace-password", "grace")
	if got := sorted(grace.Groups); !slices.Equal(got, []string{"loop-a", "loop-b"}) {
		t.Errorf("grace's groups %q", got)
	}

	// Allow and admin rules with nested membership.
	for _, tc := range []struct {
		depth        int
		allowed, adm bool
	}{{1, false, false}, {2, false, true}, {3, true, true}} {
		cfg := groupsConfig(s, tc.depth)
		cfg.AllowAll = nil
		cfg.AllowedGroups = []string{"cn=everyone," + groups}
		cfg.AdminGroups = []string{"cn=engineering," + groups}
		p, _ := pipeline(t, cfg)
		id, err := login(t, p, "frank", "frank-password")
		switch {
		case !tc.allowed && !tc.adm && err == nil:
			t.Errorf("depth %d: frank logged in", tc.depth)
		case (tc.allowed || tc.adm) && err != nil:
			// admin_groups lets its members in, as admin_users are.
			t.Errorf("depth %d: %v", tc.depth, err)
		case err == nil && (id.Admin == nil || *id.Admin != tc.adm):
			t.Errorf("depth %d: admin %v, want %v", tc.depth, id.Admin, tc.adm)
		}
		mustRefuse(t, p, "alice", "alice-password") // in none of these groups
	}
}

// TestGroupConfig: the settings of group enumeration and nesting are checked.
func TestGroupConfig(t *testing.T) {
	for _, bad := range []string{
		"nested_groups_depth: 2", // needs group_search_base
		"group_search_base: ou=groups,dc=example,dc=org\n  nested_groups_depth: -1",
		"group_search_base: ou=groups,dc=example,dc=org\n  nested_groups_depth: 21",
		"group_search_base: ou=groups,dc=example,dc=org\n  nested_groups_depth: 2\n  matching_rule_in_chain: true",
		"group_search_base: ou=groups,dc=example,dc=org\n  nested_groups_depth: 2\n  nested_group_search_filter: (member={groupdn}",
		"group_search_base: not a dn",
		"group_search_base: ou=groups,dc=example,dc=org\n  group_name_attribute: \"\"",
		"group_search_base: ou=groups,dc=example,dc=org\n  allowed_groups: [\"cn=outside,ou=elsewhere,dc=example,dc=org\"]",
	} {
		_, err := decode(t, "LDAPAuthenticator:\n  server_address: ldap.example.org\n  bind_dn_template: uid={username},dc=example,dc=org\n  "+bad+"\n")
		if err == nil {
			t.Errorf("accepted %s", strings.ReplaceAll(bad, "\n", " "))
		}
	}
	cfg, err := decode(t, `
LDAPAuthenticator:
  server_address: ad.example.org
  lookup_dn: true
  user_search_base: ou=users,dc=example,dc=org
  user_attribute: sAMAccountName
  group_search_base: ou=groups,dc=example,dc=org
  matching_rule_in_chain: true
  allowed_groups: ["CN=Jupyter,OU=Groups,DC=example,DC=org"]
`)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.MatchingRuleInChain || cfg.GroupNameAttribute != "cn" {
		t.Errorf("decoded %+v", cfg)
	}
}
