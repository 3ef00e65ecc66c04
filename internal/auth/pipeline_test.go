package auth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gohub/internal/auth"
	"gohub/internal/auth/dummy"
	"gohub/internal/auth/null"
	"gohub/internal/auth/sharedpassword"
)

// logBuffer collects everything a pipeline logs, for the "no password in logs" checks.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// scripted is an authenticator whose answer the test chooses; it records what it was given.
type scripted struct {
	id  *auth.Identity
	err error
	got *auth.Credentials
}

func (s *scripted) Authenticate(_ context.Context, c auth.Credentials) (*auth.Identity, error) {
	s.got = &c
	if s.err != nil || s.id == nil {
		return nil, s.err
	}
	id := *s.id
	return &id, nil
}

// existing answers allow_existing_users from a fixed set.
func existing(names ...string) func(context.Context, string) (bool, error) {
	return func(_ context.Context, n string) (bool, error) { return slices.Contains(names, n), nil }
}

func dummyAuth(t *testing.T, password string) auth.Authenticator {
	t.Helper()
	c := dummy.DefaultConfig()
	c.Password = password
	a, err := dummy.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func sharedAuth(t *testing.T, user, admin string) auth.Authenticator {
	t.Helper()
	c := sharedpassword.DefaultConfig()
	c.UserPassword, c.AdminPassword = user, admin
	a, err := sharedpassword.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

const (
	userPW  = "user-pw-Zq81x"
	adminPW = "admin-pw-Zq81x-0123456789abcdefghij"
)

func TestLogin(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(*auth.Config)
		authn    func(t *testing.T) auth.Authenticator
		exists   []string
		user, pw string
		// want is the hub name on success, "" for a refusal.
		want      string
		wantAdmin *bool
		// wantLog must appear in the log (the refusal reason or the allow rule).
		wantLog string
	}{
		{name: "lowercased", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			user: "Alice", pw: "x", want: "alice", wantLog: "allowed_by=allow_all"},
		{name: "blanks stripped", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			user: "  bob\t", pw: "x", want: "bob"},
		{name: "username_map after lowercasing", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:  func(c *auth.Config) { c.UsernameMap = map[string]string{"robert": "bob"} },
			user: "ROBERT", pw: "x", want: "bob"},
		{name: "username_map key with capitals", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:  func(c *auth.Config) { c.UsernameMap = map[string]string{"Robert": "bob"} },
			user: "robert", pw: "x", want: "bob"},
		{name: "pattern violated", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:  func(c *auth.Config) { c.UsernamePattern = `[a-z]+` },
			user: "alice1", pw: "x", wantLog: "username_pattern"},
		{name: "pattern must match the whole name", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:  func(c *auth.Config) { c.UsernamePattern = `[a-z]+` },
			user: "alice-evil", pw: "x", wantLog: "username_pattern"},
		{name: "pattern met", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:  func(c *auth.Config) { c.UsernamePattern = `[a-z]+` },
			user: "Alice", pw: "x", want: "alice"},
		{name: "slash", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			user: "a/b", pw: "x", wantLog: "'/'"},
		{name: "empty name", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			user: "   ", pw: "x", wantLog: "no username"},
		{name: "blocked even with the right password", authn: func(t *testing.T) auth.Authenticator { return sharedAuth(t, userPW, "") },
			cfg:  func(c *auth.Config) { c.AllowAll = auth.Bool(true); c.BlockedUsers = []string{"Mallory"} },
			user: "mallory", pw: userPW, wantLog: "blocked_users"},
		{name: "blocked through username_map", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg: func(c *auth.Config) {
				c.BlockedUsers = []string{"mallory"}
				c.UsernameMap = map[string]string{"m": "mallory"}
			},
			user: "M", pw: "x", wantLog: "blocked_users"},
		{name: "wrong password", authn: func(t *testing.T) auth.Authenticator { return sharedAuth(t, userPW, "") },
			cfg:  func(c *auth.Config) { c.AllowAll = auth.Bool(true) },
			user: "alice", pw: "not-" + userPW, wantLog: "wrong password"},
		{name: "right password", authn: func(t *testing.T) auth.Authenticator { return sharedAuth(t, userPW, "") },
			cfg:  func(c *auth.Config) { c.AllowAll = auth.Bool(true) },
			user: "alice", pw: userPW, want: "alice", wantAdmin: auth.Bool(false)},
		{name: "not allowed", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:  func(c *auth.Config) { c.AllowedUsers = []string{"alice"} },
			user: "bob", pw: "x", wantLog: "not allowed"},
		{name: "allowed_users", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:  func(c *auth.Config) { c.AllowedUsers = []string{"Alice"} },
			user: "ALICE", pw: "x", want: "alice", wantLog: "allowed_by=allowed_users"},
		{name: "shared-password needs an allow rule", authn: func(t *testing.T) auth.Authenticator { return sharedAuth(t, userPW, "") },
			user: "alice", pw: userPW, wantLog: "not allowed"},
		{name: "allow_existing_users: existing", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:    func(c *auth.Config) { c.AllowAll = auth.Bool(false); c.AllowExistingUsers = auth.Bool(true) },
			exists: []string{"carol"}, user: "Carol", pw: "x", want: "carol", wantLog: "allowed_by=allow_existing_users"},
		{name: "allow_existing_users: new", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:    func(c *auth.Config) { c.AllowAll = auth.Bool(false); c.AllowExistingUsers = auth.Bool(true) },
			exists: []string{"carol"}, user: "dave", pw: "x", wantLog: "not allowed"},
		{name: "allow_existing_users defaults on with allowed_users", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:    func(c *auth.Config) { c.AllowedUsers = []string{"alice"} },
			exists: []string{"carol"}, user: "carol", pw: "x", want: "carol"},
		{name: "allow_existing_users off by default", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:    func(c *auth.Config) { c.AllowAll = auth.Bool(false) },
			exists: []string{"carol"}, user: "carol", pw: "x", wantLog: "not allowed"},
		{name: "admin_users allowed and admin", authn: func(t *testing.T) auth.Authenticator { return dummyAuth(t, "") },
			cfg:  func(c *auth.Config) { c.AllowAll = auth.Bool(false); c.AdminUsers = []string{"Chief"} },
			user: "chief", pw: "x", want: "chief", wantAdmin: auth.Bool(true), wantLog: "allowed_by=admin_users"},
		{name: "shared-password admin with admin password", authn: func(t *testing.T) auth.Authenticator { return sharedAuth(t, userPW, adminPW) },
			cfg:  func(c *auth.Config) { c.AdminUsers = []string{"admin"} },
			user: "Admin", pw: adminPW, want: "admin", wantAdmin: auth.Bool(true)},
		{name: "shared-password admin name typed in capitals with the user password", authn: func(t *testing.T) auth.Authenticator { return sharedAuth(t, userPW, adminPW) },
			cfg:  func(c *auth.Config) { c.AdminUsers = []string{"admin"}; c.AllowAll = auth.Bool(true) },
			user: "Admin", pw: userPW, wantLog: "admin_password"},
		{name: "shared-password non-admin with the admin password", authn: func(t *testing.T) auth.Authenticator { return sharedAuth(t, userPW, adminPW) },
			cfg:  func(c *auth.Config) { c.AdminUsers = []string{"admin"}; c.AllowAll = auth.Bool(true) },
			user: "alice", pw: adminPW, wantLog: "wrong password"},
		{name: "null refuses", authn: func(t *testing.T) auth.Authenticator { a, _ := null.New(null.DefaultConfig()); return a },
			cfg:  func(c *auth.Config) { c.AllowAll = auth.Bool(true) },
			user: "alice", pw: "x", wantLog: "API tokens only"},
		{name: "returned name normalised", authn: func(t *testing.T) auth.Authenticator {
			return &scripted{id: &auth.Identity{Name: "Ext@Example.COM"}}
		}, cfg: func(c *auth.Config) { c.AllowAll = auth.Bool(true) }, want: "ext@example.com"},
		{name: "returned name blocked", authn: func(t *testing.T) auth.Authenticator {
			return &scripted{id: &auth.Identity{Name: "Eve"}}
		}, cfg: func(c *auth.Config) { c.AllowAll = auth.Bool(true); c.BlockedUsers = []string{"eve"} }, user: "alice", pw: "x", wantLog: "blocked_users"},
		{name: "returned name invalid", authn: func(t *testing.T) auth.Authenticator {
			return &scripted{id: &auth.Identity{Name: "../etc"}}
		}, cfg: func(c *auth.Config) { c.AllowAll = auth.Bool(true) }, wantLog: "'/'"},
		{name: "no identity", authn: func(t *testing.T) auth.Authenticator {
			return &scripted{id: nil, err: nil}
		}, cfg: func(c *auth.Config) { c.AllowAll = auth.Bool(true) }, user: "alice", pw: "x", wantLog: "no identity"},
		{name: "authenticator's admin=false kept", authn: func(t *testing.T) auth.Authenticator {
			return &scripted{id: &auth.Identity{Name: "alice", Admin: auth.Bool(false)}}
		}, cfg: func(c *auth.Config) { c.AllowAll = auth.Bool(true) }, user: "alice", pw: "x", want: "alice", wantAdmin: auth.Bool(false)},
		{name: "admin_users overrides the authenticator's admin=false", authn: func(t *testing.T) auth.Authenticator {
			return &scripted{id: &auth.Identity{Name: "alice", Admin: auth.Bool(false)}}
		}, cfg: func(c *auth.Config) { c.AdminUsers = []string{"alice"} }, user: "alice", pw: "x", want: "alice", wantAdmin: auth.Bool(true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := newLogger(t)
			cfg := auth.DefaultConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			p, err := auth.NewPipeline(cfg, tt.authn(t), existing(tt.exists...), log)
			if err != nil {
				t.Fatal(err)
			}
			id, err := p.Login(t.Context(), auth.Credentials{Username: tt.user, Password: tt.pw})
			if tt.want == "" {
				if err != auth.ErrRejected {
					t.Fatalf("Login = %+v, %v; want exactly ErrRejected", id, err)
				}
				if id != nil {
					t.Errorf("refusal returned an identity %+v", id)
				}
			} else {
				if err != nil {
					t.Fatalf("Login: %v\nlog:\n%s", err, logs)
				}
				if id.Name != tt.want {
					t.Errorf("name = %q, want %q", id.Name, tt.want)
				}
				if diff := cmp.Diff(tt.wantAdmin, id.Admin); diff != "" {
					t.Errorf("admin (-want +got):\n%s", diff)
				}
			}
			out := logs.String()
			if tt.wantLog != "" && !strings.Contains(out, tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, out)
			}
			if tt.pw != "" && tt.pw != "x" && strings.Contains(out, tt.pw) {
				t.Errorf("the password appears in the log:\n%s", out)
			}
		})
	}
}

