package api

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gohub/internal/spawner"
)

// A real server starts (201), refuses a second start (400), shows ready in the models and in
// ?state=ready without waiting for a cache to expire, streams a single ready event, resists
// bob, and stops (204).
func TestServerStartStop(t *testing.T) {
	h := newSpawnHub(t, spawnSetup{limits: spawnLimits()})
	// Warm every cache first: the start must show at once anyway.
	if m := h.model(callAdmin, "alice"); m["server"] != nil {
		t.Fatalf("alice before start: %v", m)
	}
	if got := len(h.do(callAdmin, "GET", "/hub/api/users?state=ready", nil).json(t).([]any)); got != 0 {
		t.Fatalf("ready users before start: %d", got)
	}

	for _, who := range []string{callBob, callFiltered, callAliceSrv} {
		r := h.do(who, "POST", "/hub/api/users/alice/server", nil)
		if want := map[string]int{callBob: 404, callFiltered: 403, callAliceSrv: 403}[who]; r.status != want {
			t.Errorf("start alice's server as %s: %d, want %d: %s", who, r.status, want, r.body)
		}
	}
	if st := h.hs.M.Status("alice", ""); st.Active {
		t.Fatalf("a refused start started the server: %+v", st)
	}

	r := h.do(callAlice, "POST", "/hub/api/users/alice/server", map[string]any{"flavour": "small"})
	if r.status != 201 || len(r.body) != 0 {
		t.Fatalf("start: %d %q", r.status, r.body)
	}
	m := h.model(callAdmin, "alice")
	srv := server(m, "")
	if m["server"] != "/user/alice/" || m["pending"] != nil || srv["ready"] != true || srv["stopped"] != false ||
		srv["started"] == nil || srv["user_options"].(map[string]any)["flavour"] != "small" {
		t.Errorf("alice after start: %v", m)
	}
	if _, ok := srv["state"].(map[string]any)["pid"]; !ok {
		t.Errorf("admin sees no spawner state: %v", srv)
	}
	if _, ok := server(h.model(callAlice, "alice"), "")["state"]; ok {
		t.Errorf("alice sees her spawner state without admin:server_state")
	}
	users := h.do(callAdmin, "GET", "/hub/api/users?state=ready", nil).json(t).([]any)
	if len(users) != 1 || users[0].(map[string]any)["name"] != "alice" {
		t.Errorf("ready users: %v", users)
	}
	g := h.do(callAlice, "GET", "/hub/api/users/alice/server", nil)
	if g.status != 200 || g.json(t).(map[string]any)["ready"] != true {
		t.Errorf("GET server: %d %s", g.status, g.body)
	}

	if g := h.do(callAlice, "GET", "/hub/api/users/alice/servers/", nil); g.status != 200 || g.json(t).(map[string]any)["name"] != "" {
		t.Errorf("GET /servers/ (the default server): %d %s", g.status, g.body)
	}
	r = h.do(callAdmin, "POST", "/hub/api/users/alice/servers/", nil)
	if r.status != 400 || !strings.Contains(string(r.body), "already running") {
		t.Errorf("second start: %d %s", r.status, r.body)
	}
	status, hdr, events := h.progress(h.progressAs(callAlice, "/hub/api/users/alice/server/progress"))
	if status != 200 || hdr.Get("Content-Type") != "text/event-stream" || hdr.Get("Cache-Control") != "no-cache" {
		t.Errorf("progress of a ready server: %d %v", status, hdr)
	}
	if len(events) != 1 || events[0]["ready"] != true || events[0]["url"] != "/user/alice/" || events[0]["progress"] != 100.0 {
		t.Errorf("progress of a ready server: %v", events)
	}
	if status, _, _ := h.progress(h.progressAs(callBob, "/hub/api/users/alice/server/progress")); status != 404 {
		t.Errorf("bob reads alice's progress: %d", status)
	}

	for _, who := range []string{callBob, callFiltered} {
		r := h.do(who, "DELETE", "/hub/api/users/alice/server", nil)
		if want := map[string]int{callBob: 404, callFiltered: 403}[who]; r.status != want {
			t.Errorf("stop alice's server as %s: %d, want %d: %s", who, r.status, want, r.body)
		}
	}
	if !h.hs.M.Status("alice", "").Ready {
		t.Fatal("a refused stop stopped the server")
	}
	r = h.do(callAlice, "DELETE", "/hub/api/users/alice/server", nil)
	if r.status != 204 {
		t.Fatalf("stop: %d %s", r.status, r.body)
	}
	m = h.model(callAdmin, "alice")
	if m["server"] != nil || server(m, "")["stopped"] != true || server(m, "")["ready"] != false {
		t.Errorf("alice after stop: %v", m)
	}
	if r := h.do(callAlice, "DELETE", "/hub/api/users/alice/server", nil); r.status != 204 {
		t.Errorf("stop of a stopped server: %d %s", r.status, r.body)
	}
	if r := h.do(callAlice, "GET", "/hub/api/users/alice/server/progress", nil); r.status != 400 {
		t.Errorf("progress of a stopped server: %d %s", r.status, r.body)
	}
}

