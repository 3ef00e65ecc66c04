package ldap_test

// LDAPAuthenticator has published no GHSA; its security fixes are in its changelog (filter
// and DN escaping, unique lookups, empty passwords). Each is performed here through the hub's
// login page against slapd, with valid_username_regex out of the way so that only gohub's own
// escaping and checks stand in the attack's path. SECURITY.md lists them.

import (
	"strings"
	"testing"

	"gohub/internal/auth/authtest"
	"gohub/internal/auth/ldap"
)

// ldapAdvisoryHub is the login page over an LDAP authenticator set up by edit on top of a
// permissive base (any username shape, everyone who binds is allowed).
func ldapAdvisoryHub(t *testing.T, edit func(*ldap.Config)) *authtest.Hub {
	t.Helper()
	cfg := baseConfig(startServer(t))
	cfg.ValidUsernameRegex = `^.+$`
	edit(cfg)
	a, err := ldap.New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return authtest.New(t, a, cfg.Config, authtest.Options{})
}

// refusedAll logs in with every user and password and fails on any success.
func refusedAll(t *testing.T, h *authtest.Hub, users, passwords []string) {
	t.Helper()
	for _, u := range users {
		for _, pw := range passwords {
			if r := h.Browser().Login(u, pw); r.Status == 302 {
				t.Errorf("login %q / %q succeeded", u, pw)
			}
		}
	}
}

// TestAdvisory_LDAPAuthenticator238_SearchFilterInjection: login names went into LDAP search filters unescaped (ldapauthenticator #238).
func TestAdvisory_LDAPAuthenticator238_SearchFilterInjection(t *testing.T) {
	names := []string{"*", "a*", "ali*", "adm*n", "b*b", "car*", "*)(uid=*", "admin)(|(uid=*", "alice)(|(objectClass=*", "*)(mail=*", `\2a`, "al\x00ice"}
	passwords := []string{"alice-password", "admin-password", "bob-password", "x"}
	for mode, edit := range map[string]func(*ldap.Config){
		"lookup_dn": func(c *ldap.Config) { c.LookupDN, c.UserSearchBase, c.UserAttribute = true, people, "uid" },
		"lookup_dn_search_filter": func(c *ldap.Config) {
			c.LookupDN, c.UserSearchBase, c.UserAttribute = true, people, "uid"
			c.LookupDNSearchFilter = "(&(objectClass=inetOrgPerson)({login_attr}={login}))"
		},
		"search_filter": func(c *ldap.Config) {
			c.BindDNTemplate = ldap.StringList{"uid={username}," + people}
			c.UserSearchBase, c.UserAttribute = people, "uid"
			c.SearchFilter = "(&({userattr}={username})(objectClass=inetOrgPerson))"
		},
		"group_search_filter": func(c *ldap.Config) {
			c.BindDNTemplate = ldap.StringList{"uid={username}," + people}
			c.AllowAll = nil
			c.AllowedGroups = []string{"cn=research," + groups}
		},
	} {
		t.Run(mode, func(t *testing.T) {
			h := ldapAdvisoryHub(t, edit)
			refusedAll(t, h, names, passwords)
			if mode == "group_search_filter" {
				if r := h.Browser().Login("carol", "carol-password"); r.Status != 302 {
					t.Errorf("carol, a member: %d", r.Status)
				}
				return
			}
			if r := h.Browser().Login("alice", "alice-password"); r.Status != 302 {
				t.Errorf("alice with her password: %d", r.Status)
			}
		})
	}
}

// TestAdvisory_LDAPAuthenticator267_DNInjection: login names went into bind_dn_template without DN escaping (ldapauthenticator #267).
func TestAdvisory_LDAPAuthenticator267_DNInjection(t *testing.T) {
	h := ldapAdvisoryHub(t, func(c *ldap.Config) {
		c.BindDNTemplate = ldap.StringList{"uid={username}," + people}
	})
	names := []string{"dave,ou=staff", "dave, ou=staff", "alice+cn=Alice Liddell", "alice\\,x", "#alice", "alice;x",
		"uid=alice," + people}
	refusedAll(t, h, names, []string{"dave-password", "alice-password"})
	for _, n := range names {
		if u := h.User(strings.ToLower(n)); u != nil {
			t.Errorf("the injected name %q became the hub user %q", n, u.Name)
		}
	}
	if r := h.Browser().Login("alice", "alice-password"); r.Status != 302 {
		t.Errorf("alice with her password: %d", r.Status)
	}
}

// TestAdvisory_LDAPAuthenticator276_AmbiguousLookup: lookup_dn used the first of several entries with the login name (ldapauthenticator #276).
func TestAdvisory_LDAPAuthenticator276_AmbiguousLookup(t *testing.T) {
	h := ldapAdvisoryHub(t, func(c *ldap.Config) {
		c.LookupDN, c.UserSearchBase, c.UserAttribute = true, people, "uid"
	})
	refusedAll(t, h, []string{"twin"}, []string{"twin-password"})
	if r := h.Browser().Login("dave", "dave-password"); r.Status != 302 {
		t.Errorf("dave, found once below a nested OU: %d", r.Status)
	}
}

// TestAdvisory_LDAPAuthenticator_EmptyPasswordIsAnonymousBind: an empty password made an anonymous bind, which many LDAP servers accept.
func TestAdvisory_LDAPAuthenticator_EmptyPasswordIsAnonymousBind(t *testing.T) {
	for mode, edit := range map[string]func(*ldap.Config){
		"template":  func(c *ldap.Config) { c.BindDNTemplate = ldap.StringList{"uid={username}," + people} },
		"lookup_dn": func(c *ldap.Config) { c.LookupDN, c.UserSearchBase, c.UserAttribute = true, people, "uid" },
	} {
		t.Run(mode, func(t *testing.T) {
			h := ldapAdvisoryHub(t, edit)
			refusedAll(t, h, []string{"alice", "admin"}, []string{"", " ", "\t", "\x00"})
			if r := h.Browser().Login("alice", "alice-password"); r.Status != 302 {
				t.Errorf("alice with her password: %d", r.Status)
			}
		})
	}
}
