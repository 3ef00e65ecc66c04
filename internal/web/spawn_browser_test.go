package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/testutil"
)

// A real browser: the login lands on the spawn page, whose pending page shows the progress bar
// filling from the event stream, then moves on to the server by itself; home shows the running
// server with Open and Stop; a stopped server's page offers to start it; a failing spawn shows
// its error. Screenshots go to $GOHUB_SCREENSHOTS when it is set.
func TestBrowserSpawn(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	cfg := slowStart(2500 * time.Millisecond)
	cfg.UserOverrides = map[string]map[string]any{"carol": {"fail": "exec: \"jupyterhub-singleuser\": executable file not found in $PATH", "delay": 0}}
	se := newSpawnEnv(t, cfg)
	b := testutil.NewTab(t, 90*time.Second)
	ctx, must, text, location, shot := b.Ctx, b.Must, b.Text, b.Location, b.Shot

	login := func(user, password string) {
		t.Helper()
		must(chromedp.Do(ctx,
			chromedp.Navigate(se.srv.URL+"/hub/login"),
			chromedp.WaitVisible(chromedp.CSS("#username_input")),
			chromedp.SendKeys(chromedp.CSS("#username_input"), user),
			chromedp.SendKeys(chromedp.CSS("#password_input"), password),
			chromedp.Click(chromedp.CSS("#login_submit")),
		))
	}

	// The login lands on /hub/spawn (redirect_to_server), which goes on to spawn-pending.
	login("alice", "wonderland")
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#progress"))))
	if loc := location(); !strings.HasSuffix(loc, "/hub/spawn-pending/alice") {
		t.Errorf("after login at %s", loc)
	}
	// The bar moves with the spawner's events before the server is up.
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`(function () {
		var n = Number(document.getElementById("progress").getAttribute("aria-valuenow"));
		return n >= 40 && n < 100;
	})()`, chromedp.WithPollingTimeout(10*time.Second)))
	must(err)
	if msg := text("#progress-message"); !strings.Contains(msg, "Preparing the server") {
		t.Errorf("progress message %q", msg)
	}
	time.Sleep(500 * time.Millisecond) // let the bar's transition finish
	shot("web-spawn-pending.png")

	// When the server is ready the page reloads and the hub sends it to the server.
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#server-hello"))))
	if loc := location(); !strings.HasSuffix(loc, "/user/alice/") {
		t.Errorf("after the spawn at %s", loc)
	}
	if got := text("#server-hello"); !strings.Contains(got, "Hello from alice's server") {
		t.Errorf("server page: %q", got)
	}
	shot("web-spawn-ready.png")

	// Home: running, with Open and Stop; Stop stops it and offers Start.
	must(chromedp.Do(ctx,
		chromedp.Navigate(se.srv.URL+"/hub/home"),
		chromedp.WaitVisible(chromedp.CSS(".server-stop")),
	))
	shot("web-home-running.png")
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(".server-stop")),
		chromedp.WaitVisible(chromedp.CSS(".server-start")),
	))
	if st := se.m.Status("alice", ""); st.Active {
		t.Errorf("after Stop: %+v", st)
	}
	shot("web-home-stopped.png")

	// A link into the stopped server shows the not-running page; its button starts the server
	// and comes back to the link.
	must(chromedp.Do(ctx,
		chromedp.Navigate(se.srv.URL+"/user/alice/tree"),
		chromedp.WaitVisible(chromedp.CSS("#not-running #start")),
	))
	shot("web-not-running.png")
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#start")),
		chromedp.WaitVisible(chromedp.CSS("#server-hello")),
	))
	if got := text("#server-hello"); !strings.Contains(got, "/user/alice/tree") {
		t.Errorf("back at the link: %q", got)
	}

	// A spawn that fails shows why, with a button to try again.
	must(chromedp.Do(ctx,
		chromedp.Navigate(se.srv.URL+"/hub/logout"),
		chromedp.WaitVisible(chromedp.CSS("#username_input")),
	))
	login("carol", "lewis")
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#spawn-error"))))
	if got := text("#spawn-error"); !strings.Contains(got, "Spawn failed: exec:") {
		t.Errorf("error shown: %q", got)
	}
	shot("web-spawn-failed.png")
}
