package api

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestBadInputChangesNothing sends malformed or refused requests: each gets its 4xx with a JSON
// message naming the problem, and the database is exactly as before.
func TestBadInputChangesNothing(t *testing.T) {
	h := newTestHub(t)
	big := `{"usernames": ["` + strings.Repeat("a", 1<<20) + `"]}`
	cases := []struct {
		name, caller, method, path string
		body                       any
		status                     int
		msg                        string // substring of the message
	}{
		{"malformed JSON", callAdmin, "POST", "/users", `{"usernames": [`, 400, "Invalid JSON"},
		{"trailing garbage", callAdmin, "POST", "/users", `{"usernames": ["x"]} {}`, 400, "Invalid JSON"},
		{"body over 1 MiB", callAdmin, "POST", "/users", big, 413, "larger than"},
		{"usernames not a list", callAdmin, "POST", "/users", map[string]any{"usernames": "x"}, 400, "list of strings"},
		{"no usernames", callAdmin, "POST", "/users", map[string]any{"usernames": []string{}}, 400, "at least one user"},
		{"one invalid username", callAdmin, "POST", "/users", map[string]any{"usernames": []string{"okname", "bad/name"}}, 400, "bad/name"},
		{"blank username", callAdmin, "POST", "/users", map[string]any{"usernames": []string{" x"}}, 400, "blank"},
		{"dot-dot username", callAdmin, "POST", "/users", map[string]any{"usernames": []string{".."}}, 400, "'..'"},
		{"dot-dot in the path", callAdmin, "POST", "/users/%2E%2E", nil, 400, "'..'"},
		{"pattern mismatch", callAdmin, "POST", "/users", map[string]any{"usernames": []string{"has space"}}, 400, "username_pattern"},
		{"all exist", callAdmin, "POST", "/users", map[string]any{"usernames": []string{"alice", "bob"}}, 409, "already exist"},
		{"bad admin type", callAdmin, "POST", "/users", map[string]any{"usernames": []string{"x1"}, "admin": "yes"}, 400, "admin"},
		{"unknown key", callAdmin, "POST", "/users", map[string]any{"usernames": []string{"x1"}, "shell": "/bin/sh"}, 400, "shell"},
		{"invalid name in path", callAdmin, "POST", "/users/has%20space", nil, 400, "username_pattern"},
		{"unnormalised name in path", callAdmin, "POST", "/users/Upper", nil, 400, "normalised"},
		{"user exists", callAdmin, "POST", "/users/alice", nil, 409, "already exists"},
		{"rename to taken", callAdmin, "PATCH", "/users/alice", map[string]any{"name": "bob"}, 400, "already exists"},
		{"rename to invalid", callAdmin, "PATCH", "/users/alice", map[string]any{"name": "a/b"}, 400, "Invalid username"},
		{"patch bad type", callAdmin, "PATCH", "/users/alice", map[string]any{"admin": "yes"}, 400, "admin"},
		{"patch unknown key", callAdmin, "PATCH", "/users/alice", map[string]any{"home": "/x"}, 400, "home"},
		{"patch empty", callAdmin, "PATCH", "/users/alice", nil, 400, "at least one"},
		{"patch auth_state without crypt key", callAdmin, "PATCH", "/users/alice", map[string]any{"auth_state": map[string]any{"a": 1}}, 400, "auth_state"},
		{"patch unknown user", callAdmin, "PATCH", "/users/nobody", map[string]any{"admin": true}, 404, "nobody"},
		{"delete unknown user", callAdmin, "DELETE", "/users/nobody", nil, 404, "nobody"},
		{"delete yourself", callAdmin, "DELETE", "/users/admin", nil, 400, "yourself"},
		{"delete with running server", callAdmin, "DELETE", "/users/alice", nil, 400, "running"},
		{"activity empty", callAliceSrv, "POST", "/users/alice/activity", map[string]any{}, 400, "at least one"},
		{"activity empty servers", callAliceSrv, "POST", "/users/alice/activity", map[string]any{"servers": map[string]any{}, "last_activity": ""}, 400, "at least one"},
		{"activity not an object", callAliceSrv, "POST", "/users/alice/activity", []int{1}, 400, "object"},
		{"activity bad timestamp", callAliceSrv, "POST", "/users/alice/activity", map[string]any{"last_activity": "yesterday"}, 400, "timestamp"},
		{"activity in the future", callAliceSrv, "POST", "/users/alice/activity",
			map[string]any{"last_activity": time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)}, 400, "future"},
		{"activity unknown server", callAliceSrv, "POST", "/users/alice/activity", map[string]any{
			"last_activity": "2026-01-01T00:00:00Z", "servers": map[string]any{"nope": map[string]any{"last_activity": "2026-01-01T00:00:00Z"}}}, 400, "No such server"},
		{"activity unknown user", callAdmin, "POST", "/users/nobody/activity", map[string]any{"last_activity": "2026-01-01T00:00:00Z"}, 404, "nobody"},
		{"token scopes not held", callAlice, "POST", "/users/alice/tokens", map[string]any{"scopes": []string{"admin:users"}}, 400, "not held"},
		{"token unknown scope", callAlice, "POST", "/users/alice/tokens", map[string]any{"scopes": []string{"read:everything"}}, 400, "read:everything"},
		{"token scopes and roles", callAlice, "POST", "/users/alice/tokens", map[string]any{"scopes": []string{"read:users"}, "roles": []string{"user"}}, 400, "one of scopes or roles"},
		{"token unknown role", callAlice, "POST", "/users/alice/tokens", map[string]any{"roles": []string{"nope"}}, 400, "nope"},
		{"token role not held", callAlice, "POST", "/users/alice/tokens", map[string]any{"roles": []string{"admin"}}, 400, "not held"},
		{"token expires_in not int", callAlice, "POST", "/users/alice/tokens", map[string]any{"expires_in": "soon"}, 400, "expires_in"},
		{"token expires_in float", callAlice, "POST", "/users/alice/tokens", map[string]any{"expires_in": 1.5}, 400, "expires_in"},
		{"token expires_in negative", callAlice, "POST", "/users/alice/tokens", map[string]any{"expires_in": -5}, 400, "expires_in"},
		{"token body not object", callAlice, "POST", "/users/alice/tokens", `"x"`, 400, "object"},
		{"token id malformed", callAdmin, "DELETE", "/users/alice/tokens/42", nil, 404, "42"},
		{"group exists", callAdmin, "POST", "/groups", map[string]any{"groups": []string{"new1", "team"}}, 409, "team"},
		{"group unknown member", callAdmin, "POST", "/groups", map[string]any{"groups": []string{"new1"}, "users": []string{"nobody"}}, 400, "nobody"},
		{"group properties on create", callAdmin, "POST", "/groups/new2", map[string]any{"properties": map[string]any{}}, 400, "properties"},
		{"group no names", callAdmin, "POST", "/groups", map[string]any{"users": []string{"alice"}}, 400, "at least one group"},
		{"group add unknown user", callAdmin, "POST", "/groups/team/users", map[string]any{"users": []string{"alice", "nobody"}}, 400, "nobody"},
		{"group add without users", callAdmin, "POST", "/groups/team/users", map[string]any{}, 400, "users"},
		{"group properties not object", callAdmin, "PUT", "/groups/team/properties", []int{1, 2}, 400, "object"},
		{"group unknown", callAdmin, "DELETE", "/groups/nope", nil, 404, "nope"},
		{"service with command", callAdmin, "POST", "/services/svc2", map[string]any{"command": []string{"sleep"}}, 400, "command"},
		{"service bad url", callAdmin, "POST", "/services/svc2", map[string]any{"url": "not a url"}, 400, "url"},
		{"service short token", callAdmin, "POST", "/services/svc2", map[string]any{"api_token": "short"}, 400, "api_token"},
		{"service exists", callAdmin, "POST", "/services/culler", nil, 409, "exists"},
		{"list bad offset", callAdmin, "GET", "/users?offset=x", nil, 400, "offset"},
		{"list bad limit", callAdmin, "GET", "/users?limit=1.5", nil, 400, "limit"},
		{"list bad state", callAdmin, "GET", "/users?state=sleeping", nil, 400, "state"},
		{"list bad sort", callAdmin, "GET", "/users?sort=age", nil, 400, "sort"},
		{"unknown path", callAdmin, "GET", "/nope", nil, 404, "No API endpoint"},
		{"unknown path anonymous", callAnon, "POST", "/users/alice/nope", nil, 404, "No API endpoint"},
		{"wrong method", callAdmin, "PUT", "/users/alice", nil, 405, "Method Not Allowed"},
	}
	before := h.snapshot()
	aliceBefore, err := h.db.GetUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(tc.caller, tc.method, "/hub/api"+tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if !strings.Contains(string(r.body), tc.msg) {
				t.Errorf("message %s does not mention %q", r.body, tc.msg)
			}
			if after := h.snapshot(); after != before {
				t.Errorf("refused request changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	alice, err := h.db.GetUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	// Alice's own token requests move her last_activity to now; the refused posts' 2026-01-01 must not land.
	posted := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if (alice.LastActivity != nil && alice.LastActivity.Equal(posted)) || !equalTimePtr(alice.Spawners[0].LastActivity, aliceBefore.Spawners[0].LastActivity) {
		t.Errorf("refused activity posts moved last_activity: %v → %v", aliceBefore.LastActivity, alice.LastActivity)
	}
}

func equalTimePtr(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// TestTokenExpiry covers expires_in, token_expires_in_max_seconds and expired tokens.
func TestTokenExpiry(t *testing.T) {
	h := newTestHub(t)
	h.api.d.TokenExpiresInMax = time.Hour
	r := h.do(callAlice, "POST", "/hub/api/users/alice/tokens", map[string]any{"expires_in": 7200})
	if r.status != 400 || !strings.Contains(string(r.body), "must not exceed 3600") {
		t.Errorf("over max: %d %s", r.status, r.body)
	}
	r = h.do(callAlice, "POST", "/hub/api/users/alice/tokens", nil)
	if r.status != 201 {
		t.Fatalf("default expiry: %d %s", r.status, r.body)
	}
	m := r.json(t).(map[string]any)
	exp, ok := parseTimestamp(m["expires_at"].(string))
	if !ok || exp.Sub(time.Now()) < 59*time.Minute || exp.Sub(time.Now()) > 61*time.Minute {
		t.Errorf("with a max and no expires_in the token expires at the max: %v", m["expires_at"])
	}
	if m["note"] != "Requested via api" {
		t.Errorf("default note %q", m["note"])
	}
	r = h.do(callAdmin, "POST", "/hub/api/users/alice/tokens", map[string]any{"expires_in": 1})
	if r.status != 201 {
		t.Fatalf("short token: %d %s", r.status, r.body)
	}
	m = r.json(t).(map[string]any)
	if m["note"] != "Requested via api by user admin" {
		t.Errorf("note for another's token %q", m["note"])
	}
	h.tokens["short"] = m["token"].(string)
	if r := h.do("short", "GET", "/hub/api/user", nil); r.status != 200 {
		t.Fatalf("fresh token: %d", r.status)
	}
	h.api.now = func() time.Time { return time.Now().Add(2 * time.Second) }
	if r := h.do("short", "GET", "/hub/api/user", nil); r.status != 403 {
		t.Errorf("expired token (cached) still accepted: %d", r.status)
	}
}

// TestTokenRevocation proves a deleted token stops working at once, despite the cache, and
// that deleting a user kills their tokens.
func TestTokenRevocation(t *testing.T) {
	h := newTestHub(t)
	if r := h.do(callBob, "GET", "/hub/api/user", nil); r.status != 200 {
		t.Fatalf("bob: %d", r.status)
	}
	r := h.do(callBob, "POST", "/hub/api/users/bob/tokens", map[string]any{"note": "temp"})
	tok := r.json(t).(map[string]any)
	h.tokens["temp"] = tok["token"].(string)
	if r := h.do("temp", "GET", "/hub/api/user", nil); r.status != 200 {
		t.Fatalf("new token: %d %s", r.status, r.body)
	}
	if r := h.do(callBob, "DELETE", "/hub/api/users/bob/tokens/"+tok["id"].(string), nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := h.do("temp", "GET", "/hub/api/user", nil); r.status != 403 {
		t.Errorf("deleted token still works: %d", r.status)
	}
	if r := h.do(callAdmin, "DELETE", "/hub/api/users/bob", nil); r.status != 204 {
		t.Fatalf("delete bob: %d %s", r.status, r.body)
	}
	if r := h.do(callBob, "GET", "/hub/api/user", nil); r.status != 403 {
		t.Errorf("token of a deleted user still works: %d", r.status)
	}
	// Demoting an admin takes effect at once.
	if r := h.do(callAdmin, "POST", "/hub/api/users", map[string]any{"usernames": []string{"boss"}, "admin": true}); r.status != 201 {
		t.Fatalf("create admin: %d %s", r.status, r.body)
	}
	r = h.do(callAdmin, "POST", "/hub/api/users/boss/tokens", nil)
	h.tokens["boss"] = r.json(t).(map[string]any)["token"].(string)
	if r := h.do("boss", "GET", "/hub/api/info", nil); r.status != 200 {
		t.Fatalf("admin token: %d", r.status)
	}
	if r := h.do(callAdmin, "PATCH", "/hub/api/users/boss", map[string]any{"admin": false}); r.status != 200 {
		t.Fatalf("demote: %d %s", r.status, r.body)
	}
	if r := h.do("boss", "GET", "/hub/api/info", nil); r.status != 403 {
		t.Errorf("demoted admin's token still has read:hub: %d", r.status)
	}
}
