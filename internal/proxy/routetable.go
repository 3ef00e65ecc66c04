package proxy

import (
	"bytes"
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
	Target       *url.URL
	dataJSON     []byte // the data as JSON without "last_activity": kept instead of the map (less memory)
	lastActivity atomic.Int64
}

// Data returns a copy of the route's data as given (with "target"; without
// "last_activity"). Numbers are json.Number, so they keep their exact text.
func (r *Route) Data() map[string]any {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.dataJSON))
	dec.UseNumber()
	_ = dec.Decode(&m) // dataJSON was encoded from a map by NewRoute
	return m
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
	b = appendISOMillis(b, r.LastActivity())
	return append(b, `"}`...)
}

const isoMillis = "2006-01-02T15:04:05.000Z07:00"

// appendISOMillis appends t (UTC) as 2006-01-02T15:04:05.000Z, what JavaScript's
// Date.toISOString gives; it is AppendFormat(isoMillis) for UTC times, faster.
func appendISOMillis(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, isoMillis)
	}
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, s, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1e6, 3)
	return append(b, 'Z')
}

func appendDigits(b []byte, v, width int) []byte {
	var buf [4]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:width]...)
}

// NewRoute builds a route from CHP-style data: data["target"] must be a URL string. The
// map is kept as given (minus any "last_activity", which the table owns). prefix is a route
// key, decoded (see RouteKey); one with a "." or ".." segment is refused.
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
	clean := CleanPath(prefix)
	if err := checkKey(clean); err != nil {
		return nil, err
	}
	r := &Route{Prefix: clean, Target: u, dataJSON: js}
	r.lastActivity.Store(time.Now().UnixNano())
	return r, nil
}

// CleanPath normalises a route key as configurable-http-proxy does: a leading '/' and no
// trailing '/' (except for "/" itself). Unlike CHP, repeated leading or trailing slashes are
// all removed, so that two keys never name the same trie node.
func CleanPath(p string) string {
	t := strings.Trim(p, "/")
	if len(t)+1 == len(p) && p[0] == '/' {
		return p // already clean: no allocation
	}
	return "/" + t
}

// RouteTable maps path prefixes to routes. Lookups are lock-free: they read an immutable
// trie through an atomic pointer. Writers copy the nodes they change and publish a new root.
type RouteTable struct {
	mu   sync.Mutex // serialises writers
	root atomic.Pointer[node]
	n    atomic.Int64
}

// NewRouteTable returns an empty table.
func NewRouteTable() *RouteTable {
	t := &RouteTable{}
	t.root.Store(&node{})
	return t
}

// Add inserts or replaces the route at r.Prefix and stamps its activity with now.
func (t *RouteTable) Add(r *Route) {
	r.lastActivity.Store(time.Now().UnixNano())
	t.mu.Lock()
	defer t.mu.Unlock()
	root, added := insert(t.root.Load(), segments(r.Prefix), r, nil)
	t.root.Store(root)
	if added {
		t.n.Add(1)
	}
}

// Put builds a route from CHP-style data (see NewRoute) and adds it: the in-process hub's
// equivalent of POST /api/routes/{prefix}.
func (t *RouteTable) Put(prefix string, data map[string]any) (*Route, error) {
	r, err := NewRoute(prefix, data)
	if err != nil {
		return nil, err
	}
	t.Add(r)
	return r, nil
}

// AddBatch inserts many routes and publishes them at once, for restoring a table. Nodes
// created by the batch are modified in place until the new root is published.
func (t *RouteTable) AddBatch(rs []*Route) {
	now := time.Now().UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	owned := map[*node]bool{}
	root := t.root.Load()
	for _, r := range rs {
		r.lastActivity.Store(now)
		var added bool
		root, added = insert(root, segments(r.Prefix), r, owned)
		if added {
			t.n.Add(1)
		}
	}
	t.root.Store(root)
}

// Remove deletes the route at prefix (normalised first) and reports whether it existed.
func (t *RouteTable) Remove(prefix string) bool {
	segs := segments(CleanPath(prefix))
	t.mu.Lock()
	defer t.mu.Unlock()
	root := t.root.Load()
	if n := root.find(segs); n == nil || n.route == nil {
		return false
	}
	nr := remove(root, segs)
	if nr == nil {
		nr = &node{}
	}
	t.root.Store(nr)
	t.n.Add(-1)
	return true
}

// Get returns the route stored exactly at prefix (normalised first), or nil.
func (t *RouteTable) Get(prefix string) *Route {
	if n := t.root.Load().find(segments(CleanPath(prefix))); n != nil {
		return n.route
	}
	return nil
}

// Len reports the number of routes.
func (t *RouteTable) Len() int { return int(t.n.Load()) }

// Routes returns every route, in no particular order.
func (t *RouteTable) Routes() []*Route {
	out := make([]*Route, 0, t.Len())
	t.root.Load().walk(func(r *Route) { out = append(out, r) })
	return out
}

// All returns a snapshot of every route by prefix.
func (t *RouteTable) All() map[string]*Route {
	m := make(map[string]*Route, t.Len())
	t.root.Load().walk(func(r *Route) { m[r.Prefix] = r })
	return m
}

// Match returns the route whose prefix is the longest whole-segment prefix of the decoded
// path p, or nil. A path with a "." or ".." segment matches nothing: its owner depends on
// who resolves the dots (a browser, the proxy, the target), so it belongs to no route.
// Match does not allocate.
func (t *RouteTable) Match(p string) *Route {
	if hasDotSegment(p) {
		return nil
	}
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
		if n = n.child(seg); n == nil {
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
