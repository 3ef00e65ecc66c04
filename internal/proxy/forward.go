package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"
)

// forward relays one plain-HTTP request to an http:// target over a pooled keep-alive
// connection. It is what httputil.ReverseProxy with http.Transport does, minus the
// transport's per-connection read and write goroutines and their channel hand-offs, which
// cost about half the proxy's CPU at small-request rates (measured: bench/proxy).
// https targets go through ReverseProxy.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, route *Route) {
	host := route.Target.Host
	if route.Target.Port() == "" {
		host = net.JoinHostPort(route.Target.Hostname(), "80")
	}
	// Only an idempotent request may be sent a second time (RFC 9110 §9.2.2), and only one
	// whose body is at hand again.
	replayable := idempotent(r)
	var body []byte
	if replayable && r.Body != nil && r.Body != http.NoBody {
		replayable = r.ContentLength > 0 && r.ContentLength <= maxReplayBody
		if replayable {
			body = make([]byte, r.ContentLength)
			if _, err := io.ReadFull(r.Body, body); err != nil {
				p.log.Debug("read request body", "route", route.Prefix, "err", err)
				w.WriteHeader(http.StatusBadRequest)
				return
			}
		}
	}
	for attempt := 0; ; attempt++ {
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		uc, reused, err := p.pool.get(r.Context(), host)
		if err != nil {
			p.fail(w, r, http.StatusServiceUnavailable, err)
			return
		}
		status, err := p.roundTrip(w, r, route, uc)
		if err == nil {
			if status < 300 {
				route.Touch()
			}
			return
		}
		uc.close()
		var se stageError
		if errors.As(err, &se) && se.beforeResponse {
			// A reused connection that fails before any response byte was, in practice,
			// closed by the target while idle (keep-alive timers) just as it was taken:
			// an idempotent request is sent again on a fresh one. Timeouts are final.
			var ne net.Error
			timeout := errors.As(err, &ne) && ne.Timeout()
			if reused && replayable && !se.bad && attempt == 0 && !timeout && r.Context().Err() == nil {
				continue
			}
			if r.Context().Err() == nil {
				code := http.StatusServiceUnavailable
				if se.bad {
					code = http.StatusBadGateway
				}
				p.fail(w, r, code, err)
			}
			return
		}
		// The response had started: all we can do is cut the client connection.
		p.log.Debug("proxy response aborted", "route", route.Prefix, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// idempotent reports whether r may be sent twice: an idempotent method (RFC 9110 §9.2.2),
// or an Idempotency-Key / X-Idempotency-Key header, as net/http's Transport has it.
func idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	_, key := r.Header["Idempotency-Key"]
	_, xkey := r.Header["X-Idempotency-Key"]
	return key || xkey
}

// maxReplayBody is the largest request body kept in memory for a retry.
const maxReplayBody = 64 << 10

// max1xx bounds the informational (1xx) answers skipped before a final one.
const max1xx = 5

// stageError tells whether a failure happened before any response byte was relayed, and
// whether the target answered something invalid (502) rather than nothing (503).
type stageError struct {
	beforeResponse bool
	err            error
	bad            bool
}

func (e stageError) Error() string { return e.err.Error() }
func (e stageError) Unwrap() error { return e.err }

// badResponse is a target answer that is not relayed: 502.
func badResponse(err error) error { return stageError{beforeResponse: true, err: err, bad: true} }

var (
	errHeadTooLarge = errors.New("response head larger than the limit")
	errUnasked101   = errors.New("101 Switching Protocols to a request that asked for no upgrade")
	errTooMany1xx   = errors.New("too many 1xx informational responses")
)

// readFinal reads the target's final answer to req from br, skipping up to max1xx
// informational ones. Any error is a bad response. It is stricter than http.ReadResponse
// in one way: every field name must be a token and no value may hold control bytes, since
// ReadResponse takes "Content-Length : 5" as a field named "Content-Length " that other
// parsers downstream may read as the length (RFC 9112 §5.1).
func readFinal(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for n := 0; ; n++ {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, fmt.Errorf("read response: %w", err)
		}
		if err := checkFields(resp.Header); err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if n == max1xx {
			return nil, errTooMany1xx
		}
	}
}

// checkFields refuses field names that are not tokens and values with control bytes.
func checkFields(h http.Header) error {
	for k, vs := range h {
		if !validFieldName([]byte(k)) {
			return fmt.Errorf("invalid response field name %q", k)
		}
		for _, v := range vs {
			if !validFieldValue([]byte(v)) {
				return fmt.Errorf("invalid value of response field %s", k)
			}
		}
	}
	return nil
}

