package local_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"gohub/internal/spawner"
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
	mo := h.user("mo", false)
	if ready, err := h.m.Start(t.Context(), mo, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	if stopped, err := h.m.Stop(t.Context(), mo, ""); stopped || err != nil {
		t.Fatalf("Stop = %v, %v; want pending", stopped, err)
	}
	if st := h.m.Status("mo", ""); st.Pending != "stop" || st.Ready || !st.Active {
		t.Fatalf("status while stopping: %+v", st)
	}
	if _, err := h.m.Start(t.Context(), mo, "", nil); !errors.Is(err, spawner.ErrPending) || err.Error() != "mo is pending stop" {
		t.Fatalf("start while stopping: %v", err)
	}
	if stopped, err := h.m.Stop(t.Context(), mo, ""); stopped || err != nil {
		t.Fatalf("second Stop = %v, %v; want pending", stopped, err)
	}
	waitFor(t, 10*time.Second, "the stop to finish", func() bool { return !h.m.Status("mo", "").Active })
}

// Named server records can be renamed and removed while stopped, not while running.
func TestRenameAndRemove(t *testing.T) {
	l := limits()
	l.AllowNamedServers = true
	h := newHarness(t, "simple", simpleConfig(t, "serve"), l)
	ned := h.user("ned", false)
	ctx := t.Context()
	if ready, err := h.m.Start(ctx, ned, "one", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	if err := h.m.Rename(ctx, ned, "one", "two"); !errors.Is(err, spawner.ErrBadRequest) {
		t.Fatalf("rename running: %v", err)
	}
	if err := h.m.Remove(ctx, ned, "one"); !errors.Is(err, spawner.ErrBadRequest) {
		t.Fatalf("remove running: %v", err)
	}
	if stopped, err := h.m.Stop(ctx, ned, "one"); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	if err := h.m.Rename(ctx, ned, "one", "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.GetSpawner(ctx, ned.ID, "two"); err != nil {
		t.Fatal(err)
	}
	if ready, err := h.m.Start(ctx, ned, "two", nil); !ready || err != nil {
		t.Fatalf("Start renamed = %v, %v", ready, err)
	}
	if _, ok := h.hub.route("/user/ned/two/"); !ok {
		t.Error("no route for the renamed server")
	}
	h.m.Stop(ctx, ned, "two")
	if err := h.m.Remove(ctx, ned, "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.GetSpawner(ctx, ned.ID, "two"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("row after remove: %v", err)
	}
	if err := h.m.Remove(ctx, ned, "two"); !errors.Is(err, spawner.ErrNotFound) {
		t.Fatalf("remove again: %v", err)
	}
	if err := h.m.Remove(ctx, ned, ""); !errors.Is(err, spawner.ErrBadRequest) {
		t.Fatalf("remove default: %v", err)
	}
}

// consecutive_failure_limit calls OnFailureLimit after that many failed spawns in a row.
func TestConsecutiveFailureLimit(t *testing.T) {
	cfg := simpleConfig(t, "exit")
	cfg.ConsecutiveFailureLimit = 2
	h := newHarness(t, "simple", cfg, limits())
	var calls atomic.Int32
	h.onFailureLimit = func(n int) { calls.Add(1) }
	h.m.Close()
	h.open()
	a, b := h.user("fa", false), h.user("fb", false)
	if _, err := h.m.Start(t.Context(), a, "", nil); err == nil {
		t.Fatal("spawn of an exiting command succeeded")
	}
	time.Sleep(100 * time.Millisecond)
	if calls.Load() != 0 {
		t.Fatal("limit reached after one failure")
	}
	if _, err := h.m.Start(t.Context(), b, "", nil); err == nil {
		t.Fatal("spawn of an exiting command succeeded")
	}
	waitFor(t, 5*time.Second, "OnFailureLimit", func() bool { return calls.Load() == 1 })
}

// Stopping during a spawn cancels it: the stream ends with "Spawn cancelled".
func TestStopCancelsSpawn(t *testing.T) {
	cfg := simpleConfig(t, "slow,serve")
	cfg.Environment["GOHUB_TEST_DELAY"] = "3s"
	l := limits()
	l.SlowSpawnTimeout = spawner.Seconds(0.01)
	h := newHarness(t, "simple", cfg, l)
	jo := h.user("jo", false)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if ready, err := h.m.Start(ctx, jo, "", nil); ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	p, err := h.m.Progress(ctx, "jo", "")
	if err != nil {
		t.Fatal(err)
	}
	if stopped, err := h.m.Stop(ctx, jo, ""); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	evs := collect(t, p)
	if last := evs[len(evs)-1]; !last.Failed || last.Message != "Spawn cancelled" {
		t.Fatalf("last event %+v", last)
	}
	if st := h.m.Status("jo", ""); st.Active || !st.Cancelled {
		t.Fatalf("status %+v", st)
	}
}
