package rbac

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	alice = Owner{Kind: "user", Name: "alice", Groups: []string{"physics"}}
	bob   = Owner{Kind: "user", Name: "bob"}
	cull  = Owner{Kind: "service", Name: "culler"}
)

func mustCatalog(t testing.TB, custom map[string]CustomScope) *Catalog {
	t.Helper()
	c, err := NewCatalog(custom)
	if err != nil {
		t.Fatalf("NewCatalog: %v", err)
	}
	return c
}

func wantSet(t *testing.T, what string, got Set, want []string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if d := cmp.Diff(NewSet(want...).Sorted(), got.Sorted()); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// withFilter returns each base with "!"+filter appended.
func withFilter(filter string, bases ...string) []string {
	out := make([]string, len(bases))
	for i, b := range bases {
		out[i] = b + "!" + filter
	}
	return out
}
