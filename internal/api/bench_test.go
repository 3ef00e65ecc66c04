package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"gohub/internal/store"
)

// benchHub is a test hub with n extra users, every third with a running server.
func benchHub(b *testing.B, n int) *testHub {
	b.Helper()
	h := newTestHub(b)
	ctx := context.Background()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("user%05d", i)
	}
	users, err := h.db.CreateUsers(ctx, names, false)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := h.db.CreateGroups(ctx, []string{"big"}, names[:n/2]); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i, u := range users {
		if i%3 != 0 {
			continue
		}
		sp, err := h.db.EnsureSpawner(ctx, u.ID, "")
		if err != nil {
			b.Fatal(err)
		}
		if err := h.db.SetSpawnerServer(ctx, sp.ID, &store.Server{IP: "127.0.0.1", Port: 40000 + i, BaseURL: "/user/" + u.Name + "/"}); err != nil {
			b.Fatal(err)
		}
		sp.Started, sp.LastActivity = &now, &now
		if err := h.db.SaveSpawner(ctx, sp); err != nil {
			b.Fatal(err)
		}
	}
	return h
}

// benchGet runs GET path as the admin through the handler (no network), in parallel.
func benchGet(b *testing.B, h *testHub, path string) {
	handler := h.api.Handler()
	auth := "token " + h.tokens[callAdmin]
	// Warm the token cache and check the reply once.
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", auth)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	b.SetBytes(int64(rec.Body.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", auth)
			w := discardWriter{h: http.Header{}}
			handler.ServeHTTP(&w, req)
			if w.code != 200 {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(c int)   { d.code = c }
func (d *discardWriter) Write(p []byte) (int, error) {
	if d.code == 0 {
		d.code = 200
	}
	return len(p), nil
}

// BenchmarkGetUser is GET /hub/api/users/{name} with an admin token (target ≈ 16k req/s on 2 cores).
func BenchmarkGetUser(b *testing.B) {
	h := benchHub(b, 1000)
	benchGet(b, h, "/hub/api/users/user00300")
}

// BenchmarkListUsers200 is GET /hub/api/users?limit=200 with an admin token (target ≥ 3,900 pages/s).
func BenchmarkListUsers200(b *testing.B) {
	h := benchHub(b, 1000)
	benchGet(b, h, "/hub/api/users?limit=200")
}

// BenchmarkGetUserHTTP is BenchmarkGetUser over a real loopback connection.
func BenchmarkGetUserHTTP(b *testing.B) {
	h := benchHub(b, 1000)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := h.srv.URL + "/hub/api/users/user00300"
	auth := "token " + h.tokens[callAdmin]
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", auth)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
