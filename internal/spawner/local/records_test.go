package local_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"gohub/internal/spawner"
	"gohub/internal/spawner/spawnertest"
	"gohub/internal/store"
)

// A stop slower than slow_stop_timeout answers "pending" (202) and finishes in the background;
// a start meanwhile is refused with a 400.
func TestSlowStop(t *testing.T) {
	cfg := simpleConfig(t, "stubborn,serve")
	cfg.TermTimeout = spawner.Seconds(1)
	l := limits()
	l.SlowStopTimeout = spawner.Seconds(0.1)
	h := newHarness(t, "simple", cfg, l)
	mo := h.User("mo", false)
	if ready, err := h.M.Start(t.Context(), mo, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	if stopped, err := h.M.Stop(t.Context(), mo, ""); stopped || err != nil {
		t.Fatalf("Stop = %v, %v; want pending", stopped, err)
	}
	if st := h.M.Status("mo", ""); st.Pending != "stop" || st.Ready || !st.Active {
		t.Fatalf("status while stopping: %+v", st)
	}
	if _, err := h.M.Start(t.Context(), mo, "", nil); !errors.Is(err, spawner.ErrPending) || err.Error() != "mo is pending stop" {
		t.Fatalf("start while stopping: %v", err)
	}
	if stopped, err := h.M.Stop(t.Context(), mo, ""); stopped || err != nil {
		t.Fatalf("second Stop = %v, %v; want pending", stopped, err)
	}
	spawnertest.WaitFor(t, 10*time.Second, "the stop to finish", func() bool { return !h.M.Status("mo", "").Active })
}

// Named server records can be renamed and removed while stopped, not while running.
func TestRenameAndRemove(t *testing.T) {
	l := limits()
	l.AllowNamedServers = true
	h := newHarness(t, "simple", simpleConfig(t, "serve"), l)
	ned := h.User("ned", false)
	ctx := t.Context()
	if ready, err := h.M.Start(ctx, ned, "one", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	if err := h.M.Rename(ctx, ned, "one", "two"); !errors.Is(err, spawner.ErrBadRequest) {
		t.Fatalf("rename running: %v", err)
	}
	if err := h.M.Remove(ctx, ned, "one"); !errors.Is(err, spawner.ErrBadRequest) {
		t.Fatalf("remove running: %v", err)
	}
	if stopped, err := h.M.Stop(ctx, ned, "one"); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	if err := h.M.Rename(ctx, ned, "one", "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.DB.GetSpawner(ctx, ned.ID, "two"); err != nil {
		t.Fatal(err)
	}
	if ready, err := h.M.Start(ctx, ned, "two", nil); !ready || err != nil {
		t.Fatalf("Start renamed = %v, %v", ready, err)
	}
	if _, ok := h.Hub.Route("/user/ned/two/"); !ok {
		t.Error("no route for the renamed server")
	}
	h.M.Stop(ctx, ned, "two")
	if err := h.M.Remove(ctx, ned, "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.DB.GetSpawner(ctx, ned.ID, "two"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("row after remove: %v", err)
	}
	if err := h.M.Remove(ctx, ned, "two"); !errors.Is(err, spawner.ErrNotFound) {
		t.Fatalf("remove again: %v", err)
	}
	if err := h.M.Remove(ctx, ned, ""); !errors.Is(err, spawner.ErrBadRequest) {
		t.Fatalf("remove default: %v", err)
	}
}

// consecutive_failure_limit calls OnFailureLimit after that many failed spawns in a row.
func TestConsecutiveFailureLimit(t *testing.T) {
	cfg := simpleConfig(t, "exit")
	cfg.ConsecutiveFailureLimit = 2
	h := newHarness(t, "simple", cfg, limits())
	var calls atomic.Int32
	h.OnFailureLimit = func(n int) { calls.Add(1) }
	h.M.Close()
	h.Open()
	a, b := h.User("fa", false), h.User("fb", false)
	if _, err := h.M.Start(t.Context(), a, "", nil); err == nil {
		t.Fatal("spawn of an exiting command succeeded")
	}
	time.Sleep(100 * time.Millisecond)
	if calls.Load() != 0 {
		t.Fatal("limit reached after one failure")
	}
	if _, err := h.M.Start(t.Context(), b, "", nil); err == nil {
		t.Fatal("spawn of an exiting command succeeded")
	}
	spawnertest.WaitFor(t, 5*time.Second, "OnFailureLimit", func() bool { return calls.Load() == 1 })
}

// The manager's memory follows user deletion and renaming, and refuses both while a server runs.
func TestForgetAndRenameUser(t *testing.T) {
	h := newHarness(t, "simple", simpleConfig(t, "exit"), limits())
	ot := h.User("ot", false)
	if _, err := h.M.Start(t.Context(), ot, "", nil); err == nil {
		t.Fatal("exiting server started")
	}
	if err := h.M.RenameUser("ot", "otto"); err != nil {
		t.Fatal(err)
	}
	if st := h.M.Status("otto", ""); st.LastFailure == nil {
		t.Errorf("failure not moved with the rename: %+v", st)
	}
	if st := h.M.Status("ot", ""); st.LastFailure != nil {
		t.Errorf("failure left under the old name: %+v", st)
	}
	if err := h.M.ForgetUser("otto"); err != nil {
		t.Fatal(err)
	}
	if st := h.M.Status("otto", ""); st.LastFailure != nil {
		t.Errorf("failure remembered after ForgetUser: %+v", st)
	}

	h2 := newHarness(t, "simple", simpleConfig(t, "serve"), limits())
	pia := h2.User("pia", false)
	if ready, err := h2.M.Start(t.Context(), pia, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	if err := h2.M.RenameUser("pia", "pio"); !errors.Is(err, spawner.ErrPending) {
		t.Errorf("rename with a running server: %v", err)
	}
	if err := h2.M.ForgetUser("pia"); !errors.Is(err, spawner.ErrPending) {
		t.Errorf("forget with a running server: %v", err)
	}
}
