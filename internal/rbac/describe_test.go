package rbac

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDescribeRaw(t *testing.T) {
	c := mustCatalog(t, map[string]CustomScope{"custom:lab:read": {Description: "Read the lab."}})
	got := c.DescribeRaw([]string{
		"read:users!user", "read:users!user=alice", "read:users!user=bob", "servers!group=physics",
		"access:servers!server=bob/", "access:servers!server", "read:hub", "nope", "custom:lab:read",
	}, "alice")
	want := []ScopeDescription{
		{"read:users", builtinDefs["read:users"].description, "only you"},
		{"read:users", builtinDefs["read:users"].description, "only you"},
		{"read:users", builtinDefs["read:users"].description, "user bob"},
		{"servers", builtinDefs["servers"].description, "users in group physics"},
		{"access:servers", builtinDefs["access:servers"].description, "server bob/"},
		{"access:servers", builtinDefs["access:servers"].description, "your server"},
		{"read:hub", builtinDefs["read:hub"].description, ""},
		{"custom:lab:read", "Read the lab.", ""},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DescribeRaw (-want +got):\n%s", d)
	}
	for name, def := range builtinDefs {
		if def.description == "" {
			t.Errorf("scope %s has no description", name)
		}
	}
}