// roundTrip writes r to uc, relays the response to w, and returns uc to the pool when the
// exchange left it reusable. It returns the response status.
func (p *Proxy) roundTrip(w http.ResponseWriter, r *http.Request, route *Route, uc *upConn) (int, error) {
	// A client that goes away cuts the target connection too (net/http's server cancels the
	// request context then; proxy.Server's requests have no cancellation).
	stop := func() bool { return true }
	if r.Context().Done() != nil {
		stop = context.AfterFunc(r.Context(), func() { _ = uc.c.SetDeadline(aLongTimeAgo) })
		defer stop()
	}
	if err := p.writeRequest(uc.bw, r, route); err != nil {
		return 0, stageError{beforeResponse: true, err: fmt.Errorf("write request: %w", err)}
	}
	if p.opts.ProxyTimeout > 0 {
		_ = uc.c.SetReadDeadline(time.Now().Add(p.opts.ProxyTimeout))
	}
	uc.limit = p.opts.MaxResponseHeaderBytes
	if _, err := uc.br.Peek(1); err != nil {
		if errors.Is(err, errHeadTooLarge) {
			return 0, badResponse(err)
		}
		return 0, stageError{beforeResponse: true, err: fmt.Errorf("read response: %w", err)}
	}
	// From the first byte on, a failure to read a valid head is the target's fault (502),
	// and the request is never sent again.
	if cw, ok := w.(*connWriter); ok {
		status, upClose, handled, err := p.relayFast(cw, r, uc)
		if handled {
			if err != nil {
				return status, err
			}
			if stop() && !upClose {
				p.pool.put(uc)
			} else {
				uc.close()
			}
			return status, nil
		}
	}
	resp, err := readFinal(uc.br, r)
	if err == nil && resp.StatusCode == http.StatusSwitchingProtocols {
		err = errUnasked101 // upgrades are serveUpgrade's; this request asked for none
	}
	if err != nil {
		if uc.limit <= 0 {
			err = errHeadTooLarge
		}
		return 0, badResponse(err)
	}
	uc.limit = math.MaxInt64
	if p.opts.ProxyTimeout > 0 {
		_ = uc.c.SetReadDeadline(time.Time{})
	}
	writeHead(w, resp)
	if resp.StatusCode < 300 && resp.ContentLength < 0 {
		route.Touch() // a stream starts: activity now, and on every chunk below
	}
	if err := p.copyBody(w, resp, route); err != nil {
		return resp.StatusCode, stageError{err: err}
	}
	// Trailers: only those declared in the head (writeHead), and only valid ones.
	for _, k := range w.Header()["Trailer"] {
		if vs, ok := resp.Trailer[k]; ok && checkFields(http.Header{k: vs}) == nil {
			w.Header()[http.TrailerPrefix+k] = vs
		}
	}
	if stop() && !resp.Close {
		p.pool.put(uc)
	} else {
		uc.close()
	}
	return resp.StatusCode, nil
}

// writeHead sends the status and headers of a target's response to w, without its
// hop-by-hop headers (RFC 9110 §7.6.1), trailers declared. The framing is w's: the body
// length ReadResponse settled on is the only Content-Length left (none on a 204, RFC
// 9110 §8.6), and Transfer-Encoding never passes.
func writeHead(w http.ResponseWriter, resp *http.Response) {
	h := w.Header()
	removeHopHeaders(resp.Header)
	for k, v := range resp.Header {
		h[k] = v
	}
	if resp.StatusCode == http.StatusNoContent {
		delete(h, "Content-Length")
	}
	for k := range resp.Trailer {
		if validFieldName([]byte(k)) {
			h.Add("Trailer", k)
		}
	}
	w.WriteHeader(resp.StatusCode)
}

var aLongTimeAgo = time.Unix(1, 0)

// copyBody copies the response body, flushing at once for streams (unknown length, such
// as text/event-stream spawn progress).
func (p *Proxy) copyBody(w http.ResponseWriter, resp *http.Response, route *Route) error {
	defer resp.Body.Close()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	stream := resp.ContentLength < 0
	var fl http.Flusher
	if stream {
		fl, _ = w.(http.Flusher)
	}
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return fmt.Errorf("write response: %w", err)
			}
			if fl != nil {
				fl.Flush()
				route.Touch()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read response body: %w", rerr)
		}
	}
}

// hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded.
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for _, k := range strings.Split(f, ",") {
			if k = strings.TrimSpace(k); k != "" {
				h.Del(k)
			}
		}
	}
	for _, k := range hopByHop {
		delete(h, k)
	}
}

