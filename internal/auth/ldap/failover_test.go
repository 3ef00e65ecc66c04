package ldap_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"gohub/internal/auth"
	"gohub/internal/auth/ldap"
	"gohub/internal/testutil"
)

// replicas starts two slapd servers with one CA, so either can take over for the other. The
// second has its own password for alice ("alice-replica"), which shows which server answered.
func replicas(t *testing.T) (first, second *testutil.Slapd) {
	t.Helper()
	ldif, err := os.ReadFile("testdata/fixture.ldif")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := testutil.NewTestCA("gohub replicas CA")
	if err != nil {
		t.Fatal(err)
	}
	first = testutil.StartSlapd(t, testutil.SlapdOptions{LDIF: string(ldif), TLS: true, CA: ca})
	other := strings.Replace(string(ldif), "userPassword: alice-password", "userPassword: alice-replica", 1)
	second = testutil.StartSlapd(t, testutil.SlapdOptions{LDIF: other, TLS: true, CA: ca})
	return first, second
}

// closedPort returns a loopback port nobody listens on: connecting is refused at once.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// failoverConfig lists the servers in order, with short connect and operation limits.
func failoverConfig(first *testutil.Slapd, servers ...string) *ldap.Config {
	cfg := baseConfig(first)
	cfg.ServerAddress = servers
	cfg.ServerPort = 0
	cfg.BindDNTemplate = ldap.StringList{"uid={username}," + people}
	cfg.ConnectTimeout, cfg.OperationTimeout, cfg.Timeout = 0.5, 2, 5
	return cfg
}

// timedLogin logs in and returns how long it took.
func timedLogin(t *testing.T, p *auth.Pipeline, user, password string) (*auth.Identity, error, time.Duration) {
	t.Helper()
	start := time.Now()
	id, err := login(t, p, user, password)
	return id, err, time.Since(start)
}

// TestFailover: with a list of servers a login goes to the first that answers; a server that
// is down or silent costs at most connect_timeout; a refusal of a server that answers is final;
// no server answering is an error of the hub, not a wrong password.
func TestFailover(t *testing.T) {
	first, second := replicas(t)
	silent := silentServer(t)
	const connect = 500 * time.Millisecond
	const slack = 700 * time.Millisecond // scheduling, the TLS handshake and the binds

	cases := []struct {
		name, strategy string
		servers        []string
	}{
		{"silent first server, StartTLS", ldap.BeforeBind, []string{addr(silent), addr(second.Port)}},
		{"silent first server, insecure", ldap.Insecure, []string{addr(silent), addr(second.Port)}},
		{"silent first server, LDAPS", ldap.OnConnect, []string{addr(silent), addr(second.TLSPort)}},
		{"closed first port", ldap.BeforeBind, []string{addr(closedPort(t)), addr(second.Port)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := failoverConfig(first, tc.servers...)
			cfg.TLSStrategy = tc.strategy
			p, _ := pipeline(t, cfg)
			id, err, took := timedLogin(t, p, "alice", "alice-replica")
			if err != nil {
				t.Fatalf("login through the second server: %v", err)
			}
			if id.Name != "alice" {
				t.Fatalf("logged in as %q", id.Name)
			}
			if took > connect+slack {
				t.Errorf("login took %s; a dead first server may cost only connect_timeout (%s)", took, connect)
			}
			// The second server's refusal is a refusal.
			mustRefuse(t, p, "alice", "alice-password")
		})
	}

	t.Run("a refusal is not failed over", func(t *testing.T) {
		// Both answer: the first says "invalid credentials" to the replica's password, and that
		// is final even though the second would accept it.
		p, _ := pipeline(t, failoverConfig(first, addr(first.Port), addr(second.Port)))
		mustLogin(t, p, "alice", "alice-password", "alice")
		mustRefuse(t, p, "alice", "alice-replica")
	})

	t.Run("both down", func(t *testing.T) {
		p, _ := pipeline(t, failoverConfig(first, addr(silent), addr(closedPort(t))))
		_, err, took := timedLogin(t, p, "alice", "alice-password")
		if err == nil || errors.Is(err, auth.ErrRejected) {
			t.Fatalf("login with no server answering: %v, want an error of the hub", err)
		}
		if !strings.Contains(err.Error(), "no LDAP server answered") {
			t.Errorf("error %q does not say that no server answered", err)
		}
		if took > connect+slack {
			t.Errorf("took %s, want about connect_timeout (%s)", took, connect)
		}
	})

	t.Run("timeout bounds the whole login", func(t *testing.T) {
		// Three silent servers with a 0.5 s connect limit each, and a whole-login limit of 0.8 s.
		cfg := failoverConfig(first, addr(silent), addr(silent), addr(silent), addr(second.Port))
		cfg.Timeout = 0.8
		p, _ := pipeline(t, cfg)
		_, err, took := timedLogin(t, p, "alice", "alice-replica")
		if err == nil || errors.Is(err, auth.ErrRejected) {
			t.Fatalf("login: %v, want an error of the hub", err)
		}
		if took > 800*time.Millisecond+slack {
			t.Errorf("took %s, more than timeout", took)
		}
	})

	// Last, as it stops the first server: logins that went to it now go to the second.
	t.Run("first server stopped", func(t *testing.T) {
		p, _ := pipeline(t, failoverConfig(first, addr(first.Port), addr(second.Port)))
		mustLogin(t, p, "alice", "alice-password", "alice")
		first.Stop()
		id, err, took := timedLogin(t, p, "alice", "alice-replica")
		if err != nil || id.Name != "alice" {
			t.Fatalf("login after the first server stopped: %v", err)
		}
		if took > connect+slack {
			t.Errorf("took %s", took)
		}
		mustRefuse(t, p, "alice", "alice-password")
	})
}

