package api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"gohub/internal/store"
)

// TestActivityMovesForward: activity posts move user and server last_activity forward only,
// and the change shows in GET at once (the read cache is invalidated by the write).
func TestActivityMovesForward(t *testing.T) {
	h := newTestHub(t)
	get := func() map[string]any {
		return h.do(callAdmin, "GET", "/hub/api/users/alice", nil).json(t).(map[string]any)
	}
	get() // fill the cache
	post := func(user, server string) int {
		return h.do(callAliceSrv, "POST", "/hub/api/users/alice/activity", map[string]any{
			"last_activity": user, "servers": map[string]any{"": map[string]any{"last_activity": server}},
		}).status
	}
	if s := post("2026-05-01T12:00:00Z", "2026-05-01T11:00:00.25+02:00"); s != 200 {
		t.Fatalf("activity: %d", s)
	}
	u := get()
	srv := u["servers"].(map[string]any)[""].(map[string]any)
	if u["last_activity"] != "2026-05-01T12:00:00Z" || srv["last_activity"] != "2026-05-01T09:00:00.250000Z" {
		t.Errorf("after activity: user %v server %v", u["last_activity"], srv["last_activity"])
	}
	if s := post("2026-04-01T12:00:00Z", "2026-04-01T12:00:00Z"); s != 200 {
		t.Fatalf("older activity: %d", s)
	}
	u = get()
	srv = u["servers"].(map[string]any)[""].(map[string]any)
	if u["last_activity"] != "2026-05-01T12:00:00Z" || srv["last_activity"] != "2026-05-01T09:00:00.250000Z" {
		t.Errorf("older activity moved values back: user %v server %v", u["last_activity"], srv["last_activity"])
	}
	// The server token's own use is not user activity; a user token's is.
	ctx := context.Background()
	alice, _ := h.db.GetUser(ctx, "alice")
	before := *alice.LastActivity
	h.do(callAliceSrv, "GET", "/hub/api/user", nil)
	alice, _ = h.db.GetUser(ctx, "alice")
	if !alice.LastActivity.Equal(before) {
		t.Errorf("server token use moved user activity")
	}
	h.do(callAlice, "GET", "/hub/api/user", nil)
	alice, _ = h.db.GetUser(ctx, "alice")
	if !alice.LastActivity.After(before) {
		t.Errorf("user token use did not record activity")
	}
}

// TestUserAdminWithoutAdmin: a holder of admin:users who is not an admin cannot grant admin or
// touch admins (§1.3).
func TestUserAdminWithoutAdmin(t *testing.T) {
	h := newTestHub(t)
	ctx := context.Background()
	if _, err := h.db.UpsertRole(ctx, store.Role{Name: "user-admins", Scopes: []string{"admin:users"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.db.GrantRole(ctx, "user-admins", store.KindUser, "bob"); err != nil {
		t.Fatal(err)
	}
	h.api.Invalidate()
	for _, tc := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "/users", map[string]any{"usernames": []string{"x1"}, "admin": true}, 403},
		{"POST", "/users/x2", map[string]any{"admin": true}, 403},
		{"PATCH", "/users/admin", map[string]any{"name": "root"}, 403},
		{"PATCH", "/users/alice", map[string]any{"admin": true}, 403},
		{"PATCH", "/users/alice", map[string]any{"admin": false}, 200},
		{"POST", "/users", map[string]any{"usernames": []string{"x3"}}, 201},
	} {
		if r := h.do(callBob, tc.method, "/hub/api"+tc.path, tc.body); r.status != tc.want {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, r.status, tc.want, r.body)
		}
	}
	if got := fmt.Sprint(h.userNames()); got != "[admin alice bob carol x3]" {
		t.Errorf("users %s", got)
	}
}

