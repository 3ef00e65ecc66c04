package hub

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/store"
	"gohub/internal/testutil"
)

// adminTab is a Chromium of its own (its own cookies) for one person of the scenario.
type adminTab struct {
	t   *testing.T
	ctx context.Context
}

func newAdminTab(t *testing.T) *adminTab {
	ctx, cancel := context.WithTimeout(testutil.Chromium(t), 90*time.Second)
	t.Cleanup(cancel)
	return &adminTab{t: t, ctx: ctx}
}

func (a *adminTab) do(actions ...chromedp.Action[chromedp.Void]) {
	a.t.Helper()
	if err := chromedp.Do(a.ctx, actions...); err != nil {
		a.t.Fatal(err)
	}
}

func adminTabRun[T any](a *adminTab, act chromedp.Action[T]) T {
	a.t.Helper()
	v, err := chromedp.Run(a.ctx, act)
	if err != nil {
		a.t.Fatal(err)
	}
	return v
}

func (a *adminTab) login(base, user, pw string) {
	a.t.Helper()
	a.do(
		chromedp.Navigate(base+"/hub/login"),
		chromedp.WaitVisible(chromedp.CSS("#username_input")),
		chromedp.SendKeys(chromedp.CSS("#username_input"), user),
		chromedp.SendKeys(chromedp.CSS("#password_input"), pw),
		chromedp.Click(chromedp.CSS("#login_submit")),
		chromedp.WaitNotPresent(chromedp.CSS("#login_submit")),
	)
}

// path is the tab's current path.
func (a *adminTab) path() string {
	a.t.Helper()
	u, err := url.Parse(adminTabRun(a, chromedp.Location()))
	if err != nil {
		a.t.Fatal(err)
	}
	return u.Path
}

func (a *adminTab) waitFor(cond string) {
	a.t.Helper()
	adminTabRun(a, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(15*time.Second)))
}

func (a *adminTab) shot(name string, viewport bool) {
	a.t.Helper()
	if viewport {
		testutil.SaveScreenshot(a.t, name, adminTabRun(a, chromedp.CaptureScreenshot()))
		return
	}
	testutil.SaveScreenshot(a.t, name, adminTabRun(a, chromedp.FullScreenshot(100)))
}

