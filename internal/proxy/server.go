package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
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
// by the caller. `gohub proxy` and the hub's public listener use it.
//
// Its request parser (request.go) refuses, with an error status and a closed connection,
// everything net/http's server refuses and more (see readRequest), so that no request is
// ever framed differently here than by a server behind it. A request body that ends in an
// error always closes the connection.
//
// The zero value of each limit means its default (the Default* constants).
type Server struct {
	// Handler handles each request; normally a *Proxy.
	Handler http.Handler
	// IdleTimeout bounds the wait for a new connection's first request and for the next
	// request on a keep-alive connection.
	IdleTimeout time.Duration
	// HeaderTimeout bounds the time from a request's first byte to the end of its headers.
	HeaderTimeout time.Duration
	// BodyTimeout bounds each wait for more of a request body: a client that sends nothing
	// for this long is cut off. A long upload that keeps coming is not.
	BodyTimeout time.Duration
	// WriteTimeout bounds each wait for the client to take more of a response: a client that
	// reads nothing for this long is cut off. A long download or stream that is read is not.
	WriteTimeout time.Duration
	// MaxConns caps the connections served at once. At the cap a new connection takes the
	// place of an idle keep-alive one, or is answered 503 and closed when none is idle.
	// Connections handed over to the handler (websockets) no longer count.
	MaxConns int

	// Logger receives handler panics; nil means slog.Default().
	Logger *slog.Logger

	mu       sync.Mutex
	conns    map[*serverConn]struct{}
	ln       net.Listener
	shutting atomic.Bool
	wg       sync.WaitGroup
}

// The defaults of Server's limits.
const (
	DefaultIdleTimeout   = 5 * time.Second // configurable-http-proxy's keep-alive timeout
	DefaultHeaderTimeout = time.Minute
	DefaultBodyTimeout   = time.Minute // nginx's client_body_timeout
	DefaultWriteTimeout  = time.Minute // nginx's send_timeout
	DefaultMaxConns      = 10000
)

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
	maxConns := orDefault(s.MaxConns, DefaultMaxConns)
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
		if len(s.conns) >= maxConns && !s.evictIdleLocked() {
			s.mu.Unlock()
			refuseConn(c)
			continue
		}
		s.conns[sc] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() { s.serveConn(sc) })
	}
}

// evictIdleLocked closes one connection that waits for a request, looking at a bounded
// number of them (map order is random), so that a full server costs O(1) per accept.
func (s *Server) evictIdleLocked() bool {
	looked := 0
	for sc := range s.conns {
		if !sc.active.Load() && !sc.hijack.Load() {
			delete(s.conns, sc)
			sc.c.Close()
			return true
		}
		if looked++; looked == 64 {
			break
		}
	}
	return false
}

// refuseConn answers a connection over MaxConns with 503 and closes it. A plain connection
// takes the few bytes without blocking; a TLS one would need a handshake first, so it is
// just closed.
func refuseConn(c net.Conn) {
	if _, isTLS := c.(*tls.Conn); !isTLS {
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n"+
			"Content-Length: 0\r\n\r\n")
	}
	c.Close()
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

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

