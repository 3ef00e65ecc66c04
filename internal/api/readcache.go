package api

import (
	"net/http"
	"strconv"

	"gohub/internal/rbac"
	"gohub/internal/store"
	"strings"
	"sync"
	"time"
)

// readCacheTTL bounds how stale a cached read may be when something outside this API changed
// the database without calling Invalidate (a server becoming ready, a login). Writes through
// this API invalidate at once.
//
// Deliberate difference from JupyterHub, which serves users from its in-memory ORM: gohub reads
// the database, and the cache is what keeps the hottest reads (the idle culler's user list)
// fast on SQLite.
const readCacheTTL = time.Second

// maxReadCache bounds each cache; it is emptied when full.
const maxReadCache = 4096

// readCache holds values valid for one write generation and at most readCacheTTL.
type readCache[V any] struct {
	mu sync.RWMutex
	m  map[string]readEntry[V]
}

type readEntry[V any] struct {
	gen uint64
	at  time.Time
	v   V
}

func newReadCache[V any]() *readCache[V] { return &readCache[V]{m: map[string]readEntry[V]{}} }

func (c *readCache[V]) get(key string, gen uint64, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || e.gen != gen || now.Sub(e.at) >= readCacheTTL || now.Before(e.at) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *readCache[V]) put(key string, gen uint64, now time.Time, v V) {
	c.mu.Lock()
	if len(c.m) >= maxReadCache {
		clear(c.m)
	}
	c.m[key] = readEntry[V]{gen: gen, at: now, v: v}
	c.mu.Unlock()
}

// listCacheKey is the key of a GET /users reply for a caller whose view does not depend on the
// listed users (no filtered read scopes, unfiltered list:users): its visible keys, the query,
// the reply form and the host (the next-page URL carries it).
func listCacheKey(ck *callerKeys, rawQuery string, paginated, tls bool, host string) string {
	var b strings.Builder
	b.Grow(len(rawQuery) + len(host) + 16)
	b.WriteString(strconv.FormatUint(uint64(ck.user), 16))
	b.WriteByte('|')
	b.WriteString(strconv.FormatBool(ck.serverState))
	b.WriteByte('|')
	b.WriteString(strconv.FormatBool(paginated))
	b.WriteByte('|')
	b.WriteString(strconv.FormatBool(tls))
	b.WriteByte('|')
	b.WriteString(host)
	b.WriteByte('|')
	b.WriteString(rawQuery)
	return b.String()
}

// cachedUser is a cached user row with the serversSig it was read under.
type cachedUser struct {
	u   *store.User
	sig string
}

// cachedUserTarget is userTarget through the read cache (for GET only: the row may be up to
// readCacheTTL old when changed outside this API).
func (a *API) cachedUserTarget(r *http.Request, name string) (*store.User, rbac.Target, error) {
	gen, now := a.gen.Load(), a.now()
	if cu, ok := a.users.get(name, gen, now); ok && a.serversSig(cu.u) == cu.sig {
		return cu.u, rbac.Target{User: cu.u.Name, UserGroups: cu.u.Groups}, nil
	}
	var sig string
	if a.d.Servers != nil {
		// Taken before the read (over the stale entry's servers), so a server changing state
		// during the read leaves the new entry stale at once rather than for readCacheTTL.
		if cu, ok := a.users.get(name, gen, now); ok {
			sig = a.serversSig(cu.u)
		}
	}
	u, t, err := a.userTarget(r, name)
	if err == nil && u != nil {
		if a.d.Servers != nil && sig == "" {
			sig = a.serversSig(u)
		}
		a.users.put(name, gen, now, &cachedUser{u: u, sig: sig})
	}
	return u, t, err
}
