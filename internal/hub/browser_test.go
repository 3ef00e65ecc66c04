package hub

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/testutil"
)

// TestRecoveryInBrowser: in Chromium, "Forgot password?" on the login page leads to the form,
// the mailed link (real SMTP server) to the new-password form, and the new password signs in;
// an admin creates a link on the reset-link page. Screenshots go to $GOHUB_SCREENSHOTS.
func TestRecoveryInBrowser(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	smtp := testutil.StartSMTP(t, testutil.SMTPOptions{})
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return recoveryConfig(t, dir, pub, hubPort, fmt.Sprintf(`  smtp_host: 127.0.0.1
  smtp_port: %d
  smtp_tls: none
  smtp_sender: Jupyter <jupyter@example.org>
  user_emails: {ivy: ivy@example.org}
`, smtp.Port))
	})
	lh.setPassword("chief", "chief-first-pw")
	for _, who := range []string{"ivy", "chief"} {
		if !lh.browser().login(who, who+"-first-pw") {
			t.Fatalf("%s's first login", who)
		}
	}
	b := testutil.NewTab(t, 90*time.Second)
	ctx, must, text, shot := b.Ctx, b.Must, b.Text, b.Shot

	must(chromedp.Do(ctx,
		chromedp.Navigate(lh.public+"/hub/login"),
		chromedp.WaitVisible(chromedp.CSS("#forgot-password")),
	))
	shot("recovery-login.png")
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#forgot-password")),
		chromedp.WaitVisible(chromedp.CSS("#forgot-main #username_input")),
	))
	shot("recovery-forgot.png")
	must(chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#username_input"), "ivy"),
		chromedp.Click(chromedp.CSS("#forgot_submit")),
		chromedp.WaitVisible(chromedp.CSS("#forgot-message")),
	))
	if got := text("#forgot-message"); !strings.Contains(got, "If that account exists") {
		t.Errorf("forgot answer: %q", got)
	}
	shot("recovery-forgot-sent.png")

	mails := smtp.WaitMails(1, 10*time.Second)
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	link := resetLinkRE.FindString(mails[0].Body)
	if link == "" {
		t.Fatalf("no link in:\n%s", mails[0].Body)
	}
	must(chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#reset-main #password_input")),
	))
	shot("recovery-reset-form.png")
	must(chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#password_input"), "short"),
		chromedp.SendKeys(chromedp.CSS("#confirm_input"), "short"),
		chromedp.Click(chromedp.CSS("#reset_submit")),
		chromedp.WaitVisible(chromedp.CSS("#reset-error")),
	))
	if got := text("#reset-error"); !strings.Contains(got, "too short") {
		t.Errorf("short password message: %q", got)
	}
	shot("recovery-reset-too-short.png")
	must(chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#password_input"), "ivy-browser-password"),
		chromedp.SendKeys(chromedp.CSS("#confirm_input"), "ivy-browser-password"),
		chromedp.Click(chromedp.CSS("#reset_submit")),
		chromedp.WaitVisible(chromedp.CSS("#reset-message")),
	))
	shot("recovery-reset-done.png")

	// The new password signs in.
	must(chromedp.Do(ctx,
		chromedp.Navigate(lh.public+"/hub/login"),
		chromedp.WaitVisible(chromedp.CSS("#username_input")),
		chromedp.SendKeys(chromedp.CSS("#username_input"), "ivy"),
		chromedp.SendKeys(chromedp.CSS("#password_input"), "ivy-browser-password"),
		chromedp.Click(chromedp.CSS("#login_submit")),
		chromedp.WaitNotPresent(chromedp.CSS("#login_submit")),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(err)
	if u, _ := url.Parse(loc); strings.HasSuffix(u.Path, "/hub/login") {
		t.Errorf("still on the login page after signing in with the new password: %s", loc)
	}

	// An admin creates a link on the reset-link page.
	must(chromedp.Do(ctx,
		chromedp.Navigate(lh.public+"/hub/logout"),
		chromedp.Navigate(lh.public+"/hub/login"),
		chromedp.WaitVisible(chromedp.CSS("#username_input")),
		chromedp.SendKeys(chromedp.CSS("#username_input"), "chief"),
		chromedp.SendKeys(chromedp.CSS("#password_input"), "chief-first-pw"),
		chromedp.Click(chromedp.CSS("#login_submit")),
		chromedp.WaitNotPresent(chromedp.CSS("#login_submit")),
		chromedp.Navigate(lh.public+"/hub/reset-link"),
		chromedp.WaitVisible(chromedp.CSS("#resetlink-main #username_input")),
		chromedp.SendKeys(chromedp.CSS("#username_input"), "ivy"),
		chromedp.Click(chromedp.CSS("#resetlink_submit")),
		chromedp.WaitVisible(chromedp.CSS("#reset-link")),
	))
	val, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#reset-link")))
	must(err)
	if !resetLinkRE.MatchString(val) {
		t.Errorf("admin page link %q", val)
	}
	shot("recovery-admin-link.png")

	// An invitation from the same page, then the invitee's form.
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#invite_create")),
		chromedp.WaitVisible(chromedp.CSS("#invite-link")),
	))
	inv, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#invite-link")))
	must(err)
	shot("recovery-admin-invite.png")
	must(chromedp.Do(ctx,
		chromedp.Navigate(lh.public+"/hub/logout"),
		chromedp.Navigate(inv),
		chromedp.WaitVisible(chromedp.CSS("#invite-main #username_input")),
	))
	shot("recovery-invite-form.png")
	must(chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#username_input"), "kate"),
		chromedp.SendKeys(chromedp.CSS("#password_input"), "kate-password"),
		chromedp.SendKeys(chromedp.CSS("#confirm_input"), "kate-password"),
		chromedp.Click(chromedp.CSS("#invite_submit")),
		chromedp.WaitVisible(chromedp.CSS("#invite-message")),
	))
	shot("recovery-invite-done.png")
}
