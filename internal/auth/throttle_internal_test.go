package auth

import (
	"testing"
	"time"
)

func TestThrottleEviction(t *testing.T) {
	cfg := DefaultConfig()
	thr, err := newThrottle(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_000_000, 0)
	for i := range 2000 {
		thr.fail(string(rune('a'+i%26))+time.Duration(i).String(), now)
	}
	if n := thr.tracked(); n != 2000 {
		t.Fatalf("tracked %d names, want 2000", n)
	}
	// Long after every wait, the next sweep drops them all.
	later := now.Add(10 * time.Minute)
	thr.mu.Lock()
	thr.sweep(later)
	thr.mu.Unlock()
	if n := thr.tracked(); n != 0 {
		t.Errorf("after the sweep %d names are tracked", n)
	}
	// A locked name is kept by the sweep.
	for range cfg.FailedLoginsBeforeLockout {
		thr.fail("mallory", later)
	}
	thr.mu.Lock()
	thr.sweep(later.Add(time.Minute))
	thr.mu.Unlock()
	if thr.wait("mallory", later.Add(time.Minute)) <= 0 {
		t.Error("the sweep dropped a locked name")
	}
}
