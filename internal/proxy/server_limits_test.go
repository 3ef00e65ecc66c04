package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// dialRaw connects to addr with a 10 s safety deadline.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// closedWithin reads from c until it closes and reports how long that took, failing if
// the server sent a response or kept the connection past limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v (read %q)", limit, b)
	}
	return time.Since(start)
}

// TestServerBodyTimeout: a client that stops sending its body is cut off after BodyTimeout
// (the old server lifted the read deadline for bodies and waited forever), while one that
// keeps sending, more slowly than the timeout in all, is not.
func TestServerBodyTimeout(t *testing.T) {
	const timeout = 500 * time.Millisecond
	bodyErr := make(chan error, 2)
	addr := startServerWith(t, &Server{BodyTimeout: timeout, IdleTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			bodyErr <- err
			fmt.Fprintf(w, "%d", len(b))
		})})

	stalled := dialRaw(t, addr)
	io.WriteString(stalled, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n12345")
	select {
	case err := <-bodyErr:
		if err == nil {
			t.Fatal("a stalled body read without error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a stalled body was waited for 5 s; BodyTimeout is 500 ms")
	}
	if d := closedWithin(t, stalled, 3*time.Second); d > 2*time.Second {
		t.Errorf("closed %v after the body timed out", d)
	}

	// 8 bytes, one every 125 ms: 1 s in all, two timeouts' worth.
	slow := dialRaw(t, addr)
	io.WriteString(slow, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n")
	for range 8 {
		time.Sleep(timeout / 4)
		if _, err := io.WriteString(slow, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-bodyErr; err != nil {
		t.Fatalf("a slow but steady body failed: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "8" {
		t.Errorf("slow body: %q", b)
	}
}

// TestServerWriteTimeout: a client that stops reading a response is cut off after
// WriteTimeout (the old server had no write deadline: the handler blocked forever), while
// one that keeps reading slowly is not.
func TestServerWriteTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	writeErr := make(chan error, 1)
	chunk := strings.Repeat("x", 64<<10)
	addr := startServerWith(t, &Server{WriteTimeout: timeout, Handler: http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				for range 8 {
					if _, err := io.WriteString(w, "y"); err != nil {
						writeErr <- err
						return
					}
					w.(http.Flusher).Flush()
					time.Sleep(timeout / 2)
				}
				writeErr <- nil
				return
			}
			for range 1024 { // 64 MiB: far more than the socket buffers hold
				if _, err := io.WriteString(w, chunk); err != nil {
					writeErr <- err
					return
				}
			}
			writeErr <- nil
		})})

	stuck := dialRaw(t, addr)
	io.WriteString(stuck, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	select {
	case err := <-writeErr:
		if err == nil {
			t.Fatal("64 MiB written to a client that reads nothing")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler still blocks on a client that reads nothing after 5 s; WriteTimeout is 300 ms")
	}

	slow := dialRaw(t, addr)
	io.WriteString(slow, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if err := <-writeErr; err != nil || string(b) != "yyyyyyyy" {
		t.Errorf("a stream slower than WriteTimeout in all: %q, %v", b, err)
	}
}

// TestServerHeaderTimeout: the headers of a request get HeaderTimeout from its first byte,
// even when that is longer than IdleTimeout (the old server kept the idle deadline), and no
// more.
func TestServerHeaderTimeout(t *testing.T) {
	addr := startServerWith(t, &Server{IdleTimeout: 200 * time.Millisecond, HeaderTimeout: time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })})
	c := dialRaw(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\n")
	time.Sleep(500 * time.Millisecond) // past the idle timeout, within the header timeout
	io.WriteString(c, "Host: h\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("headers within HeaderTimeout: %v %v", resp, err)
	}
	c = dialRaw(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n")
	if d := closedWithin(t, c, 3*time.Second); d < 700*time.Millisecond {
		t.Errorf("incomplete headers cut after %v, want about 1 s", d)
	}
}

// TestServerMaxConns: at MaxConns busy connections a new one is answered 503 and closed (the
// old server had no cap); an idle keep-alive connection gives its place to a new one.
func TestServerMaxConns(t *testing.T) {
	const maxConns = 3
	addr := startServerWith(t, &Server{MaxConns: maxConns, IdleTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })})
	get := func(c net.Conn) (*http.Response, error) {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
			return nil, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			io.ReadAll(resp.Body)
		}
		return resp, err
	}
	// maxConns connections in the middle of their headers: busy.
	var busy []net.Conn
	for range maxConns {
		c := dialRaw(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\n")
		busy = append(busy, c)
	}
	time.Sleep(300 * time.Millisecond) // the server has read the bytes: busy
	over := dialRaw(t, addr)
	resp, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("connection %d of %d: %v %v, want 503", maxConns+1, maxConns, resp, err)
	}
	closedWithin(t, over, 3*time.Second)
	// The busy ones finish their requests and stay open, idle: the next connection takes
	// the place of one of them.
	for _, c := range busy {
		io.WriteString(c, "Host: h\r\n\r\n")
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("busy connection: %v %v", resp, err)
		}
	}
	time.Sleep(300 * time.Millisecond) // the server has finished with them: idle
	fresh := dialRaw(t, addr)
	if resp, err := get(fresh); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a new connection with idle ones at the cap: %v %v", resp, err)
	}
	evicted := 0
	for _, c := range busy {
		if _, err := get(c); err != nil {
			evicted++
		}
	}
	if evicted != 1 {
		t.Errorf("%d idle connections closed for the new one, want 1", evicted)
	}
}

