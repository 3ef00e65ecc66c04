package proxy

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStandaloneUnixSocketsErrorPathAndPIDFile covers --socket, --api-socket, --error-path
// and --pid-file.
func TestStandaloneUnixSocketsErrorPathAndPIDFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "404.html"), []byte("custom 404 page"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := StandaloneOptions{Socket: filepath.Join(dir, "proxy.sock"), APISocket: filepath.Join(dir, "api.sock"),
		ErrorPath: dir, PIDFile: filepath.Join(dir, "proxy.pid"), AuthToken: testToken,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	ready := make(chan struct{})
	o.Ready = func(net.Addr, net.Addr) { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunStandalone(ctx, o) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("RunStandalone: %v", err)
	}
	pid, err := os.ReadFile(o.PIDFile)
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file: %q %v", pid, err)
	}
	client := func(sock string) *http.Client {
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			}}}
	}
	be := startEcho(t)
	req, _ := http.NewRequest("POST", "http://api/api/routes/user/x", strings.NewReader(`{"target":"`+be.URL+`"}`))
	req.Header.Set("Authorization", "token "+testToken)
	resp, err := client(o.APISocket).Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("add route over the API socket: %v %v", resp, err)
	}
	resp.Body.Close()
	pub := client(o.Socket)
	resp, err = pub.Get("http://hub/user/x/tree")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("proxy over its socket: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = pub.Get("http://hub/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || string(b) != "custom 404 page" {
		t.Errorf("--error-path: %d %q", resp.StatusCode, b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunStandalone: %v", err)
	}
	if _, err := os.Stat(o.PIDFile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}
