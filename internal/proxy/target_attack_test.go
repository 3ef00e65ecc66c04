package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startScriptedBackend is a hostile or broken target: answer is called for every request it
// reads (keep-alive), with the raw connection to write whatever it likes to; it returns false
// to close the connection. Requests are recorded with their raw head.
func startScriptedBackend(t *testing.T, answer func(c net.Conn, req *http.Request) bool) (string, *scriptLog) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &scriptLog{}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); log.closeAll(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			log.add(c)
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					log.record(req)
					if !answer(c, req) {
						return
					}
				}
			})
		}
	})
	return "http://" + ln.Addr().String(), log
}

type scriptLog struct {
	mu    sync.Mutex
	conns []net.Conn
	reqs  []*http.Request
}

func (l *scriptLog) add(c net.Conn) { l.mu.Lock(); l.conns = append(l.conns, c); l.mu.Unlock() }

func (l *scriptLog) record(r *http.Request) { l.mu.Lock(); l.reqs = append(l.reqs, r); l.mu.Unlock() }

func (l *scriptLog) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

// count returns how many requests with this method the target read.
func (l *scriptLog) count(method string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		if r.Method == method {
			n++
		}
	}
	return n
}

func (l *scriptLog) last() *http.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reqs) == 0 {
		return nil
	}
	return l.reqs[len(l.reqs)-1]
}

// freshGet sends GET on a new client connection (so each call is another client).
func freshGet(t *testing.T, url string) (int, string) {
	t.Helper()
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestExtraTargetResponseNeverReachesAnotherClient: a target answers every request twice.
// The second answer must not be taken as the answer to the next client's request (on another
// client connection), whether it arrived with the first (buffered) or after it (readable
// on the idle pooled connection). Statuses with and without bodies, since a body on a 204
// is an unsolicited response too.
func TestExtraTargetResponseNeverReachesAnotherClient(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first string
		delay time.Duration
	}{
		{"same-write", "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", 0},
		{"late", "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", 30 * time.Millisecond},
		{"after-204", "HTTP/1.1 204 No Content\r\nX-For: %d %s\r\n\r\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachForwarder(t, func(t *testing.T, stdlib bool) {
				wrote := make(chan struct{}, 16) // an extra answer is on the wire
				be, _ := startScriptedBackend(t, func(c net.Conn, req *http.Request) bool {
					mine := "for " + req.URL.Path
					first := strings.Replace(strings.Replace(tc.first, "%d", itoa(len(mine)), 1), "%s", mine, 1)
					evil := "smuggled answer to " + req.URL.Path
					extra := "HTTP/1.1 200 OK\r\nContent-Length: " + itoa(len(evil)) + "\r\n\r\n" + evil
					defer func() { wrote <- struct{}{} }()
					if tc.delay == 0 {
						_, err := io.WriteString(c, first+extra)
						return err == nil
					}
					if _, err := io.WriteString(c, first); err != nil {
						return false
					}
					time.Sleep(tc.delay)
					_, err := io.WriteString(c, extra)
					return err == nil
				})
				tp := startProxy(t, Options{StdlibForwarding: stdlib})
				tp.add(t, "/", be)
				for i, path := range []string{"/alice", "/bob", "/carol", "/dave"} {
					code, body := freshGet(t, tp.srv.URL+path)
					if strings.Contains(body, "smuggled") || (code == 200 && body != "for "+path) {
						t.Fatalf("client %d (%s) got %d %q", i, path, code, body)
					}
					// The next client comes once the extra answer was sent (an answer that
					// arrives after the next request cannot be told from a real one).
					select {
					case <-wrote:
					case <-time.After(5 * time.Second):
						t.Fatal("the target did not answer")
					}
					time.Sleep(5 * time.Millisecond) // loopback delivery
				}
			})
		})
	}
}

