package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gohub/internal/testutil"
)

// pagesHub is a gohub (dummy authenticator, simple spawner running Debian's
// jupyterhub-singleuser, named servers) whose spawn page offers a profile list: "Standard" (the
// default) and "Science", whose override points notebook_dir at a directory holding
// science-marker.txt and sets GOHUB_PROFILE, with a profile option of two choices. bob gets an
// options_form instead (user_overrides), carol's servers fail to start. Every server takes two
// seconds longer to start than jupyterhub-singleuser needs, so the progress page is seen.
type pagesHub struct {
	h   *hubProc
	dir string
	pub string // http://127.0.0.1:<port>, no slash
}

const bobOptionsForm = `<label for="flavour">Kernel flavour</label>
<select id="flavour" name="flavour"><option value="plain">Plain Python</option><option value="numeric" selected>Numeric (NumPy, SciPy)</option></select>
<label for="notes">Notes for the administrator</label>
<input id="notes" type="text" name="notes" placeholder="optional">`

// startPagesHub starts the hub; admins are its admin_users.
func startPagesHub(t *testing.T, admins ...string) *pagesHub {
	t.Helper()
	singleuser := needSingleuser(t)
	ph := &pagesHub{dir: t.TempDir()}
	for _, d := range []string{"home/alice", "home/bob", "home/carol", "science"} {
		if err := os.MkdirAll(filepath.Join(ph.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(ph.dir, "science", "science-marker.txt"), []byte("the Science profile's notebook_dir\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	slow := filepath.Join(ph.dir, "slow-singleuser")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nsleep 2\nexec "+singleuser+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	hubPort, pubPort := freePort(t), freePort(t)
	cfg := writeConfig(t, ph.dir, fmt.Sprintf(`
JupyterHub:
  bind_url: http://127.0.0.1:%d
  hub_bind_url: http://127.0.0.1:%d
  db_url: sqlite:///gohub.sqlite
  authenticator_class: dummy
  spawner_class: simple
  allow_named_servers: true
  services:
    - {name: admin-bot, api_token: %s, admin: true}
Authenticator:
  admin_users: [%s]
Spawner:
  cmd: [%s]
  args: [--allow-root]
  start_timeout: 60
  http_timeout: 45
  profile_list:
    - display_name: Standard
      description: A server in your home directory with the default environment.
      default: true
    - display_name: Science
      slug: science
      description: Starts in the shared science directory, with the science environment.
      spawner_override:
        notebook_dir: %s/science
        environment: {GOHUB_PROFILE: science}
      profile_options:
        threads:
          display_name: Worker threads
          choices:
            "1": {display_name: One thread, default: true, spawner_override: {environment: {OMP_NUM_THREADS: "1"}}}
            "4": {display_name: Four threads, spawner_override: {environment: {OMP_NUM_THREADS: "4"}}}
  user_overrides:
    bob:
      profile_list: []
      options_form: %q
    carol:
      cmd: [sh, -c, 'echo "jupyterhub-singleuser: no module named notebook" >&2; exit 3']
SimpleLocalProcessSpawner:
  home_dir_template: %s/home/{username}
`, pubPort, hubPort, svcToken, strings.Join(admins, ", "), slow, ph.dir, bobOptionsForm, ph.dir))
	ph.h = startHub(t, gohubBinary(t), ph.dir, cfg, hubPort, pubPort)
	ph.pub = strings.TrimSuffix(ph.h.pubURL, "/")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub output:\n%s", ph.h.log.String())
		}
		(&scenario{h: ph.h}).stopServers(t)
	})
	return ph
}

// tab is a Chromium tab on a pagesHub with helpers that fail the test.
type tab struct {
	t   *testing.T
	ctx context.Context
	pub string
}

func newTab(t *testing.T, ph *pagesHub, timeout time.Duration) *tab {
	ctx, cancel := context.WithTimeout(testutil.Chromium(t), timeout)
	t.Cleanup(cancel)
	return &tab{t: t, ctx: ctx, pub: ph.pub}
}

func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("at %s: %v", loc, err)
	}
}

func (b *tab) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return loc
}

// eval evaluates a JavaScript expression.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// poll waits until the JavaScript expression is true, across page loads.
func (b *tab) poll(expr string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		// A navigation ends an evaluation with an error: look again on the next page.
		if ok, err = chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
		if b.ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	b.t.Fatalf("waiting for %s at %s (last error %v)\npage text: %.1500s", expr, loc, err, text)
}

// login signs in through the login form (the dummy authenticator takes any password), with
// next as the login page's next (may be empty).
func (b *tab) login(user, next string) {
	b.t.Helper()
	u := b.pub + "/hub/login"
	if next != "" {
		u += "?next=" + next
	}
	b.do(
		chromedp.Navigate(b.pub+"/hub/logout"),
		chromedp.Navigate(u),
		chromedp.WaitVisible(chromedp.CSS("#username_input")),
		chromedp.SendKeys(chromedp.CSS("#username_input"), user),
		chromedp.SendKeys(chromedp.CSS("#password_input"), "any password"),
		chromedp.Click(chromedp.CSS("#login_submit")),
	)
}

