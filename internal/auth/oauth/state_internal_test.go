package oauth

import (
	"strconv"
	"testing"
	"time"
)

// Anyone can make used state ids: oauth_login hands out a state, and the callback consumes it
// before any code is exchanged. Remembering them must stay cheap per callback; it used to scan
// every remembered id on each callback once there were a thousand, so a burst of callbacks
// cost time quadratic in their number.
func TestConsumeStaysCheapWithManyIDs(t *testing.T) {
	c, err := newStateCodec()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	start := time.Now()
	for i := range 50000 {
		if !c.consume("id-"+strconv.Itoa(i), now) {
			t.Fatalf("id %d refused the first time", i)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("50000 callbacks took %s", d)
	}
	if c.consume("id-7", now) {
		t.Error("a used id was accepted again")
	}
	// Expired ids are forgotten.
	later := now.Add(stateTTL + 2*time.Minute)
	c.consume("fresh", later)
	c.mu.Lock()
	n := len(c.used)
	c.mu.Unlock()
	if n != 1 {
		t.Errorf("%d ids remembered after they expired, want 1", n)
	}
}
