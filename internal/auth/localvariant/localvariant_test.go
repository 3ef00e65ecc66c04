package localvariant_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gohub/internal/auth"
	"gohub/internal/auth/local/systest"
	"gohub/internal/auth/localvariant"
	"gohub/internal/auth/native"
	"gohub/internal/store"
)

// logUseradd is an add_user_cmd that records each name it runs for in log, then runs the real
// useradd (the name, appended by the hub, is the script's $0).
func logUseradd(log string) []string {
	return []string{"/bin/sh", "-c", `printf '%s\n' "$0" >> ` + log + `; exec useradd --create-home --shell /bin/bash "$0"`}
}

func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

// removedAtEnd forgets name now and at the end, and checks after that it is gone.
func removedAtEnd(t *testing.T, name string) {
	t.Cleanup(func() {
		if systest.Exists(name) {
			t.Errorf("system user %s still exists after the test", name)
		}
	})
	systest.Forget(t, name)
}

// ranFor returns the names add_user_cmd ran for.
func ranFor(log string) string {
	raw, _ := os.ReadFile(log)
	return strings.TrimSpace(string(raw))
}

// LocalCommandAuthenticator: the names a site's command answers become UNIX accounts (real
// useradd) when safe; "-rf" and "evil name" from the command are refused before add_user_cmd.
func TestLocalCommandCreatesSafeSystemUsersOnly(t *testing.T) {
	systest.Require(t)
	const good = "gohub-cmd-ok"
	removedAtEnd(t, good)
	log := filepath.Join(t.TempDir(), "useradd.log")
	cfg := localvariant.DefaultCommandConfig()
	cfg.Command = []string{"/bin/sh", "-c", `in=$(cat); case "$in" in
*'"dash"'*) echo '{"name": "-rf"}';;
*'"blank"'*) echo '{"name": "evil name"}';;
*'"ok"'*) echo '{"name": "` + good + `"}';;
*) echo '{"refused": true}';;
esac`}
	cfg.CreateSystemUsers = true
	cfg.AddUserCmd = logUseradd(log)
	cfg.AllowAll = auth.Bool(true)
	a, err := localvariant.NewCommand(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.NewPipeline(*cfg.Common(), a, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{"dash", "blank"} {
		_, err := p.Login(t.Context(), auth.Credentials{Username: typed, Password: "pw"})
		if !errors.Is(err, auth.ErrRejected) || !strings.Contains(err.Error(), "system user name") {
			t.Errorf("%s: %v", typed, err)
		}
	}
	if got := ranFor(log); got != "" {
		t.Errorf("add_user_cmd ran for %q", got)
	}
	id, err := p.Login(t.Context(), auth.Credentials{Username: "ok", Password: "pw"})
	if err != nil || id.Name != good {
		t.Fatalf("ok: %v %v", id, err)
	}
	if !systest.Exists(good) || ranFor(log) != good {
		t.Errorf("system user %s: exists %v, add_user_cmd ran for %q", good, systest.Exists(good), ranFor(log))
	}
	// Without an allow rule the variant says so, as the pipeline would for the plain class.
	cfg2 := localvariant.DefaultCommandConfig()
	cfg2.Command = []string{"/bin/true"}
	a2, err := localvariant.NewCommand(cfg2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(a2.ConfigWarnings(auth.Config{AllowAll: auth.Bool(false), AllowExistingUsers: auth.Bool(false)}), "\n"); !strings.Contains(w, "no allow rule") {
		t.Errorf("warnings: %s", w)
	}
}

// LocalNativeAuthenticator with a real store: an account signed up (open_signup) gets its UNIX
// account at its first login, from a real useradd; the sign-up name rules and the system name
// rule both hold.
func TestLocalNativeCreatesSystemUserAtLogin(t *testing.T) {
	systest.Require(t)
	const good = "gohub-native-ok"
	removedAtEnd(t, good)
	log := filepath.Join(t.TempDir(), "useradd.log")
	db, err := store.Open(t.Context(), "sqlite:///"+filepath.Join(t.TempDir(), "hub.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := localvariant.DefaultNativeConfig()
	cfg.EnableSignup, cfg.OpenSignup = true, true
	cfg.CreateSystemUsers = true
	cfg.AddUserCmd = logUseradd(log)
	cfg.BcryptCost = 10
	a, err := localvariant.NewNative(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.NewPipeline(*cfg.Common(), a, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{good, "9lives"} {
		if _, err := a.CreateAccount(t.Context(), p, native.Signup{Username: name, Password: "a long passphrase 42", Confirmation: "a long passphrase 42"}); err != nil {
			t.Fatalf("sign-up %s: %v", name, err)
		}
	}
	if systest.Exists(good) {
		t.Fatal("the sign-up alone created the system user")
	}
	// "9lives" is a fine hub name but not a system user name (it starts with a digit).
	if _, err := p.Login(t.Context(), auth.Credentials{Username: "9lives", Password: "a long passphrase 42"}); !errors.Is(err, auth.ErrRejected) || !strings.Contains(err.Error(), "system user name") {
		t.Errorf("9lives: %v", err)
	}
	id, err := p.Login(t.Context(), auth.Credentials{Username: good, Password: "a long passphrase 42"})
	if err != nil || id.Name != good {
		t.Fatalf("login: %v %v", id, err)
	}
	if !systest.Exists(good) || ranFor(log) != good {
		t.Errorf("system user %s: exists %v, add_user_cmd ran for %q", good, systest.Exists(good), ranFor(log))
	}
}