// serveConn serves one connection's requests. Its buffers are taken from the pools only
// while a request is in progress or pipelined bytes wait: a connection that waits for a
// request holds its goroutine and a 1 KiB array, nothing more.
func (s *Server) serveConn(sc *serverConn) {
	c := sc.c
	idle := orDefault(s.IdleTimeout, DefaultIdleTimeout)
	header := orDefault(s.HeaderTimeout, DefaultHeaderTimeout)
	bodyTimeout := orDefault(s.BodyTimeout, DefaultBodyTimeout)
	cr := &connReader{c: c, remain: math.MaxInt64, read: lazyDeadline{set: c.SetReadDeadline}}
	cw := &connWriteTo{c: c, timeout: orDefault(s.WriteTimeout, DefaultWriteTimeout),
		write: lazyDeadline{set: c.SetWriteDeadline}}
	w := &connWriter{sc: sc, cr: cr, cw: cw, header: make(http.Header, 8)}
	release := func() {
		if w.br != nil {
			w.br.Reset(nil)
			w.bw.Reset(nil)
			readerPool.Put(w.br)
			writerPool.Put(w.bw)
			w.br, w.bw = nil, nil
		}
	}
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
		if !sc.hijack.Load() {
			c.Close()
			release()
		}
	}()
	remote := c.RemoteAddr().String()
	var tlsState *tls.ConnectionState
	afterPost := false
	for !s.shutting.Load() {
		// One deadline covers the idle wait; it moves only once it is idle/8 stale (each
		// move is a timer update): the idle timeout fires between 7/8 and all of idle.
		cr.read.move(time.Now().Add(idle), idle/8)
		if w.br == nil || w.br.Buffered() == 0 {
			release()
			if err := cr.await(); err != nil {
				return // idle timeout or the client went away
			}
			w.br = readerPool.Get().(*bufio.Reader)
			w.bw = writerPool.Get().(*bufio.Writer)
			w.br.Reset(cr)
			w.bw.Reset(cw)
		}
		sc.active.Store(true)
		cr.headerBy = time.Now().Add(header)
		cr.remain = maxHeaderBytes
		req, err := readRequest(w.br, afterPost)
		cr.remain, cr.headerBy = math.MaxInt64, time.Time{}
		if err != nil {
			s.refuseRequest(c, err)
			return
		}
		afterPost = req.Method == http.MethodPost
		req.RemoteAddr = remote
		if tc, ok := c.(*tls.Conn); ok {
			if tlsState == nil {
				st := tc.ConnectionState()
				tlsState = &st
			}
			req.TLS = tlsState
		}
		if req.Body != http.NoBody {
			cr.rolling = bodyTimeout
		}
		keep := s.serveRequest(sc, req, w)
		cr.rolling = 0
		sc.active.Store(false)
		if sc.hijack.Load() {
			return
		}
		if !keep {
			if w.br.Buffered() > 0 || w.body != nil && w.body.err != io.EOF {
				// The client may still be sending (pipelined requests, an unread body): let
				// it read the answer before the close resets the connection.
				lingerClose(c)
			}
			return
		}
	}
}

// maxHeaderBytes bounds a request's line and headers, as net/http's default.
const maxHeaderBytes = 1 << 20

// connReader is what a connection's bufio.Reader reads from. It hands out first the bytes
// that ended the idle wait, bounds the header size (remain), sets the header deadline before
// a header read that would wait (headerBy), and while a body is read it moves the read
// deadline before each read (rolling), so that each wait for the client is bounded. The
// usual request arrives whole in the first read and costs no deadline update.
type connReader struct {
	c        net.Conn
	first    [1024]byte
	pending  []byte // unread part of first
	remain   int64
	headerBy time.Time
	rolling  time.Duration
	read     lazyDeadline
}

var errHeaderTooLarge = errors.New("request headers too large")

