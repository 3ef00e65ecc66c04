package hub

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gohub/internal/store"
	"gohub/internal/testutil"
)

// recoveryConfig is a FirstUse hub (ivy, jack, admin chief) with AccountRecovery settings.
func recoveryConfig(t *testing.T, dir string, pub, hubPort int, recovery string) string {
	return hubConfig(t, dir, pub, hubPort, "firstuse", `Authenticator:
  allowed_users: [ivy, jack]
  admin_users: [chief]
FirstUseAuthenticator:
  bcrypt_cost: 10
AccountRecovery:
`+recovery)
}

var resetLinkRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+/hub/reset-password\?token=[A-Za-z0-9%]+`)

// resetPath returns the path and query of a reset URL.
func resetPath(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("bad reset link %q", link)
	}
	return u.RequestURI()
}

// useReset posts a new password through a reset link page and returns status and body.
func (b *browser) useReset(path, pw, confirm string, extra url.Values) (int, string) {
	b.t.Helper()
	u, _ := url.Parse(path)
	form := url.Values{"token": {u.Query().Get("token")}, "password": {pw}, "confirm": {confirm}}
	for k, v := range extra {
		form[k] = v
	}
	formPage := path
	if _, _, page := b.get(path); !xsrfRE.MatchString(page) {
		formPage = "/hub/login" // a spent or expired link shows no form; any anonymous _xsrf will do
	}
	code, _, body := b.post(formPage, "/hub/reset-password", form)
	return code, body
}

// TestPasswordResetLinks: an admin issues a reset link (REST API and admin page); the user sets
// a new password through it once; a refused password leaves the link usable; the link sets
// only its own user's password; non-admins cannot issue links.
func TestPasswordResetLinks(t *testing.T) {
	t.Parallel()
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return recoveryConfig(t, dir, pub, hubPort, "  reset_link_expiry_seconds: 3600\n")
	})
	ivy, jack, root := lh.browser(), lh.browser(), lh.browser()
	lh.setPassword("chief", "chief-first-pw")
	for b, who := range map[*browser]string{ivy: "ivy", jack: "jack", root: "chief"} {
		if !b.login(who, who+"-first-pw") {
			t.Fatalf("%s's first login", who)
		}
	}
	jackTok := lh.newToken("jack")
	if code := lh.api("POST", "/users/ivy/password-reset", jackTok, nil, nil); code != 403 {
		t.Errorf("a non-admin issuing a link: %d, want 403", code)
	}
	if code := lh.api("POST", "/users/nobody/password-reset", adminToken, nil, nil); code != 404 {
		t.Errorf("a link for an unknown user: %d, want 404", code)
	}
	var out map[string]any
	if code := lh.api("POST", "/users/ivy/password-reset", adminToken, nil, &out); code != 201 {
		t.Fatalf("issue a link: %d %v", code, out)
	}
	link, _ := out["url"].(string)
	if !resetLinkRE.MatchString(link) || out["name"] != "ivy" || out["expires_at"] == nil {
		t.Fatalf("reply %v", out)
	}
	path := resetPath(t, link)

	anon := lh.browser()
	resp, err := anon.c.Get(lh.public + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("reset page: %d, Referrer-Policy %q", resp.StatusCode, resp.Header.Get("Referrer-Policy"))
	}
	if code, body := anon.useReset(path, "short", "short", nil); code != 400 || !strings.Contains(body, "too short") {
		t.Errorf("a too-short password: %d", code)
	}
	if code, body := anon.useReset(path, "ivy-new-password", "ivy-other-password", nil); code != 400 || !strings.Contains(body, "do not match") {
		t.Errorf("mismatched passwords: %d", code)
	}
	// The form names no user; a username smuggled in changes nothing.
	code, body := anon.useReset(path, "ivy-new-password", "ivy-new-password", url.Values{"username": {"jack"}})
	if code != 200 || !strings.Contains(body, "Your password has been changed") {
		t.Fatalf("reset: %d\n%s", code, body)
	}
	if !lh.browser().login("ivy", "ivy-new-password") || lh.browser().login("ivy", "ivy-first-pw") {
		t.Error("ivy's password did not change")
	}
	if !lh.browser().login("jack", "jack-first-pw") {
		t.Error("ivy's link changed jack's password")
	}
	if ivy.loggedIn() {
		t.Error("ivy's old browser session survived the reset")
	}
	if code, _, _ := anon.get(path); code != 400 {
		t.Errorf("the spent link: %d, want 400", code)
	}
	if code, body := anon.useReset(path, "ivy-third-password", "ivy-third-password", nil); code != 400 || !strings.Contains(body, "already used") {
		t.Errorf("a second use: %d", code)
	}

	// The admin page: root gets a link for jack; jack gets 403.
	if code, _, _ := jack.get("/hub/reset-link"); code != 403 {
		t.Errorf("reset-link page for a non-admin: %d", code)
	}
	code, _, body = root.post("/hub/reset-link", "/hub/reset-link", url.Values{"username": {"jack"}})
	page := resetLinkRE.FindString(body)
	if code != 200 || page == "" {
		t.Fatalf("admin page: %d\n%s", code, body)
	}
	if code, _ := lh.browser().useReset(resetPath(t, page), "jack-new-password", "jack-new-password", nil); code != 200 {
		t.Errorf("the admin page's link: %d", code)
	}
	if !lh.browser().login("jack", "jack-new-password") {
		t.Error("the admin page's link did not set jack's password")
	}
}

// TestPasswordResetLinkExpires: a link older than reset_link_expiry_seconds is refused.
func TestPasswordResetLinkExpires(t *testing.T) {
	t.Parallel()
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return recoveryConfig(t, dir, pub, hubPort, "  reset_link_expiry_seconds: 1\n")
	})
	// A user the admin created (no password yet: no slow hashing in this test).
	if code := lh.api("POST", "/users/ivy", adminToken, nil, nil); code != 201 {
		t.Fatalf("create ivy: %d", code)
	}
	var out map[string]any
	if code := lh.api("POST", "/users/ivy/password-reset", adminToken, nil, &out); code != 201 {
		t.Fatalf("issue: %d", code)
	}
	time.Sleep(1100 * time.Millisecond)
	if code, body := lh.browser().useReset(resetPath(t, out["url"].(string)), "ivy-new-password", "ivy-new-password", nil); code != 400 || !strings.Contains(body, "expired") {
		t.Errorf("an expired link: %d, want 400", code)
	}
	if _, err := lh.h.db.GetPasswordHash(t.Context(), "ivy"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an expired link set a password: %v", err)
	}
}

// TestForgotPasswordByEmail: with SMTP configured the login page offers "Forgot password?";
// asking for an existing name, an unknown one and one without an address gets the same page
// at once, and only the existing name gets a mail (delivered to a real SMTP server) whose link
// sets the password.
func TestForgotPasswordByEmail(t *testing.T) {
	t.Parallel()
	smtp := testutil.StartSMTP(t, testutil.SMTPOptions{})
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return recoveryConfig(t, dir, pub, hubPort, fmt.Sprintf(`  smtp_host: 127.0.0.1
  smtp_port: %d
  smtp_tls: none
  smtp_sender: Jupyter <jupyter@example.org>
  user_emails: {ivy: ivy@example.org}
