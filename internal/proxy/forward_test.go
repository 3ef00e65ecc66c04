package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestForwardBodiesHopHeadersAndReuse(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "must not reach the client")
		fmt.Fprintf(w, "%s %s cl=%d te=%v secret=%q addr=%s", r.Method, b, r.ContentLength, r.TransferEncoding,
			r.Header.Get("X-Secret"), r.RemoteAddr)
	}))
	defer be.Close()
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		tp.add(t, "/", be.URL)
		addrs := map[string]bool{}
		for range 5 {
			resp, body := get(t, tp.srv.URL+"/x", func(r *http.Request) {
				r.Header.Set("Connection", "X-Secret")
				r.Header.Set("X-Secret", "1")
			})
			if !strings.HasPrefix(body, "GET  cl=0") || !strings.Contains(body, `secret=""`) {
				t.Errorf("GET: %q", body)
			}
			if resp.Header.Get("X-Hop") != "" {
				t.Errorf("hop-by-hop response header forwarded")
			}
			addrs[body[strings.Index(body, "addr="):]] = true
		}
		if len(addrs) != 1 {
			t.Errorf("5 sequential requests used %d target connections, want 1 (keep-alive)", len(addrs))
		}
		resp, err := http.Post(tp.srv.URL+"/x", "text/plain", strings.NewReader("fixed body"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(b), "POST fixed body cl=10") {
			t.Errorf("fixed-length POST: %q", b)
		}
		pr, pw := io.Pipe()
		go func() {
			for i := range 3 {
				fmt.Fprintf(pw, "chunk%d;", i)
			}
			pw.Close()
		}()
		resp, err = http.Post(tp.srv.URL+"/x", "text/plain", pr) // unknown length: chunked
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(b), "POST chunk0;chunk1;chunk2; cl=-1 te=[chunked]") {
			t.Errorf("chunked POST: %q", b)
		}
	})
}

// startClosingBackend answers one request per connection and then closes it without
// saying "Connection: close", as a target whose keep-alive timer fired would; the channel
// gets a value after each close.
func startClosingBackend(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	closed := make(chan struct{}, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() {
					c.Close()
					closed <- struct{}{}
				}()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	return "http://" + ln.Addr().String(), closed
}

func TestForwardRetriesIdleConnectionClosedByTarget(t *testing.T) {
	tp := startProxy(t, Options{})
	url, closed := startClosingBackend(t)
	tp.add(t, "/", url)
	for i := range 4 {
		if resp, body := get(t, tp.srv.URL+"/x", nil); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("GET %d: %d %q", i, resp.StatusCode, body)
		}
		// A GET finds the pooled connection closed at any time and is sent again; a POST is
		// never sent twice, so it relies on the idle probe seeing the close, which on a loaded
		// machine can come after the next request: the POST waits for the target's close.
		<-closed
		resp, err := http.Post(tp.srv.URL+"/x", "text/plain", strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "ok" {
			t.Fatalf("POST %d: %d %q", i, resp.StatusCode, b)
		}
		<-closed
	}
}

func TestIdleTargetConnectionsSweptWhenTargetStops(t *testing.T) {
	be := startEcho(t)
	tp := startProxy(t, Options{})
	tp.px.pool.idleFor = 200 * time.Millisecond
	tp.add(t, "/", be.URL)
	for range 3 {
		getEcho(t, tp.srv.URL+"/x", nil)
	}
	if n := tp.px.pool.idleCount(); n != 1 {
		t.Fatalf("%d idle target connections, want 1", n)
	}
	be.CloseClientConnections() // the target stops: its side of the connection closes
	waitFor(t, func() bool { return tp.px.pool.idleCount() == 0 })
	fds := openFDs(t)
	dead := deadURL(t)
	tp.add(t, "/dead", dead)
	for range 300 {
		if resp, _ := get(t, tp.srv.URL+"/dead/x", nil); resp.StatusCode != 503 {
			t.Fatalf("dead target: %d", resp.StatusCode)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	if after := openFDs(t); after > fds+5 {
		t.Errorf("open files grew from %d to %d over 300 requests to a stopped target", fds, after)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}
