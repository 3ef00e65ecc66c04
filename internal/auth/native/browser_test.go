package native_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/testutil"
)

// TestBrowserApproval drives Chromium through the whole story on a full hub: a sign-up, the
// waiting-for-approval message at login, an admin who signs up, logs in, follows the home
// page's "Authorize Users" link and authorizes the account, and the user who then logs in and
// lands on the spawn page. Screenshots of the sign-up, authorize and change-password pages go
// to $GOHUB_SCREENSHOTS.
func TestBrowserApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	f := newFullHub(t, `
minimum_password_length: 8
check_common_password: true
ask_email_on_signup: true
allow_2fa: true
tos: 'I accept the <a href="https://example.org/terms">terms of service</a>.'
`)
	b := testutil.NewTab(t, 90*time.Second)
	ctx, must, text, location, shot := b.Ctx, b.Must, b.Text, b.Location, b.Shot
	base := f.srv.URL
	fillSignup := func(name, email, pw string) {
		t.Helper()
		must(chromedp.Do(ctx,
			chromedp.Navigate(base+"/hub/login"),
			chromedp.WaitVisible(chromedp.CSS("#login-links a")),
			chromedp.Click(chromedp.CSS("#login-links a")), // the login page's "Sign up" link
			chromedp.WaitVisible(chromedp.CSS("#native-signup #username_input")),
			chromedp.SendKeys(chromedp.CSS("#username_input"), name),
			chromedp.SendKeys(chromedp.CSS("#email_input"), email),
			chromedp.SendKeys(chromedp.CSS("#password_input"), pw),
			chromedp.SendKeys(chromedp.CSS("#password_confirmation_input"), pw),
			chromedp.Click(chromedp.CSS("#tos_input")),
		))
	}
	// login posts the login form and waits for the answer: the form's error when refused,
	// else the spawn page every login here lands on (redirect_to_server).
	login := func(name, pw string, refused bool) {
		t.Helper()
		must(chromedp.Do(ctx,
			chromedp.Navigate(base+"/hub/login"),
			chromedp.WaitVisible(chromedp.CSS("#username_input")),
			chromedp.SendKeys(chromedp.CSS("#username_input"), name),
			chromedp.SendKeys(chromedp.CSS("#password_input"), pw),
			chromedp.Click(chromedp.CSS("#login_submit")),
		))
		if refused {
			must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#login-error"))))
			return
		}
		must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#progress, #spawn-error"))))
	}

	// A too common password first: the message names the rule.
	fillSignup("bella", "bella@example.org", "password")
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#signup_submit")), chromedp.WaitVisible(chromedp.CSS("#native-alert"))))
	if got := text("#native-alert"); got != "This password is too common. Please choose a less guessable one." {
		t.Errorf("common password: %q", got)
	}
	shot("native-signup-error.png")
	fillSignup("bella", "bella@example.org", "bella-in-the-hub")
	shot("native-signup.png")
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#signup_submit")), chromedp.WaitVisible(chromedp.CSS("#native-alert"))))
	if got := text("#native-alert"); !strings.Contains(got, "An administrator must authorize it") {
		t.Errorf("after sign-up: %q", got)
	}

	// Another sign-up with two-factor authentication: the secret and its QR code, once.
	fillSignup("carl", "carl@example.org", "carl-in-the-hub")
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#twofa_input")),
		chromedp.Click(chromedp.CSS("#signup_submit")),
		chromedp.WaitVisible(chromedp.CSS("#native-2fa img")),
	))
	if got := text("#native-2fa-secret"); len(got) != 32 {
		t.Errorf("2FA secret shown: %q", got)
	}
	shot("native-signup-2fa.png")

	login("bella", "bella-in-the-hub", true)
	if got := text("#login-error"); !strings.Contains(got, "waiting for approval") {
		t.Errorf("login before approval: %q", got)
	}
	shot("native-login-waiting.png")

	// The admin (whose name nobody can sign up for) gets a password from the command line,
	// logs in, and uses the home page's link.
	f.setPassword("admin", "admin-in-the-hub")
	login("admin", "admin-in-the-hub", false)
	must(chromedp.Do(ctx,
		chromedp.Navigate(base+"/hub/home"),
		chromedp.WaitVisible(chromedp.CSS(`#account-links a[href="/hub/authorize"]`)),
	))
	shot("native-home-admin.png")
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#account-links a[href="/hub/authorize"]`)),
		chromedp.WaitVisible(chromedp.CSS("#user-bella")),
	))
	shot("native-authorize.png")
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#user-bella button[value="authorize"]`)),
		chromedp.WaitVisible(chromedp.CSS("#native-alert")),
	))
	if got := text("#native-alert"); got != "bella is authorized." {
		t.Errorf("after Authorize: %q", got)
	}
	if got := text("#user-bella"); !strings.Contains(got, "Authorized") || strings.Contains(got, "Waiting") {
		t.Errorf("bella's row: %q", got)
	}
	shot("native-authorize-done.png")

	// The admin's change-password pages.
	must(chromedp.Do(ctx,
		chromedp.Navigate(base+"/hub/change-password"),
		chromedp.WaitVisible(chromedp.CSS("#old_password_input")),
	))
	shot("native-change-password.png")
	must(chromedp.Do(ctx,
		chromedp.Navigate(base+"/hub/change-password/bella"),
		chromedp.WaitVisible(chromedp.CSS("#new_password_input")),
	))
	shot("native-change-password-admin.png")

	// Bella logs in and lands on the spawn page.
	must(chromedp.Do(ctx, chromedp.Navigate(base+"/hub/logout"), chromedp.WaitVisible(chromedp.CSS("#username_input"))))
	login("bella", "bella-in-the-hub", false)
	time.Sleep(300 * time.Millisecond) // the progress bar's first paint
	if loc := location(); !strings.Contains(loc, "/hub/spawn-pending/bella") {
		t.Errorf("bella landed on %s", loc)
	}
	shot("native-landed.png")
}