// TestServerIdleConnectionsHoldNoBuffers: connections that have sent nothing yet cost their
// goroutine and a small array, not the 4 KiB read and write buffers (the old server took
// them from the pools at accept).
func TestServerIdleConnectionsHoldNoBuffers(t *testing.T) {
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), 10*time.Second)
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const n = 300
	before := heap()
	conns := make([]net.Conn, 0, n)
	var mu sync.Mutex
	for range n {
		c := dialRaw(t, addr)
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	time.Sleep(200 * time.Millisecond) // every connection accepted and waiting
	per := (float64(heap()) - float64(before)) / n
	t.Logf("%.0f bytes of heap per idle connection (client side included)", per)
	if per > 6144 {
		t.Errorf("%.0f bytes of heap per idle connection, want < 6 KiB", per)
	}
	runtime.KeepAlive(conns)
}

// TestProxyCommandLimitFlags: `gohub proxy --body-timeout --max-connections` reach its server.
func TestProxyCommandLimitFlags(t *testing.T) {
	be := startLogBackend(t)
	sock := startProxyCommand(t, "--default-target", be.url(), "--body-timeout", "1000", "--max-connections", "1")
	dial := func() net.Conn {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	stalled := dial()
	io.WriteString(stalled, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n12345")
	time.Sleep(300 * time.Millisecond) // the server has read the bytes: busy
	resp, err := http.ReadResponse(bufio.NewReader(dial()), nil)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a second connection with --max-connections 1: %v %v, want 503", resp, err)
	}
	if d := closedWithin(t, stalled, 3*time.Second); d > 2*time.Second {
		t.Errorf("a stalled body with --body-timeout 1000 closed after %v", d)
	}
}

// TestServerTLS: over a TLS listener requests see their TLS state and bodies arrive; a
// connection over MaxConns is closed without a handshake.
func TestServerTLS(t *testing.T) {
	certSrv := httptest.NewUnstartedServer(nil)
	certSrv.StartTLS()
	cert := certSrv.TLS.Certificates[0]
	certSrv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{MaxConns: 1, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%v %s", r.TLS != nil, b)
	})}
	go s.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}))
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // test certificate
	url := "https://" + ln.Addr().String() + "/"
	resp, err := client.Post(url, "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "true body" {
		t.Errorf("over TLS: %q", b)
	}
	// One busy connection in place of the client's: the next one is over the cap.
	client.CloseIdleConnections()
	time.Sleep(300 * time.Millisecond)
	busy := dialRaw(t, ln.Addr().String())
	tc := tls.Client(busy, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test certificate
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tc, "GET / HTTP/1.1\r\n")
	time.Sleep(300 * time.Millisecond)                                                        // the server has read the bytes: busy
	over := tls.Client(dialRaw(t, ln.Addr().String()), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test certificate
	if err := over.Handshake(); err == nil {
		t.Error("a TLS connection over MaxConns completed its handshake")
	}
}
