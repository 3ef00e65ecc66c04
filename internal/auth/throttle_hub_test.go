package auth_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gohub/internal/config"
	"gohub/internal/hub"
)

// throttleHubConfig: the dummy authenticator (password "pw"), locking a (name, address) pair
// after 3 failures for 10 minutes, telling the reason; the hub on SQLite file db behind the
// built-in proxy.
const throttleHubConfig = `
JupyterHub:
  bind_url: http://127.0.0.1:0
  hub_bind_url: http://127.0.0.1:0
  db_url: sqlite:///%s
  authenticator_class: dummy
  cookie_secret: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
Authenticator:
  failed_logins_before_lockout: 3
  failed_login_delay_seconds: 0
  lockout_seconds: 600
  show_lockout_reason: %v
DummyAuthenticator:
  password: pw
`

// serveHub runs a whole hub (built-in proxy in front) on the SQLite file db until stop is
// called; it returns the public URL.
func serveHub(t *testing.T, db string, show bool) (public string, stop func()) {
	t.Helper()
	public, _, stop = startHub(t, fmt.Sprintf(throttleHubConfig, db, show))
	return public, stop
}

// startHub runs a whole hub with the config file text yaml until stop is called; it returns
// the built-in proxy's URL ("" with configurable-http-proxy: the caller chose its bind_url) and
// the hub listener's URL, where users' servers reach the hub.
func startHub(t *testing.T, yaml string) (public, hubURL string, stop func()) {
	t.Helper()
	dir := t.TempDir()
	file, err := config.Parse(filepath.Join(dir, "gohub_config.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := hub.New(ctx, file, hub.Options{Logger: slog.New(slog.NewTextHandler(logWriter{t}, nil))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ls, err := h.Listen()
	if err != nil {
		cancel()
		h.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, ls) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		h.Close()
	}
	t.Cleanup(stop)
	hubURL = "http://" + ls.Hub.Addr().String()
	if ls.Public != nil {
		public = "http://" + ls.Public.Addr().String()
	}
	return public, hubURL, stop
}

var xsrfField = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

// clientFrom is an HTTP client whose connections come from the loopback address client
// (127.0.0.0/8 is all loopback), so the hub sees a different client per address, as it would
// see different hosts. It keeps cookies and does not follow redirects.
func clientFrom(client string) *http.Client {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(client)}}
	return &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// formLogin gets the login page and posts the login form through the proxy as a client at the
// loopback address client; extra headers go on both requests.
func formLogin(t *testing.T, public, client, user, pw string, extra ...string) (*http.Response, string) {
	t.Helper()
	c := clientFrom(client)
	do := func(method, body string) (*http.Response, string) {
		req, _ := http.NewRequest(method, public+"/hub/login", strings.NewReader(body))
		for i := 0; i+1 < len(extra); i += 2 {
			req.Header.Set(extra[i], extra[i+1])
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	_, page := do("GET", "")
	m := xsrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no _xsrf on the login page:\n%s", page)
	}
	return do("POST", url.Values{"_xsrf": {m[1]}, "username": {user}, "password": {pw}}.Encode())
}

// TestLockSurvivesRestart: a (name, address) pair locked by failed logins through the login page
// stays locked after the hub restarts over the same SQLite file; the name from another address
// logs in before and after; the reason is told (429, Retry-After) only with show_lockout_reason.
func TestLockSurvivesRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hub.sqlite")
	const attacker, other = "127.0.0.9", "127.0.0.4"
	public, stop := serveHub(t, db, true)
	for i := range 3 {
		if resp, body := formLogin(t, public, attacker, "alice", "guess"); resp.StatusCode != 403 || !strings.Contains(body, "Invalid username or password") {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	check := func(when string) {
		t.Helper()
		resp, body := formLogin(t, public, attacker, "alice", "pw")
		if resp.StatusCode != 429 || !strings.Contains(body, "Too many failed login attempts. Please try again in") {
			t.Errorf("%s: locked pair with the right password: %d\n%s", when, resp.StatusCode, body)
		}
		if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("%s: Retry-After = %q", when, ra)
		}
		if resp, _ := formLogin(t, public, other, "alice", "pw"); resp.StatusCode != 302 {
			t.Errorf("%s: alice from another address: %d", when, resp.StatusCode)
		}
	}
	check("before the restart")
	stop()

	public, stop = serveHub(t, db, true)
	check("after the restart")
	stop()

	// Without show_lockout_reason the lock looks like a wrong password.
	public, _ = serveHub(t, db, false)
	resp, body := formLogin(t, public, attacker, "alice", "pw")
	if resp.StatusCode != 403 || !strings.Contains(body, "Invalid username or password") || strings.Contains(body, "Too many") {
		t.Errorf("reason hidden: %d\n%s", resp.StatusCode, body)
	}
	if resp.Header.Get("Retry-After") != "" {
		t.Error("Retry-After with the reason hidden")
	}
}

// logWriter sends the hub's log to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
