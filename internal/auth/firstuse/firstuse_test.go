package firstuse_test

import (
	"errors"
	"fmt"
	"net/url"
	"os/user"
	"strings"
	"sync"
	"testing"
	"time"

	"gohub/internal/auth"
	"gohub/internal/auth/authtest"
	"gohub/internal/auth/firstuse"
	"gohub/internal/auth/local/systest"
	"gohub/internal/store"
)

func newAuth(t *testing.T, edit func(*firstuse.Config)) (*firstuse.Authenticator, *firstuse.Config) {
	t.Helper()
	cfg := firstuse.DefaultConfig()
	cfg.BcryptCost = 4 // see export_test.go
	// Several refusals in a row are part of these stories; TestBruteForceThroughTheLoginPage
	// turns throttling back on.
	cfg.FailedLoginsBeforeLockout = 0
	if edit != nil {
		edit(cfg)
	}
	a, err := firstuse.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a, cfg
}

func newHub(t *testing.T, edit func(*firstuse.Config), opts authtest.Options) *authtest.Hub {
	t.Helper()
	a, cfg := newAuth(t, edit)
	return authtest.New(t, a, cfg.Config.Config, opts)
}

func TestFirstLoginSetsThePassword(t *testing.T) {
	h := newHub(t, nil, authtest.Options{})
	if r := h.Browser().Login("alice", "first-password"); r.Status != 302 {
		t.Fatalf("first login: %d\n%s", r.Status, r.Body)
	}
	hash, err := h.DB.GetPasswordHash(t.Context(), "alice")
	if err != nil || !strings.HasPrefix(hash, "$2a$") || strings.Contains(hash, "first-password") {
		t.Fatalf("stored hash %q, %v", hash, err)
	}
	r := h.Browser().Login("alice", "another-password")
	if r.Status != 403 || !strings.Contains(r.Body, "Invalid username or password") {
		t.Errorf("second login with another password: %d", r.Status)
	}
	// A case variant is the same hub user: no takeover (GHSA-5xvc-vgmp-jgc3).
	if r := h.Browser().Login("ALICE", "another-password"); r.Status != 403 {
		t.Errorf("case variant with another password: %d", r.Status)
	}
	if r := h.Browser().Login("Alice", "first-password"); r.Status != 302 {
		t.Errorf("case variant with the password: %d", r.Status)
	}
	if r := h.Browser().Login("alice", "first-password"); r.Status != 302 {
		t.Errorf("second login with the password: %d", r.Status)
	}
}

// TestAdminFirstLoginRefused performs the claim of an admin's name: the first login as a name
// in admin_users (or as a hub user with the admin flag) set its password and made the stranger
// the admin. It is refused and stores nothing; after `gohub user set-password` (the hub's
// SetOwnerPassword) the admin logs in with that password only.
func TestAdminFirstLoginRefused(t *testing.T) {
	h := newHub(t, func(c *firstuse.Config) { c.AdminUsers = []string{"admin"} }, authtest.Options{})
	if _, err := h.DB.CreateUser(t.Context(), "root", true); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"admin", "Admin", "root"} {
		r := h.Browser().Login(name, "mallory-password")
		if r.Status == 302 || !strings.Contains(r.Body, "gohub user set-password") {
			t.Errorf("first login as the admin %s: %d", name, r.Status)
		}
	}
	for _, name := range []string{"admin", "root"} {
		if _, err := h.DB.GetPasswordHash(t.Context(), name); err == nil {
			t.Errorf("a refused first login stored a password for %s", name)
		}
	}
	if err := h.Pipeline.SetOwnerPassword(t.Context(), "admin", "the-admins-own"); err != nil {
		t.Fatal(err)
	}
	if r := h.Browser().Login("admin", "the-admins-own"); r.Status != 302 {
		t.Errorf("the admin's login after set-password: %d", r.Status)
	}
	if r := h.Browser().Login("admin", "mallory-password"); r.Status == 302 {
		t.Error("another password logs in as the admin")
	}
	if u := h.User("admin"); u == nil || !u.Admin {
		t.Errorf("admin after login: %+v", u)
	}
}