// writeRequest writes the forwarded request line, headers and body.
func (p *Proxy) writeRequest(bw *bufio.Writer, r *http.Request, route *Route) error {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(p.outPath(r, route))
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		bw.WriteByte('?')
		bw.WriteString(r.URL.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	skip := connectionTokens(r.Header)
	for k, vs := range r.Header {
		if isHop(k) || skip[k] || k == "Expect" || k == "Content-Length" || k == "Host" {
			continue
		}
		if !p.opts.NoXForward && strings.HasPrefix(k, "X-Forwarded-") {
			continue
		}
		if _, custom := p.opts.Headers[k]; custom {
			continue
		}
		writeHeader(bw, k, vs)
	}
	if !p.opts.NoXForward {
		writeXForwarded(bw, r)
	}
	for k, vs := range p.opts.Headers {
		writeHeader(bw, k, vs)
	}
	hasBody := r.Body != nil && r.Body != http.NoBody
	switch {
	case r.ContentLength > 0 || (r.ContentLength == 0 && methodWantsLength(r.Method)):
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(r.ContentLength, 10))
		bw.WriteString("\r\n\r\n")
		if hasBody && r.ContentLength > 0 {
			if _, err := io.CopyN(bw, r.Body, r.ContentLength); err != nil {
				return fmt.Errorf("copy request body: %w", err)
			}
		}
	case r.ContentLength < 0 && hasBody:
		bw.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		cw := httputil.NewChunkedWriter(bw)
		if _, err := io.Copy(cw, r.Body); err != nil {
			return fmt.Errorf("copy request body: %w", err)
		}
		cw.Close()
		bw.WriteString("\r\n")
	default:
		bw.WriteString("\r\n")
	}
	return bw.Flush()
}

func methodWantsLength(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
}

func isHop(k string) bool {
	for _, h := range hopByHop {
		if k == h {
			return true
		}
	}
	return false
}

func connectionTokens(h http.Header) map[string]bool {
	vs := h["Connection"]
	if len(vs) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, v := range vs {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				m[http.CanonicalHeaderKey(k)] = true
			}
		}
	}
	return m
}

func writeHeader(bw *bufio.Writer, k string, vs []string) {
	for _, v := range vs {
		bw.WriteString(k)
		bw.WriteString(": ")
		// Values come from a parsed request, so they hold no CR/LF.
		bw.WriteString(v)
		bw.WriteString("\r\n")
	}
}

// upConn is one keep-alive connection to a target.
type upConn struct {
	c      net.Conn
	br     *bufio.Reader // reads through uc (Read), which enforces limit
	bw     *bufio.Writer
	key    string
	idleAt time.Time
	limit  int64      // bytes Read may still take from c: the head limit while a head is read
	probe  *idleProbe // finds bytes or a close on the idle connection
}

func newUpConn(c net.Conn, key string) *upConn {
	uc := &upConn{c: c, bw: bufio.NewWriterSize(c, 8<<10), key: key, limit: math.MaxInt64, probe: newIdleProbe(c)}
	uc.br = bufio.NewReaderSize(uc, 16<<10)
	return uc
}

// Read reads from the target connection, at most limit bytes in all (as net/http's
// persistConn bounds response heads).
func (uc *upConn) Read(b []byte) (int, error) {
	if uc.limit <= 0 {
		return 0, errHeadTooLarge
	}
	if int64(len(b)) > uc.limit {
		b = b[:uc.limit]
	}
	n, err := uc.c.Read(b)
	uc.limit -= int64(n)
	return n, err
}

func (uc *upConn) close() { _ = uc.c.Close() }

// upstreamPool keeps idle target connections, most recently used first. While it holds any,
// a timer sweeps out those idle longer than idleFor or closed by their target, so stopped
// servers do not leave sockets behind (CHP's socket leaks, configurable-http-proxy#434/#557).
type upstreamPool struct {
	mu      sync.Mutex
	idle    map[string][]*upConn
	maxIdle int
	idleFor time.Duration
	dialer  *net.Dialer
	sweeper *time.Timer // armed while idle is non-empty
	closed  bool
}

