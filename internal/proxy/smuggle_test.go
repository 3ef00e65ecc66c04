package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// smuggleCase is a byte stream a client sends on one connection. Every case hides a request
// for /smuggled that a server framing the stream differently from the proxy would see; none
// may ever reach a target as a request. status is the proxy's answer to the first request:
// 200 when it is valid (and forwarded), broken when its body turns out malformed (whatever
// was answered, the connection must close), else the error it must answer with before
// closing, without forwarding anything.
type smuggleCase struct {
	name   string
	raw    string
	status int
}

const smuggled = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"

var smuggledLen = fmt.Sprint(len(smuggled))

const broken = -1

var smuggleCases = []smuggleCase{
	// Content-Length against Transfer-Encoding (RFC 9112 §6.3: reject, or at least close).
	{"CL.TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"TE.CL", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" +
		fmt.Sprintf("%x\r\n", len(smuggled)) + smuggled + "\r\n0\r\n\r\n", 400},
	{"CL.TE capitalised", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"CL.TE trailing tab", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"CL.TE obs-fold", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"TE.TE duplicate", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n" + smuggled, 501},
	{"TE.TE list", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n" + smuggled, 501},
	{"TE.TE xchunked", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + smuggled, 501},
	{"TE.TE quoted", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n" + smuggled, 501},
	{"TE space before colon", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"TE bare LF", "POST / HTTP/1.1\r\nHost: h\r\nX: y\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"TE name split by LF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding\n: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"TE leading space", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"TE vertical tab", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\x0bchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, 400},
	// Content-Length forms.
	{"CL plus sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"CL minus", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n" + smuggled, 400},
	{"CL hex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"CL two numbers", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 36\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"CL list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"CL duplicate differing", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 41\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"CL duplicate equal", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + smuggledLen + "\r\nContent-Length: " + smuggledLen + "\r\n\r\n" + smuggled, 400},
	{"CL space before colon", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"CL obs-fold", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n 36\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"CL empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n" + smuggled, 400},
	{"CL NUL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\x00\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"CL huge", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n" + smuggled, 400},
	// CL.0: a body on a GET is a body, not the next request.
	{"CL.0 GET body", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: " + smuggledLen + "\r\n\r\n" + smuggled, 200},
	// Chunked bodies.
	{"chunk extension", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2;a=b\r\nhi\r\n0\r\n\r\n", 200},
	{"chunk extension quoted CRLF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2;a=\"\r\n0\r\n\r\n" + smuggled + "\"\r\nhi\r\n0\r\n\r\n", broken},
	{"chunk extension bare LF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2;a\nhi\r\n0\r\n\r\n" + smuggled, broken},
	{"chunk size bare LF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\nhi\r\n0\r\n\r\n" + smuggled, broken},
	{"chunk data without CRLF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi0\r\n\r\n" + smuggled, broken},
	{"chunk data too long", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n" + smuggled, broken},
	{"chunk size overflow", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000002\r\nhi\r\n0\r\n\r\n" + smuggled, broken},
	{"chunk size 0x", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nhi\r\n0\r\n\r\n" + smuggled, broken},
	{"chunk size negative", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\nhi\r\n0\r\n\r\n" + smuggled, broken},
	{"last chunk bare LF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\n\n" + smuggled, broken},
	{"trailer bare LF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\n\r\n" + smuggled, broken},
	{"trailer obs-fold", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n z\r\n\r\n" + smuggled, broken},
	{"long chunk extension", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2;" + strings.Repeat("a", 5000) + "\r\nhi\r\n0\r\n\r\n" + smuggled, broken},
	// Errors before the body: nothing may be read after them.
	{"pipelined after bad header", "GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n" + smuggled, 400},
	{"pipelined after bad request line", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled, 400},
	{"obs-fold header", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\tX-B: 2\r\n\r\n" + smuggled, 400},
	{"bare LF request", "GET / HTTP/1.1\nHost: h\n\n" + smuggled, 400},
	{"bare CR", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n" + smuggled, 400},
	{"empty header name", "GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n" + smuggled, 400},
	{"missing Host", "GET / HTTP/1.1\r\n\r\n" + smuggled, 400},
	{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + smuggled, 400},
	{"invalid Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n" + smuggled, 400},
	{"Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n" + smuggled, 400},
	{"Expect bogus", "POST / HTTP/1.1\r\nHost: h\r\nExpect: bogus\r\nContent-Length: " + smuggledLen + "\r\n\r\n" + smuggled, 417},
	{"HTTP/0.9", "GET /\r\n\r\n" + smuggled, 400},
	{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n" + smuggled, 505},
	{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + smuggled, 505},
	{"CONNECT", "CONNECT h:80 HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled, 405},
	// HTTP/1.0 framing.
	{"HTTP/1.0 TE", "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"HTTP/1.0 TE without CL", "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n" + smuggled, 200},
	{"HTTP/1.0 body closes", "POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi" + smuggled, 200},
	{"Connection close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" + smuggled, 200},
	// A body that ends early.
	{"short body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n" + smuggled, broken},
}

// logBackend is a target that records every byte it receives and answers each request it
// parses (with net/http's lenient request reader, as a typical server would) with 200 "ok".
type logBackend struct {
	ln    net.Listener
	mu    sync.Mutex
	raw   bytes.Buffer
	paths []string
	wg    sync.WaitGroup
}

func startLogBackend(t testing.TB) *logBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &logBackend{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.wg.Go(func() { b.serve(c) })
		}
	}()
	t.Cleanup(func() { ln.Close(); b.wg.Wait() })
	return b
}

func (b *logBackend) url() string { return "http://" + b.ln.Addr().String() }

func (b *logBackend) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(io.TeeReader(c, writerFunc(func(p []byte) (int, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.raw.Write(p)
	})))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		b.mu.Lock()
		b.paths = append(b.paths, req.URL.Path)
		b.mu.Unlock()
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

// seen returns what the backend received so far.
func (b *logBackend) seen() (raw string, paths []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.raw.String(), append([]string(nil), b.paths...)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// sendRaw writes raw on a new connection to addr (network "tcp" or "unix"), half-closes it
// and returns every response until the server closes, with a flag telling whether it did.
func sendRaw(t *testing.T, network, addr, raw string) (resps []*http.Response, closed bool) {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil && !isReset(err) {
		t.Fatal(err)
	}
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			_, rerr := br.Peek(1)
			return resps, rerr == io.EOF || isReset(rerr)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resps = append(resps, resp)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// checkSmuggle sends c through the proxy at network/addr to be and checks that nothing for
// /smuggled reached it and that an error closed the connection.
func checkSmuggle(t *testing.T, network, addr string, be *logBackend, c smuggleCase) {
	t.Helper()
	rawBefore, pathsBefore := be.seen()
	resps, closed := sendRaw(t, network, addr, c.raw)
	time.Sleep(20 * time.Millisecond) // let the backend log what the proxy sent it
	raw, paths := be.seen()
	raw, paths = raw[len(rawBefore):], paths[len(pathsBefore):]
	for _, p := range paths {
		if p == "/smuggled" {
			t.Errorf("%s: a smuggled request reached the target; it received:\n%q", c.name, raw)
		}
	}
	if c.status == broken {
		if len(resps) > 1 || !closed {
			t.Errorf("%s: %d responses, closed %v; want at most one, then the connection closed",
				c.name, len(resps), closed)
		}
		return
	}
	if len(resps) == 0 {
		t.Fatalf("%s: no response", c.name)
	}
	if c.status == 200 {
		if len(paths) != 1 || paths[0] != "/" {
			t.Errorf("%s: the target saw %q, want the first request only", c.name, paths)
		}
		if len(resps) > 1 {
			t.Errorf("%s: %d responses, want 1", c.name, len(resps))
		}
		return
	}
	if resps[0].StatusCode != c.status || len(resps) != 1 || !closed {
		t.Errorf("%s: got %d response(s), first %d, closed %v; want %d and the connection closed",
			c.name, len(resps), resps[0].StatusCode, closed, c.status)
	}
	if raw != "" {
		t.Errorf("%s: refused, yet the target received %q", c.name, raw)
	}
}

// TestSmugglingThroughServer sends every case through a Proxy served by Server.
func TestSmugglingThroughServer(t *testing.T) {
	be := startLogBackend(t)
	tab := NewRouteTable()
	if _, err := tab.Put("/", map[string]any{"target": be.url()}); err != nil {
		t.Fatal(err)
	}
	px := New(tab, Options{Logger: discardLogger()})
	t.Cleanup(func() { px.Close() })
	addr := startServer(t, px, time.Second)
	for _, c := range smuggleCases {
		checkSmuggle(t, "tcp", addr, be, c)
	}
}

// TestSmugglingThroughProxyCommand sends every case through `gohub proxy` (Command, as the
// binary runs it) listening on a Unix socket.
func TestSmugglingThroughProxyCommand(t *testing.T) {
	be := startLogBackend(t)
	sock := startProxyCommand(t, "--default-target", be.url())
	for _, c := range smuggleCases {
		checkSmuggle(t, "unix", sock, be, c)
	}
}

// startProxyCommand runs `gohub proxy` with args on a Unix socket until the test ends and
// returns the socket's path.
func startProxyCommand(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "proxy.sock")
	t.Setenv("CONFIGPROXY_AUTH_TOKEN", "tok")
	cmd := Command()
	cmd.SetArgs(append([]string{"--socket", sock, "--api-socket", filepath.Join(dir, "api.sock"),
		"--log-level", "error"}, args...))
	cmd.SetErr(t.Output())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gohub proxy: %v", err)
		}
	})
	waitFor(t, func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return sock
}
