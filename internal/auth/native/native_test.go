package native_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"gohub/internal/auth/authtest"
	"gohub/internal/auth/native"
	"gohub/internal/auth/password"
	"gohub/internal/authstate"
	"gohub/internal/store"
)

// newHub runs the native authenticator behind the hub's login pages, with admin_users
// [admin] and the pipeline's own throttling off (the native lockout is tested on its own).
func newHub(t *testing.T, edit func(*native.Config)) *authtest.Hub {
	t.Helper()
	return newHubAt(t, edit, authtest.Options{})
}

func newHubAt(t *testing.T, edit func(*native.Config), opts authtest.Options) *authtest.Hub {
	t.Helper()
	cfg := native.DefaultConfig()
	cfg.AdminUsers = []string{"admin"}
	cfg.BcryptCost = 4 // see export_test.go
	cfg.FailedLoginsBeforeLockout = 0
	if edit != nil {
		edit(cfg)
	}
	a, err := native.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return authtest.New(t, a, cfg.Config, opts)
}

// signup posts the sign-up form with its _xsrf token.
func signup(b *authtest.Browser, name, pw string, extra ...string) authtest.Response {
	f := url.Values{"username": {name}, "signup_password": {pw}, "signup_password_confirmation": {pw}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return b.Submit("/hub/signup", f)
}

// alert is the text of the page's message box.
var alertRE = regexp.MustCompile(`(?s)id="(?:native-alert|login-error)">(.*?)</p>`)

func alert(body string) string {
	m := alertRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// adminBrowser gives the admin a password as `gohub user set-password` does (an admin's name
// cannot be signed up for) and logs in.
func adminBrowser(t *testing.T, h *authtest.Hub) *authtest.Browser {
	t.Helper()
	b := h.Browser()
	if err := h.Pipeline.SetOwnerPassword(t.Context(), "admin", "admin-secret-pw"); err != nil {
		t.Fatalf("admin's password: %v", err)
	}
	if r := b.Login("admin", "admin-secret-pw"); r.Status != 302 {
		t.Fatalf("admin login: %d %q", r.Status, alert(r.Body))
	}
	return b
}

// TestSignupRules: every username and password rule refuses with its own message, stores
// nothing, and keeps what was typed in the form.
func TestSignupRules(t *testing.T) {
	h := newHub(t, func(c *native.Config) {
		c.MinimumPasswordLength = 8
		c.CheckCommonPassword = true
		c.UsernamePattern = `[a-z][a-z0-9_-]*`
		c.BlockedUsers = []string{"mallory"}
	})
	if r := signup(h.Browser(), "taken", "taken-password"); r.Status != 200 {
		t.Fatalf("first sign-up: %d %q", r.Status, alert(r.Body))
	}
	cases := []struct {
		name, user, pw, confirm string
		want                    string
	}{
		{"empty username", "  ", "a-good-password", "", "Please choose a username."},
		{"comma", "ann,bob", "a-good-password", "", "A username cannot contain commas, spaces or slashes."},
		{"space", "ann bob", "a-good-password", "", "A username cannot contain commas, spaces or slashes."},
		{"slash", "ann/bob", "a-good-password", "", "A username cannot contain commas, spaces or slashes."},
		{"username_pattern", "9lives", "a-good-password", "", "This username is not allowed by the hub's username rules."},
		{"blocked", "mallory", "a-good-password", "", "This username is not allowed by the hub's username rules."},
		{"taken", "taken", "a-good-password", "", "This username is already taken. Please choose another one."},
		{"taken in another case", "TAKEN", "a-good-password", "", "This username is already taken. Please choose another one."},
		{"confirmation", "carol", "a-good-password", "a-good-passwort", "The password and its confirmation do not match."},
		{"minimum_password_length", "carol", "short1", "", "The password must be at least 8 characters long."},
		{"common", "carol", "password1", "", "This password is too common. Please choose a less guessable one."},
		{"common in another case", "carol", "PassWord1", "", "This password is too common. Please choose a less guessable one."},
		{"equal to the username", "carolanne", "CarolAnne", "", "The password must not be the same as the username."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			confirm := c.confirm
			if confirm == "" {
				confirm = c.pw
			}
			r := h.Browser().Submit("/hub/signup", url.Values{"username": {c.user},
				"signup_password": {c.pw}, "signup_password_confirmation": {confirm}})
			if r.Status != 400 || alert(r.Body) != c.want {
				t.Errorf("%d %q, want 400 %q", r.Status, alert(r.Body), c.want)
			}
			if n, _ := h.DB.NativeNameTaken(t.Context(), strings.TrimSpace(c.user)); n && !strings.EqualFold(c.user, "taken") {
				t.Error("a refused sign-up was stored")
			}
			if c.user != "  " && !strings.Contains(r.Body, `value="`+html.EscapeString(c.user)+`"`) {
				t.Error("the form lost the typed username")
			}
			if strings.Contains(r.Body, c.pw) {
				t.Error("the page echoes the password")
			}
		})
	}
	// Characters, not bytes, count for the length.
	if r := signup(h.Browser(), "dora", "éééééééé"); r.Status != 200 {
		t.Errorf("8 two-byte characters: %d %q", r.Status, alert(r.Body))
	}
}

// TestSignupEmailAndTOS: ask_email_on_signup and tos are checked by the server.
func TestSignupEmailAndTOS(t *testing.T) {
	h := newHub(t, func(c *native.Config) {
		c.AskEmailOnSignup = true
		c.TOS = `I accept the <a href="https://example.org/tos">terms of service</a>.`
	})
	page := h.Browser().Do("GET", "/hub/signup", nil).Body
	for _, want := range []string{`name="email"`, `name="tos"`, `<a href="https://example.org/tos">terms of service</a>`} {
		if !strings.Contains(page, want) {
			t.Errorf("sign-up page lacks %s", want)
		}
	}
	for _, c := range []struct {
		email, tos, want string
	}{
		{"", "on", "Please enter your email address."},
		{"not-an-email", "on", "Please enter a valid email address."},
		{"erin@example.org", "", "Please accept the terms of service to sign up."},
	} {
		r := signup(h.Browser(), "erin", "erin-password", "email", c.email, "tos", c.tos)
		if r.Status != 400 || alert(r.Body) != c.want {
			t.Errorf("email %q tos %q: %d %q, want %q", c.email, c.tos, r.Status, alert(r.Body), c.want)
		}
	}
	if r := signup(h.Browser(), "erin", "erin-password", "email", "erin@example.org", "tos", "on"); r.Status != 200 {
		t.Fatalf("complete sign-up: %d %q", r.Status, alert(r.Body))
	}
	u, err := h.DB.GetNativeUser(t.Context(), "erin")
	if err != nil || u.Email != "erin@example.org" || u.Authorized {
		t.Errorf("stored %+v, %v", u, err)
	}
}

// TestApprovalWorkflow: a new account waits for an admin; the login says so only with the
// right password; the admin authorizes it on /hub/authorize; un-authorizing locks it again.
func TestApprovalWorkflow(t *testing.T) {
	h := newHub(t, nil)
	bob := h.Browser()
	r := signup(bob, "Bob", "bob-password")
	if r.Status != 200 || alert(r.Body) != "Your account has been created. An administrator must authorize it before you can sign in." {
		t.Fatalf("sign-up: %d %q", r.Status, alert(r.Body))
	}
	if strings.Contains(r.Body, `name="signup_password"`) {
		t.Error("the form is still shown after a successful sign-up")
	}
	r = bob.Login("bob", "bob-password")
	if r.Status != 403 || alert(r.Body) != native.WaitingForApproval("bob") {
		t.Errorf("login before approval: %d %q", r.Status, alert(r.Body))
	}
	r = bob.Login("bob", "not-bob-password")
	if r.Status != 403 || alert(r.Body) != "Invalid username or password" {
		t.Errorf("wrong password before approval: %d %q (must not tell the account exists)", r.Status, alert(r.Body))
	}
	if h.User("bob") != nil {
		t.Error("an unauthorized login created the hub user")
	}

	admin := adminBrowser(t, h)
	page := admin.Do("GET", "/hub/authorize", nil)
	if page.Status != 200 || !regexp.MustCompile(`(?s)id="user-bob">.*?Waiting for approval`).MatchString(page.Body) {
		t.Fatalf("authorize page: %d\n%s", page.Status, page.Body)
	}
	if !strings.Contains(page.Body, "never touches system accounts") {
		t.Error("the page does not say discard leaves system data alone")
	}
	r = admin.Submit("/hub/authorize", url.Values{"username": {"bob"}, "action": {"authorize"}})
	if r.Status != 303 {
		t.Fatalf("authorize: %d %q", r.Status, alert(r.Body))
	}
	if r := admin.Do("GET", r.Location, nil); !strings.Contains(alert(r.Body), "bob is authorized.") {
		t.Errorf("after authorize: %q", alert(r.Body))
	}
	if r := bob.Login("bob", "bob-password"); r.Status != 302 {
		t.Fatalf("login after approval: %d %q", r.Status, alert(r.Body))
	}
	if r := bob.Do("GET", "/hub/home", nil); r.Status != 200 {
		t.Fatalf("bob's home: %d", r.Status)
	}
	if r := admin.Submit("/hub/authorize", url.Values{"username": {"bob"}, "action": {"unauthorize"}}); r.Status != 303 {
		t.Fatalf("unauthorize: %d", r.Status)
	}
	if r := bob.Do("GET", "/hub/home", nil); r.Status != 302 || !strings.Contains(r.Location, "/hub/login") {
		t.Errorf("bob still signed in after un-authorize: %d %s", r.Status, r.Location)
	}
	if r := h.Browser().Login("bob", "bob-password"); r.Status != 403 || alert(r.Body) != native.WaitingForApproval("bob") {
		t.Errorf("login after un-authorize: %d %q", r.Status, alert(r.Body))
	}
	// An authorized account cannot be discarded; an unknown action or name is refused.
	if r := admin.Submit("/hub/authorize", url.Values{"username": {"admin"}, "action": {"discard"}}); r.Status != 400 {
		t.Errorf("discard an authorized account: %d", r.Status)
	}
	if r := admin.Submit("/hub/authorize", url.Values{"username": {"nobody"}, "action": {"authorize"}}); r.Status != 404 {
		t.Errorf("authorize an unknown name: %d", r.Status)
	}
	if r := admin.Submit("/hub/authorize", url.Values{"username": {"bob"}, "action": {"explode"}}); r.Status != 400 {
		t.Errorf("unknown action: %d", r.Status)
	}
	// The note after an action names a user; a crafted link cannot make it say more.
	if r := admin.Do("GET", "/hub/authorize?done=authorize&user="+url.QueryEscape("Session expired, sign in at evil.example"), nil); alert(r.Body) != "" {
		t.Errorf("crafted note shown: %q", alert(r.Body))
	}
}

// TestDiscardOnThePage deletes the sign-up and the hub user, and frees the name.
func TestDiscardOnThePage(t *testing.T) {
	h := newHub(t, nil)
	if r := signup(h.Browser(), "dan", "dan-password"); r.Status != 200 {
		t.Fatal(r.Status)
	}
	if _, err := h.DB.CreateUser(t.Context(), "dan", false); err != nil {
		t.Fatal(err)
	}
	admin := adminBrowser(t, h)
	if r := admin.Submit("/hub/authorize", url.Values{"username": {"dan"}, "action": {"discard"}}); r.Status != 303 {
		t.Fatalf("discard: %d %q", r.Status, alert(r.Body))
	}
	if _, err := h.DB.GetNativeUser(t.Context(), "dan"); err == nil {
		t.Error("the sign-up survived")
	}
	if h.User("dan") != nil {
		t.Error("the hub user survived")
	}
	if r := signup(h.Browser(), "dan", "new-dan-password"); r.Status != 200 {
		t.Errorf("sign up again after discard: %d %q", r.Status, alert(r.Body))
	}
}

// TestOpenSignupAndAdmins: open_signup authorizes at once; so do admin_users and allowed_users
// without it.
func TestOpenSignupAndAdmins(t *testing.T) {
	h := newHub(t, func(c *native.Config) { c.OpenSignup = true })
	b := h.Browser()
	if r := signup(b, "olive", "olive-password"); alert(r.Body) != "Your account has been created. You can sign in now." {
		t.Errorf("open sign-up: %q", alert(r.Body))
	}
	if r := b.Login("olive", "olive-password"); r.Status != 302 {
		t.Errorf("login after open sign-up: %d %q", r.Status, alert(r.Body))
	}
	// A hub user that exists without a sign-up (made through the API) is not handed over by
	// open_signup: an admin must approve.
	if _, err := h.DB.CreateUser(t.Context(), "zoe", false); err != nil {
		t.Fatal(err)
	}
	if r := signup(h.Browser(), "zoe", "zoe-password"); alert(r.Body) != "Your account has been created. An administrator must authorize it before you can sign in." {
		t.Errorf("open sign-up of an existing hub user: %q", alert(r.Body))
	}

	h2 := newHub(t, func(c *native.Config) { c.AllowedUsers = []string{"alma"} })
	if r := h2.Browser().Login("alma", "x"); r.Status != 403 {
		t.Errorf("allowed user without a sign-up: %d", r.Status)
	}
	if r := signup(h2.Browser(), "alma", "alma-password"); alert(r.Body) != "Your account has been created. You can sign in now." {
		t.Errorf("allowed_users sign-up: %q", alert(r.Body))
	}
	admin := adminBrowser(t, h2)
	if u := h2.User("admin"); u == nil || !u.Admin {
		t.Errorf("admin after login: %+v", u)
	}
	_ = admin
}

// TestAdminNameCannotBeSignedUp performs the claim of an admin's name: the first stranger to
// sign up as a name in admin_users (with or without open_signup), or as a hub user with the
// admin flag, became that admin. The sign-up is refused and stores nothing; the admin's
// password comes from `gohub user set-password` (SetOwnerPassword), which also replaces a
// stranger's sign-up left from before (its password and 2FA secret).
func TestAdminNameCannotBeSignedUp(t *testing.T) {
	for _, open := range []bool{false, true} {
		h := newHub(t, func(c *native.Config) { c.OpenSignup = open; c.Allow2FA = true })
		if _, err := h.DB.CreateUser(t.Context(), "boss", true); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"admin", "ADMIN", "boss"} {
			b := h.Browser()
			if r := signup(b, name, "mallory-password"); r.Status != 400 || !strings.Contains(alert(r.Body), "administrator") {
				t.Errorf("open_signup %v: sign-up as %s: %d %q", open, name, r.Status, alert(r.Body))
			}
			if r := b.Login(name, "mallory-password"); r.Status == 302 {
				t.Errorf("open_signup %v: a stranger signed in as the admin %s", open, name)
			}
		}
		if n, err := h.DB.NativeNameTaken(t.Context(), "admin"); err != nil || n {
			t.Errorf("a refused sign-up left a row: %v %v", n, err)
		}
	}
	// A sign-up a stranger made before the name was an admin's is replaced, 2FA and all.
	h := newHub(t, func(c *native.Config) { c.AdminUsers = nil; c.Allow2FA = true })
	signup(h.Browser(), "admin", "mallory-password", "2fa", "on")
	if err := h.Pipeline.SetOwnerPassword(t.Context(), "admin", "the-admins-own"); err != nil {
		t.Fatal(err)
	}
	if r := h.Browser().Login("admin", "the-admins-own"); r.Status != 302 {
		t.Errorf("the owner's login after set-password: %d %q", r.Status, alert(r.Body))
	}
	if r := h.Browser().Login("admin", "mallory-password"); r.Status == 302 {
		t.Error("the stranger's password still works")
	}
}

