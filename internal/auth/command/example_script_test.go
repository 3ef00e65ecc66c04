package command_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gohub/internal/auth"
	"gohub/internal/auth/authtest"
	"gohub/internal/auth/command"
)

// TestExampleScript runs docs/examples/command-authenticator/check_login.py behind the hub's
// POST /hub/login, as the README tells a site to.
func TestExampleScript(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 not found")
		}
		t.Skip("python3 not found")
	}
	example, err := filepath.Abs("../../../docs/examples/command-authenticator/check_login.py")
	if err != nil {
		t.Fatal(err)
	}
	entry := func(password string, extra map[string]any) map[string]any {
		cmd := exec.Command(python, example, "hash")
		cmd.Stdin = strings.NewReader(password + "\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("check_login.py hash: %v", err)
		}
		var e map[string]any
		if err := json.Unmarshal(out, &e); err != nil {
			t.Fatal(err)
		}
		for k, v := range extra {
			e[k] = v
		}
		return e
	}
	users := map[string]any{
		"alice": entry("alice-password", map[string]any{"admin": true, "groups": []string{"staff"}}),
		"bob":   entry("bob-password", nil),
		"carol": entry("carol-password", map[string]any{"disabled": true}),
	}
	usersFile := filepath.Join(t.TempDir(), "users.json")
	data, _ := json.Marshal(users)
	if err := os.WriteFile(usersFile, data, 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := command.DefaultConfig()
	cfg.Command = []string{python, example}
	cfg.Environment = map[string]string{"USERS_FILE": usersFile}
	cfg.AllowAll = auth.Bool(true)
	cfg.ManageGroups = true
	cfg.FailedLoginsBeforeLockout = 0
	a, err := command.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := authtest.New(t, a, cfg.Config, authtest.Options{})

	if r := h.Browser().Login("alice", "alice-password"); r.Status != 302 {
		t.Fatalf("alice: %d\n%s", r.Status, r.Body)
	}
	// (authtest's hub keeps the admin flag but not groups; TestAllow checks groups.)
	if u := h.User("alice"); u == nil || !u.Admin {
		t.Errorf("alice: %+v, want an admin", u)
	}
	if r := h.Browser().Login("bob", "bob-password"); r.Status != 302 {
		t.Fatalf("bob: %d\n%s", r.Status, r.Body)
	}
	if u := h.User("bob"); u == nil || u.Admin {
		t.Errorf("bob: %+v", u)
	}
	for _, c := range []struct{ user, password, message string }{
		{"alice", "wrong", "Invalid username or password"},
		{"nobody", "alice-password", "Invalid username or password"},
		{"carol", "carol-password", "Your account is disabled."},
	} {
		r := h.Browser().Login(c.user, c.password)
		if r.Status != 403 || !strings.Contains(r.Body, c.message) {
			t.Errorf("%s/%s: %d, want 403 with %q", c.user, c.password, r.Status, c.message)
		}
	}
}
