package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves a Proxy on its own HTTP/1.1 connection loop instead of net/http's server.
// The proxy then handles each request as before (it is still an http.Handler), but
// without net/http's per-request background-read goroutine and response machinery, which
// cost more CPU than the forwarding itself (bench/proxy). It speaks HTTP/1.1 and 1.0
// (keep-alive, chunked bodies, Expect: 100-continue, upgrades); TLS listeners are wrapped
// by the caller. `gohub proxy` uses it; the in-process hub mounts the Proxy on its own server.
type Server struct {
	// Handler handles each request; normally a *Proxy.
	Handler http.Handler
	// IdleTimeout bounds the wait for the next request on a keep-alive connection (default 5 s).
	IdleTimeout time.Duration
	// HeaderTimeout bounds the wait for a request's headers once it started (default 60 s).
	HeaderTimeout time.Duration

	// Logger receives handler panics; nil means slog.Default().
	Logger *slog.Logger

	mu       sync.Mutex
	conns    map[*serverConn]struct{}
	ln       net.Listener
	shutting atomic.Bool
	wg       sync.WaitGroup
}

type serverConn struct {
	c      net.Conn
	active atomic.Bool // a request is in progress
	hijack atomic.Bool
}

// Serve accepts connections on ln until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	if s.conns == nil {
		s.conns = map[*serverConn]struct{}{}
	}
	s.mu.Unlock()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		delay = 0
		sc := &serverConn{c: c}
		s.mu.Lock()
		s.conns[sc] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() { s.serveConn(sc) })
	}
}

// Shutdown stops accepting, closes idle connections, waits for requests in progress until
// ctx ends, then closes the rest. Upgraded (websocket) connections belong to the Proxy.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutting.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		for sc := range s.conns {
			if !sc.active.Load() {
				sc.c.Close()
			}
		}
		s.mu.Unlock()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			s.mu.Lock()
			for sc := range s.conns {
				sc.c.Close()
			}
			s.mu.Unlock()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

func (s *Server) serveConn(sc *serverConn) {
	c := sc.c
	lr := &limitReader{r: c}
	br := readerPool.Get().(*bufio.Reader)
	bw := writerPool.Get().(*bufio.Writer)
	br.Reset(lr)
	bw.Reset(c)
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
		if !sc.hijack.Load() {
			c.Close()
			br.Reset(nil)
			bw.Reset(nil)
			readerPool.Put(br)
			writerPool.Put(bw)
		}
	}()
	idle, header := s.IdleTimeout, s.HeaderTimeout
	if idle <= 0 {
		idle = 5 * time.Second
	}
	if header <= 0 {
		header = time.Minute
	}
	remote := c.RemoteAddr().String()
	var tlsState *tls.ConnectionState
	// One connWriter (and its header map) serves every request of the connection.
	w := &connWriter{sc: sc, br: br, bw: bw, header: make(http.Header, 8)}
	// deadline is the read deadline currently set on c (zero: none). Moving it costs a
	// timer update, so it is pushed forward only once it is more than idle/8 behind where
	// it should be: the idle timeout then fires between 7/8 and all of idle after the
	// last request.
	var deadline time.Time
	for !s.shutting.Load() {
		// One deadline covers the idle wait and the headers; it is lifted only for requests
		// with a body, since nothing else reads from the client until the next request.
		now := time.Now()
		if want := now.Add(idle); deadline.IsZero() || want.Sub(deadline) > idle/8 {
			_ = c.SetReadDeadline(want)
			deadline = want
		}
		lr.remain = maxHeaderBytes
		if _, err := br.Peek(1); err != nil {
			return // idle timeout or the client went away
		}
		sc.active.Store(true)
		if header < idle {
			deadline = time.Now().Add(header)
			_ = c.SetReadDeadline(deadline)
		}
		req, ok := readSimpleRequest(br)
		var err error
		if !ok {
			req, err = http.ReadRequest(br)
		}
		lr.remain = math.MaxInt64
		if err != nil {
			writeBadRequest(c, err)
			return
		}
		if req.ContentLength != 0 {
			_ = c.SetReadDeadline(time.Time{})
			deadline = time.Time{}
		}
		req.RemoteAddr = remote
		if tc, ok := c.(*tls.Conn); ok {
			if tlsState == nil {
				st := tc.ConnectionState()
				tlsState = &st
			}
			req.TLS = tlsState
		}
		keep := s.serveRequest(sc, req, w)
		sc.active.Store(false)
		if !keep || sc.hijack.Load() {
			return
		}
	}
}

