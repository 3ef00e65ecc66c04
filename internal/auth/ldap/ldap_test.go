package ldap_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"gohub/internal/auth"
	"gohub/internal/auth/ldap"
	"gohub/internal/testutil"
)

const (
	people = "ou=people,dc=example,dc=org"
	staff  = "ou=staff,ou=people,dc=example,dc=org"
	groups = "ou=groups,dc=example,dc=org"
)

// startServer starts slapd with the fixture tree and TLS (StartTLS on the ldap:// port, LDAPS
// on another).
func startServer(t *testing.T) *testutil.Slapd {
	t.Helper()
	ldif, err := os.ReadFile("testdata/fixture.ldif")
	if err != nil {
		t.Fatal(err)
	}
	return testutil.StartSlapd(t, testutil.SlapdOptions{LDIF: string(ldif), TLS: true})
}

// baseConfig connects to s with StartTLS, trusting the test CA, and allows every user who
// authenticates; throttling is off because tests refuse logins in a row on purpose.
func baseConfig(s *testutil.Slapd) *ldap.Config {
	cfg := ldap.DefaultConfig()
	cfg.ServerAddress = ldap.StringList{s.Host}
	cfg.ServerPort = s.Port
	cfg.TLSCAFile = s.CAFile
	cfg.AllowAll = auth.Bool(true)
	cfg.FailedLoginsBeforeLockout = 0
	cfg.Timeout = 5
	return cfg
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// pipeline builds the authenticator and the hub's login pipeline around it.
func pipeline(t *testing.T, cfg *ldap.Config) (*auth.Pipeline, *ldap.Authenticator) {
	t.Helper()
	a, err := ldap.New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.NewPipeline(cfg.Config, a, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return p, a
}

func login(t *testing.T, p *auth.Pipeline, user, password string) (*auth.Identity, error) {
	t.Helper()
	return p.Login(t.Context(), auth.Credentials{Username: user, Password: password})
}

// mustLogin expects a login to succeed as want.
func mustLogin(t *testing.T, p *auth.Pipeline, user, password, want string) *auth.Identity {
	t.Helper()
	id, err := login(t, p, user, password)
	if err != nil {
		t.Fatalf("login %q: %v", user, err)
	}
	if id.Name != want {
		t.Fatalf("login %q: hub name %q, want %q", user, id.Name, want)
	}
	return id
}

// mustRefuse expects a refusal: ErrRejected, not an error of the server.
func mustRefuse(t *testing.T, p *auth.Pipeline, user, password string) {
	t.Helper()
	id, err := login(t, p, user, password)
	if err == nil {
		t.Fatalf("login %q with %q succeeded as %q", user, password, id.Name)
	}
	if !errors.Is(err, auth.ErrRejected) {
		t.Fatalf("login %q: %v, want a refusal", user, err)
	}
}

func TestTemplateBind(t *testing.T) {
	s := startServer(t)
	cfg := baseConfig(s)
	cfg.BindDNTemplate = ldap.StringList{"uid={username}," + people, "  ", "uid={username}," + staff}
	p, _ := pipeline(t, cfg)

	mustLogin(t, p, "alice", "alice-password", "alice")
	mustLogin(t, p, " alice ", "alice-password", "alice")
	// dave lives in the nested OU: the second template finds him.
	mustLogin(t, p, "dave", "dave-password", "dave")
	// The regex ignores case (upstream refuses "Alice"); LDAP compares DNs ignoring case.
	mustLogin(t, p, "Alice", "alice-password", "alice")

	mustRefuse(t, p, "alice", "wrong-password")
	mustRefuse(t, p, "alice", "bob-password")
	mustRefuse(t, p, "nobody", "alice-password")
	mustRefuse(t, p, "dave", "alice-password")
	// Names the default valid_username_regex refuses never reach the server.
	mustRefuse(t, p, "al ice", "alice-password")
	mustRefuse(t, p, "1alice", "alice-password")
}

// TestUsernameMap: the server gets the name as typed; the hub name is the mapped one.
func TestUsernameMap(t *testing.T) {
	s := startServer(t)
	cfg := baseConfig(s)
	cfg.BindDNTemplate = ldap.StringList{"uid={username}," + people}
	cfg.UsernameMap = map[string]string{"alice": "wonderland"}
	cfg.BlockedUsers = []string{"bob"}
	p, _ := pipeline(t, cfg)
	mustLogin(t, p, "Alice", "alice-password", "wonderland")
	mustRefuse(t, p, "bob", "bob-password")
}

// TestEmptyPassword: the server takes an unauthenticated bind (a DN with no password) as a
// success; the authenticator must never turn that into a login.
func TestEmptyPassword(t *testing.T) {
	s := startServer(t)
	conn, err := goldap.DialURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.UnauthenticatedBind("uid=alice," + people); err != nil {
		t.Fatalf("the fixture server should accept unauthenticated binds (the danger tested here): %v", err)
	}

	cfg := baseConfig(s)
	cfg.BindDNTemplate = ldap.StringList{"uid={username}," + people}
	p, a := pipeline(t, cfg)
	for _, pw := range []string{"", " ", "\t\n"} {
		mustRefuse(t, p, "alice", pw)
		_, err := a.Authenticate(t.Context(), auth.Credentials{Username: "alice", Typed: "alice", Password: pw})
		if !errors.Is(err, auth.ErrRejected) {
			t.Errorf("Authenticate with password %q: %v", pw, err)
		}
	}

	// The same with lookup_dn, where the DN comes from the directory.
	cfg = baseConfig(s)
	cfg.LookupDN, cfg.UserSearchBase, cfg.UserAttribute = true, people, "uid"
	p, _ = pipeline(t, cfg)
	mustRefuse(t, p, "alice", "")
	mustLogin(t, p, "alice", "alice-password", "alice")
}

func TestLookupDN(t *testing.T) {
	s := startServer(t)
	cfg := baseConfig(s)
	cfg.LookupDN = true
	cfg.UserSearchBase, cfg.UserAttribute = people, "uid"
	cfg.LookupDNSearchUser, cfg.LookupDNSearchPassword = "cn=search,dc=example,dc=org", "search-secret"
	p, _ := pipeline(t, cfg)

	mustLogin(t, p, "alice", "alice-password", "alice")
	mustLogin(t, p, "dave", "dave-password", "dave") // nested OU, found by the subtree search
	mustLogin(t, p, "ALICE", "alice-password", "alice")
	mustRefuse(t, p, "alice", "wrong")
	mustRefuse(t, p, "nobody", "x-password")
	mustRefuse(t, p, "twin", "twin-password") // two entries: refuse rather than guess

	t.Run("template", func(t *testing.T) {
		// The looked-up value fills the template.
		cfg := *cfg
		cfg.BindDNTemplate = ldap.StringList{"uid={username}," + staff}
		p, _ := pipeline(t, &cfg)
		mustLogin(t, p, "dave", "dave-password", "dave")
		mustRefuse(t, p, "alice", "alice-password") // not under ou=staff
	})
	t.Run("use_lookup_dn_username", func(t *testing.T) {
		cfg := *cfg
		cfg.LookupDNUserDNAttribute, cfg.UseLookupDNUsername = "employeeNumber", true
		p, _ := pipeline(t, &cfg)
		mustLogin(t, p, "alice", "alice-password", "a-1001")
		mustLogin(t, p, "dave", "dave-password", "d-1004")
		mustRefuse(t, p, "carol", "carol-password") // no employeeNumber
	})
	t.Run("search_filter", func(t *testing.T) {
		cfg := *cfg
		cfg.SearchFilter = "(&({userattr}={username})(mail=*))"
		p, _ := pipeline(t, &cfg)
		mustLogin(t, p, "bob", "bob-password", "bob")
		mustRefuse(t, p, "carol", "carol-password") // no mail
	})
	t.Run("anonymous search", func(t *testing.T) {
		cfg := *cfg
		cfg.LookupDNSearchUser, cfg.LookupDNSearchPassword = "", ""
		p, _ := pipeline(t, &cfg)
		mustLogin(t, p, "bob", "bob-password", "bob")
	})
	t.Run("wrong service password", func(t *testing.T) {
		cfg := *cfg
		cfg.LookupDNSearchPassword = "not-the-secret"
		p, _ := pipeline(t, &cfg)
		_, err := login(t, p, "alice", "alice-password")
		if err == nil || errors.Is(err, auth.ErrRejected) {
			t.Fatalf("login with a broken service account: %v, want an error of the hub", err)
		}
	})
}

func TestGroups(t *testing.T) {
	s := startServer(t)
	cfg := baseConfig(s)
	cfg.AllowAll = nil
	cfg.BindDNTemplate = ldap.StringList{"uid={username}," + people, "uid={username}," + staff}
	cfg.AllowedGroups = []string{"cn=jupyter," + groups, "cn=hubadmins," + groups, "cn=research," + groups, "cn=gone," + groups}
	cfg.AdminGroups = []string{"CN=HubAdmins," + strings.ToUpper(groups)}
	cfg.ManageGroups, cfg.EnableAuthState = true, true
	cfg.AuthStateAttributes = []string{"mail", "cn"}
	p, _ := pipeline(t, cfg)

	alice := mustLogin(t, p, "alice", "alice-password", "alice") // member
	bob := mustLogin(t, p, "bob", "bob-password", "bob")         // uniqueMember
	carol := mustLogin(t, p, "carol", "carol-password", "carol") // memberUid
	dave := mustLogin(t, p, "dave", "dave-password", "dave")     // member, nested OU
	mustRefuse(t, p, "eve", "eve-password")                      // in no group
	mustRefuse(t, p, "eve", "wrong")

	if !slices.Equal(alice.Groups, []string{"jupyter"}) || !slices.Equal(bob.Groups, []string{"hubadmins"}) ||
		!slices.Equal(carol.Groups, []string{"research"}) || !slices.Equal(dave.Groups, []string{"jupyter"}) {
		t.Errorf("groups: alice %q bob %q carol %q dave %q", alice.Groups, bob.Groups, carol.Groups, dave.Groups)
	}
	if bob.Admin == nil || !*bob.Admin || alice.Admin == nil || *alice.Admin {
		t.Errorf("admin: bob %v, alice %v; want true, false", bob.Admin, alice.Admin)
	}
	attrs, _ := alice.AuthState["user_attributes"].(map[string][]string)
	if !slices.Equal(attrs["mail"], []string{"alice@example.org"}) || !slices.Equal(attrs["cn"], []string{"Alice Liddell"}) {
		t.Errorf("auth_state user_attributes = %v", alice.AuthState["user_attributes"])
	}
	if g, _ := alice.AuthState["ldap_groups"].([]string); !slices.Equal(g, []string{"cn=jupyter," + groups}) {
		t.Errorf("auth_state ldap_groups = %v", alice.AuthState["ldap_groups"])
	}

	// allowed_users is another allow rule beside the groups.
	cfg2 := *cfg
	cfg2.AllowedUsers = []string{"eve"}
	p2, _ := pipeline(t, &cfg2)
	mustLogin(t, p2, "eve", "eve-password", "eve")

	// With only a group filter by name (memberUid), a user whose name holds a wildcard must not
	// match carol's membership: {uid} is escaped.
	cfg3 := baseConfig(s)
	cfg3.AllowAll = nil
	cfg3.ValidUsernameRegex = `^.+$`
	cfg3.BindDNTemplate = ldap.StringList{"uid={username}," + people}
	cfg3.AllowedGroups = []string{"cn=research," + groups}
	p3, _ := pipeline(t, cfg3)
	mustLogin(t, p3, "carol", "carol-password", "carol")
	mustRefuse(t, p3, "car*", "star-password")
}

// TestInjection: names built to change a filter or a DN never log anyone in, with the
// username regex out of the way so that only escaping protects.
func TestInjection(t *testing.T) {
	s := startServer(t)
	attempts := []string{
		"*", "*)(uid=*", "admin)(|(uid=*", "alice)(uid=*))(|(uid=*", "*)(|(objectClass=*",
		"alice,ou=staff", "dave,ou=staff", "uid=alice," + people, "alice\x00", "admin*", "a*", "\\2a",
		"alice)(userPassword=*", "alice+cn=Alice Liddell", "#alice",
	}
	passwords := []string{"alice-password", "admin-password", "dave-password", "x"}
	modes := map[string]func(*ldap.Config){
		"template": func(c *ldap.Config) { c.BindDNTemplate = ldap.StringList{"uid={username}," + people} },
		"lookup_dn": func(c *ldap.Config) {
			c.LookupDN, c.UserSearchBase, c.UserAttribute = true, people, "uid"
		},
		"lookup_dn+template": func(c *ldap.Config) {
			c.LookupDN, c.UserSearchBase, c.UserAttribute = true, people, "uid"
			c.BindDNTemplate = ldap.StringList{"uid={username}," + people}
		},
		"groups": func(c *ldap.Config) {
			c.BindDNTemplate = ldap.StringList{"uid={username}," + people}
			c.AllowAll = nil
			c.AllowedGroups = []string{"cn=jupyter," + groups, "cn=research," + groups}
		},
		"group_search_base": func(c *ldap.Config) {
			c.BindDNTemplate = ldap.StringList{"uid={username}," + people}
			c.AllowAll = nil
			c.GroupSearchBase, c.NestedGroupsDepth = groups, 3
			c.AllowedGroups = []string{"cn=jupyter," + groups, "cn=research," + groups}
		},
	}
	for name, edit := range modes {
		t.Run(name, func(t *testing.T) {
			cfg := baseConfig(s)
			cfg.ValidUsernameRegex = `^.+$`
			edit(cfg)
			p, _ := pipeline(t, cfg)
			for _, user := range attempts {
				for _, pw := range passwords {
					mustRefuse(t, p, user, pw)
				}
			}
			mustLogin(t, p, "alice", "alice-password", "alice")
		})
	}
	// With the default regex these names are refused before anything reaches the server.
	cfg := baseConfig(s)
	cfg.BindDNTemplate = ldap.StringList{"uid={username}," + people}
	p, _ := pipeline(t, cfg)
	for _, user := range attempts {
		mustRefuse(t, p, user, "alice-password")
	}
}

func TestTLS(t *testing.T) {
	s := startServer(t)
	cases := []struct {
		name string
		edit func(*ldap.Config)
		ok   bool
	}{
		{"StartTLS with the test CA", func(c *ldap.Config) {}, true},
		{"LDAPS with the test CA", func(c *ldap.Config) { c.TLSStrategy, c.ServerPort = ldap.OnConnect, s.TLSPort }, true},
		{"use_ssl means LDAPS", func(c *ldap.Config) { c.UseSSL, c.ServerPort = auth.Bool(true), s.TLSPort }, true},
		{"CA in tls_kwargs", func(c *ldap.Config) { c.TLSCAFile, c.TLSKwargs = "", ldap.TLSKwargs{"ca_certs_file": s.CAFile} }, true},
		{"insecure", func(c *ldap.Config) { c.TLSStrategy = ldap.Insecure }, true},
		{"StartTLS without the CA", func(c *ldap.Config) { c.TLSCAFile = "" }, false},
		{"LDAPS without the CA", func(c *ldap.Config) { c.TLSStrategy, c.ServerPort, c.TLSCAFile = ldap.OnConnect, s.TLSPort, "" }, false},
		{"StartTLS, wrong host name", func(c *ldap.Config) { c.ServerAddress = ldap.StringList{"127.0.0.2"} }, false},
		{"LDAPS to the plain port", func(c *ldap.Config) { c.TLSStrategy = ldap.OnConnect }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(s)
			cfg.BindDNTemplate = ldap.StringList{"uid={username}," + people}
			tc.edit(cfg)
			p, _ := pipeline(t, cfg)
			id, err := login(t, p, "alice", "alice-password")
			switch {
			case tc.ok && err != nil:
				t.Fatalf("login: %v", err)
			case tc.ok && id.Name != "alice":
				t.Fatalf("login as %q", id.Name)
			case !tc.ok && err == nil:
				t.Fatal("login succeeded over an unverified connection")
			case !tc.ok && errors.Is(err, auth.ErrRejected):
				t.Fatalf("a TLS failure is an error of the hub, not a wrong password: %v", err)
			}
		})
	}
}

// TestServerProblems: a server that is down or does not answer is an error (the login page
// shows a server error), not "wrong password", and the time limit holds.
func TestServerProblems(t *testing.T) {
	ln := silentServer(t)
	cfg := ldap.DefaultConfig()
	cfg.ServerAddress, cfg.ServerPort = ldap.StringList{"127.0.0.1"}, ln
	cfg.TLSStrategy = ldap.Insecure
	cfg.BindDNTemplate = ldap.StringList{"uid={username}," + people}
	cfg.AllowAll, cfg.FailedLoginsBeforeLockout, cfg.Timeout = auth.Bool(true), 0, 0.5
	p, _ := pipeline(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 10e9)
	defer cancel()
	_, err := p.Login(ctx, auth.Credentials{Username: "alice", Password: "alice-password"})
	if err == nil || errors.Is(err, auth.ErrRejected) {
		t.Fatalf("login against a silent server: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the timeout did not stop the login")
	}
}

// silentServer accepts TCP connections and never answers; it returns its port.
func silentServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}
