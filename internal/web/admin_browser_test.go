package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/spawner"
	"gohub/internal/testutil"
)

// chromeTab wraps a chromedp tab for one scenario: every step fails the test on error.
type chromeTab struct {
	t   *testing.T
	ctx context.Context
}

func newChromeTab(t *testing.T) *chromeTab {
	tab := testutil.Chromium(t)
	ctx, cancel := context.WithTimeout(tab, 120*time.Second)
	t.Cleanup(cancel)
	return &chromeTab{t: t, ctx: ctx}
}

func (c *chromeTab) do(actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, actions...); err != nil {
		c.t.Fatal(err)
	}
}

func must[T any](c *chromeTab, a chromedp.Action[T]) T {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, a)
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

func (c *chromeTab) text(sel string) string {
	c.t.Helper()
	return must(c, chromedp.Text(chromedp.CSS(sel)))
}

// waitFor polls a JavaScript condition.
func (c *chromeTab) waitFor(cond string) {
	c.t.Helper()
	must(c, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(15*time.Second)))
}

func (c *chromeTab) shot(name string) {
	c.t.Helper()
	testutil.SaveScreenshot(c.t, name, must(c, chromedp.FullScreenshot(100)))
}

// viewShot is shot of the viewport only: a modal dialog's backdrop covers the viewport, not
// the full page.
func (c *chromeTab) viewShot(name string) {
	c.t.Helper()
	testutil.SaveScreenshot(c.t, name, must(c, chromedp.CaptureScreenshot()))
}

// phone and laptop switch the viewport.
func (c *chromeTab) phone() {
	c.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile), chromedp.Sleep(200*time.Millisecond))
}

func (c *chromeTab) laptop() {
	c.do(chromedp.EmulateViewport(1280, 800), chromedp.Sleep(100*time.Millisecond))
}

func (c *chromeTab) login(base, next, user, password string) {
	c.t.Helper()
	c.do(
		chromedp.Navigate(base+"/hub/login?next="+next),
		chromedp.WaitVisible(chromedp.CSS("#username_input")),
		chromedp.SendKeys(chromedp.CSS("#username_input"), user),
		chromedp.SendKeys(chromedp.CSS("#password_input"), password),
		chromedp.Click(chromedp.CSS("#login_submit")),
	)
}

