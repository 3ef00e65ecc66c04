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
// NativeAuthenticator, with broken defaults, README, Authenticators). It keeps three
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

// attempt is one login attempt the throttle let through (reserve). Its counters count it as a
// failure from the moment it is let through, so parallel attempts cannot all pass the check
// before the first failure is recorded; the outcome settles it: fail keeps the count, succeed
// and release take it back.
type attempt struct {
	name, addr string
	at         time.Time
	counted    []throttleKey // the counters this attempt incremented
	hadPair    bool          // the pair counter existed before this attempt
	full       bool          // a counter could not be created (maxEntries)
}

// reserve lets an attempt of name from addr through, counting it, or returns how long it must
// still wait (and no attempt). With throttling off it returns (nil, 0): the nil attempt's
// methods do nothing.
func (t *throttle) reserve(name, addr string, now time.Time) (*attempt, time.Duration) {
	if !t.on() {
		return nil, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if d := t.waitLocked(name, addr, now); d > 0 {
		return nil, d
	}
	return t.countLocked(name, addr, now), 0
}

// countLocked increments the counters of an attempt of name from addr, as a failure at now.
// Called with mu held.
func (t *throttle) countLocked(name, addr string, now time.Time) *attempt {
	a := &attempt{name: name, addr: addr, at: now}
	pair, byName, byAddr := t.keys(name, addr)
	if pair != (throttleKey{}) {
		_, a.hadPair = t.entries[pair]
	}
	for _, k := range []throttleKey{pair, byName, byAddr} {
		if k == (throttleKey{}) {
			continue
		}
		f := t.entries[k]
		if f == nil {
			if len(t.entries) >= maxEntries {
				t.sweep(now)
				if len(t.entries) >= maxEntries {
					a.full = true
					continue
				}
			}
			f = &failures{}
			t.entries[k] = f
		}
		limit := t.limitOf(k, pair, byName, byAddr)
		// A lock that has run out, or a count idle for the whole window, starts afresh.
		if f.count >= limit && !now.Before(f.until) || now.Sub(f.last) > t.lockout {
			f.count = 0
		}
		f.count++
		f.last = now
		f.until = now.Add(t.penalty(k == pair, f.count, limit))
		a.counted = append(a.counted, k)
	}
	// Sweep now and then so expired counters don't pile up.
	if t.sweeps++; t.sweeps >= 1024 {
		t.sweep(now)
	}
	return a
}

// limitOf is the failure limit of counter k among an attempt's three.
func (t *throttle) limitOf(k, pair, byName, byAddr throttleKey) int {
	switch k {
	case pair:
		return t.limit
	case byName:
		return t.nameLimit
	case byAddr:
		return t.addrLimit
	}
	return t.limit
}

// penalty is the wait a counter at count failures imposes: the lockout at its limit, the
// doubling delay for a pair before it.
func (t *throttle) penalty(pair bool, count, limit int) time.Duration {
	switch {
	case count >= limit:
		return t.lockout
	case pair && t.delay > 0 && count > 1:
		return min(time.Duration(float64(t.delay)*math.Pow(2, float64(count-2))), t.lockout)
	}
	return 0
}

// fail settles a as a failed login: its counts stay and are written to the store. It returns
// the wait imposed on the next attempt from a's address (-1: a counter could not be created,
// the caller logs it) and whether a counter of a reached its limit (a lock).
func (t *throttle) fail(ctx context.Context, a *attempt) (wait time.Duration, locked bool) {
	if a == nil {
		return 0, false
	}
	t.mu.Lock()
	pair, byName, byAddr := t.keys(a.name, a.addr)
	for _, k := range a.counted {
		if f := t.entries[k]; f != nil && f.count >= t.limitOf(k, pair, byName, byAddr) {
			locked = true
		}
	}
	wait = t.waitLocked(a.name, a.addr, a.at)
	if a.full {
		wait = -1
	}
	t.mu.Unlock()
	t.persist(ctx, a.counted, a.at)
	return wait, locked
}

// succeed settles a as a successful login: the pair of its name and address is cleared, and
// its count of the name and address counters is taken back (they keep earlier failures: see
// throttle).
func (t *throttle) succeed(ctx context.Context, a *attempt) {
	if a == nil {
		return
	}
	pair, _, _ := t.keys(a.name, a.addr)
	t.mu.Lock()
	t.uncountLocked(a, pair)
	if pair != (throttleKey{}) {
		delete(t.entries, pair)
	}
	t.mu.Unlock()
	if a.hadPair {
		t.persist(ctx, []throttleKey{pair}, time.Now())
	}
}

// release takes back a's counts: the attempt was not a guess (a refusal with its own message,
// an authenticator that could not decide).
func (t *throttle) release(a *attempt) {
	if a == nil {
		return
	}
	t.mu.Lock()
	t.uncountLocked(a, throttleKey{})
	t.mu.Unlock()
}

// uncountLocked takes back a's count from its counters but skip; a counter back at zero is
// dropped. Called with mu held.
func (t *throttle) uncountLocked(a *attempt, skip throttleKey) {
	pair, byName, byAddr := t.keys(a.name, a.addr)
	for _, k := range a.counted {
		f := t.entries[k]
		if k == skip || f == nil {
			continue
		}
		if f.count--; f.count <= 0 {
			delete(t.entries, k)
			continue
		}
		f.until = f.last.Add(t.penalty(k == pair, f.count, t.limitOf(k, pair, byName, byAddr)))
	}
}

// clearPair clears the pair of name and addr (a login accepted under another name than typed).
func (t *throttle) clearPair(ctx context.Context, name, addr string) {
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