// sweep closes expired or dead idle connections and re-arms itself while any remain.
func (up *upstreamPool) sweep() {
	now := time.Now()
	var drop []*upConn
	up.mu.Lock()
	for host, list := range up.idle {
		keep := list[:0]
		for _, uc := range list {
			if now.Sub(uc.idleAt) > up.idleFor || !uc.probe.quiet() {
				drop = append(drop, uc)
			} else {
				keep = append(keep, uc)
			}
		}
		clear(list[len(keep):])
		if len(keep) == 0 {
			delete(up.idle, host)
		} else {
			up.idle[host] = keep
		}
	}
	up.sweeper = nil
	if len(up.idle) > 0 && !up.closed {
		up.sweeper = time.AfterFunc(up.idleFor/2, up.sweep)
	}
	up.mu.Unlock()
	for _, uc := range drop {
		uc.close()
	}
}

// get returns an idle connection to host or dials one. An idle connection is used only if
// it is still open with nothing to read: bytes there are an answer nobody asked for
// (net/http's Transport watches idle connections with a goroutine each for the same
// reason; here one non-blocking peek per request does).
func (up *upstreamPool) get(ctx context.Context, host string) (*upConn, bool, error) {
	now := time.Now()
	for {
		up.mu.Lock()
		list := up.idle[host]
		var uc *upConn
		if n := len(list); n > 0 {
			uc = list[n-1]
			list[n-1] = nil
			up.idle[host] = list[:n-1]
		}
		up.mu.Unlock()
		if uc == nil {
			break
		}
		if now.Sub(uc.idleAt) > up.idleFor || !uc.probe.quiet() {
			uc.close()
			continue
		}
		return uc, true, nil
	}
	c, err := up.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, false, fmt.Errorf("dial %s: %w", host, err)
	}
	return newUpConn(c, host), false, nil
}

// put keeps uc for the next request, unless the target sent more than the answer: those
// bytes would be taken as the answer to someone else's request.
func (up *upstreamPool) put(uc *upConn) {
	if uc.br.Buffered() > 0 {
		uc.close()
		return
	}
	uc.idleAt = time.Now()
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.closed || len(up.idle[uc.key]) >= up.maxIdle {
		uc.close()
		return
	}
	up.idle[uc.key] = append(up.idle[uc.key], uc)
	if up.sweeper == nil {
		up.sweeper = time.AfterFunc(up.idleFor/2, up.sweep)
	}
}

// idleCount reports how many idle connections the pool holds.
func (up *upstreamPool) idleCount() int {
	up.mu.Lock()
	defer up.mu.Unlock()
	n := 0
	for _, l := range up.idle {
		n += len(l)
	}
	return n
}

// close closes every idle connection and stops pooling.
func (up *upstreamPool) close() {
	up.mu.Lock()
	idle := up.idle
	up.idle = map[string][]*upConn{}
	up.closed = true
	if up.sweeper != nil {
		up.sweeper.Stop()
		up.sweeper = nil
	}
	up.mu.Unlock()
	for _, list := range idle {
		for _, uc := range list {
			uc.close()
		}
	}
}

// writeXForwarded writes the X-Forwarded-* headers as setXForwarded computes them, without
// building a header map.
func writeXForwarded(bw *bufio.Writer, r *http.Request) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	proto, port := "http", "80"
	if r.TLS != nil {
		proto, port = "https", "443"
	}
	if strings.IndexByte(r.Host, ':') >= 0 { // SplitHostPort allocates its error otherwise
		if _, pt, err := net.SplitHostPort(r.Host); err == nil {
			port = pt
		}
	}
	for _, kv := range [3][2]string{{"X-Forwarded-For", ip}, {"X-Forwarded-Port", port}, {"X-Forwarded-Proto", proto}} {
		bw.WriteString(kv[0])
		bw.WriteString(": ")
		if old := r.Header[kv[0]]; len(old) > 0 {
			bw.WriteString(strings.Join(old, ","))
			bw.WriteByte(',')
		}
		bw.WriteString(kv[1])
		bw.WriteString("\r\n")
	}
	bw.WriteString("X-Forwarded-Host: ")
	if v := r.Header.Get("X-Forwarded-Host"); v != "" {
		bw.WriteString(v)
	} else {
		bw.WriteString(r.Host)
	}
	bw.WriteString("\r\n")
}

