package auth

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gohub/internal/store"
)

func TestThrottleEviction(t *testing.T) {
	cfg := DefaultConfig()
	thr, err := newThrottle(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := time.Unix(1_000_000, 0)
	for i := range 2000 {
		thr.recordFailure(ctx, fmt.Sprintf("user%d", i), unknownAddr, now)
	}
	// A pair and a name counter each (no address counter without a request).
	if n := thr.tracked(); n != 4000 {
		t.Fatalf("tracked %d counters, want 4000", n)
	}
	// Long after every wait, the next sweep drops them all.
	later := now.Add(10 * time.Minute)
	thr.mu.Lock()
	thr.sweep(later)
	thr.mu.Unlock()
	if n := thr.tracked(); n != 0 {
		t.Errorf("after the sweep %d counters are tracked", n)
	}
	// A locked name is kept by the sweep.
	for range cfg.FailedLoginsBeforeLockout {
		thr.recordFailure(ctx, "mallory", unknownAddr, later)
	}
	thr.mu.Lock()
	thr.sweep(later.Add(time.Minute))
	thr.mu.Unlock()
	if thr.wait("mallory", unknownAddr, later.Add(time.Minute)) <= 0 {
		t.Error("the sweep dropped a locked name")
	}
}

// TestThrottlePolicy: the pair, name and address counters and how they combine. Limits: 3 per
// (name, address), 6 per name, 10 per address, 60 s lockout and window, no delays.
func TestThrottlePolicy(t *testing.T) {
	type step struct {
		at   int    // seconds since the start
		op   string // fail, ok (a successful login), open or locked (an attempt's check)
		name string
		addr string
	}
	fail := func(at int, name, addr string) step { return step{at, "fail", name, addr} }
	ok := func(at int, name, addr string) step { return step{at, "ok", name, addr} }
	open := func(at int, name, addr string) step { return step{at, "open", name, addr} }
	locked := func(at int, name, addr string) step { return step{at, "locked", name, addr} }
	rep := func(n int, s func(i int) step) []step {
		var out []step
		for i := range n {
			out = append(out, s(i))
		}
		return out
	}
	cat := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	const A, B, C = "192.0.2.1", "198.51.100.2", "2001:db8:1:2::/64"
	tests := []struct {
		name  string
		edit  func(*Config)
		steps []step
	}{
		{"pair locks only its own address", nil, cat(
			rep(3, func(int) step { return fail(0, "alice", A) }),
			[]step{locked(1, "alice", A), open(1, "alice", B), open(1, "bob", A),
				locked(59, "alice", A), open(60, "alice", A)},
		)},
		{"success clears the pair", nil, cat(
			rep(2, func(int) step { return fail(0, "alice", A) }),
			[]step{ok(1, "alice", A)},
			rep(2, func(int) step { return fail(2, "alice", A) }),
			[]step{open(3, "alice", A)},
		)},
		{"counts idle for the window start afresh", nil, cat(
			rep(2, func(int) step { return fail(0, "alice", A) }),
			rep(2, func(int) step { return fail(61, "alice", A) }),
			[]step{open(61, "alice", A)},
		)},
		{"address cap locks every name from it", nil, cat(
			rep(10, func(i int) step { return fail(i, fmt.Sprint("user", i), A) }),
			[]step{locked(10, "zed", A), open(10, "zed", B), locked(68, "carol", A), open(69, "carol", A)},
		)},
		{"a success does not reset the address", nil, cat(
			rep(9, func(i int) step { return fail(0, fmt.Sprint("user", i), A) }),
			[]step{ok(1, "mallory", A), fail(2, "another", A), locked(3, "mallory", A)},
		)},
		// Spread over six addresses the name reaches its cap: addresses that failed are shut
		// out, a clean one still gets in (the real user), and loses that once it fails.
		{"name cap spares clean addresses", nil, cat(
			rep(6, func(i int) step { return fail(0, "alice", fmt.Sprintf("203.0.113.%d", i)) }),
			[]step{locked(1, "alice", "203.0.113.0"), locked(1, "alice", "203.0.113.5"),
				open(1, "alice", B), open(1, "alice", C),
				open(1, "bob", "203.0.113.0"), // the name lock is alice's only
				fail(2, "alice", B), locked(3, "alice", B),
				// An attacker address that failed on another name is shut out of alice too.
				fail(4, "bob", "203.0.113.50"), locked(5, "alice", "203.0.113.50"),
				open(63, "alice", "203.0.113.0")},
		)},
		{"name cap without an address cap uses the pair's record", func(c *Config) { c.FailedLoginsPerAddressBeforeLockout = 0 }, cat(
			rep(6, func(i int) step { return fail(0, "alice", fmt.Sprintf("203.0.113.%d", i)) }),
			[]step{locked(1, "alice", "203.0.113.0"), open(1, "alice", B)},
			rep(20, func(i int) step { return fail(2, fmt.Sprint("user", i), B) }), // no address cap
			[]step{open(2, "zed", B)},
		)},
		{"no request: pair and name, no address", nil, cat(
			rep(3, func(int) step { return fail(0, "alice", unknownAddr) }),
			[]step{locked(1, "alice", unknownAddr), open(1, "alice", A), open(1, "bob", unknownAddr)},
			rep(2, func(int) step { return fail(0, "carol", unknownAddr) }),
			rep(4, func(i int) step { return fail(2, "carol", fmt.Sprintf("203.0.113.%d", i)) }),
			// carol's name is locked, and an attempt without an address is never clean.
			[]step{locked(3, "carol", unknownAddr), open(3, "carol", A)},
		)},
		{"no name typed counts the address only", nil, cat(
			rep(10, func(int) step { return fail(0, "", A) }),
			[]step{locked(1, "alice", A), open(1, "alice", B)},
		)},
		{"name cap below the pair limit counts as the pair limit", func(c *Config) { c.FailedLoginsPerNameBeforeLockout = 2 }, []step{
			fail(0, "alice", A), fail(0, "alice", B), open(1, "alice", A),
		}},
		{"off", func(c *Config) { c.FailedLoginsBeforeLockout = 0 }, cat(
			rep(30, func(int) step { return fail(0, "alice", A) }),
			[]step{open(1, "alice", A)},
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.FailedLoginsBeforeLockout, cfg.FailedLoginsPerNameBeforeLockout, cfg.FailedLoginsPerAddressBeforeLockout = 3, 6, 10
			cfg.LockoutSeconds, cfg.FailedLoginDelaySeconds = 60, 0
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			thr, err := newThrottle(cfg)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Unix(1_000_000, 0)
			for i, s := range tc.steps {
				now := start.Add(time.Duration(s.at) * time.Second)
				switch s.op {
				case "fail":
					thr.recordFailure(t.Context(), s.name, s.addr, now)
				case "ok":
					thr.clearPair(t.Context(), s.name, s.addr)
				default:
					w := thr.wait(s.name, s.addr, now)
					if (w > 0) != (s.op == "locked") {
						t.Errorf("step %d: %s from %s at %d s: wait %v, want %s", i, s.name, s.addr, s.at, w, s.op)
					}
				}
			}
		})
	}
}

// TestThrottleDelays: the pair's waits double up to the lockout and are what fail returns.
func TestThrottleDelays(t *testing.T) {
	thr, err := newThrottle(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_000_000, 0)
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 300 * time.Second}
	for i, w := range want {
		got, locked := thr.recordFailure(t.Context(), "alice", "192.0.2.1", now)
		if got != w || locked != (i == 4) {
			t.Errorf("failure %d: wait %v locked %v, want %v", i+1, got, locked, w)
		}
		now = now.Add(got)
	}
}

