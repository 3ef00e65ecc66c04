package auth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"gohub/internal/auth"
)

// passwords accepts the passwords of its map and counts calls; "short" gets a message.
type passwords struct {
	pw    map[string]string
	calls atomic.Int32
}

func (a *passwords) Authenticate(_ context.Context, c auth.Credentials) (*auth.Identity, error) {
	a.calls.Add(1)
	if c.Password == "short" {
		return nil, auth.Reject("Password too short!")
	}
	if want, ok := a.pw[c.Username]; ok && auth.PasswordsEqual(c.Password, want) {
		return &auth.Identity{Name: c.Username}, nil
	}
	return nil, auth.ErrRejected
}

// throttled reports a refusal of the throttle (the pipelines of these tests show the reason).
func throttled(err error) bool {
	var r *auth.LockedOut
	return errors.As(err, &r) && strings.Contains(r.UserMessage(), "Too many failed login attempts")
}

func TestBruteForceSlowsThenLocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &passwords{pw: map[string]string{"alice": "alice-pw", "bob": "bob-pw"}}
		cfg := auth.DefaultConfig()
		cfg.AllowAll = auth.Bool(true)
		cfg.ShowLockoutReason = true
		p, err := auth.NewPipeline(cfg, a, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		login := func(name, pw string) error {
			_, err := p.Login(ctx, auth.Credentials{Username: name, Password: pw})
			return err
		}

		// One mistake is free; after the second the next attempt within 1 s is refused, even
		// with the right password, and never reaches the authenticator.
		if err := login("alice", "guess"); !errors.Is(err, auth.ErrRejected) || throttled(err) {
			t.Fatalf("first failure = %v", err)
		}
		if err := login("alice", "guess"); !errors.Is(err, auth.ErrRejected) || throttled(err) {
			t.Fatalf("second failure = %v", err)
		}
		calls := a.calls.Load()
		if err := login("Alice", "alice-pw"); !throttled(err) {
			t.Fatalf("attempt right after the second failure = %v, want throttled", err)
		}
		if a.calls.Load() != calls {
			t.Error("a throttled attempt reached the authenticator")
		}
		// Other users are not affected.
		if err := login("bob", "bob-pw"); err != nil {
			t.Errorf("bob while alice is throttled: %v", err)
		}
		// Waits double: 1, 2, 4 s; the fifth failure locks for 300 s.
		waits := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
		for i, w := range waits {
			time.Sleep(w - 10*time.Millisecond)
			if err := login("alice", "alice-pw"); !throttled(err) {
				t.Fatalf("failure %d: attempt just before %v = %v, want throttled", i+2, w, err)
			}
			time.Sleep(10 * time.Millisecond)
			if err := login("alice", "guess"); err == nil || throttled(err) {
				t.Fatalf("failure %d after waiting %v = %v", i+3, w, err)
			}
		}
		err = login("alice", "alice-pw")
		var r *auth.LockedOut
		if !errors.As(err, &r) || !errors.Is(err, auth.ErrRejected) || r.RetryAfter() != 300*time.Second || !strings.Contains(r.Error(), "300 seconds") {
			t.Fatalf("after 5 failures = %v, want locked for 300 seconds", err)
		}
		time.Sleep(299 * time.Second)
		if err := login("alice", "alice-pw"); !throttled(err) {
			t.Fatalf("at 299 s of the lockout = %v", err)
		}
		time.Sleep(time.Second)
		if err := login("alice", "alice-pw"); err != nil {
			t.Fatalf("after the lockout with the right password: %v", err)
		}
		// The success reset the count: one failure is free again.
		login("alice", "guess")
		if err := login("alice", "alice-pw"); err != nil {
			t.Errorf("after reset, one failure and 1 s: %v", err)
		}
	})
}

func TestBruteForceMessagesDoNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &passwords{pw: map[string]string{}}
		cfg := auth.DefaultConfig()
		cfg.AllowAll = auth.Bool(true)
		cfg.ShowLockoutReason = true
		p, _ := auth.NewPipeline(cfg, a, nil, nil)
		for range 10 {
			_, err := p.Login(t.Context(), auth.Credentials{Username: "newbie", Password: "short"})
			if throttled(err) {
				t.Fatal("refusals with their own message were counted as guesses")
			}
		}
	})
}

func TestBruteForceOff(t *testing.T) {
	a := &passwords{pw: map[string]string{"alice": "alice-pw"}}
	cfg := auth.DefaultConfig()
	cfg.AllowAll = auth.Bool(true)
	cfg.FailedLoginsBeforeLockout = 0
	p, err := auth.NewPipeline(cfg, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		p.Login(t.Context(), auth.Credentials{Username: "alice", Password: "guess"})
	}
	if _, err := p.Login(t.Context(), auth.Credentials{Username: "alice", Password: "alice-pw"}); err != nil {
		t.Errorf("with throttling off: %v", err)
	}
}

