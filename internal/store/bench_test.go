package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"gohub/internal/store"
	"gohub/internal/testutil"
)

// benchToken is the i-th benchmark token: 32 hex characters like a generated token, so
// prefixes spread as they do in a real database.
func benchToken(i int) string {
	sum := sha256.Sum256([]byte(strconv.Itoa(i)))
	return hex.EncodeToString(sum[:16])
}

// benchDB fills a SQLite file with n users, each in two of ten groups, bound to the user role,
// with a running default server and one API token benchToken(i).
func benchDB(b *testing.B, n int) *store.DB {
	return benchDBAt(b, n, "sqlite:///"+filepath.Join(b.TempDir(), "bench.sqlite"))
}

func benchDBAt(b *testing.B, n int, url string) *store.DB {
	b.Helper()
	ctx := b.Context()
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.UpsertRole(ctx, store.Role{Name: "user", Scopes: []string{"self"}}); err != nil {
		b.Fatal(err)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("user%05d", i)
	}
	users, err := db.CreateUsers(ctx, names, false)
	if err != nil {
		b.Fatal(err)
	}
	var groups []string
	for g := range 10 {
		groups = append(groups, fmt.Sprintf("group%d", g))
	}
	if _, err := db.CreateGroups(ctx, groups, nil); err != nil {
		b.Fatal(err)
	}
	for g, name := range groups {
		var members []string
		for i := g % 5; i < n; i += 5 {
			members = append(members, names[i])
		}
		if _, err := db.AddGroupMembers(ctx, name, members); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now()
	for i, u := range users {
		sp, err := db.EnsureSpawner(ctx, u.ID, "")
		if err != nil {
			b.Fatal(err)
		}
		if err := db.SetSpawnerServer(ctx, sp.ID, &store.Server{IP: "127.0.0.1", Port: 10000 + i}); err != nil {
			b.Fatal(err)
		}
		if err := db.TouchUser(ctx, u.ID, now.Add(-time.Duration(i)*time.Second)); err != nil {
			b.Fatal(err)
		}
		if _, err := db.CreateToken(ctx, store.NewToken{Plain: benchToken(i),
			UserID: &u.ID}); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

func BenchmarkGetUser(b *testing.B) { benchGetUser(b, benchDB(b, 1000)) }

// BenchmarkGetUserPostgres is BenchmarkGetUser against the test PostgreSQL cluster.
func BenchmarkGetUserPostgres(b *testing.B) {
	benchGetUser(b, benchDBAt(b, 1000, testutil.StartPostgres(b)))
}

func benchGetUser(b *testing.B, db *store.DB) {
	ctx := b.Context()
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			u, err := db.GetUser(ctx, fmt.Sprintf("user%05d", i%1000))
			if err != nil || len(u.Groups) != 2 || len(u.Spawners) != 1 {
				b.Fatal(u, err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := db.GetUser(ctx, "user00042"); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

func BenchmarkListUsers200(b *testing.B) {
	db := benchDB(b, 1200)
	ctx := b.Context()
	for b.Loop() {
		users, total, err := db.ListUsers(ctx, store.UserQuery{Offset: 400, Limit: 200, Sort: "-last_activity"})
		if err != nil || len(users) != 200 || total != 1200 {
			b.Fatal(len(users), total, err)
		}
	}
}

func BenchmarkLookupToken(b *testing.B) {
	db := benchDB(b, 1000)
	ctx := b.Context()
	now := time.Now()
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			tok, err := db.LookupToken(ctx, benchToken(i%1000), now)
			if err != nil || tok.OwnerName == "" {
				b.Fatal(tok, err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := db.LookupToken(ctx, benchToken(42), now); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

func BenchmarkRolesOf(b *testing.B) {
	db := benchDB(b, 100)
	ctx := b.Context()
	u, err := db.GetUser(ctx, "user00042")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := db.RolesOf(ctx, store.KindUser, u.ID); err != nil {
			b.Fatal(err)
		}
	}
}
