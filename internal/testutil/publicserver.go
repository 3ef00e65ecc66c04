package testutil

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"gohub/internal/proxy"
)

// PublicServer serves a handler on loopback with proxy.Server, the HTTP server of the hub's
// public listener, so that a handler suite runs through the server users reach the hub by
// rather than through httptest's net/http server.
type PublicServer struct {
	// URL is http://127.0.0.1:port, without a trailing slash, as httptest.Server's.
	URL  string
	srv  *proxy.Server
	done chan error
}

// NewPublicServer serves h until Close or the end of the test.
func NewPublicServer(t testing.TB, h http.Handler) *PublicServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &PublicServer{URL: "http://" + ln.Addr().String(), srv: &proxy.Server{Handler: h},
		done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(ln) }()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, waiting up to 5 s for requests in progress; it may be called twice.
func (s *PublicServer) Close() {
	if s.done == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
	s.done = nil
}
