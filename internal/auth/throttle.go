package auth

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// throttle slows, then locks, repeated failed logins for one name (gohub's addition; upstream
// has it only in NativeAuthenticator, with broken defaults, authenticators.md §3.8 and §4.1).
// One mistyped password costs nothing; after the n-th consecutive failure (n ≥ 2) the name must
// wait delay·2^(n-2) before its next attempt, and after failed_logins_before_lockout failures it is locked for lockout_seconds; an attempt
// that comes too early is refused without reaching the authenticator, so guessing costs the
// attacker time and the hub no hashing. A successful login resets the name. Other names are not
// affected.
//
// The counters live in memory, per hub process: a restart forgets them and several hubs do not
// share them. Entries are dropped once their lock has expired; at most maxEntries names are
// tracked (beyond that, new names are not throttled until old entries expire, and a warning is
// logged), so a spray of random names cannot exhaust memory.
type throttle struct {
	limit   int           // failures before the lockout; 0: throttling is off
	lockout time.Duration // how long a locked name stays locked
	delay   time.Duration // first wait after a failure; 0: no slowing before the lockout

	mu      sync.Mutex
	entries map[string]*failures
	sweeps  int
}

// failures is one name's record.
type failures struct {
	count int
	until time.Time // no attempt before this time
}

// maxEntries bounds the names tracked at once.
const maxEntries = 100_000

func newThrottle(cfg Config) (*throttle, error) {
	switch {
	case cfg.FailedLoginsBeforeLockout < 0:
		return nil, fmt.Errorf("failed_logins_before_lockout must not be negative, got %d", cfg.FailedLoginsBeforeLockout)
	case cfg.LockoutSeconds < 0:
		return nil, fmt.Errorf("lockout_seconds must not be negative, got %v", cfg.LockoutSeconds)
	case cfg.FailedLoginDelaySeconds < 0:
		return nil, fmt.Errorf("failed_login_delay_seconds must not be negative, got %v", cfg.FailedLoginDelaySeconds)
	case cfg.FailedLoginsBeforeLockout > 0 && cfg.LockoutSeconds == 0:
		return nil, fmt.Errorf("lockout_seconds must be positive when failed_logins_before_lockout is set (0 disables throttling)")
	}
	return &throttle{
		limit:   cfg.FailedLoginsBeforeLockout,
		lockout: seconds(cfg.LockoutSeconds),
		delay:   seconds(cfg.FailedLoginDelaySeconds),
		entries: map[string]*failures{},
	}, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// wait returns how long name must still wait before it may try again; 0 means now.
func (t *throttle) wait(name string, now time.Time) time.Duration {
	if t.limit == 0 || name == "" {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.entries[name]
	if f == nil || !now.Before(f.until) {
		return 0
	}
	return f.until.Sub(now)
}

// fail records a failed attempt and returns the wait it imposes.
func (t *throttle) fail(name string, now time.Time) time.Duration {
	if t.limit == 0 || name == "" {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.entries[name]
	if f == nil {
		if len(t.entries) >= maxEntries {
			t.sweep(now)
			if len(t.entries) >= maxEntries {
				return -1 // not tracked; the caller logs it
			}
		}
		f = &failures{}
		t.entries[name] = f
	}
	// A lock that has run out starts the count afresh.
	if f.count >= t.limit && !now.Before(f.until) {
		f.count = 0
	}
	f.count++
	var d time.Duration
	if f.count >= t.limit {
		d = t.lockout
	} else if t.delay > 0 && f.count > 1 {
		d = time.Duration(float64(t.delay) * math.Pow(2, float64(f.count-2)))
		d = min(d, t.lockout)
	}
	f.until = now.Add(d)
	// Sweep now and then so expired names don't pile up.
	if t.sweeps++; t.sweeps >= 1024 {
		t.sweep(now)
	}
	return d
}

// succeed forgets name's failures.
func (t *throttle) succeed(name string) {
	if t.limit == 0 || name == "" {
		return
	}
	t.mu.Lock()
	delete(t.entries, name)
	t.mu.Unlock()
}

// sweep drops entries whose wait is over and that could not lock any more soon: those idle for
// longer than the lockout. Called with mu held.
func (t *throttle) sweep(now time.Time) {
	t.sweeps = 0
	for name, f := range t.entries {
		if now.Sub(f.until) > t.lockout {
			delete(t.entries, name)
		}
	}
}

// tracked is the number of names with a record (tests).
func (t *throttle) tracked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// TooManyFailures is the login form message for a name that must wait.
func TooManyFailures(wait time.Duration) string {
	s := int(math.Ceil(wait.Seconds()))
	return fmt.Sprintf("Too many failed login attempts for this user. Please try again in %d seconds.", max(s, 1))
}
