package local_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gohub/internal/spawner"
	"gohub/internal/spawner/spawnertest"
)

// Many requests at once: concurrent starts of one server start it once; starts, status and
// progress of several users interleave; StopAll ends everything. Run with -race.
func TestConcurrentRequests(t *testing.T) {
	cfg := simpleConfig(t, "slow,serve")
	cfg.Environment["GOHUB_TEST_DELAY"] = "300ms"
	cfg.PollInterval = spawner.Seconds(0.05)
	l := limits()
	l.SlowSpawnTimeout = spawner.Seconds(0.1)
	h := newHarness(t, "simple", cfg, l)
	ctx := t.Context()
	users := make([]spawner.User, 4)
	for i := range users {
		users[i] = h.User(fmt.Sprintf("cc%d", i), false)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for _, u := range users {
		for range 5 {
			wg.Go(func() {
				if _, err := h.M.Start(ctx, u, "", nil); err != nil {
					errs <- fmt.Errorf("start %s: %w", u.Name, err)
				}
			})
		}
		wg.Go(func() {
			for range 20 {
				h.M.Status(u.Name, "")
				time.Sleep(5 * time.Millisecond)
			}
		})
		wg.Go(func() {
			if ch, err := h.M.Progress(ctx, u.Name, ""); err == nil {
				for range ch {
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, u := range users {
		spawnertest.WaitFor(t, 10*time.Second, u.Name+" ready", func() bool { return h.M.Status(u.Name, "").Ready })
		ch, err := h.M.Progress(ctx, u.Name, "")
		if err != nil {
			t.Fatal(err)
		}
		spawnertest.Collect(t, ch)
	}
	// Each server was started once: one process per user, and the state names it.
	for _, u := range users {
		var who spawnertest.Whoami
		h.Get(u, "", "whoami", &who)
		if pid := int(h.State(u, "")["pid"].(float64)); pid != who.PID {
			t.Errorf("%s: state pid %d, serving pid %d", u.Name, pid, who.PID)
		}
		out, _ := readCmdlines(who.PID)
		if out != 0 {
			t.Errorf("%s: %d other helper processes of this user", u.Name, out)
		}
	}
	// Stops and starts racing each other end in a consistent state.
	for _, u := range users {
		wg.Go(func() { h.M.Stop(ctx, u, "") })
		wg.Go(func() { h.M.Start(ctx, u, "", nil) })
	}
	wg.Wait()
	if err := h.M.StopAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if st := h.M.Status(u.Name, ""); st.Active {
			t.Errorf("%s still active after StopAll: %+v", u.Name, st)
		}
		if _, ok := h.Hub.Route("/user/" + u.Name + "/"); ok {
			t.Errorf("%s still routed", u.Name)
		}
	}
}

// readCmdlines counts helper processes other than pid that serve the same user, by their
// environment's JUPYTERHUB_USER (read from /proc, as root or as the same user).
func readCmdlines(pid int) (int, error) {
	self, err := procEnv(pid)
	if err != nil {
		return 0, err
	}
	user := self["JUPYTERHUB_USER"]
	entries, err := procPIDs()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range entries {
		if p == pid {
			continue
		}
		env, err := procEnv(p)
		if err != nil || env["GOHUB_TEST_SERVER"] == "" {
			continue
		}
		if env["JUPYTERHUB_USER"] == user && strings.HasPrefix(env["JUPYTERHUB_SERVICE_PREFIX"], "/user/"+user+"/") {
			n++
		}
	}
	return n, nil
}

// procEnv reads a process's environment from /proc.
func procEnv(pid int) (map[string]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(data), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env, nil
}

// procPIDs lists the pids in /proc.
func procPIDs() ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}
