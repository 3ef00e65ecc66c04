package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"gohub/internal/store"
)

func testSpawners(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	u := must(db.CreateUser(ctx, "alice", false))
	b := must(db.CreateUser(ctx, "bob", false))
	named := must(db.EnsureSpawner(ctx, u.ID, "lab"))
	def := must(db.EnsureSpawner(ctx, u.ID, ""))
	eq(t, "ensure is idempotent", must(db.EnsureSpawner(ctx, u.ID, "lab")).ID, named.ID)
	if def.Server != nil || def.State != nil || def.Started != nil || def.UserID != u.ID {
		t.Errorf("new spawner = %+v", def)
	}
	_, err := db.EnsureSpawner(ctx, 987654, "")
	wantErr(t, err, store.ErrNotFound)
	_, err = db.GetSpawner(ctx, u.ID, "nope")
	wantErr(t, err, store.ErrNotFound)

	must(db.UpsertOAuthClient(ctx, store.OAuthClient{Identifier: "jupyterhub-user-alice"}))
	started := at(0)
	def.State = json.RawMessage(`{"pid":1234}`)
	def.Started, def.LastActivity = &started, &started
	def.UserOptions = json.RawMessage(`{"image":"x"}`)
	def.DisplayName = "Default"
	def.OAuthClientID = "jupyterhub-user-alice"
	ok(t, db.SaveSpawner(ctx, def))
	got := must(db.GetSpawner(ctx, u.ID, ""))
	eq(t, "state", string(got.State), `{"pid":1234}`)
	eq(t, "options", string(got.UserOptions), `{"image":"x"}`)
	eq(t, "display name", got.DisplayName, "Default")
	eq(t, "client", got.OAuthClientID, "jupyterhub-user-alice")
	if got.Started == nil || !got.Started.Equal(started) || got.LastActivity == nil {
		t.Errorf("started = %v", got.Started)
	}
	// TouchSpawner moves last_activity forward only and leaves state alone.
	later := started.Add(time.Minute)
	ok(t, db.TouchSpawner(ctx, u.ID, "", later))
	ok(t, db.TouchSpawner(ctx, u.ID, "", started.Add(-time.Hour)))
	touched := must(db.GetSpawner(ctx, u.ID, ""))
	if touched.LastActivity == nil || !touched.LastActivity.Equal(later) {
		t.Errorf("after touch last_activity = %v, want %v", touched.LastActivity, later)
	}
	eq(t, "state after touch", string(touched.State), `{"pid":1234}`)
	wantErr(t, db.TouchSpawner(ctx, u.ID, "nope", later), store.ErrNotFound)
	if un, sn, err := db.SpawnerOfClient(ctx, "jupyterhub-user-alice"); err != nil || un != u.Name || sn != "" {
		t.Errorf("SpawnerOfClient = %q, %q, %v; want %q, \"\"", un, sn, err, u.Name)
	}
	_, _, err = db.SpawnerOfClient(ctx, "no-such-client")
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, db.SaveSpawner(ctx, &store.Spawner{ID: 987654}), store.ErrNotFound)
	bad := *got
	bad.OAuthClientID = "no-such-client"
	wantErr(t, db.SaveSpawner(ctx, &bad), store.ErrNotFound)

	srv := &store.Server{IP: "127.0.0.1", Port: 45678, BaseURL: "/user/alice/", CookieName: "c"}
	ok(t, db.SetSpawnerServer(ctx, def.ID, srv))
	if srv.ID == 0 || srv.Proto != "http" {
		t.Errorf("server after set = %+v", srv)
	}
	bs := must(db.EnsureSpawner(ctx, b.ID, ""))
	ok(t, db.SetSpawnerServer(ctx, bs.ID, &store.Server{Proto: "https", IP: "10.0.0.1", Port: 1}))
	wantErr(t, db.SetSpawnerServer(ctx, 987654, srv), store.ErrNotFound)

	user := must(db.GetUser(ctx, "alice"))
	if len(user.Spawners) != 2 || user.Spawners[0].Name != "" || user.Spawners[1].Name != "lab" {
		t.Fatalf("spawners = %+v", user.Spawners)
	}
	s0 := user.Spawners[0].Server
	if s0 == nil || s0.Port != 45678 || s0.IP != "127.0.0.1" || s0.BaseURL != "/user/alice/" || s0.CookieName != "c" {
		t.Errorf("server = %+v", s0)
	}
	active := must(db.ActiveSpawners(ctx))
	if len(active) != 2 || active[0].UserName != "alice" || active[1].UserName != "bob" ||
		active[1].Spawner.Server.Proto != "https" {
		t.Errorf("active = %+v", active)
	}

	// Replacing the server, then clearing it.
	ok(t, db.SetSpawnerServer(ctx, def.ID, &store.Server{IP: "127.0.0.1", Port: 2}))
	eq(t, "new port", must(db.GetSpawner(ctx, u.ID, "")).Server.Port, 2)
	ok(t, db.SetSpawnerServer(ctx, def.ID, nil))
	if s := must(db.GetSpawner(ctx, u.ID, "")); s.Server != nil {
		t.Errorf("server after clear = %+v", s.Server)
	}
	eq(t, "active after clear", len(must(db.ActiveSpawners(ctx))), 1)

	wantErr(t, db.RenameSpawner(ctx, named.ID, ""), store.ErrExists)
	ok(t, db.RenameSpawner(ctx, named.ID, "lab2"))
	eq(t, "renamed", must(db.GetSpawner(ctx, u.ID, "lab2")).ID, named.ID)
	_, err = db.GetSpawner(ctx, u.ID, "lab")
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, db.RenameSpawner(ctx, 987654, "x"), store.ErrNotFound)

	ok(t, db.DeleteSpawner(ctx, named.ID))
	wantErr(t, db.DeleteSpawner(ctx, named.ID), store.ErrNotFound)
	eq(t, "spawners after delete", len(must(db.GetUser(ctx, "alice")).Spawners), 1)

	// Deleting the OAuth client leaves the spawner without one.
	ok(t, db.DeleteOAuthClient(ctx, "jupyterhub-user-alice"))
	eq(t, "client after delete", must(db.GetSpawner(ctx, u.ID, "")).OAuthClientID, "")
}

