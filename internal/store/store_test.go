package store_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gohub/internal/store"
	"gohub/internal/store/storetest"
	"gohub/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.StopPostgres()
	os.Exit(code)
}

// openSQLite opens a fresh SQLite file in the test's temp dir.
func openSQLite(t *testing.T) *store.DB {
	t.Helper()
	url := "sqlite:///" + filepath.Join(t.TempDir(), "jupyterhub.sqlite")
	db, err := store.Open(t.Context(), url, store.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgres opens a fresh database in the test binary's PostgreSQL cluster.
func openPostgres(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), testutil.StartPostgres(t), store.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openSQLite)
}

// TestSQLiteMemory runs the suite on sqlite:///:memory:, whose single connection also proves
// no method queries outside its own transaction (that would deadlock).
func TestSQLiteMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) *store.DB {
		db, err := store.Open(t.Context(), "sqlite:///:memory:", store.Options{Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openPostgres)
}

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	lite, err := store.MigrationVersions(store.DialectSQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := store.MigrationVersions(store.DialectPostgres)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(lite, pg) || len(lite) == 0 {
		t.Fatalf("sqlite migrations %v, postgres %v", lite, pg)
	}
	if lite[len(lite)-1] != store.LatestVersion() {
		t.Fatalf("LatestVersion %d, last migration %d", store.LatestVersion(), lite[len(lite)-1])
	}
}

func TestOpenURLs(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	t.Chdir(dir)
	for _, url := range []string{
		"sqlite:///:memory:",
		"sqlite://",
		"sqlite:///relative.sqlite",
		"sqlite:///" + filepath.Join(dir, "abs odd#name%.sqlite"), // sqlite:////abs/path
	} {
		db, err := store.Open(ctx, url, store.Options{})
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if _, err := db.CreateUser(ctx, "alice", false); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if _, err := db.GetUser(ctx, "alice"); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		db.Close()
	}
	for _, f := range []string{"relative.sqlite", "abs odd#name%.sqlite"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("database file %s: %v", f, err)
		}
	}
	for _, bad := range []string{"mysql://x", "sqlite:///", "jupyterhub.sqlite"} {
		if db, err := store.Open(ctx, bad, store.Options{}); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

// TestMemoryIsOneDatabase: every connection of a :memory: database must see the same data.
func TestMemoryIsOneDatabase(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, "sqlite:///:memory:", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.CreateUser(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() { _, err := db.GetUser(ctx, "alice"); errs <- err }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