// An admin on /hub/admin adds three users at once, starts bob's server from the page, sees it
// running with an Open link that reaches it, stops it; searches, sorts, renames and deletes a
// user, and builds a group with members and properties. Screenshots at laptop and phone size.
func TestBrowserAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	ae := newAPIEnv(t, slowStart(600*time.Millisecond))
	c := newChromeTab(t)
	base := ae.srv.URL

	c.login(base, "%2Fhub%2Fadmin", "Boss", "secret")
	c.do(chromedp.WaitVisible(chromedp.CSS(`tr[data-user="boss"]`)))

	// Add three users at once.
	c.do(
		chromedp.Click(chromedp.CSS("#add-users-toggle")),
		chromedp.WaitVisible(chromedp.CSS("#add-usernames")),
		chromedp.SendKeys(chromedp.CSS("#add-usernames"), "bob\ncarol\ndave"),
		chromedp.Click(chromedp.CSS("#add-users-submit")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-user="dave"]`)),
	)
	if msg := c.text("#admin-message"); !strings.Contains(msg, "Added 3 users: bob, carol, dave") {
		t.Errorf("message after adding: %q", msg)
	}
	for _, name := range []string{"bob", "carol", "dave"} {
		if u, err := ae.db.GetUser(t.Context(), name); err != nil || u.Admin {
			t.Errorf("user %s: %+v, %v", name, u, err)
		}
	}
	rows := must(c, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#users-body tr")).map(r => r.dataset.user)`))
	if !slices.Equal(rows, []string{"bob", "boss", "carol", "dave"}) {
		t.Errorf("rows by name: %v", rows)
	}

	// Start bob's server from the admin page: Starting, then Running with Stop and Open.
	c.do(chromedp.Click(chromedp.CSS(`tr[data-user="bob"] .server-start`)))
	c.do(chromedp.WaitVisible(chromedp.CSS(`tr[data-user="bob"] .server-stop`)))
	if st := ae.m.Status("bob", ""); !st.Active || !st.Ready {
		t.Errorf("bob's server after Start: %+v", st)
	}
	if got := c.text(`tr[data-user="bob"] .badge-ok`); got != "Running" {
		t.Errorf("bob's badge: %q", got)
	}
	href := must(c, chromedp.Evaluate[string](`document.querySelector('tr[data-user="bob"] .server-open').getAttribute("href")`))
	if href != "/user/bob/" {
		t.Errorf("Open link: %q", href)
	}
	c.shot("web-admin.png")
	// The link reaches bob's server (through the stand-in proxy), then back to the admin page.
	c.do(chromedp.Navigate(base+href), chromedp.WaitVisible(chromedp.CSS("#server-hello")))
	if got := c.text("#server-hello"); !strings.Contains(got, "Hello from bob's server") {
		t.Errorf("Open reached %q", got)
	}
	c.do(chromedp.Navigate(base+"/hub/admin"), chromedp.WaitVisible(chromedp.CSS(`tr[data-user="bob"] .server-stop`)))
	c.phone()
	c.shot("web-admin-phone.png")
	c.laptop()

	// Stop it again.
	c.do(chromedp.Click(chromedp.CSS(`tr[data-user="bob"] .server-stop`)))
	c.do(chromedp.WaitVisible(chromedp.CSS(`tr[data-user="bob"] .server-start`)))
	ae.waitStatus("bob", "", func(st spawner.ServerStatus) bool { return !st.Active && st.Pending == "" })

	// A named server shows on its own line under the user, with its own buttons; stopping it
	// from the page stops that server only.
	carol, err := ae.db.GetUser(t.Context(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ae.m.Start(t.Context(), spawner.User{ID: carol.ID, Name: "carol"}, "lab", nil); err != nil {
		t.Fatal(err)
	}
	ae.waitStatus("carol", "lab", func(st spawner.ServerStatus) bool { return st.Ready })
	ae.api.Invalidate()
	c.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`tr[data-user="carol"] li[data-server="lab"] .server-stop`)))
	if got := c.text(`tr[data-user="carol"] li[data-server=""] .badge`); got != "Stopped" {
		t.Errorf("carol's default server: %q", got)
	}
	c.do(chromedp.Click(chromedp.CSS(`tr[data-user="carol"] li[data-server="lab"] .server-stop`)))
	c.do(chromedp.WaitVisible(chromedp.CSS(`tr[data-user="carol"] li[data-server="lab"] .server-start`)))
	ae.waitStatus("carol", "lab", func(st spawner.ServerStatus) bool { return !st.Active && st.Pending == "" })

	// Search narrows the list; the filter is kept in the address.
	c.do(chromedp.SendKeys(chromedp.CSS("#user-search"), "car"))
	c.waitFor(`document.querySelectorAll("#users-body tr.user-row").length === 1`)
	if got := c.text(`#users-body tr.user-row th`); !strings.HasPrefix(got, "carol") {
		t.Errorf("search result: %q", got)
	}
	loc := must(c, chromedp.Location())
	if !strings.Contains(loc, "name_filter=car") {
		t.Errorf("address after search: %s", loc)
	}
	must(c, chromedp.Evaluate[bool](`(s => { s.value = ""; return s.dispatchEvent(new Event("input")); })(document.getElementById("user-search"))`))
	c.waitFor(`document.querySelectorAll("#users-body tr.user-row").length === 4`)

	// Sorting by name descending, from the keyboard.
	c.do(chromedp.Focus(chromedp.CSS(`th[data-sort="name"] button`)), chromedp.KeyEvent("\r"))
	c.waitFor(`document.querySelector('th[data-sort="name"]').getAttribute("aria-sort") === "descending"`)
	c.waitFor(`document.querySelector("#users-body tr").dataset.user === "dave"`)

	// Rename dave to dan and make him an admin, then delete him.
	c.do(
		chromedp.Click(chromedp.CSS(`tr[data-user="dave"] .user-edit`)),
		chromedp.WaitVisible(chromedp.CSS("#user-dialog")),
		chromedp.SetValue(chromedp.CSS("#edit-name"), "dan"),
		chromedp.Click(chromedp.CSS("#edit-admin")),
		chromedp.Click(chromedp.CSS("#edit-save")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-user="dan"] .badge-admin`)),
	)
	if u, err := ae.db.GetUser(t.Context(), "dan"); err != nil || !u.Admin {
		t.Errorf("dan after edit: %+v, %v", u, err)
	}
	// The keyboard focus comes back to the renamed user's row.
	c.waitFor(`document.activeElement.classList.contains("user-edit") && document.activeElement.closest("tr").dataset.user === "dan"`)
	c.do(
		chromedp.Click(chromedp.CSS(`tr[data-user="dan"] .user-edit`)),
		chromedp.WaitVisible(chromedp.CSS("#user-dialog")),
		chromedp.Click(chromedp.CSS("#edit-delete")),
	)
	if got := c.text("#edit-delete"); !strings.Contains(got, "Press again") {
		t.Errorf("delete asks for a second press: %q", got)
	}
	c.do(chromedp.Click(chromedp.CSS("#edit-delete")))
	c.waitFor(`!document.querySelector('tr[data-user="dan"]')`)
	if _, err := ae.db.GetUser(t.Context(), "dan"); err == nil {
		t.Error("dan still exists")
	}

	// A group with two members and a property; one member removed.
	c.do(
		chromedp.SendKeys(chromedp.CSS("#new-group"), "physics"),
		chromedp.Click(chromedp.CSS("#add-group-submit")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-group="physics"] .group-edit`)),
		chromedp.Click(chromedp.CSS(`tr[data-group="physics"] .group-edit`)),
		chromedp.WaitVisible(chromedp.CSS("#group-dialog")),
		chromedp.SendKeys(chromedp.CSS("#group-new-members"), "bob, carol"),
		chromedp.Click(chromedp.CSS("#group-add-members-submit")),
	)
	c.waitFor(`document.querySelectorAll("#group-members .chip").length === 2`)
	c.do(
		chromedp.SetValue(chromedp.CSS("#group-properties"), `{"course": "PHY101"}`),
		chromedp.Click(chromedp.CSS("#group-properties-save")),
	)
	c.waitFor(`document.querySelector('tr[data-group="physics"]').textContent.includes("course")`)
	c.viewShot("web-admin-group.png")
	c.do(chromedp.Click(chromedp.CSS(`#group-members button[aria-label^="Remove carol"]`)))
	c.waitFor(`document.querySelectorAll("#group-members .chip").length === 1`)
	g, err := ae.db.GetGroup(t.Context(), "physics")
	if err != nil || !slices.Equal(g.Users, []string{"bob"}) || g.Properties["course"] != "PHY101" {
		t.Errorf("group physics: %+v, %v", g, err)
	}
	c.do(chromedp.Click(chromedp.CSS("#group-close")))

	// A user who is not an admin gets the 403 page.
	c.do(chromedp.Navigate(base + "/hub/logout"))
	c.login(base, "%2Fhub%2Fadmin", "alice", "wonderland")
	c.do(chromedp.WaitVisible(chromedp.CSS("#error-main")))
	if got := c.text(".status-code"); got != "403" {
		t.Errorf("alice on /hub/admin: %q", got)
	}
}

