//go:build cgo

package pam_test

import (
	"os/exec"
	"os/user"
	"strings"
	"testing"
	"time"

	"gohub/internal/auth"
	"gohub/internal/auth/authtest"
	"gohub/internal/auth/local/systest"
	"gohub/internal/auth/pam"
)

// service is the test PAM service: pam_unix without the 3 s failure delay of login.
const service = "gohub-test"

func newHub(t *testing.T, edit func(*pam.Config)) (*authtest.Hub, *pam.Authenticator) {
	t.Helper()
	systest.Require(t)
	systest.PAMService(t, service)
	cfg := pam.DefaultConfig()
	cfg.Service = service
	cfg.AllowAll = auth.Bool(true)
	if edit != nil {
		edit(cfg)
	}
	a, err := pam.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return authtest.New(t, a, cfg.Config.Config, authtest.Options{}), a
}

func TestLoginRightAndWrongPassword(t *testing.T) {
	h, _ := newHub(t, nil)
	systest.User(t, "gohub-pam-alice", "correct horse 1")
	b := h.Browser()
	start := time.Now()
	if r := b.Login("gohub-pam-alice", "wrong"); r.Status != 403 || !strings.Contains(r.Body, "Invalid username or password") {
		t.Fatalf("wrong password: %d\n%s", r.Status, r.Body)
	}
	// Not an assertion (a loaded machine is slow too): a hint when the 3 s delay of a stack
	// without nodelay seems to be in use.
	if d := time.Since(start); d > 2*time.Second {
		t.Logf("wrong password took %v: is the nodelay test service in use?", d)
	}
	if h.User("gohub-pam-alice") != nil {
		t.Error("a refused login created the hub user")
	}
	if r := b.Login("gohub-pam-alice", "correct horse 1"); r.Status != 302 {
		t.Fatalf("right password: %d\n%s", r.Status, r.Body)
	}
	if u := h.User("gohub-pam-alice"); u == nil || u.Admin {
		t.Fatalf("hub user after login: %+v", u)
	}
	// Typed with capitals: PAM has no such user.
	if r := h.Browser().Login("GOHUB-PAM-ALICE", "correct horse 1"); r.Status != 403 {
		t.Errorf("capitalised name: %d", r.Status)
	}
	if r := h.Browser().Login("gohub-pam-nobody", "correct horse 1"); r.Status != 403 {
		t.Errorf("unknown user: %d", r.Status)
	}
}

func TestLockedAndExpiredAccountsRefused(t *testing.T) {
	h, _ := newHub(t, nil)
	systest.User(t, "gohub-pam-lock", "locked pw 123")
	systest.User(t, "gohub-pam-exp", "expired pw 123")
	b := h.Browser()
	if r := b.Login("gohub-pam-lock", "locked pw 123"); r.Status != 302 {
		t.Fatalf("before locking: %d", r.Status)
	}
	systest.Run(t, "usermod", "-L", "gohub-pam-lock")
	if r := h.Browser().Login("gohub-pam-lock", "locked pw 123"); r.Status != 403 {
		t.Errorf("locked account (usermod -L): %d", r.Status)
	}
	// An expired account passes pam_unix's auth stack; only the account check refuses it.
	systest.Run(t, "usermod", "--expiredate", "1970-01-02", "gohub-pam-exp")
	if r := h.Browser().Login("gohub-pam-exp", "expired pw 123"); r.Status != 403 {
		t.Errorf("expired account with check_account: %d", r.Status)
	}
	h2, _ := newHub(t, func(c *pam.Config) { c.CheckAccount = false })
	if r := h2.Browser().Login("gohub-pam-exp", "expired pw 123"); r.Status != 302 {
		t.Errorf("expired account without check_account: %d (want 302: the account stack is skipped)", r.Status)
	}
}

func TestAdminGroups(t *testing.T) {
	systest.Require(t)
	systest.Group(t, "gohub-pam-admins")
	h, _ := newHub(t, func(c *pam.Config) { c.AdminGroups = []string{"gohub-pam-admins"} })
	systest.User(t, "gohub-pam-boss", "boss pw 1234", "gohub-pam-admins")
	systest.User(t, "gohub-pam-staff", "staff pw 1234")
	if r := h.Browser().Login("gohub-pam-boss", "boss pw 1234"); r.Status != 302 {
		t.Fatalf("admin login: %d", r.Status)
	}
	if u := h.User("gohub-pam-boss"); u == nil || !u.Admin {
		t.Errorf("member of admin_groups is not admin: %+v", u)
	}
	if r := h.Browser().Login("gohub-pam-staff", "staff pw 1234"); r.Status != 302 {
		t.Fatalf("staff login: %d", r.Status)
	}
	if u := h.User("gohub-pam-staff"); u == nil || u.Admin {
		t.Errorf("non-member is admin: %+v", u)
	}
	// Authoritative: leaving the group demotes at the next login.
	systest.Run(t, "gpasswd", "-d", "gohub-pam-boss", "gohub-pam-admins")
	if r := h.Browser().Login("gohub-pam-boss", "boss pw 1234"); r.Status != 302 {
		t.Fatalf("second admin login: %d", r.Status)
	}
	if u := h.User("gohub-pam-boss"); u == nil || u.Admin {
		t.Errorf("user who left admin_groups is still admin")
	}
}

