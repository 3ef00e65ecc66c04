package rbac

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

var (
	propUsers    = []string{"alice", "bob", "carol"}
	propServers  = []string{"alice/", "alice/x", "bob/", "carol/y"}
	propGroups   = []string{"g1", "g2", "g3"}
	propServices = []string{"s1", "s2"}
	// propBases mixes leaves and superscopes of every resource kind.
	propBases = []string{
		"users", "read:users", "read:users:name", "read:users:groups", "list:users", "admin:users",
		"servers", "read:servers", "delete:servers", "admin:servers", "access:servers",
		"groups", "read:groups", "list:groups", "read:services", "access:services", "read:hub", "shares",
	}
)

// genScope draws a scope with an explicit filter (or none); withGroups=false never draws !group=.
func genScope(withGroups bool) *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		base := rapid.SampledFrom(propBases).Draw(t, "base")
		max := 4
		if withGroups {
			max = 5
		}
		switch rapid.IntRange(0, max).Draw(t, "kind") {
		case 0:
			return base
		case 1:
			return base + "!user=" + rapid.SampledFrom(propUsers).Draw(t, "user")
		case 2, 3:
			return base + "!server=" + rapid.SampledFrom(propServers).Draw(t, "server")
		case 4:
			return base + "!service=" + rapid.SampledFrom(propServices).Draw(t, "service")
		default:
			return base + "!group=" + rapid.SampledFrom(propGroups).Draw(t, "group")
		}
	})
}

// genMembership draws which groups each user belongs to.
func genMembership(t *rapid.T) func(string) []string {
	m := map[string][]string{}
	for _, u := range propUsers {
		for _, g := range propGroups {
			if rapid.Bool().Draw(t, u+" in "+g) {
				m[u] = append(m[u], g)
			}
		}
	}
	return func(u string) []string { return m[u] }
}

// targetFor turns an expanded scope into the base it grants and the resource it grants it on.
func targetFor(scope string, groupsOf func(string) []string) (string, Target) {
	base, filter, _ := strings.Cut(scope, "!")
	kind, value, _ := strings.Cut(filter, "=")
	switch kind {
	case kindUser:
		return base, Target{User: value, UserGroups: groupsOf(value)}
	case kindServer:
		return base, Target{Server: value, UserGroups: groupsOf(serverUser(value))}
	case kindGroup:
		return base, Target{Group: value}
	case kindService:
		return base, Target{Service: value}
	}
	return base, Target{}
}

func genTarget(t *rapid.T, groupsOf func(string) []string) Target {
	switch rapid.IntRange(0, 4).Draw(t, "target kind") {
	case 0:
		u := rapid.SampledFrom(propUsers).Draw(t, "target user")
		return Target{User: u, UserGroups: groupsOf(u)}
	case 1:
		s := rapid.SampledFrom(propServers).Draw(t, "target server")
		return Target{Server: s, UserGroups: groupsOf(serverUser(s))}
	case 2:
		return Target{Group: rapid.SampledFrom(propGroups).Draw(t, "target group")}
	case 3:
		return Target{Service: rapid.SampledFrom(propServices).Draw(t, "target service")}
	}
	return Target{}
}

