package ldap_test

import (
	"errors"
	"maps"
	"slices"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"gohub/internal/auth"
	"gohub/internal/auth/ldap"
	"gohub/internal/testutil"
)

// rootConn binds to s as its root account, to change the directory during a test.
func rootConn(t *testing.T, s *testutil.Slapd) *goldap.Conn {
	t.Helper()
	conn, err := goldap.DialURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Bind(s.RootDN, s.RootPassword); err != nil {
		t.Fatal(err)
	}
	return conn
}

func modify(t *testing.T, conn *goldap.Conn, dn string, edit func(*goldap.ModifyRequest)) {
	t.Helper()
	req := goldap.NewModifyRequest(dn, nil)
	edit(req)
	if err := conn.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// TestRefreshFromDirectory: with refresh_from_directory the hub's refresh re-reads the user's
// groups as the service account; leaving the allowed group or the directory means logging in
// again; a server that does not answer is an error, not a logout.
func TestRefreshFromDirectory(t *testing.T) {
	s := startServer(t)
	cfg := baseConfig(s)
	cfg.AllowAll = nil
	cfg.BindDNTemplate = ldap.StringList{"uid={username}," + people}
	cfg.LookupDNSearchUser, cfg.LookupDNSearchPassword = "cn=search,dc=example,dc=org", "search-secret"
	cfg.GroupSearchBase, cfg.NestedGroupsDepth = groups, 3
	cfg.AllowedGroups = []string{"cn=everyone," + groups}
	cfg.AdminGroups = []string{"cn=hubadmins," + groups}
	cfg.ManageGroups, cfg.EnableAuthState, cfg.RefreshFromDirectory = true, true, true
	cfg.AuthStateAttributes = []string{"cn"}
	p, _ := pipeline(t, cfg)
	if !p.CanRefresh() {
		t.Fatal("the pipeline does not refresh ldap users")
	}
	frank := mustLogin(t, p, "frank", "frank-password", "frank")
	if frank.AuthState["user_dn"] != "uid=frank,"+people {
		t.Fatalf("auth_state user_dn = %v", frank.AuthState["user_dn"])
	}
	refresh := func(state map[string]any) (*auth.Identity, error) {
		return p.Refresh(t.Context(), "frank", state)
	}

	id, err := refresh(frank.AuthState)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if !slices.Equal(id.Groups, []string{"backend", "devs", "engineering", "everyone"}) || id.Admin == nil || *id.Admin {
		t.Errorf("refresh: groups %q admin %v", id.Groups, id.Admin)
	}
	if attrs, _ := id.AuthState["user_attributes"].(map[string][]string); !slices.Equal(attrs["cn"], []string{"Frank Nested"}) {
		t.Errorf("refresh: user_attributes %v", id.AuthState["user_attributes"])
	}

	root := rootConn(t, s)
	// Made an admin in the directory: the refresh says so.
	modify(t, root, "cn=hubadmins,"+groups, func(r *goldap.ModifyRequest) { r.Add("uniqueMember", []string{"uid=frank," + people}) })
	if id, err = refresh(frank.AuthState); err != nil || id.Admin == nil || !*id.Admin || !slices.Contains(id.Groups, "hubadmins") {
		t.Fatalf("refresh after joining hubadmins: %v %+v", err, id)
	}
	modify(t, root, "cn=hubadmins,"+groups, func(r *goldap.ModifyRequest) { r.Delete("uniqueMember", []string{"uid=frank," + people}) })

	// Out of the chain that leads to the allowed group: must log in again.
	modify(t, root, "cn=backend,ou=teams,"+groups, func(r *goldap.ModifyRequest) {
		r.Replace("member", []string{"uid=grace," + people})
	})
	if _, err := refresh(frank.AuthState); !errors.Is(err, auth.ErrRejected) {
		t.Fatalf("refresh after leaving the allowed group: %v, want a refusal", err)
	}
	mustRefuse(t, p, "frank", "frank-password")
	modify(t, root, "cn=backend,ou=teams,"+groups, func(r *goldap.ModifyRequest) {
		r.Replace("member", []string{"uid=frank," + people})
	})
	if _, err := refresh(frank.AuthState); err != nil {
		t.Fatalf("refresh after rejoining: %v", err)
	}

	// auth_state from before refresh_from_directory: log in again.
	old := maps.Clone(frank.AuthState)
	delete(old, "user_dn")
	if _, err := refresh(old); !errors.Is(err, auth.ErrRejected) {
		t.Errorf("refresh without user_dn: %v, want a refusal", err)
	}

	// Without the option every user is up to date.
	off := *cfg
	off.RefreshFromDirectory = false
	pOff, _ := pipeline(t, &off)
	if id, err := pOff.Refresh(t.Context(), "frank", frank.AuthState); id != nil || err != nil {
		t.Errorf("refresh with refresh_from_directory off: %+v %v", id, err)
	}

	// No server answers: an error of the hub, the user stays logged in.
	down := *cfg
	down.ServerAddress, down.ServerPort = ldap.StringList{addr(closedPort(t))}, 0
	pDown, _ := pipeline(t, &down)
	if _, err := pDown.Refresh(t.Context(), "frank", frank.AuthState); err == nil || errors.Is(err, auth.ErrRejected) {
		t.Errorf("refresh with no server: %v, want an error of the hub", err)
	}

	// The entry is deleted: must log in again.
	if err := root.Del(goldap.NewDelRequest("uid=frank,"+people, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := refresh(frank.AuthState); !errors.Is(err, auth.ErrRejected) {
		t.Errorf("refresh after the entry was deleted: %v, want a refusal", err)
	}
}

// TestRefreshSearchFilter: a user who no longer matches search_filter must log in again.
func TestRefreshSearchFilter(t *testing.T) {
	s := startServer(t)
	cfg := baseConfig(s)
	cfg.BindDNTemplate = ldap.StringList{"uid={username}," + people}
	cfg.UserSearchBase, cfg.UserAttribute = people, "uid"
	cfg.SearchFilter = "(&({userattr}={username})(mail=*))"
	cfg.EnableAuthState, cfg.RefreshFromDirectory = true, true
	p, _ := pipeline(t, cfg)
	bob := mustLogin(t, p, "bob", "bob-password", "bob")
	if _, err := p.Refresh(t.Context(), "bob", bob.AuthState); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	modify(t, rootConn(t, s), "uid=bob,"+people, func(r *goldap.ModifyRequest) { r.Delete("mail", nil) })
	if _, err := p.Refresh(t.Context(), "bob", bob.AuthState); !errors.Is(err, auth.ErrRejected) {
		t.Errorf("refresh without mail: %v, want a refusal", err)
	}
}
