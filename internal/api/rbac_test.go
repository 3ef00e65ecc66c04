package api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"gohub/internal/store"
)

// access is one row of the RBAC table: a request and the status each caller gets.
type access struct {
	method, path string
	body         any
	want         map[string]int // caller → status; callers not listed are not tried
}

// aliceTokenID returns the id ("a<n>") of alice's inherit token.
func (h *testHub) aliceTokenID() string {
	h.t.Helper()
	alice, err := h.db.GetUser(context.Background(), "alice")
	if err != nil {
		h.t.Fatal(err)
	}
	toks, err := h.db.ListTokens(context.Background(), store.KindUser, alice.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, tk := range toks {
		if tk.Note == "test" {
			return fmt.Sprintf("a%d", tk.ID)
		}
	}
	h.t.Fatal("alice has no test token")
	return ""
}

// TestRBAC checks 200/201/204 vs 403 vs 404 for every endpoint and kind of caller (§0.5, §5.2):
// 403 when the scope is not held at all, 404 when held only for other resources.
func TestRBAC(t *testing.T) {
	const (
		anon, admin, alice, bob, filt, svc, srv, grp = callAnon, callAdmin, callAlice, callBob, callFiltered, callService, callAliceSrv, callGroupTok
	)
	rows := []access{
		{"GET", "/info", nil, map[string]int{anon: 403, admin: 200, alice: 403, filt: 403, svc: 403}},
		{"GET", "/user", nil, map[string]int{anon: 403, admin: 200, alice: 200, bob: 200, filt: 200, svc: 200, srv: 200, grp: 200}},
		{"GET", "/users", nil, map[string]int{anon: 403, admin: 200, alice: 403, filt: 200, svc: 200, srv: 403, grp: 200}},
		{"GET", "/users/alice", nil, map[string]int{anon: 403, admin: 200, alice: 200, bob: 404, filt: 200, svc: 200, srv: 200, grp: 200}},
		{"GET", "/users/bob", nil, map[string]int{anon: 403, admin: 200, alice: 404, bob: 200, filt: 404, svc: 200, srv: 404, grp: 404}},
		{"GET", "/users/nobody", nil, map[string]int{anon: 403, admin: 404, alice: 404, filt: 404, svc: 404}},
		{"POST", "/users", map[string]any{"usernames": []string{"zed"}}, map[string]int{anon: 403, admin: 201, alice: 403, filt: 403, svc: 403}},
		{"POST", "/users/zed", nil, map[string]int{anon: 403, admin: 201, alice: 403, svc: 403}},
		{"PATCH", "/users/bob", map[string]any{"admin": false}, map[string]int{anon: 403, admin: 200, alice: 403, bob: 403, svc: 403}},
		{"DELETE", "/users/bob", nil, map[string]int{anon: 403, admin: 204, alice: 403, bob: 403, filt: 403, svc: 403}},
		{"POST", "/users/alice/activity", map[string]any{"last_activity": "2026-01-01T00:00:00Z"},
			map[string]int{anon: 403, admin: 200, alice: 200, bob: 404, filt: 403, svc: 200, srv: 200}},
		{"POST", "/users/bob/activity", map[string]any{"last_activity": "2026-01-01T00:00:00Z"},
			map[string]int{alice: 404, srv: 404, svc: 200}},
		{"GET", "/users/bob/tokens", nil, map[string]int{filt: 404, alice: 404, admin: 200}},
		{"GET", "/users/alice/tokens", nil, map[string]int{anon: 403, admin: 200, alice: 200, bob: 404, filt: 200, svc: 403, srv: 403}},
		{"POST", "/users/alice/tokens", map[string]any{}, map[string]int{anon: 403, admin: 201, alice: 201, bob: 403, filt: 403, svc: 403, srv: 403}},
		{"POST", "/users/nobody/tokens", map[string]any{}, map[string]int{admin: 403, alice: 403}},
		{"GET", "/users/alice/tokens/{alice-token}", nil, map[string]int{anon: 403, admin: 200, alice: 200, bob: 404, filt: 200, svc: 403}},
		{"GET", "/users/bob/tokens/{alice-token}", nil, map[string]int{admin: 404, bob: 404}},
		{"DELETE", "/users/alice/tokens/{alice-token}", nil, map[string]int{anon: 403, admin: 204, alice: 204, bob: 404, filt: 403, svc: 403}},
		{"GET", "/groups", nil, map[string]int{anon: 403, admin: 200, alice: 403, filt: 403, svc: 403}},
		{"GET", "/groups/team", nil, map[string]int{anon: 403, admin: 200, alice: 403, filt: 200, svc: 403}},
		{"GET", "/groups/other", nil, map[string]int{admin: 404, filt: 404}},
		{"POST", "/groups", map[string]any{"groups": []string{"newg"}}, map[string]int{anon: 403, admin: 201, alice: 403, filt: 403}},
		{"POST", "/groups/newg", nil, map[string]int{anon: 403, admin: 201, alice: 403, filt: 403}},
		{"DELETE", "/groups/team", nil, map[string]int{anon: 403, admin: 204, alice: 403, filt: 403}},
		{"POST", "/groups/team/users", map[string]any{"users": []string{"bob"}}, map[string]int{anon: 403, admin: 200, alice: 403, filt: 403}},
		{"DELETE", "/groups/team/users", map[string]any{"users": []string{"alice"}}, map[string]int{anon: 403, admin: 200, alice: 403}},
		{"PUT", "/groups/team/properties", map[string]any{"a": 1}, map[string]int{anon: 403, admin: 200, alice: 403, filt: 403}},
		{"GET", "/services", nil, map[string]int{anon: 403, admin: 200, alice: 403, svc: 403}},
		{"GET", "/services/culler", nil, map[string]int{anon: 403, admin: 200, alice: 403, svc: 403}},
		{"POST", "/services/newsvc", map[string]any{}, map[string]int{anon: 403, admin: 201, alice: 403, svc: 403}},
		{"DELETE", "/services/culler", nil, map[string]int{anon: 403, admin: 405, alice: 403, svc: 403}},
		{"GET", "/authorizations/token/{alice-plain}", nil, map[string]int{anon: 403, admin: 200, bob: 200, svc: 200}},
		{"GET", "/authorizations/token/not-a-token-at-all", nil, map[string]int{anon: 403, admin: 404}},
		{"POST", "/users/alice/admin-access", nil, map[string]int{anon: 403, admin: 403, alice: 403}},

		// Servers (§1.4): start:servers, delete:servers, read:servers on the server.
		{"POST", "/users/bob/server", nil, map[string]int{anon: 403, admin: 201, alice: 404, bob: 201, filt: 403, svc: 403, srv: 403, grp: 404}},
		{"DELETE", "/users/alice/server", nil, map[string]int{anon: 403, admin: 204, alice: 204, bob: 404, filt: 403, svc: 204, srv: 403}},
		{"GET", "/users/alice/server", nil, map[string]int{anon: 403, admin: 200, alice: 200, bob: 404, filt: 403, svc: 200, srv: 403}},
		{"GET", "/users/nobody/server", nil, map[string]int{admin: 404, alice: 404}},
		{"GET", "/users/alice/server/progress", nil, map[string]int{anon: 403, admin: 400, alice: 400, bob: 404, filt: 403, svc: 400}},
		{"GET", "/users/alice/servers/gpu/progress", nil, map[string]int{alice: 400, bob: 404}},
		{"POST", "/users/alice/servers/gpu", nil, map[string]int{anon: 403, admin: 201, alice: 201, bob: 404, svc: 403}},
		{"PUT", "/users/alice/servers/newsrv", nil, map[string]int{anon: 403, admin: 201, alice: 201, bob: 404, svc: 403, filt: 403}},
		{"PATCH", "/users/alice/servers/gpu", map[string]any{"display_name": "G"}, map[string]int{anon: 403, admin: 200, alice: 200, bob: 404, svc: 403}},
		{"DELETE", "/users/alice/servers/gpu", map[string]any{"remove": true}, map[string]int{anon: 403, admin: 204, alice: 204, bob: 404, svc: 204, srv: 403}},
		{"DELETE", "/users/bob/servers/none", nil, map[string]int{admin: 404, bob: 404, alice: 404}},

		// Proxy and shutdown (§1.2).
		{"GET", "/proxy", nil, map[string]int{anon: 403, admin: 200, alice: 403, svc: 403, filt: 403}},
		{"POST", "/proxy", nil, map[string]int{anon: 403, admin: 200, alice: 403, svc: 403}},
		{"PATCH", "/proxy", map[string]any{}, map[string]int{anon: 403, admin: 200, alice: 403}},
		{"POST", "/shutdown", nil, map[string]int{anon: 403, admin: 202, alice: 403, svc: 403}},
	}
	// Every hub runs the simple spawner, so server rows start and stop real servers.
	newHub := func(t *testing.T) *testHub {
		return newSpawnHub(t, spawnSetup{fakeSeed: true, limits: spawnLimits()}).testHub
	}
	shared := newHub(t)
	for _, row := range rows {
		for who, want := range row.want {
			name := fmt.Sprintf("%s %s as %s", row.method, row.path, who)
			t.Run(name, func(t *testing.T) {
				h := shared
				if row.method != "GET" {
					h = newHub(t) // writes get a fresh hub each
				}
				path := strings.ReplaceAll(row.path, "{alice-token}", h.aliceTokenID())
				path = strings.ReplaceAll(path, "{alice-plain}", h.tokens[callAlice])
				r := h.do(who, row.method, "/hub/api"+path, row.body)
				if r.status != want {
					t.Errorf("status %d, want %d: %s", r.status, want, r.body)
				}
				if want == 403 && who == anon && !strings.Contains(string(r.body), "Missing or invalid credentials") {
					t.Errorf("anonymous 403 message: %s", r.body)
				}
			})
		}
	}
}

// TestListFilteredByScopes checks that filtered list scopes narrow lists, and that models are
// filtered per key.
func TestListFilteredByScopes(t *testing.T) {
	h := newTestHub(t)
	names := func(caller string) []string {
		var out []string
		for _, u := range h.do(caller, "GET", "/hub/api/users", nil).json(t).([]any) {
			out = append(out, u.(map[string]any)["name"].(string))
		}
		return out
	}
	if got := names(callFiltered); fmt.Sprint(got) != "[alice]" {
		t.Errorf("filtered token lists %v", got)
	}
	if got := names(callGroupTok); fmt.Sprint(got) != "[alice]" {
		t.Errorf("group-filtered token lists %v", got)
	}
	if got := names(callService); len(got) != 4 {
		t.Errorf("service lists %v", got)
	}
	// The culler's scopes: list:users (names), read:users:activity, read:servers — no admin,
	// groups, roles, or state.
	u := h.do(callService, "GET", "/hub/api/users/alice", nil).json(t).(map[string]any)
	for _, k := range []string{"kind", "name", "last_activity", "servers", "admin"} {
		if _, ok := u[k]; !ok {
			t.Errorf("culler view of alice lacks %s: %v", k, u)
		}
	}
	for _, k := range []string{"groups", "roles", "created", "auth_state"} {
		if _, ok := u[k]; ok {
			t.Errorf("culler view of alice has %s: %v", k, u)
		}
	}
	if _, ok := u["servers"].(map[string]any)[""].(map[string]any)["state"]; ok {
		t.Errorf("culler sees server state without admin:server_state")
	}
	// Alice's own view: everything of read:users and read:servers, not auth_state or state.
	a := h.do(callAlice, "GET", "/hub/api/users/alice", nil).json(t).(map[string]any)
	if _, ok := a["auth_state"]; ok {
		t.Errorf("alice sees auth_state: %v", a)
	}
	if a["groups"] == nil || a["servers"] == nil {
		t.Errorf("alice's view of herself: %v", a)
	}
	// The server token only identifies and records activity.
	s := h.do(callAliceSrv, "GET", "/hub/api/users/alice", nil).json(t).(map[string]any)
	if _, ok := s["servers"]; ok || s["last_activity"] == nil && len(s) < 2 {
		t.Errorf("server token view: %v", s)
	}
	// Admin: auth_state key present (null) on GET one user, state on servers.
	ad := h.do(callAdmin, "GET", "/hub/api/users/alice", nil).json(t).(map[string]any)
	if v, ok := ad["auth_state"]; !ok || v != nil {
		t.Errorf("admin view auth_state: %v", ad)
	}
}
