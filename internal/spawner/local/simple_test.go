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
	"gohub/internal/spawner/spawnertest"
)

// simpleConfig is a SimpleLocalProcessSpawner config running the helper in mode.
func simpleConfig(t *testing.T, mode string) *local.SimpleConfig {
	cfg := local.DefaultSimpleConfig()
	cfg.Cmd = []string{spawnertest.HelperBinary(t)}
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

// The simple spawner starts a real server with exactly the environment of protocol.md §2.2, records it
// in the database and the route table, reports progress, and stops it with every trace removed.
func TestSimpleSpawnerLifecycle(t *testing.T) {
	cfg := simpleConfig(t, "serve")
	h := newHarness(t, "simple", cfg, limits())
	alice := h.User("alice", false)
	ctx := t.Context()

	ready, err := h.M.Start(ctx, alice, "", nil)
	if err != nil || !ready {
		t.Fatalf("Start = %v, %v; want ready", ready, err)
	}
	st := h.M.Status("alice", "")
	if !st.Ready || st.Pending != "" || !st.Active || st.Prefix != "/user/alice/" || st.Version != "5.5.1" {
		t.Fatalf("status after start: %+v", st)
	}
	if target, ok := h.Hub.Route("/user/alice/"); !ok || target != st.Target {
		t.Fatalf("route /user/alice/ = %q, %v; want %q", target, ok, st.Target)
	}
	port := strings.TrimPrefix(st.Target, "http://127.0.0.1:")

	var env map[string]string
	h.Get(alice, "", "env", &env)
	token := h.Hub.Token("jupyterhub-user-alice")
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
	var who spawnertest.Whoami
	h.Get(alice, "", "whoami", &who)
	if who.Cwd != want["HOME"] || who.SID != who.PID {
		t.Errorf("cwd %q (want %q), sid %d pid %d (want own session)", who.Cwd, want["HOME"], who.SID, who.PID)
	}

	// The database knows the server: a servers row, the state with the pid and its start time,
	// the OAuth client.
	row, err := h.DB.GetSpawner(ctx, alice.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if row.Server == nil || row.Server.BaseURL != "/user/alice/" || row.Started == nil || row.OAuthClientID != "jupyterhub-user-alice" {
		t.Fatalf("spawner row: %+v server %+v", row, row.Server)
	}
	state := h.State(alice, "")
	if int(state["pid"].(float64)) != who.PID || state["start_time"] == nil {
		t.Fatalf("state %v, helper pid %d", state, who.PID)
	}
	if _, err := h.DB.GetOAuthClient(ctx, "jupyterhub-user-alice"); err != nil {
		t.Fatalf("oauth client: %v", err)
	}

	// A late progress watcher of a ready server gets one ready event.
	ch, err := h.M.Progress(ctx, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	evs := spawnertest.Collect(t, ch)
	if len(evs) != 1 || !evs[0].Ready || evs[0].Progress != 100 || evs[0].URL != "/user/alice/" ||
		evs[0].Message != "Server ready at /user/alice/" {
		t.Fatalf("progress of a ready server: %+v", evs)
	}

	// Starting it again is refused while it runs.
	if _, err := h.M.Start(ctx, alice, "", nil); !errors.Is(err, spawner.ErrAlreadyRunning) || !errors.Is(err, spawner.ErrBadRequest) {
		t.Fatalf("second start: %v", err)
	}

	stopped, err := h.M.Stop(ctx, alice, "")
	if err != nil || !stopped {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	if err := syscall.Kill(who.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after stop: %v", who.PID, err)
	}
	if _, ok := h.Hub.Route("/user/alice/"); ok {
		t.Error("route still there after stop")
	}
	row, _ = h.DB.GetSpawner(ctx, alice.ID, "")
	if row.Server != nil || row.Started != nil || len(row.State) != 0 {
		t.Errorf("spawner row after stop: %+v (state %s)", row, row.State)
	}
	if _, err := h.DB.GetOAuthClient(ctx, "jupyterhub-user-alice"); err == nil {
		t.Error("oauth client left after stop")
	}
	if st := h.M.Status("alice", ""); st.Active || st.Ready || st.Target != "" {
		t.Errorf("status after stop: %+v", st)
	}
	if _, err := h.M.Progress(ctx, "alice", ""); !errors.Is(err, spawner.ErrNotStarting) {
		t.Errorf("progress after stop: %v", err)
	}
	// Stopping a stopped server is fine.
	if stopped, err := h.M.Stop(ctx, alice, ""); !stopped || err != nil {
		t.Errorf("second stop = %v, %v", stopped, err)
	}
}

// A server that never listens fails after http_timeout and is stopped.
func TestServerNeverAnswers(t *testing.T) {
	cfg := simpleConfig(t, "silent")
	cfg.HTTPTimeout = spawner.Seconds(1)
	h := newHarness(t, "simple", cfg, limits())
	dave := h.User("dave", false)
	var pid int
	ch := make(chan []spawner.Event, 1)
	go func() {
		// Catch the pid from the spawner's progress event while the spawn is under way.
		spawnertest.WaitFor(t, 5*time.Second, "spawn pending", func() bool { return h.M.Status("dave", "").Pending == "spawn" })
		p, err := h.M.Progress(t.Context(), "dave", "")
		if err != nil {
			ch <- nil
			return
		}
		ch <- spawnertest.Collect(t, p)
	}()
	start := time.Now()
	ready, err := h.M.Start(t.Context(), dave, "", nil)
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
	erin := h.User("erin", false)
	if ready, err := h.M.Start(t.Context(), erin, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	var who spawnertest.Whoami
	h.Get(erin, "", "whoami", &who)
	start := time.Now()
	if stopped, err := h.M.Stop(t.Context(), erin, ""); !stopped || err != nil {
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
	fay := h.User("fay", false)
	if ready, err := h.M.Start(t.Context(), fay, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	var who spawnertest.Whoami
	h.Get(fay, "", "whoami", &who)
	if err := syscall.Kill(who.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	spawnertest.WaitFor(t, 5*time.Second, "the hub to notice", func() bool { return !h.M.Status("fay", "").Active })
	st := h.M.Status("fay", "")
	if st.LastExit == nil || !strings.Contains(st.LastExit.Reason, "signal 9") {
		t.Errorf("last exit: %+v", st.LastExit)
	}
	if _, ok := h.Hub.Route("/user/fay/"); ok {
		t.Error("route left after death")
	}
	row, _ := h.DB.GetSpawner(t.Context(), fay.ID, "")
	if row.Server != nil {
		t.Error("server row left after death")
	}
	// It can be started again.
	if ready, err := h.M.Start(t.Context(), fay, "", nil); !ready || err != nil {
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
	gus, hal, ida := h.User("gus", false), h.User("hal", false), h.User("ida", false)
	for _, u := range []spawner.User{gus, hal, ida} {
		if ready, err := h.M.Start(t.Context(), u, "", nil); !ready || err != nil {
			t.Fatalf("Start %s = %v, %v", u.Name, ready, err)
		}
	}
	var gusWho, halWho, idaWho spawnertest.Whoami
	h.Get(gus, "", "whoami", &gusWho)
	h.Get(hal, "", "whoami", &halWho)
	h.Get(ida, "", "whoami", &idaWho)
	target := h.M.Status("gus", "").Target
	h.M.Close() // the hub goes away; its servers keep running
	if err := syscall.Kill(gusWho.PID, 0); err != nil {
		t.Fatalf("server died with the manager: %v", err)
	}
	// Meanwhile hal's server dies, and ida's hangs (alive, but it answers nothing).
	syscall.Kill(halWho.PID, syscall.SIGKILL)
	spawnertest.WaitFor(t, 5*time.Second, "hal's server to die", func() bool { return syscall.Kill(halWho.PID, 0) != nil })
	syscall.Kill(idaWho.PID, syscall.SIGSTOP)

	h.Open() // the new hub
	if err := h.M.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	st := h.M.Status("gus", "")
	if !st.Ready || st.Target != target || st.Version != "5.5.1" {
		t.Fatalf("gus after restore: %+v (target before %s)", st, target)
	}
	if rt, ok := h.Hub.Route("/user/gus/"); !ok || rt != target {
		t.Errorf("route after restore = %q, %v", rt, ok)
	}
	for _, u := range []spawner.User{hal, ida} {
		if st := h.M.Status(u.Name, ""); st.Active {
			t.Errorf("%s's server restored: %+v", u.Name, st)
		}
		row, _ := h.DB.GetSpawner(t.Context(), u.ID, "")
		if row.Server != nil || len(row.State) != 0 {
			t.Errorf("%s's row not cleared: server %+v state %s", u.Name, row.Server, row.State)
		}
		if _, ok := h.Hub.Route("/user/" + u.Name + "/"); ok {
			t.Errorf("%s routed", u.Name)
		}
	}
	spawnertest.WaitFor(t, 5*time.Second, "ida's hung server to be stopped", func() bool { return syscall.Kill(idaWho.PID, 0) != nil })
	// The new hub can stop the adopted server.
	if stopped, err := h.M.Stop(t.Context(), gus, ""); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	spawnertest.WaitFor(t, 5*time.Second, "gus's server to end", func() bool { return syscall.Kill(gusWho.PID, 0) != nil })
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
