package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gohub/internal/auth/password"
	"gohub/internal/store"
)

// TestUserSetPassword: `gohub user set-password NAME` reads the password from standard input
// and gives the admin of a native hub an authorized account with it; bad input (two lines,
// nothing, a password the rules refuse, an authenticator without passwords) changes nothing.
func TestUserSetPassword(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "hub.sqlite")
	write := func(class string) {
		cfg := "JupyterHub:\n  db_url: sqlite:///" + db + "\n  authenticator_class: " + class + "\n" +
			"Authenticator:\n  admin_users: [admin]\nNativeAuthenticator:\n  minimum_password_length: 8\n  bcrypt_cost: 10\n"
		if err := os.WriteFile(filepath.Join(dir, "gohub_config.yaml"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("native")
	run := func(stdin string, args ...string) (string, error) {
		t.Helper()
		t.Chdir(dir)
		root := newRoot()
		var out, errw bytes.Buffer
		root.SetIn(strings.NewReader(stdin))
		root.SetOut(&out)
		root.SetErr(&errw)
		root.SetArgs(args)
		err := root.ExecuteContext(t.Context())
		return out.String(), err
	}
	for _, bad := range []string{"", "\n", "one\ntwo\n", "short\n"} {
		if _, err := run(bad, "user", "set-password", "admin"); err == nil {
			t.Errorf("set-password with stdin %q succeeded", bad)
		}
	}
	out, err := run("the admin's password\n", "user", "set-password", "Admin")
	if err != nil || !strings.Contains(out, "password of admin set") {
		t.Fatalf("set-password: %q %v", out, err)
	}
	s, err := store.Open(context.Background(), "sqlite:///"+db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nu, err := s.GetNativeUser(t.Context(), "admin")
	if err != nil || !nu.Authorized || nu.Has2FA {
		t.Fatalf("admin's sign-up: %+v %v", nu, err)
	}
	h, err := password.New(password.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(t.Context(), nu.Hash, "the admin's password"); !ok || err != nil {
		t.Errorf("the stored hash does not verify the password: %v", err)
	}
	write("dummy")
	if _, err := run("a-password\n", "user", "set-password", "admin"); err == nil || !strings.Contains(err.Error(), "passwords") {
		t.Errorf("set-password with dummy: %v", err)
	}
}

func TestReadPassword(t *testing.T) {
	for in, want := range map[string]string{"pw\n": "pw", "pw": "pw", "pw\r\n": "pw", " p w \n": " p w ", "pw\n\n": "pw"} {
		got, err := readPassword(strings.NewReader(in), &bytes.Buffer{}, "x")
		if err != nil || got != want {
			t.Errorf("readPassword(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	long := strings.Repeat("x", maxPasswordInput+1)
	if _, err := readPassword(strings.NewReader(long), &bytes.Buffer{}, "x"); err == nil {
		t.Error("a password over the limit was read")
	}
	if got, err := readPassword(strings.NewReader(long[:maxPasswordInput]), &bytes.Buffer{}, "x"); err != nil || len(got) != maxPasswordInput {
		t.Errorf("a password at the limit: %d %v", len(got), err)
	}
}
