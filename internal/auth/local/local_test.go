package local_test

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gohub/internal/auth"
	"gohub/internal/auth/local"
	"gohub/internal/auth/local/systest"
)

// recorder is an add_user_cmd that appends its arguments to a file, one per line, so a test can
// see whether (and how) the command ran.
func recorder(t *testing.T) (cmd []string, log string) {
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	script := filepath.Join(dir, "record")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> "+log+"\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{script, "--home", "/home/USERNAME"}, log
}

func TestHostileNamesNeverReachTheCommand(t *testing.T) {
	cmd, log := recorder(t)
	cfg := local.DefaultConfig()
	cfg.CreateSystemUsers = true
	cfg.AddUserCmd = cmd
	a, err := local.New(cfg, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hostile := []string{
		"../x", "a b", "-rf", strings.Repeat("a", 300), "аlice", /* Cyrillic а */
		"alice\n", "al\nice", "a;rm -rf /", "$(id)", "a/b", "", "Alice", "ａlice", "x\x00y", "--help",
	}
	for _, name := range hostile {
		err := a.AddUser(t.Context(), name)
		var rej *auth.Rejection
		if !errors.As(err, &rej) {
			t.Errorf("AddUser(%q) = %v, want a *auth.Rejection", name, err)
		} else if !strings.Contains(rej.Message, "system user") {
			t.Errorf("AddUser(%q) message %q does not explain", name, rej.Message)
		}
	}
	if data, err := os.ReadFile(log); err == nil {
		t.Fatalf("the command ran for a hostile name: %q", data)
	}

	// A valid name does reach it, as argv: USERNAME substituted, name appended.
	const good = "gohub-rec-x"
	systest.Forget(t, good) // the recorder never creates it; the name must not exist
	if err := a.AddUser(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Split(strings.TrimSpace(string(data)), "\n"), []string{"--home", "/home/" + good, good}; !slices.Equal(got, want) {
		t.Errorf("argv = %q, want %q", got, want)
	}
}

func TestCheckSystemName(t *testing.T) {
	for _, ok := range []string{"alice", "_svc", "a-b_c9", strings.Repeat("a", 32)} {
		if err := local.CheckSystemName(ok); err != nil {
			t.Errorf("CheckSystemName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"9lives", strings.Repeat("a", 33), "a.b", "é"} {
		if local.CheckSystemName(bad) == nil {
			t.Errorf("CheckSystemName(%q) accepted", bad)
		}
	}
}

func TestCommand(t *testing.T) {
	cfg := local.DefaultConfig()
	cfg.UIDs = map[string]int{"bob": 4242}
	a, err := local.New(cfg, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"adduser", "-q", "--gecos", "", "--home", "/home/bob", "--disabled-password", "--uid", "4242", "bob"}
	if got := a.Command("bob"); !slices.Equal(got, want) {
		t.Errorf("Command = %q, want %q", got, want)
	}
	cfg.UIDs = map[string]int{"../x": 1}
	if _, err := local.New(cfg, local.Options{}); err == nil {
		t.Error("uids with an invalid name accepted")
	}
}

func TestCreateSystemUserWithGroup(t *testing.T) {
	systest.Require(t)
	const group, name = "gohub-lt-users", "gohub-lt-carol"
	systest.Group(t, group)
	systest.Forget(t, name)
	cfg := local.DefaultConfig()
	cfg.CreateSystemUsers = true
	cfg.AddUserCmd = []string{"useradd", "--create-home", "--gid", group, "--shell", "/bin/bash"}
	cfg.AllowedGroups = []string{"gohub-lt-nosuchgroup", group}
	a, err := local.New(cfg, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.CheckAllowed(t.Context(), name, nil); ok {
		t.Fatal("a missing user is in allowed_groups")
	}
	if err := a.AddUser(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("user not created: %v", err)
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		t.Fatal(err)
	}
	if u.Gid != g.Gid || u.HomeDir != "/home/"+name {
		t.Errorf("created user gid %s home %s, want gid %s home /home/%s", u.Gid, u.HomeDir, g.Gid, name)
	}
	if _, err := os.Stat(u.HomeDir); err != nil {
		t.Errorf("home not created: %v", err)
	}
	// Idempotent: a second add runs nothing and succeeds.
	if err := a.AddUser(t.Context(), name); err != nil {
		t.Errorf("second AddUser: %v", err)
	}
	if ok, err := a.CheckAllowed(t.Context(), name, nil); !ok || err != nil {
		t.Errorf("CheckAllowed(member) = %v, %v", ok, err)
	}
	if ok, _ := a.CheckAllowed(t.Context(), "root", nil); ok {
		t.Error("root is in allowed_groups")
	}
}

func TestDefaultCommandAdduser(t *testing.T) {
	systest.Require(t, "adduser")
	const name = "gohub-lt-dave"
	systest.Forget(t, name)
	cfg := local.DefaultConfig()
	cfg.CreateSystemUsers = true
	a, err := local.New(cfg, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddUser(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	if !systest.Exists(name) {
		t.Fatal("adduser did not create the user")
	}
}

func TestMissingUserWithoutCreate(t *testing.T) {
	a, err := local.New(local.DefaultConfig(), local.Options{RequireSystemUser: true})
	if err != nil {
		t.Fatal(err)
	}
	err = a.AddUser(t.Context(), "gohub-no-such-user")
	var rej *auth.Rejection
	if !errors.As(err, &rej) || !strings.Contains(rej.Message, "create_system_users") {
		t.Errorf("AddUser(missing) = %v, want a rejection naming create_system_users", err)
	}
	if err := a.AddUser(t.Context(), "root"); err != nil {
		t.Errorf("AddUser(root) = %v", err)
	}
	// Without RequireSystemUser (FirstUse alone) a missing account is fine.
	b, _ := local.New(local.DefaultConfig(), local.Options{})
	if err := b.AddUser(t.Context(), "gohub-no-such-user"); err != nil {
		t.Errorf("AddUser without requirement = %v", err)
	}
}

func TestFailingCommandReportsOutput(t *testing.T) {
	systest.Require(t)
	cfg := local.DefaultConfig()
	cfg.CreateSystemUsers = true
	cfg.AddUserCmd = []string{"useradd", "--gid", "gohub-lt-no-such-group"}
	a, _ := local.New(cfg, local.Options{})
	err := a.AddUser(t.Context(), "gohub-lt-erin")
	if err == nil || !strings.Contains(err.Error(), "failed to create system user") || !strings.Contains(err.Error(), "gohub-lt-no-such-group") {
		t.Errorf("AddUser with a failing command = %v", err)
	}
	if systest.Exists("gohub-lt-erin") {
		t.Error("user exists after a failed command")
	}
}