// TestListQueries covers pagination clamping, sorting, name and state filters.
func TestListQueries(t *testing.T) {
	h := newTestHub(t)
	pg := func(q string) map[string]any {
		t.Helper()
		r := h.do(callAdmin, "GET", "/hub/api/users"+q, nil, "Accept", paginationMedia)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", q, r.status, r.body)
		}
		return r.json(t).(map[string]any)
	}
	names := func(m map[string]any) string {
		var out []string
		for _, u := range m["items"].([]any) {
			out = append(out, u.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	for q, want := range map[string]string{
		"":                      "admin,alice,bob,carol",
		"?limit=0":              "admin",
		"?limit=2&offset=-2":    "bob,carol",
		"?limit=-1":             "admin",
		"?sort=-name":           "carol,bob,alice,admin",
		"?name_filter=A":        "admin,alice,carol",
		"?state=active":         "alice",
		"?state=ready":          "alice",
		"?state=inactive":       "admin,bob,carol",
		"?name_filter=%25":      "",
		"?offset=10":            "",
		"?sort=name&limit=1000": "admin,alice,bob,carol",
	} {
		if got := names(pg(q)); got != want {
			t.Errorf("GET /users%s: %s, want %s", q, got, want)
		}
	}
	if p := pg("?limit=1000")["_pagination"].(map[string]any); p["limit"] != 200.0 || p["next"] != nil {
		t.Errorf("limit clamp: %v", p)
	}
	if p := pg("")["_pagination"].(map[string]any); p["limit"] != 50.0 {
		t.Errorf("default paginated limit: %v", p)
	}
	// Without the header the reply is a bare list.
	if _, ok := h.do(callAdmin, "GET", "/hub/api/users", nil).json(t).([]any); !ok {
		t.Errorf("bare list expected without the pagination Accept header")
	}
}

// TestDeleteOAuthToken: revoking an OAuth token revokes every token of the user from that client.
func TestDeleteOAuthToken(t *testing.T) {
	h := newTestHub(t)
	ctx := context.Background()
	alice, _ := h.db.GetUser(ctx, "alice")
	if _, err := h.db.UpsertOAuthClient(ctx, store.OAuthClient{Identifier: "service-viewer", Description: "Viewer", Secret: "x", RedirectURI: "/services/viewer/oauth_callback"}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := 0; i < 2; i++ {
		tk, err := h.db.CreateToken(ctx, store.NewToken{Plain: newTokenValue(), UserID: &alice.ID, ClientID: "service-viewer", Scopes: []string{"read:users:name!user=alice"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	list := h.do(callAlice, "GET", "/hub/api/users/alice/tokens", nil).json(t).(map[string]any)["api_tokens"].([]any)
	seen := 0
	for _, tk := range list {
		if tk.(map[string]any)["oauth_client"] == "Viewer" {
			seen++
		}
	}
	if seen != 2 {
		t.Fatalf("oauth tokens listed: %d of 2: %v", seen, list)
	}
	if r := h.do(callAlice, "DELETE", fmt.Sprintf("/hub/api/users/alice/tokens/a%d", ids[0]), nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	for _, id := range ids {
		if _, err := h.db.GetToken(ctx, id); err == nil {
			t.Errorf("token a%d of the same client survived", id)
		}
	}
	if r := h.do(callAlice, "GET", "/hub/api/user", nil); r.status != 200 {
		t.Errorf("alice's API token was revoked with the OAuth ones: %d", r.status)
	}
}

// TestSnapshotMatchesDatabase: the pre-rendered snapshot (default order) and the database path
// (another order) give the same models, and writes outside the API show after Invalidate.
func TestSnapshotMatchesDatabase(t *testing.T) {
	h := newTestHub(t)
	for _, q := range []string{"", "?include_stopped_servers"} {
		snap := h.do(callAdmin, "GET", "/hub/api/users"+q, nil).json(t).([]any)
		sep := "?"
		if q != "" {
			sep = "&"
		}
		db := h.do(callAdmin, "GET", "/hub/api/users"+q+sep+"sort=-id", nil).json(t).([]any)
		if len(snap) != len(db) {
			t.Fatalf("%q: %d vs %d users", q, len(snap), len(db))
		}
		for i := range snap {
			a, b := fmt.Sprint(snap[i]), fmt.Sprint(db[len(db)-1-i])
			if a != b {
				t.Errorf("%q: snapshot %s\ndatabase %s", q, a, b)
			}
		}
		one := h.do(callAdmin, "GET", "/hub/api/users/alice"+q, nil).json(t)
		if fmt.Sprint(one) != fmt.Sprint(snap[1]) {
			t.Errorf("GET one %v\nlist %v", one, snap[1])
		}
	}
	// A change made outside the API (here straight in the store) shows once invalidated.
	ctx := context.Background()
	bob, _ := h.db.GetUser(ctx, "bob")
	admin := true
	if _, err := h.db.UpdateUser(ctx, bob.ID, store.UserUpdate{Admin: &admin}); err != nil {
		t.Fatal(err)
	}
	h.api.Invalidate()
	if u := h.do(callAdmin, "GET", "/hub/api/users/bob", nil).json(t).(map[string]any); u["admin"] != true {
		t.Errorf("after Invalidate: %v", u)
	}
}