func TestShortPassword(t *testing.T) {
	h := newHub(t, nil, authtest.Options{})
	r := h.Browser().Login("bob", "short")
	if r.Status != 403 || !strings.Contains(r.Body, "Password too short! Please choose a password at least 7 characters long.") {
		t.Fatalf("short first password: %d\n%s", r.Status, r.Body)
	}
	if _, err := h.DB.GetPasswordHash(t.Context(), "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused password was stored: %v", err)
	}
	h2 := newHub(t, func(c *firstuse.Config) { c.MinPasswordLength = 12 }, authtest.Options{})
	if r := h2.Browser().Login("bob", "elevenchars"); !strings.Contains(r.Body, "at least 12 characters") {
		t.Errorf("min_password_length 12: %d\n%s", r.Status, r.Body)
	}
	// Characters, not bytes: seven accented letters are enough.
	if r := h2.Browser().Login("carl", "ééééééééééééé"); r.Status != 302 {
		t.Errorf("13 two-byte characters: %d", r.Status)
	}
}

func TestRestartKeepsPasswords(t *testing.T) {
	path := authtest.DBFile(t)
	h1 := newHub(t, nil, authtest.Options{DBPath: path})
	if r := h1.Browser().Login("dana", "dana-password"); r.Status != 302 {
		t.Fatalf("first login: %d", r.Status)
	}
	h1.DB.Close()
	h2 := newHub(t, nil, authtest.Options{DBPath: path})
	if r := h2.Browser().Login("dana", "not-dana-password"); r.Status != 403 {
		t.Errorf("after restart, another password: %d", r.Status)
	}
	if r := h2.Browser().Login("dana", "dana-password"); r.Status != 302 {
		t.Errorf("after restart, the password: %d", r.Status)
	}
}

func TestChangePassword(t *testing.T) {
	h := newHub(t, nil, authtest.Options{})
	if r := h.Browser().Do("GET", "/hub/auth/change-password", nil); r.Status != 302 || !strings.Contains(r.Location, "/hub/login") {
		t.Errorf("anonymous GET: %d %s", r.Status, r.Location)
	}
	b := h.Browser()
	if r := b.Login("erin", "erin-old-pw"); r.Status != 302 {
		t.Fatalf("login: %d", r.Status)
	}
	if r := b.Do("POST", "/hub/auth/change-password", url.Values{"password": {"no-xsrf-pw"}}); r.Status != 403 {
		t.Errorf("POST without _xsrf: %d", r.Status)
	}
	// The page is in the hub's layout (its header and stylesheet), linked from home.
	if r := b.Do("GET", "/hub/auth/change-password", nil); r.Status != 200 || !strings.Contains(r.Body, `id="current-user">erin<`) ||
		!strings.Contains(r.Body, `id="change-password"`) {
		t.Errorf("change-password page: %d\n%s", r.Status, r.Body)
	}
	if r := b.Do("GET", "/hub/home", nil); !strings.Contains(r.Body, `href="/hub/auth/change-password">Change password<`) {
		t.Errorf("home without the change-password link:\n%s", r.Body)
	}
	r := b.Submit("/hub/auth/change-password", url.Values{"password": {"tiny"}})
	if r.Status != 400 || !strings.Contains(r.Body, "at least 7 characters") {
		t.Errorf("short new password: %d\n%s", r.Status, r.Body)
	}
	r = b.Submit("/hub/auth/change-password", url.Values{"password": {"erin-new-pw"}})
	if r.Status != 200 || !strings.Contains(r.Body, "Your password has been changed successfully!") {
		t.Fatalf("change: %d\n%s", r.Status, r.Body)
	}
	if r := h.Browser().Login("erin", "erin-old-pw"); r.Status != 403 {
		t.Errorf("old password after the change: %d", r.Status)
	}
	if r := h.Browser().Login("erin", "erin-new-pw"); r.Status != 302 {
		t.Errorf("new password after the change: %d", r.Status)
	}
}