func TestClientAddress(t *testing.T) {
	lo := []string{"127.0.0.0/8", "::1"}
	tests := []struct {
		name    string
		trusted []string // nil: the default (nothing)
		remote  string
		xff     []string
		want    string
		warn    bool
	}{
		{"peer", nil, "192.0.2.7:5555", nil, "192.0.2.7", false},
		// Every user's server connects from loopback: by default its header is not believed.
		{"default: loopback peer's header ignored", nil, "127.0.0.1:40000", []string{"203.0.113.9"}, "127.0.0.1", true},
		{"proxy on this host, listed", lo, "127.0.0.1:40000", []string{"203.0.113.9"}, "203.0.113.9", false},
		{"client's own entries further left prove nothing", lo, "127.0.0.1:40000", []string{"6.6.6.6, 203.0.113.9"}, "203.0.113.9", false},
		{"several headers and trusted hops", []string{"127.0.0.1", "10.0.0.0/8"}, "127.0.0.1:1", []string{"1.1.1.1", "203.0.113.9, 10.1.2.3"}, "203.0.113.9", false},
		{"untrusted peer: header ignored", lo, "192.0.2.7:5555", []string{"203.0.113.9"}, "192.0.2.7", true},
		{"trust nobody", []string{}, "127.0.0.1:40000", []string{"203.0.113.9"}, "127.0.0.1", true},
		{"garbage stops the walk", lo, "127.0.0.1:40000", []string{"203.0.113.9, nonsense"}, "127.0.0.1", false},
		{"entries with a port", lo, "127.0.0.1:40000", []string{"[2001:db8::1]:443, 203.0.113.9:1234"}, "203.0.113.9", false},
		{"only trusted hops", lo, "127.0.0.1:40000", []string{"127.0.0.2"}, "127.0.0.2", false},
		{"IPv6 counts by /64", nil, "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64", false},
		{"IPv6 behind the proxy", lo, "[::1]:40000", []string{"2001:db8::1"}, "2001:db8::/64", false},
		{"IPv4-mapped", nil, "[::ffff:192.0.2.7]:1", nil, "192.0.2.7", false},
		{"not an address", nil, "@", nil, unknownAddr, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list := tc.trusted
			if list == nil {
				list = DefaultConfig().TrustedProxies
			}
			p, err := newProxies(list)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("POST", "/hub/login", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got, warn := p.clientAddress(r)
			if got != tc.want || warn != tc.warn {
				t.Errorf("clientAddress = %q, %v; want %q, %v", got, warn, tc.want, tc.warn)
			}
		})
	}
	p, _ := newProxies(nil)
	if got, _ := p.clientAddress((*http.Request)(nil)); got != unknownAddr {
		t.Errorf("no request: %q", got)
	}
	if _, err := newProxies([]string{"10.0.0.0/8", "proxy.example.org"}); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
}