func testOAuthClients(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	secret := store.HashToken("s3cret", store.SuppliedTokenRounds)
	c := must(db.UpsertOAuthClient(ctx, store.OAuthClient{Identifier: "service-x", Description: "X",
		Secret: secret, RedirectURI: "http://127.0.0.1/cb", AllowedScopes: []string{"read:users"}}))
	eq(t, "description", c.Description, "X")
	eq(t, "redirect", c.RedirectURI, "http://127.0.0.1/cb")
	eqList(t, "scopes", c.AllowedScopes, []string{"read:users"})
	if !store.VerifyToken(must(db.GetOAuthClient(ctx, "service-x")).Secret, "s3cret") {
		t.Error("stored secret does not verify")
	}
	c2 := must(db.UpsertOAuthClient(ctx, store.OAuthClient{Identifier: "service-x", RedirectURI: "http://h/cb2"}))
	eq(t, "same id", c2.ID, c.ID)
	eq(t, "updated redirect", c2.RedirectURI, "http://h/cb2")
	eqList(t, "scopes cleared", c2.AllowedScopes, []string{})
	ok(t, db.DeleteOAuthClient(ctx, "service-x"))
	wantErr(t, db.DeleteOAuthClient(ctx, "service-x"), store.ErrNotFound)
	_, err := db.GetOAuthClient(ctx, "service-x")
	wantErr(t, err, store.ErrNotFound)
}

func testOAuthCodes(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	u := must(db.CreateUser(ctx, "alice", false))
	must(db.UpsertOAuthClient(ctx, store.OAuthClient{Identifier: "jupyterhub-user-alice"}))
	now := time.Unix(1_700_000_000, 0)
	in := store.OAuthCode{ClientID: "jupyterhub-user-alice", Code: "abc123", ExpiresAt: now.Add(5 * time.Minute),
		RedirectURI: "/user/alice/oauth_callback", SessionID: "sess", UserID: u.ID,
		Scopes: []string{"access:servers!server=alice/"}, CodeChallenge: "chal", CodeChallengeMethod: "S256"}
	c := must(db.CreateOAuthCode(ctx, in))
	if c.ID == 0 {
		t.Error("code id not set")
	}
	_, err := db.CreateOAuthCode(ctx, in)
	wantErr(t, err, store.ErrExists)
	bad := in
	bad.Code, bad.ClientID = "other", "no-such-client"
	_, err = db.CreateOAuthCode(ctx, bad)
	wantErr(t, err, store.ErrNotFound)

	got := must(db.TakeOAuthCode(ctx, "abc123", now))
	eq(t, "client", got.ClientID, in.ClientID)
	eq(t, "user", got.UserID, u.ID)
	eq(t, "redirect", got.RedirectURI, in.RedirectURI)
	eq(t, "session", got.SessionID, "sess")
	eq(t, "challenge", got.CodeChallenge, "chal")
	eq(t, "method", got.CodeChallengeMethod, "S256")
	eqList(t, "scopes", got.Scopes, in.Scopes)
	if !got.ExpiresAt.Equal(in.ExpiresAt) {
		t.Errorf("expires = %v, want %v", got.ExpiresAt, in.ExpiresAt)
	}
	_, err = db.TakeOAuthCode(ctx, "abc123", now)
	wantErr(t, err, store.ErrNotFound) // single use

	in.Code = "late"
	must(db.CreateOAuthCode(ctx, in))
	_, err = db.TakeOAuthCode(ctx, "late", now.Add(10*time.Minute))
	wantErr(t, err, store.ErrNotFound)
	_, err = db.TakeOAuthCode(ctx, "late", now)
	wantErr(t, err, store.ErrNotFound) // an expired code is gone, not kept for later

	in.Code = "orphan"
	must(db.CreateOAuthCode(ctx, in))
	ok(t, db.DeleteOAuthClient(ctx, "jupyterhub-user-alice"))
	_, err = db.TakeOAuthCode(ctx, "orphan", now)
	wantErr(t, err, store.ErrNotFound)
}

func testTimestamps(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	u := must(db.CreateUser(ctx, "alice", false))
	// A time in another zone is the same instant, read back in UTC with microseconds kept.
	zone := time.FixedZone("X", -7*3600)
	in := time.Date(2030, 1, 2, 3, 4, 5, 678901234, zone)
	ok(t, db.TouchUser(ctx, u.ID, in))
	got := must(db.GetUser(ctx, "alice")).LastActivity
	want := in.UTC().Truncate(time.Microsecond)
	if got == nil || !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("last activity = %v, want %v", got, want)
	}
	// Whole seconds stay whole.
	whole := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	ok(t, db.TouchUser(ctx, u.ID, whole))
	got = must(db.GetUser(ctx, "alice")).LastActivity
	if got == nil || !got.Equal(whole) {
		t.Errorf("last activity = %v, want %v", got, whole)
	}
}
