package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/testutil"
)

// A real browser on home with named servers: create "analysis" with the New server form (it
// starts and opens), stop it, start it again, stop it, delete it; a second server keeps its
// own row throughout. Everything is done with the keyboard-reachable buttons of the page.
func TestBrowserNamedServers(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	se := newSpawnEnv(t, slowStart(1200*time.Millisecond))
	tab := testutil.Chromium(t)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	must := func(err error) {
		t.Helper()
		if err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("at %s: %v", loc, err)
		}
	}
	row := func(name string) string { return `tr.server-row[data-server="` + name + `"]` }
	status := func(name string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row(name)+" .server-status")))
		must(err)
		return strings.TrimSpace(s)
	}
	home := func() {
		t.Helper()
		must(chromedp.Do(ctx, chromedp.Navigate(se.srv.URL+"/hub/home"), chromedp.WaitVisible(chromedp.CSS("#servers"))))
	}

	must(chromedp.Do(ctx,
		chromedp.Navigate(se.srv.URL+"/hub/login?next=%2Fhub%2Fhome"),
		chromedp.WaitVisible(chromedp.CSS("#username_input")),
		chromedp.SendKeys(chromedp.CSS("#username_input"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password_input"), "wonderland"),
		chromedp.Click(chromedp.CSS("#login_submit")),
		chromedp.WaitVisible(chromedp.CSS("#new-server-name")),
	))
	if got := status(""); got != "Stopped" {
		t.Errorf("default server: %q", got)
	}

	// Create: the form goes to the new server's spawn page, which starts it; the progress
	// page follows it until it opens.
	for _, name := range []string{"analysis", "scratch"} {
		must(chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS("#new-server-name"), name),
			chromedp.Click(chromedp.CSS("#new-server-create")),
			chromedp.WaitVisible(chromedp.CSS("#server-hello")),
		))
		hello, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#server-hello")))
		must(err)
		if !strings.Contains(hello, "/user/alice/"+name+"/") {
			t.Errorf("after creating %s: %q", name, hello)
		}
		home()
	}
	for _, name := range []string{"analysis", "scratch"} {
		if got := status(name); got != "Running" {
			t.Errorf("%s after create: %q", name, got)
		}
	}
	if got := status(""); got != "Stopped" {
		t.Errorf("default server after creating named ones: %q", got)
	}

	// Stop, start again (the Start button posts to the spawn page), stop.
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row("analysis")+" .server-stop")),
		chromedp.WaitVisible(chromedp.CSS(row("analysis")+" .server-start")),
	))
	if got := status("analysis"); got != "Stopped" {
		t.Errorf("analysis after Stop: %q", got)
	}
	if st := se.m.Status("alice", "analysis"); st.Active {
		t.Errorf("analysis still active: %+v", st)
	}
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row("analysis")+" .server-start")),
		chromedp.WaitVisible(chromedp.CSS("#server-hello")),
	))
	home()
	if got := status("analysis"); got != "Running" {
		t.Errorf("analysis after Start: %q", got)
	}
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row("analysis")+" .server-stop")),
		chromedp.WaitVisible(chromedp.CSS(row("analysis")+" .server-delete")),
	))

	// Delete: the row goes, the server's record too; scratch is untouched.
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row("analysis")+" .server-delete")),
		chromedp.WaitNotPresent(chromedp.CSS(row("analysis"))),
		chromedp.WaitVisible(chromedp.CSS(row("scratch"))),
	))
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr.server-row[data-server="analysis"]').length`))
	must(err)
	if n != 0 {
		t.Error("analysis still listed after Delete")
	}
	u, err := se.db.GetUser(t.Context(), "alice")
	must(err)
	for _, sp := range u.Spawners {
		if sp.Name == "analysis" {
			t.Error("analysis still in the database after Delete")
		}
	}
	if got := status("scratch"); got != "Running" {
		t.Errorf("scratch after deleting analysis: %q", got)
	}
}
