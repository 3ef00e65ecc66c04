package e2e

import (
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// TestRestartKeepsServers is issue 3's restart safety: stop the hub (SIGTERM, and in another
// run SIGKILL) while alice's server runs, start it again, and her server still runs, is still
// routed, and her browser session still works.
func TestRestartKeepsServers(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			sc := startScenario(t, "builtin")
			sc.landOnServer(t)
			if code := sc.status(t, "/user/alice/api/status"); code != 200 {
				t.Fatalf("before restart /user/alice/api/status: %d", code)
			}

			sc.h.cmd.Process.Signal(sig)
			sc.h.cmd.Wait()
			// With the hub down nothing answers on the public port: the built-in proxy lives in it.
			sc.h = startHub(t, sc.bin, sc.dir, sc.cfg, sc.hubPort, sc.pubPort)
			defer sc.stopServers(t) // before the new hub's cleanup kills it

			if code := sc.status(t, "/user/alice/api/status"); code != 200 {
				t.Errorf("after restart /user/alice/api/status: %d, want 200 (server still routed, session still valid)", code)
			}
			resp, err := sc.b.c.Get(sc.b.public + "/hub/home")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
				t.Errorf("after restart /hub/home: %d at %s, want 200 without a new login", resp.StatusCode, resp.Request.URL)
			}
			var u map[string]any
			call(t, "GET", sc.h.apiURL+"/users/alice", svcToken, nil, &u)
			servers, _ := u["servers"].(map[string]any)
			def, _ := servers[""].(map[string]any)
			if def == nil || def["ready"] != true {
				t.Errorf("after restart the API does not show alice's server ready: %v", u["servers"])
			}
		})
	}
}

// status GETs a path with alice's cookies, without following redirects, and returns the status.
func (sc *scenario) status(t *testing.T, path string) int {
	t.Helper()
	c := *sc.b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get(sc.b.public + path)
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || time.Now().After(deadline) {
			return resp.StatusCode
		}
		time.Sleep(200 * time.Millisecond)
	}
}
