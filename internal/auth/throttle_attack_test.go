package auth_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingHubConfig: the command authenticator running a script that counts its calls (one
// line each in the file %[2]s) and refuses every login after a moment, as a real password
// check takes one; pairs lock after 3 failures. %[1]s is the database, %[3]s the script, %[4]s
// more config, %[5]d the public port, %[6]s more JupyterHub traits.
const countingHubConfig = `
JupyterHub:
  bind_url: http://127.0.0.1:%[5]d
  hub_bind_url: http://127.0.0.1:0
%[6]s
  db_url: sqlite:///%[1]s
  authenticator_class: command
  cookie_secret: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
Authenticator:
  allow_all: true
  failed_logins_before_lockout: 3
  failed_login_delay_seconds: 0
  lockout_seconds: 600
CommandAuthenticator:
  command: [/bin/sh, %[3]s]
  environment: {COUNT: %[2]s}
%[4]s`

// countingHub starts a hub whose authenticator counts its calls; calls reads the count.
func countingHub(t *testing.T, port int, hubExtra, extra string) (public, hubURL string, calls func() int) {
	t.Helper()
	dir := t.TempDir()
	count, script := filepath.Join(dir, "calls"), filepath.Join(dir, "check.sh")
	body := "cat >/dev/null\necho call >> \"$COUNT\"\nsleep 0.2\necho '{\"refused\": true}'\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	public, hubURL, _ = startHub(t, fmt.Sprintf(countingHubConfig, filepath.Join(dir, "hub.sqlite"), count, script, extra, port, hubExtra))
	return public, hubURL, func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "call")
	}
}

// guess posts one wrong password for user to base+/hub/login from the loopback address client
// (after getting the form and its _xsrf), with the extra headers on both requests; it returns
// the status of the post.
func guess(t *testing.T, base, client, user string, extra ...string) int {
	t.Helper()
	resp, _ := formLogin(t, base, client, user, "wrong", extra...)
	return resp.StatusCode
}

// TestSpoofedForwardedForDoesNotBypassThrottle is the attack of issue 12: a user's server (or
// any local user) connects from loopback and gives every guess a fresh X-Forwarded-For and
// X-Real-Ip. With the built-in proxy the hub sees each client's own connection, so none of
// these headers is believed, neither on the public listener nor on the hub listener, and 30
// guesses reach the authenticator only as often as the lockout allows.
func TestSpoofedForwardedForDoesNotBypassThrottle(t *testing.T) {
	public, hubURL, calls := countingHub(t, 0, "", "")
	for name, base := range map[string]string{"public listener": public, "hub listener": hubURL} {
		before := calls()
		for i := range 30 {
			spoof := fmt.Sprintf("203.0.113.%d", i+1)
			guess(t, base, "127.0.0.1", "alice-"+strings.Fields(name)[0], "X-Forwarded-For", spoof, "X-Real-Ip", spoof)
		}
		if n := calls() - before; n > 3 {
			t.Errorf("%s: %d of 30 spoofed guesses reached the authenticator, want at most 3", name, n)
		}
	}
}

// TestParallelGuessesOverHTTP: 30 wrong guesses posted at once through the built-in proxy
// reach the authenticator at most failed_logins_before_lockout times.
func TestParallelGuessesOverHTTP(t *testing.T) {
	public, _, calls := countingHub(t, 0, "", "")
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() { guess(t, public, "127.0.0.7", "alice") })
	}
	wg.Wait()
	if n := calls(); n > 3 {
		t.Errorf("%d of 30 parallel guesses reached the authenticator, want at most 3", n)
	}
}

// TestForwardedForThroughCHP: behind configurable-http-proxy the hub believes the proxy's
// X-Forwarded-For (CHP proves itself with the secret path of the hub route), so clients at
// different addresses have their own counters: a locked address does not lock another one.
// A spoofed header sent through CHP names only the client's own address (CHP appends the real
// one), and sent straight to the hub listener, as a user's server can, is not believed.
func TestForwardedForThroughCHP(t *testing.T) {
	chp, err := exec.LookPath("configurable-http-proxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("configurable-http-proxy not installed (required under CI=true)")
		}
		t.Skip("configurable-http-proxy is not installed")
	}
	port, apiPort := freePort(t), freePort(t)
	_, hubURL, calls := countingHub(t, port, "  proxy_class: configurable-http-proxy",
		fmt.Sprintf("ConfigurableHTTPProxy:\n  api_url: http://127.0.0.1:%d\n  command: [%s]\n", apiPort, chp))
	public := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, public+"/hub/login")

	// 127.0.0.9 locks its own pair: the 4th and 5th guesses do not reach the authenticator.
	for i := range 5 {
		if code := guess(t, public, "127.0.0.9", "alice"); code != http.StatusForbidden {
			t.Fatalf("guess %d through CHP: %d", i+1, code)
		}
	}
	if n := calls(); n != 3 {
		t.Fatalf("%d guesses from one address reached the authenticator, want 3", n)
	}
	// Another client is another address: its guess is let through.
	guess(t, public, "127.0.0.4", "alice")
	if n := calls(); n != 4 {
		t.Fatalf("a guess from a second address behind CHP did not reach the authenticator (%d calls): the hub does not see CHP's X-Forwarded-For", n)
	}
	for name, base := range map[string]string{"through CHP": public, "to the hub listener": hubURL} {
		before := calls()
		for i := range 30 {
			spoof := fmt.Sprintf("203.0.113.%d", i+1)
			guess(t, base, "127.0.0.5", "bob-"+strings.Fields(name)[0], "X-Forwarded-For", spoof, "X-Real-Ip", spoof)
		}
		if n := calls() - before; n > 3 {
			t.Errorf("%s: %d of 30 spoofed guesses reached the authenticator, want at most 3", name, n)
		}
	}
}

// waitFor polls url until it answers 200 (a proxy the hub is starting).
func waitFor(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
