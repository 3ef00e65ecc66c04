package rbac

import (
	"slices"
	"strings"
)

// kinds lists the filter kinds in the order of filters.vals.
var kinds = [4]string{kindUser, kindServer, kindGroup, kindService}

const (
	idxUser = iota
	idxServer
	idxGroup
	idxService
)

func kindIndex(kind string) int {
	switch kind {
	case kindUser:
		return idxUser
	case kindServer:
		return idxServer
	case kindGroup:
		return idxGroup
	case kindService:
		return idxService
	}
	return -1
}

// filters is what a Set holds for one base scope: everything, or values per filter kind.
type filters struct {
	all  bool
	vals [4][]string
}

// parse groups a Set by base scope. Filters of unknown kinds or without value are ignored.
func parse(s Set) map[string]*filters {
	out := make(map[string]*filters, len(s))
	for scope := range s {
		base, filter, hasFilter := strings.Cut(scope, "!")
		f := out[base]
		if f == nil {
			f = &filters{}
			out[base] = f
		}
		if !hasFilter {
			f.all = true
			continue
		}
		kind, value, ok := strings.Cut(filter, "=")
		i := kindIndex(kind)
		if !ok || i < 0 || value == "" {
			continue
		}
		f.vals[i] = append(f.vals[i], value)
	}
	for base, f := range out {
		if !f.all && len(f.vals[0])+len(f.vals[1])+len(f.vals[2])+len(f.vals[3]) == 0 {
			delete(out, base) // only malformed filters: grants nothing
		}
	}
	return out
}

// serverUser returns the user part of "user/server".
func serverUser(server string) string {
	u, _, _ := strings.Cut(server, "/")
	return u
}

// anyIn reports whether some element of a is in b.
func anyIn(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// Intersect returns the scopes of a that b also grants, resolving server ⊂ user ⊂ group
// using owner's and filter values (a "!server=u/s" in a is kept when b has "!user=u").
// groupsOf returns the groups of a user, for !group= filters.
//
// Per base scope held by both: if one side holds it unfiltered, the other side's filters are
// kept; otherwise the filters common to both are kept, plus, in both directions, each server
// whose user the other side holds (by !user= or, through groupsOf, by !group=) and each user
// the other side holds by !group=. Group filters are only kept when both sides hold the same
// group (membership of two different groups cannot be compared without listing members).
func Intersect(a, b Set, groupsOf func(user string) []string) Set {
	if groupsOf == nil {
		groupsOf = func(string) []string { return nil }
	}
	pa, pb := parse(a), parse(b)
	out := Set{}
	add := func(base string, kind int, value string) {
		out[base+"!"+kinds[kind]+"="+value] = struct{}{}
	}
	addAll := func(base string, f *filters) {
		if f.all {
			out[base] = struct{}{}
			return
		}
		for k, vs := range f.vals {
			for _, v := range vs {
				add(base, k, v)
			}
		}
	}
	for base, fa := range pa {
		fb, ok := pb[base]
		if !ok {
			continue
		}
		switch {
		case fa.all:
			addAll(base, fb)
			continue
		case fb.all:
			addAll(base, fa)
			continue
		}
		for k := range kinds {
			for _, v := range fa.vals[k] {
				if slices.Contains(fb.vals[k], v) {
					add(base, k, v)
				}
			}
		}
		for _, pair := range [2][2]*filters{{fa, fb}, {fb, fa}} {
			x, y := pair[0], pair[1]
			for _, srv := range x.vals[idxServer] {
				if slices.Contains(y.vals[idxServer], srv) {
					continue
				}
				u := serverUser(srv)
				if slices.Contains(y.vals[idxUser], u) ||
					(len(y.vals[idxGroup]) > 0 && anyIn(groupsOf(u), y.vals[idxGroup])) {
					add(base, idxServer, srv)
				}
			}
			if len(y.vals[idxGroup]) == 0 {
				continue
			}
			for _, u := range x.vals[idxUser] {
				if !slices.Contains(y.vals[idxUser], u) && anyIn(groupsOf(u), y.vals[idxGroup]) {
					add(base, idxUser, u)
				}
			}
		}
	}
	return out
}

// ListFilter says which resources a list scope (list:users, list:groups, list:services) reaches:
// all=true when held unfiltered; else the names from its !user=, !group=, !service= filters.
// held=false when not held at all. Scopes implying the list scope count too. The slices are
// sorted and free of duplicates; they are nil when all is true.
func (s Set) ListFilter(scope string) (held, all bool, users, groups, services []string) {
	cands := append([]string{scope}, builtinAncestors[scope]...)
	for k := range s {
		base, filter, hasFilter := strings.Cut(k, "!")
		if !slices.Contains(cands, base) {
			continue
		}
		if !hasFilter {
			return true, true, nil, nil, nil
		}
		kind, value, ok := strings.Cut(filter, "=")
		if !ok || value == "" {
			continue
		}
		switch kind {
		case kindUser:
			held, users = true, append(users, value)
		case kindGroup:
			held, groups = true, append(groups, value)
		case kindService:
			held, services = true, append(services, value)
		case kindServer:
			held = true // a server filter on a list scope reaches no whole resource
		}
	}
	return held, false, sortUniq(users), sortUniq(groups), sortUniq(services)
}

func sortUniq(v []string) []string {
	slices.Sort(v)
	return slices.Compact(v)
}
