package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"gohub/internal/store"
)

func testPasswords(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	if _, err := db.GetPasswordHash(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPasswordHash(missing) = %v, want ErrNotFound", err)
	}
	must(0, db.CreatePasswordHash(ctx, "alice", "$2b$12$first"))
	if err := db.CreatePasswordHash(ctx, "alice", "$2b$12$other"); !errors.Is(err, store.ErrExists) {
		t.Errorf("second CreatePasswordHash = %v, want ErrExists", err)
	}
	eq(t, "hash", must(db.GetPasswordHash(ctx, "alice")), "$2b$12$first")
	// Names are exact: no case folding by the store.
	if _, err := db.GetPasswordHash(ctx, "Alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPasswordHash(Alice) = %v, want ErrNotFound", err)
	}
	must(0, db.SetPasswordHash(ctx, "alice", "$argon2id$v=19$second"))
	eq(t, "hash after set", must(db.GetPasswordHash(ctx, "alice")), "$argon2id$v=19$second")
	must(0, db.SetPasswordHash(ctx, "bob", "$2b$12$bob"))

	eq(t, "swap with a stale old hash", must(db.UpdatePasswordHash(ctx, "alice", "$2b$12$first", "x")), false)
	eq(t, "swap", must(db.UpdatePasswordHash(ctx, "alice", "$argon2id$v=19$second", "$2b$12$third")), true)
	eq(t, "hash after swap", must(db.GetPasswordHash(ctx, "alice")), "$2b$12$third")

	must(0, db.SetPasswordHash(ctx, "Carol", "$2b$12$carol"))
	if err := db.RenamePasswordHash(ctx, "Carol", "bob"); !errors.Is(err, store.ErrExists) {
		t.Errorf("RenamePasswordHash onto a taken name = %v, want ErrExists", err)
	}
	must(0, db.RenamePasswordHash(ctx, "Carol", "carol"))
	if err := db.RenamePasswordHash(ctx, "nobody", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RenamePasswordHash(missing) = %v", err)
	}
	eqList(t, "names", must(db.PasswordUsernames(ctx)), []string{"alice", "bob", "carol"})

	must(0, db.DeletePasswordHash(ctx, "bob"))
	if err := db.DeletePasswordHash(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeletePasswordHash = %v", err)
	}

	// Deleting the hub user deletes the password, so the name can be claimed again.
	must(db.CreateUser(ctx, "carol", false))
	must(0, db.DeleteUser(ctx, "carol"))
	if _, err := db.GetPasswordHash(ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("password survived DeleteUser: %v", err)
	}

	// Concurrent first uses: exactly one wins.
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Go(func() { results[i] = db.CreatePasswordHash(ctx, "race", "h") })
	}
	wg.Wait()
	won := slices.IndexFunc(results, func(err error) bool { return err == nil })
	for i, err := range results {
		if i != won && !errors.Is(err, store.ErrExists) {
			t.Errorf("racing CreatePasswordHash %d = %v", i, err)
		}
	}
	if won < 0 {
		t.Error("no racing CreatePasswordHash won")
	}
}
