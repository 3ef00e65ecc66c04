package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestCommandRejectsUnknownFlags(t *testing.T) {
	cmd := Command()
	cmd.SetArgs([]string{"--port", "0", "--no-such-flag"})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "no-such-flag") {
		t.Fatalf("unknown flag: %v", err)
	}
}

func TestCommandRunsLikeCHP(t *testing.T) {
	be := startEcho(t)
	port, apiPort := freePort(t), freePort(t)
	t.Setenv("CONFIGPROXY_AUTH_TOKEN", "tok")
	cmd := Command()
	cmd.SetArgs([]string{"--ip", "127.0.0.1", "--port", fmt.Sprint(port), "--api-ip", "127.0.0.1",
		"--api-port", fmt.Sprint(apiPort), "--default-target", be.URL, "--error-target", be.URL + "/hub/error",
		"--log-level", "warn", "--keep-alive-timeout", "5000", "--timeout", "10000", "--host-routing=false",
		"--custom-header", "X-Extra: yes"})
	cmd.SetErr(t.Output())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	public := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, func() bool {
		resp, err := http.Get(public + "/_chp_healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	e := getEcho(t, public+"/hub/login", nil)
	if e.RequestURI != "/hub/login" || e.Header.Get("X-Extra") != "yes" {
		t.Errorf("default target saw %q %v", e.RequestURI, e.Header)
	}
	if st, _ := apiDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/api/routes", apiPort), "tok", ""); st != 200 {
		t.Errorf("API with CONFIGPROXY_AUTH_TOKEN: %d", st)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("proxy command: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("proxy command did not stop")
	}
}

// TestCommandRefusesToRunWithoutToken starts `gohub proxy` without CONFIGPROXY_AUTH_TOKEN
// (unset, empty, blank): it must exit with an error naming the variable, and never serve
// its route API, which would let anyone who reaches it route every URL to their server.
func TestCommandRefusesToRunWithoutToken(t *testing.T) {
	for name, env := range map[string]*string{"unset": nil, "empty": new(string), "blank": ptr(" \t")} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("CONFIGPROXY_AUTH_TOKEN", "")
			if env == nil {
				os.Unsetenv("CONFIGPROXY_AUTH_TOKEN")
			} else {
				t.Setenv("CONFIGPROXY_AUTH_TOKEN", *env)
			}
			port, apiPort := freePort(t), freePort(t)
			cmd := Command()
			cmd.SetArgs([]string{"--ip", "127.0.0.1", "--port", fmt.Sprint(port), "--api-ip", "127.0.0.1",
				"--api-port", fmt.Sprint(apiPort), "--log-level", "error"})
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- cmd.ExecuteContext(ctx) }()
			api := fmt.Sprintf("http://127.0.0.1:%d/api/routes", apiPort)
			deadline := time.Now().Add(5 * time.Second)
			for {
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), "CONFIGPROXY_AUTH_TOKEN is not set") {
						t.Fatalf("gohub proxy without a token: %v", err)
					}
					return
				default:
				}
				if resp, err := http.Post(api+"/", "application/json", strings.NewReader(`{"target":"http://127.0.0.1:1"}`)); err == nil {
					resp.Body.Close()
					cancel()
					<-done
					t.Fatalf("gohub proxy without a token serves its API: POST /api/routes/ without a token = %d", resp.StatusCode)
				}
				if time.Now().After(deadline) {
					t.Fatal("gohub proxy neither exited nor served")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := RunStandalone(ctx, StandaloneOptions{IP: "127.0.0.1", APIIP: "127.0.0.1"}); err == nil ||
		!strings.Contains(err.Error(), "CONFIGPROXY_AUTH_TOKEN") {
		t.Errorf("RunStandalone without AuthToken: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
