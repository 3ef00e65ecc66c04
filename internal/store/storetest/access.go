package storetest

import (
	"sync"
	"testing"
	"time"

	"gohub/internal/store"
)

// testBlocks: admin blocks are per user, idempotent, listed by name, and go with the user;
// RevokeUserAccess rotates the cookie id and deletes tokens (optionally keeping servers').
func testBlocks(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	alice := must(db.CreateUser(ctx, "alice", false))
	must(db.CreateUser(ctx, "bob", false))
	wantErr(t, db.BlockUser(ctx, "nobody", "x"), store.ErrNotFound)
	eqList(t, "no blocks", must(db.BlockedUserNames(ctx)), []string{})
	ok(t, db.BlockUser(ctx, "bob", "left the lab"))
	ok(t, db.BlockUser(ctx, "alice", ""))
	ok(t, db.BlockUser(ctx, "alice", "again")) // idempotent
	eqList(t, "blocked", must(db.BlockedUserNames(ctx)), []string{"alice", "bob"})
	eq(t, "unblock alice", must(db.UnblockUser(ctx, "alice")), true)
	eq(t, "unblock alice again", must(db.UnblockUser(ctx, "alice")), false)
	_, err := db.UnblockUser(ctx, "nobody")
	wantErr(t, err, store.ErrNotFound)
	ok(t, db.DeleteUser(ctx, "bob"))
	eqList(t, "after deleting bob", must(db.BlockedUserNames(ctx)), []string{})

	mk := func(plain, note string, spawner *int64) *store.Token {
		return must(db.CreateToken(ctx, store.NewToken{Plain: plain, Rounds: 1, UserID: &alice.ID, Note: note, SpawnerID: spawner}))
	}
	sp := must(db.EnsureSpawner(ctx, alice.ID, ""))
	mk("user-token-0001", "Requested via api", nil)
	// A user may note a token as a server's: only the spawner row makes a server token.
	mk("disguised-0001", "Server at /user/alice/", nil)
	srv := mk("server-token-01", "Server at /user/alice/", &sp.ID)
	if srv.SpawnerID == nil || *srv.SpawnerID != sp.ID {
		t.Errorf("server token's spawner = %v, want %d", srv.SpawnerID, sp.ID)
	}
	other := must(db.CreateUser(ctx, "carol", false))
	must(db.CreateToken(ctx, store.NewToken{Plain: "carol-token-001", Rounds: 1, UserID: &other.ID}))
	svc := must(db.UpsertService(ctx, store.Service{Name: "culler"}))
	if _, err := db.CreateToken(ctx, store.NewToken{Plain: "service-spawner", Rounds: 1, ServiceID: &svc.ID, SpawnerID: &sp.ID}); err == nil {
		t.Error("a service's token tied to a spawner row was created")
	}

	eq(t, "revoked keeping server tokens", must(db.RevokeUserAccess(ctx, alice.ID, true)), 2)
	_, err = db.GetUserByCookieID(ctx, alice.CookieID)
	wantErr(t, err, store.ErrNotFound)
	left := must(db.ListTokens(ctx, store.KindUser, alice.ID))
	if len(left) != 1 || left[0].ID != srv.ID {
		t.Errorf("tokens left = %+v, want only the server's", left)
	}
	eq(t, "revoked all", must(db.RevokeUserAccess(ctx, alice.ID, false)), 1)
	eq(t, "alice's tokens", len(must(db.ListTokens(ctx, store.KindUser, alice.ID))), 0)
	eq(t, "carol's tokens untouched", len(must(db.ListTokens(ctx, store.KindUser, other.ID))), 1)
	_, err = db.RevokeUserAccess(ctx, 987654, false)
	wantErr(t, err, store.ErrNotFound)
}

