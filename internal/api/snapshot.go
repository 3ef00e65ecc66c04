package api

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"gohub/internal/store"
)

// userSnapshot is every user, in id order, with its model pre-rendered for one caller view.
// GET /users pages and GET /users/{name} for callers with unfiltered read scopes are served
// from it: a page is a concatenation of fragments, whatever the offset. It is rebuilt when the
// write generation moves or after readCacheTTL, like the other read caches.
type userSnapshot struct {
	gen    uint64
	at     time.Time
	users  []*store.User
	frags  [][]byte // rendered model, nil when the view shows nothing of the user
	sigs   []string // serversSig of each user, taken before rendering it
	byName map[string]int
}

// fresh reports whether user i's fragment still shows what the spawner manager says.
func (a *API) fresh(s *userSnapshot, i int) bool {
	return a.d.Servers == nil || a.serversSig(s.users[i]) == s.sigs[i]
}

// snapshots holds one snapshot per (view, include_stopped_servers), built one at a time.
type snapshots struct {
	mu    sync.Mutex // serialises builds so a burst of misses costs one load
	cache *readCache[*userSnapshot]
}

func newSnapshots() *snapshots { return &snapshots{cache: newReadCache[*userSnapshot]()} }

// snapshotKey names the view a snapshot is rendered for.
func snapshotKey(ck *callerKeys, includeStopped bool) string {
	return fmt.Sprintf("%x|%t|%t", ck.user, ck.serverState, includeStopped)
}

// snapshot returns a fresh snapshot for c's view; ok=false when c's view depends on the user
// (filtered scopes) or shows no user at all, so the caller must read the database. stale is a
// snapshot the caller found out of date with the spawner manager (see fresh), or nil: it is
// rebuilt unless another request already did.
func (a *API) snapshot(ctx context.Context, c *caller, includeStopped bool, stale *userSnapshot) (*userSnapshot, bool, error) {
	ck := c.modelKeys()
	if ck.filtered || ck.user == 0 {
		return nil, false, nil // per-user views, or nothing to show: the database path decides
	}
	key := snapshotKey(ck, includeStopped)
	gen, now := a.gen.Load(), a.now()
	if s, ok := a.snaps.cache.get(key, gen, now); ok && s != stale {
		return s, true, nil
	}
	a.snaps.mu.Lock()
	defer a.snaps.mu.Unlock()
	gen, now = a.gen.Load(), a.now()
	if s, ok := a.snaps.cache.get(key, gen, now); ok && s != stale {
		return s, true, nil
	}
	users, _, err := a.db.ListUsers(ctx, store.UserQuery{})
	if err != nil {
		return nil, false, fmt.Errorf("load users: %w", err)
	}
	s := &userSnapshot{gen: gen, at: now, users: users, frags: make([][]byte, len(users)),
		sigs: make([]string, len(users)), byName: make(map[string]int, len(users))}
	view := userView{keys: ck.user, allServers: ck.user&ukServers != 0, allState: ck.serverState, c: c}
	j := &jw{b: make([]byte, 0, 512*len(users))}
	start := make([]int, len(users)+1)
	for i, u := range users {
		s.byName[u.Name] = i
		s.sigs[i] = a.serversSig(u)
		start[i] = len(j.b)
		a.writeUser(j, u, view, userOpts{includeStopped: includeStopped})
	}
	start[len(users)] = len(j.b)
	for i := range users {
		if f := j.b[start[i]:start[i+1]]; len(f) > 0 {
			s.frags[i] = f[:len(f):len(f)]
		}
	}
	a.snaps.cache.put(key, gen, now, s)
	return s, true, nil
}

// snapshotServes reports whether a GET /users query can be answered from a snapshot: default
// order, no name filter, no restriction.
func snapshotServes(sort, nameFilter string, restrict bool) bool {
	return (sort == "" || sort == "id") && nameFilter == "" && !restrict
}

// writePage renders one page of the snapshot's users in state ("", active, ready, inactive).
// With check, it writes nothing and returns false when a user it looks at (every user under a
// state filter, else those on the page) is not fresh.
func (a *API) writePage(w http.ResponseWriter, r *http.Request, s *userSnapshot, p page, state string, check bool) bool {
	j := getJW()
	defer putJW(j)
	p.startList(j)
	total, n := 0, 0
	for i, u := range s.users {
		if check && state != "" && !a.fresh(s, i) {
			return false
		}
		if !a.inState(u, state) || s.frags[i] == nil {
			continue
		}
		if check && state == "" && total >= p.offset && n < p.limit && !a.fresh(s, i) {
			return false
		}
		if total >= p.offset && n < p.limit {
			if n > 0 {
				j.comma()
			}
			j.b = append(j.b, s.frags[i]...)
			n++
		}
		total++
	}
	p.endList(j, r, total)
	writeBody(w, http.StatusOK, j.b)
	return true
}

// inState reports whether u matches a GET /users state filter.
func (a *API) inState(u *store.User, state string) bool {
	switch state {
	case "active", "inactive":
		active := false
		for _, sp := range u.Spawners {
			if sp.Server != nil {
				active = true
				break
			}
		}
		return active == (state == "active")
	case "ready":
		return a.anyReady(u)
	}
	return true
}

// index finds a user by name (s may be nil).
func (s *userSnapshot) index(name string) (int, bool) {
	if s == nil {
		return 0, false
	}
	i, ok := s.byName[name]
	return i, ok
}
