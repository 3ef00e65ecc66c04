package local_test

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
	"testing"
	"time"
)

// The test binary doubles as the single-user server the spawners start: when
// GOHUB_TEST_SERVER is in its environment (set through Spawner.environment), TestMain runs
// the helper instead of the tests. Modes, comma-separated:
//   - serve: listen on JUPYTERHUB_SERVICE_URL and answer {prefix}api, {prefix}env, {prefix}whoami;
//   - exit: print a message and exit 3 at once;
//   - silent: never listen, sleep until killed;
//   - stubborn: ignore SIGTERM and SIGINT;
//   - slow: wait GOHUB_TEST_DELAY (a Go duration) before listening.
func TestMain(m *testing.M) {
	if mode, ok := os.LookupEnv("GOHUB_TEST_SERVER"); ok {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
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
		d, _ := time.ParseDuration(os.Getenv("GOHUB_TEST_DELAY"))
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
	mux.HandleFunc(prefix+"whoami", func(w http.ResponseWriter, r *http.Request) {
		groups, _ := os.Getgroups()
		cwd, _ := os.Getwd()
		limits, _ := os.ReadFile("/proc/self/limits")
		cgroup, _ := os.ReadFile("/proc/self/cgroup")
		json.NewEncoder(w).Encode(whoami{
			UID: os.Getuid(), GID: os.Getgid(), Groups: groups, Cwd: cwd, PID: os.Getpid(),
			SID: sid(), Limits: string(limits), Cgroup: string(cgroup),
		})
	})
	http.Serve(l, mux)
	return 0
}

// whoami is what the helper reports about its process.
type whoami struct {
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
