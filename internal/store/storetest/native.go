package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"gohub/internal/store"
)

func testNativeUsers(t *testing.T, open func(t *testing.T) *store.DB) {
	db, ctx := open(t), context.Background()
	if _, err := db.GetNativeUser(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetNativeUser(missing) = %v, want ErrNotFound", err)
	}
	ok(t, db.CreateNativeUser(ctx, store.NativeUser{Username: "alice", Hash: "$2b$12$a", Email: "a@example.org", Has2FA: true, OTPSecret: "JBSWY3DPEHPK3PXP"}))
	wantErr(t, db.CreateNativeUser(ctx, store.NativeUser{Username: "alice", Hash: "x"}), store.ErrExists)
	wantErr(t, db.CreateNativeUser(ctx, store.NativeUser{Username: "ALICE", Hash: "x"}), store.ErrExists)
	eq(t, "taken ALIce", must(db.NativeNameTaken(ctx, "ALIce")), true)
	eq(t, "taken bob", must(db.NativeNameTaken(ctx, "bob")), false)

	u := must(db.GetNativeUser(ctx, "alice"))
	eq(t, "hash", u.Hash, "$2b$12$a")
	eq(t, "email", u.Email, "a@example.org")
	eq(t, "authorized", u.Authorized, false)
	eq(t, "2fa", u.Has2FA, true)
	eq(t, "secret", u.OTPSecret, "JBSWY3DPEHPK3PXP")
	if u.Created.IsZero() {
		t.Error("created not set")
	}

	ok(t, db.SetNativeAuthorized(ctx, "alice", true))
	eq(t, "authorized after set", must(db.GetNativeUser(ctx, "alice")).Authorized, true)
	ok(t, db.SetNativeAuthorized(ctx, "alice", false))
	eq(t, "authorized after unset", must(db.GetNativeUser(ctx, "alice")).Authorized, false)
	wantErr(t, db.SetNativeAuthorized(ctx, "nobody", true), store.ErrNotFound)
	ok(t, db.SetNativePassword(ctx, "alice", "$2b$12$new"))
	eq(t, "hash after set", must(db.GetNativeUser(ctx, "alice")).Hash, "$2b$12$new")
	wantErr(t, db.SetNativePassword(ctx, "nobody", "h"), store.ErrNotFound)

	// Discard removes the sign-up and the hub user, and leaves others alone.
	must(db.CreateUser(ctx, "alice", false))
	must(db.CreateUser(ctx, "bob", false))
	ok(t, db.CreateNativeUser(ctx, store.NativeUser{Username: "bob", Hash: "h"}))
	ok(t, db.DiscardNativeUser(ctx, "alice"))
	wantErr(t, func() error { _, err := db.GetNativeUser(ctx, "alice"); return err }(), store.ErrNotFound)
	wantErr(t, func() error { _, err := db.GetUser(ctx, "alice"); return err }(), store.ErrNotFound)
	must(db.GetUser(ctx, "bob"))
	must(db.GetNativeUser(ctx, "bob"))
	wantErr(t, db.DiscardNativeUser(ctx, "alice"), store.ErrNotFound)
	// A sign-up without a hub user can be discarded too.
	ok(t, db.CreateNativeUser(ctx, store.NativeUser{Username: "carol", Hash: "h"}))
	ok(t, db.DiscardNativeUser(ctx, "carol"))
	ok(t, db.DeleteNativeUser(ctx, "bob"))
	wantErr(t, db.DeleteNativeUser(ctx, "bob"), store.ErrNotFound)
	must(db.GetUser(ctx, "bob"))
}

func testNativeList(t *testing.T, open func(t *testing.T) *store.DB) {
	db, ctx := open(t), context.Background()
	for i := range 25 {
		ok(t, db.CreateNativeUser(ctx, store.NativeUser{Username: fmt.Sprintf("user%02d", i), Hash: "h", Authorized: i%2 == 0}))
	}
	ok(t, db.CreateNativeUser(ctx, store.NativeUser{Username: "x_y%z", Hash: "h"}))
	page, total := must2(db.ListNativeUsers(ctx, store.NativeListOptions{Limit: 10}))
	eq(t, "total", total, 26)
	eq(t, "page length", len(page), 10)
	eq(t, "first", page[0].Username, "user00")
	page, _ = must2(db.ListNativeUsers(ctx, store.NativeListOptions{Limit: 10, Offset: 20}))
	eq(t, "last page", len(page), 6)
	eq(t, "last", page[5].Username, "x_y%z")
	page, total = must2(db.ListNativeUsers(ctx, store.NativeListOptions{Search: "USER1"}))
	eq(t, "search total", total, 10)
	eq(t, "search first", page[0].Username, "user10")
	_, total = must2(db.ListNativeUsers(ctx, store.NativeListOptions{State: "authorized"}))
	eq(t, "authorized", total, 13)
	_, total = must2(db.ListNativeUsers(ctx, store.NativeListOptions{State: "unauthorized", Search: "user"}))
	eq(t, "unauthorized", total, 12)
	// LIKE wildcards in the search are literal.
	_, total = must2(db.ListNativeUsers(ctx, store.NativeListOptions{Search: "_"}))
	eq(t, "underscore", total, 1)
	_, total = must2(db.ListNativeUsers(ctx, store.NativeListOptions{Search: "%"}))
	eq(t, "percent", total, 1)
	if _, _, err := db.ListNativeUsers(ctx, store.NativeListOptions{State: "bogus"}); err == nil {
		t.Error("unknown state accepted")
	}
}

// must2 is must for two results.
func must2[A, B any](a A, b B, err error) (A, B) {
	must(0, err)
	return a, b
}
