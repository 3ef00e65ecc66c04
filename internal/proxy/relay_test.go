package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startRawBackend answers each request with the raw response responses[path] (HEAD gets
// the same head without body) and counts the connections it accepted.
func startRawBackend(t *testing.T, responses map[string]string) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					resp := responses[req.URL.Path]
					if req.Method == http.MethodHead {
						resp = resp[:strings.Index(resp, "\r\n\r\n")+4]
					}
					if _, err := io.WriteString(c, resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &conns
}

// TestRelayedResponseHeadsAndBodies covers the byte-level relay of plain responses and the
// cases it leaves to http.ReadResponse: hop-by-hop removal in any case, Date added when the
// target sent none, target Connection: close, Connection naming headers, obs-fold, HEAD,
// HTTP/1.0 clients, bodies larger than the buffers.
func TestRelayedResponseHeadsAndBodies(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 10<<10) // 160 KiB
	be, conns := startRawBackend(t, map[string]string{
		"/plain": "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nkeep-alive: timeout=5\r\nProxy-Connection: x\r\n" +
			"X-A:  one \r\nX-A: two\r\n\r\nhello",
		"/close":  "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\nok",
		"/named":  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: X-Drop\r\nX-Drop: 1\r\nX-Keep: 1\r\n\r\nok",
		"/folded": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Fold: a\r\n b\r\n\r\nok",
		"/big":    "HTTP/1.1 200 OK\r\nContent-Length: " + itoa(len(big)) + "\r\n\r\n" + big,
		"/nf":     "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope",
	})
	tab := NewRouteTable()
	if _, err := tab.Put("/", map[string]any{"target": be}); err != nil {
		t.Fatal(err)
	}
	px := New(tab, Options{Logger: discardLogger()})
	t.Cleanup(func() { px.Close() })
	addr := startServer(t, px, 5*time.Second)

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	do := func(method, path string) (*http.Response, string) {
		t.Helper()
		if _, err := io.WriteString(c, method+" "+path+" HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	resp, body := do("GET", "/plain")
	if resp.StatusCode != 200 || body != "hello" || resp.Header.Get("Keep-Alive") != "" ||
		resp.Header.Get("Proxy-Connection") != "" || strings.Join(resp.Header["X-A"], "|") != "one|two" ||
		resp.Header.Get("Date") == "" || resp.ContentLength != 5 {
		t.Errorf("plain: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d target connections after one request", n)
	}
	resp, body = do("GET", "/close")
	if resp.StatusCode != 201 || body != "ok" || resp.Close || resp.Header.Get("Date") != "Mon, 02 Jan 2006 15:04:05 GMT" {
		t.Errorf("close: %d %q close=%v %v", resp.StatusCode, body, resp.Close, resp.Header)
	}
	resp, body = do("GET", "/plain") // the target closed: a new connection
	if body != "hello" || conns.Load() != 2 {
		t.Errorf("after target close: %q, %d connections (want 2)", body, conns.Load())
	}
	resp, body = do("GET", "/plain") // reused
	if body != "hello" || conns.Load() != 2 {
		t.Errorf("keep-alive: %q, %d connections (want 2)", body, conns.Load())
	}
	resp, body = do("GET", "/named")
	if body != "ok" || resp.Header.Get("X-Drop") != "" || resp.Header.Get("X-Keep") != "1" {
		t.Errorf("Connection-named header: %q %v", body, resp.Header)
	}
	resp, body = do("GET", "/folded")
	if body != "ok" || resp.Header.Get("X-Fold") != "a b" {
		t.Errorf("obs-fold: %q %v", body, resp.Header)
	}
	resp, body = do("HEAD", "/plain")
	if resp.StatusCode != 200 || body != "" || resp.ContentLength != 5 {
		t.Errorf("HEAD: %d %q %d", resp.StatusCode, body, resp.ContentLength)
	}
	resp, body = do("GET", "/big")
	if body != big {
		t.Errorf("big body: %d bytes, want %d", len(body), len(big))
	}
	resp, body = do("GET", "/nf")
	if resp.StatusCode != 404 || body != "nope" {
		t.Errorf("404: %d %q", resp.StatusCode, body)
	}

	got := rawExchange(t, addr, "GET /plain HTTP/1.0\r\nHost: h\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.0 200 OK\r\n") || !strings.Contains(got, "\r\nConnection: close\r\n") ||
		!strings.HasSuffix(got, "\r\n\r\nhello") {
		t.Errorf("HTTP/1.0 client: %q", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
