package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
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
