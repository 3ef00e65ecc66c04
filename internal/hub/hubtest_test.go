package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"gohub/internal/config"
	"gohub/internal/spawner/spawnertest"
)

// The test binary doubles as the single-user server the simple spawner starts.
func TestMain(m *testing.M) {
	spawnertest.MaybeRunHelper()
	os.Exit(m.Run())
}

// adminToken is the API token of the admin service of every test hub.
const adminToken = "hub-test-admin-token-0123456789abcdef"

// liveHub is a whole hub serving on 127.0.0.1 (public and hub listeners) in this process.
type liveHub struct {
	t       *testing.T
	h       *Hub
	cfgPath string
	public  string // http://127.0.0.1:port
	apiURL  string // public + /hub/api
	hup     chan os.Signal
	logs    *syncBuffer // every log line at Info and above (tests may search it)
}

// hubConfig is the YAML of a test hub: dummy authenticator (password "pw"), the simple
// spawner running the helper server; extra is appended (more sections or Authenticator keys).
func hubConfig(t *testing.T, dir string, pubPort, hubPort int, auth, extra string) string {
	return fmt.Sprintf(`
JupyterHub:
  bind_url: http://127.0.0.1:%d
  hub_bind_url: http://127.0.0.1:%d
  db_url: sqlite:///%s/hub.sqlite
  authenticator_class: %s
  spawner_class: simple
  cookie_secret: %s
  public_url: http://127.0.0.1:%d/
  services:
    - {name: admin-bot, api_token: %s, admin: true}
Spawner:
  cmd: [%s]
  environment: {%s: serve}
  http_timeout: 10
  start_timeout: 20
SimpleLocalProcessSpawner:
  home_dir_template: %s
%s`, pubPort, hubPort, dir, auth, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		pubPort, adminToken, spawnertest.HelperBinary(t), spawnertest.HelperEnv, dir, extra)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startLiveHub writes the config made by mk (given the ports) and serves a hub from it until
// the test ends. SIGHUP reaches it through the process's signal handling (signal.Notify on
// lh.hup), as in `gohub serve`.
func startLiveHub(t *testing.T, hup chan os.Signal, mk func(dir string, pubPort, hubPort int) string) *liveHub {
	t.Helper()
	dir := t.TempDir()
	var lh *liveHub
	var h *Hub
	var ls *Listeners
	var ctx context.Context
	var cancel context.CancelFunc
	// A port picked free may be taken by another test before the hub binds it: try again.
	for attempt := 1; ; attempt++ {
		pub, hubPort := freePort(t), freePort(t)
		lh = &liveHub{t: t, cfgPath: filepath.Join(dir, "gohub_config.yaml"), hup: hup,
			public: fmt.Sprintf("http://127.0.0.1:%d", pub), logs: &syncBuffer{}}
		lh.apiURL = lh.public + "/hub/api"
		lh.write(mk(dir, pub, hubPort))
		load := func() (*config.File, error) { return config.Load(lh.cfgPath) }
		file, err := load()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel = context.WithCancel(context.Background())
		logger := slog.New(slog.NewMultiHandler(testLogger(t).Handler(),
			slog.NewTextHandler(lh.logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
		opts := Options{Logger: logger, LoadConfig: load, Console: io.Discard}
		if hup != nil {
			opts.ReloadSignals = hup
		}
		if h, err = New(ctx, file, opts); err != nil {
			cancel()
			t.Fatal(err)
		}
		if ls, err = h.Listen(); err == nil {
			break
		}
		h.Close()
		cancel()
		if attempt == 5 {
			t.Fatal(err)
		}
	}
	lh.h = h
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, ls) }()
	t.Cleanup(func() {
		// Servers outlive the hub by design; stop them first.
		sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
		h.spawners.StopAll(sctx)
		scancel()
		cancel()
		<-done
		h.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(lh.apiURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return lh
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the hub did not come up")
	return nil
}

func (lh *liveHub) write(cfg string) {
	if err := os.WriteFile(lh.cfgPath, []byte(cfg), 0o600); err != nil {
		lh.t.Fatal(err)
	}
}

// api calls the REST API with a token and decodes a JSON reply into out (if not nil).
func (lh *liveHub) api(method, path, token string, body any, out any) int {
	lh.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, lh.apiURL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		lh.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			lh.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// setPassword gives user a password as `gohub user set-password` does: an admin's cannot be
// claimed by a first login.
func (lh *liveHub) setPassword(user, pw string) {
	lh.t.Helper()
	if err := lh.h.pipeline.SetOwnerPassword(lh.t.Context(), user, pw); err != nil {
		lh.t.Fatalf("password of %s: %v", user, err)
	}
}

// newToken makes an API token for user through the admin service.
func (lh *liveHub) newToken(user string) string {
	lh.t.Helper()
	var out map[string]any
	if code := lh.api("POST", "/users/"+user+"/tokens", adminToken, map[string]any{"note": "test"}, &out); code != 201 {
		lh.t.Fatalf("token for %s: %d %v", user, code, out)
	}
	return out["token"].(string)
}

// startServer starts user's default server through the API and waits until it is ready;
// it returns the server's own address (the helper's listener).
func (lh *liveHub) startServer(user string) string {
	lh.t.Helper()
	code := lh.api("POST", "/users/"+user+"/server", adminToken, nil, nil)
	if code != 201 && code != 202 {
		lh.t.Fatalf("start %s's server: %d", user, code)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st := lh.h.spawners.Status(user, "")
		if st.Ready {
			return st.Target
		}
		time.Sleep(20 * time.Millisecond)
	}
	lh.t.Fatalf("%s's server did not become ready", user)
	return ""
}

// browser is a cookie-jar client that does not follow redirects.
type browser struct {
	t  *testing.T
	lh *liveHub
	c  *http.Client
}

var xsrfRE = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

func (lh *liveHub) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: lh.t, lh: lh, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches a public path and returns status, Location and body.
func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.lh.public + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// post submits a form to a public path with the _xsrf of the page at formPath.
func (b *browser) post(formPath, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	_, _, page := b.get(formPath)
	m := xsrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no _xsrf field on %s:\n%s", formPath, page)
	}
	form.Set("_xsrf", m[1])
	resp, err := b.c.PostForm(b.lh.public+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// login logs in through the login form and reports whether it worked (a redirect away).
func (b *browser) login(user, password string) bool {
	b.t.Helper()
	code, _, _ := b.post("/hub/login", "/hub/login", url.Values{"username": {user}, "password": {password}})
	return code == http.StatusFound
}

// loggedIn reports whether /hub/home shows the page (true) or sends to the login page.
func (b *browser) loggedIn() bool {
	b.t.Helper()
	code, loc, _ := b.get("/hub/home")
	switch {
	case code == 200:
		return true
	case code == 302 && regexp.MustCompile(`/hub/login`).MatchString(loc):
		return false
	}
	b.t.Fatalf("/hub/home: %d %s", code, loc)
	return false
}

// serverAnswers reports whether a server's own address still answers HTTP.
func serverAnswers(target string) bool {
	c := &http.Client{Timeout: time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(target + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// within polls cond every 20 ms for up to d.
func within(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sighup sends SIGHUP to this process: the hub's reload channel (signal.Notify) gets it.
func sighup(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}
