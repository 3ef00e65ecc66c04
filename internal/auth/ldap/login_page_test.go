package ldap_test

import (
	"strings"
	"testing"

	"gohub/internal/auth/authtest"
	"gohub/internal/auth/ldap"
)

// TestLoginPage logs in through the hub's POST /hub/login against slapd, with StartTLS,
// lookup_dn and a group rule: the whole path a browser takes.
func TestLoginPage(t *testing.T) {
	s := startServer(t)
	cfg := baseConfig(s)
	cfg.AllowAll = nil
	cfg.LookupDN, cfg.UserSearchBase, cfg.UserAttribute = true, people, "uid"
	cfg.LookupDNSearchUser, cfg.LookupDNSearchPassword = "cn=search,dc=example,dc=org", "search-secret"
	cfg.AllowedGroups = []string{"cn=jupyter," + groups}
	cfg.AdminGroups = []string{"cn=hubadmins," + groups}
	cfg.AdminUsers = []string{"root"}
	a, err := ldap.New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	h := authtest.New(t, a, cfg.Config, authtest.Options{})

	refused := []struct{ user, password string }{
		{"alice", "wrong"},
		{"alice", ""},
		{"eve", "eve-password"}, // not in the group
		{"*)(uid=*", "alice-password"},
		{"admin)(|(uid=*", "admin-password"},
	}
	for _, r := range refused {
		resp := h.Browser().Login(r.user, r.password)
		if resp.Status != 403 || !strings.Contains(resp.Body, "Invalid username or password") {
			t.Errorf("login %q/%q: %d, want 403 with the generic message", r.user, r.password, resp.Status)
		}
		if u := h.User(strings.ToLower(r.user)); u != nil {
			t.Errorf("refused login %q created user %+v", r.user, u)
		}
	}
	if resp := h.Browser().Login("Dave", "dave-password"); resp.Status != 302 {
		t.Fatalf("login dave: %d\n%s", resp.Status, resp.Body)
	}
	if u := h.User("dave"); u == nil || u.Admin {
		t.Errorf("dave after login: %+v", u)
	}
	// bob is only in the admin group: let in, as admin.
	if resp := h.Browser().Login("bob", "bob-password"); resp.Status != 302 {
		t.Fatalf("login bob: %d\n%s", resp.Status, resp.Body)
	}
	if u := h.User("bob"); u == nil || !u.Admin {
		t.Errorf("bob after login: %+v", u)
	}
}