// A user creates a token on /hub/token with a note, an expiry and a scope, uses it against
// the API, and revokes it, after which the API refuses it.
func TestBrowserToken(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	ae := newAPIEnv(t, slowStart(0))
	c := newChromeTab(t)
	base := ae.srv.URL

	c.login(base, "%2Fhub%2Ftoken", "alice", "wonderland")
	c.do(chromedp.WaitVisible(chromedp.CSS("#token-form")))
	if got := c.text("#no-api-tokens"); !strings.Contains(got, "no API tokens") {
		t.Errorf("empty list: %q", got)
	}
	c.do(
		chromedp.SendKeys(chromedp.CSS("#token-note"), "laptop"),
		chromedp.SetValue(chromedp.CSS("#token-expires"), "86400"),
		chromedp.SendKeys(chromedp.CSS("#token-scopes"), "read:users!user=alice"),
		chromedp.Click(chromedp.CSS("#token-submit")),
		chromedp.WaitVisible(chromedp.CSS("#new-token")),
	)
	token := must(c, chromedp.Value(chromedp.CSS("#new-token-value")))
	if len(token) < 16 {
		t.Fatalf("token shown: %q", token)
	}
	if got := c.text(".token-row th"); got != "laptop" {
		t.Errorf("new row's note: %q", got)
	}
	c.shot("web-token.png")

	call := func(path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/hub/api"+path, nil)
		req.Header.Set("Authorization", "token "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		return resp.StatusCode, m
	}
	if code, m := call("/users/alice"); code != 200 || m["name"] != "alice" {
		t.Errorf("GET /users/alice with the token: %d %v", code, m)
	}
	if code, _ := call("/users/alice/tokens"); code != 403 {
		t.Errorf("GET tokens with a read:users token: %d, want 403", code)
	}
	alice, err := ae.db.GetUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	toks, err := ae.db.ListTokens(t.Context(), "user", alice.ID)
	if err != nil || len(toks) != 1 || toks[0].Note != "laptop" || toks[0].ExpiresAt == nil ||
		toks[0].ExpiresAt.Sub(time.Now()) < 23*time.Hour || !slices.Equal(toks[0].Scopes, []string{"read:users!user=alice"}) {
		t.Errorf("stored tokens: %+v, %v", toks, err)
	}

	// The list is server-rendered on the next visit.
	c.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".token-row")))
	if got := c.text(".token-row td[data-label=Permissions]"); got != "read:users!user=alice" {
		t.Errorf("scopes shown: %q", got)
	}
	c.phone()
	c.shot("web-token-phone.png")
	c.laptop()

	// Revoke: the row goes, the API no longer takes the token.
	c.do(chromedp.Click(chromedp.CSS(".token-row .token-revoke")))
	c.waitFor(`!document.querySelector(".token-row")`)
	ae.api.Invalidate()
	if code, _ := call("/users/alice"); code != 403 {
		t.Errorf("GET /users/alice with the revoked token: %d, want 403", code)
	}
}