// TestSignupDisabled: enable_signup false hides the page, refuses posts and drops the link.
func TestSignupDisabled(t *testing.T) {
	on := newHub(t, nil)
	if r := on.Browser().Do("GET", "/hub/login", nil); !strings.Contains(r.Body, `href="/hub/signup"`) {
		t.Error("the login page does not link the sign-up page")
	}
	h := newHub(t, func(c *native.Config) { c.EnableSignup = false })
	if r := h.Browser().Do("GET", "/hub/signup", nil); r.Status != 404 {
		t.Errorf("GET signup: %d", r.Status)
	}
	b := h.Browser()
	xsrf := b.XSRF("/hub/login")
	if r := b.Do("POST", "/hub/signup", url.Values{"_xsrf": {xsrf}, "username": {"zed"},
		"signup_password": {"zed-password"}, "signup_password_confirmation": {"zed-password"}}); r.Status != 404 {
		t.Errorf("POST signup: %d", r.Status)
	}
	if n, _ := h.DB.NativeNameTaken(t.Context(), "zed"); n {
		t.Error("a sign-up was stored with enable_signup false")
	}
	if r := h.Browser().Do("GET", "/hub/login", nil); strings.Contains(r.Body, "/hub/signup") {
		t.Error("the login page links a disabled sign-up page")
	}
}

