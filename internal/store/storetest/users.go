package storetest

import (
	"regexp"
	"testing"
	"time"

	"gohub/internal/store"
)

// defaultRoles creates the `user` and `admin` roles CreateUser binds.
func defaultRoles(t *testing.T, db *store.DB) {
	t.Helper()
	must(db.UpsertRole(t.Context(), store.Role{Name: "user", Scopes: []string{"self"}}))
	must(db.UpsertRole(t.Context(), store.Role{Name: "admin", Scopes: []string{"admin:users"}}))
}

func testCreateUser(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()

	// Without the default roles, users are created with no roles.
	bare := must(db.CreateUser(ctx, "bare", true))
	eqList(t, "roles without role rows", bare.Roles, []string{})

	defaultRoles(t, db)
	before := time.Now().Add(-time.Second)
	u := must(db.CreateUser(ctx, "alice", false))
	eq(t, "name", u.Name, "alice")
	eq(t, "admin", u.Admin, false)
	eqList(t, "roles", u.Roles, []string{"user"})
	eqList(t, "groups", u.Groups, []string{})
	if u.Spawners == nil || len(u.Spawners) != 0 {
		t.Errorf("spawners = %v, want empty", u.Spawners)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(u.CookieID) {
		t.Errorf("cookie id %q is not uuid hex", u.CookieID)
	}
	if u.Created.Before(before) || u.Created.After(time.Now().Add(time.Second)) {
		t.Errorf("created = %v, want about now", u.Created)
	}
	eq(t, "created location", u.Created.Location(), time.UTC)
	if u.LastActivity != nil || u.EncryptedAuthState != nil || u.UserInfo != nil {
		t.Errorf("new user has last_activity/auth_state/user_info: %+v", u)
	}

	root := must(db.CreateUser(ctx, "root", true))
	eq(t, "admin", root.Admin, true)
	eqList(t, "admin roles", root.Roles, []string{"admin", "user"})

	_, err := db.CreateUser(ctx, "alice", true)
	wantErr(t, err, store.ErrExists)
	if _, err := db.CreateUser(ctx, "", false); err == nil {
		t.Error("empty name accepted")
	}

	got := must(db.GetUser(ctx, "alice"))
	eq(t, "GetUser id", got.ID, u.ID)
	eq(t, "GetUser cookie", got.CookieID, u.CookieID)
	eqList(t, "GetUser roles", got.Roles, []string{"user"})
	eq(t, "GetUserByID", must(db.GetUserByID(ctx, u.ID)).Name, "alice")
	eq(t, "GetUserByCookieID", must(db.GetUserByCookieID(ctx, u.CookieID)).Name, "alice")
	_, err = db.GetUser(ctx, "nobody")
	wantErr(t, err, store.ErrNotFound)
	_, err = db.GetUserByID(ctx, 987654)
	wantErr(t, err, store.ErrNotFound)
	_, err = db.GetUserByCookieID(ctx, "")
	wantErr(t, err, store.ErrNotFound)
}

func testCreateUsers(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	defaultRoles(t, db)
	must(db.CreateUser(ctx, "old", false))
	got := must(db.CreateUsers(ctx, []string{"b", "a", "old", "b"}, true))
	eqList(t, "created", names(got), []string{"b", "a"})
	for _, u := range got {
		eq(t, u.Name+" admin", u.Admin, true)
		eqList(t, u.Name+" roles", u.Roles, []string{"admin", "user"})
	}
	eq(t, "old stays non-admin", must(db.GetUser(ctx, "old")).Admin, false)
	eqList(t, "all exist", names(must(db.CreateUsers(ctx, []string{"a", "old"}, false))), []string{})

	// A failing batch creates nobody.
	if _, err := db.CreateUsers(ctx, []string{"x", ""}, false); err == nil {
		t.Fatal("batch with an empty name succeeded")
	}
	_, err := db.GetUser(ctx, "x")
	wantErr(t, err, store.ErrNotFound)
}

func testUpdateUser(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	defaultRoles(t, db)
	u := must(db.CreateUser(ctx, "alice", false))
	must(db.CreateUser(ctx, "bob", false))

	got := must(db.UpdateUser(ctx, u.ID, store.UserUpdate{Name: ptr("alicia")}))
	eq(t, "renamed", got.Name, "alicia")
	_, err := db.GetUser(ctx, "alice")
	wantErr(t, err, store.ErrNotFound)

	// A rename to a taken name fails and changes nothing else in the same call.
	_, err = db.UpdateUser(ctx, u.ID, store.UserUpdate{Admin: ptr(true), Name: ptr("bob")})
	wantErr(t, err, store.ErrExists)
	got = must(db.GetUser(ctx, "alicia"))
	eq(t, "admin after failed update", got.Admin, false)
	eqList(t, "roles after failed update", got.Roles, []string{"user"})

	got = must(db.UpdateUser(ctx, u.ID, store.UserUpdate{Admin: ptr(true)}))
	eq(t, "admin", got.Admin, true)
	eqList(t, "roles with admin", got.Roles, []string{"admin", "user"})
	got = must(db.UpdateUser(ctx, u.ID, store.UserUpdate{Admin: ptr(false)}))
	eq(t, "admin", got.Admin, false)
	eqList(t, "roles without admin", got.Roles, []string{"user"})

	state := []byte{0, 1, 2, 0xff}
	info := []byte(`{"email":"a@example.org"}`)
	got = must(db.UpdateUser(ctx, u.ID, store.UserUpdate{EncryptedAuthState: &state, UserInfo: &info}))
	eq(t, "auth state", string(got.EncryptedAuthState), string(state))
	eq(t, "user info", string(got.UserInfo), string(info))
	got = must(db.GetUser(ctx, "alicia"))
	eq(t, "auth state read back", string(got.EncryptedAuthState), string(state))
	var none []byte
	got = must(db.UpdateUser(ctx, u.ID, store.UserUpdate{EncryptedAuthState: &none, UserInfo: &none}))
	if got.EncryptedAuthState != nil || got.UserInfo != nil {
		t.Errorf("cleared auth state/user info = %q %q", got.EncryptedAuthState, got.UserInfo)
	}
	_, err = db.UpdateUser(ctx, 987654, store.UserUpdate{Admin: ptr(true)})
	wantErr(t, err, store.ErrNotFound)
}

func testDeleteUserCascades(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	defaultRoles(t, db)
	u := must(db.CreateUser(ctx, "alice", true))
	must(db.CreateGroups(ctx, []string{"g"}, []string{"alice"}))
	sp := must(db.EnsureSpawner(ctx, u.ID, ""))
	ok(t, db.SetSpawnerServer(ctx, sp.ID, &store.Server{IP: "127.0.0.1", Port: 5000}))
	tok := must(db.CreateToken(ctx, store.NewToken{Plain: "alice-token-123", UserID: &u.ID}))
	must(db.CreateOAuthCode(ctx, store.OAuthCode{ClientID: "jupyterhub", Code: "code-1",
		ExpiresAt: time.Now().Add(time.Hour), UserID: u.ID}))

	ok(t, db.DeleteUser(ctx, "alice"))
	wantErr(t, db.DeleteUser(ctx, "alice"), store.ErrNotFound)
	_, err := db.GetUser(ctx, "alice")
	wantErr(t, err, store.ErrNotFound)
	_, err = db.GetToken(ctx, tok.ID)
	wantErr(t, err, store.ErrNotFound)
	eqList(t, "group members", must(db.GetGroup(ctx, "g")).Users, []string{})
	eqList(t, "admin role users", must(db.GetRole(ctx, "admin")).Users, []string{})
	eq(t, "active spawners", len(must(db.ActiveSpawners(ctx))), 0)
	_, err = db.TakeOAuthCode(ctx, "code-1", time.Now())
	wantErr(t, err, store.ErrNotFound)

	// The name can be reused and the new user inherits nothing.
	u2 := must(db.CreateUser(ctx, "alice", false))
	eqList(t, "new alice groups", u2.Groups, []string{})
	eqList(t, "new alice roles", u2.Roles, []string{"user"})
	eq(t, "new alice spawners", len(u2.Spawners), 0)
}

func testCookieAndTouch(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	u := must(db.CreateUser(ctx, "alice", false))
	c := must(db.RotateCookieID(ctx, u.ID))
	if c == u.CookieID || len(c) != 32 {
		t.Errorf("rotated cookie id %q (old %q)", c, u.CookieID)
	}
	_, err := db.GetUserByCookieID(ctx, u.CookieID)
	wantErr(t, err, store.ErrNotFound)
	eq(t, "by new cookie", must(db.GetUserByCookieID(ctx, c)).ID, u.ID)
	_, err = db.RotateCookieID(ctx, 987654)
	wantErr(t, err, store.ErrNotFound)

	ok(t, db.TouchUser(ctx, u.ID, at(0)))
	ok(t, db.TouchUser(ctx, u.ID, at(-time.Hour))) // older: ignored
	got := must(db.GetUser(ctx, "alice"))
	if got.LastActivity == nil || !got.LastActivity.Equal(at(0)) {
		t.Errorf("last activity = %v, want %v", got.LastActivity, at(0))
	}
	ok(t, db.TouchUser(ctx, u.ID, at(time.Minute)))
	got = must(db.GetUser(ctx, "alice"))
	if got.LastActivity == nil || !got.LastActivity.Equal(at(time.Minute)) {
		t.Errorf("last activity = %v, want %v", got.LastActivity, at(time.Minute))
	}
	wantErr(t, db.TouchUser(ctx, 987654, at(0)), store.ErrNotFound)
}
