package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gohub/internal/spawner"
)

// slowStart is a spawner config whose server takes about d to come up.
func slowStart(d time.Duration) testSpawnerConfig {
	return testSpawnerConfig{Config: spawner.DefaultConfig(), Delay: spawner.Duration(d)}
}

func wantRedirect(t *testing.T, r *response, status int, location string) {
	t.Helper()
	if r.StatusCode != status || r.Header.Get("Location") != location {
		t.Fatalf("got %d to %q, want %d to %q; body %.300s", r.StatusCode, r.Header.Get("Location"), status, location, r.body)
	}
}

// Login lands on /hub/spawn (redirect_to_server), which starts the server and, as it is not up
// within a second, sends the browser to spawn-pending; that page watches the progress stream,
// and once the server is ready it (and the spawn page, and the landing) go to /user/alice/.
func TestSpawnFlow(t *testing.T) {
	se := newSpawnEnv(t, slowStart(1500*time.Millisecond))
	b := se.browser()
	wantRedirect(t, b.login("", "alice", "wonderland"), http.StatusFound, "/hub/spawn")

	wantRedirect(t, b.get("/hub/spawn?next=%2Fuser%2Falice%2Ftree"), http.StatusFound,
		"/hub/spawn-pending/alice?next=%2Fuser%2Falice%2Ftree")
	if st := se.m.Status("alice", ""); st.Pending != "spawn" {
		t.Fatalf("after /hub/spawn: %+v", st)
	}
	// A second visit does not start another spawn.
	wantRedirect(t, b.get("/hub/spawn"), http.StatusFound, "/hub/spawn-pending/alice")

	r := b.get("/hub/spawn-pending/alice?next=%2Fuser%2Falice%2Ftree")
	if r.StatusCode != 200 || !strings.Contains(r.body, `id="progress"`) {
		t.Fatalf("spawn-pending: %d %.500s", r.StatusCode, r.body)
	}
	m := regexp.MustCompile(`data-progress-url="([^"]+)"`).FindStringSubmatch(r.body)
	if m == nil || !strings.HasPrefix(m[1], "/hub/api/users/alice/server/progress?_xsrf=") {
		t.Fatalf("progress URL: %v", m)
	}
	if !strings.Contains(r.body, "/hub/static/spawn-pending.js?v=") {
		t.Error("spawn-pending page without its script")
	}

	// The progress stream the page's script reads ends with the ready event.
	resp, err := b.c.Get(se.srv.URL + strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	var events []spawner.Event
	for _, line := range strings.Split(readAll(t, resp), "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var ev spawner.Event
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatal(err)
			}
			events = append(events, ev)
		}
	}
	if len(events) < 3 || !events[len(events)-1].Ready || events[len(events)-1].URL != "/user/alice/" {
		t.Fatalf("progress events: %+v", events)
	}

	se.waitStatus("alice", "", func(st spawner.ServerStatus) bool { return st.Ready })
	wantRedirect(t, b.get("/hub/spawn-pending/alice?next=%2Fuser%2Falice%2Ftree"), http.StatusFound, "/user/alice/tree")
	wantRedirect(t, b.get("/hub/spawn-pending/alice"), http.StatusFound, "/user/alice/")
	wantRedirect(t, b.get("/hub/spawn"), http.StatusFound, "/user/alice/")
	wantRedirect(t, b.get("/hub/"), http.StatusFound, "/user/alice/")
	// An unsafe next is dropped.
	wantRedirect(t, b.get("/hub/spawn?next=https%3A%2F%2Fevil.example%2F"), http.StatusFound, "/user/alice/")

	// Through the stand-in proxy the server answers.
	if r := b.get("/user/alice/"); r.StatusCode != 200 || !strings.Contains(r.body, "Hello from alice") {
		t.Fatalf("/user/alice/: %d %s", r.StatusCode, r.body)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// A server that comes up within the wait is opened at once; POSTed fields become user_options.
func TestSpawnPostOptions(t *testing.T) {
	se := newSpawnEnv(t, slowStart(0))
	b := se.loggedIn("alice", "wonderland")
	x := xsrfField.FindStringSubmatch(b.get("/hub/home").body)
	if x == nil {
		t.Fatal("no _xsrf on home")
	}
	if r := b.do("POST", "/hub/spawn", url.Values{"flavour": {"vanilla"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without _xsrf: %d", r.StatusCode)
	}
	r := b.do("POST", "/hub/spawn/alice", url.Values{"_xsrf": {x[1]}, "flavour": {"vanilla"}, "size": {"s", "m"}})
	wantRedirect(t, r, http.StatusFound, "/user/alice/")
	u, err := se.db.GetUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	var opts map[string]any
	if err := json.Unmarshal(u.Spawners[0].UserOptions, &opts); err != nil {
		t.Fatal(err)
	}
	if opts["flavour"] != "vanilla" || len(opts["size"].([]any)) != 2 || opts["_xsrf"] != nil {
		t.Errorf("user_options %v", opts)
	}

	// Home shows Open and Stop; Stop stops it.
	home := b.get("/hub/home").body
	for _, want := range []string{"server-open", "server-stop", `action="/hub/home/stop"`, "Running"} {
		if !strings.Contains(home, want) {
			t.Errorf("home lacks %q", want)
		}
	}
	if r := b.do("POST", "/hub/home/stop", url.Values{"server": {""}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("stop without _xsrf: %d", r.StatusCode)
	}
	wantRedirect(t, b.do("POST", "/hub/home/stop", url.Values{"_xsrf": {x[1]}, "server": {""}}), http.StatusSeeOther, "/hub/home")
	if st := se.m.Status("alice", ""); st.Active {
		t.Fatalf("after stop: %+v", st)
	}
	home = b.get("/hub/home").body
	if !strings.Contains(home, "server-start") || !strings.Contains(home, `action="/hub/spawn/alice"`) {
		t.Errorf("stopped home lacks the Start button: %s", home)
	}
	if r := b.do("POST", "/hub/home/stop", url.Values{"_xsrf": {x[1]}, "server": {"nope"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("stop of an unknown named server: %d", r.StatusCode)
	}
}

// /hub/user/alice/... for a stopped server: API requests get 424 JSON with the spawn URL, pages
// get the 424 not-running page with a link that starts the server and comes back; other users
// get 404, admins the page.
func TestUserURLNotRunning(t *testing.T) {
	se := newSpawnEnv(t, slowStart(0))
	alice := se.loggedIn("alice", "wonderland")
	host := strings.TrimPrefix(se.srv.URL, "http://")
	wantMsg := "JupyterHub server no longer running at /user/alice/api/contents. Restart the server at http://" + host + "/hub/spawn/alice"

	for _, c := range []struct {
		name, method, path string
		hdr                []string
		msg                string
	}{
		{"api segment", "GET", "/hub/user/alice/api/contents", nil, wantMsg},
		{"json accept", "GET", "/hub/user/alice/tree", []string{"Accept", "application/json"},
			"JupyterHub server no longer running at /user/alice/tree. Restart the server at http://" + host + "/hub/spawn/alice"},
		{"post", "POST", "/hub/user/alice/api/contents", nil, wantMsg},
	} {
		r := alice.do(c.method, c.path, nil, c.hdr...)
		var body struct{ Message string }
		if r.StatusCode != http.StatusFailedDependency || json.Unmarshal([]byte(r.body), &body) != nil || body.Message != c.msg {
			t.Errorf("%s: %d %s", c.name, r.StatusCode, r.body)
		}
	}

	r := alice.get("/hub/user/alice/tree?x=1", "Accept", "text/html")
	spawnLink := `href="/hub/spawn/alice?next=%2Fhub%2Fuser%2Falice%2Ftree%3Fx%3D1"`
	if r.StatusCode != http.StatusFailedDependency || !strings.Contains(r.body, spawnLink) {
		t.Fatalf("not-running page: %d %s", r.StatusCode, r.body)
	}
	// Following the link starts the server and returns to the page, now through the proxy route.
	wantRedirect(t, alice.get("/hub/spawn/alice?next=%2Fhub%2Fuser%2Falice%2Ftree%3Fx%3D1"), http.StatusFound, "/hub/user/alice/tree?x=1")

	bob := se.loggedIn("bob", "builder")
	for _, path := range []string{"/hub/user/alice/tree", "/hub/spawn/alice", "/hub/spawn-pending/alice"} {
		if r := bob.get(path); r.StatusCode != http.StatusNotFound {
			t.Errorf("bob GET %s: %d", path, r.StatusCode)
		}
	}
	if st := se.m.Status("bob", ""); st.Active {
		t.Errorf("bob's server started: %+v", st)
	}
	boss := se.loggedIn("Boss", "secret")
	if r := boss.get("/hub/user/bob/tree"); r.StatusCode != http.StatusFailedDependency || !strings.Contains(r.body, "/hub/spawn/bob?next=") {
		t.Errorf("admin on bob's stopped server: %d", r.StatusCode)
	}
	// An admin may start another user's server.
	wantRedirect(t, boss.get("/hub/spawn/bob"), http.StatusFound, "/user/bob/")
	if st := se.m.Status("bob", ""); !st.Ready {
		t.Errorf("bob's server after the admin's spawn: %+v", st)
	}
	if r := boss.get("/hub/spawn/nobody"); r.StatusCode != http.StatusNotFound {
		t.Errorf("spawn for an unknown user: %d", r.StatusCode)
	}
	if r := se.browser().get("/hub/user/alice/tree"); r.StatusCode != http.StatusFound ||
		!strings.HasPrefix(r.Header.Get("Location"), "/hub/login?next=") {
		t.Errorf("anonymous: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

// A ready server whose route the proxy seems to lack: the browser is sent back with redirects=N,
// waiting 2^N s from the second bounce on, and gets 500 after four.
func TestUserURLRedirectLoop(t *testing.T) {
	se := newSpawnEnv(t, slowStart(0))
	var mu sync.Mutex
	var slept []time.Duration
	se.pages.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		return nil
	}
	b := se.loggedIn("alice", "wonderland")
	wantRedirect(t, b.get("/hub/spawn"), http.StatusFound, "/user/alice/")

	wantRedirect(t, b.get("/hub/user/alice/tree?a=b"), http.StatusFound, "/user/alice/tree?a=b&redirects=1")
	wantRedirect(t, b.get("/hub/user/alice/tree?a=b&redirects=1"), http.StatusFound, "/user/alice/tree?a=b&redirects=2")
	wantRedirect(t, b.get("/hub/user/alice/tree?redirects=3"), http.StatusFound, "/user/alice/tree?redirects=4")
	if r := b.get("/hub/user/alice/tree?redirects=4"); r.StatusCode != http.StatusInternalServerError ||
		!strings.Contains(r.body, "Redirect loop detected.") {
		t.Errorf("fifth bounce: %d %s", r.StatusCode, r.body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(slept) != 2 || slept[0] != 2*time.Second || slept[1] != 8*time.Second {
		t.Errorf("slept %v, want [2s 8s]", slept)
	}
}

// A spawn that fails: spawn-pending shows the error with a try-again button, /hub/user/...
// sends the browser there.
func TestSpawnFailure(t *testing.T) {
	cfg := slowStart(0)
	cfg.UserOverrides = map[string]map[string]any{"carol": {"fail": "exec: \"no-such-notebook\": executable file not found in $PATH"}}
	se := newSpawnEnv(t, cfg)
	b := se.loggedIn("carol", "lewis")
	wantRedirect(t, b.get("/hub/spawn"), http.StatusFound, "/hub/spawn-pending/carol")
	r := b.get("/hub/spawn-pending/carol")
	if r.StatusCode != http.StatusInternalServerError || !strings.Contains(r.body, `id="spawn-error"`) ||
		!strings.Contains(r.body, "Spawn failed: exec: &#34;no-such-notebook&#34;: executable file not found") ||
		!strings.Contains(r.body, `href="/hub/spawn/carol"`) {
		t.Fatalf("spawn-pending after failure: %d %s", r.StatusCode, r.body)
	}
	wantRedirect(t, b.get("/hub/user/carol/lab"), http.StatusSeeOther, "/hub/spawn-pending/carol?next=%2Fhub%2Fuser%2Fcarol%2Flab")
}

// user-redirect goes through the caller's spawn page to the same path on their server.
func TestUserRedirect(t *testing.T) {
	se := newSpawnEnv(t, slowStart(0))
	b := se.loggedIn("alice", "wonderland")
	wantRedirect(t, b.get("/hub/user-redirect/lab/tree/a%20b.ipynb?x=1"), http.StatusFound,
		"/hub/spawn/alice?next=%2Fuser%2Falice%2Flab%2Ftree%2Fa%2520b.ipynb%3Fx%3D1")
	if r := se.browser().get("/hub/user-redirect/lab"); r.StatusCode != http.StatusFound ||
		!strings.HasPrefix(r.Header.Get("Location"), "/hub/login?next=") {
		t.Errorf("anonymous: %d", r.StatusCode)
	}
}

// Named servers: /hub/user/alice/{name}/... picks alice's server of that name if she has one.
func TestNamedServerPages(t *testing.T) {
	se := newSpawnEnv(t, slowStart(0))
	b := se.loggedIn("alice", "wonderland")
	wantRedirect(t, b.get("/hub/spawn/alice/gpu"), http.StatusFound, "/user/alice/gpu/")
	wantRedirect(t, b.get("/hub/user/alice/gpu/lab"), http.StatusFound, "/user/alice/gpu/lab?redirects=1")
	// "other" is no server of hers: the default server, which is stopped.
	r := b.get("/hub/user/alice/other/lab")
	if r.StatusCode != http.StatusFailedDependency || !strings.Contains(r.body, `href="/hub/spawn/alice?next=`) {
		t.Errorf("unknown server name: %d %s", r.StatusCode, r.body)
	}
	wantRedirect(t, b.get("/hub/spawn-pending/alice/gpu"), http.StatusFound, "/user/alice/gpu/")
}

// While a server stops, spawn-pending says so and reloads itself; /hub/user/... sends there.
func TestStopPending(t *testing.T) {
	cfg := slowStart(0)
	cfg.StopDelay = spawner.Duration(1500 * time.Millisecond)
	se := newSpawnEnv(t, cfg)
	b := se.loggedIn("alice", "wonderland")
	wantRedirect(t, b.get("/hub/spawn"), http.StatusFound, "/user/alice/")
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	u, err := se.db.GetUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if stopped, err := se.m.Stop(ctx, spawner.UserFromStore(u), ""); stopped || err != nil {
		t.Fatalf("stop: %v %v", stopped, err)
	}
	r := b.get("/hub/spawn-pending/alice")
	if r.StatusCode != 200 || r.Header.Get("Refresh") != "2" || !strings.Contains(r.body, "Your server is stopping") {
		t.Fatalf("stop pending: %d %q %s", r.StatusCode, r.Header.Get("Refresh"), r.body)
	}
	wantRedirect(t, b.get("/hub/user/alice/lab"), http.StatusSeeOther, "/hub/spawn-pending/alice?next=%2Fhub%2Fuser%2Falice%2Flab")
	// The spawn page waits for the stop too.
	wantRedirect(t, b.get("/hub/spawn"), http.StatusFound, "/hub/spawn-pending/alice")
	se.waitStatus("alice", "", func(st spawner.ServerStatus) bool { return !st.Active })
	if r := b.get("/hub/spawn-pending/alice"); r.StatusCode != 200 || !strings.Contains(r.body, "Launch server") {
		t.Errorf("after the stop: %d %s", r.StatusCode, r.body)
	}
}

// The spawn pages apply the REST API's rule for server names (checkServerName): a name the API
// refuses, such as one with a slash, a # or a newline, is not created through /hub/spawn either.
func TestSpawnRefusesBadServerNames(t *testing.T) {
	se := newSpawnEnv(t, slowStart(0))
	b := se.loggedIn("alice", "wonderland")
	x := xsrfField.FindStringSubmatch(b.get("/hub/home").body)
	if x == nil {
		t.Fatal("no _xsrf on home")
	}
	for _, name := range []string{"a%2Fb", "a%23b", "a%0Ab", "a%20b", "a%25b"} {
		if r := b.get("/hub/spawn/alice/" + name); r.StatusCode != http.StatusBadRequest {
			t.Errorf("GET spawn/alice/%s: %d, want 400", name, r.StatusCode)
		}
		if r := b.do("POST", "/hub/spawn/alice/"+name, url.Values{"_xsrf": {x[1]}}); r.StatusCode != http.StatusBadRequest {
			t.Errorf("POST spawn/alice/%s: %d, want 400", name, r.StatusCode)
		}
	}
	u, err := se.db.GetUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range u.Spawners {
		if sp.Name != "" {
			t.Errorf("server %q was created through the spawn page", sp.Name)
		}
	}
}
