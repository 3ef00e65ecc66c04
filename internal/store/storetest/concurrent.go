package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"gohub/internal/store"
)

// testConcurrent runs writers and readers at once: every write must succeed (SQLite waits for
// its write lock instead of failing with "database is locked") and no write may be lost.
func testConcurrent(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	must(db.CreateGroups(ctx, []string{"all"}, nil))
	const workers, each = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*6)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("w%d-u%d", w, i)
				u, err := db.CreateUser(ctx, name, i%2 == 0)
				if err != nil {
					errs <- err
					continue
				}
				if _, err := db.AddGroupMembers(ctx, "all", []string{name}); err != nil {
					errs <- err
				}
				if _, err := db.CreateToken(ctx, store.NewToken{Plain: "tok-" + name + "-xxxxxxxx", UserID: &u.ID}); err != nil {
					errs <- err
				}
				if err := db.TouchUser(ctx, u.ID, time.Now()); err != nil {
					errs <- err
				}
				if _, err := db.LookupToken(ctx, "tok-"+name+"-xxxxxxxx", time.Now()); err != nil {
					errs <- err
				}
				if _, _, err := db.ListUsers(ctx, store.UserQuery{Limit: 5}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	_, total, err := db.ListUsers(ctx, store.UserQuery{})
	ok(t, err)
	eq(t, "users", total, workers*each)
	eq(t, "group members", len(must(db.GetGroup(ctx, "all")).Users), workers*each)
}
