package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// relaySeeds are target answers whose framing or syntax is wrong or unusual: the relayed
// answer must be what http.ReadResponse makes of them, or a 502 where it refuses them.
var relaySeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nCONTENT-LENGTH: 4\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length:\t5\t\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
	"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\n Content-Length: 7\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nX-Bad: a\x00b\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nX-Bad: a\rb\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nX Bad: ab\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nX-Obs: caf\xe9\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\nContent-Length: 5\n\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\n\r\nhello",
	"HTTP/1.1 200\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\x01\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 099 Low\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\n\r\nuntil the end",
	"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nraw bytes",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 6) + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nUpgrade: h2c\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nTrailer: Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!",
}

// relayedBy sends GET (or HEAD) /x through a proxy whose target answers raw, and returns
// the raw bytes its client received until the proxy closed the connection.
type relayRig struct {
	answer atomic.Pointer[[]byte]
	addrs  map[string]string // server kind -> proxy address
}

func newRelayRig(tb testing.TB) *relayRig {
	tb.Helper()
	rig := &relayRig{addrs: map[string]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = c.Write(*rig.answer.Load())
			}()
		}
	}()
	tab := NewRouteTable()
	if _, err := tab.Put("/", map[string]any{"target": "http://" + ln.Addr().String()}); err != nil {
		tb.Fatal(err)
	}
	px := New(tab, Options{Logger: discardLogger(), ProxyTimeout: 5 * time.Second})
	tb.Cleanup(func() { px.Close() })
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Handler: px}
	go func() { _ = s.Serve(pln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	rig.addrs["own-server"] = pln.Addr().String()
	hs := httptest.NewServer(px)
	tb.Cleanup(hs.Close)
	rig.addrs["net/http"] = strings.TrimPrefix(hs.URL, "http://")
	return rig
}

func (rig *relayRig) relay(tb testing.TB, kind, method string, raw []byte) []byte {
	tb.Helper()
	rig.answer.Store(&raw)
	c, err := net.Dial("tcp", rig.addrs[kind])
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, method+" /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"); err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		tb.Fatalf("read relayed answer: %v", err)
	}
	return out
}

// readReference is what the proxy must make of raw: http.ReadResponse's final answer
// (at most 5 1xx skipped; a 101 to a plain request refused; field names that are not
// tokens and values with control bytes refused), its body, or the error.
func readReference(raw []byte, method string) (resp *http.Response, body []byte, headErr, bodyErr error) {
	br := bufio.NewReader(bytes.NewReader(raw))
	req := &http.Request{Method: method}
	for n := 0; ; n++ {
		resp, headErr = http.ReadResponse(br, req)
		if headErr != nil {
			return nil, nil, headErr, nil
		}
		if err := refCheckFields(resp.Header); err != nil {
			return nil, nil, err, nil
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return nil, nil, errUnasked101, nil
		}
		if resp.StatusCode >= 200 {
			break
		}
		if n == max1xx {
			return nil, nil, errTooMany1xx, nil
		}
	}
	body, bodyErr = io.ReadAll(resp.Body)
	return resp, body, nil, bodyErr
}

// refCheckFields is the field syntax of RFC 9110 §5.1 and §5.5 (token names; values of
// visible characters, space, tab and obs-text), written apart from the proxy's.
func refCheckFields(h http.Header) error {
	for k, vs := range h {
		if k == "" || strings.Trim(k, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return fmt.Errorf("field name %q", k)
		}
		for _, v := range vs {
			for _, c := range []byte(v) {
				if c < 0x20 && c != '\t' || c == 0x7f {
					return fmt.Errorf("field value %q", v)
				}
			}
		}
	}
	return nil
}

