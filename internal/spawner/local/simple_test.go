package local_test

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gohub/internal/spawner"
	"gohub/internal/spawner/local"
)

// simpleConfig is a SimpleLocalProcessSpawner config running the helper in mode.
func simpleConfig(t *testing.T, mode string) *local.SimpleConfig {
	cfg := local.DefaultSimpleConfig()
	cfg.Cmd = []string{helperBinary(t)}
	cfg.Environment = map[string]string{"GOHUB_TEST_SERVER": mode}
	cfg.HomeDirTemplate = filepath.Join(t.TempDir(), "home-{username}")
	cfg.StartTimeout = spawner.Seconds(10)
	cfg.HTTPTimeout = spawner.Seconds(10)
	cfg.TermTimeout = spawner.Seconds(2)
	return cfg
}

func limits() spawner.Limits {
	l := spawner.DefaultLimits()
	l.SlowSpawnTimeout = spawner.Seconds(10)
	l.SlowStopTimeout = spawner.Seconds(10)
	return l
}

// The simple spawner starts a real server with exactly the environment of spec §2.2, records it
// in the database and the route table, reports progress, and stops it with every trace removed.
func TestSimpleSpawnerLifecycle(t *testing.T) {
	cfg := simpleConfig(t, "serve")
	h := newHarness(t, "simple", cfg, limits())
	alice := h.user("alice", false)
	ctx := t.Context()

	ready, err := h.m.Start(ctx, alice, "", nil)
	if err != nil || !ready {
		t.Fatalf("Start = %v, %v; want ready", ready, err)
	}
	st := h.m.Status("alice", "")
	if !st.Ready || st.Pending != "" || !st.Active || st.Prefix != "/user/alice/" || st.Version != "5.5.1" {
		t.Fatalf("status after start: %+v", st)
	}
	if target, ok := h.hub.route("/user/alice/"); !ok || target != st.Target {
		t.Fatalf("route /user/alice/ = %q, %v; want %q", target, ok, st.Target)
	}
	port := strings.TrimPrefix(st.Target, "http://127.0.0.1:")

	var env map[string]string
	h.get(alice, "", "env", &env)
	token := h.hub.token("jupyterhub-user-alice")
	if len(token) != 32 {
		t.Fatalf("token %q", token)
	}
	want := map[string]string{
		"PATH":                                   "/usr/bin:/bin",
		"LANG":                                   "C.UTF-8",
		"JUPYTERHUB_API_TOKEN":                   token,
		"JPY_API_TOKEN":                          token,
		"JUPYTERHUB_CLIENT_ID":                   "jupyterhub-user-alice",
		"JUPYTERHUB_API_URL":                     "http://127.0.0.1:8081/hub/api",
		"JUPYTERHUB_ACTIVITY_URL":                "http://127.0.0.1:8081/hub/api/users/alice/activity",
		"JUPYTERHUB_BASE_URL":                    "/",
		"JUPYTERHUB_SERVICE_PREFIX":              "/user/alice/",
		"JUPYTERHUB_SERVICE_URL":                 "http://127.0.0.1:" + port + "/user/alice/",
		"JUPYTERHUB_OAUTH_CALLBACK_URL":          "/user/alice/oauth_callback",
		"JUPYTERHUB_OAUTH_ACCESS_SCOPES":         `["access:servers!server=alice/", "access:servers!user=alice"]`,
		"JUPYTERHUB_OAUTH_SCOPES":                `["access:servers!server=alice/", "access:servers!user=alice"]`,
		"JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": `[]`,
		"JUPYTERHUB_USER":                        "alice",
		"JUPYTERHUB_SERVER_NAME":                 "",
		"JUPYTERHUB_HOST":                        "",
		"JUPYTERHUB_PUBLIC_URL":                  "",
		"JUPYTERHUB_PUBLIC_HUB_URL":              "",
		"JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED":  "0",
		"GOHUB_TEST_SERVER":                      "serve",
		"USER":                                   "alice",
		"HOME":                                   strings.ReplaceAll(cfg.HomeDirTemplate, "{username}", "alice"),
		"SHELL":                                  "/bin/bash",
	}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("server environment (-want +got):\n%s", diff)
	}
	var who whoami
	h.get(alice, "", "whoami", &who)
	if who.Cwd != want["HOME"] || who.SID != who.PID {
		t.Errorf("cwd %q (want %q), sid %d pid %d (want own session)", who.Cwd, want["HOME"], who.SID, who.PID)
	}

	// The database knows the server: a servers row, the state with the pid and its start time,
	// the OAuth client.
	row, err := h.db.GetSpawner(ctx, alice.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if row.Server == nil || row.Server.BaseURL != "/user/alice/" || row.Started == nil || row.OAuthClientID != "jupyterhub-user-alice" {
		t.Fatalf("spawner row: %+v server %+v", row, row.Server)
	}
	state := h.state(alice, "")
	if int(state["pid"].(float64)) != who.PID || state["start_time"] == nil {
		t.Fatalf("state %v, helper pid %d", state, who.PID)
	}
	if _, err := h.db.GetOAuthClient(ctx, "jupyterhub-user-alice"); err != nil {
		t.Fatalf("oauth client: %v", err)
	}

	// A late progress watcher of a ready server gets one ready event.
	ch, err := h.m.Progress(ctx, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	evs := collect(t, ch)
	if len(evs) != 1 || !evs[0].Ready || evs[0].Progress != 100 || evs[0].URL != "/user/alice/" ||
		evs[0].Message != "Server ready at /user/alice/" {
		t.Fatalf("progress of a ready server: %+v", evs)
	}

	// Starting it again is refused while it runs.
	if _, err := h.m.Start(ctx, alice, "", nil); !errors.Is(err, spawner.ErrAlreadyRunning) || !errors.Is(err, spawner.ErrBadRequest) {
		t.Fatalf("second start: %v", err)
	}

	stopped, err := h.m.Stop(ctx, alice, "")
	if err != nil || !stopped {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	if err := syscall.Kill(who.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after stop: %v", who.PID, err)
	}
	if _, ok := h.hub.route("/user/alice/"); ok {
		t.Error("route still there after stop")
	}
	row, _ = h.db.GetSpawner(ctx, alice.ID, "")
	if row.Server != nil || row.Started != nil || len(row.State) != 0 {
		t.Errorf("spawner row after stop: %+v (state %s)", row, row.State)
	}
	if _, err := h.db.GetOAuthClient(ctx, "jupyterhub-user-alice"); err == nil {
		t.Error("oauth client left after stop")
	}
	if st := h.m.Status("alice", ""); st.Active || st.Ready || st.Target != "" {
		t.Errorf("status after stop: %+v", st)
	}
	if _, err := h.m.Progress(ctx, "alice", ""); !errors.Is(err, spawner.ErrNotStarting) {
		t.Errorf("progress after stop: %v", err)
	}
	// Stopping a stopped server is fine.
	if stopped, err := h.m.Stop(ctx, alice, ""); !stopped || err != nil {
		t.Errorf("second stop = %v, %v", stopped, err)
	}
}

// A slow server makes Start answer "pending" (202); progress watchers, early or late, see
// every event in order, ending with the ready event; user options are stored.
func TestSlowSpawnProgress(t *testing.T) {
	cfg := simpleConfig(t, "slow,serve")
	cfg.Environment["GOHUB_TEST_DELAY"] = "700ms"
	l := limits()
	l.SlowSpawnTimeout = spawner.Seconds(0.05)
	h := newHarness(t, "simple", cfg, l)
	bob := h.user("bob", false)
	ctx := t.Context()

	ready, err := h.m.Start(ctx, bob, "", map[string]any{"profile": "small"})
	if err != nil || ready {
		t.Fatalf("Start = %v, %v; want pending", ready, err)
	}
	if st := h.m.Status("bob", ""); st.Pending != "spawn" || st.Ready || !st.Active {
		t.Fatalf("status while spawning: %+v", st)
	}
	// A second start while pending is "pending" too, and starts nothing new.
	if ready, err := h.m.Start(ctx, bob, "", nil); ready || err != nil {
		t.Fatalf("start while pending = %v, %v", ready, err)
	}
	early, err := h.m.Progress(ctx, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	late, err := h.m.Progress(ctx, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := collect(t, early), collect(t, late)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("early and late watchers differ:\n%s", diff)
	}
	if len(a) < 3 || a[0] != (spawner.Event{Progress: 0, Message: "Server requested"}) ||
		!strings.HasPrefix(a[1].Message, "Started singleuser-helper (pid ") || !a[len(a)-1].Ready {
		t.Fatalf("events: %+v", a)
	}
	for _, e := range a[:len(a)-1] {
		if e.Ready || e.Failed {
			t.Fatalf("non-final event marked final: %+v", e)
		}
	}
	if st := h.m.Status("bob", ""); !st.Ready {
		t.Fatalf("status after progress ended: %+v", st)
	}
	row, _ := h.db.GetSpawner(ctx, bob.ID, "")
	if string(row.UserOptions) != `{"profile":"small"}` {
		t.Fatalf("user_options %s", row.UserOptions)
	}
}

// A command that exits at once fails the spawn with its exit status, in the error, the status
// and the progress stream, and leaves nothing behind.
func TestCommandExitsAtOnce(t *testing.T) {
	h := newHarness(t, "simple", simpleConfig(t, "exit"), limits())
	carol := h.user("carol", false)
	ctx := t.Context()
	start := time.Now()
	ready, err := h.m.Start(ctx, carol, "", nil)
	if ready || err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Start = %v, %v; want failure with exit status 3", ready, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failure took %s; the process was gone at once", d)
	}
	st := h.m.Status("carol", "")
	if st.Active || st.LastFailure == nil || !strings.Contains(st.LastFailure.Error(), "before it answered") {
		t.Fatalf("status: %+v", st)
	}
	ch, err := h.m.Progress(ctx, "carol", "")
	if err != nil {
		t.Fatal(err)
	}
	evs := collect(t, ch)
	if len(evs) != 1 || !evs[0].Failed || !strings.HasPrefix(evs[0].Message, "Spawn failed: server process ended (exit status 3)") {
		t.Fatalf("progress after failure: %+v", evs)
	}
	row, _ := h.db.GetSpawner(ctx, carol.ID, "")
	if row.Server != nil {
		t.Errorf("server row left after failure")
	}
	if _, ok := h.hub.route("/user/carol/"); ok {
		t.Error("route left after failure")
	}
}

// A server that never listens fails after http_timeout and is stopped.
func TestServerNeverAnswers(t *testing.T) {
	cfg := simpleConfig(t, "silent")
	cfg.HTTPTimeout = spawner.Seconds(1)
	h := newHarness(t, "simple", cfg, limits())
	dave := h.user("dave", false)
	var pid int
	ch := make(chan []spawner.Event, 1)
	go func() {
		// Catch the pid from the spawner's progress event while the spawn is under way.
		waitFor(t, 5*time.Second, "spawn pending", func() bool { return h.m.Status("dave", "").Pending == "spawn" })
		p, err := h.m.Progress(t.Context(), "dave", "")
		if err != nil {
			ch <- nil
			return
		}
		ch <- collect(t, p)
	}()
	start := time.Now()
	ready, err := h.m.Start(t.Context(), dave, "", nil)
	if ready || err == nil || !strings.Contains(err.Error(), "did not answer within 1s") {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	if d := time.Since(start); d < time.Second || d > 8*time.Second {
		t.Errorf("failure after %s, want about http_timeout (1s)", d)
	}
	evs := <-ch
	if len(evs) < 2 || !evs[len(evs)-1].Failed {
		t.Fatalf("events: %+v", evs)
	}
	if _, err := fmtSscanPid(evs[1].Message, &pid); err != nil {
		t.Fatalf("no pid in %q: %v", evs[1].Message, err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("silent server %d still running after the failed spawn", pid)
	}
}

// Stop escalates to SIGKILL when the server ignores SIGTERM.
func TestStopEscalatesToSIGKILL(t *testing.T) {
	cfg := simpleConfig(t, "stubborn,serve")
	cfg.TermTimeout = spawner.Seconds(0.5)
	h := newHarness(t, "simple", cfg, limits())
	erin := h.user("erin", false)
	if ready, err := h.m.Start(t.Context(), erin, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	var who whoami
	h.get(erin, "", "whoami", &who)
	start := time.Now()
	if stopped, err := h.m.Stop(t.Context(), erin, ""); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("stopped after %s: SIGTERM should have been ignored for term_timeout", d)
	}
	if err := syscall.Kill(who.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d survived stop", who.PID)
	}
}

// The poll loop notices a server killed behind the hub's back: route, row and credentials go.
func TestPollNoticesDeadServer(t *testing.T) {
	cfg := simpleConfig(t, "serve")
	cfg.PollInterval = spawner.Seconds(0.1)
	h := newHarness(t, "simple", cfg, limits())
	fay := h.user("fay", false)
	if ready, err := h.m.Start(t.Context(), fay, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	var who whoami
	h.get(fay, "", "whoami", &who)
	if err := syscall.Kill(who.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the hub to notice", func() bool { return !h.m.Status("fay", "").Active })
	st := h.m.Status("fay", "")
	if st.LastExit == nil || !strings.Contains(st.LastExit.Reason, "signal 9") {
		t.Errorf("last exit: %+v", st.LastExit)
	}
	if _, ok := h.hub.route("/user/fay/"); ok {
		t.Error("route left after death")
	}
	row, _ := h.db.GetSpawner(t.Context(), fay.ID, "")
	if row.Server != nil {
		t.Error("server row left after death")
	}
	// It can be started again.
	if ready, err := h.m.Start(t.Context(), fay, "", nil); !ready || err != nil {
		t.Fatalf("restart = %v, %v", ready, err)
	}
}

// A new manager on the same database (a hub restart) re-adopts a running server by its saved
// pid and start time, and clears one that died meanwhile.
func TestRestoreAfterRestart(t *testing.T) {
	cfg := simpleConfig(t, "serve")
	cfg.HTTPTimeout = spawner.Seconds(1)
	cfg.TermTimeout = spawner.Seconds(0.5)
	h := newHarness(t, "simple", cfg, limits())
	gus, hal, ida := h.user("gus", false), h.user("hal", false), h.user("ida", false)
	for _, u := range []spawner.User{gus, hal, ida} {
		if ready, err := h.m.Start(t.Context(), u, "", nil); !ready || err != nil {
			t.Fatalf("Start %s = %v, %v", u.Name, ready, err)
		}
	}
	var gusWho, halWho, idaWho whoami
	h.get(gus, "", "whoami", &gusWho)
	h.get(hal, "", "whoami", &halWho)
	h.get(ida, "", "whoami", &idaWho)
	target := h.m.Status("gus", "").Target
	h.m.Close() // the hub goes away; its servers keep running
	if err := syscall.Kill(gusWho.PID, 0); err != nil {
		t.Fatalf("server died with the manager: %v", err)
	}
	// Meanwhile hal's server dies, and ida's hangs (alive, but it answers nothing).
	syscall.Kill(halWho.PID, syscall.SIGKILL)
	waitFor(t, 5*time.Second, "hal's server to die", func() bool { return syscall.Kill(halWho.PID, 0) != nil })
	syscall.Kill(idaWho.PID, syscall.SIGSTOP)

	h.open() // the new hub
	if err := h.m.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	st := h.m.Status("gus", "")
	if !st.Ready || st.Target != target || st.Version != "5.5.1" {
		t.Fatalf("gus after restore: %+v (target before %s)", st, target)
	}
	if rt, ok := h.hub.route("/user/gus/"); !ok || rt != target {
		t.Errorf("route after restore = %q, %v", rt, ok)
	}
	for _, u := range []spawner.User{hal, ida} {
		if st := h.m.Status(u.Name, ""); st.Active {
			t.Errorf("%s's server restored: %+v", u.Name, st)
		}
		row, _ := h.db.GetSpawner(t.Context(), u.ID, "")
		if row.Server != nil || len(row.State) != 0 {
			t.Errorf("%s's row not cleared: server %+v state %s", u.Name, row.Server, row.State)
		}
		if _, ok := h.hub.route("/user/" + u.Name + "/"); ok {
			t.Errorf("%s routed", u.Name)
		}
	}
	waitFor(t, 5*time.Second, "ida's hung server to be stopped", func() bool { return syscall.Kill(idaWho.PID, 0) != nil })
	// The new hub can stop the adopted server.
	if stopped, err := h.m.Stop(t.Context(), gus, ""); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	waitFor(t, 5*time.Second, "gus's server to end", func() bool { return syscall.Kill(gusWho.PID, 0) != nil })
}

// A saved pid that now belongs to another process (same pid, other start time) is not adopted.
func TestRestoreIgnoresReusedPID(t *testing.T) {
	f, err := local.New(local.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// pid 1 exists, but not with this start time.
	sp, err := f.NewSpawner([]byte(`{"pid": 1, "start_time": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sp.Poll(t.Context())
	if err != nil || st.Running {
		t.Fatalf("Poll = %+v, %v; want not running", st, err)
	}
	sp, _ = f.NewSpawner([]byte(`{"pid": 1}`)) // upstream's state: pid only
	if st, err := sp.Poll(t.Context()); err != nil || !st.Running {
		t.Fatalf("Poll of pid 1 without start time = %+v, %v; want running", st, err)
	}
}

// fmtSscanPid reads the pid from "Started x (pid N)".
func fmtSscanPid(msg string, pid *int) (int, error) {
	i := strings.LastIndex(msg, "(pid ")
	if i < 0 {
		return 0, errors.New("no pid")
	}
	n, err := strconv.Atoi(strings.TrimSuffix(msg[i+5:], ")"))
	*pid = n
	return n, err
}