// TestResponseHeadLimit: a target's response head (status line, headers, 1xx heads) is read
// up to Options.MaxResponseHeaderBytes; one byte more is a 502, and an endless head is not
// read on (the target's write fails early instead of filling the proxy's memory).
func TestResponseHeadLimit(t *testing.T) {
	const limit = 4096
	head := func(size int) string { return sized("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", size) }
	const switched = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	early := "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
	be, _ := startScriptedBackend(t, func(c net.Conn, req *http.Request) bool {
		var resp string
		switch req.URL.Path {
		case "/at":
			resp = head(limit) + "ok"
		case "/over":
			resp = head(limit+1) + "ok"
		case "/1xx-at": // 1xx heads count towards the same limit
			resp = early + head(limit-len(early)) + "ok"
		case "/1xx-over":
			resp = early + head(limit-len(early)+1) + "ok"
		case "/five-1xx":
			resp = strings.Repeat(early, 5) + head(100) + "ok"
		case "/six-1xx":
			resp = strings.Repeat(early, 6) + head(100) + "ok"
		case "/ws-at": // the answer to a websocket upgrade has the same limit
			resp = sized(switched, limit)
		case "/ws-over":
			resp = sized(switched, limit+1)
		}
		_, err := io.WriteString(c, resp)
		return err == nil
	})
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		tp := startProxy(t, Options{StdlibForwarding: stdlib, MaxResponseHeaderBytes: limit})
		tp.add(t, "/", be)
		for path, want := range map[string]int{"/at": 200, "/over": 502, "/1xx-at": 200, "/1xx-over": 502,
			"/five-1xx": 200, "/six-1xx": 502} {
			if stdlib && strings.Contains(path, "1xx") {
				continue // ReverseProxy relays 1xx answers to the client, each with its own limit
			}
			code, body := freshGet(t, tp.srv.URL+path)
			if stdlib && want == 502 && code == 503 {
				continue // ReverseProxy's errors all go through the 503 error handler
			}
			if code != want || (want == 200 && body != "ok") {
				t.Errorf("%s: %d %q, want %d", path, code, body, want)
			}
		}
		for path, want := range map[string]string{"/ws-at": "HTTP/1.1 101 ", "/ws-over": "HTTP/1.1 502 "} {
			c, err := net.Dial("tcp", strings.TrimPrefix(tp.srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.WriteString(c, strings.Replace(wsUpgradeHead, "/ws", path, 1))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if !strings.HasPrefix(line, want) {
				t.Errorf("%s: %q (%v), want %q", path, line, err, want)
			}
		}
	})
}

// sized returns the response head start + an X-Pad field + CRLF, exactly size bytes long.
func sized(start string, size int) string {
	pad := size - len(start) - len("X-Pad: \r\n\r\n")
	return start + "X-Pad: " + strings.Repeat("p", pad) + "\r\n\r\n"
}

// TestEndlessResponseHeadIsCut: with the default limit (1 MiB) a target streaming an endless
// header line gets its connection closed after about that much; before, the proxy read it
// all into memory (320 MB of headers grew the hub by 330 MB).
func TestEndlessResponseHeadIsCut(t *testing.T) {
	var sent atomic.Int64
	line := strings.Repeat("h", 64<<10)
	be, _ := startScriptedBackend(t, func(c net.Conn, req *http.Request) bool {
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Endless: "); err != nil {
			return false
		}
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		for range 1024 { // 64 MiB
			if _, err := io.WriteString(c, line); err != nil {
				return false
			}
			sent.Add(int64(len(line)))
		}
		return false
	})
	for _, upgrade := range []bool{false, true} {
		sent.Store(0)
		tp := startProxy(t, Options{})
		tp.add(t, "/", be)
		req, _ := http.NewRequest(http.MethodGet, tp.srv.URL+"/x", nil)
		if upgrade {
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			req.Header.Set("Sec-WebSocket-Version", "13")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("upgrade=%v: %d, want 502", upgrade, resp.StatusCode)
		}
		// Socket buffers hold a few MiB at most; 64 MiB means the proxy kept reading.
		if n := sent.Load(); n > 16<<20 {
			t.Errorf("upgrade=%v: the target wrote %d MiB of one header", upgrade, n>>20)
		}
	}
}