// A slow server answers 202; the models show pending "spawn" and then ready as soon as the
// manager says so; progress streams every event up to ready. A server that ignores SIGTERM
// stops with 202 and shows pending "stop" meanwhile.
func TestServerSlowStartAndStop(t *testing.T) {
	l := spawnLimits()
	l.SlowSpawnTimeout = spawner.Seconds(0.2)
	l.SlowStopTimeout = spawner.Seconds(0.2)
	h := newSpawnHub(t, spawnSetup{mode: "slow,stubborn", delay: 1500 * time.Millisecond, limits: l})
	h.model(callAdmin, "alice")

	r := h.do(callAlice, "POST", "/hub/api/users/alice/server", nil)
	if r.status != 202 {
		t.Fatalf("slow start: %d %s", r.status, r.body)
	}
	if m := h.model(callAdmin, "alice"); m["pending"] != "spawn" || server(m, "")["pending"] != "spawn" || server(m, "")["ready"] != false {
		t.Errorf("alice while spawning: %v", m)
	}
	if r := h.do(callAlice, "POST", "/hub/api/users/alice/server", nil); r.status != 202 {
		t.Errorf("start while spawning: %d %s", r.status, r.body)
	}
	status, _, events := h.progress(h.progressAs(callAlice, "/hub/api/users/alice/server/progress"))
	if status != 200 || len(events) < 2 {
		t.Fatalf("progress: %d %v", status, events)
	}
	if events[0]["progress"] != 0.0 || events[0]["message"] != "Server requested" {
		t.Errorf("first event %v", events[0])
	}
	last := events[len(events)-1]
	if last["ready"] != true || last["url"] != "/user/alice/" || !strings.Contains(last["html_message"].(string), `<a href="/user/alice/">`) {
		t.Errorf("last event %v", last)
	}
	if m := h.model(callAdmin, "alice"); m["server"] != "/user/alice/" || m["pending"] != nil {
		t.Errorf("alice once ready: %v", m)
	}

	r = h.do(callAlice, "DELETE", "/hub/api/users/alice/server", nil)
	if r.status != 202 {
		t.Fatalf("stop of a stubborn server: %d %s", r.status, r.body)
	}
	if m := h.model(callAdmin, "alice"); m["pending"] != "stop" || server(m, "")["pending"] != "stop" {
		t.Errorf("alice while stopping: %v", m)
	}
	if r := h.do(callAlice, "DELETE", "/hub/api/users/alice/server", nil); r.status != 202 {
		t.Errorf("stop while stopping: %d %s", r.status, r.body)
	}
	if r := h.do(callAlice, "POST", "/hub/api/users/alice/server", nil); r.status != 400 {
		t.Errorf("start while stopping: %d %s", r.status, r.body)
	}
	waitFor(t, 15*time.Second, "the stop", func() bool { return !h.hs.M.Status("alice", "").Active })
	if m := h.model(callAdmin, "alice"); m["pending"] != nil || m["server"] != nil {
		t.Errorf("alice once stopped: %v", m)
	}
}