func TestCreateUsersOff(t *testing.T) {
	h := newHub(t, func(c *firstuse.Config) { c.CreateUsers = false }, authtest.Options{})
	if r := h.Browser().Login("frank", "frank-password"); r.Status != 403 {
		t.Errorf("unknown name with create_users off: %d", r.Status)
	}
	if _, err := h.DB.CreateUser(t.Context(), "frank", false); err != nil {
		t.Fatal(err)
	}
	if r := h.Browser().Login("frank", "frank-password"); r.Status != 302 {
		t.Errorf("known name with create_users off: %d", r.Status)
	}
}

// TestRefusedNamesStoreNothing: upstream stores the password before the block/allow checks;
// gohub stores it only for an accepted login.
func TestRefusedNamesStoreNothing(t *testing.T) {
	h := newHub(t, func(c *firstuse.Config) {
		c.BlockedUsers = []string{"mallory"}
		c.AllowedUsers = []string{"grace"}
	}, authtest.Options{})
	for _, name := range []string{"mallory", "heidi", "a,b"} {
		if r := h.Browser().Login(name, "some-password"); r.Status != 403 {
			t.Errorf("%s: %d", name, r.Status)
		}
		if _, err := h.DB.GetPasswordHash(t.Context(), name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: a password was stored for a refused name", name)
		}
	}
	if r := h.Browser().Login("grace", "grace-password"); r.Status != 302 {
		t.Errorf("allowed user: %d", r.Status)
	}
}