// shot saves a full-page screenshot (when GOHUB_SCREENSHOTS is set).
func (b *tab) shot(name string) {
	b.t.Helper()
	if os.Getenv("GOHUB_SCREENSHOTS") == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	testutil.SaveScreenshot(b.t, name, png)
}

// TestBrowserProfileSpawn is issue 7's first acceptance item: alice's login lands on the spawn
// page's profile list; she picks Science, watches the progress bar fill from the event stream,
// and lands in Jupyter, whose file list shows the Science profile's notebook_dir. The server's
// stored user_options and environment say the same.
func TestBrowserProfileSpawn(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	ph := startPagesHub(t)
	b := newTab(t, ph, 150*time.Second)
	b.login("alice", "")
	b.do(chromedp.WaitVisible(chromedp.CSS("#profile-list")))
	if loc := b.location(); !strings.HasSuffix(loc, "/hub/spawn") {
		t.Errorf("the login landed at %s, want the spawn page", loc)
	}
	if !eval[bool](b, `document.getElementById("profile-item-standard").checked`) {
		t.Error("the default profile is not preselected")
	}
	// With the keyboard only: arrow from Standard to Science, Tab to its option and pick "Four
	// threads" by typing, Tab to Start and press Enter.
	b.do(
		chromedp.Focus(chromedp.CSS("#profile-item-standard")),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.WaitVisible(chromedp.CSS("#profile-option-science--threads")),
		chromedp.KeyEvent(kb.Tab),
	)
	if id := eval[string](b, `document.activeElement.id`); id != "profile-option-science--threads" {
		t.Fatalf("Tab from the science profile went to %q", id)
	}
	b.do(chromedp.KeyEvent("F"), chromedp.KeyEvent(kb.Tab))
	if id := eval[string](b, `document.activeElement.id`); id != "spawn_submit" {
		t.Fatalf("Tab from the option went to %q", id)
	}
	if v := eval[string](b, `document.getElementById("profile-option-science--threads").value`); v != "4" {
		t.Errorf("typing F chose %q", v)
	}
	b.do(chromedp.KeyEvent(kb.Enter))
	b.do(chromedp.WaitVisible(chromedp.CSS("#progress")))
	if loc := b.location(); !strings.Contains(loc, "/hub/spawn-pending/alice") {
		t.Errorf("after the form at %s, want spawn-pending", loc)
	}
	b.poll(`Number(document.getElementById("progress").getAttribute("aria-valuenow")) >= 50`, 20*time.Second)
	if msg := eval[string](b, `document.getElementById("progress-message").textContent`); !strings.Contains(msg, "Started") {
		t.Errorf("progress message %q, want the spawner's Started event", msg)
	}

	// Ready: the page reloads, the hub sends it through OAuth to Jupyter's file list, which
	// shows the marker file of the profile's notebook_dir.
	b.poll(`location.pathname.indexOf("/user/alice/") === 0 && document.body.innerText.indexOf("science-marker.txt") >= 0`, 90*time.Second)

	// The REST API applies the same list: an unknown profile is refused before anything starts.
	var refusal map[string]any
	if code := call(t, "POST", ph.h.apiURL+"/users/alice/servers/other", svcToken, map[string]any{"profile": "huge"}, &refusal); code != 400 ||
		!strings.Contains(fmt.Sprint(refusal["message"]), `No such profile: "huge"`) {
		t.Errorf("API start with an unknown profile: %d %v", code, refusal)
	}

	var u map[string]any
	if code := call(t, "GET", ph.h.apiURL+"/users/alice", svcToken, nil, &u); code != 200 {
		t.Fatalf("GET user: %d", code)
	}
	srv, _ := u["servers"].(map[string]any)[""].(map[string]any)
	opts := fmt.Sprint(srv["user_options"])
	if !strings.Contains(opts, "profile:science") || !strings.Contains(opts, "threads:4") {
		t.Errorf("user_options %s, want profile science and threads 4", opts)
	}
	env := readServerEnv(t, ph, "alice")
	for _, want := range []string{"GOHUB_PROFILE=science", "OMP_NUM_THREADS=4", "JUPYTERHUB_ROOT_DIR=" + ph.dir + "/science"} {
		if !strings.Contains(env, want+"\x00") {
			t.Errorf("server environment lacks %s", want)
		}
	}
}

// readServerEnv reads the environment of the user's running jupyterhub-singleuser process
// (the one whose JUPYTERHUB_USER is user), NUL-separated as /proc has it.
func readServerEnv(t *testing.T, ph *pagesHub, user string) string {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		env := string(b)
		if strings.Contains(env, "JUPYTERHUB_USER="+user+"\x00") && strings.Contains(env, "JUPYTERHUB_API_URL="+ph.h.apiURL+"\x00") {
			return env
		}
	}
	t.Fatalf("no process with JUPYTERHUB_USER=%s of this hub", user)
	return ""
}
