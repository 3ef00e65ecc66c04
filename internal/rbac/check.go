package rbac

import (
	"slices"
	"strconv"
	"strings"
)

// targetKind is the filter kind a Target is checked against: the server when one is named,
// else the user, else the group, else the service; -1 for a request on no resource.
func (t Target) kind() int {
	switch {
	case t.Server != "":
		return idxServer
	case t.User != "":
		return idxUser
	case t.Group != "":
		return idxGroup
	case t.Service != "":
		return idxService
	}
	return -1
}

// Check decides whether any of the required base scopes (e.g. "read:users") is held for target.
//
// A scope is held for the target when the Set has it unfiltered, or filtered to the target
// (same kind and value), or, for a server u/s, filtered by !user=u, or, for a user u or a
// server of u, filtered by !group=g with g in Target.UserGroups. Scopes that imply the required
// one (built-in superscopes) count as well, so unexpanded sets work. The result is NotFound when
// the target names a resource and some required scope is held only with other filters;
// Forbidden when none is held at all (or the target names no resource and only filtered ones
// are held, as in JupyterHub). Check does not allocate.
//
// The target is one resource: Target.Server when set (its user is the part before "/"), else
// Target.User, else Target.Group, else Target.Service; an empty Target means the request names
// no resource, which only unfiltered scopes reach.
func (s Set) Check(required []string, target Target) Decision {
	best := Forbidden
	for _, r := range required {
		switch s.check(r, target) {
		case Allowed:
			return Allowed
		case NotFound:
			best = NotFound
		}
	}
	return best
}

// Has reports whether base scope is held for target (Check with one scope == Allowed).
func (s Set) Has(scope string, target Target) bool {
	return s.check(scope, target) == Allowed
}

// HasAny reports whether base scope is held at all, with or without filters (JupyterHub's
// post_filter: the handler narrows the result afterwards).
func (s Set) HasAny(scope string) bool {
	if s.hasBaseAny(scope) {
		return true
	}
	skipServer := strings.HasPrefix(scope, "read:user")
	for _, a := range builtinAncestors[scope] {
		if _, ok := s[a]; ok || s.hasFilteredImplying(a, skipServer) {
			return true
		}
	}
	return false
}

func (s Set) check(r string, t Target) Decision {
	kind := t.kind()
	if s.grants(r, false, t, kind) {
		return Allowed
	}
	anc := builtinAncestors[r]
	for _, a := range anc {
		// Expansion never puts read:user* scopes under a !server= filter; a server-filtered
		// superscope therefore does not imply them.
		if s.grants(a, strings.HasPrefix(r, "read:user"), t, kind) {
			return Allowed
		}
	}
	if kind < 0 {
		return Forbidden
	}
	if s.hasFiltered(r) {
		return NotFound
	}
	skipServer := strings.HasPrefix(r, "read:user")
	for _, a := range anc {
		if s.hasFilteredImplying(a, skipServer) {
			return NotFound
		}
	}
	return Forbidden
}

// hasFilteredImplying is hasFiltered for a superscope: with skipServer, "base!server=..." does
// not count (it implies no read:user* scope).
func (s Set) hasFilteredImplying(base string, skipServer bool) bool {
	if !skipServer {
		return s.hasFiltered(base)
	}
	for k := range s {
		if len(k) > len(base) && k[len(base)] == '!' && k[:len(base)] == base &&
			!strings.HasPrefix(k[len(base)+1:], kindServer+"=") {
			return true
		}
	}
	return false
}

// grants reports whether base is held unfiltered or with a filter covering t.
func (s Set) grants(base string, skipServer bool, t Target, kind int) bool {
	if _, ok := s[base]; ok {
		return true
	}
	var user string
	switch kind {
	case idxServer:
		if !skipServer && s.hasKey(base, kindServer, t.Server) {
			return true
		}
		user = serverUser(t.Server)
	case idxUser:
		user = t.User
	case idxGroup:
		return s.hasKey(base, kindGroup, t.Group)
	case idxService:
		return s.hasKey(base, kindService, t.Service)
	default:
		return false
	}
	if s.hasKey(base, kindUser, user) {
		return true
	}
	for _, g := range t.UserGroups {
		if s.hasKey(base, kindGroup, g) {
			return true
		}
	}
	return false
}

// hasKey looks up "base!kind=value" without allocating (for keys up to 192 bytes).
func (s Set) hasKey(base, kind, value string) bool {
	var buf [192]byte
	b := append(buf[:0], base...)
	b = append(b, '!')
	b = append(b, kind...)
	b = append(b, '=')
	b = append(b, value...)
	_, ok := s[string(b)]
	return ok
}

// hasFiltered reports whether some "base!..." is in s.
func (s Set) hasFiltered(base string) bool {
	for k := range s {
		if len(k) > len(base) && k[len(base)] == '!' && k[:len(base)] == base {
			return true
		}
	}
	return false
}

func (s Set) hasBaseAny(base string) bool {
	if _, ok := s[base]; ok {
		return true
	}
	return s.hasFiltered(base)
}

// Sorted returns the scopes in sorted order (for JSON replies).
func (s Set) Sorted() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Clone returns a copy of s (never nil).
func (s Set) Clone() Set {
	out := make(Set, len(s))
	for k := range s {
		out[k] = struct{}{}
	}
	return out
}

// Union adds every scope of o to s (s must not be nil) and drops filtered scopes now also held
// unfiltered.
func (s Set) Union(o Set) {
	for k := range o {
		s[k] = struct{}{}
	}
	reduce(s)
}

// Equal reports whether s and o hold the same scopes.
func (s Set) Equal(o Set) bool {
	if len(s) != len(o) {
		return false
	}
	for k := range s {
		if _, ok := o[k]; !ok {
			return false
		}
	}
	return true
}

// NewSet builds a Set from scope strings as given (no expansion).
func NewSet(scopes ...string) Set {
	out := make(Set, len(scopes))
	for _, k := range scopes {
		out[k] = struct{}{}
	}
	return out
}

// String returns "Forbidden", "NotFound" or "Allowed".
func (d Decision) String() string {
	switch d {
	case Forbidden:
		return "Forbidden"
	case NotFound:
		return "NotFound"
	case Allowed:
		return "Allowed"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}
