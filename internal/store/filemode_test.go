package store_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"gohub/internal/store"
)

// modes returns the permission bits of the database and its side files that exist.
func modes(t *testing.T, path string) map[string]os.FileMode {
	t.Helper()
	out := map[string]os.FileMode{}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if fi, err := os.Stat(p); err == nil {
			out[filepath.Base(p)] = fi.Mode().Perm()
		}
	}
	return out
}

// A new SQLite database and its -wal and -shm files are readable by the hub's user only, even
// under a permissive umask: they hold password hashes and 2FA secrets.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "hub.sqlite")
	db, err := store.Open(t.Context(), "sqlite:///"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.CreateUser(t.Context(), "alice", false); err != nil {
		t.Fatal(err)
	}
	got := modes(t, path)
	if _, ok := got["hub.sqlite-wal"]; !ok {
		t.Fatalf("no -wal file to check: %v", got)
	}
	for f, m := range got {
		if m != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", f, m)
		}
	}
}

// An existing database that others can read (a hub created before this check) is made
// private at startup, with its side files, and the log says so.
func TestSQLiteExistingFilesTightened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.sqlite")
	db, err := store.Open(t.Context(), "sqlite:///"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(t.Context(), "alice", false); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	db2, err := store.Open(t.Context(), "sqlite:///"+path, store.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	db.Close()
	for f, m := range modes(t, path) {
		if m != 0o600 {
			t.Errorf("%s has mode %04o after reopening, want 0600", f, m)
		}
	}
	if !strings.Contains(logs.String(), "readable by other users") || !strings.Contains(logs.String(), "was=0644") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
	if u, err := db2.GetUser(t.Context(), "alice"); err != nil || u.Name != "alice" {
		t.Errorf("data lost: %v %v", u, err)
	}
}
