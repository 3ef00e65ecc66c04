package storetest

import (
	"strings"
	"testing"
	"time"

	"gohub/internal/store"
)

func testTokens(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	u := must(db.CreateUser(ctx, "alice", false))
	other := must(db.CreateUser(ctx, "bob", false))
	exp := at(24 * time.Hour)
	tok := must(db.CreateToken(ctx, store.NewToken{
		Plain: "abcd1234efgh5678", Rounds: 1, UserID: &u.ID, SessionID: "sess",
		ExpiresAt: &exp, Note: "Requested via api", Scopes: []string{"read:users!user=alice"},
	}))
	if !strings.HasPrefix(tok.Hashed, "sha512:1:") || strings.Contains(tok.Hashed, "abcd1234efgh5678") {
		t.Errorf("hashed = %q", tok.Hashed)
	}
	eq(t, "prefix", tok.Prefix, "abcd")
	eq(t, "owner", tok.OwnerName, "alice")
	eq(t, "client", tok.ClientID, "jupyterhub")
	eq(t, "session", tok.SessionID, "sess")
	eq(t, "note", tok.Note, "Requested via api")
	eqList(t, "scopes", tok.Scopes, []string{"read:users!user=alice"})
	if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(exp) || tok.LastActivity != nil || tok.ServiceID != nil {
		t.Errorf("token = %+v", tok)
	}
	if tok.UserID == nil || *tok.UserID != u.ID {
		t.Errorf("user id = %v", tok.UserID)
	}

	got := must(db.LookupToken(ctx, "abcd1234efgh5678", at(0)))
	eq(t, "lookup id", got.ID, tok.ID)
	eq(t, "lookup owner", got.OwnerName, "alice")
	// Same prefix, different token; and a token from another user with the same prefix.
	must(db.CreateToken(ctx, store.NewToken{Plain: "abcdXXXXXXXXXXXX", UserID: &other.ID}))
	_, err := db.LookupToken(ctx, "abcd1234efgh5679", at(0))
	wantErr(t, err, store.ErrNotFound)
	eq(t, "other owner", must(db.LookupToken(ctx, "abcdXXXXXXXXXXXX", at(0))).OwnerName, "bob")
	for _, bad := range []string{"", "abc", "zzzz1234efgh5678"} {
		_, err = db.LookupToken(ctx, bad, at(0))
		wantErr(t, err, store.ErrNotFound)
	}

	// Same plaintext again is a collision, whatever the owner or rounds.
	_, err = db.CreateToken(ctx, store.NewToken{Plain: "abcd1234efgh5678", Rounds: 16384, UserID: &other.ID})
	wantErr(t, err, store.ErrExists)
	if _, err := db.CreateToken(ctx, store.NewToken{Plain: "short", UserID: &u.ID}); err == nil {
		t.Error("short token accepted")
	}
	if _, err := db.CreateToken(ctx, store.NewToken{Plain: "no-owner-token"}); err == nil {
		t.Error("token without owner accepted")
	}
	if _, err := db.CreateToken(ctx, store.NewToken{Plain: "two-owner-token", UserID: &u.ID, ServiceID: &u.ID}); err == nil {
		t.Error("token with two owners accepted")
	}
	missing := int64(987654)
	_, err = db.CreateToken(ctx, store.NewToken{Plain: "ghost-owner-token", UserID: &missing})
	wantErr(t, err, store.ErrNotFound)
	_, err = db.CreateToken(ctx, store.NewToken{Plain: "ghost-client-token", UserID: &u.ID, ClientID: "nope"})
	wantErr(t, err, store.ErrNotFound)

	// Touch moves forward only; list orders never-used first, then by last activity.
	t2 := must(db.CreateToken(ctx, store.NewToken{Plain: "second-token-of-alice", UserID: &u.ID}))
	t3 := must(db.CreateToken(ctx, store.NewToken{Plain: "third-token-of-alice", UserID: &u.ID}))
	ok(t, db.TouchToken(ctx, t2.ID, at(time.Hour)))
	ok(t, db.TouchToken(ctx, t2.ID, at(0)))
	ok(t, db.TouchToken(ctx, tok.ID, at(time.Minute)))
	if la := must(db.GetToken(ctx, t2.ID)).LastActivity; la == nil || !la.Equal(at(time.Hour)) {
		t.Errorf("last activity = %v", la)
	}
	wantErr(t, db.TouchToken(ctx, missing, at(0)), store.ErrNotFound)
	list := must(db.ListTokens(ctx, store.KindUser, u.ID))
	var ids []int64
	for _, x := range list {
		ids = append(ids, x.ID)
		eq(t, "listed owner", x.OwnerName, "alice")
	}
	if len(ids) != 3 || ids[0] != t3.ID || ids[1] != tok.ID || ids[2] != t2.ID {
		t.Errorf("ListTokens ids = %v, want [%d %d %d]", ids, t3.ID, tok.ID, t2.ID)
	}
	eq(t, "service tokens", len(must(db.ListTokens(ctx, store.KindService, u.ID))), 0)
	_, err = db.GetToken(ctx, missing)
	wantErr(t, err, store.ErrNotFound)
}

