package oauth

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// needSingleuser returns Debian's jupyterhub-singleuser, skipping (failing in CI) without it.
func needSingleuser(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("jupyterhub-singleuser")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("jupyterhub-singleuser is not installed (apt-get install jupyterhub)")
		}
		t.Skip("jupyterhub-singleuser is not installed")
	}
	return p
}

// freePort returns a port on 127.0.0.1 nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects a process's output for the failure log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The unmodified jupyterhub-singleuser (Debian's JupyterHub 3.0) logs a browser in through the
// provider (protocol.md §2.4): a public listener routes /user/alice/ to the server and the rest to the
// hub, as the proxy would; the browser, logged in to the hub, lands on a Jupyter page.
func TestSingleuserLogin(t *testing.T) {
	t.Parallel()
	bin := needSingleuser(t)
	h := newHub(t)
	port := freePort(t)
	home := t.TempDir()
	cmd := exec.Command(bin, "--allow-root", "--ip=127.0.0.1", "--port="+strconv.Itoa(port))
	cmd.Dir = home
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"JUPYTERHUB_API_TOKEN="+h.aliceToken,
		"JUPYTERHUB_CLIENT_ID="+h.aliceClient,
		"JUPYTERHUB_API_URL="+h.srv.URL+"/hub/api",
		"JUPYTERHUB_ACTIVITY_URL="+h.srv.URL+"/hub/api/users/alice/activity",
		"JUPYTERHUB_BASE_URL=/",
		"JUPYTERHUB_HOST=",
		"JUPYTERHUB_SERVICE_PREFIX=/user/alice/",
		"JUPYTERHUB_SERVICE_URL=http://127.0.0.1:"+strconv.Itoa(port)+"/user/alice/",
		"JUPYTERHUB_OAUTH_CALLBACK_URL=/user/alice/oauth_callback",
		`JUPYTERHUB_OAUTH_ACCESS_SCOPES=["access:servers!server=alice/", "access:servers!user=alice"]`,
		"JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES=[]",
		"JUPYTERHUB_USER=alice",
		"JUPYTERHUB_SERVER_NAME=",
	)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("jupyterhub-singleuser output:\n%s", out.String())
		}
	})
	server, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(port))
	waitUp(t, server.String()+"/user/alice/api")

	toServer := httputil.NewSingleHostReverseProxy(server)
	hubURL, _ := url.Parse(h.srv.URL)
	toHub := httputil.NewSingleHostReverseProxy(hubURL)
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/user/alice/") {
			toServer.ServeHTTP(w, r)
			return
		}
		toHub.ServeHTTP(w, r)
	}))
	t.Cleanup(public.Close)

	b := h.browser("")
	rec := httptest.NewRecorder()
	h.sessions.SetLogin(rec, h.users["alice"].CookieID)
	pub, _ := url.Parse(public.URL + "/hub/")
	b.c.Jar.SetCookies(pub, rec.Result().Cookies())
	var hops []string
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		hops = append(hops, req.URL.Path)
		if len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	// A page, not the Jupyter API: the API answers a browser without credentials with 403.
	resp, err := b.c.Get(public.URL + "/user/alice/tree")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("redirects: %v", hops)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/user/alice/") {
		t.Fatalf("landed on %d %s via %v:\n%.2000s", resp.StatusCode, resp.Request.URL, hops, body)
	}
	want := []string{"/hub/api/oauth2/authorize", "/user/alice/oauth_callback"}
	for _, w := range want {
		if !strings.Contains(strings.Join(hops, " "), w) {
			t.Errorf("redirects %v did not pass %s", hops, w)
		}
	}
	// The server's cookie now carries a hub token; the Jupyter API accepts the browser.
	resp, err = b.c.Get(public.URL + "/user/alice/api/contents")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Jupyter API with the server's cookie: %d", resp.StatusCode)
	}

	// Bob, logged in to the hub, is refused by the hub's authorize step.
	bob := h.browser("")
	rec = httptest.NewRecorder()
	h.sessions.SetLogin(rec, h.users["bob"].CookieID)
	bob.c.Jar.SetCookies(pub, rec.Result().Cookies())
	bob.c.CheckRedirect = nil
	resp, err = bob.c.Get(public.URL + "/user/alice/tree")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Request.URL.Path != "/hub/api/oauth2/authorize" {
		t.Errorf("bob: %d at %s, want 403 at the authorize step", resp.StatusCode, resp.Request.URL.Path)
	}
}

// waitUp polls url until it answers below 500 (the hub's readiness rule, protocol.md §2.1 step 6).
func waitUp(t *testing.T, u string) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if resp, err := c.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
		}
	}
	t.Fatalf("%s did not come up", u)
}
