package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReadRequestMatchesNetHTTP: every valid request parses as net/http's server parses it,
// body, trailers and the position of the next request included.
func TestReadRequestMatchesNetHTTP(t *testing.T) {
	const next = "GET /next HTTP/1.1\r\nHost: n\r\n\r\n"
	for _, raw := range validRequests {
		own := bufio.NewReaderSize(strings.NewReader(raw+next), 4096)
		got, err := readRequest(own, false)
		if err != nil {
			t.Errorf("%.80q: %v", raw, err)
			continue
		}
		want, err := refReadRequest(raw, bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatalf("%.80q: net/http: %v", raw, err)
		}
		if msg := sameRequest(got, want); msg != "" {
			t.Errorf("%.80q: %s\n got %+v\nwant %+v", raw, msg, got, want)
		}
		gb, gerr := io.ReadAll(got.Body)
		wb, _ := io.ReadAll(want.Body)
		if gerr != nil || !bytes.Equal(gb, wb) || len(got.Trailer) != len(want.Trailer) {
			t.Errorf("%.80q: body %q %v trailer %v, want %q %v", raw, gb, gerr, got.Trailer, wb, want.Trailer)
		}
		if rest, err := readRequest(own, false); err != nil || rest.URL.Path != "/next" {
			t.Errorf("%.80q: the next request does not follow: %v", raw, err)
		}
	}
}

// TestReadRequestRefuses lists what the parser refuses beyond net/http's server, with the
// status the client gets.
func TestReadRequestRefuses(t *testing.T) {
	for _, c := range []struct {
		raw    string
		status int
	}{
		{"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},                              // obs-fold
		{"GET / HTTP/1.1\nHost: h\n\n", 400},                                                  // bare LF
		{"GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", 400},                                     // empty name
		{"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400}, // repeated
		{"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, x\r\n\r\n", 417},
		{"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nExpect: 100-continue\r\n\r\n", 417},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n", 400},
		{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"GET / HTTP/1.5\r\nHost: h\r\n\r\n", 505},
		{"CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n", 405},
		{"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 5000) + "\n\r\n", 400}, // bare LF, long line
	} {
		_, err := readRequest(bufio.NewReaderSize(strings.NewReader(c.raw), 4096), false)
		var re *requestError
		if !errors.As(err, &re) || re.status != c.status {
			t.Errorf("%.60q: %v, want %d", c.raw, err, c.status)
		}
	}
}

// TestServerClosesAfterBrokenBody: a chunked body that breaks, read by the handler, ends the
// connection: what follows is never parsed as a request (the old server kept the
// connection and served the rest).
func TestServerClosesAfterBrokenBody(t *testing.T) {
	var paths []string
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		io.ReadAll(r.Body)
		io.WriteString(w, "ok")
	}), time.Second)
	for _, body := range []string{"2\r\nhi\r\nzz\r\n", "2\r\nhiX\r\n0\r\n\r\n", "0\r\nX: y\n\r\n"} {
		paths = nil
		rawExchange(t, addr, "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"+body+
			"GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
		if len(paths) != 1 || paths[0] != "/a" {
			t.Errorf("body %q: the handler saw %q, want /a only", body, paths)
		}
	}
}

// TestServerResponseFraming: the server owns the framing of responses: a handler's
// Transfer-Encoding goes, conflicting Content-Lengths go, and no header value can start a
// new header line (the old server wrote all of them as given).
func TestServerResponseFraming(t *testing.T) {
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		switch r.URL.Path {
		case "/te":
			h.Set("Transfer-Encoding", "chunked")
			h.Set("Content-Length", "2")
		case "/two-lengths":
			h["Content-Length"] = []string{"2", "20"}
		case "/inject":
			h.Set("X-Name", "a\r\nSet-Cookie: evil=1")
			h["Bad Name"] = []string{"v"}
		}
		io.WriteString(w, "ok")
	}), time.Second)
	for path, check := range map[string]func(string) bool{
		"/te": func(s string) bool {
			return !strings.Contains(s, "Transfer-Encoding") && strings.Contains(s, "Content-Length: 2\r\n")
		},
		"/two-lengths": func(s string) bool {
			return !strings.Contains(s, "Content-Length") && strings.Contains(s, "Transfer-Encoding: chunked\r\n")
		},
		"/inject": func(s string) bool {
			return !strings.Contains(s, "\r\nSet-Cookie") && !strings.Contains(s, "Bad Name") &&
				strings.Contains(s, "X-Name: a  Set-Cookie: evil=1\r\n")
		},
	} {
		got := rawExchange(t, addr, "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		if !check(got) {
			t.Errorf("%s: %q", path, got)
		}
	}
}

// TestServerExpectContinueOnRead: 100 Continue goes out when the handler reads the body; a
// handler that answers without reading gets no 100 and the connection closes, since the
// client may or may not send the body then.
func TestServerExpectContinueOnRead(t *testing.T) {
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/read" {
			io.ReadAll(r.Body)
		}
		w.WriteHeader(http.StatusForbidden)
	}), time.Second)
	const req = " HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
	got := rawExchange(t, addr, "POST /unread"+req)
	if strings.Contains(got, "100 Continue") || !strings.HasPrefix(got, "HTTP/1.1 403 ") ||
		!strings.Contains(got, "Connection: close\r\n") {
		t.Errorf("unread body: %q", got)
	}
	got = rawExchange(t, addr, "POST /read"+req+"body")
	if !strings.HasPrefix(got, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 ") {
		t.Errorf("read body: %q", got)
	}
}

// TestTrailerLimit: a chunked body's trailer section of exactly maxTrailerBytes (its lines and
// the blank line ending it) is read; one byte more fails the body, so the server closes the
// connection, and a trailer line ending in a bare LF fails it too.
func TestTrailerLimit(t *testing.T) {
	trailer := func(n int) string { // a trailer section of n bytes in all
		return "X: " + strings.Repeat("a", n-len("X: \r\n\r\n")) + "\r\n\r\n"
	}
	read := func(tr string) error {
		raw := "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n" + tr
		req, err := readRequest(bufio.NewReaderSize(strings.NewReader(raw), 64<<10), false)
		if err != nil {
			t.Fatalf("head: %v", err)
		}
		_, err = io.ReadAll(req.Body)
		return err
	}
	if err := read(trailer(maxTrailerBytes)); err != nil {
		t.Errorf("a trailer section of %d bytes: %v", maxTrailerBytes, err)
	}
	if err := read(trailer(maxTrailerBytes + 1)); err == nil {
		t.Errorf("a trailer section of %d bytes was read", maxTrailerBytes+1)
	}
	if err := read("X: y\n\r\n"); err == nil {
		t.Error("a trailer line with a bare LF was read")
	}
}
