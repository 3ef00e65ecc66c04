package auth

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"gohub/internal/store"
)

// throttle slows, then locks, repeated failed logins (gohub's addition; upstream has it only in
// NativeAuthenticator, with broken defaults, authenticators.md §3.8 and §4.1). It keeps three
// kinds of counters, each keyed by the normalised hub name and/or the client address (see
// clientAddress):
//
//   - (name, address) pairs: one mistyped password costs nothing; after the n-th consecutive
//     failure (n ≥ 2) the pair must wait delay·2^(n-2) before its next attempt, and after
//     failed_logins_before_lockout failures it is locked for lockout_seconds. A successful login
//     of the name from that address resets the pair. This is what slows a guesser who targets
//     one account from one place, and it never touches the same name tried from elsewhere.
//   - addresses (failed_logins_per_address_before_lockout): failures of every name from one
//     address; reaching the cap locks the address for every name (a spray of names from one
//     place). A success does not reset it (an attacker with an account of their own could).
//   - names (failed_logins_per_name_before_lockout, looser than the pair limit): failures of one
//     name from every address; reaching the cap locks the name (a guesser spread over many
//     addresses), but only for addresses with failures of their own in the window: an address
//     with a clean record still gets its attempts, so an attacker cannot lock the real user out
//     by failing on purpose, while each of the attacker's addresses, once it has failed, is
//     shut out of every locked name.
//
// An attempt that comes too early is refused without reaching the authenticator, so guessing
// costs the attacker time and the hub no hashing. Name and address counts start afresh when
// their last failure is older than lockout_seconds, or when their lock has run out.
//
// The counters live in memory and, once Start gave the pipeline a store, are written through to
// it at each failed login (and at a success that clears a pair), so a restart keeps the locks;
// a success with nothing to clear writes nothing. Several hubs on one database each load the
// counters at startup but do not share them live. At most maxEntries counters are tracked
// (beyond that, new ones are not created until old ones expire, and a warning is logged), so a
// spray of random names cannot exhaust memory.
type throttle struct {
	limit     int           // pair failures before the lockout; 0: throttling is off
	nameLimit int           // failures of one name, all addresses; 0: no name cap
	addrLimit int           // failures from one address, all names; 0: no address cap
	lockout   time.Duration // how long a locked counter stays locked; also the counting window
	delay     time.Duration // first wait after a pair failure; 0: no slowing before the lockout
	show      bool          // show_lockout_reason
	proxies   *proxies

	mu      sync.Mutex
	entries map[throttleKey]*failures
	sweeps  int
	purge   bool // a sweep ran: purge the store at the next write

	wmu sync.Mutex // serialises writes to db, so the last write holds the latest state
	db  *store.DB  // nil until useStore
	log *slog.Logger
}

// throttleKey names one counter: both fields for a pair, addr "" for a name, name "" for an
// address.
type throttleKey struct{ name, addr string }

// unknownAddr stands for the address of a login without an HTTP request: it has pair counters
// but no address counter.
const unknownAddr = "unknown"

// failures is one counter.
type failures struct {
	count int
	until time.Time // no attempt before this time
	last  time.Time // last failure
}

// maxEntries bounds the counters tracked at once.
const maxEntries = 100_000

