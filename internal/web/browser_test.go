package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/testutil"
)

// A real browser logs in through the form (first with a wrong password), lands on home, and
// signs out. Screenshots go to $GOHUB_SCREENSHOTS when it is set.
func TestBrowserLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	e := newEnv(t, newAuth())
	b := testutil.NewTab(t, 60*time.Second)
	ctx, must, text, location, shot := b.Ctx, b.Must, b.Text, b.Location, b.Shot

	// An anonymous visit to home lands on the login form.
	must(chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/hub/home"),
		chromedp.WaitVisible(chromedp.CSS("#username_input")),
	))
	if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || title != "Sign in · gohub" {
		t.Errorf("login page title %q, %v", title, err)
	}
	shot("web-login.png")

	// A wrong password shows the error and keeps the username.
	must(chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#username_input"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password_input"), "wrong"),
		chromedp.Click(chromedp.CSS("#login_submit")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")),
	))
	if got := text("#login-error"); !strings.Contains(got, "Invalid username or password") {
		t.Errorf("error shown: %q", got)
	}
	shot("web-login-failed.png")

	// The right password goes back to home (the next URL).
	must(chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#password_input"), "wonderland"),
		chromedp.Click(chromedp.CSS("#login_submit")),
		chromedp.WaitVisible(chromedp.CSS("#servers")),
	))
	if user, loc := text("#current-user"), location(); user != "alice" || !strings.HasSuffix(loc, "/hub/home") {
		t.Errorf("after login: user %q at %s", user, loc)
	}
	shot("web-home.png")

	must(chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/hub/error/503"),
		chromedp.WaitVisible(chromedp.CSS("#error-main")),
	))
	shot("web-error-503.png")

	// Sign out from the header.
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#username_input")),
	))
	if loc := location(); !strings.HasSuffix(loc, "/hub/login") {
		t.Errorf("after logout at %s", loc)
	}
}
