package firstuse_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"gohub/internal/auth/authtest"
	"gohub/internal/auth/firstuse"
	"gohub/internal/store"
)

// needPython skips (or under CI=true fails) without python3.
func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is needed to write dbm files (CI=true)")
		}
		t.Skip("python3 is needed to write dbm files")
	}
}

// pythonWith returns an interpreter that has the dbm flavour's module; without one the test is
// skipped, or fails under CI=true (Debian: python3-gdbm for dbm.gnu).
func pythonWith(t *testing.T, flavour string) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import "+flavour).Run() == nil {
			return py
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no python3 with %s (CI=true; Debian package python3-gdbm for dbm.gnu)", flavour)
	}
	t.Skipf("no python3 with %s", flavour)
	return ""
}

// writeDBM writes entries with Python's dbm module of the given flavour (dbm.dumb, dbm.gnu, …),
// exactly as FirstUseAuthenticator does (keys and values encoded as UTF-8).
func writeDBM(t *testing.T, flavour, path string, entries map[string]string) {
	t.Helper()
	py := pythonWith(t, flavour)
	data, _ := json.Marshal(entries)
	script := `import json, sys, importlib
mod = importlib.import_module(sys.argv[1])
with mod.open(sys.argv[2], "c") as d:
    for k, v in json.loads(sys.argv[3]).items():
        d[k.encode("utf8")] = v.encode("utf8")
`
	if out, err := exec.Command(py, "-c", script, flavour, path, string(data)).CombinedOutput(); err != nil {
		t.Fatalf("write %s: %v: %s", flavour, err, out)
	}
}

func bcryptHash(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	if err != nil {
		t.Fatal(err)
	}
	// Python's bcrypt writes $2b$; the algorithm is the same.
	return "$2b$" + string(h[4:])
}

func TestImportDBM(t *testing.T) {
	needPython(t)
	for _, flavour := range []string{"dbm.dumb", "dbm.gnu", "dbm.ndbm"} {
		t.Run(flavour, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "passwords.dbm")
			writeDBM(t, flavour, path, map[string]string{
				"alice":    bcryptHash(t, "alice-password"),
				"émile":    bcryptHash(t, "émile-password"),
				"Bob":      bcryptHash(t, "bob-password"), // pre-1.0 un-normalised key
				"it's\"me": bcryptHash(t, "quote-password"),
				"carol":    "not a hash",
				// Names that cannot be hub usernames (hidden or ASCII-lookalike characters).
				"ad\u200bmin": bcryptHash(t, "zw-password"),
				"root\n":      bcryptHash(t, "nl-password"),
				"\uff41dmin":  bcryptHash(t, "fw-password"),
			})
			got, err := firstuse.ReadDBM(context.Background(), path, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 8 || !strings.HasPrefix(got["émile"], "$2b$04$") {
				t.Fatalf("ReadDBM = %q", got)
			}

			a, cfg := newAuth(t, nil)
			h := authtest.New(t, a, cfg.Config.Config, authtest.Options{})
			if err := h.DB.SetPasswordHash(t.Context(), "dave", bcryptHash(t, "dave-password")); err != nil {
				t.Fatal(err)
			}
			rep, err := firstuse.ImportDBM(t.Context(), h.DB, path, firstuse.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(rep.Imported)
			slices.Sort(rep.Invalid)
			wantInvalid := []string{"ad\u200bmin", "carol", "root\n", "\uff41dmin"}
			if want := []string{"alice", "bob", "it's\"me", "émile"}; !slices.Equal(rep.Imported, want) || !slices.Equal(rep.Invalid, wantInvalid) {
				t.Errorf("report %+q, want imported %q and invalid %q", rep, want, wantInvalid)
			}
			// The hashes are unchanged, so the old passwords work through the login page.
			for name, pw := range map[string]string{"alice": "alice-password", "émile": "émile-password", "Bob": "bob-password"} {
				if r := h.Browser().Login(name, pw); r.Status != 302 {
					t.Errorf("login %s after import: %d", name, r.Status)
				}
			}
			if r := h.Browser().Login("alice", "wrong-password"); r.Status != 403 {
				t.Errorf("wrong password after import: %d", r.Status)
			}
			// The imported hashes were cost 4 $2b$; a login leaves a fresh hash of the configured
			// cost (also 4 here, so the version prefix shows the upgrade did not happen needlessly).
			if hash, _ := h.DB.GetPasswordHash(t.Context(), "alice"); !strings.HasPrefix(hash, "$2b$04$") {
				t.Errorf("hash of equal cost was rewritten: %.7s", hash)
			}
			// Importing again keeps what is there.
			rep, _ = firstuse.ImportDBM(t.Context(), h.DB, path, firstuse.ImportOptions{})
			if len(rep.Imported) != 0 || len(rep.Kept) != 4 {
				t.Errorf("second import %+v", rep)
			}
		})
	}
}

