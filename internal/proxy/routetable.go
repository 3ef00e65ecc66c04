// Package proxy is gohub's built-in proxy: a route table, a reverse proxy for HTTP and
// websockets, configurable-http-proxy's REST API (server and client), and a standalone
// mode that is a drop-in replacement for configurable-http-proxy.
package proxy

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Route is one entry of a RouteTable. A Route is immutable once it is in the table,
// except for its last-activity time, which readers update without locks.
type Route struct {
	// Prefix is the normalised key: leading '/', no trailing '/', decoded segments.
	Prefix string
	// Target is the parsed "target" of Data.
	Target *url.URL
	// Data is the route's data as given (it holds "target"), never modified after insert.
	Data map[string]any

	dataJSON     []byte // Data as JSON without "last_activity", cached for listing
	lastActivity atomic.Int64
}

// LastActivity reports when traffic last flowed through the route (or when it was added).
func (r *Route) LastActivity() time.Time { return time.Unix(0, r.lastActivity.Load()).UTC() }

// Touch records activity on the route now.
func (r *Route) Touch() { r.touchAt(time.Now()) }

func (r *Route) touchAt(t time.Time) {
	n := t.UnixNano()
	// Skip the store when nothing changed noticeably: the cache line is shared by every
	// request to this route, so avoiding writes keeps concurrent readers fast.
	if old := r.lastActivity.Load(); n-old < int64(time.Millisecond) && n >= old {
		return
	}
	r.lastActivity.Store(n)
}

// MarshalJSON encodes the route as configurable-http-proxy does: the data plus
// "last_activity" as an ISO 8601 timestamp with milliseconds.
func (r *Route) MarshalJSON() ([]byte, error) {
	return r.appendJSON(nil), nil
}

func (r *Route) appendJSON(b []byte) []byte {
	b = append(b, r.dataJSON[:len(r.dataJSON)-1]...)
	if len(r.dataJSON) > 2 {
		b = append(b, ',')
	}
	b = append(b, `"last_activity":"`...)
	b = r.LastActivity().AppendFormat(b, isoMillis)
	return append(b, `"}`...)
}

const isoMillis = "2006-01-02T15:04:05.000Z07:00"

// NewRoute builds a route from CHP-style data: data["target"] must be a URL string. The
// map is kept as given (minus any "last_activity", which the table owns).
func NewRoute(prefix string, data map[string]any) (*Route, error) {
	t, ok := data["target"].(string)
	if !ok {
		return nil, fmt.Errorf("route %q: target must be a string", prefix)
	}
	u, err := url.Parse(t)
	if err != nil {
		return nil, fmt.Errorf("route %q: bad target: %w", prefix, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("route %q: target %q must be http(s)://host[:port]", prefix, t)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("route %q: target %q has no host", prefix, t)
	}
	if _, has := data["last_activity"]; has {
		data = maps.Clone(data)
		delete(data, "last_activity")
	}
	js, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("route %q: encode data: %w", prefix, err)
	}
	return &Route{Prefix: CleanPath(prefix), Target: u, Data: data, dataJSON: js}, nil
}

// CleanPath normalises a route key as configurable-http-proxy does: a leading '/' is
// added and one trailing '/' removed (except for "/" itself).
func CleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	if len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// node is one trie node; nodes reachable from a published root are never modified.
type node struct {
	route    *Route
	children map[string]*node
}

// RouteTable maps path prefixes to routes. Lookups are lock-free (they read an immutable
// trie through an atomic pointer); writers copy the path they change and publish a new root.
type RouteTable struct {
	mu     sync.Mutex // serialises writers
	root   atomic.Pointer[node]
	routes atomic.Pointer[map[string]*Route] // snapshot for listing; replaced on write
}

// NewRouteTable returns an empty table.
func NewRouteTable() *RouteTable {
	t := &RouteTable{}
	t.root.Store(&node{})
	m := map[string]*Route{}
	t.routes.Store(&m)
	return t
}

// segments splits a path on '/', ignoring leading and trailing slashes (as CHP's trie).
func segments(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// Add inserts or replaces the route at r.Prefix and stamps its activity with now.
func (t *RouteTable) Add(r *Route) {
	r.lastActivity.Store(time.Now().UnixNano())
	t.mu.Lock()
	defer t.mu.Unlock()
	t.root.Store(insert(t.root.Load(), segments(r.Prefix), r))
	old := *t.routes.Load()
	m := make(map[string]*Route, len(old)+1)
	maps.Copy(m, old)
	m[r.Prefix] = r
	t.routes.Store(&m)
}

// AddBatch inserts many routes under one copy, for restoring a table.
func (t *RouteTable) AddBatch(rs []*Route) {
	now := time.Now().UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	root := t.root.Load()
	m := maps.Clone(*t.routes.Load())
	for _, r := range rs {
		r.lastActivity.Store(now)
		root = insert(root, segments(r.Prefix), r)
		m[r.Prefix] = r
	}
	t.root.Store(root)
	t.routes.Store(&m)
}

func insert(n *node, segs []string, r *Route) *node {
	c := &node{route: n.route, children: n.children}
	if len(segs) == 0 {
		c.route = r
		return c
	}
	child := n.children[segs[0]]
	if child == nil {
		child = &node{}
	}
	c.children = make(map[string]*node, len(n.children)+1)
	maps.Copy(c.children, n.children)
	c.children[segs[0]] = insert(child, segs[1:], r)
	return c
}

// Remove deletes the route at prefix (normalised first) and reports whether it existed.
func (t *RouteTable) Remove(prefix string) bool {
	prefix = CleanPath(prefix)
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.routes.Load()
	if _, ok := old[prefix]; !ok {
		return false
	}
	root := remove(t.root.Load(), segments(prefix))
	if root == nil {
		root = &node{}
	}
	t.root.Store(root)
	m := make(map[string]*Route, len(old))
	maps.Copy(m, old)
	delete(m, prefix)
	t.routes.Store(&m)
	return true
}

// remove returns n without the route at segs, or nil when the result is an empty node.
func remove(n *node, segs []string) *node {
	c := &node{route: n.route, children: n.children}
	if len(segs) == 0 {
		c.route = nil
	} else {
		child := n.children[segs[0]]
		if child == nil {
			return n
		}
		nc := remove(child, segs[1:])
		c.children = make(map[string]*node, len(n.children))
		maps.Copy(c.children, n.children)
		if nc == nil {
			delete(c.children, segs[0])
		} else {
			c.children[segs[0]] = nc
		}
	}
	if c.route == nil && len(c.children) == 0 {
		return nil
	}
	return c
}

// Get returns the route stored exactly at prefix (normalised first), or nil.
func (t *RouteTable) Get(prefix string) *Route {
	return (*t.routes.Load())[CleanPath(prefix)]
}

// Len reports the number of routes.
func (t *RouteTable) Len() int { return len(*t.routes.Load()) }

// All returns a snapshot of every route by prefix. The map must not be modified.
func (t *RouteTable) All() map[string]*Route { return *t.routes.Load() }

// Match returns the route whose prefix is the longest whole-segment prefix of the decoded
// path p, or nil. It does not allocate.
func (t *RouteTable) Match(p string) *Route {
	n := t.root.Load()
	best := n.route
	p = strings.Trim(p, "/")
	if p == "" {
		return best
	}
	for {
		seg := p
		i := strings.IndexByte(p, '/')
		if i >= 0 {
			seg = p[:i]
		}
		if n = n.children[seg]; n == nil {
			return best
		}
		if n.route != nil {
			best = n.route
		}
		if i < 0 {
			return best
		}
		p = p[i+1:]
	}
}