// TestUpgradeAnswerTimeout: a target that never answers a websocket upgrade is given up on
// after Options.UpgradeTimeout.
func TestUpgradeAnswerTimeout(t *testing.T) {
	be, _ := startScriptedBackend(t, func(c net.Conn, req *http.Request) bool {
		time.Sleep(3 * time.Second)
		return false
	})
	tp := startProxy(t, Options{UpgradeTimeout: 200 * time.Millisecond})
	tp.add(t, "/", be)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, resp, err := websocket.Dial(ctx, wsURL(tp.srv.URL)+"/ws", nil)
	if err == nil || resp == nil || resp.StatusCode < 500 {
		t.Fatalf("silent target: err %v resp %v, want a 5xx", err, resp)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %v, want about 200ms", d)
	}
}

// TestPostNotSentTwice: a target that reads a POST on a reused connection and closes it
// without answering must see that POST once; before, it was sent again on a new connection.
// Idempotent requests (and those with an Idempotency-Key) are still retried.
func TestPostNotSentTwice(t *testing.T) {
	be, log := startScriptedBackend(t, func(c net.Conn, req *http.Request) bool {
		if req.Method == http.MethodGet {
			_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return err == nil
		}
		return false // took the request, then died
	})
	tp := startProxy(t, Options{})
	tp.add(t, "/", be)
	send := func(method string, key bool) int {
		if code, _ := freshGet(t, tp.srv.URL+"/warm"); code != 200 { // leaves a pooled connection
			t.Fatalf("warm-up GET: %d", code)
		}
		req, _ := http.NewRequest(method, tp.srv.URL+"/pay", strings.NewReader("amount=100"))
		if key {
			req.Header.Set("Idempotency-Key", "k1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(http.MethodPost, false); code < 500 {
		t.Errorf("POST to a target that dropped it: %d", code)
	}
	if n := log.count(http.MethodPost); n != 1 {
		t.Errorf("the target read the POST %d times, want 1", n)
	}
	send(http.MethodPatch, false)
	if n := log.count(http.MethodPatch); n != 1 {
		t.Errorf("the target read the PATCH %d times, want 1", n)
	}
	send(http.MethodPut, false)
	if n := log.count(http.MethodPut); n != 2 {
		t.Errorf("the target read the PUT %d times, want 2 (idempotent: retried once)", n)
	}
	send(http.MethodPost, true)
	if n := log.count(http.MethodPost); n != 3 {
		t.Errorf("the target read %d POSTs in all, want 3 (with Idempotency-Key: retried once)", n)
	}
}

const wsUpgradeHead = "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
	"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

// TestUpgradesOnlyForAgreedWebsockets: a 101 nobody asked for is a bad answer; an h2c (or any
// non-websocket) upgrade is forwarded as a plain request without its Upgrade header; a 101
// that does not switch to websocket is refused; the 101 and a refusal carry no hop-by-hop
// headers of the target's.
func TestUpgradesOnlyForAgreedWebsockets(t *testing.T) {
	be, log := startScriptedBackend(t, func(c net.Conn, req *http.Request) bool {
		var resp string
		switch req.URL.Path {
		case "/ws":
			resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Hop\r\n" +
				"X-Hop: secret\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\n" +
				"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
		case "/h2c", "/unasked":
			resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
		case "/refuse":
			resp = "HTTP/1.1 403 Forbidden\r\nConnection: X-Hop\r\nX-Hop: secret\r\nUpgrade: websocket\r\n" +
				"Keep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nno"
		case "/plain":
			resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		}
		_, err := io.WriteString(c, resp)
		return err == nil && !strings.HasPrefix(resp, "HTTP/1.1 101")
	})
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		tp.add(t, "/", be)
		addr := strings.TrimPrefix(tp.srv.URL, "http://")
		exchange := func(raw string) *http.Response {
			t.Helper()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, raw); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%q: %v", raw, err)
			}
			return resp
		}
		// httputil.ReverseProxy refuses it with its error handler's 503.
		if resp := exchange("GET /unasked HTTP/1.1\r\nHost: h\r\n\r\n"); resp.StatusCode != http.StatusBadGateway &&
			!(stdlib && resp.StatusCode == http.StatusServiceUnavailable) {
			t.Errorf("unrequested 101: %d, want 502", resp.StatusCode)
		}
		resp := exchange("GET /plain HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
			"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
		if resp.StatusCode != 200 {
			t.Errorf("h2c upgrade request: %d, want the target's plain 200", resp.StatusCode)
		}
		if r := log.last(); r.Header.Get("Upgrade") != "" || r.Header.Get("Http2-Settings") != "" {
			t.Errorf("the target saw an h2c upgrade: %v", r.Header)
		}
		resp = exchange(strings.Replace(wsUpgradeHead, "/ws", "/h2c", 1))
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("websocket request answered with an h2c switch: %d, want 502", resp.StatusCode)
		}
		resp = exchange(strings.Replace(wsUpgradeHead, "/ws", "/refuse", 1))
		if resp.StatusCode != 403 || resp.Header.Get("X-Hop") != "" || resp.Header.Get("Keep-Alive") != "" ||
			resp.Header.Get("Upgrade") != "" {
			t.Errorf("refused upgrade: %d %v", resp.StatusCode, resp.Header)
		}
		resp = exchange(wsUpgradeHead)
		if resp.StatusCode != 101 || resp.Header.Get("X-Hop") != "" || resp.Header.Get("Keep-Alive") != "" ||
			resp.Header.Get("Proxy-Authenticate") != "" || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") ||
			!headerHasToken(resp.Header, "Connection", "upgrade") || resp.Header.Get("Sec-Websocket-Accept") == "" {
			t.Errorf("websocket 101: %d %v", resp.StatusCode, resp.Header)
		}
	})
}