// A command that exits at once fails the start with 500 and its reason; progress then shows
// the failed event.
func TestServerSpawnFails(t *testing.T) {
	h := newSpawnHub(t, spawnSetup{mode: "exit", limits: spawnLimits()})
	r := h.do(callAlice, "POST", "/hub/api/users/alice/server", nil)
	if r.status != 500 || !strings.Contains(string(r.body), "exit") {
		t.Fatalf("failing start: %d %s", r.status, r.body)
	}
	status, _, events := h.progress(h.progressAs(callAlice, "/hub/api/users/alice/server/progress"))
	if status != 200 || len(events) != 1 || events[0]["failed"] != true ||
		!strings.HasPrefix(events[0]["message"].(string), "Spawn failed: ") {
		t.Errorf("progress after failure: %d %v", status, events)
	}
	if m := h.model(callAdmin, "alice"); m["server"] != nil || m["pending"] != nil {
		t.Errorf("alice after a failed start: %v", m)
	}
}

// concurrent_spawn_limit answers 429 with a Retry-After of 30–60 s.
func TestServerSpawnLimit(t *testing.T) {
	l := spawnLimits()
	l.ConcurrentSpawnLimit = 1
	l.SlowSpawnTimeout = spawner.Seconds(0.1)
	h := newSpawnHub(t, spawnSetup{mode: "slow", delay: 2 * time.Second, limits: l})
	if r := h.do(callAlice, "POST", "/hub/api/users/alice/server", nil); r.status != 202 {
		t.Fatalf("first start: %d %s", r.status, r.body)
	}
	r := h.do(callBob, "POST", "/hub/api/users/bob/server", nil)
	if r.status != 429 {
		t.Fatalf("start over the limit: %d %s", r.status, r.body)
	}
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 30 || n > 60 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	waitFor(t, 20*time.Second, "alice's spawn", func() bool { return h.hs.M.Status("alice", "").Ready })
	if r := h.do(callBob, "POST", "/hub/api/users/bob/server", nil); r.status != 202 && r.status != 201 {
		t.Errorf("start after the spawn ended: %d %s", r.status, r.body)
	}
}