// testAccountLinks: links are stored hashed, peeked without spending, spent once (also under
// concurrency), refused after expiry or for another kind, and deleted with their user.
func testAccountLinks(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	now := time.Now().UTC()
	secret := "s3cret-link-value-0123456789abcdef"
	l := must(db.CreateAccountLink(ctx, store.NewAccountLink{Plain: secret, Kind: store.LinkReset,
		Username: "alice", CreatedBy: "admin:root", ExpiresAt: now.Add(time.Hour)}))
	eq(t, "kind", l.Kind, store.LinkReset)
	eq(t, "user", l.Username, "alice")
	eq(t, "by", l.CreatedBy, "admin:root")
	if l.Used != nil || l.ExpiresAt.Sub(now.Add(time.Hour)).Abs() > time.Millisecond {
		t.Errorf("link = %+v", l)
	}

	if _, err := db.CreateAccountLink(ctx, store.NewAccountLink{Plain: "x", Kind: store.LinkReset, ExpiresAt: now}); err == nil {
		t.Error("a reset link without a username was stored")
	}
	if _, err := db.CreateAccountLink(ctx, store.NewAccountLink{Plain: "x", Kind: "bogus", ExpiresAt: now}); err == nil {
		t.Error("a link of an unknown kind was stored")
	}

	eq(t, "peek", must(db.PeekAccountLink(ctx, secret, store.LinkReset, now)).ID, l.ID)
	_, err := db.PeekAccountLink(ctx, secret, store.LinkInvite, now)
	wantErr(t, err, store.ErrNotFound)
	_, err = db.PeekAccountLink(ctx, secret, store.LinkReset, now.Add(2*time.Hour))
	wantErr(t, err, store.ErrNotFound)
	_, err = db.UseAccountLink(ctx, secret, store.LinkReset, now.Add(2*time.Hour))
	wantErr(t, err, store.ErrNotFound)
	_, err = db.PeekAccountLink(ctx, "wrong", store.LinkReset, now)
	wantErr(t, err, store.ErrNotFound)

	// Eight concurrent uses: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			if u, err := db.UseAccountLink(ctx, secret, store.LinkReset, now); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
				if u.Used == nil {
					t.Errorf("spent link without used time: %+v", u)
				}
			}
		})
	}
	wg.Wait()
	eq(t, "successful uses", wins, 1)
	_, err = db.PeekAccountLink(ctx, secret, store.LinkReset, now)
	wantErr(t, err, store.ErrNotFound)

	inv := must(db.CreateAccountLink(ctx, store.NewAccountLink{Plain: "invite-secret-0001", Kind: store.LinkInvite,
		ExpiresAt: now.Add(time.Hour)}))
	eq(t, "invite user", inv.Username, "")
	must(db.CreateAccountLink(ctx, store.NewAccountLink{Plain: "bob-reset-0001", Kind: store.LinkReset,
		Username: "bob", ExpiresAt: now.Add(time.Hour)}))
	must(db.CreateAccountLink(ctx, store.NewAccountLink{Plain: "bob-old-0001", Kind: store.LinkReset,
		Username: "bob", ExpiresAt: now.Add(-time.Minute)}))
	eq(t, "purged (spent + expired)", must(db.PurgeAccountLinks(ctx, now)), 2)
	ok(t, db.DeleteAccountLinksOf(ctx, "bob"))
	_, err = db.PeekAccountLink(ctx, "bob-reset-0001", store.LinkReset, now)
	wantErr(t, err, store.ErrNotFound)

	// Deleting a user deletes the links bound to the name.
	must(db.CreateUser(ctx, "dave", false))
	must(db.CreateAccountLink(ctx, store.NewAccountLink{Plain: "dave-reset-0001", Kind: store.LinkReset,
		Username: "dave", ExpiresAt: now.Add(time.Hour)}))
	ok(t, db.DeleteUser(ctx, "dave"))
	_, err = db.PeekAccountLink(ctx, "dave-reset-0001", store.LinkReset, now)
	wantErr(t, err, store.ErrNotFound)
	eq(t, "invite still there", must(db.PeekAccountLink(ctx, "invite-secret-0001", store.LinkInvite, now)).ID, inv.ID)

	// Invitations are claimed once, for a name, and remembered.
	_, err = db.ClaimInvite(ctx, "invite-secret-0001", "erin", now.Add(2*time.Hour))
	wantErr(t, err, store.ErrNotFound) // expired by then
	c := must(db.ClaimInvite(ctx, "invite-secret-0001", "erin", now))
	eq(t, "claimed for", c.Username, "erin")
	_, err = db.ClaimInvite(ctx, "invite-secret-0001", "frank", now)
	wantErr(t, err, store.ErrNotFound)
	_, err = db.ClaimInvite(ctx, "bob-reset-0001", "frank", now) // not an invitation (and gone)
	wantErr(t, err, store.ErrNotFound)
	eqList(t, "invited", must(db.InvitedUserNames(ctx)), []string{"erin"})
	eq(t, "purge keeps spent invitations", must(db.PurgeAccountLinks(ctx, now)), 0)
	eqList(t, "invited after purge", must(db.InvitedUserNames(ctx)), []string{"erin"})
	must(db.CreateUser(ctx, "erin", false))
	ok(t, db.DeleteUser(ctx, "erin"))
	eqList(t, "invited after deleting erin", must(db.InvitedUserNames(ctx)), []string{})
}