// TestLockout: allowed_failed_logins failures lock the name, even for the right password, for
// seconds_before_next_try; other names are not affected; the lock lapses.
func TestLockout(t *testing.T) {
	h := newHub(t, func(c *native.Config) {
		c.OpenSignup = true
		c.AllowedFailedLogins = 2
		c.SecondsBeforeNextTry = 1
	})
	for _, n := range []string{"kim", "lee"} {
		if r := signup(h.Browser(), n, n+"-password"); r.Status != 200 {
			t.Fatal(r.Status)
		}
	}
	for i := range 2 {
		if r := h.Browser().Login("kim", fmt.Sprint("guess-", i)); r.Status != 403 {
			t.Fatalf("failure %d: %d", i, r.Status)
		}
	}
	r := h.Browser().Login("kim", "kim-password")
	if r.Status != 403 || alert(r.Body) != "Invalid username or password" {
		t.Errorf("locked name, right password: %d %q", r.Status, alert(r.Body))
	}
	if r := h.Browser().Login("lee", "lee-password"); r.Status != 302 {
		t.Errorf("another name during the lock: %d", r.Status)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := h.Browser().Login("kim", "kim-password"); r.Status != 302 {
		t.Errorf("after seconds_before_next_try: %d %q", r.Status, alert(r.Body))
	}
	// A success clears the count: one more failure does not lock.
	h.Browser().Login("kim", "guess")
	if r := h.Browser().Login("kim", "kim-password"); r.Status != 302 {
		t.Errorf("after one failure: %d", r.Status)
	}
}

// Test2FA: with allow_2fa, an enrolled user sees the secret and a QR code once, and logs in
// only with a current TOTP code; users who did not enrol log in without one.
func Test2FA(t *testing.T) {
	h := newHub(t, func(c *native.Config) { c.Allow2FA = true; c.OpenSignup = true })
	if r := h.Browser().Do("GET", "/hub/login", nil); !strings.Contains(r.Body, `name="otp"`) {
		t.Error("the login form has no code field")
	}
	r := signup(h.Browser(), "tess", "tess-password", "2fa", "on")
	m := regexp.MustCompile(`id="native-2fa-secret">([A-Z2-7]+)<`).FindStringSubmatch(r.Body)
	if r.Status != 200 || m == nil || !strings.Contains(r.Body, `src="data:image/png;base64,`) {
		t.Fatalf("sign-up with 2FA: %d\n%s", r.Status, r.Body)
	}
	secret := m[1]
	u, err := h.DB.GetNativeUser(t.Context(), "tess")
	if err != nil || !u.Has2FA || !authstate.IsSealed(u.OTPSecret) || strings.Contains(u.OTPSecret, secret) {
		t.Fatalf("stored %+v, %v", u, err)
	}
	login := func(code string) int {
		b := h.Browser()
		return b.Submit("/hub/login", url.Values{"username": {"tess"}, "password": {"tess-password"}, "otp": {code}}).Status
	}
	if s := login(""); s != 403 {
		t.Errorf("no code: %d", s)
	}
	if s := login("000000"); s != 403 {
		t.Errorf("wrong code: %d", s)
	}
	old, _ := totp.GenerateCode(secret, time.Now().Add(-5*time.Minute))
	if s := login(old); s != 403 {
		t.Errorf("a code from 5 minutes ago: %d", s)
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s := login(code); s != 302 {
		t.Errorf("current code: %d", s)
	}
	if s := login(code); s != 403 {
		t.Errorf("the same code again (replay): %d", s)
	}
	// Upstream's field name works too; the next step's code is new (one step of skew).
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	b := h.Browser()
	if r := b.Submit("/hub/login", url.Values{"username": {"tess"}, "password": {"tess-password"}, "2fa": {next}}); r.Status != 302 {
		t.Errorf("next code in field 2fa: %d", r.Status)
	}
	if r := signup(h.Browser(), "ulla", "ulla-password"); r.Status != 200 || strings.Contains(r.Body, "native-2fa") {
		t.Errorf("sign-up without 2FA: %d", r.Status)
	}
	if r := h.Browser().Login("ulla", "ulla-password"); r.Status != 302 {
		t.Errorf("login without 2FA: %d", r.Status)
	}
}

// TestChangePassword: the own form needs the current password; an admin sets anyone's.
func TestChangePassword(t *testing.T) {
	h := newHub(t, func(c *native.Config) { c.OpenSignup = true; c.MinimumPasswordLength = 8 })
	if r := h.Browser().Do("GET", "/hub/change-password", nil); r.Status != 302 || !strings.Contains(r.Location, "/hub/login") {
		t.Errorf("anonymous: %d %s", r.Status, r.Location)
	}
	b := h.Browser()
	signup(b, "fred", "fred-password")
	if r := b.Login("fred", "fred-password"); r.Status != 302 {
		t.Fatal(r.Status)
	}
	change := func(old, pw, confirm string) authtest.Response {
		return b.Submit("/hub/change-password", url.Values{"old_password": {old}, "new_password": {pw}, "new_password_confirmation": {confirm}})
	}
	for _, c := range []struct{ old, pw, confirm, want string }{
		{"wrong-password", "fred-new-password", "fred-new-password", "Your current password is not correct. Please try again."},
		{"fred-password", "fred-new-password", "fred-other-password", "The password and its confirmation do not match."},
		{"fred-password", "short", "short", "The password must be at least 8 characters long."},
		{"fred-password", "FRED", "FRED", "The password must be at least 8 characters long."},
		{"fred-password", "fredfred", "fredfred", ""},
	} {
		r := change(c.old, c.pw, c.confirm)
		if c.want == "" {
			if r.Status != 200 || alert(r.Body) != "Your password has been changed." {
				t.Errorf("change: %d %q", r.Status, alert(r.Body))
			}
			continue
		}
		if r.Status != 400 || alert(r.Body) != c.want {
			t.Errorf("old %q new %q: %d %q, want %q", c.old, c.pw, r.Status, alert(r.Body), c.want)
		}
	}
	if r := h.Browser().Login("fred", "fred-password"); r.Status != 403 {
		t.Errorf("old password after the change: %d", r.Status)
	}
	if r := h.Browser().Login("fred", "fredfred"); r.Status != 302 {
		t.Errorf("new password: %d", r.Status)
	}

	// Another user cannot use the admin form; the admin can, without the old password.
	if r := b.Do("GET", "/hub/change-password/admin", nil); r.Status != 403 {
		t.Errorf("non-admin GET change-password/admin: %d", r.Status)
	}
	admin := adminBrowser(t, h)
	if r := admin.Do("GET", "/hub/change-password/nobody", nil); r.Status != 404 {
		t.Errorf("admin, unknown user: %d", r.Status)
	}
	r := admin.Submit("/hub/change-password/fred", url.Values{"new_password": {"set-by-admin"}, "new_password_confirmation": {"set-by-admin"}})
	if r.Status != 200 || alert(r.Body) != "The password of fred has been changed." {
		t.Errorf("admin change: %d %q", r.Status, alert(r.Body))
	}
	if r := h.Browser().Login("fred", "set-by-admin"); r.Status != 302 {
		t.Errorf("password set by the admin: %d", r.Status)
	}
}

// TestNonAdminForbidden: /hub/authorize and /hub/change-password/<other> answer 403 to a
// logged-in user who is not an admin, and send anonymous browsers to the login page.
func TestNonAdminForbidden(t *testing.T) {
	h := newHub(t, func(c *native.Config) { c.OpenSignup = true })
	b := h.Browser()
	signup(b, "nora", "nora-password")
	signup(h.Browser(), "otto", "otto-password")
	if r := b.Login("nora", "nora-password"); r.Status != 302 {
		t.Fatal(r.Status)
	}
	xsrf := b.XSRF("/hub/change-password")
	for _, c := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/hub/authorize", nil},
		{"POST", "/hub/authorize", url.Values{"_xsrf": {xsrf}, "username": {"otto"}, "action": {"authorize"}}},
		{"GET", "/hub/change-password/otto", nil},
		{"POST", "/hub/change-password/otto", url.Values{"_xsrf": {xsrf}, "new_password": {"hijacked"}, "new_password_confirmation": {"hijacked"}}},
	} {
		if r := b.Do(c.method, c.path, c.form); r.Status != 403 {
			t.Errorf("%s %s: %d", c.method, c.path, r.Status)
		}
	}
	if r := h.Browser().Login("otto", "otto-password"); r.Status != 302 {
		t.Errorf("otto's password changed: %d", r.Status)
	}
	if r := h.Browser().Do("GET", "/hub/authorize", nil); r.Status != 302 || !strings.Contains(r.Location, "/hub/login") {
		t.Errorf("anonymous authorize: %d %s", r.Status, r.Location)
	}
}

// TestXSRFOnEveryForm: each form refuses a post without its _xsrf token and changes nothing.
func TestXSRFOnEveryForm(t *testing.T) {
	h := newHub(t, nil)
	signup(h.Browser(), "pat", "pat-password")
	admin := adminBrowser(t, h)
	anon := h.Browser()
	anon.Do("GET", "/hub/signup", nil) // has the cookies, not the token
	for _, c := range []struct {
		b    *authtest.Browser
		path string
		form url.Values
	}{
		{anon, "/hub/signup", url.Values{"username": {"quinn"}, "signup_password": {"quinn-pw"}, "signup_password_confirmation": {"quinn-pw"}}},
		{admin, "/hub/authorize", url.Values{"username": {"pat"}, "action": {"authorize"}}},
		{admin, "/hub/change-password", url.Values{"old_password": {"admin-secret-pw"}, "new_password": {"hijacked"}, "new_password_confirmation": {"hijacked"}}},
		{admin, "/hub/change-password/pat", url.Values{"new_password": {"hijacked"}, "new_password_confirmation": {"hijacked"}}},
	} {
		for _, token := range []string{"", "forged-token"} {
			f := url.Values{}
			for k, v := range c.form {
				f[k] = v
			}
			if token != "" {
				f.Set("_xsrf", token)
			}
			r := c.b.Do("POST", c.path, f)
			if r.Status != 403 || !strings.Contains(alert(r.Body), "The form has expired or is invalid") {
				t.Errorf("POST %s with _xsrf %q: %d %q", c.path, token, r.Status, alert(r.Body))
			}
		}
	}
	if n, _ := h.DB.NativeNameTaken(t.Context(), "quinn"); n {
		t.Error("sign-up stored without _xsrf")
	}
	if u, _ := h.DB.GetNativeUser(t.Context(), "pat"); u.Authorized {
		t.Error("authorized without _xsrf")
	}
	if r := h.Browser().Login("admin", "admin-secret-pw"); r.Status != 302 {
		t.Error("admin password changed without _xsrf")
	}
}

// TestAuthorizeManySignups: with 10,000 sign-ups the page shows 50 at a time, searches and
// filters by state, and stays fast.
func TestAuthorizeManySignups(t *testing.T) {
	path := authtest.DBFile(t)
	h := newHubAt(t, nil, authtest.Options{DBPath: path})
	admin := adminBrowser(t, h)
	// 10,000 rows like admin's in one statement: row by row through the store takes half a
	// minute under the race detector. Every tenth one is authorized.
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_, err = raw.Exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
		INSERT INTO native_users (username, name_key, hash, email, is_authorized, has_2fa, otp_secret, created, updated)
		SELECT printf('user%05d', i), printf('user%05d', i), a.hash, '', i % 10 = 0, 0, '', a.created, a.updated
		FROM n, (SELECT hash, created, updated FROM native_users WHERE username = 'admin') AS a`)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := admin.Do("GET", "/hub/authorize?page=150", nil)
	took := time.Since(start)
	if r.Status != 200 || !strings.Contains(r.Body, "10001 sign-ups, showing 7451–7500") || strings.Count(r.Body, `<tr id="user-`) != 50 {
		t.Fatalf("page 150: %d\n%s", r.Status, r.Body)
	}
	if took > 2*time.Second {
		t.Errorf("page 150 of 10,000 took %v", took)
	}
	if !strings.Contains(r.Body, `rel="prev"`) || !strings.Contains(r.Body, `rel="next"`) {
		t.Error("no previous/next links")
	}
	r = admin.Do("GET", "/hub/authorize?q=USER0999&state=unauthorized", nil)
	if !strings.Contains(r.Body, "9 sign-ups") || strings.Contains(r.Body, `id="user-user09990"`) || !strings.Contains(r.Body, `id="user-user09991"`) {
		t.Errorf("search: %s", r.Body)
	}
	r = admin.Do("GET", "/hub/authorize?q=_%25&state=bogus&page=-3", nil)
	if r.Status != 200 || !strings.Contains(r.Body, "0 sign-ups") {
		t.Errorf("wildcards searched literally: %d", r.Status)
	}
}