// checkRelay compares what the client got (out) with the reference reading of raw.
func checkRelay(t *testing.T, kind, method string, raw, out []byte) {
	t.Helper()
	ref, refBody, headErr, bodyErr := readReference(raw, method)
	got, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), &http.Request{Method: method})
	if err != nil {
		if headErr == nil && bodyErr == nil {
			t.Fatalf("%s: target answer %q accepted by ReadResponse, client got unreadable %q: %v", kind, raw, out, err)
		}
		return // cut before the head: no answer relayed
	}
	gotBody, gotBodyErr := io.ReadAll(got.Body)
	if headErr != nil {
		want := http.StatusBadGateway // a bad answer
		if len(raw) == 0 {
			want = http.StatusServiceUnavailable // no answer
		}
		if got.StatusCode != want {
			t.Fatalf("%s: ReadResponse refuses %q (%v); client got %d %q, want %d", kind, raw, headErr, got.StatusCode,
				out, want)
		}
		return
	}
	if bodyErr != nil {
		if gotBodyErr == nil && got.StatusCode == ref.StatusCode {
			t.Fatalf("%s: body of %q is broken (%v); client got a complete answer %q", kind, raw, bodyErr, out)
		}
		return
	}
	if got.StatusCode != ref.StatusCode || gotBodyErr != nil || !bytes.Equal(gotBody, refBody) {
		t.Fatalf("%s: target %q: client got %d %q (%v), want %d %q; raw %q", kind, raw, got.StatusCode, gotBody,
			gotBodyErr, ref.StatusCode, refBody, out)
	}
	if ref.ContentLength >= 0 && ref.StatusCode != http.StatusNoContent && got.ContentLength != ref.ContentLength &&
		method != http.MethodHead {
		t.Fatalf("%s: target %q: client length %d, want %d; raw %q", kind, raw, got.ContentLength, ref.ContentLength, out)
	}
	want := endToEnd(ref.Header)
	have := endToEnd(got.Header)
	for _, k := range []string{"Date", "Content-Type"} { // added when the target sent none
		if _, ok := want[k]; !ok {
			delete(have, k)
		}
	}
	if !sameHeader(want, have) {
		t.Fatalf("%s: target %q: client headers %v, want %v; raw %q", kind, raw, have, want, out)
	}
	checkFraming(t, kind, out)
}

// endToEnd is h without hop-by-hop fields (RFC 9110 §7.6.1) and framing (compared apart).
func endToEnd(h http.Header) http.Header {
	h = h.Clone()
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			h.Del(strings.TrimSpace(name))
		}
	}
	for _, k := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length"} {
		delete(h, k)
	}
	return h
}

func sameHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb := b[k]
		if len(va) != len(vb) {
			return false
		}
		for i := range va {
			if va[i] != vb[i] {
				return false
			}
		}
	}
	return true
}

// checkFraming: the relayed head has one framing, never Content-Length next to
// Transfer-Encoding or twice.
func checkFraming(t *testing.T, kind string, out []byte) {
	t.Helper()
	end := bytes.Index(out, []byte("\r\n\r\n"))
	if end < 0 {
		t.Fatalf("%s: relayed head not CRLF-terminated: %q", kind, out)
	}
	var cl, te int
	for _, line := range strings.Split(string(out[:end]), "\r\n")[1:] {
		name, _, _ := strings.Cut(line, ":")
		name = strings.TrimSpace(name) // "Content-Length :" is the length to some parsers
		switch {
		case strings.EqualFold(name, "Content-Length"):
			cl++
		case strings.EqualFold(name, "Transfer-Encoding"):
			te++
		}
		if strings.ContainsAny(line, "\r\n\x00") {
			t.Fatalf("%s: relayed header line %q", kind, line)
		}
	}
	if cl > 1 || te > 1 || (cl > 0 && te > 0) {
		t.Fatalf("%s: relayed head frames twice (%d Content-Length, %d Transfer-Encoding): %q", kind, cl, te, out)
	}
}

// FuzzRelayResponse relays target answers through the proxy (its own server and net/http's)
// and checks each against http.ReadResponse's reading of the same bytes.
func FuzzRelayResponse(f *testing.F) {
	for _, s := range relaySeeds {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(relaySeeds[0]), true)
	rig := newRelayRig(f)
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		for _, kind := range []string{"own-server", "net/http"} {
			checkRelay(t, kind, method, raw, rig.relay(t, kind, method, raw))
		}
	})
}