func testTokenExpiry(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	u := must(db.CreateUser(ctx, "alice", false))
	past, future := at(-time.Second), at(time.Hour)
	expired := must(db.CreateToken(ctx, store.NewToken{Plain: "expired-token-1", UserID: &u.ID, ExpiresAt: &past}))
	must(db.CreateToken(ctx, store.NewToken{Plain: "valid-token-1", UserID: &u.ID, ExpiresAt: &future}))
	must(db.CreateToken(ctx, store.NewToken{Plain: "forever-token-1", UserID: &u.ID}))

	_, err := db.LookupToken(ctx, "expired-token-1", at(0))
	wantErr(t, err, store.ErrNotFound)
	must(db.LookupToken(ctx, "valid-token-1", at(0)))
	_, err = db.LookupToken(ctx, "valid-token-1", at(2*time.Hour))
	wantErr(t, err, store.ErrNotFound)
	must(db.GetToken(ctx, expired.ID)) // still there until purged

	n := must(db.PurgeExpiredTokens(ctx, at(0)))
	eq(t, "purged", n, 1)
	_, err = db.GetToken(ctx, expired.ID)
	wantErr(t, err, store.ErrNotFound)
	eq(t, "left", len(must(db.ListTokens(ctx, store.KindUser, u.ID))), 2)
}

func testTokenDeletes(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	u := must(db.CreateUser(ctx, "alice", false))
	b := must(db.CreateUser(ctx, "bob", false))
	must(db.UpsertOAuthClient(ctx, store.OAuthClient{Identifier: "jupyterhub-user-alice"}))
	mk := func(plain string, owner int64, client, session string) *store.Token {
		return must(db.CreateToken(ctx, store.NewToken{Plain: plain, UserID: &owner, ClientID: client, SessionID: session}))
	}
	api := mk("api-token-alice", u.ID, "", "s1")
	mk("oauth-token-1-alice", u.ID, "jupyterhub-user-alice", "s1")
	mk("oauth-token-2-alice", u.ID, "jupyterhub-user-alice", "s2")
	bobs := mk("oauth-token-bob", b.ID, "jupyterhub-user-alice", "s1")

	ok(t, db.DeleteTokensOfClient(ctx, u.ID, "jupyterhub-user-alice"))
	eq(t, "alice tokens", len(must(db.ListTokens(ctx, store.KindUser, u.ID))), 1)
	must(db.GetToken(ctx, bobs.ID))

	ok(t, db.DeleteTokensOfSession(ctx, u.ID, "s1"))
	_, err := db.GetToken(ctx, api.ID)
	wantErr(t, err, store.ErrNotFound)
	must(db.GetToken(ctx, bobs.ID))

	other := mk("another-api-token", u.ID, "", "")
	ok(t, db.DeleteToken(ctx, other.ID))
	wantErr(t, db.DeleteToken(ctx, other.ID), store.ErrNotFound)

	// Deleting the client takes its tokens.
	ok(t, db.DeleteOAuthClient(ctx, "jupyterhub-user-alice"))
	_, err = db.GetToken(ctx, bobs.ID)
	wantErr(t, err, store.ErrNotFound)
}