// TestImportFromFirstuse: FirstUse's users keep their passwords (hashes taken over as they
// are) and are authorized; a second start imports nothing twice.
func TestImportFromFirstuse(t *testing.T) {
	path := authtest.DBFile(t)
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:///"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.New(password.Options{Algorithm: password.Bcrypt, BcryptCost: 4, Weak: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"fiona", "gus"} {
		hash, err := hasher.Hash(ctx, n+"-firstuse-pw")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreatePasswordHash(ctx, n, hash); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	h := newHubAt(t, func(c *native.Config) { c.ImportFromFirstuse = true }, authtest.Options{DBPath: path})
	if r := h.Browser().Login("fiona", "fiona-firstuse-pw"); r.Status != 302 {
		t.Errorf("imported user with the FirstUse password: %d %q", r.Status, alert(r.Body))
	}
	if r := h.Browser().Login("gus", "wrong"); r.Status != 403 {
		t.Errorf("imported user, wrong password: %d", r.Status)
	}
	if r := signup(h.Browser(), "Fiona", "another-password"); alert(r.Body) != "This username is already taken. Please choose another one." {
		t.Errorf("sign-up over an imported name: %q", alert(r.Body))
	}
	h.DB.Close()
	h2 := newHubAt(t, func(c *native.Config) { c.ImportFromFirstuse = true }, authtest.Options{DBPath: path})
	users, total, err := h2.DB.ListNativeUsers(ctx, store.NativeListOptions{})
	if err != nil || total != 2 || len(users) != 2 {
		t.Errorf("after a second start: %d sign-ups, %v", total, err)
	}
}