// Named servers: 400 when disabled; with a limit of 3 (alice has gpu already), PUT creates, the third is refused, PATCH
// renames and changes options of a stopped server, POST starts, {"remove": true} deletes.
func TestNamedServers(t *testing.T) {
	off := newSpawnHub(t, spawnSetup{limits: spawner.DefaultLimits()})
	for _, m := range []string{"POST", "DELETE", "GET", "PUT", "PATCH"} {
		r := off.do(callAlice, m, "/hub/api/users/alice/servers/gpu", map[string]any{"display_name": "x"})
		if r.status != 400 || !strings.Contains(string(r.body), "Named servers are not enabled.") {
			t.Errorf("%s named server while disabled: %d %s", m, r.status, r.body)
		}
	}

	h := newSpawnHub(t, spawnSetup{limits: spawnLimits()})
	r := h.do(callAlice, "PUT", "/hub/api/users/alice/servers/one", map[string]any{"display_name": "One", "user_options": map[string]any{"a": 1}})
	if r.status != 201 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if s := r.json(t).(map[string]any); s["name"] != "one" || s["stopped"] != true || s["user_options"].(map[string]any)["a"] != 1.0 {
		t.Errorf("PUT reply %v", s)
	}
	if r := h.do(callAlice, "PUT", "/hub/api/users/alice/servers/one", nil); r.status != 409 {
		t.Errorf("PUT of an existing server: %d %s", r.status, r.body)
	}
	if r := h.do(callAlice, "PUT", "/hub/api/users/alice/servers/bad%20name", nil); r.status != 400 {
		t.Errorf("PUT of a bad name: %d %s", r.status, r.body)
	}
	// A server named ".." would have the route /user/alice/.., which CHP resolves to /user.
	for _, bad := range []string{"%2e%2e", "%2E", ".%2e"} {
		if r := h.do(callAlice, "PUT", "/hub/api/users/alice/servers/"+bad, nil); r.status != 400 {
			t.Errorf("PUT of server %s: %d %s", bad, r.status, r.body)
		}
	}
	if r := h.do(callAlice, "PATCH", "/hub/api/users/alice/servers/one", map[string]any{"name": ".."}); r.status != 400 {
		t.Errorf("rename to ..: %d %s", r.status, r.body)
	}
	if r := h.do(callBob, "PUT", "/hub/api/users/alice/servers/two", nil); r.status != 404 {
		t.Errorf("bob's PUT on alice: %d %s", r.status, r.body)
	}
	if r := h.do(callAlice, "POST", "/hub/api/users/alice/servers/two", nil); r.status != 201 {
		t.Fatalf("start of a second named server: %d %s", r.status, r.body)
	}
	for _, m := range []string{"POST", "PUT"} {
		r := h.do(callAlice, m, "/hub/api/users/alice/servers/three", nil)
		if r.status != 400 || !strings.Contains(string(r.body), "maximum of 3 named servers") {
			t.Errorf("%s over the named server limit: %d %s", m, r.status, r.body)
		}
	}
	if h.spawnerRow("alice", "three") != nil {
		t.Error("a refused named server was recorded")
	}
	if r := h.do(callAlice, "PATCH", "/hub/api/users/alice/servers/two", map[string]any{"display_name": "x"}); r.status != 400 {
		t.Errorf("PATCH of a running server: %d %s", r.status, r.body)
	}
	if r := h.do(callAlice, "PATCH", "/hub/api/users/alice/servers/one", map[string]any{"name": "two"}); r.status != 409 {
		t.Errorf("rename onto an existing server: %d %s", r.status, r.body)
	}
	if r := h.do(callAlice, "PATCH", "/hub/api/users/alice/servers/one", map[string]any{}); r.status != 400 {
		t.Errorf("empty PATCH: %d %s", r.status, r.body)
	}
	if r := h.do(callAlice, "PATCH", "/hub/api/users/alice/servers/one", map[string]any{"colour": "red"}); r.status != 400 {
		t.Errorf("PATCH of an unknown key: %d %s", r.status, r.body)
	}
	if r := h.do(callAlice, "PATCH", "/hub/api/users/alice/servers/nope", map[string]any{"display_name": "x"}); r.status != 404 {
		t.Errorf("PATCH of a missing server: %d %s", r.status, r.body)
	}
	r = h.do(callAlice, "PATCH", "/hub/api/users/alice/servers/one", map[string]any{"name": "uno", "user_options": map[string]any{"b": 2}})
	if r.status != 200 {
		t.Fatalf("PATCH rename: %d %s", r.status, r.body)
	}
	if s := r.json(t).(map[string]any); s["name"] != "uno" || s["url"] != "/user/alice/uno/" || s["user_options"].(map[string]any)["b"] != 2.0 {
		t.Errorf("PATCH reply %v", s)
	}
	if r := h.do(callAlice, "GET", "/hub/api/users/alice/servers/one", nil); r.status != 404 {
		t.Errorf("GET of the old name: %d %s", r.status, r.body)
	}
	if sp := h.spawnerRow("alice", "uno"); sp == nil || sp.DisplayName != "One" {
		t.Errorf("renamed row: %+v", sp)
	}

	if r := h.do(callAlice, "DELETE", "/hub/api/users/alice/server", map[string]any{"remove": true}); r.status != 400 {
		t.Errorf("remove of the default server: %d %s", r.status, r.body)
	}
	if r := h.do(callAlice, "DELETE", "/hub/api/users/alice/servers/nope", nil); r.status != 404 {
		t.Errorf("stop of a missing named server: %d %s", r.status, r.body)
	}
	if r := h.do(callBob, "DELETE", "/hub/api/users/alice/servers/two", map[string]any{"remove": true}); r.status != 404 {
		t.Errorf("bob removes alice's server: %d %s", r.status, r.body)
	}
	if r := h.do(callAlice, "DELETE", "/hub/api/users/alice/servers/two", map[string]any{"remove": true}); r.status != 204 {
		t.Fatalf("stop and remove: %d %s", r.status, r.body)
	}
	if h.spawnerRow("alice", "two") != nil || h.hs.M.Status("alice", "two").Active {
		t.Error("removed server still recorded or running")
	}
	if _, ok := h.model(callAdmin, "alice")["servers"].(map[string]any)["two"]; ok {
		t.Error("removed server still in the model")
	}
	if r := h.do(callAlice, "DELETE", "/hub/api/users/alice/servers/uno", nil); r.status != 204 || h.spawnerRow("alice", "uno") == nil {
		t.Errorf("stop without remove of a stopped server: %d %s", r.status, r.body)
	}
	if r := h.do(callAlice, "DELETE", "/hub/api/users/alice/servers/uno", map[string]any{"remove": "yes"}); r.status != 400 {
		t.Errorf("non-boolean remove: %d %s", r.status, r.body)
	}
}

