package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServer serves h on the proxy's own Server and returns its address.
func startServer(t testing.TB, h http.Handler, idle time.Duration) string {
	t.Helper()
	return startServerWith(t, &Server{Handler: h, IdleTimeout: idle})
}

// startServerWith serves s on a loopback port until the test ends and returns its address.
func startServerWith(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String()
}

func rawExchange(t *testing.T, addr, send string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, send); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c) // until the server closes
	return string(b)
}

func TestServerHTTP10ClosesAndPipelines(t *testing.T) {
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+r.RequestURI+" "+string(b))
	}), time.Second)
	got := rawExchange(t, addr, "GET /a%2Fb?x HTTP/1.0\r\nHost: h\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.0 200 OK\r\n") || !strings.HasSuffix(got, "GET /a%2Fb?x ") {
		t.Errorf("HTTP/1.0: %q", got)
	}
	got = rawExchange(t, addr, "POST /1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"+
		"POST /2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"+
		"GET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	for _, want := range []string{"POST /1 abc", "POST /2 de", "GET /3 ", "Connection: close"} {
		if !strings.Contains(got, want) {
			t.Errorf("pipelined responses lack %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "HTTP/1.1 200 OK") != 3 {
		t.Errorf("want 3 responses:\n%s", got)
	}
}

func TestServerBadRequestExpectContinueAndIdleTimeout(t *testing.T) {
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Length", "2")
		w.Write(b[:2])
	}), 300*time.Millisecond)
	if got := rawExchange(t, addr, "NOT HTTP\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 400 ") {
		t.Errorf("garbage: %q", got)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("expected 100 Continue, got %q", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "body")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "bo" {
		t.Fatalf("after 100-continue: %d %q", resp.StatusCode, b)
	}
	start := time.Now()
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("idle connection got data")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle connection closed after %v, want about 300 ms", d)
	}
}

func TestServerSurvivesPanicsAndHugeHeaders(t *testing.T) {
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("handler bug")
		}
		io.WriteString(w, "fine")
	}), time.Second)
	if got := rawExchange(t, addr, "GET /panic HTTP/1.1\r\nHost: h\r\n\r\n"); got != "" {
		t.Errorf("panic: got %q, want the connection closed", got)
	}
	huge := "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n"
	if got := rawExchange(t, addr, huge); !strings.HasPrefix(got, "HTTP/1.1 431 ") {
		t.Errorf("2 MB header: %.60q", got)
	}
	if got := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"); !strings.Contains(got, "\r\nfine\r\n") {
		t.Errorf("after the panic: %q", got)
	}
}

// TestServerIdleDeadlineFollowsRequests checks that the lazily moved read deadline still
// keeps a busy keep-alive connection open past the first idle period and closes it about
// one idle period after its last request.
func TestServerIdleDeadlineFollowsRequests(t *testing.T) {
	const idle = 400 * time.Millisecond
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), idle)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i := range 8 { // 8 × 100 ms: twice the idle timeout in all
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.ReadAll(resp.Body)
		time.Sleep(idle / 4)
	}
	start := time.Now()
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("idle connection got data")
	}
	if d := time.Since(start) + idle/4; d < idle*3/4 || d > 3*time.Second {
		t.Errorf("idle connection closed %v after its last request, want about %v", d, idle)
	}
}