func TestLoginPassesNormalisedNameToAuthenticator(t *testing.T) {
	s := &scripted{id: &auth.Identity{Name: "bob"}}
	cfg := auth.DefaultConfig()
	cfg.AllowAll = auth.Bool(true)
	cfg.AdminUsers = []string{"BOB"}
	cfg.UsernameMap = map[string]string{"robert": "bob"}
	p, err := auth.NewPipeline(cfg, s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Login(t.Context(), auth.Credentials{Username: " Robert ", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	want := auth.Credentials{Username: "bob", Typed: "Robert", Password: "pw", InAdminUsers: true}
	if diff := cmp.Diff(want, *s.got); diff != "" {
		t.Errorf("credentials given to the authenticator (-want +got):\n%s", diff)
	}
}

func TestLoginGroupsAndAuthState(t *testing.T) {
	model := &auth.Identity{Name: "alice", Groups: []string{"b", "a", "b"}, AuthState: map[string]any{"token": "t"}}
	tests := []struct {
		name          string
		manage, state bool
		empty         bool // the authenticator returns Groups: []string{}
		wantGroups    []string
		wantState     map[string]any
	}{
		{name: "both off"},
		{name: "manage_groups", manage: true, wantGroups: []string{"a", "b"}},
		{name: "manage_groups, empty list empties", manage: true, empty: true, wantGroups: []string{}},
		{name: "enable_auth_state", state: true, wantState: map[string]any{"token": "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := auth.DefaultConfig()
			cfg.AllowAll = auth.Bool(true)
			cfg.ManageGroups, cfg.EnableAuthState = tt.manage, tt.state
			m := model
			if tt.empty {
				m = &auth.Identity{Name: "alice", Groups: []string{}}
			}
			p, err := auth.NewPipeline(cfg, &scripted{id: m}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			id, err := p.Login(t.Context(), auth.Credentials{Username: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantGroups, id.Groups); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantState, id.AuthState); diff != "" {
				t.Errorf("auth_state (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff([]string{"b", "a", "b"}, model.Groups); diff != "" {
		t.Errorf("the pipeline changed the authenticator's groups:\n%s", diff)
	}
}

func TestLoginErrors(t *testing.T) {
	backendDown := errors.New("ldap: connection refused")
	tests := []struct {
		name       string
		authn      auth.Authenticator
		exists     func(context.Context, string) (bool, error)
		wantIs     error
		wantShown  string // a message the authenticator chose to show
		notRejects bool
	}{
		{name: "authenticator cannot decide", authn: &scripted{err: backendDown}, wantIs: backendDown, notRejects: true},
		{name: "user lookup fails", authn: &scripted{id: &auth.Identity{Name: "alice"}},
			exists: func(context.Context, string) (bool, error) { return false, backendDown }, wantIs: backendDown, notRejects: true},
		{name: "wrapped refusal becomes plain", authn: &scripted{err: errors.Join(auth.ErrRejected, errors.New("user alice: bad hash"))}, wantIs: auth.ErrRejected},
		{name: "shown refusal kept", authn: &scripted{err: auth.Reject("Password too short!")}, wantIs: auth.ErrRejected, wantShown: "Password too short!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := auth.DefaultConfig()
			cfg.AllowExistingUsers = auth.Bool(true)
			p, err := auth.NewPipeline(cfg, tt.authn, tt.exists, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Login(t.Context(), auth.Credentials{Username: "alice", Password: "pw"})
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want %v", err, tt.wantIs)
			}
			if got := errors.Is(err, auth.ErrRejected); got == tt.notRejects {
				t.Errorf("errors.Is(err, ErrRejected) = %v", got)
			}
			switch {
			case tt.wantShown != "":
				if err.Error() != tt.wantShown {
					t.Errorf("message = %q, want %q", err, tt.wantShown)
				}
			case !tt.notRejects:
				if err.Error() != auth.ErrRejected.Error() {
					t.Errorf("refusal says %q; it must not say which check failed", err)
				}
			}
		})
	}
}

// TestNoSecretInLogs runs logins that put a password in the password field, in the username
// field (a common slip) and in config, and checks no log line carries it.
func TestNoSecretInLogs(t *testing.T) {
	log, logs := newLogger(t)
	const typedAsName = "MySecretPasswordTypedIntoTheUsernameField-98765"
	cfg := auth.DefaultConfig()
	cfg.AllowedUsers = []string{"alice"}
	cfg.AdminUsers = []string{"admin"}
	p, err := auth.NewPipeline(cfg, sharedAuth(t, userPW, adminPW), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []auth.Credentials{
		{Username: "alice", Password: userPW},
		{Username: "alice", Password: adminPW},
		{Username: "admin", Password: userPW},
		{Username: "admin", Password: adminPW},
		{Username: "bob", Password: userPW},
		{Username: typedAsName, Password: ""},
		{Username: "a/b", Password: userPW},
		{Username: typedAsName + "/", Password: userPW},
	} {
		p.Login(t.Context(), c)
	}
	out := logs.String()
	for _, secret := range []string{userPW, adminPW, typedAsName, typedAsName[16:32]} {
		if strings.Contains(strings.ToLower(out), strings.ToLower(secret)) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "user=alice") || !strings.Contains(out, "mysecretpassword…(47 chars)") {
		t.Errorf("log lacks the (truncated) usernames:\n%s", out)
	}
}

func TestLoginConcurrent(t *testing.T) {
	cfg := auth.DefaultConfig()
	cfg.AdminUsers = []string{"admin"}
	// The throttle counts an attempt when it lets it through, so five parallel logins of one
	// name from one address are consecutive attempts to it (TestParallelGuessesReserve): this
	// test is about the pipeline's own concurrency, with the throttle off.
	cfg.FailedLoginsBeforeLockout = 0
	p, err := auth.NewPipeline(cfg, dummyAuth(t, ""), existing("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			name := []string{"Admin", "alice", "x"}[i%3]
			if _, err := p.Login(t.Context(), auth.Credentials{Username: name}); err != nil {
				t.Errorf("Login(%s): %v", name, err)
			}
		})
	}
	wg.Wait()
}