// TestPropIntersectSound: every scope of Intersect(a, b) is granted by a and by b, on raw and on
// expanded random sets; and the intersection does not depend on argument order.
func TestPropIntersectSound(t *testing.T) {
	c := mustCatalog(t, nil)
	rapid.Check(t, func(t *rapid.T) {
		groupsOf := genMembership(t)
		rawA := rapid.SliceOfN(genScope(true), 0, 8).Draw(t, "a")
		rawB := rapid.SliceOfN(genScope(true), 0, 8).Draw(t, "b")
		for _, expand := range []bool{false, true} {
			a, b := NewSet(rawA...), NewSet(rawB...)
			if expand {
				a, b = c.Expand(rawA, alice, Client{}), c.Expand(rawB, alice, Client{})
			}
			in := Intersect(a, b, groupsOf)
			for scope := range in {
				base, tgt := targetFor(scope, groupsOf)
				if !a.Has(base, tgt) {
					t.Fatalf("expand=%v: %q in a∩b but a does not grant %s on %+v\na=%v\nb=%v", expand, scope, base, tgt, a.Sorted(), b.Sorted())
				}
				if !b.Has(base, tgt) {
					t.Fatalf("expand=%v: %q in a∩b but b does not grant %s on %+v\na=%v\nb=%v", expand, scope, base, tgt, a.Sorted(), b.Sorted())
				}
			}
			if back := Intersect(b, a, groupsOf); !back.Equal(in) {
				t.Fatalf("not symmetric: a∩b=%v b∩a=%v", in.Sorted(), back.Sorted())
			}
		}
	})
}

// TestPropIntersectComplete: when a has no group filters, whatever both expanded sets grant on a
// resource the intersection grants too (JupyterHub resolves these through the database; group
// against group cannot be resolved without member lists, so a may not hold !group=).
func TestPropIntersectComplete(t *testing.T) {
	c := mustCatalog(t, nil)
	rapid.Check(t, func(t *rapid.T) {
		groupsOf := genMembership(t)
		a := c.Expand(rapid.SliceOfN(genScope(false), 0, 8).Draw(t, "a"), alice, Client{})
		b := c.Expand(rapid.SliceOfN(genScope(true), 0, 8).Draw(t, "b"), alice, Client{})
		in := Intersect(a, b, groupsOf)
		check := func(base string, tgt Target) {
			if a.Has(base, tgt) && b.Has(base, tgt) && !in.Has(base, tgt) {
				t.Fatalf("both grant %s on %+v but a∩b does not\na=%v\nb=%v\na∩b=%v", base, tgt, a.Sorted(), b.Sorted(), in.Sorted())
			}
		}
		// Every resource either side names, on every base, and some drawn ones.
		for _, side := range []Set{a, b} {
			for scope := range side {
				_, tgt := targetFor(scope, groupsOf)
				for _, base := range propBases {
					check(base, tgt)
				}
			}
		}
		for _, srv := range propServers {
			for _, base := range propBases {
				check(base, Target{Server: srv, UserGroups: groupsOf(serverUser(srv))})
			}
		}
		for range 10 {
			check(rapid.SampledFrom(propBases).Draw(t, "check base"), genTarget(t, groupsOf))
		}
	})
}

// TestPropExpand: expansion is idempotent, self-intersection is the identity, and Check's answer
// agrees with Has and only says NotFound when the target names a resource.
func TestPropExpand(t *testing.T) {
	c := mustCatalog(t, nil)
	rapid.Check(t, func(t *rapid.T) {
		groupsOf := genMembership(t)
		s := c.Expand(rapid.SliceOfN(genScope(true), 0, 10).Draw(t, "raw"), bob, Client{})
		if again := c.Expand(s.Sorted(), bob, Client{}); !again.Equal(s) {
			t.Fatalf("Expand not idempotent: %v → %v", s.Sorted(), again.Sorted())
		}
		if self := Intersect(s, s, groupsOf); !self.Equal(s) {
			t.Fatalf("s∩s = %v, s = %v", self.Sorted(), s.Sorted())
		}
		base := rapid.SampledFrom(propBases).Draw(t, "check base")
		tgt := genTarget(t, groupsOf)
		d := s.Check([]string{base}, tgt)
		if (d == Allowed) != s.Has(base, tgt) {
			t.Fatalf("Check=%v Has=%v", d, s.Has(base, tgt))
		}
		if d == NotFound && tgt.kind() < 0 {
			t.Fatalf("NotFound without a target")
		}
		if d == Forbidden && tgt.kind() >= 0 && s.HasAny(base) {
			t.Fatalf("Forbidden although %s is held with filters: %v", base, s.Sorted())
		}
	})
}