// relayFast relays a plain response (final status, Content-Length body, nothing else
// special) from uc straight to a Server connection: the header lines are checked and
// copied as bytes, without http.ReadResponse's Response, header map and strings, which
// were a fifth of the proxy's CPU at small-request rates (bench/proxy). It consumes
// nothing and reports handled=false when the response is anything else (1xx, 101, 204,
// 304, HEAD, chunked, trailers, Connection tokens other than close/keep-alive, obs-fold,
// odd bytes, headers not yet all buffered), so that the general path handles it.
func (p *Proxy) relayFast(cw *connWriter, r *http.Request, uc *upConn) (status int, upClose, handled bool, err error) {
	if r.Method == http.MethodHead || len(cw.header) != 0 || cw.status != 0 {
		return 0, false, false, nil
	}
	buf, _ := uc.br.Peek(uc.br.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, false, false, nil
	}
	head := buf[:end+2] // every line with its CRLF
	nl := bytes.Index(head, []byte("\r\n"))
	line := head[:nl]
	// "HTTP/1.1 200 OK": HTTP/1.0 targets have other keep-alive rules, left to ReadResponse.
	// A bare LF in the reason phrase ends the line for ReadResponse (and for clients).
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || (len(line) > 12 && line[12] != ' ') ||
		!validFieldValue(line[12:]) {
		return 0, false, false, nil
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, false, false, nil
		}
		status = status*10 + int(c-'0')
	}
	if status < 200 || status == 204 || status == 304 || status > 999 {
		return 0, false, false, nil
	}
	length, hasDate := int64(-1), false
	lines := head[nl+2:]
	for rest := lines; len(rest) > 0; {
		i := bytes.Index(rest, []byte("\r\n"))
		line, rest = rest[:i], rest[i+2:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validFieldName(line[:colon]) || !validFieldValue(line[colon+1:]) {
			return 0, false, false, nil
		}
		key, val := line[:colon], bytes.Trim(line[colon+1:], " \t")
		switch {
		case asciiEqualFold(key, "Content-Length"):
			if length >= 0 {
				return 0, false, false, nil
			}
			n, err := strconv.ParseInt(string(val), 10, 64)
			if err != nil || n < 0 || len(val) == 0 || val[0] < '0' || val[0] > '9' {
				return 0, false, false, nil
			}
			length = n
		case asciiEqualFold(key, "Connection"):
			for _, tok := range bytes.Split(val, []byte(",")) {
				tok = bytes.Trim(tok, " \t")
				switch {
				case asciiEqualFold(tok, "close"):
					upClose = true
				case len(tok) == 0 || asciiEqualFold(tok, "keep-alive"):
				default:
					return 0, false, false, nil // it names headers to drop: the general path does that
				}
			}
		case asciiEqualFold(key, "Transfer-Encoding"), asciiEqualFold(key, "Trailer"):
			return 0, false, false, nil
		case asciiEqualFold(key, "Date"):
			hasDate = true
		}
	}
	if length < 0 {
		return 0, false, false, nil
	}
	uc.limit = math.MaxInt64
	if p.opts.ProxyTimeout > 0 {
		_ = uc.c.SetReadDeadline(time.Time{})
	}
	// From here on the response is this path's.
	bw := cw.bw
	cw.status = status
	if r.ProtoAtLeast(1, 1) {
		bw.WriteString("HTTP/1.1 ")
	} else {
		bw.WriteString("HTTP/1.0 ")
	}
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(status), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(status))
	bw.WriteString("\r\n")
	for rest := lines; len(rest) > 0; {
		i := bytes.Index(rest, []byte("\r\n"))
		line := rest[:i+2]
		rest = rest[i+2:]
		if !isHopField(line[:bytes.IndexByte(line, ':')]) {
			bw.Write(line)
		}
	}
	if cw.close {
		bw.WriteString("Connection: close\r\n")
	}
	if !hasDate {
		bw.WriteString("Date: ")
		bw.Write(time.Now().UTC().AppendFormat(make([]byte, 0, 32), http.TimeFormat))
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	_, _ = uc.br.Discard(end + 4)
	for rem := length; rem > 0; {
		if uc.br.Buffered() == 0 {
			if _, err := uc.br.Peek(1); err != nil {
				return status, upClose, true, stageError{err: fmt.Errorf("read response body: %w", err)}
			}
		}
		chunk, _ := uc.br.Peek(int(min(int64(uc.br.Buffered()), rem)))
		if _, err := bw.Write(chunk); err != nil {
			cw.err = err
			return status, upClose, true, stageError{err: fmt.Errorf("write response: %w", err)}
		}
		_, _ = uc.br.Discard(len(chunk))
		rem -= int64(len(chunk))
	}
	cw.remain = 0
	return status, upClose, true, nil
}

// isHopField reports whether k names a hop-by-hop header (any case).
func isHopField(k []byte) bool {
	for _, h := range hopByHop {
		if asciiEqualFold(k, h) {
			return true
		}
	}
	return false
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if c == d {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// validFieldName reports whether b is an RFC 9110 token.
func validFieldName(b []byte) bool {
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return len(b) > 0
}

// validFieldValue rejects control bytes other than tab (CR, LF, NUL included).
func validFieldValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