func newThrottle(cfg Config) (*throttle, error) {
	switch {
	case cfg.FailedLoginsBeforeLockout < 0:
		return nil, fmt.Errorf("failed_logins_before_lockout must not be negative, got %d", cfg.FailedLoginsBeforeLockout)
	case cfg.FailedLoginsPerNameBeforeLockout < 0:
		return nil, fmt.Errorf("failed_logins_per_name_before_lockout must not be negative, got %d", cfg.FailedLoginsPerNameBeforeLockout)
	case cfg.FailedLoginsPerAddressBeforeLockout < 0:
		return nil, fmt.Errorf("failed_logins_per_address_before_lockout must not be negative, got %d", cfg.FailedLoginsPerAddressBeforeLockout)
	case cfg.LockoutSeconds < 0:
		return nil, fmt.Errorf("lockout_seconds must not be negative, got %v", cfg.LockoutSeconds)
	case cfg.FailedLoginDelaySeconds < 0:
		return nil, fmt.Errorf("failed_login_delay_seconds must not be negative, got %v", cfg.FailedLoginDelaySeconds)
	case cfg.FailedLoginsBeforeLockout > 0 && cfg.LockoutSeconds == 0:
		return nil, fmt.Errorf("lockout_seconds must be positive when failed_logins_before_lockout is set (0 disables throttling)")
	}
	px, err := newProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	// The name cap counts every address: it is never below the pair limit.
	nameLimit := cfg.FailedLoginsPerNameBeforeLockout
	if nameLimit > 0 {
		nameLimit = max(nameLimit, cfg.FailedLoginsBeforeLockout)
	}
	return &throttle{
		limit:     cfg.FailedLoginsBeforeLockout,
		nameLimit: nameLimit,
		addrLimit: cfg.FailedLoginsPerAddressBeforeLockout,
		lockout:   seconds(cfg.LockoutSeconds),
		delay:     seconds(cfg.FailedLoginDelaySeconds),
		show:      cfg.ShowLockoutReason,
		proxies:   px,
		entries:   map[throttleKey]*failures{},
		log:       slog.New(slog.DiscardHandler),
	}, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// on reports whether throttling is configured.
func (t *throttle) on() bool { return t.limit > 0 }

// keys returns the counters of an attempt of name from addr; a counter that is off or cannot
// apply is the zero key.
func (t *throttle) keys(name, addr string) (pair, byName, byAddr throttleKey) {
	if name != "" {
		pair = throttleKey{name, addr}
		if t.nameLimit > 0 {
			byName = throttleKey{name: name}
		}
	}
	if t.addrLimit > 0 && addr != unknownAddr {
		byAddr = throttleKey{addr: addr}
	}
	return
}

// wait returns how long name must still wait before it may try again from addr; 0 means now.
// addr is clientAddress's key, unknownAddr without a request.
func (t *throttle) wait(name, addr string, now time.Time) time.Duration {
	if !t.on() {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waitLocked(name, addr, now)
}

func (t *throttle) waitLocked(name, addr string, now time.Time) time.Duration {
	pair, byName, byAddr := t.keys(name, addr)
	var d time.Duration
	left := func(k throttleKey) time.Duration {
		if f := t.entries[k]; f != nil && now.Before(f.until) {
			return f.until.Sub(now)
		}
		return 0
	}
	if pair != (throttleKey{}) {
		d = max(d, left(pair))
	}
	if byAddr != (throttleKey{}) {
		d = max(d, left(byAddr))
	}
	// A locked name is closed to addresses with failures of their own in the window, and to
	// attempts whose address is not known.
	if byName != (throttleKey{}) {
		if w := left(byName); w > 0 && !t.clean(addr, pair, now) {
			d = max(d, w)
		}
	}
	return d
}

// clean reports whether addr has no failure in the window: no address counter, or (with the
// address cap off) no pair counter for this name.
func (t *throttle) clean(addr string, pair throttleKey, now time.Time) bool {
	if addr == unknownAddr {
		return false
	}
	k := throttleKey{addr: addr}
	if t.addrLimit == 0 {
		k = pair
	}
	f := t.entries[k]
	return f == nil || f.count == 0 || now.Sub(f.last) > t.lockout && !now.Before(f.until)
}

// fail records a failed attempt of name from addr and returns the wait it imposes on the next
// attempt from addr (-1: a counter could not be created, the caller logs it) and whether it
// locked something (the pair, the name or the address).
func (t *throttle) fail(ctx context.Context, name, addr string, now time.Time) (wait time.Duration, locked bool) {
	if !t.on() {
		return 0, false
	}
	t.mu.Lock()
	pair, byName, byAddr := t.keys(name, addr)
	var touched []throttleKey
	full := false
	for _, k := range []throttleKey{pair, byName, byAddr} {
		if k == (throttleKey{}) {
			continue
		}
		limit := t.limit
		switch k {
		case byName:
			limit = t.nameLimit
		case byAddr:
			limit = t.addrLimit
		}
		f := t.entries[k]
		if f == nil {
			if len(t.entries) >= maxEntries {
				t.sweep(now)
				if len(t.entries) >= maxEntries {
					full = true
					continue
				}
			}
			f = &failures{}
			t.entries[k] = f
		}
		// A lock that has run out, or a count idle for the whole window, starts afresh.
		if f.count >= limit && !now.Before(f.until) || now.Sub(f.last) > t.lockout {
			f.count = 0
		}
		f.count++
		f.last = now
		var d time.Duration
		switch {
		case f.count >= limit:
			d = t.lockout
			locked = true
		case k == pair && t.delay > 0 && f.count > 1:
			d = min(time.Duration(float64(t.delay)*math.Pow(2, float64(f.count-2))), t.lockout)
		}
		f.until = now.Add(d)
		touched = append(touched, k)
	}
	wait = t.waitLocked(name, addr, now)
	if full {
		wait = -1
	}
	// Sweep now and then so expired counters don't pile up.
	if t.sweeps++; t.sweeps >= 1024 {
		t.sweep(now)
	}
	t.mu.Unlock()
	t.persist(ctx, touched, now)
	return wait, locked
}

// succeed clears the pair of name and addr (the name and address counters stay: see throttle).
func (t *throttle) succeed(ctx context.Context, name, addr string) {
	if !t.on() || name == "" {
		return
	}
	k := throttleKey{name, addr}
	t.mu.Lock()
	_, had := t.entries[k]
	delete(t.entries, k)
	t.mu.Unlock()
	if had {
		t.persist(ctx, []throttleKey{k}, time.Now())
	}
}

// sweep drops counters whose wait is over and whose last failure is older than the window.
// Called with mu held.
func (t *throttle) sweep(now time.Time) {
	t.sweeps = 0
	t.purge = true
	for k, f := range t.entries {
		if !now.Before(f.until) && now.Sub(f.last) > t.lockout {
			delete(t.entries, k)
		}
	}
}

// tracked is the number of counters (tests).
func (t *throttle) tracked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// useStore loads the counters db keeps and writes later changes to it.
func (t *throttle) useStore(ctx context.Context, db *store.DB, log *slog.Logger) error {
	if !t.on() || db == nil {
		return nil
	}
	now := time.Now()
	if _, err := db.PurgeLoginFailures(ctx, now, t.lockout); err != nil {
		return err
	}
	saved, err := db.LoginFailures(ctx, now, t.lockout)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range saved {
		k := throttleKey{s.Username, s.Address}
		if len(t.entries) >= maxEntries {
			break
		}
		t.entries[k] = &failures{count: s.Failures, until: s.LockedUntil, last: s.LastFailure}
	}
	t.db, t.log = db, log
	if len(saved) > 0 {
		log.Info("login throttle: loaded failure counters", "count", len(saved))
	}
	return nil
}

// persist writes the current state of keys to the store (a counter that is gone is deleted).
// It runs on the login's goroutine but is not cancelled with the request, so a client that
// hangs up cannot skip the write. A store error is logged: the memory counters still apply.
func (t *throttle) persist(ctx context.Context, keys []throttleKey, now time.Time) {
	if t.db == nil || len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.mu.Lock()
	var save []store.LoginFailure
	var gone []throttleKey
	for _, k := range keys {
		if f := t.entries[k]; f != nil {
			save = append(save, store.LoginFailure{Username: k.name, Address: k.addr, Failures: f.count, LockedUntil: f.until, LastFailure: f.last})
		} else {
			gone = append(gone, k)
		}
	}
	purge := t.purge
	t.purge = false
	t.mu.Unlock()
	if err := t.db.SaveLoginFailures(ctx, save); err != nil {
		t.log.Warn("login throttle: counters not saved", "err", err)
	}
	for _, k := range gone {
		if err := t.db.DeleteLoginFailures(ctx, k.name, k.addr); err != nil {
			t.log.Warn("login throttle: counter not deleted", "err", err)
		}
	}
	if purge {
		if _, err := t.db.PurgeLoginFailures(ctx, now, t.lockout); err != nil {
			t.log.Warn("login throttle: old counters not purged", "err", err)
		}
	}
}

// LockedOut is the refusal of an attempt the throttle stopped, when show_lockout_reason is on
// (without it the attempt gets the plain ErrRejected, like any failed login). The login page
// answers it with 429 Too Many Requests and a Retry-After header.
type LockedOut struct {
	// Wait is how long until the next attempt is allowed.
	Wait time.Duration
}

// Error returns the user-facing message.
func (e *LockedOut) Error() string { return TooManyFailures(e.Wait) }

// UserMessage is the text of the login form.
func (e *LockedOut) UserMessage() string { return TooManyFailures(e.Wait) }

// RetryAfter is the wait, for the Retry-After header.
func (e *LockedOut) RetryAfter() time.Duration { return e.Wait }

// Is makes errors.Is(e, ErrRejected) true.
func (e *LockedOut) Is(target error) bool { return target == ErrRejected }

// TooManyFailures is the login form message for an attempt that must wait.
func TooManyFailures(wait time.Duration) string {
	s := int(math.Ceil(wait.Seconds()))
	return fmt.Sprintf("Too many failed login attempts. Please try again in %d seconds.", max(s, 1))
}
