package proxy

import (
	"hash/maphash"
	"maps"
	"strings"
)

// The trie is persistent: a published node is never modified, and a write copies the nodes
// on the path it changes. A node with many children (the 10,000 names under /user) spreads
// them over fixed buckets, so a write copies one small bucket rather than every child.

const (
	bucketBits   = 6
	nBuckets     = 1 << bucketBits
	smallNodeMax = 32 // children kept in one map up to this count
)

var seed = maphash.MakeSeed()

// node is one trie node: the route ending here, if any, and the children by segment.
type node struct {
	route *Route
	small map[string]*node            // children, while few
	big   *[nBuckets]map[string]*node // children by hash bucket, once many
	n     int                         // number of children
}

func bucket(seg string) int { return int(maphash.String(seed, seg) & (nBuckets - 1)) }

func (n *node) child(seg string) *node {
	if n.big != nil {
		return n.big[bucket(seg)][seg]
	}
	return n.small[seg]
}

// find returns the node at exactly segs, or nil.
func (n *node) find(segs []string) *node {
	for _, s := range segs {
		if n = n.child(s); n == nil {
			return nil
		}
	}
	return n
}

// walk calls f for every route under n.
func (n *node) walk(f func(*Route)) {
	if n.route != nil {
		f(n.route)
	}
	for _, c := range n.small {
		c.walk(f)
	}
	if n.big != nil {
		for _, b := range n.big {
			for _, c := range b {
				c.walk(f)
			}
		}
	}
}

// withChild sets (c != nil) or deletes (c == nil) the child seg of n, in place when n is
// owned by the caller, else on a copy, which it returns.
func (n *node) withChild(seg string, c *node, owned map[*node]bool) *node {
	m := n
	if !owned[n] {
		m = &node{route: n.route, small: n.small, big: n.big, n: n.n}
		if owned != nil {
			owned[m] = true
		}
	}
	had := n.child(seg) != nil
	switch {
	case m.big == nil && (c == nil || had || m.n < smallNodeMax):
		if !owned[n] || m.small == nil {
			m.small = maps.Clone(m.small)
			if m.small == nil {
				m.small = map[string]*node{}
			}
		}
		setOrDelete(m.small, seg, c)
	case m.big == nil: // grow into buckets
		var big [nBuckets]map[string]*node
		for k, v := range m.small {
			b := bucket(k)
			if big[b] == nil {
				big[b] = map[string]*node{}
			}
			big[b][k] = v
		}
		m.big, m.small = &big, nil
		b := bucket(seg)
		if big[b] == nil {
			big[b] = map[string]*node{}
		}
		big[b][seg] = c
	default:
		b := bucket(seg)
		if !owned[n] {
			cp := *m.big
			m.big = &cp
			m.big[b] = maps.Clone(m.big[b])
		}
		if m.big[b] == nil {
			m.big[b] = map[string]*node{}
		}
		setOrDelete(m.big[b], seg, c)
	}
	switch {
	case c != nil && !had:
		m.n++
	case c == nil && had:
		m.n--
	}
	return m
}

func setOrDelete(m map[string]*node, k string, v *node) {
	if v == nil {
		delete(m, k)
	} else {
		m[k] = v
	}
}

// insert returns n with r stored at segs, and whether the route is new.
func insert(n *node, segs []string, r *Route, owned map[*node]bool) (*node, bool) {
	if len(segs) == 0 {
		m := n
		if !owned[n] {
			m = &node{small: n.small, big: n.big, n: n.n}
			if owned != nil {
				owned[m] = true
			}
		}
		added := n.route == nil
		m.route = r
		return m, added
	}
	child := n.child(segs[0])
	if child == nil {
		child = &node{}
		if owned != nil {
			owned[child] = true
		}
	}
	nc, added := insert(child, segs[1:], r, owned)
	if nc == child && owned[n] && n.child(segs[0]) == child {
		return n, added // modified in place under an owned parent
	}
	return n.withChild(segs[0], nc, owned), added
}

// remove returns n without the route at segs (which must exist), or nil when the result
// is an empty node.
func remove(n *node, segs []string) *node {
	var m *node
	if len(segs) == 0 {
		m = &node{small: n.small, big: n.big, n: n.n}
	} else {
		m = n.withChild(segs[0], remove(n.child(segs[0]), segs[1:]), nil)
	}
	if m.route == nil && m.n == 0 {
		return nil
	}
	return m
}

// segments splits a path on '/', ignoring leading and trailing slashes (as CHP's trie).
func segments(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
