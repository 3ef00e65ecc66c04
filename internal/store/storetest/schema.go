package storetest

import (
	"strings"
	"testing"

	"gohub/internal/store"
)

func testSchema(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	if store.LatestVersion() < 1 {
		t.Fatalf("LatestVersion = %d", store.LatestVersion())
	}
	eq(t, "Version", must(db.Version(ctx)), store.LatestVersion())
	if d := db.Dialect(); d != store.DialectSQLite && d != store.DialectPostgres {
		t.Errorf("Dialect = %q", d)
	}
	c := must(db.GetOAuthClient(ctx, "jupyterhub"))
	eq(t, "jupyterhub client description", c.Description, "JupyterHub")
	eq(t, "jupyterhub client secret", c.Secret, "")
	if err := db.DeleteOAuthClient(ctx, "jupyterhub"); err == nil {
		t.Error("deleting the jupyterhub client succeeded")
	}
}

func testReopen(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	skipInMemory(t, db)
	u := must(db.CreateUser(ctx, "alice", false))
	must(db.CreateGroups(ctx, []string{"g"}, []string{"alice"}))
	must(db.CreateToken(ctx, store.NewToken{Plain: "reopen-token-1234", UserID: &u.ID}))
	ok(t, db.Close())

	db2, err := store.Open(ctx, db.URL(), store.Options{})
	ok(t, err)
	defer db2.Close()
	got := must(db2.GetUser(ctx, "alice"))
	eq(t, "cookie id after reopen", got.CookieID, u.CookieID)
	eqList(t, "groups after reopen", got.Groups, []string{"g"})
	tok := must(db2.LookupToken(ctx, "reopen-token-1234", at(0)))
	eq(t, "token owner after reopen", tok.OwnerName, "alice")
	must(db2.GetOAuthClient(ctx, "jupyterhub"))
}

func testTooNew(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	skipInMemory(t, db)
	must(db.CreateUser(ctx, "alice", false))
	ok(t, db.MarkVersion(ctx, store.LatestVersion()+1))
	ok(t, db.Close())
	for _, upgrade := range []bool{false, true} {
		db2, err := store.Open(ctx, db.URL(), store.Options{Upgrade: upgrade})
		if err == nil {
			db2.Close()
		}
		wantErr(t, err, store.ErrTooNew)
	}
}

func testPending(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	skipInMemory(t, db)
	must(db.CreateUser(ctx, "alice", false))
	ok(t, db.ForgetVersion(ctx, store.LatestVersion()))
	ok(t, db.Close())
	db2, err := store.Open(ctx, db.URL(), store.Options{})
	if err == nil {
		db2.Close()
	}
	wantErr(t, err, store.ErrPending)
}

// skipInMemory skips tests that reopen the database: an in-memory one is gone once closed.
func skipInMemory(t *testing.T, db *store.DB) {
	if u := db.URL(); u == "sqlite://" || strings.HasSuffix(u, ":memory:") {
		t.Skip("an in-memory database cannot be reopened")
	}
}
