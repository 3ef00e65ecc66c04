package rbac

import (
	"errors"
	"strings"
	"testing"
)

// TestCatalogueImplies pins the subscope table of protocol.md §5.1 (direct and transitive).
func TestCatalogueImplies(t *testing.T) {
	c := mustCatalog(t, nil)
	cases := map[string][]string{
		"admin:users":    {"admin:auth_state", "admin:users", "delete:users", "list:users", "read:roles:users", "read:users", "read:users:activity", "read:users:groups", "read:users:name", "users", "users:activity"},
		"users":          {"list:users", "read:users", "read:users:activity", "read:users:groups", "read:users:name", "users", "users:activity"},
		"list:users":     {"list:users", "read:users:name"},
		"read:roles":     {"read:roles", "read:roles:groups", "read:roles:services", "read:roles:users"},
		"admin:servers":  {"admin:server_state", "admin:servers", "delete:servers", "read:servers", "read:users:name", "servers", "start:servers"},
		"read:servers":   {"read:servers", "read:users:name"},
		"tokens":         {"read:tokens", "tokens"},
		"admin:groups":   {"admin:groups", "delete:groups", "groups", "list:groups", "read:groups", "read:groups:name", "read:roles:groups"},
		"admin:services": {"admin:services", "list:services", "read:roles:services", "read:services", "read:services:name"},
		"shares":         {"access:servers", "groups:shares", "read:groups:shares", "read:shares", "read:users:shares", "shares", "users:shares"},
		"users:activity": {"read:users:activity", "users:activity"},
		"read:metrics":   {"read:metrics"},
		"(no_scope)":     {"(no_scope)"},
	}
	for scope, want := range cases {
		wantSet(t, scope, c.Expand([]string{scope}, Owner{}, Client{}), want)
	}
	for _, name := range []string{"admin-ui", "read:hub", "access:servers", "access:services", "proxy", "shutdown",
		"read:shares", "delete:servers", "start:servers", "admin:auth_state", "admin:server_state"} {
		if !c.Known(name) {
			t.Errorf("%s not in catalogue", name)
		}
	}
}

func TestValidate(t *testing.T) {
	c := mustCatalog(t, map[string]CustomScope{"custom:a:read": {Description: "read a"}})
	cases := []struct {
		scope string
		err   error  // nil = valid
		msg   string // substring of the message
	}{
		{"read:users", nil, ""},
		{"read:users!user=alice", nil, ""},
		{"servers!server=alice/", nil, ""},
		{"servers!server=alice/gpu", nil, ""},
		{"read:groups!group=physics", nil, ""},
		{"access:services!service=culler", nil, ""},
		{"users:activity!user", nil, ""},
		{"access:servers!server", nil, ""},
		{"access:services!service", nil, ""},
		{"custom:a:read", nil, ""},
		{"custom:a:read!user=bob", nil, ""},
		{"self", nil, ""},
		{"inherit", nil, ""},
		{"all", ErrUnknownScope, "inherit"},
		{"read:userz", ErrUnknownScope, "read:userz"},
		{"custom:b", ErrUnknownScope, ""},
		{"", ErrUnknownScope, ""},
		{"read:users!group", ErrBadFilter, "!group"},
		{"read:users!bogus=x", ErrBadFilter, "!bogus=x"},
		{"read:users!user=", ErrBadFilter, "empty"},
		{"read:users!", ErrBadFilter, ""},
	}
	for _, tc := range cases {
		err := c.Validate(tc.scope)
		if tc.err == nil {
			if err != nil {
				t.Errorf("Validate(%q) = %v, want nil", tc.scope, err)
			}
			continue
		}
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Validate(%q) = %v, want %v containing %q", tc.scope, err, tc.err, tc.msg)
		}
	}
	if err := c.ValidateAll([]string{"users", "all"}); !errors.Is(err, ErrUnknownScope) {
		t.Errorf("ValidateAll = %v", err)
	}
}

func TestCustomScopes(t *testing.T) {
	good := map[string]CustomScope{
		"custom:jupyter_server:read:*":          {Description: "read everything", Subscopes: []string{"custom:jupyter_server:read:contents"}},
		"custom:jupyter_server:read:contents":   {Description: "read files", Subscopes: []string{"custom:jupyter_server:read:contents:x"}},
		"custom:jupyter_server:read:contents:x": {Description: "x"},
	}
	c := mustCatalog(t, good)
	wantSet(t, "custom transitive with filter",
		c.Expand([]string{"custom:jupyter_server:read:*!user"}, alice, Client{}),
		withFilter("user=alice", "custom:jupyter_server:read:*", "custom:jupyter_server:read:contents", "custom:jupyter_server:read:contents:x"))
	if d, ok := c.Description("custom:jupyter_server:read:contents"); !ok || d != "read files" {
		t.Errorf("Description = %q %v", d, ok)
	}
	// Built-in catalogue is unaffected by another catalogue's custom scopes.
	if mustCatalog(t, nil).Known("custom:jupyter_server:read:*") {
		t.Error("custom scope leaked into another catalogue")
	}
	// Cycles terminate.
	cyc := mustCatalog(t, map[string]CustomScope{
		"custom:aaa": {Description: "a", Subscopes: []string{"custom:bbb"}},
		"custom:bbb": {Description: "b", Subscopes: []string{"custom:aaa"}},
	})
	wantSet(t, "cycle", cyc.Expand([]string{"custom:aaa"}, Owner{}, Client{}), []string{"custom:aaa", "custom:bbb"})

	bad := []struct {
		name string
		cs   CustomScope
		msg  string
	}{
		{"read:users", CustomScope{Description: "x"}, "names start with"},
		{"custom:", CustomScope{Description: "x"}, "names start with"},
		{"custom:ab-", CustomScope{Description: "x"}, "names start with"},
		{"custom:ab:", CustomScope{Description: "x"}, "names start with"},
		{"custom:_ab", CustomScope{Description: "x"}, "names start with"},
		{"custom:Ab", CustomScope{Description: "x"}, "names start with"},
		{"custom:abc", CustomScope{}, "missing description"},
		{"custom:abc", CustomScope{Description: "x", Subscopes: []string{"read:users"}}, "not a custom scope"},
		{"custom:abc", CustomScope{Description: "x", Subscopes: []string{"custom:zz"}}, "not defined"},
	}
	for _, b := range bad {
		_, err := NewCatalog(map[string]CustomScope{b.name: b.cs})
		if !errors.Is(err, ErrBadCustomScope) || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("NewCatalog(%q %+v) = %v, want %q", b.name, b.cs, err, b.msg)
		}
	}
	for name, want := range map[string]bool{"custom:a*": false, "custom:ab*": true, "custom:x-y_z": true, "custom:x:y*": true} {
		if got := customScopeName.MatchString(name); got != want {
			t.Errorf("custom name %q valid = %v, want %v", name, got, want)
		}
	}
}