// maxHeaderBytes bounds a request's line and headers, as net/http's default.
const maxHeaderBytes = 1 << 20

// limitReader stops reading at remain bytes (set around header parsing only).
type limitReader struct {
	r      io.Reader
	remain int64
}

var errHeaderTooLarge = errors.New("request headers too large")

func (l *limitReader) Read(b []byte) (int, error) {
	if l.remain <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(b)) > l.remain {
		b = b[:l.remain]
	}
	n, err := l.r.Read(b)
	l.remain -= int64(n)
	return n, err
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func writeBadRequest(c net.Conn, err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return
	}
	if errors.Is(err, errHeaderTooLarge) {
		_, _ = io.WriteString(c, "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"+
			"Content-Length: 0\r\n\r\n")
		return
	}
	_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Connection: close\r\nContent-Length: 11\r\n\r\nBad Request")
}

// serveRequest runs the handler for one request and reports whether the connection can
// carry another.
func (s *Server) serveRequest(sc *serverConn, req *http.Request, w *connWriter) (keep bool) {
	if req.ProtoAtLeast(1, 1) && strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		_, _ = w.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		_ = w.bw.Flush()
	}
	w.reset(req)
	w.close = req.Close || !req.ProtoAtLeast(1, 1) && !strings.EqualFold(req.Header.Get("Connection"), "keep-alive")
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				s.logger().Error("panic serving request", "path", req.URL.Path, "panic", v,
					"stack", string(debug.Stack()))
			}
			keep = false
		}
	}()
	s.Handler.ServeHTTP(w, req)
	if sc.hijack.Load() {
		return false
	}
	if err := w.finish(); err != nil {
		return false
	}
	// Drain what is left of the request body (bounded) so the next request can be read.
	if req.Body != nil && req.Body != http.NoBody {
		n, _ := io.CopyN(io.Discard, req.Body, 256<<10)
		if n == 256<<10 {
			return false
		}
		req.Body.Close()
	}
	return !w.close
}

// connWriter is the http.ResponseWriter of a Server connection.
type connWriter struct {
	sc      *serverConn
	req     *http.Request
	br      *bufio.Reader
	bw      *bufio.Writer
	header  http.Header
	status  int
	chunked bool
	noBody  bool
	close   bool
	remain  int64 // bytes still allowed with Content-Length; -1 when unknown
	err     error
}

func (w *connWriter) Header() http.Header { return w.header }

// reset prepares w for the next request of its connection.
func (w *connWriter) reset(req *http.Request) {
	clear(w.header)
	*w = connWriter{sc: w.sc, req: req, br: w.br, bw: w.bw, header: w.header}
}

func (w *connWriter) WriteHeader(code int) {
	if w.status != 0 || w.sc.hijack.Load() {
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		return // informational answers are not relayed
	}
	w.status = code
	h := w.header
	w.remain = -1
	w.noBody = w.req.Method == http.MethodHead || code == 204 || code == 304
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.remain = n
		} else {
			h.Del("Content-Length")
		}
	}
	if w.remain < 0 && !w.noBody {
		if w.req.ProtoAtLeast(1, 1) {
			w.chunked = true
			h.Set("Transfer-Encoding", "chunked")
		} else {
			w.close = true
		}
	}
	if w.close {
		h.Set("Connection", "close")
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = []string{time.Now().UTC().Format(http.TimeFormat)}
	}
	if w.req.ProtoAtLeast(1, 1) {
		_, _ = w.bw.WriteString("HTTP/1.1 ")
	} else {
		_, _ = w.bw.WriteString("HTTP/1.0 ")
	}
	_, _ = w.bw.Write(strconv.AppendInt(w.bw.AvailableBuffer(), int64(code), 10))
	_ = w.bw.WriteByte(' ')
	_, _ = w.bw.WriteString(http.StatusText(code))
	_, _ = w.bw.WriteString("\r\n")
	for k, vs := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		writeHeader(w.bw, k, vs)
	}
	_, _ = w.bw.WriteString("\r\n")
}

