package api

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// blockList is an AccessControl that keeps blocks in a set: the API's side of blocking (the
// hub's revocation is tested in internal/hub).
type blockList struct {
	mu    sync.Mutex
	names map[string]bool
}

func (b *blockList) BlockUser(_ context.Context, name, _ string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.names[name] = true
	return nil
}

func (b *blockList) UnblockUser(_ context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.names, name)
	return nil
}

func (b *blockList) IsBlocked(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.names[name]
}

func (b *blockList) IssueResetLink(context.Context, string, string) (string, time.Time, error) {
	return "", time.Time{}, ErrResetUnavailable
}

func (b *blockList) IssueInvite(context.Context, string) (string, time.Time, error) {
	return "", time.Time{}, ErrResetUnavailable
}

// TestBlockedInUserModel: a blocked user's model carries "blocked": true for callers holding
// admin:users on them (PATCH reply, GET one, GET list, paginated or not), is absent for other
// callers and after unblocking; every reply is validated against the yaml (gohubFields).
func TestBlockedInUserModel(t *testing.T) {
	bl := &blockList{names: map[string]bool{}}
	h := newTestHubWith(t, hubOptions{deps: func(d *Deps) { d.Access = bl }})
	blockedOf := func(r reply, what string) (any, bool) {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", what, r.status, r.body)
		}
		v, ok := r.json(t).(map[string]any)["blocked"]
		return v, ok
	}
	listed := func(caller, query string) map[string]any {
		t.Helper()
		r := h.do(caller, "GET", "/hub/api/users"+query, nil)
		if r.status != http.StatusOK {
			t.Fatalf("list as %s: %d %s", caller, r.status, r.body)
		}
		out := map[string]any{}
		for _, it := range r.json(t).([]any) {
			m := it.(map[string]any)
			if v, ok := m["blocked"]; ok {
				out[m["name"].(string)] = v
			}
		}
		return out
	}

	if v, ok := blockedOf(h.do(callAdmin, "PATCH", "/hub/api/users/bob", map[string]any{"blocked": true}), "PATCH blocked"); !ok || v != true {
		t.Errorf("PATCH reply blocked = %v, %v", v, ok)
	}
	if v, ok := blockedOf(h.do(callAdmin, "GET", "/hub/api/users/bob", nil), "GET bob"); !ok || v != true {
		t.Errorf("GET bob as admin: blocked = %v, %v", v, ok)
	}
	if _, ok := blockedOf(h.do(callAdmin, "GET", "/hub/api/users/alice", nil), "GET alice"); ok {
		t.Error("an unblocked user's model has blocked")
	}
	if got := listed(callAdmin, ""); len(got) != 1 || got["bob"] != true {
		t.Errorf("list as admin: blocked %v", got)
	}
	// The paginated form goes through the list cache; the block must show there too.
	r := h.do(callAdmin, "GET", "/hub/api/users?limit=10", nil, "Accept", "application/jupyterhub-pagination+json")
	if r.status != 200 {
		t.Fatalf("paginated list: %d %s", r.status, r.body)
	}
	n := 0
	for _, it := range r.json(t).(map[string]any)["items"].([]any) {
		if m := it.(map[string]any); m["blocked"] == true {
			n++
			if m["name"] != "bob" {
				t.Errorf("blocked in the paginated list: %v", m["name"])
			}
		}
	}
	if n != 1 {
		t.Errorf("%d blocked users in the paginated list, want 1", n)
	}
	// read:users without admin:users does not reveal blocks.
	if got := listed(callService, ""); len(got) != 0 {
		t.Errorf("list as a read:users service: blocked %v", got)
	}

	if _, ok := blockedOf(h.do(callAdmin, "PATCH", "/hub/api/users/bob", map[string]any{"blocked": false}), "PATCH unblock"); ok {
		t.Error("unblocked reply still has blocked")
	}
	if got := listed(callAdmin, ""); len(got) != 0 {
		t.Errorf("list after unblocking: blocked %v", got)
	}
}