// TestThrottleStore: concurrent failures leave the store holding what memory holds (the last
// write wins with the latest state), a new throttle loads it, a success deletes the pair's row,
// and a success with nothing to clear writes nothing.
func TestThrottleStore(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "hub.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := DefaultConfig()
	cfg.FailedLoginsBeforeLockout, cfg.FailedLoginsPerNameBeforeLockout, cfg.FailedLoginsPerAddressBeforeLockout = 1000, 1000, 1000
	open := func() *throttle {
		thr, err := newThrottle(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := thr.useStore(ctx, db, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		return thr
	}
	thr := open()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			thr.recordFailure(ctx, "alice", fmt.Sprintf("192.0.2.%d", i%4), time.Now())
		}()
	}
	wg.Wait()
	saved, err := db.LoginFailures(ctx, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[throttleKey]int{}
	for _, s := range saved {
		counts[throttleKey{s.Username, s.Address}] = s.Failures
	}
	thr.mu.Lock()
	for k, f := range thr.entries {
		if counts[k] != f.count {
			t.Errorf("%v: stored %d, in memory %d", k, counts[k], f.count)
		}
	}
	thr.mu.Unlock()
	if len(counts) != 4+1+4 || counts[throttleKey{name: "alice"}] != 40 {
		t.Errorf("stored %v", counts)
	}

	again := open()
	if again.tracked() != 9 {
		t.Errorf("reloaded %d counters, want 9", again.tracked())
	}
	again.clearPair(ctx, "alice", "192.0.2.0")
	saved, _ = db.LoginFailures(ctx, time.Now(), time.Hour)
	if len(saved) != 8 {
		t.Errorf("after a success %d rows, want 8", len(saved))
	}
	// With the database gone, any write would log a warning: a success with nothing to clear
	// logs none, one that clears a pair does.
	var logged bytes.Buffer
	again.log = slog.New(slog.NewTextHandler(&logged, nil))
	db.Close()
	again.clearPair(ctx, "bob", "192.0.2.0")
	if logged.Len() != 0 {
		t.Errorf("a success with nothing to clear wrote: %s", logged.String())
	}
	again.clearPair(ctx, "alice", "192.0.2.1")
	if !strings.Contains(logged.String(), "counter not deleted") {
		t.Errorf("clearing a pair did not write: %q", logged.String())
	}
}

// recordFailure counts a failed attempt of name from addr at now without the check, as reserve
// then fail would (tests).
func (t *throttle) recordFailure(ctx context.Context, name, addr string, now time.Time) (wait time.Duration, locked bool) {
	if !t.on() {
		return 0, false
	}
	t.mu.Lock()
	a := t.countLocked(name, addr, now)
	t.mu.Unlock()
	return t.fail(ctx, a)
}
