package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/textproto"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// validRequests are requests both parsers must accept, and parse alike.
var validRequests = []string{
	"GET /user/a/api?x=1&y=%20 HTTP/1.1\r\nHost: hub.example:8000\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
	"GET /a%2Fb HTTP/1.1\r\nhost: h\r\nx-lower: a\r\nX-Dup: 1\r\nx-dup:  2 \t\r\nConnection: keep-alive, Close\r\n\r\n",
	"DELETE / HTTP/1.1\r\nHost: \r\nConnection: X-Secret\r\nX-Secret: s\r\nCookie: a=b; c=d\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET http://other/x?q HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\nHost: h\r\n\r\n",
	"HEAD /x HTTP/1.1\r\nHost: [::1]:80\r\nPragma: no-cache\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9 \x80\xff\r\nX-Empty:\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
	"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 005\r\nExpect: 100-continue\r\n\r\nhello",
	"PUT /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-T, X-U\r\n\r\n5\r\nhello\r\n1;ext=\"q\"\r\n!\r\n0\r\nX-T: 1\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked \r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
	"GET /p HTTP/1.1\r\nHost: h\r\nTrailer: X\r\n\r\n",
	"M-SEARCH /p~!$&'()*+,;=:@ HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("v", 6000) + "\r\n\r\n",
	"GET /" + strings.Repeat("p", 5000) + " HTTP/1.1\r\nHost: h\r\n\r\n",
}

// fuzzSeeds are the seed corpus of the request fuzzers: every smuggling case, the valid
// requests, and each valid request followed by another. Inputs over 2 KiB stay out: the
// fuzzer minimises every new finding, which costs it minutes on long ones, and
// FuzzReadRequest reaches the long-head path with a small buffer instead.
func fuzzSeeds() []string {
	var seeds []string
	for _, c := range smuggleCases {
		seeds = append(seeds, c.raw)
	}
	for _, v := range validRequests {
		seeds = append(seeds, v, v+"GET /next HTTP/1.1\r\nHost: n\r\n\r\n")
	}
	seeds = slices.DeleteFunc(seeds, func(s string) bool { return len(s) > 2048 })
	return append(seeds,
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx\r\nGET /after-post HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nExpect:\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nConnection: x close\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: foo\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
	)
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// refReadRequest is net/http's server-side request reading without a connection:
// http.ReadRequest plus the checks conn.readRequest and conn.serve add.
func refReadRequest(raw string, br *bufio.Reader) (*http.Request, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	if req.ProtoMajor != 1 {
		return nil, errors.New("unsupported protocol version")
	}
	// ReadRequest drops the Host header; read it as the server's header loop sees it.
	tp := textproto.NewReader(bufio.NewReader(strings.NewReader(raw)))
	_, _ = tp.ReadLine()
	mh, _ := tp.ReadMIMEHeader()
	hosts := mh["Host"]
	if req.ProtoAtLeast(1, 1) && len(hosts) == 0 && req.Method != http.MethodConnect {
		return nil, errors.New("missing required Host header")
	}
	if len(hosts) == 1 && !validHost(hosts[0]) {
		return nil, errors.New("malformed Host header")
	}
	for k, vs := range req.Header {
		if !validToken(k) {
			return nil, errors.New("invalid header name")
		}
		for _, v := range vs {
			if !validFieldValue([]byte(v)) {
				return nil, errors.New("invalid header value")
			}
		}
	}
	if ex := req.Header.Get("Expect"); ex != "" && !hasToken(ex, "100-continue") {
		return nil, errors.New("expectation failed")
	}
	return req, nil
}

// refKeepsAlive is net/http's server decision to read another request after one whose
// response carried a Content-Length.
func refKeepsAlive(req *http.Request) bool {
	if req.ProtoAtLeast(1, 1) {
		return !req.Close && !hasToken(req.Header.Get("Connection"), "close")
	}
	return hasToken(req.Header.Get("Connection"), "keep-alive")
}

// FuzzReadRequest checks the Server's request parser against net/http's server-side one:
// whatever it accepts, net/http accepts with the same method, target, version, host,
// headers, framing, body and trailers, and both stop at the same byte; it keeps a
// connection only when net/http would.
func FuzzReadRequest(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		own := bufio.NewReaderSize(strings.NewReader(raw), 4096)
		got, err := readRequest(own, false)
		// A head longer than the buffer takes another path (readLongHead): with the smallest
		// buffer every input of more than 16 bytes takes it. Both must agree.
		small, serr := readRequest(bufio.NewReaderSize(strings.NewReader(raw), 16), false)
		if (err == nil) != (serr == nil) || err == nil && sameRequest(got, small) != "" {
			t.Fatalf("a 16-byte buffer changes the outcome (%v, %v) of %q", err, serr, raw)
		}
		if err != nil {
			return // refusing more than net/http is allowed
		}
		ref := bufio.NewReaderSize(strings.NewReader(raw), 4096)
		want, rerr := refReadRequest(raw, ref)
		if rerr != nil {
			t.Fatalf("accepted what net/http's server refuses (%v):\n%q\nparsed as %+v", rerr, raw, got)
		}
		if msg := sameRequest(got, want); msg != "" {
			t.Fatalf("%s\nin %q", msg, raw)
		}
		if !got.Close && !refKeepsAlive(want) {
			t.Fatalf("keeps a connection net/http's server closes: %q", raw)
		}
		gotBody, gerr := io.ReadAll(got.Body)
		if gerr != nil {
			return
		}
		wantBody, werr := io.ReadAll(want.Body)
		switch {
		case werr != nil:
			t.Fatalf("read a body net/http fails on (%v): %q", werr, raw)
		case !bytes.Equal(gotBody, wantBody):
			t.Fatalf("body %q, net/http's %q, in %q", gotBody, wantBody, raw)
		case !reflect.DeepEqual(got.Trailer, want.Trailer):
			t.Fatalf("trailer %q, net/http's %q, in %q", got.Trailer, want.Trailer, raw)
		case own.Buffered() != ref.Buffered():
			t.Fatalf("the request ends %d bytes before the input does, net/http's %d: %q",
				own.Buffered(), ref.Buffered(), raw)
		}
	})
}

