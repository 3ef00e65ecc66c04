package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkProxyHTTP measures one keep-alive GET through Server + the own forwarder to a
// loopback backend, driven by a raw client (so the client allocates little).
func BenchmarkProxyHTTP(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "Hello, World!")
	}))
	defer be.Close()
	tab := NewRouteTable()
	if _, err := tab.Put("/", map[string]any{"target": be.URL}); err != nil {
		b.Fatal(err)
	}
	px := New(tab, Options{Logger: discardLogger()})
	defer px.Close()
	addr := startServer(b, px, 0)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte("GET /user/alice/api/status HTTP/1.1\r\nHost: hub.example\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkListRoutes10k is GET /api/routes with 10,000 routes (the hub's activity poll).
func BenchmarkListRoutes10k(b *testing.B) {
	tab := NewRouteTable()
	rs := make([]*Route, 0, 10000)
	for i := range 10000 {
		r, err := NewRoute(fmt.Sprintf("/user/u%05d", i), map[string]any{"target": "http://127.0.0.1:9000",
			"user": fmt.Sprintf("u%05d", i), "server_name": "", "jupyterhub": true})
		if err != nil {
			b.Fatal(err)
		}
		rs = append(rs, r)
	}
	tab.AddBatch(rs)
	api := NewAPI(tab, APIOptions{Logger: discardLogger()})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest("GET", "/api/routes", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
