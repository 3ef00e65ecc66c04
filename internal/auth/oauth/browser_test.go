package oauth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/testutil"
)

// A real browser signs in through the provider: the hub's login page shows only the
// "Sign in with Test IdP" button; clicking it leads to the provider's form, and submitting it
// lands on /hub/home. A user the hub does not allow sees the hub's 403 page, not a trace.
// Screenshots go to $GOHUB_SCREENSHOTS when it is set.
func TestOIDCBrowserLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	th, op := setupOIDC(t)
	b := testutil.NewTab(t, 60*time.Second)
	ctx, must, text, shot := b.Ctx, b.Must, b.Text, b.Shot
	// signIn goes from the hub's login page through the provider's form, until sel shows.
	signIn := func(user, sel string) {
		t.Helper()
		must(chromedp.Do(ctx,
			chromedp.Navigate(th.srv.URL+"/hub/login"),
			chromedp.WaitVisible(chromedp.CSS("#login_service")),
		))
		if user == "alice" {
			shot("oauth-login.png")
			if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("input[type=password]").length`)); err != nil || n != 0 {
				t.Errorf("the login page has %d password fields (%v)", n, err)
			}
		}
		must(chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS("#login_service")),
			chromedp.WaitVisible(chromedp.CSS("#username")),
		))
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, op.issuer) {
			t.Errorf("the button led to %s, not the provider", loc)
		}
		must(chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS("#username"), user),
			chromedp.SendKeys(chromedp.CSS("#password"), "pw-"+user),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(sel)),
		))
	}

	signIn("alice", "#servers")
	if user, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(user, "/hub/home") {
		t.Errorf("alice landed at %s", user)
	}
	if got := text("#current-user"); got != "alice" {
		t.Errorf("current user %q", got)
	}
	shot("oauth-home.png")
	must(chromedp.Do(ctx, chromedp.Navigate(th.srv.URL+"/hub/logout"), chromedp.WaitVisible(chromedp.CSS("#login_service"))))

	signIn("carol", "#error-main")
	if got := text("#error-main"); !strings.Contains(got, "403") || !strings.Contains(got, "not currently authorized") {
		t.Errorf("carol's page: %q", got)
	}
	shot("oauth-403.png")
}