// Deleting a user stops the user's servers first; renaming a user with a running server is
// refused.
func TestDeleteUserStopsServers(t *testing.T) {
	h := newSpawnHub(t, spawnSetup{limits: spawnLimits()})
	if r := h.do(callBob, "POST", "/hub/api/users/bob/servers/x", nil); r.status != 201 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	if r := h.do(callAdmin, "PATCH", "/hub/api/users/bob", map[string]any{"name": "robert"}); r.status != 400 {
		t.Errorf("rename with a running server: %d %s", r.status, r.body)
	}
	if r := h.do(callAdmin, "DELETE", "/hub/api/users/bob", nil); r.status != 204 {
		t.Fatalf("delete bob: %d %s", r.status, r.body)
	}
	if st := h.hs.M.Status("bob", "x"); st.Active {
		t.Errorf("bob's server survived his deletion: %+v", st)
	}
	if _, ok := h.hs.Hub.Route("/user/bob/x/"); ok {
		t.Error("bob's route survived his deletion")
	}
}

// Activity reports move only last_activity: the spawner state the manager saved stays.
func TestActivityKeepsSpawnerState(t *testing.T) {
	h := newSpawnHub(t, spawnSetup{limits: spawnLimits()})
	if r := h.do(callAlice, "POST", "/hub/api/users/alice/server", nil); r.status != 201 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	before := h.spawnerRow("alice", "")
	future := time.Now().UTC().Add(time.Minute).Format("2006-01-02T15:04:05.000000Z")
	r := h.do(callAlice, "POST", "/hub/api/users/alice/activity", map[string]any{
		"servers": map[string]any{"": map[string]any{"last_activity": future}}})
	if r.status != 200 {
		t.Fatalf("activity: %d %s", r.status, r.body)
	}
	after := h.spawnerRow("alice", "")
	if string(after.State) != string(before.State) || len(after.State) == 0 || after.Server == nil {
		t.Errorf("state changed: %s → %s", before.State, after.State)
	}
	if after.LastActivity == nil || after.LastActivity.Format("2006-01-02T15:04:05.000000Z") != future {
		t.Errorf("last_activity %v, want %s", after.LastActivity, future)
	}
	old := "2020-01-01T00:00:00Z"
	h.do(callAlice, "POST", "/hub/api/users/alice/activity", map[string]any{
		"servers": map[string]any{"": map[string]any{"last_activity": old}}})
	if la := h.spawnerRow("alice", "").LastActivity; la == nil || la.Before(*after.LastActivity) {
		t.Errorf("last_activity moved back to %v", la)
	}
}

// With the API's clock frozen, cached views never expire by age: a spawn that finishes after
// its 202, with no write through the API since, must still show at once in every cached view
// (the admin's snapshot, alice's own row cache, the ?state=ready list).
func TestServerStateShowsAtOnce(t *testing.T) {
	l := spawnLimits()
	l.SlowSpawnTimeout = spawner.Seconds(0.1)
	frozen := time.Now()
	h := newSpawnHub(t, spawnSetup{mode: "slow", delay: time.Second, limits: l, now: func() time.Time { return frozen }})
	if r := h.do(callAlice, "POST", "/hub/api/users/alice/server", nil); r.status != 202 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	views := func() (admin, own map[string]any, ready int) {
		return h.model(callAdmin, "alice"), h.model(callAlice, "alice"),
			len(h.do(callAdmin, "GET", "/hub/api/users?state=ready", nil).json(t).([]any))
	}
	admin, own, ready := views()
	if admin["pending"] != "spawn" || own["pending"] != "spawn" || ready != 0 {
		t.Fatalf("while spawning: %v / %v / %d ready", admin, own, ready)
	}
	waitFor(t, 20*time.Second, "the spawn", func() bool { return h.hs.M.Status("alice", "").Ready })
	admin, own, ready = views()
	if admin["server"] != "/user/alice/" || own["server"] != "/user/alice/" || ready != 1 ||
		server(admin, "")["ready"] != true || server(own, "")["ready"] != true {
		t.Errorf("once ready: %v / %v / %d ready", admin, own, ready)
	}
	// The stop goes through the manager directly (as the web pages do), not the API.
	if ok, err := h.hs.M.Stop(t.Context(), h.user("alice"), ""); !ok || err != nil {
		t.Fatalf("stop: %v %v", ok, err)
	}
	admin, own, ready = views()
	if admin["server"] != nil || own["server"] != nil || ready != 0 || server(admin, "")["stopped"] != true {
		t.Errorf("once stopped: %v / %v / %d ready", admin, own, ready)
	}
}

