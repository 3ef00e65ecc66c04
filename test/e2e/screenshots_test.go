package e2e

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shotPage is one page `make screenshots` takes a picture of, on a laptop and on a phone:
// who looks at it ("" signed out), its path, and a selector visible once it is there. A page
// added later is one more line in screenshotPages.
type shotPage struct {
	name  string // file name without .png; the phone picture adds -phone
	user  string
	path  string
	ready string
	// prepare, if set, is JavaScript run before the picture (to show a choice made).
	prepare string
	// todo marks a page another part of the work adds: until it exists (404), the test notes
	// it instead of failing.
	todo bool
}

// screenshotPages are the pages of the state TestScreenshots sets up: alice (an admin) has a
// running default server, a running named server "analysis", a stopped one "scratch" and an API
// token; bob's
// spawner has an options_form, and his server is not running.
var screenshotPages = []shotPage{
	{name: "login", path: "/hub/login", ready: "#login-main"},
	{name: "error-404", path: "/hub/no-such-page", ready: "#error-main"},
	{name: "error-503", path: "/hub/error/503", ready: "#error-main"},
	{name: "home", user: "alice", path: "/hub/home", ready: "#servers"},
	{name: "spawn-profiles", user: "alice", path: "/hub/spawn/alice/draft", ready: "#profile-list",
		prepare: `document.getElementById("profile-item-science").click()`},
	{name: "admin", user: "alice", path: "/hub/admin", ready: `tr[data-user="carol"]`},
	{name: "token", user: "alice", path: "/hub/token", ready: "#api-tokens"},
	{name: "spawn-options-form", user: "bob", path: "/hub/spawn", ready: "#options-form"},
	{name: "not-running-424", user: "bob", path: "/user/bob/tree", ready: "#not-running"},
}

// Viewports of the pictures: a laptop, and a phone (the layout switches below 640 px).
var (
	laptop = [2]int64{1280, 800}
	phone  = [2]int64{390, 844}
)

// TestScreenshots writes a PNG of every page to $GOHUB_SCREENSHOTS (make screenshots:
// docs/screenshots): the pages of screenshotPages at both sizes, then the moments of a spawn
// (the progress bar, Jupyter after it, a failed start). It checks each page is the one asked
// for. Without GOHUB_SCREENSHOTS it is skipped: TestBrowserProfileSpawn covers the same flow.
func TestScreenshots(t *testing.T) {
	if os.Getenv("GOHUB_SCREENSHOTS") == "" {
		t.Skip("GOHUB_SCREENSHOTS is not set (make screenshots sets it)")
	}
	ph := startPagesHub(t, "alice")
	api := ph.h.apiURL
	for _, u := range []string{"alice", "bob", "carol"} {
		if code := call(t, "POST", api+"/users/"+u, svcToken, nil, nil); code != 201 && code != 409 {
			t.Fatalf("create %s: %d", u, code)
		}
	}
	// alice's servers: the default one (standard profile), "analysis" (science, running) and
	// "scratch" (created, never started).
	for _, s := range []struct{ path, profile string }{{"/server", "standard"}, {"/servers/analysis", "science"}} {
		if code := call(t, "POST", api+"/users/alice"+s.path, svcToken, map[string]any{"profile": s.profile}, nil); code != 201 && code != 202 {
			t.Fatalf("start alice%s: %d", s.path, code)
		}
	}
	if code := call(t, "PUT", api+"/users/alice/servers/scratch", svcToken, map[string]any{"display_name": "scratch"}, nil); code != 201 {
		t.Fatalf("create alice/scratch: %d", code)
	}
	if code := call(t, "POST", api+"/users/alice/tokens", svcToken, map[string]any{"note": "nightly report job", "expires_in": 30 * 24 * 3600}, nil); code != 201 {
		t.Fatalf("token for alice: %d", code)
	}
	waitReady(t, api, "alice", "", "analysis")

	b := newTab(t, ph, 4*time.Minute)
	current := "-"
	for _, pg := range screenshotPages {
		if pg.user != current {
			if pg.user == "" {
				b.do(chromedp.Navigate(b.pub + "/hub/logout"))
			} else {
				b.login(pg.user, "%2Fhub%2Fhome")
				b.do(chromedp.WaitVisible(chromedp.CSS("#servers")))
			}
			current = pg.user
		}
		if pg.todo {
			resp, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(b.pub+pg.path))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status == http.StatusNotFound {
				t.Logf("TODO: %s (%s) is not there yet; no screenshot", pg.name, pg.path)
				continue
			}
		}
		for _, size := range []struct {
			suffix string
			vp     [2]int64
		}{{"", laptop}, {"-phone", phone}} {
			ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
			pb := &tab{t: t, ctx: ctx, pub: b.pub}
			pb.do(
				chromedp.EmulateViewport(size.vp[0], size.vp[1]),
				chromedp.Navigate(b.pub+pg.path),
				chromedp.WaitVisible(chromedp.CSS(pg.ready)),
			)
			if pg.prepare != "" {
				eval[any](pb, pg.prepare)
			}
			time.Sleep(150 * time.Millisecond) // let layout settle
			pb.shot(pg.name + size.suffix + ".png")
			cancel()
		}
	}
	b.do(chromedp.EmulateViewport(laptop[0], laptop[1]))

	// A spawn, as alice would see it: the profile form, the progress bar, Jupyter.
	b.login("alice", "%2Fhub%2Fhome")
	b.do(
		chromedp.WaitVisible(chromedp.CSS("#servers")),
		chromedp.Navigate(b.pub+"/hub/spawn/alice/demo"),
		chromedp.WaitVisible(chromedp.CSS("#profile-list")),
		chromedp.Click(chromedp.CSS("#profile-item-science")),
		chromedp.Click(chromedp.CSS("#spawn_submit")),
		chromedp.WaitVisible(chromedp.CSS("#progress")),
	)
	b.poll(`Number(document.getElementById("progress").getAttribute("aria-valuenow")) >= 50`, 20*time.Second)
	time.Sleep(500 * time.Millisecond) // the bar's transition
	b.do(chromedp.Click(chromedp.CSS(".progress-details summary")))
	b.shot("spawn-pending.png")
	b.poll(`location.pathname.indexOf("/user/alice/demo/") === 0 && document.body.innerText.indexOf("science-marker.txt") >= 0`, 90*time.Second)
	b.shot("jupyter-after-spawn.png")

	// carol's server cannot start: the spawn page's answer is the failure and its reason.
	b.login("carol", "")
	b.do(
		chromedp.WaitVisible(chromedp.CSS("#profile-list")),
		chromedp.Click(chromedp.CSS("#spawn_submit")),
		chromedp.WaitVisible(chromedp.CSS("#spawn-error")),
	)
	if msg := eval[string](b, `document.getElementById("spawn-error").textContent`); !strings.Contains(msg, "Spawn failed") {
		t.Errorf("failure shown: %q", msg)
	}
	b.shot("spawn-failed.png")
}

// waitReady waits until the user's servers (by name, "" the default) are ready.
func waitReady(t *testing.T, api, user string, servers ...string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var u map[string]any
		call(t, "GET", api+"/users/"+user, svcToken, nil, &u)
		all := true
		for _, name := range servers {
			s, _ := u["servers"].(map[string]any)[name].(map[string]any)
			if ready, _ := s["ready"].(bool); !ready {
				all = false
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("servers %v of %s not ready: %v", servers, user, u["servers"])
		}
		time.Sleep(250 * time.Millisecond)
	}
}
