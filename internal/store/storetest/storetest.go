// Package storetest is the conformance suite every store back end must pass. The store's own
// tests run it against a SQLite file and a PostgreSQL database; any future back end runs it too.
package storetest

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"gohub/internal/store"
)

// Run runs the whole suite. open must return a new, empty, migrated database for each call
// (a fresh file or a fresh PostgreSQL database), closed by the test's cleanup; the database
// must be reopenable with store.Open(db.URL()) after it is closed.
func Run(t *testing.T, open func(t *testing.T) *store.DB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) *store.DB)
	}{
		{"Schema", testSchema},
		{"Reopen", testReopen},
		{"TooNew", testTooNew},
		{"Pending", testPending},
		{"CreateUser", testCreateUser},
		{"CreateUsers", testCreateUsers},
		{"UpdateUser", testUpdateUser},
		{"DeleteUserCascades", testDeleteUserCascades},
		{"CookieAndTouch", testCookieAndTouch},
		{"ListUsers", testListUsers},
		{"ListUsersRestrict", testListUsersRestrict},
		{"Groups", testGroups},
		{"GroupsAllOrNothing", testGroupsAllOrNothing},
		{"ListGroups", testListGroups},
		{"Roles", testRoles},
		{"RolesOf", testRolesOf},
		{"Services", testServices},
		{"Tokens", testTokens},
		{"TokenExpiry", testTokenExpiry},
		{"TokenDeletes", testTokenDeletes},
		{"Spawners", testSpawners},
		{"OAuthClients", testOAuthClients},
		{"OAuthCodes", testOAuthCodes},
		{"Timestamps", testTimestamps},
		{"Concurrent", testConcurrent},
		{"Passwords", testPasswords},
		{"NativeUsers", testNativeUsers},
		{"NativeList", testNativeList},
		{"Blocks", testBlocks},
		{"AccountLinks", testAccountLinks},
		{"LoginFailures", testLoginFailures},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer catchMust(t)
			tc.fn(t, open)
		})
	}
}

// mustFailure carries a must error up to the subtest wrapper in Run.
type mustFailure struct {
	err   error
	where string
}

// must returns v, or stops the running subtest with err (Run turns the panic into t.Fatal,
// naming the caller's line).
func must[T any](v T, err error) T {
	if err != nil {
		_, file, line, _ := runtime.Caller(1)
		panic(mustFailure{err, fmt.Sprintf("%s:%d", filepath.Base(file), line)})
	}
	return v
}

// catchMust reports a must failure as a test failure; other panics go on.
func catchMust(t *testing.T) {
	if r := recover(); r != nil {
		f, ok := r.(mustFailure)
		if !ok {
			panic(r)
		}
		t.Fatalf("%s: %v", f.where, f.err)
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func eqList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if got == nil {
		t.Errorf("%s is nil, want %q", what, want)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// at returns a fixed UTC time with microseconds, offset by d.
func at(d time.Duration) time.Time {
	return time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC).Add(d)
}

// names returns the names of users.
func names(users []*store.User) []string {
	out := []string{}
	for _, u := range users {
		out = append(out, u.Name)
	}
	return out
}
