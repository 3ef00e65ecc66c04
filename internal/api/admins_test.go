package api

import (
	"context"
	"strconv"
	"testing"

	"gohub/internal/auth"
	"gohub/internal/auth/dummy"
	"gohub/internal/store"
)

// grantEverything gives bob, who is no admin, a role with every scope that acts on other users
// (admin:users, tokens, admin:servers), on every user.
func grantEverything(t *testing.T, h *testHub) {
	t.Helper()
	ctx := context.Background()
	if _, err := h.db.UpsertRole(ctx, store.Role{Name: "helpdesk", Scopes: []string{"admin:users", "tokens", "admin:servers"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.db.GrantRole(ctx, "helpdesk", store.KindUser, "bob"); err != nil {
		t.Fatal(err)
	}
	h.api.Invalidate()
}

// TestOnlyAdminsActOnAdmins performs the takeovers a non-admin holding admin:users, tokens and
// admin:servers on every user could try against an admin: mint a token of the admin (and use it
// to make themself an admin), delete the admin, revoke the admin's tokens. Each is refused with
// 403; the same calls on a non-admin work.
func TestOnlyAdminsActOnAdmins(t *testing.T) {
	h := newTestHub(t)
	grantEverything(t, h)
	ctx := context.Background()

	r := h.do(callBob, "POST", "/hub/api/users/admin/tokens", map[string]any{"note": "mine now"})
	if r.status != 403 {
		t.Errorf("a non-admin minted a token of an admin: %d %s", r.status, r.body)
		if tok, _ := r.json(t).(map[string]any)["token"].(string); tok != "" {
			h.tokens["stolen"] = tok
			h.do("stolen", "PATCH", "/hub/api/users/bob", map[string]any{"admin": true})
		}
	}
	if bob, err := h.db.GetUser(ctx, "bob"); err != nil || bob.Admin {
		t.Errorf("bob made himself an admin through the admin's token (%v)", err)
	}
	admin, err := h.db.GetUser(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	toks, err := h.db.ListTokens(ctx, store.KindUser, admin.ID)
	if err != nil || len(toks) == 0 {
		t.Fatalf("admin's tokens: %v %v", toks, err)
	}
	id := toks[0].ID
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"DELETE", "/users/admin", nil},
		{"DELETE", "/users/admin/tokens/a" + strconv.FormatInt(id, 10), nil},
		{"PATCH", "/users/admin", map[string]any{"name": "boss"}},
	} {
		if r := h.do(callBob, tc.method, "/hub/api"+tc.path, tc.body); r.status != 403 {
			t.Errorf("%s %s by a non-admin: %d %s, want 403", tc.method, tc.path, r.status, r.body)
		}
	}
	if _, err := h.db.GetUser(ctx, "admin"); err != nil {
		t.Errorf("the admin is gone: %v", err)
	}
	if _, err := h.db.GetToken(ctx, id); err != nil {
		t.Errorf("the admin's token is gone: %v", err)
	}
	// The same powers still work on someone who is no admin.
	if r := h.do(callBob, "POST", "/hub/api/users/carol/tokens", map[string]any{"note": "helpdesk"}); r.status != 201 {
		t.Errorf("token for carol: %d %s", r.status, r.body)
	}
	if r := h.do(callBob, "DELETE", "/hub/api/users/carol", nil); r.status != 204 {
		t.Errorf("delete carol: %d %s", r.status, r.body)
	}
	// An admin acts on admins.
	if r := h.do(callAdmin, "POST", "/hub/api/users/admin/tokens", map[string]any{"note": "own"}); r.status != 201 {
		t.Errorf("an admin's own token: %d %s", r.status, r.body)
	}
}

// TestOnlyAdminsNameAdmins: a name listed in admin_users makes an admin at its next login, so
// a non-admin cannot create a user of that name (the admin was deleted) or rename someone to it.
func TestOnlyAdminsNameAdmins(t *testing.T) {
	authn, err := dummy.New(&dummy.Config{Config: auth.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.DefaultConfig()
	cfg.AdminUsers = []string{"boss"}
	pipeline, err := auth.NewPipeline(cfg, authn, func(context.Context, string) (bool, error) { return false, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHubWith(t, hubOptions{deps: func(d *Deps) { d.Users = pipeline }})
	grantEverything(t, h)
	for _, tc := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "/users/boss", nil, 403},
		{"POST", "/users", map[string]any{"usernames": []string{"x1", "boss"}}, 403},
		{"PATCH", "/users/carol", map[string]any{"name": "boss"}, 403},
		{"PATCH", "/users/carol", map[string]any{"name": "carla"}, 200},
		// Names an attacker could make look like another's are refused (auth.CheckUsername).
		{"POST", "/users/ad%E2%80%8Bmin", nil, 400},
		{"POST", "/users", map[string]any{"usernames": []string{"bo\u202Ess"}}, 400},
		{"POST", "/users", map[string]any{"usernames": []string{"\uFF42oss"}}, 400},
		{"PATCH", "/users/carla", map[string]any{"name": "bo\nss"}, 400},
		{"PATCH", "/users/carla", map[string]any{"name": "boss\u0000"}, 400},
		{"POST", "/users/adm%C4%B0n", nil, 201}, // "admİn" is its own name, not "admin"
	} {
		if r := h.do(callBob, tc.method, "/hub/api"+tc.path, tc.body); r.status != tc.want {
			t.Errorf("%s %s %v: %d %s, want %d", tc.method, tc.path, tc.body, r.status, r.body, tc.want)
		}
	}
	if _, err := h.db.GetUser(context.Background(), "boss"); err == nil {
		t.Error("a non-admin created the account of an admin_users name")
	}
	if _, err := h.db.GetUser(context.Background(), "adm\u0130n"); err != nil {
		t.Errorf("admİn: %v", err)
	}
	if r := h.do(callAdmin, "POST", "/hub/api/users/boss", nil); r.status != 201 {
		t.Errorf("an admin creating boss: %d %s", r.status, r.body)
	}
	// boss's hub user has no admin flag until boss logs in, but is an admin's account already
	// (admin_users): a token minted for it now would be an admin's at that login.
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/users/boss/tokens", map[string]any{"note": "mine now"}},
		{"PATCH", "/users/boss", map[string]any{"name": "boss2"}},
		{"DELETE", "/users/boss", nil},
	} {
		if r := h.do(callBob, tc.method, "/hub/api"+tc.path, tc.body); r.status != 403 {
			t.Errorf("a non-admin on the admin_users account boss: %s %s: %d %s, want 403", tc.method, tc.path, r.status, r.body)
		}
	}
}

// TestOnlyAdminsStartAdminServers: a non-admin with admin:servers cannot start (with options of
// their choosing), create, change or remove the servers of an admin; stopping one is allowed,
// as upstream, so a culler that is no admin still stops idle admin servers.
func TestOnlyAdminsStartAdminServers(t *testing.T) {
	h := newSpawnHub(t, spawnSetup{limits: spawnLimits()})
	grantEverything(t, h.testHub)
	for _, tc := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "/users/admin/server", map[string]any{"image": "mallory/evil"}, 403},
		{"POST", "/users/admin/servers/gpu", nil, 403},
		{"PUT", "/users/admin/servers/gpu2", nil, 403},
		{"DELETE", "/users/admin/server", nil, 204},
	} {
		if r := h.do(callBob, tc.method, "/hub/api"+tc.path, tc.body); r.status != tc.want {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.want)
		}
	}
	if st := h.hs.M.Status("admin", ""); st.Active {
		t.Error("a non-admin started an admin's server")
	}
	ctx := context.Background()
	admin, err := h.db.GetUser(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range admin.Spawners {
		if sp.Name != "" {
			t.Errorf("a non-admin created the admin's server %q", sp.Name)
		}
	}
}