func TestAllowedGroups(t *testing.T) {
	systest.Require(t)
	systest.Group(t, "gohub-pam-ok")
	h, _ := newHub(t, func(c *pam.Config) { c.AllowAll = nil; c.AllowedGroups = []string{"gohub-pam-ok"} })
	systest.User(t, "gohub-pam-in", "in pw 12345", "gohub-pam-ok")
	systest.User(t, "gohub-pam-out", "out pw 12345")
	if r := h.Browser().Login("gohub-pam-in", "in pw 12345"); r.Status != 302 {
		t.Errorf("member of allowed_groups: %d", r.Status)
	}
	if r := h.Browser().Login("gohub-pam-out", "out pw 12345"); r.Status != 403 {
		t.Errorf("non-member with the right password: %d", r.Status)
	}
}

func TestNormalizeUsername(t *testing.T) {
	systest.Require(t)
	_, a := newHub(t, func(c *pam.Config) { c.NormalizeByUID = true })
	if got := a.NormalizeUsername("root"); got != "root" {
		t.Errorf("NormalizeUsername(root) = %q", got)
	}
	// A second passwd entry for the same uid resolves to the first name of that uid.
	systest.User(t, "gohub-pam-norm", "")
	u, err := user.Lookup("gohub-pam-norm")
	if err != nil {
		t.Fatal(err)
	}
	systest.Forget(t, "gohub-pam-alias")
	systest.Run(t, "useradd", "--non-unique", "--uid", u.Uid, "--no-create-home", "gohub-pam-alias")
	t.Cleanup(func() { exec.Command("userdel", "-f", "gohub-pam-alias").Run() })
	if got := a.NormalizeUsername("gohub-pam-alias"); got != "gohub-pam-norm" {
		t.Errorf("NormalizeUsername(alias) = %q, want gohub-pam-norm", got)
	}
	if got := a.NormalizeUsername("No-Such-User"); got != "no-such-user" {
		t.Errorf("NormalizeUsername(unknown) = %q", got)
	}
	_, plain := newHub(t, nil)
	if got := plain.NormalizeUsername("Root"); got != "root" {
		t.Errorf("default normalisation = %q", got)
	}
}

func TestMissingSystemUserOnAdd(t *testing.T) {
	h, _ := newHub(t, nil)
	err := h.Pipeline.AddUser(t.Context(), "gohub-pam-ghost")
	if err == nil || !strings.Contains(err.Error(), "does not exist on the system") {
		t.Errorf("AddUser(missing) = %v", err)
	}
	if err := h.Pipeline.AddUser(t.Context(), "root"); err != nil {
		t.Errorf("AddUser(root) = %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, edit := range map[string]func(*pam.Config){
		"encoding": func(c *pam.Config) { c.Encoding = "ebcdic" },
		"service":  func(c *pam.Config) { c.Service = "../etc/x" },
		"threads":  func(c *pam.Config) { c.ExecutorThreads = 0 },
	} {
		cfg := pam.DefaultConfig()
		edit(cfg)
		if _, err := pam.New(cfg, nil); err == nil {
			t.Errorf("%s: New accepted a bad config", name)
		}
	}
}

func TestOpenSessions(t *testing.T) {
	_, a := newHub(t, func(c *pam.Config) { c.OpenSessions = true })
	systest.User(t, "gohub-pam-sess", "sess pw 12345")
	if err := a.PreSpawnStart(t.Context(), "gohub-pam-sess"); err != nil || !a.SessionsEnabled() {
		t.Fatalf("open session: %v, enabled %v", err, a.SessionsEnabled())
	}
	a.PostSpawnStop(t.Context(), "gohub-pam-sess")
	if !a.SessionsEnabled() {
		t.Fatal("closing a session turned sessions off")
	}

	// A session stack that fails turns sessions off for good, without failing the spawn.
	systest.PAMServiceText(t, "gohub-test-nosess", "auth required pam_unix.so nodelay\naccount required pam_unix.so\nsession required pam_deny.so\n")
	cfg := pam.DefaultConfig()
	cfg.Service = "gohub-test-nosess"
	cfg.OpenSessions = true
	b, err := pam.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PreSpawnStart(t.Context(), "gohub-pam-sess"); err != nil {
		t.Errorf("a PAM session error failed the spawn: %v", err)
	}
	if b.SessionsEnabled() {
		t.Error("sessions still on after a PAM session error")
	}
}

// TestEncoding: with encoding latin1 the password goes to PAM as Latin-1 bytes, so a password
// set as Latin-1 bytes matches; with utf8 it does not.
func TestEncoding(t *testing.T) {
	systest.Require(t)
	systest.User(t, "gohub-pam-latin", "")
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader("gohub-pam-latin:p\xe9ssw0rd-1\n") // é as the Latin-1 byte
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v: %s", err, out)
	}
	latin, _ := newHub(t, func(c *pam.Config) { c.Encoding = "latin1" })
	if r := latin.Browser().Login("gohub-pam-latin", "péssw0rd-1"); r.Status != 302 {
		t.Errorf("latin1: %d", r.Status)
	}
	utf, _ := newHub(t, nil)
	if r := utf.Browser().Login("gohub-pam-latin", "péssw0rd-1"); r.Status != 403 {
		t.Errorf("utf8 against a Latin-1 password: %d", r.Status)
	}
	// A NUL would cut the C string: "gohub-pam-latin\x00x" must not log in as gohub-pam-latin.
	if _, err := latin.Pipeline.Login(t.Context(), auth.Credentials{Username: "gohub-pam-latin\x00x", Password: "péssw0rd-1"}); err == nil {
		t.Error("a name with NUL logged in")
	}
}