// TestAdminPageBlockAndResetInBrowser: on /hub/admin of a FirstUse hub with account recovery,
// the admin blocks ivy with the keyboard (Block, confirmed by a second press): the row shows
// Blocked and ivy's open browser session ends at once (her next page is the login page); Unblock
// lifts it. "Reset link" shows ivy's one-time link in a dialog with a Copy button, once; a fresh
// browser opens it and sets a new password, which signs in. Invite shows an invitation link.
func TestAdminPageBlockAndResetInBrowser(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return recoveryConfig(t, dir, pub, hubPort, "")
	})
	base := lh.public
	ivy := newAdminTab(t)
	ivy.login(base, "ivy", "ivy-first-pw")
	if p := ivy.path(); strings.HasSuffix(p, "/hub/login") {
		t.Fatalf("ivy's first login stayed on %s", p)
	}
	if !lh.browser().login("jack", "jack-first-pw") {
		t.Fatal("jack's first login")
	}

	root := newAdminTab(t)
	lh.setPassword("chief", "chief-first-pw")
	root.login(base, "chief", "chief-first-pw")
	root.do(
		chromedp.Navigate(base+"/hub/admin"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-user="ivy"] .user-block`)),
	)
	if n := adminTabRun(root, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-user="chief"] .user-block').length`)); n != 0 {
		t.Error("the admin's own row offers Block")
	}
	if !adminTabRun(root, chromedp.Evaluate[bool](`!!document.getElementById("invite-button")`)) {
		t.Error("no Invite button although FirstUse keeps passwords")
	}

	// Block with the keyboard: focus the button, Enter arms it, Enter again blocks.
	root.do(
		chromedp.Focus(chromedp.CSS(`tr[data-user="ivy"] .user-block`)),
		chromedp.KeyEvent("\r"),
	)
	root.waitFor(`document.querySelector('tr[data-user="ivy"] .user-block').textContent === "Press again to block"`)
	if lh.h.IsBlocked("ivy") {
		t.Fatal("ivy blocked by the first press")
	}
	root.do(chromedp.KeyEvent("\r"))
	root.waitFor(`!!document.querySelector('tr[data-user="ivy"] .badge-blocked') && !!document.querySelector('tr[data-user="ivy"] .user-unblock')`)
	root.waitFor(`document.activeElement && document.activeElement.classList.contains("user-unblock")`)
	if !lh.h.IsBlocked("ivy") {
		t.Error("the hub does not consider ivy blocked")
	}
	root.shot("admin-blocked.png", false)

	// ivy's session ended: her next request goes to the login page.
	ivy.do(chromedp.Navigate(base + "/hub/home"))
	if p := ivy.path(); !strings.HasSuffix(p, "/hub/login") {
		t.Errorf("a blocked user's next page is %s, not the login page", p)
	}
	if lh.browser().login("ivy", "ivy-first-pw") {
		t.Error("a blocked user signed in")
	}

	// Unblock: the badge goes, ivy may sign in again.
	root.do(chromedp.KeyEvent("\r"))
	root.waitFor(`!document.querySelector('tr[data-user="ivy"] .badge-blocked') && !!document.querySelector('tr[data-user="ivy"] .user-block')`)
	if lh.h.IsBlocked("ivy") {
		t.Error("ivy still blocked after Unblock")
	}
	if !lh.browser().login("ivy", "ivy-first-pw") {
		t.Error("ivy cannot sign in after Unblock")
	}

	// A password reset link, shown once in a dialog.
	root.do(
		chromedp.Focus(chromedp.CSS(`tr[data-user="ivy"] .user-reset`)),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS("#link-dialog #link-value")),
	)
	link := adminTabRun(root, chromedp.Value(chromedp.CSS("#link-value")))
	if !resetLinkRE.MatchString(link) {
		t.Fatalf("reset link %q", link)
	}
	if h := root.text("#link-dialog-heading"); h != "Password reset link for ivy" {
		t.Errorf("dialog heading %q", h)
	}
	root.do(chromedp.Click(chromedp.CSS("#link-copy")))
	root.waitFor(`document.getElementById("link-copy").textContent === "Copied"`)
	root.shot("admin-reset-link.png", true)
	root.do(chromedp.KeyEvent("\x1b")) // Escape closes the dialog
	root.waitFor(`!document.getElementById("link-dialog").open && document.getElementById("link-value").value === ""`)
	root.waitFor(`document.activeElement && document.activeElement.classList.contains("user-reset") && document.activeElement.closest("tr").getAttribute("data-user") === "ivy"`)

	// A fresh browser opens the link and sets a password; it signs in, the old one does not.
	fresh := newAdminTab(t)
	fresh.do(
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#reset-main #password_input")),
		chromedp.SendKeys(chromedp.CSS("#password_input"), "ivy-reset-password"),
		chromedp.SendKeys(chromedp.CSS("#confirm_input"), "ivy-reset-password"),
		chromedp.Click(chromedp.CSS("#reset_submit")),
		chromedp.WaitVisible(chromedp.CSS("#reset-message")),
	)
	fresh.login(base, "ivy", "ivy-reset-password")
	if p := fresh.path(); strings.HasSuffix(p, "/hub/login") {
		t.Error("the password set through the admin's link does not sign in")
	}
	if lh.browser().login("ivy", "ivy-first-pw") {
		t.Error("the old password still signs in")
	}

	// An invitation link from the Invite button.
	root.do(
		chromedp.Click(chromedp.CSS("#invite-button")),
		chromedp.WaitVisible(chromedp.CSS("#link-dialog #link-value")),
	)
	if inv := adminTabRun(root, chromedp.Value(chromedp.CSS("#link-value"))); !strings.Contains(inv, "/hub/invite?token=") {
		t.Errorf("invitation link %q", inv)
	}
	root.shot("admin-invite-link.png", true)
	root.do(chromedp.Click(chromedp.CSS("#link-close")))
	root.waitFor(`document.activeElement && document.activeElement.id === "invite-button"`)

	// The phone layout with a blocked user.
	if lh.h.BlockUser(t.Context(), "jack", "test") != nil {
		t.Fatal("block jack")
	}
	root.do(
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-user="jack"] .badge-blocked`)),
	)
	root.shot("admin-blocked-phone.png", false)
}

func (a *adminTab) text(sel string) string {
	a.t.Helper()
	return adminTabRun(a, chromedp.Text(chromedp.CSS(sel)))
}

// TestResetLinkPageForUserManagers: /hub/reset-link admits a user whose role grants
// admin:users (as the REST API does), who may issue links for users but, as through the API,
// not for an admin, however the name is typed.
func TestResetLinkPageForUserManagers(t *testing.T) {
	t.Parallel()
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return recoveryConfig(t, dir, pub, hubPort, "")
	})
	jack, root := lh.browser(), lh.browser()
	lh.setPassword("chief", "chief-first-pw")
	if !jack.login("jack", "jack-first-pw") || !root.login("chief", "chief-first-pw") || !lh.browser().login("ivy", "ivy-first-pw") {
		t.Fatal("first logins")
	}
	if code, _, _ := jack.get("/hub/reset-link"); code != 403 {
		t.Errorf("reset-link page before the role: %d", code)
	}
	ctx := t.Context()
	if _, err := lh.h.db.UpsertRole(ctx, store.Role{Name: "helpdesk", Scopes: []string{"admin:users"}}); err != nil {
		t.Fatal(err)
	}
	if err := lh.h.db.GrantRole(ctx, "helpdesk", store.KindUser, "jack"); err != nil {
		t.Fatal(err)
	}
	code, _, body := jack.post("/hub/reset-link", "/hub/reset-link", url.Values{"username": {"ivy"}})
	if code != 200 || resetLinkRE.FindString(body) == "" {
		t.Errorf("a user manager's link for ivy: %d", code)
	}
	for _, name := range []string{"chief", "CHIEF", " chief "} {
		code, _, body := jack.post("/hub/reset-link", "/hub/reset-link", url.Values{"username": {name}})
		if code != 403 || resetLinkRE.FindString(body) != "" || !strings.Contains(body, "Only admins") {
			t.Errorf("a user manager's link for admin %q: %d", name, code)
		}
	}
}