// sameRequest compares what a handler sees of two parsed requests (bodies aside).
func sameRequest(got, want *http.Request) string {
	switch {
	case got.Method != want.Method || got.RequestURI != want.RequestURI || !reflect.DeepEqual(got.URL, want.URL):
		return "request line differs: " + got.Method + " " + got.URL.String() + " vs " + want.Method + " " + want.URL.String()
	case got.Proto != want.Proto || got.ProtoMinor != want.ProtoMinor:
		return "version differs: " + got.Proto + " vs " + want.Proto
	case got.Host != want.Host:
		return "host differs: " + got.Host + " vs " + want.Host
	case !reflect.DeepEqual(got.Header, want.Header):
		return "headers differ"
	case got.ContentLength != want.ContentLength || !reflect.DeepEqual(got.TransferEncoding, want.TransferEncoding):
		return "framing differs"
	}
	return ""
}

// seenRequest is what a recording handler saw of one request.
type seenRequest struct {
	method, uri, proto, host string
	header, trailer          http.Header
	length                   int64
	te                       []string
	body                     string
	bodyErr                  bool
}

// recordingHandler records each request by client address and answers 200 "ok".
type recordingHandler struct {
	mu   sync.Mutex
	seen map[string][]seenRequest
}

func (h *recordingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	s := seenRequest{method: r.Method, uri: r.RequestURI, proto: r.Proto, host: r.Host,
		header: r.Header.Clone(), trailer: r.Trailer.Clone(), length: r.ContentLength,
		te: r.TransferEncoding, body: string(b), bodyErr: err != nil}
	h.mu.Lock()
	h.seen[r.RemoteAddr] = append(h.seen[r.RemoteAddr], s)
	h.mu.Unlock()
	w.Header().Set("Content-Length", "2")
	_, _ = io.WriteString(w, "ok")
}

func (h *recordingHandler) take(client string) []seenRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.seen[client]
	delete(h.seen, client)
	return s
}

// exchange sends raw on a new connection to addr, half-closes it, and returns the status
// codes of the final responses until the server closed, and the client's address.
func exchange(t *testing.T, addr, raw string) (statuses []string, client string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, raw)
	_ = c.(*net.TCPConn).CloseWrite()
	out, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		t.Fatalf("reading the answers to %q from %s: %v (got %q)", raw, addr, err, out)
	}
	for line := range strings.SplitSeq(string(out), "\r\n") {
		if strings.HasPrefix(line, "HTTP/1.") && len(line) >= 12 && line[9] != '1' {
			statuses = append(statuses, line[9:12])
		}
	}
	return statuses, c.LocalAddr().String()
}

// FuzzServerRequest sends the same bytes to net/http's server and to Server, each with a
// handler that records what it sees, on loopback: Server never takes a request net/http's
// server refuses, parses no more requests from the stream than it does, agrees on each
// request both parse (method, target, headers, body), and never goes on after an error.
func FuzzServerRequest(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	stdH := &recordingHandler{seen: map[string][]seenRequest{}}
	ownH := &recordingHandler{seen: map[string][]seenRequest{}}
	stdLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	std := &http.Server{Handler: stdH, ErrorLog: discardLog(), DisableGeneralOptionsHandler: true}
	go func() { _ = std.Serve(stdLn) }()
	own := startServer(f, ownH, time.Second)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = std.Shutdown(ctx)
	})
	f.Fuzz(func(t *testing.T, raw string) {
		_, stdClient := exchange(t, stdLn.Addr().String(), raw)
		ownStatus, ownClient := exchange(t, own, raw)
		n, p := stdH.take(stdClient), ownH.take(ownClient)
		if len(p) > len(n) {
			t.Fatalf("Server parsed %d requests, net/http %d, from %q:\nServer: %+v\nnet/http: %+v",
				len(p), len(n), raw, p, n)
		}
		for i, got := range p {
			want := n[i]
			got.body, want.body = "", ""
			if !got.bodyErr {
				if want.bodyErr {
					t.Fatalf("request %d: Server read a body net/http failed on: %q", i, raw)
				}
				if p[i].body != n[i].body || !reflect.DeepEqual(got.trailer, want.trailer) {
					t.Fatalf("request %d: body %q %v, net/http's %q %v, in %q", i, p[i].body, got.trailer,
						n[i].body, want.trailer, raw)
				}
			} else if i != len(p)-1 {
				t.Fatalf("request %d: Server went on after a broken body: %q", i, raw)
			}
			got.trailer, want.trailer, got.bodyErr, want.bodyErr = nil, nil, false, false
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("request %d differs in %q:\nServer:   %+v\nnet/http: %+v", i, raw, got, want)
			}
		}
		if len(ownStatus) > len(p)+1 || len(ownStatus) == len(p)+1 && ownStatus[len(p)] < "400" {
			t.Fatalf("Server answered %v to %d requests of %q", ownStatus, len(p), raw)
		}
	})
}