// TestConcurrentFirstLogins: of many simultaneous first logins of one name with different
// passwords exactly one wins.
func TestConcurrentFirstLogins(t *testing.T) {
	h := newHub(t, nil, authtest.Options{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 8 {
		wg.Go(func() {
			_, err := h.Pipeline.Login(t.Context(), auth.Credentials{Username: "ivan", Password: fmt.Sprintf("password-%d", i)})
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if !errors.Is(err, auth.ErrRejected) {
				t.Errorf("login %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d concurrent first logins won, want 1", won)
	}
}

func TestDeleteUserFreesTheName(t *testing.T) {
	h := newHub(t, nil, authtest.Options{})
	if r := h.Browser().Login("judy", "judy-password"); r.Status != 302 {
		t.Fatal(r.Status)
	}
	if err := h.DB.DeleteUser(t.Context(), "judy"); err != nil {
		t.Fatal(err)
	}
	if err := h.Pipeline.DeleteUser(t.Context(), "judy"); err != nil {
		t.Fatal(err)
	}
	if r := h.Browser().Login("judy", "new-judy-password"); r.Status != 302 {
		t.Errorf("deleted name claimed again: %d", r.Status)
	}
}

// TestSeedSetup is the set-up: firstuse with create_system_users and useradd into a
// group; the first login of a new name creates the system user in that group.
func TestSeedSetup(t *testing.T) {
	systest.Require(t)
	const group, name = "gohub-fu-users", "gohub-fu-carol"
	systest.Group(t, group)
	systest.Forget(t, name)
	h := newHub(t, func(c *firstuse.Config) {
		c.CreateSystemUsers = true
		c.AddUserCmd = []string{"useradd", "--create-home", "--gid", group, "--shell", "/bin/bash"}
	}, authtest.Options{})
	if r := h.Browser().Login(name, "carol-password"); r.Status != 302 {
		t.Fatalf("first login: %d\n%s", r.Status, r.Body)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("system user not created: %v", err)
	}
	g, _ := user.LookupGroup(group)
	if g == nil || u.Gid != g.Gid {
		t.Errorf("system user's group is %s, want %s", u.Gid, group)
	}
	if r := h.Browser().Login(name, "carol-password"); r.Status != 302 {
		t.Errorf("second login: %d", r.Status)
	}
	// A name the hub accepts but that cannot be a system user: refused with a message, and
	// neither a command nor a stored password.
	r := h.Browser().Login("-rf", "some-password")
	if r.Status != 403 || !strings.Contains(r.Body, "system user") {
		t.Errorf("-rf: %d\n%s", r.Status, r.Body)
	}
	if _, err := h.DB.GetPasswordHash(t.Context(), "-rf"); !errors.Is(err, store.ErrNotFound) {
		t.Error("a password was stored for a name whose system user could not be created")
	}
}

func TestConfigErrors(t *testing.T) {
	for name, edit := range map[string]func(*firstuse.Config){
		"min length": func(c *firstuse.Config) { c.MinPasswordLength = -1 },
		"algorithm":  func(c *firstuse.Config) { c.PasswordHash = "md5" },
		"cost":       func(c *firstuse.Config) { c.BcryptCost = 40 },
	} {
		cfg := firstuse.DefaultConfig()
		edit(cfg)
		if _, err := firstuse.New(cfg, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestBruteForceThroughTheLoginPage: repeated wrong passwords lock the name (with a message on
// the form and 429, as show_lockout_reason asks), other users still log in, and the lock ends.
func TestBruteForceThroughTheLoginPage(t *testing.T) {
	h := newHub(t, func(c *firstuse.Config) {
		c.FailedLoginsBeforeLockout = 3
		c.LockoutSeconds = 1
		c.FailedLoginDelaySeconds = 0.01
		c.ShowLockoutReason = true
	}, authtest.Options{})
	for _, u := range []string{"kim", "lee"} {
		if r := h.Browser().Login(u, u+"-password"); r.Status != 302 {
			t.Fatalf("first login of %s: %d", u, r.Status)
		}
	}
	for i := range 3 {
		time.Sleep(30 * time.Millisecond) // past the short waits between failures
		if r := h.Browser().Login("kim", "guess-"+fmt.Sprint(i)); r.Status != 403 || !strings.Contains(r.Body, "Invalid username or password") {
			t.Fatalf("failure %d: %d", i+1, r.Status)
		}
	}
	r := h.Browser().Login("kim", "kim-password")
	if r.Status != 429 || !strings.Contains(r.Body, "Too many failed login attempts") {
		t.Errorf("locked name with the right password: %d\n%s", r.Status, r.Body)
	}
	if r := h.Browser().Login("lee", "lee-password"); r.Status != 302 {
		t.Errorf("another user during the lock: %d", r.Status)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := h.Browser().Login("kim", "kim-password"); r.Status != 302 {
		t.Errorf("after the lockout: %d", r.Status)
	}
}

// TestRehashOnLogin: a stored hash weaker than new ones (bcrypt cost 4 under a cost-5 config)
// is replaced at the next successful login, and the password keeps working.
func TestRehashOnLogin(t *testing.T) {
	path := authtest.DBFile(t)
	h := newHub(t, nil, authtest.Options{DBPath: path})
	if r := h.Browser().Login("olga", "olga-password"); r.Status != 302 {
		t.Fatal(r.Status)
	}
	old, _ := h.DB.GetPasswordHash(t.Context(), "olga")
	h.DB.Close()
	h2 := newHub(t, func(c *firstuse.Config) { c.BcryptCost = 5 }, authtest.Options{DBPath: path})
	if r := h2.Browser().Login("olga", "wrong-password"); r.Status != 403 {
		t.Fatal(r.Status)
	}
	if got, _ := h2.DB.GetPasswordHash(t.Context(), "olga"); got != old {
		t.Error("a failed login rewrote the hash")
	}
	if r := h2.Browser().Login("olga", "olga-password"); r.Status != 302 {
		t.Fatal(r.Status)
	}
	got, _ := h2.DB.GetPasswordHash(t.Context(), "olga")
	if !strings.HasPrefix(old, "$2a$04$") || !strings.HasPrefix(got, "$2a$05$") {
		t.Errorf("hash %.7s → %.7s, want $2a$04$ → $2a$05$", old, got)
	}
	if r := h2.Browser().Login("olga", "olga-password"); r.Status != 302 {
		t.Errorf("login after the upgrade: %d", r.Status)
	}
}