// await waits for the start of a request without holding a connection buffer.
func (r *connReader) await() error {
	for {
		n, err := r.c.Read(r.first[:])
		if n > 0 {
			r.pending = r.first[:n]
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (r *connReader) Read(b []byte) (int, error) {
	if r.remain <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(b)) > r.remain {
		b = b[:r.remain]
	}
	if len(r.pending) > 0 {
		n := copy(b, r.pending)
		r.pending = r.pending[n:]
		r.remain -= int64(n)
		return n, nil
	}
	switch {
	case !r.headerBy.IsZero():
		r.read.move(r.headerBy, 0)
	case r.rolling > 0:
		r.read.move(time.Now().Add(r.rolling), r.rolling/8)
	}
	n, err := r.c.Read(b)
	r.remain -= int64(n)
	return n, err
}

// connWriteTo is what a connection's bufio.Writer writes to: it moves the write deadline
// before each write, so that each wait for the client to take data is bounded.
type connWriteTo struct {
	c       net.Conn
	timeout time.Duration // 0 after a hijack
	write   lazyDeadline
}

func (w *connWriteTo) Write(b []byte) (int, error) {
	if w.timeout > 0 {
		w.write.move(time.Now().Add(w.timeout), w.timeout/8)
	}
	return w.c.Write(b)
}

// lazyDeadline is a read or write deadline of a connection, set only when it must move.
type lazyDeadline struct {
	set func(time.Time) error // the connection's SetReadDeadline or SetWriteDeadline
	at  time.Time             // zero: none set
}

// move sets the deadline to want unless the one set is earlier by at most slack (a
// deadline later than want is always pulled in).
func (d *lazyDeadline) move(want time.Time, slack time.Duration) {
	if !d.at.IsZero() && !d.at.After(want) && want.Sub(d.at) <= slack {
		return
	}
	d.at = want
	_ = d.set(want)
}

// clear removes the deadline.
func (d *lazyDeadline) clear() {
	d.at = time.Time{}
	_ = d.set(time.Time{})
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// refuseRequest answers a request the parser refused (nothing for a client that went away or
// timed out) and lets the client read the answer before the connection closes.
func (s *Server) refuseRequest(c net.Conn, err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return
	}
	status := http.StatusBadRequest
	var re *requestError
	switch {
	case errors.Is(err, errHeaderTooLarge):
		status = http.StatusRequestHeaderFieldsTooLarge
	case errors.As(err, &re):
		status = re.status
	}
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = io.WriteString(c, "HTTP/1.1 "+text+"\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Connection: close\r\nContent-Length: "+strconv.Itoa(len(text))+"\r\n\r\n"+text)
	lingerClose(c)
}

// lingerClose half-closes c and reads what the client still sends for a moment before the
// caller closes it: closing with unread input makes the kernel send a reset, which can
// destroy the answer before the client reads it.
func lingerClose(c net.Conn) {
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _ = io.CopyN(io.Discard, c, 256<<10)
}

// maxDrainBytes is the most of an unread request body the server reads to keep the
// connection (net/http's maxPostHandlerReadBytes).
const maxDrainBytes = 256 << 10

// serveRequest runs the handler for one request and reports whether the connection can
// carry another.
func (s *Server) serveRequest(sc *serverConn, req *http.Request, w *connWriter) (keep bool) {
	w.reset(req)
	// The handler may replace req.Body (the forwarder does, to resend it); the server
	// judges the connection by the body it read from it.
	body, _ := req.Body.(*reqBody)
	w.body = body
	if ex := req.Header["Expect"]; body != nil && req.ProtoMinor == 1 && len(ex) == 1 && ex[0] != "" {
		body.onRead = w.sendContinue // the parser let only 100-continue through
	}
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
	return !w.close && (body == nil || body.drain())
}

// drain reads what the handler left of the body, if that is little, and reports whether the
// body ended cleanly, so that the connection can carry another request.
func (b *reqBody) drain() bool {
	if b.onRead != nil {
		return false // 100 Continue never sent: the client may or may not send the body
	}
	if b.err == nil && (b.chunked != nil || b.remain <= maxDrainBytes) {
		_, _ = io.CopyN(io.Discard, b, maxDrainBytes+1)
	}
	return b.err == io.EOF
}

// connWriter is the http.ResponseWriter of a Server connection. The framing of its
// responses is its own: a handler's Transfer-Encoding is dropped, its Content-Length kept
// only when valid, header names that are not tokens are skipped and CR/LF in values become
// spaces, as net/http's server does.
type connWriter struct {
	sc       *serverConn
	cr       *connReader
	cw       *connWriteTo
	req      *http.Request
	body     *reqBody // the request body as read from the connection; nil for none
	br       *bufio.Reader
	bw       *bufio.Writer
	header   http.Header
	trailers []string // names declared in the Trailer header, sent after a chunked body
	status   int
	chunked  bool
	noBody   bool
	close    bool
	remain   int64 // bytes still allowed with Content-Length; -1 when unknown
	err      error
}

func (w *connWriter) Header() http.Header { return w.header }

// reset prepares w for the next request of its connection.
func (w *connWriter) reset(req *http.Request) {
	clear(w.header)
	*w = connWriter{sc: w.sc, cr: w.cr, cw: w.cw, req: req, br: w.br, bw: w.bw, header: w.header,
		close: req.Close}
}

// sendContinue answers Expect: 100-continue when the handler starts reading the body.
func (w *connWriter) sendContinue() {
	if w.status == 0 && w.err == nil {
		_, _ = w.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		w.err = w.bw.Flush()
	}
}

func (w *connWriter) WriteHeader(code int) {
	if w.status != 0 || w.sc.hijack.Load() {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		return // informational answers are not relayed
	}
	w.status = code
	h := w.header
	delete(h, "Transfer-Encoding")
	w.remain = -1
	// After a 101 without a hijack the client speaks another protocol: nothing may follow.
	w.noBody = w.req.Method == http.MethodHead || code == 101 || code == 204 || code == 304
	w.close = w.close || code == 101 || listHasToken(h["Connection"], "close") ||
		w.body != nil && w.body.onRead != nil // 100 Continue never sent (net/http closes too)
	if cl, ok := h["Content-Length"]; ok {
		if n, ok := contentLength(cl); ok {
			w.remain = n
			h["Content-Length"] = cl[:1]
		} else {
			delete(h, "Content-Length")
		}
	}
	if w.remain < 0 && !w.noBody {
		if w.req.ProtoAtLeast(1, 1) {
			w.chunked = true
			h["Transfer-Encoding"] = []string{"chunked"}
			for _, v := range h["Trailer"] {
				for k := range strings.SplitSeq(v, ",") {
					if k = strings.Trim(k, " \t"); k != "" {
						w.trailers = append(w.trailers, http.CanonicalHeaderKey(k))
					}
				}
			}
		} else {
			w.close = true // HTTP/1.0: the end of the body is the end of the connection
		}
	}
	if w.chunked {
		delete(h, "Content-Length")
	} else {
		delete(h, "Trailer")
	}
	switch {
	case w.close:
		h["Connection"] = []string{"close"}
	case !w.req.ProtoAtLeast(1, 1):
		h["Connection"] = []string{"keep-alive"}
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
		if !strings.HasPrefix(k, http.TrailerPrefix) {
			writeField(w.bw, k, vs)
		}
	}
	_, _ = w.bw.WriteString("\r\n")
}

// contentLength is the value of valid Content-Length headers (repeats must be equal).
func contentLength(vs []string) (int64, bool) {
	first := strings.Trim(vs[0], " \t")
	n, err := strconv.ParseUint(first, 10, 63)
	if err != nil {
		return 0, false
	}
	for _, v := range vs[1:] {
		if strings.Trim(v, " \t") != first {
			return 0, false
		}
	}
	return int64(n), true
}

// writeField writes a handler's header field, skipping names that are not tokens and
// turning CR and LF in values into spaces, so that no handler can split the response.
func writeField(bw *bufio.Writer, k string, vs []string) {
	if !validToken(k) {
		return
	}
	for _, v := range vs {
		_, _ = bw.WriteString(k)
		_, _ = bw.WriteString(": ")
		if strings.ContainsAny(v, "\r\n") {
			v = strings.Trim(strings.Map(func(r rune) rune {
				if r == '\r' || r == '\n' {
					return ' '
				}
				return r
			}, v), " \t")
		}
		_, _ = bw.WriteString(v)
		_, _ = bw.WriteString("\r\n")
	}
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
func (w *connWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush that reports a client gone (http.ResponseController uses it).
func (w *connWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}

// Hijack hands the connection to the handler (websocket upgrades), without deadlines.
func (w *connWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.status != 0 {
		return nil, nil, errors.New("hijack after the response started")
	}
	if err := w.bw.Flush(); err != nil {
		return nil, nil, err
	}
	w.sc.hijack.Store(true)
	w.cr.rolling, w.cw.timeout = 0, 0
	w.cr.read.clear()
	w.cw.write.clear()
	return w.sc.c, bufio.NewReadWriter(w.br, w.bw), nil
}

// finish ends the response: last chunk and trailers, flush; a short fixed-length body
// forces a close.
func (w *connWriter) finish() error {
	if w.status == 0 {
		w.header.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	}
	if w.chunked && w.err == nil {
		_, _ = w.bw.WriteString("0\r\n")
		for _, k := range w.trailers {
			writeField(w.bw, k, w.header[k])
		}
		for k, vs := range w.header {
			if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
				writeField(w.bw, name, vs)
			}
		}
		_, w.err = w.bw.WriteString("\r\n")
	}
	if w.remain > 0 && !w.noBody {
		w.close = true
	}
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}