// Browsers read progress with EventSource: cookie auth with ?_xsrf= (fetch mode cors) passes,
// the same request without it is refused.
func TestProgressCookieXSRF(t *testing.T) {
	h := newSpawnHub(t, spawnSetup{limits: spawnLimits()})
	if r := h.do(callAlice, "POST", "/hub/api/users/alice/server", nil); r.status != 201 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	req := h.cookieRequest("GET", "/hub/api/users/alice/server/progress", "", "", true)
	tok := req.Header.Get("X-XSRFToken")
	req.Header.Del("X-XSRFToken")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	bare := req.Clone(req.Context())
	req.URL.RawQuery = "_xsrf=" + url.QueryEscape(tok)
	status, _, events := h.progress(req)
	if status != 200 || len(events) != 1 || events[0]["ready"] != true {
		t.Errorf("EventSource with _xsrf: %d %v", status, events)
	}
	if status, _, _ := h.progress(bare); status != 403 {
		t.Errorf("EventSource without _xsrf: %d", status)
	}
}

// The proxy and shutdown endpoints check their bodies; without the hub's pieces they answer 501.
func TestProxyAndShutdownErrors(t *testing.T) {
	h := newSpawnHub(t, spawnSetup{limits: spawnLimits()})
	for _, c := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"PATCH", "/proxy", []any{1}, 400},
		{"PATCH", "/proxy", map[string]any{"auth_token": 5}, 400},
		{"PATCH", "/proxy", map[string]any{"api_url": "http://127.0.0.1:8001"}, 400}, // no ProxyReconfigurer
		{"POST", "/shutdown", map[string]any{"proxy": "yes"}, 400},
		{"POST", "/shutdown", "[]", 400},
		{"GET", "/proxy?limit=x", nil, 400},
	} {
		if r := h.do(callAdmin, c.method, "/hub/api"+c.path, c.body); r.status != c.status {
			t.Errorf("%s %s %v: %d, want %d: %s", c.method, c.path, c.body, r.status, c.status, r.body)
		}
	}
	if n := h.proxy.checked(); n != 0 {
		t.Errorf("refused PATCHes reconciled routes %d times", n)
	}
	select {
	case <-h.shutdown:
		t.Error("a refused shutdown shut down")
	default:
	}

	bare := newTestHub(t)
	for _, c := range [][2]string{{"GET", "/proxy"}, {"POST", "/shutdown"}, {"POST", "/users/alice/server"}, {"DELETE", "/users/alice/server"}} {
		if r := bare.do(callAdmin, c[0], "/hub/api"+c[1], nil); r.status != 501 {
			t.Errorf("%s %s without the hub's pieces: %d %s", c[0], c[1], r.status, r.body)
		}
	}
}

// A spawn's progress stream carries bare "\n\n" keep-alives while nothing happens.
func TestProgressKeepAlive(t *testing.T) {
	old := progressKeepAlive
	progressKeepAlive = 50 * time.Millisecond
	t.Cleanup(func() { progressKeepAlive = old })
	l := spawnLimits()
	l.SlowSpawnTimeout = spawner.Seconds(0.1)
	h := newSpawnHub(t, spawnSetup{mode: "slow", delay: time.Second, limits: l})
	if r := h.do(callAlice, "POST", "/hub/api/users/alice/server", nil); r.status != 202 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	r := h.do(callAlice, "GET", "/hub/api/users/alice/server/progress", nil)
	body := string(r.body)
	if r.status != 200 || !strings.HasPrefix(body, `data: {"progress":0,"message":"Server requested"}`+"\n\n") {
		t.Fatalf("progress: %d %q", r.status, body)
	}
	if !strings.Contains(body, "}\n\n\n\n") {
		t.Errorf("no keep-alive in %q", body)
	}
	if !strings.HasSuffix(body, "\"url\":\"/user/alice/\"}\n\n") {
		t.Errorf("stream does not end with the ready event: %q", body)
	}
}