// TestServerAddressList: server_address takes one string (upstream) or a list, entries with or
// without their own port.
func TestServerAddressList(t *testing.T) {
	cfg, err := decode(t, `
LDAPAuthenticator:
  server_address: [ldap1.example.org, "ldap2.example.org:1389", "[2001:db8::1]:636", "2001:db8::2"]
  server_port: 10389
  connect_timeout: 1.5
  operation_timeout: 4
  bind_dn_template: uid={username},ou=people,dc=example,dc=org
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ServerAddress) != 4 || cfg.ConnectTimeout != 1.5 || cfg.OperationTimeout != 4 {
		t.Errorf("decoded %+v", cfg)
	}
	for _, bad := range []string{
		`server_address: ["ldap://ldap.example.org"]`,
		`server_address: ["ldap1.example.org", "ldap2.example.org:99999"]`,
		`server_address: "ldap.example.org:abc"`,
		`server_address: "[2001:db8::1]"`,
		`server_address: ldap.example.org
  connect_timeout: 0`,
		`server_address: ldap.example.org
  operation_timeout: -1`,
	} {
		_, err := decode(t, "LDAPAuthenticator:\n  bind_dn_template: uid={username},dc=example,dc=org\n  "+bad+"\n")
		if err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// TestOperationTimeout: a server that answers at first and then stops answering (a real slapd
// behind a proxy that stops passing requests on after the first answer) costs one
// operation_timeout, and the login goes on at the next server.
func TestOperationTimeout(t *testing.T) {
	first, second := replicas(t)
	stalling := stallingProxy(t, first.Port)
	cfg := failoverConfig(first, addr(stalling), addr(second.Port))
	cfg.TLSStrategy = ldap.Insecure
	// lookup_dn: the service account's bind is answered, the search then gets no answer.
	cfg.BindDNTemplate = nil
	cfg.LookupDN, cfg.UserSearchBase, cfg.UserAttribute = true, people, "uid"
	cfg.LookupDNSearchUser, cfg.LookupDNSearchPassword = "cn=search,dc=example,dc=org", "search-secret"
	cfg.ConnectTimeout, cfg.OperationTimeout, cfg.Timeout = 0.5, 1, 5
	p, _ := pipeline(t, cfg)
	id, err, took := timedLogin(t, p, "alice", "alice-replica")
	if err != nil || id.Name != "alice" {
		t.Fatalf("login through the second server: %v", err)
	}
	if took < time.Second || took > time.Second+700*time.Millisecond {
		t.Errorf("login took %s, want about operation_timeout (1s)", took)
	}
}

// stallingProxy relays connections to 127.0.0.1:target until the server's first answer, and
// from then on passes no more requests to it: a server that stopped answering mid-session.
func stallingProxy(t *testing.T, target int) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr(target))
			if err != nil {
				c.Close()
				continue
			}
			conns = append(conns, c, s)
			answered := make(chan struct{})
			go func() { // server to client; the first read is the first answer
				buf := make([]byte, 4096)
				for first := true; ; first = false {
					n, err := s.Read(buf)
					if n > 0 {
						c.Write(buf[:n])
					}
					if first {
						close(answered)
					}
					if err != nil {
						return
					}
				}
			}()
			go func() { // client to server, until the first answer
				buf := make([]byte, 4096)
				stalled := false
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					select {
					case <-answered:
						stalled = true
					default:
					}
					if !stalled {
						s.Write(buf[:n])
					}
				}
			}()
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
