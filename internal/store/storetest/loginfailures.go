package storetest

import (
	"strings"
	"testing"
	"time"

	"gohub/internal/store"
)

// testLoginFailures: counters are saved (replacing the same key), listed while locked or
// recent, deleted one by one, purged when over, kept exact (case, IPv6 text), and survive a
// reopen of the database.
func testLoginFailures(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	window := 5 * time.Minute
	eq(t, "empty", len(must(db.LoginFailures(ctx, now, window))), 0)

	pair := store.LoginFailure{Username: "alice", Address: "2001:db8::/64", Failures: 2, LockedUntil: now.Add(time.Second), LastFailure: now}
	name := store.LoginFailure{Username: "alice", Failures: 7, LockedUntil: now.Add(time.Hour), LastFailure: now.Add(-time.Hour)}
	addr := store.LoginFailure{Address: "192.0.2.7", Failures: 1, LockedUntil: now, LastFailure: now}
	old := store.LoginFailure{Username: "Bob", Address: "192.0.2.7", Failures: 3, LockedUntil: now.Add(-time.Hour), LastFailure: now.Add(-time.Hour)}
	ok(t, db.SaveLoginFailures(ctx, []store.LoginFailure{pair, name, addr, old}))
	if err := db.SaveLoginFailures(ctx, []store.LoginFailure{{Failures: 1}}); err == nil {
		t.Error("a counter without username and address was saved")
	}
	if err := db.SaveLoginFailures(ctx, []store.LoginFailure{{Username: "x", Failures: -1}}); err == nil {
		t.Error("a negative count was saved")
	}

	got := must(db.LoginFailures(ctx, now, window))
	want := []store.LoginFailure{addr, name, pair} // "" sorts first; Bob's is over
	if len(got) != len(want) {
		t.Fatalf("listed %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Username != w.Username || g.Address != w.Address || g.Failures != w.Failures ||
			!g.LockedUntil.Equal(w.LockedUntil) || !g.LastFailure.Equal(w.LastFailure) {
			t.Errorf("counter %d = %+v, want %+v", i, g, w)
		}
	}

	// Saving again replaces; the whole batch is one transaction.
	pair.Failures, pair.LockedUntil = 5, now.Add(10*time.Minute)
	ok(t, db.SaveLoginFailures(ctx, []store.LoginFailure{pair}))
	got = must(db.LoginFailures(ctx, now, window))
	eq(t, "pair count after update", got[2].Failures, 5)
	if !got[2].LockedUntil.Equal(pair.LockedUntil) {
		t.Errorf("pair lock after update = %v, want %v", got[2].LockedUntil, pair.LockedUntil)
	}

	eq(t, "purged", must(db.PurgeLoginFailures(ctx, now, window)), 1) // Bob's
	ok(t, db.DeleteLoginFailures(ctx, "alice", "2001:db8::/64"))
	ok(t, db.DeleteLoginFailures(ctx, "alice", "2001:db8::/64")) // nothing left: no error
	ok(t, db.DeleteLoginFailures(ctx, "ALICE", ""))              // names are exact
	got = must(db.LoginFailures(ctx, now, window))
	eq(t, "after deletes", len(got), 2)

	// Later, only the name's lock is still of interest.
	eq(t, "later", len(must(db.LoginFailures(ctx, now.Add(30*time.Minute), window))), 1)

	// Counters survive a reopen.
	if u := db.URL(); u == "sqlite://" || strings.HasSuffix(u, ":memory:") {
		return // an in-memory database is gone once closed
	}
	url := db.URL()
	ok(t, db.Close())
	db2 := must(store.Open(ctx, url, store.Options{}))
	defer db2.Close()
	got = must(db2.LoginFailures(ctx, now, window))
	eq(t, "after reopen", len(got), 2)
}