// TestWebsocketIdleTimeout: a websocket with no traffic either way for
// Options.WebsocketIdleTimeout is closed; traffic in one direction only keeps it open.
func TestWebsocketIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	be := startWSPusher(t, 10, idle/3) // 10 messages, one every 100 ms, then silence
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		tp := startProxy(t, Options{StdlibForwarding: stdlib, WebsocketIdleTimeout: idle})
		tp.add(t, "/", be)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, wsURL(tp.srv.URL)+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		for i := range 10 { // 1 s of target-to-client traffic only: more than 3 idle periods
			if _, _, err := c.Read(ctx); err != nil {
				t.Fatalf("message %d: %v (closed while traffic flowed)", i, err)
			}
		}
		silent := time.Now()
		if _, _, err := c.Read(ctx); err == nil {
			t.Fatal("read a message from a silent target")
		}
		if d := time.Since(silent); d > 5*idle {
			t.Errorf("closed %v after traffic stopped, want about %v", d, idle)
		}
		waitFor(t, func() bool { return tp.px.Stats().WebsocketsOpen == 0 })
	})
}

// startWSPusher is a websocket target that sends n messages every interval, then waits.
func startWSPusher(t *testing.T, n int, every time.Duration) string {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for range n {
			if err := c.Write(r.Context(), websocket.MessageText, []byte("tick")); err != nil {
				return
			}
			time.Sleep(every)
		}
		_, _, _ = c.Read(context.Background()) // until the proxy closes
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestOnlyDeclaredTrailersRelayed: a target's trailer section may only fill the trailers
// its head declared; others (framing fields above all) are dropped.
func TestOnlyDeclaredTrailersRelayed(t *testing.T) {
	be, _ := startScriptedBackend(t, func(c net.Conn, req *http.Request) bool {
		_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"2\r\nok\r\n0\r\nX-Sum: 1\r\nX-Evil: 2\r\nContent-Length: 99\r\n\r\n")
		return err == nil
	})
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		tp.add(t, "/", be)
		resp, body := get(t, tp.srv.URL+"/x", nil)
		if body != "ok" || resp.Trailer.Get("X-Evil") != "" || resp.Trailer.Get("Content-Length") != "" {
			t.Errorf("%q trailers %v", body, resp.Trailer)
		}
		if strings.Contains(t.Name(), "own-forwarder") && resp.Trailer.Get("X-Sum") != "1" {
			t.Errorf("declared trailer lost: %v", resp.Trailer)
		}
	})
}