// TestHomeLinks: home links "Change Password" for everyone and "Authorize Users" for admins.
func TestHomeLinks(t *testing.T) {
	h := newHub(t, func(c *native.Config) { c.OpenSignup = true })
	b := h.Browser()
	signup(b, "hal", "hal-password")
	b.Login("hal", "hal-password")
	home := b.Do("GET", "/hub/home", nil).Body
	if !strings.Contains(home, `href="/hub/change-password">Change Password</a>`) || strings.Contains(home, "Authorize Users") {
		t.Errorf("user's home links:\n%s", home)
	}
	home = adminBrowser(t, h).Do("GET", "/hub/home", nil).Body
	if !strings.Contains(home, `href="/hub/authorize">Authorize Users</a>`) {
		t.Errorf("admin's home links:\n%s", home)
	}
}

// TestSecurityHeaders: the pages cannot be framed by another site (clickjacking the
// authorize buttons) and are not sniffed.
func TestSecurityHeaders(t *testing.T) {
	h := newHub(t, nil)
	for _, path := range []string{"/hub/signup", "/hub/authorize", "/hub/change-password", "/hub/api/native/users"} {
		resp, err := http.Get(h.Server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: CSP %q, nosniff %q", path, csp, resp.Header.Get("X-Content-Type-Options"))
		}
	}
}

