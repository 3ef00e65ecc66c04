package proxy

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestCHPClientAgainstProxies drives gohub's proxy and the real configurable-http-proxy
// with CHPClient, the way the hub maintains its routes, and checks traffic is routed.
func TestCHPClientAgainstProxies(t *testing.T) {
	be := startEcho(t)
	for _, p := range implementations(t) {
		t.Run(p.name, func(t *testing.T) {
			ctx := t.Context()
			c := NewCHPClient(p.api, p.token, CHPClientOptions{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
			data := map[string]any{"user": "a@b", "server_name": "", "jupyterhub": true}
			if err := c.AddRoute(ctx, "/user/a@b/", be.URL, data); err != nil {
				t.Fatal(err)
			}
			if err := c.AddRoute(ctx, "/", "http://127.0.0.1:1", map[string]any{"hub": true, "jupyterhub": true}); err != nil {
				t.Fatal(err)
			}
			routes, err := c.GetRoutes(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			r, ok := routes["/user/a@b"]
			if !ok || len(routes) != 2 {
				t.Fatalf("routes %v", routes)
			}
			if r.Target != be.URL || r.Data["user"] != "a@b" || r.Data["jupyterhub"] != true ||
				time.Since(r.LastActivity) > time.Minute {
				t.Errorf("route %+v", r)
			}
			e := getEcho(t, p.public+"/user/a%40b/api/status", nil)
			if e.RequestURI != "/user/a%40b/api/status" {
				t.Errorf("proxied to %q", e.RequestURI)
			}
			idle, err := c.GetRoutes(ctx, time.Now().Add(-time.Hour))
			if err != nil || len(idle) != 0 {
				t.Errorf("inactive since an hour ago: %v %v", idle, err)
			}
			if err := c.DeleteRoute(ctx, "/user/a@b/"); err != nil {
				t.Fatal(err)
			}
			if err := c.DeleteRoute(ctx, "/user/a@b/"); err != nil {
				t.Errorf("deleting a missing route must be ignored: %v", err)
			}
			routes, _ = c.GetRoutes(ctx, time.Time{})
			if _, ok := routes["/user/a@b"]; ok || len(routes) != 1 {
				t.Errorf("after delete: %v", routes)
			}
			bad := NewCHPClient(p.api, "wrong", CHPClientOptions{RetryFor: 5 * time.Second})
			start := time.Now()
			var ae *APIError
			if _, err := bad.GetRoutes(ctx, time.Time{}); !errors.As(err, &ae) || ae.Status != 403 {
				t.Errorf("wrong token: %v", err)
			}
			if time.Since(start) > time.Second {
				t.Error("a 403 was retried")
			}
		})
	}
}

func TestCHPClientRetriesConnectionErrorsAnd5xx(t *testing.T) {
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer flaky.Close()
	c := NewCHPClient(flaky.URL, "t", CHPClientOptions{RetryFor: 10 * time.Second})
	if err := c.AddRoute(t.Context(), "/user/x", "http://127.0.0.1:1", nil); err != nil {
		t.Fatalf("AddRoute after two 502s: %v", err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls, want 3", calls.Load())
	}

	dead := NewCHPClient(deadURL(t), "t", CHPClientOptions{RetryFor: 800 * time.Millisecond})
	start := time.Now()
	if err := dead.AddRoute(t.Context(), "/x", "http://127.0.0.1:1", nil); err == nil {
		t.Fatal("AddRoute to a dead API succeeded")
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %v, want about RetryFor", d)
	}
}