`, smtp.Port))
	})
	for _, who := range []string{"ivy", "jack"} {
		if !lh.browser().login(who, who+"-first-pw") {
			t.Fatalf("%s's first login", who)
		}
	}
	anon := lh.browser()
	if _, _, body := anon.get("/hub/login"); !strings.Contains(body, `id="forgot-password"`) {
		t.Error("the login page has no 'Forgot password?' link")
	}

	answers := map[string]string{}
	took := map[string]time.Duration{}
	for _, name := range []string{"nobody", "jack", "ivy"} {
		start := time.Now()
		code, _, body := anon.post("/hub/forgot-password", "/hub/forgot-password", url.Values{"username": {name}})
		took[name] = time.Since(start)
		if code != 200 {
			t.Errorf("forgot %s: %d", name, code)
		}
		answers[name] = body
	}
	if answers["ivy"] != answers["nobody"] || answers["ivy"] != answers["jack"] {
		t.Errorf("the answers differ between an existing name and others:\nivy:\n%s\nnobody:\n%s", answers["ivy"], answers["nobody"])
	}
	if !strings.Contains(answers["ivy"], "If that account exists") {
		t.Errorf("answer:\n%s", answers["ivy"])
	}
	for name, d := range took {
		// The form post includes loading the form; the lookup and the mail run afterwards.
		if d > 500*time.Millisecond {
			t.Errorf("forgot %s took %v; the answer must not wait for lookups or mail", name, d)
		}
	}
	mails := smtp.WaitMails(1, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if mails = smtp.Mails(); len(mails) != 1 || mails[0].To[0] != "ivy@example.org" {
		t.Fatalf("mails: %+v, want one to ivy@example.org", mails)
	}
	link := resetLinkRE.FindString(mails[0].Body)
	if link == "" {
		t.Fatalf("no link in the mail:\n%s", mails[0].Body)
	}
	if code, _ := anon.useReset(resetPath(t, link), "ivy-mailed-password", "ivy-mailed-password", nil); code != 200 {
		t.Fatalf("the mailed link: %d", code)
	}
	if !lh.browser().login("ivy", "ivy-mailed-password") {
		t.Error("the mailed link did not set ivy's password")
	}
}

// TestInvitations: an admin creates a one-time invitation (REST API or the admin page); the
// invitee picks a free name and a password and can log in although no allow rule names them
// (the invitation pre-authorizes the account); a taken or invalid name or a bad password
// leaves the invitation usable; it works once; non-admins cannot create invitations; deleting
// the user ends the pre-authorization.
func TestInvitations(t *testing.T) {
	t.Parallel()
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return recoveryConfig(t, dir, pub, hubPort, "  invite_expiry_seconds: 3600\n")
	})
	if code := lh.api("POST", "/users/ivy", adminToken, nil, nil); code != 201 {
		t.Fatalf("create ivy: %d", code)
	}
	if lh.browser().login("kate", "kate-password") {
		t.Fatal("kate logged in without an invitation")
	}
	if code := lh.api("POST", "/invitations", lh.newToken("ivy"), nil, nil); code != 403 {
		t.Errorf("a non-admin creating an invitation: %d, want 403", code)
	}
	var out map[string]any
	if code := lh.api("POST", "/invitations", adminToken, nil, &out); code != 201 {
		t.Fatalf("create an invitation: %d %v", code, out)
	}
	link, _ := out["url"].(string)
	u, err := url.Parse(link)
	if err != nil || u.Path != "/hub/invite" || u.Query().Get("token") == "" {
		t.Fatalf("invitation url %q", link)
	}
	path := u.RequestURI()
	b := lh.browser()
	accept := func(name, pw, confirm string) (int, string) {
		t.Helper()
		formPage := path
		if _, _, page := b.get(path); !xsrfRE.MatchString(page) {
			formPage = "/hub/login"
		}
		code, _, body := b.post(formPage, "/hub/invite", url.Values{"token": {u.Query().Get("token")},
			"username": {name}, "password": {pw}, "confirm": {confirm}})
		return code, body
	}
	for _, c := range []struct{ name, pw, want string }{
		{"ivy", "a-long-password", "taken"},
		{"a/b", "a-long-password", "cannot be used"},
		{"kate", "short", "too short"},
	} {
		if code, body := accept(c.name, c.pw, c.pw); code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("invite as %q: %d, want 400 mentioning %q", c.name, code, c.want)
		}
	}
	if code, body := accept("Kate", "kate-password", "kate-password"); code != 200 || !strings.Contains(body, "Your account kate is ready") {
		t.Fatalf("accept: %d\n%s", code, body)
	}
	if !lh.browser().login("kate", "kate-password") {
		t.Error("the invited account cannot log in")
	}
	if code, _ := accept("lena", "lena-password", "lena-password"); code != 400 {
		t.Errorf("a second use of the invitation: %d, want 400", code)
	}
	if lh.browser().login("lena", "lena-password") {
		t.Error("a spent invitation created a second account")
	}

	// The admin page creates invitations too.
	root := lh.browser()
	lh.setPassword("chief", "chief-first-pw")
	if !root.login("chief", "chief-first-pw") {
		t.Fatal("chief's login")
	}
	code, _, body := root.post("/hub/reset-link", "/hub/invite-link", url.Values{})
	inv := regexp.MustCompile(`http://127\.0\.0\.1:\d+/hub/invite\?token=[A-Za-z0-9%]+`).FindString(body)
	if code != 200 || inv == "" {
		t.Fatalf("admin page invitation: %d\n%s", code, body)
	}

	// Deleting the invited user ends the pre-authorization (and the password goes with it).
	if code := lh.api("DELETE", "/users/kate", adminToken, nil, nil); code != 204 {
		t.Fatalf("delete kate: %d", code)
	}
	if lh.browser().login("kate", "kate-password") {
		t.Error("a deleted invited user can still log in")
	}

	// An invitation (any holder of admin:users issues them) cannot create an admin: with the
	// hub user of the admin_users name chief deleted, the name is free, but not for an invitee.
	if code := lh.api("DELETE", "/users/chief", adminToken, nil, nil); code != 204 {
		t.Fatalf("delete chief: %d", code)
	}
	iu, _ := url.Parse(inv)
	ib := lh.browser()
	code, _, body = ib.post(iu.RequestURI(), "/hub/invite", url.Values{"token": {iu.Query().Get("token")},
		"username": {"chief"}, "password": {"mallory-password"}, "confirm": {"mallory-password"}})
	if code != 400 || !strings.Contains(body, "cannot be used") {
		t.Errorf("an invitation for the admin_users name chief: %d", code)
	}
	if lh.browser().login("chief", "mallory-password") {
		t.Error("an invitee became the admin chief")
	}
}
