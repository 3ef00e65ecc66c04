package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// proxyUnderTest is a running CHP-compatible proxy: its public and API URLs.
type proxyUnderTest struct {
	name, public, api, token string
}

const testToken = "s3cret-token"

// implementations returns gohub's proxy (in process) and, when installed, the real
// configurable-http-proxy; both run the same conformance tests.
func implementations(t *testing.T) []proxyUnderTest {
	t.Helper()
	return []proxyUnderTest{startGohubStandalone(t), startCHP(t)}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startGohubStandalone(t *testing.T) proxyUnderTest {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- RunStandalone(ctx, StandaloneOptions{IP: "127.0.0.1", APIIP: "127.0.0.1", AuthToken: testToken,
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			Ready:  func(p, a net.Addr) { ready <- [2]net.Addr{p, a} }})
	}()
	var addrs [2]net.Addr
	select {
	case addrs = <-ready:
	case err := <-done:
		t.Fatalf("RunStandalone: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunStandalone: %v", err)
		}
	})
	return proxyUnderTest{name: "gohub", public: "http://" + addrs[0].String(), api: "http://" + addrs[1].String(),
		token: testToken}
}

// chpPath finds configurable-http-proxy; tests skip without it, except under CI=true.
func chpPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"configurable-http-proxy", "/usr/bin/configurable-http-proxy",
		"/usr/local/bin/configurable-http-proxy"} {
		if full, err := exec.LookPath(p); err == nil {
			return full
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("configurable-http-proxy not installed (required under CI=true)")
	}
	t.Skip("configurable-http-proxy not installed")
	return ""
}

func startCHP(t *testing.T) proxyUnderTest {
	t.Helper()
	bin := chpPath(t)
	port, apiPort := freePort(t), freePort(t)
	cmd := exec.Command(bin, "--ip", "127.0.0.1", "--port", strconv.Itoa(port), "--api-ip", "127.0.0.1",
		"--api-port", strconv.Itoa(apiPort), "--log-level", "error")
	cmd.Env = append(os.Environ(), "CONFIGPROXY_AUTH_TOKEN="+testToken)
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start configurable-http-proxy: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := proxyUnderTest{name: "chp", public: fmt.Sprintf("http://127.0.0.1:%d", port),
		api: fmt.Sprintf("http://127.0.0.1:%d", apiPort), token: testToken}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(p.public + "/_chp_healthz")
		if err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", apiPort)); err == nil {
				c.Close()
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("configurable-http-proxy did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func apiDo(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