func TestBruteForceConfig(t *testing.T) {
	for name, edit := range map[string]func(*auth.Config){
		"negative limit":       func(c *auth.Config) { c.FailedLoginsBeforeLockout = -1 },
		"negative lockout":     func(c *auth.Config) { c.LockoutSeconds = -1 },
		"zero lockout":         func(c *auth.Config) { c.LockoutSeconds = 0 },
		"negative delay":       func(c *auth.Config) { c.FailedLoginDelaySeconds = -1 },
		"negative name cap":    func(c *auth.Config) { c.FailedLoginsPerNameBeforeLockout = -1 },
		"negative address cap": func(c *auth.Config) { c.FailedLoginsPerAddressBeforeLockout = -1 },
		"bad trusted proxy":    func(c *auth.Config) { c.TrustedProxies = []string{"10.0.0.0/33"} },
	} {
		cfg := auth.DefaultConfig()
		edit(&cfg)
		if _, err := auth.NewPipeline(cfg, &passwords{}, nil, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestLockoutReasonHidden: by default a throttled attempt is refused like any wrong password
// (plain ErrRejected, no wait told), and it is about the client's address: the same name from
// another address still logs in.
func TestLockoutReasonHidden(t *testing.T) {
	a := &passwords{pw: map[string]string{"alice": "alice-pw"}}
	cfg := auth.DefaultConfig()
	cfg.AllowAll = auth.Bool(true)
	cfg.FailedLoginDelaySeconds = 0
	p, err := auth.NewPipeline(cfg, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	from := func(client string) *http.Request {
		r := httptest.NewRequest("POST", "/hub/login", nil)
		r.RemoteAddr = client + ":43210" // the built-in proxy serves the hub with its client's connection
		return r
	}
	login := func(pw, client string) error {
		_, err := p.Login(t.Context(), auth.Credentials{Username: "alice", Password: pw, Request: from(client)})
		return err
	}
	for range cfg.FailedLoginsBeforeLockout {
		if err := login("guess", "203.0.113.9"); err != auth.ErrRejected {
			t.Fatalf("wrong password: %v", err)
		}
	}
	calls := a.calls.Load()
	if err := login("alice-pw", "203.0.113.9"); err != auth.ErrRejected {
		t.Errorf("locked pair with the right password = %#v, want the plain ErrRejected", err)
	}
	if a.calls.Load() != calls {
		t.Error("a throttled attempt reached the authenticator")
	}
	if err := login("alice-pw", "198.51.100.4"); err != nil {
		t.Errorf("alice from another address: %v", err)
	}
}

// slowPasswords is passwords that take a while to answer, as a real password check does.
type slowPasswords struct {
	passwords
	delay time.Duration
}

func (a *slowPasswords) Authenticate(ctx context.Context, c auth.Credentials) (*auth.Identity, error) {
	time.Sleep(a.delay)
	return a.passwords.Authenticate(ctx, c)
}

// TestParallelGuessesReserve: 30 wrong guesses sent at once from one address reach the
// authenticator at most failed_logins_before_lockout times: an attempt counts from the moment
// it is let through, not from its failure. A success takes its count back, and an answer with
// a message (not a guess) counts nothing.
func TestParallelGuessesReserve(t *testing.T) {
	a := &slowPasswords{passwords: passwords{pw: map[string]string{"alice": "alice-pw"}}, delay: 50 * time.Millisecond}
	cfg := auth.DefaultConfig()
	cfg.AllowAll = auth.Bool(true)
	cfg.FailedLoginDelaySeconds = 0
	p, err := auth.NewPipeline(cfg, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	from := func(client string) *http.Request {
		r := httptest.NewRequest("POST", "/hub/login", nil)
		r.RemoteAddr = client + ":1234"
		return r
	}
	login := func(name, pw, client string) error {
		_, err := p.Login(t.Context(), auth.Credentials{Username: name, Password: pw, Request: from(client)})
		return err
	}
	// Messages and successes first: they must leave nothing counted.
	for range 2 * cfg.FailedLoginsBeforeLockout {
		var msg *auth.Rejection
		if err := login("alice", "short", "203.0.113.9"); !errors.As(err, &msg) {
			t.Fatalf("short password: %v", err)
		}
		if err := login("alice", "alice-pw", "203.0.113.9"); err != nil {
			t.Fatalf("right password: %v", err)
		}
	}
	before := a.calls.Load()
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() { login("alice", "guess", "203.0.113.9") })
	}
	wg.Wait()
	if n := a.calls.Load() - before; n > int32(cfg.FailedLoginsBeforeLockout) {
		t.Errorf("%d of 30 parallel guesses reached the authenticator, want at most %d", n, cfg.FailedLoginsBeforeLockout)
	}
	if err := login("alice", "alice-pw", "203.0.113.9"); err == nil {
		t.Error("the guessing address logs in after the lockout")
	}
	if err := login("alice", "alice-pw", "198.51.100.4"); err != nil {
		t.Errorf("alice from another address: %v", err)
	}
}

// TestLoopbackProxyWarning: listing loopback in trusted_proxies is warned about at startup.
func TestLoopbackProxyWarning(t *testing.T) {
	for list, warn := range map[string]bool{"127.0.0.1": true, "10.0.0.5": false} {
		var buf bytes.Buffer
		cfg := auth.DefaultConfig()
		cfg.AllowAll = auth.Bool(true)
		cfg.TrustedProxies = []string{list}
		if _, err := auth.NewPipeline(cfg, &passwords{}, nil, slog.New(slog.NewTextHandler(&buf, nil))); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "trusted_proxies includes loopback"); got != warn {
			t.Errorf("trusted_proxies [%s]: warned %v\n%s", list, got, buf.String())
		}
	}
}