func TestImportMissingFile(t *testing.T) {
	needPython(t)
	if _, err := firstuse.ReadDBM(context.Background(), filepath.Join(t.TempDir(), "nope.dbm"), ""); err == nil {
		t.Error("ReadDBM of a missing file succeeded")
	}
}

func TestStartupNormalisesStoredNames(t *testing.T) {
	path := authtest.DBFile(t)
	a, cfg := newAuth(t, nil)
	h := authtest.New(t, a, cfg.Config.Config, authtest.Options{DBPath: path})
	for name, pw := range map[string]string{"Zed": "zed-password", "Yan": "yan-1-password", "yan": "yan-2-password"} {
		if err := h.DB.SetPasswordHash(t.Context(), name, bcryptHash(t, pw)); err != nil {
			t.Fatal(err)
		}
	}
	h.DB.Close()
	a2, _ := newAuth(t, nil)
	h2 := authtest.New(t, a2, cfg.Config.Config, authtest.Options{DBPath: path})
	names, _ := h2.DB.PasswordUsernames(t.Context())
	if want := []string{"Yan", "yan", "zed"}; !slices.Equal(names, want) {
		t.Errorf("stored names after the startup check = %q, want %q", names, want)
	}
	if r := h2.Browser().Login("zed", "zed-password"); r.Status != 302 {
		t.Errorf("moved password: %d", r.Status)
	}
	if r := h2.Browser().Login("yan", "yan-2-password"); r.Status != 302 {
		t.Errorf("normalised entry kept on collision: %d", r.Status)
	}
}

// The attack on a hub moved from FirstUseAuthenticator: its passwords.dbm (dbm_path) holds
// alice, and a stranger logs in as alice with a new password before anyone imported it. The
// hub imports the dbm at start, so the stranger is refused and alice keeps her password; a
// password the database already has (changed since) is kept; a name not in the dbm is still
// free to claim.
func TestStartImportsDBMPath(t *testing.T) {
	needPython(t)
	for _, flavour := range []string{"dbm.dumb", "dbm.gnu"} {
		t.Run(flavour, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "passwords.dbm")
			writeDBM(t, flavour, path, map[string]string{
				"alice": bcryptHash(t, "alice-password"),
				"bob":   bcryptHash(t, "bob-old-password"),
			})
			dbPath := authtest.DBFile(t)
			db, err := store.Open(t.Context(), "sqlite:///"+dbPath, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.CreatePasswordHash(t.Context(), "bob", bcryptHash(t, "bob-new-password")); err != nil {
				t.Fatal(err)
			}
			db.Close()
			h := newHub(t, func(c *firstuse.Config) { c.DBMPath = path }, authtest.Options{DBPath: dbPath})
			if r := h.Browser().Login("alice", "stranger-password"); r.Status == 302 {
				t.Fatal("a stranger claimed alice, whose password is in dbm_path")
			}
			for _, c := range []struct {
				name, pw string
				want     int
			}{{"alice", "alice-password", 302}, {"bob", "bob-new-password", 302}, {"bob", "bob-old-password", 403}, {"carol", "carol-password", 302}} {
				if r := h.Browser().Login(c.name, c.pw); r.Status != c.want {
					t.Errorf("%s with %s: %d, want %d", c.name, c.pw, r.Status, c.want)
				}
			}
		})
	}
}

// A dbm_path that exists but cannot be read stops the start with an error naming it, rather
// than leaving its accounts open to the first claimant; an empty dbm_path reads nothing.
func TestStartRefusesUnreadableDBMPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwords.dbm")
	if err := os.WriteFile(path, []byte("not a dbm database"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.Context(), "sqlite:///"+authtest.DBFile(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, _ := newAuth(t, func(c *firstuse.Config) { c.DBMPath = path })
	if err := a.UseDatabase(t.Context(), db); err == nil || !strings.Contains(err.Error(), "dbm_path") {
		t.Errorf("UseDatabase: %v", err)
	}
	a, _ = newAuth(t, func(c *firstuse.Config) { c.DBMPath = "" })
	if err := a.UseDatabase(t.Context(), db); err != nil {
		t.Errorf("empty dbm_path: %v", err)
	}
}
