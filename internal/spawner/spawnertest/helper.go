// Package spawnertest is the conformance suite every spawner kind passes (Run), with what it
// is built from: a test single-user server (the test binary itself, see MaybeRunHelper), a
// Harness that runs a spawner.Manager on a real SQLite database with a recording FakeHub, and
// small helpers. Spawner packages use it from their tests:
//
//	func TestMain(m *testing.M) { spawnertest.MaybeRunHelper(); os.Exit(m.Run()) }
//	func TestConformance(t *testing.T) { spawnertest.Run(t, spawnertest.Kind{...}) }
package spawnertest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// HelperEnv is the variable (set through Spawner.environment) that makes the test binary act
// as a single-user server. Its value is a comma-separated list of modes:
//   - serve: listen on JUPYTERHUB_SERVICE_URL and answer {prefix}api (302 with
//     X-JupyterHub-Version), {prefix}env (the environment as JSON), {prefix}whoami (Whoami),
//     {prefix}exit (exit with status 7), {prefix}hang (close the listener, keep running);
//   - exit: print a message and exit 3 at once;
//   - silent: never listen, sleep until killed;
//   - stubborn: ignore SIGTERM and SIGINT;
//   - slow: wait DelayEnv (a Go duration) before listening.
const HelperEnv = "GOHUB_TEST_SERVER"

// DelayEnv is the delay of the slow mode.
const DelayEnv = "GOHUB_TEST_DELAY"

// MaybeRunHelper runs the test server and exits when HelperEnv is set; call it first in
// TestMain.
func MaybeRunHelper() {
	if mode, ok := os.LookupEnv(HelperEnv); ok {
		os.Exit(helper(mode))
	}
}

func helper(mode string) int {
	has := func(m string) bool {
		for _, x := range strings.Split(mode, ",") {
			if x == m {
				return true
			}
		}
		return false
	}
	if has("exit") {
		fmt.Fprintln(os.Stderr, "helper: exiting at once on purpose")
		return 3
	}
	if has("stubborn") {
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
	}
	if has("silent") {
		for {
			time.Sleep(time.Hour)
		}
	}
	if has("slow") {
		d, _ := time.ParseDuration(os.Getenv(DelayEnv))
		time.Sleep(d)
	}
	u, err := url.Parse(os.Getenv("JUPYTERHUB_SERVICE_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: bad JUPYTERHUB_SERVICE_URL:", err)
		return 2
	}
	l, err := net.Listen("tcp", u.Host)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: listen:", err)
		return 2
	}
	prefix := os.Getenv("JUPYTERHUB_SERVICE_PREFIX")
	mux := http.NewServeMux()
	mux.HandleFunc(prefix+"api", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-JupyterHub-Version", "5.5.1")
		// A redirect counts as up for the hub, which must not follow it.
		http.Redirect(w, r, prefix+"api/", http.StatusFound)
	})
	mux.HandleFunc(prefix+"env", func(w http.ResponseWriter, r *http.Request) {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		json.NewEncoder(w).Encode(env)
	})
	mux.HandleFunc(prefix+"headers", func(w http.ResponseWriter, r *http.Request) {
		// What reached the server: the request's headers (cookies included) and Host.
		json.NewEncoder(w).Encode(map[string]any{"host": r.Host, "headers": r.Header})
	})
	mux.HandleFunc(prefix+"whoami", func(w http.ResponseWriter, r *http.Request) {
		groups, _ := os.Getgroups()
		cwd, _ := os.Getwd()
		limits, _ := os.ReadFile("/proc/self/limits")
		cgroup, _ := os.ReadFile("/proc/self/cgroup")
		json.NewEncoder(w).Encode(Whoami{
			UID: os.Getuid(), GID: os.Getgid(), Groups: groups, Cwd: cwd, PID: os.Getpid(),
			SID: sid(), Limits: string(limits), Cgroup: string(cgroup),
		})
	})
	mux.HandleFunc(prefix+"exit", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(os.Stderr, "helper: exiting on request")
		os.Exit(7)
	})
	mux.HandleFunc(prefix+"hang", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		go func() {
			time.Sleep(50 * time.Millisecond)
			l.Close()
		}()
	})
	http.Serve(l, mux)
	for {
		time.Sleep(time.Hour) // hung: alive, answering nothing
	}
}

// Whoami is what the test server reports about its process.
type Whoami struct {
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	Groups []int  `json:"groups"`
	Cwd    string `json:"cwd"`
	PID    int    `json:"pid"`
	SID    int    `json:"sid"`
	Limits string `json:"limits"`
	Cgroup string `json:"cgroup"`
}

func sid() int {
	s, _, _ := syscall.RawSyscall(syscall.SYS_GETSID, 0, 0, 0)
	return int(s)
}
