package local_test

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"gohub/internal/spawner"
	"gohub/internal/spawner/local"
	"gohub/internal/spawner/spawnertest"
)

// The real jupyterhub-singleuser starts under the simple spawner: it accepts the environment,
// reaches the hub API given in it, listens where JUPYTERHUB_SERVICE_URL says, and answers the
// readiness check. As root, the test passes --allow-root in args (the spawner never adds it).
func TestRealSingleuserServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jupyter (a few seconds)")
	}
	bin, err := exec.LookPath("jupyterhub-singleuser")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("jupyterhub-singleuser is not installed")
		}
		t.Skip("jupyterhub-singleuser is not installed")
	}
	// A minimal hub API: the version check at start-up and activity reports.
	var mu sync.Mutex
	var seen []string
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("X-JupyterHub-Version", "5.5.1")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"version": "5.5.1"})
	})}
	go api.Serve(l)
	t.Cleanup(func() { api.Close() })

	cfg := local.DefaultSimpleConfig()
	cfg.Cmd = []string{bin}
	if os.Geteuid() == 0 {
		cfg.Args = []string{"--allow-root"}
	}
	cfg.HomeDirTemplate = t.TempDir() + "/{username}"
	cfg.HTTPTimeout = spawner.Seconds(60)
	cfg.StartTimeout = spawner.Seconds(30)
	h := newHarness(t, "simple", cfg, limits())
	h.M.Close()
	h.EnvAPI = "http://" + l.Addr().String() + "/hub/api"
	h.Open()
	lee := h.User("lee", false)
	start := time.Now()
	ready, err := h.M.Start(t.Context(), lee, "", nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !ready {
		spawnertest.WaitFor(t, 60*time.Second, "jupyterhub-singleuser to answer", func() bool {
			st := h.M.Status("lee", "")
			return st.Ready || (!st.Active && st.LastFailure != nil)
		})
	}
	st := h.M.Status("lee", "")
	if !st.Ready {
		t.Fatalf("server failed: %v", st.LastFailure)
	}
	t.Logf("jupyterhub-singleuser %s ready after %s", st.Version, time.Since(start).Round(time.Millisecond))
	if st.Version == "" {
		t.Error("no X-JupyterHub-Version from the server")
	}
	// jupyterhub-singleuser checks the hub's version while it starts listening, so the call
	// may come just after the server answers.
	spawnertest.WaitFor(t, 10*time.Second, "the server to call the hub API", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(strings.Join(seen, "; "), "GET /hub/api")
	})
	resp, err := http.Get(st.Target + "/user/lee/api")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /user/lee/api: %d", resp.StatusCode)
	}
	if stopped, err := h.M.Stop(t.Context(), lee, ""); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
}