// TestConfigErrors: negative numbers are refused at startup.
func TestConfigErrors(t *testing.T) {
	for name, edit := range map[string]func(*native.Config){
		"minimum_password_length": func(c *native.Config) { c.MinimumPasswordLength = -1 },
		"allowed_failed_logins":   func(c *native.Config) { c.AllowedFailedLogins = -1 },
		"seconds_before_next_try": func(c *native.Config) { c.SecondsBeforeNextTry = -1 },
		"password_hash":           func(c *native.Config) { c.PasswordHash = "md5" },
	} {
		cfg := native.DefaultConfig()
		edit(cfg)
		if _, err := native.New(cfg, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestSetPasswordLinksEscapeTheName: a sign-up name may hold ? or # (the hub's rules allow
// them). The authorize page's "Set password" link and the admin's change-password form must
// carry the name escaped in the path: unescaped, "fred?x" turns into the user fred, and the
// admin sets fred's password while the page says fred?x.
func TestSetPasswordLinksEscapeTheName(t *testing.T) {
	h := newHub(t, func(c *native.Config) { c.OpenSignup = true })
	for _, name := range []string{"fred", "fred?x"} {
		if r := signup(h.Browser(), name, name+"-password"); r.Status != 200 {
			t.Fatalf("sign-up %s: %d %q", name, r.Status, alert(r.Body))
		}
	}
	admin := adminBrowser(t, h)
	page := admin.Do("GET", "/hub/authorize", nil)
	if !strings.Contains(page.Body, `href="/hub/change-password/fred%3fx"`) && !strings.Contains(page.Body, `href="/hub/change-password/fred%3Fx"`) {
		t.Errorf("authorize page: no escaped Set password link for fred?x:\n%s", page.Body)
	}
	form := admin.Do("GET", "/hub/change-password/fred%3Fx", nil)
	m := regexp.MustCompile(`<form action="([^"]*)"`).FindStringSubmatch(form.Body)
	if form.Status != 200 || m == nil {
		t.Fatalf("change-password/fred%%3Fx: %d\n%s", form.Status, form.Body)
	}
	action := html.UnescapeString(m[1])
	r := admin.Do("POST", action, url.Values{"_xsrf": {admin.XSRF("/hub/change-password/fred%3Fx")},
		"new_password": {"set-by-admin"}, "new_password_confirmation": {"set-by-admin"}})
	if r.Status != 200 || alert(r.Body) != "The password of fred?x has been changed." {
		t.Errorf("POST %s: %d %q", action, r.Status, alert(r.Body))
	}
	if r := h.Browser().Login("fred", "fred-password"); r.Status != 302 {
		t.Errorf("fred's own password no longer works (%d): the admin's form changed fred instead of fred?x", r.Status)
	}
	if r := h.Browser().Login("fred?x", "set-by-admin"); r.Status != 302 {
		t.Errorf("fred?x with the password the admin set: %d", r.Status)
	}
}

// TestDiscardKeepsAnOlderHubUser: anyone may sign up with the name of a hub user that exists
// already (made through the API or the admin page); the sign-up waits for approval. An admin
// who discards that sign-up must not delete the hub user, its tokens and servers with it: the
// user predates the sign-up and is not the sign-up's.
func TestDiscardKeepsAnOlderHubUser(t *testing.T) {
	h := newHub(t, func(c *native.Config) { c.OpenSignup = true })
	if _, err := h.DB.CreateUser(t.Context(), "carol", false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if r := signup(h.Browser(), "carol", "squatter-password"); r.Status != 200 || !strings.Contains(alert(r.Body), "must authorize") {
		t.Fatalf("sign-up of carol: %d %q", r.Status, alert(r.Body))
	}
	if r := signup(h.Browser(), "dave", "dave-password"); r.Status != 200 {
		t.Fatalf("sign-up of dave: %d %q", r.Status, alert(r.Body))
	}
	admin := adminBrowser(t, h)
	page := admin.Do("GET", "/hub/authorize", nil)
	carolRow := regexp.MustCompile(`(?s)id="user-carol">.*?</tr>`).FindString(page.Body)
	daveRow := regexp.MustCompile(`(?s)id="user-dave">.*?</tr>`).FindString(page.Body)
	if !strings.Contains(carolRow, "Name of an existing user") || strings.Contains(daveRow, "Name of an existing user") {
		t.Errorf("the authorize page should warn about carol (an existing hub user) only:\ncarol: %s\ndave: %s", carolRow, daveRow)
	}
	if r := admin.Submit("/hub/authorize", url.Values{"username": {"carol"}, "action": {"discard"}}); r.Status != 303 {
		t.Fatalf("discard: %d %q", r.Status, alert(r.Body))
	}
	if _, err := h.DB.GetNativeUser(t.Context(), "carol"); err == nil {
		t.Error("the sign-up survived")
	}
	if h.User("carol") == nil {
		t.Error("discarding a squatter's sign-up deleted the hub user carol, who existed before it")
	}
}

// A system account's name cannot be signed up for (with open_signup it would be a hub user
// named root at once), and the page says why.
func TestSignupRefusesSystemAccounts(t *testing.T) {
	h := newHub(t, func(c *native.Config) { c.OpenSignup = true })
	for _, name := range []string{"root", "daemon"} {
		r := signup(h.Browser(), name, "a-strong-password-42")
		if r.Status != 400 || !strings.Contains(alert(r.Body), "system account") {
			t.Errorf("%s: %d %q", name, r.Status, alert(r.Body))
		}
		if taken, err := h.DB.NativeNameTaken(t.Context(), name); err != nil || taken {
			t.Errorf("%s: a sign-up was stored (%v)", name, err)
		}
	}
	if r := signup(h.Browser(), "alice", "a-strong-password-42"); r.Status != 200 {
		t.Errorf("alice: %d %q", r.Status, alert(r.Body))
	}
}

// dbBytes is the database file and its -wal, as they are on disk.
func dbBytes(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// totpLogin logs name in with a code of secret for the time at.
func totpLogin(t *testing.T, h *authtest.Hub, name, pw, secret string, at time.Time) int {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return h.Browser().Submit("/hub/login", url.Values{"username": {name}, "password": {pw}, "otp": {code}}).Status
}

// A 2FA secret never reaches the database file in clear: the raw bytes of the file and its
// WAL do not hold it, and the secret still works.
func Test2FASecretNotInClearOnDisk(t *testing.T) {
	path := authtest.DBFile(t)
	h := newHubAt(t, func(c *native.Config) { c.Allow2FA = true; c.OpenSignup = true }, authtest.Options{DBPath: path})
	r := signup(h.Browser(), "vera", "vera-password", "2fa", "on")
	m := regexp.MustCompile(`id="native-2fa-secret">([A-Z2-7]+)<`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("sign-up with 2FA: %d", r.Status)
	}
	if raw := dbBytes(t, path); bytes.Contains(raw, []byte(m[1])) || !bytes.Contains(raw, []byte("vera")) {
		t.Fatalf("the database file holds the 2FA secret in clear (or no row was written)")
	}
	if s := totpLogin(t, h, "vera", "vera-password", m[1], time.Now()); s != 302 {
		t.Errorf("login with a current code: %d", s)
	}
}

// Secrets an older version stored in clear are sealed when the hub starts, and one left in
// clear is sealed when it is next read; the users keep logging in with their apps.
func Test2FAClearSecretsMigrate(t *testing.T) {
	path := authtest.DBFile(t)
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	hash, err := bcrypt.GenerateFromPassword([]byte("wes-password"), 4)
	if err != nil {
		t.Fatal(err)
	}
	old, err := store.Open(t.Context(), "sqlite:///"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"wes", "xan"} {
		if err := old.CreateNativeUser(t.Context(), store.NativeUser{Username: name, Hash: string(hash), Authorized: true, Has2FA: true, OTPSecret: secret}); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	h := newHubAt(t, func(c *native.Config) { c.Allow2FA = true }, authtest.Options{DBPath: path})
	for _, name := range []string{"wes", "xan"} {
		u, err := h.DB.GetNativeUser(t.Context(), name)
		if err != nil || !authstate.IsSealed(u.OTPSecret) {
			t.Fatalf("%s after startup: %+v, %v", name, u, err)
		}
	}
	if raw := dbBytes(t, path); bytes.Contains(raw, []byte(secret)) {
		t.Error("the clear secret is still in the database file or its WAL after startup")
	}
	if s := totpLogin(t, h, "wes", "wes-password", secret, time.Now()); s != 302 {
		t.Errorf("wes with a code of the migrated secret: %d", s)
	}
	// A row written in clear while the hub runs (an older hub sharing the database) is sealed
	// at its next login.
	u, _ := h.DB.GetNativeUser(t.Context(), "xan")
	if ok, err := h.DB.ReplaceNativeOTPSecret(t.Context(), "xan", u.OTPSecret, secret); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if s := totpLogin(t, h, "xan", "wes-password", secret, time.Now()); s != 302 {
		t.Errorf("xan with a code of the clear secret: %d", s)
	}
	if u, _ := h.DB.GetNativeUser(t.Context(), "xan"); !authstate.IsSealed(u.OTPSecret) {
		t.Errorf("xan's clear secret was not sealed on read: %q", u.OTPSecret)
	}
}

// Without a lasting key (no JUPYTERHUB_CRYPT_KEY, a cookie secret made for one run) a hub that
// has or may get 2FA secrets does not start: sealing them with a key lost at restart would
// lose them, storing them in clear is what this prevents. A hub without 2FA starts.
func Test2FANeedsALastingKey(t *testing.T) {
	db, err := store.Open(t.Context(), "sqlite:///"+authtest.DBFile(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, allow := range []bool{true, false} {
		cfg := native.DefaultConfig()
		cfg.Allow2FA = allow
		a, err := native.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = a.UseDatabase(t.Context(), db)
		if allow != (err != nil) || err != nil && !strings.Contains(err.Error(), "JUPYTERHUB_CRYPT_KEY") {
			t.Errorf("allow_2fa %v without a sealer: %v", allow, err)
		}
	}
}