func (w *connWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		if _, ok := w.header["Content-Type"]; !ok {
			w.header.Set("Content-Type", http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.noBody || len(b) == 0 {
		return len(b), nil
	}
	if w.remain >= 0 {
		if int64(len(b)) > w.remain {
			return 0, http.ErrContentLength
		}
		w.remain -= int64(len(b))
	}
	if w.chunked {
		_, _ = w.bw.WriteString(strconv.FormatInt(int64(len(b)), 16))
		_, _ = w.bw.WriteString("\r\n")
	}
	n, err := w.bw.Write(b)
	if w.chunked && err == nil {
		_, err = w.bw.WriteString("\r\n")
	}
	w.err = err
	return n, err
}

// Flush sends everything written so far (event streams depend on it).
func (w *connWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err == nil {
		w.err = w.bw.Flush()
	}
}

// Hijack hands the connection to the handler (websocket upgrades).
func (w *connWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.status != 0 {
		return nil, nil, errors.New("hijack after the response started")
	}
	if err := w.bw.Flush(); err != nil {
		return nil, nil, err
	}
	w.sc.hijack.Store(true)
	return w.sc.c, bufio.NewReadWriter(w.br, w.bw), nil
}

// finish ends the response: zero chunk, flush; a short fixed-length body forces a close.
func (w *connWriter) finish() error {
	if w.status == 0 {
		w.header.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	}
	if w.chunked && w.err == nil {
		_, w.err = w.bw.WriteString("0\r\n\r\n")
	}
	if w.remain > 0 && !w.noBody {
		w.close = true
	}
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}

// readSimpleRequest parses, without consuming anything unless it succeeds, a request that
// is fully buffered in br and plain: origin-form target, HTTP/1.1, a Host header, no body
// (no Content-Length, Transfer-Encoding or Expect), no obs-fold or odd bytes, no Pragma.
// It builds the same *http.Request as http.ReadRequest with far fewer allocations (the
// header block becomes one string that keys and values are cut from). ok=false leaves the
// request to http.ReadRequest, which also produces the errors for malformed ones.
func readSimpleRequest(br *bufio.Reader) (req *http.Request, ok bool) {
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, false
	}
	s := string(buf[:end+2]) // every line with its CRLF
	nl := strings.Index(s, "\r\n")
	line := s[:nl]
	sp1 := strings.IndexByte(line, ' ')
	if sp1 <= 0 || !strings.HasSuffix(line, " HTTP/1.1") {
		return nil, false
	}
	method, uri := line[:sp1], line[sp1+1:len(line)-len(" HTTP/1.1")]
	if !validFieldName([]byte(method)) || method == http.MethodConnect || len(uri) == 0 || uri[0] != '/' ||
		strings.IndexByte(uri, ' ') >= 0 {
		return nil, false
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, false
	}
	lines := s[nl+2:]
	n := strings.Count(lines, "\r\n")
	h := make(http.Header, n)
	vals := make([]string, n)
	host, hasHost, closing := "", false, false
	for i := 0; len(lines) > 0; i++ {
		j := strings.Index(lines, "\r\n")
		line, lines = lines[:j], lines[j+2:]
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !validFieldName([]byte(line[:colon])) || !validFieldValue([]byte(line[colon+1:])) {
			return nil, false
		}
		key := http.CanonicalHeaderKey(line[:colon])
		val := strings.Trim(line[colon+1:], " \t")
		switch key {
		case "Host":
			if hasHost {
				return nil, false
			}
			host, hasHost = val, true
			continue
		case "Content-Length", "Transfer-Encoding", "Expect", "Pragma", "Trailer":
			return nil, false
		case "Connection":
			for _, tok := range strings.Split(val, ",") {
				if strings.EqualFold(strings.Trim(tok, " \t"), "close") {
					closing = true
				}
			}
		}
		vals[i] = val
		if old, dup := h[key]; dup {
			h[key] = append(old, val)
		} else {
			h[key] = vals[i : i+1 : i+1]
		}
	}
	if !hasHost || !validHost(host) {
		return nil, false
	}
	_, _ = br.Discard(end + 4)
	return &http.Request{Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: http.NoBody, Host: host, Close: closing, RequestURI: uri}, true
}

// validHost accepts what http.ReadRequest's host check accepts for plain names and
// addresses; anything else is left to ReadRequest.
func validHost(h string) bool {
	for i := range len(h) {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._:[]", c) >= 0:
		default:
			return false
		}
	}
	return true
}
