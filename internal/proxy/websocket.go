package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Websockets are relayed by the proxy itself rather than by httputil.ReverseProxy, which
// keeps a 32 KiB buffer per direction for the life of the connection (≈ 53 KB per idle
// websocket against CHP's ≈ 20 KB). Here an idle direction waits for readability holding
// no buffer; a pooled buffer is taken only while bytes move.

// isUpgrade reports whether r asks for a websocket upgrade. Other upgrades (h2c...) are
// forwarded as plain requests, their Upgrade header dropped as hop-by-hop.
func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Upgrade", "websocket") && headerHasToken(r.Header, "Connection", "upgrade")
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h[key] {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// serveUpgrade forwards a websocket upgrade request, and after the target agreed (101 with
// Upgrade: websocket) relays bytes both ways.
func (p *Proxy) serveUpgrade(w http.ResponseWriter, r *http.Request, route *Route) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL = &url.URL{}
	p.setOutURL(out, r, route)
	removeHopHeaders(out.Header)
	out.Header.Set("Connection", "Upgrade")
	out.Header.Set("Upgrade", "websocket")
	if !p.opts.NoXForward {
		for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Forwarded-Host"} {
			out.Header.Del(k)
		}
		p.setXForwarded(out.Header, r, true)
	}
	for k, v := range p.opts.Headers {
		out.Header[k] = v
	}
	back, err := p.dialTarget(r.Context(), out.URL)
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	// The target's answer is bounded in time and size, as any response head.
	_ = back.SetDeadline(time.Now().Add(p.opts.UpgradeTimeout))
	if err := out.Write(back); err != nil {
		back.Close()
		p.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("write upgrade request: %w", err))
		return
	}
	lr := &io.LimitedReader{R: back, N: p.opts.MaxResponseHeaderBytes}
	br := bufio.NewReaderSize(lr, 4096)
	resp, err := readFinal(br, out)
	if err == nil && resp.StatusCode == http.StatusSwitchingProtocols &&
		!(headerHasToken(resp.Header, "Upgrade", "websocket") && headerHasToken(resp.Header, "Connection", "upgrade")) {
		err = fmt.Errorf("101 to %q instead of websocket", resp.Header.Get("Upgrade"))
	}
	if err != nil {
		back.Close()
		code := http.StatusBadGateway
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			code = http.StatusServiceUnavailable
		} else if lr.N <= 0 {
			err = fmt.Errorf("upgrade answer: %w", errHeadTooLarge)
		}
		p.fail(w, r, code, fmt.Errorf("read upgrade response: %w", err))
		return
	}
	lr.N = math.MaxInt64
	_ = back.SetDeadline(time.Time{})
	if resp.StatusCode != http.StatusSwitchingProtocols {
		p.relayPlain(w, resp, route)
		back.Close()
		return
	}
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		back.Close()
		p.fail(w, r, http.StatusInternalServerError, fmt.Errorf("hijack: %w", err))
		return
	}
	_ = client.SetDeadline(time.Time{}) // the server's deadlines must not cut the websocket
	if err := p.finishHandshake(client, brw, back, br, resp); err != nil {
		p.log.Debug("websocket handshake relay", "route", route.Prefix, "err", err)
		client.Close()
		back.Close()
		return
	}
	if !p.track(client, back) {
		client.Close()
		back.Close()
		return
	}
	route.Touch()
	p.wsUpgrade.Add(1)
	p.wsOpen.Add(1)
	ws := &wsRelay{p: p, client: client, back: back, route: route, idle: p.opts.WebsocketIdleTimeout}
	ws.active.Store(time.Now().UnixNano())
	if ws.idle > 0 {
		deadline := time.Now().Add(ws.idle)
		_ = client.SetReadDeadline(deadline)
		_ = back.SetReadDeadline(deadline)
	}
	// Two fresh goroutines own the relay, so the server's goroutine (and its larger
	// stack) ends now.
	go ws.pipe(back, client)
	go ws.pipe(client, back)
}

// finishHandshake writes the 101 response to the client and forwards any bytes either side
// had already buffered past the handshake. Of the target's hop-by-hop headers only the
// agreed upgrade passes.
func (p *Proxy) finishHandshake(client net.Conn, brw *bufio.ReadWriter, back net.Conn, br *bufio.Reader,
	resp *http.Response) error {
	removeHopHeaders(resp.Header)
	var hdr strings.Builder
	fmt.Fprintf(&hdr, "HTTP/1.1 101 %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
		http.StatusText(http.StatusSwitchingProtocols))
	if err := resp.Header.Write(&hdr); err != nil {
		return err
	}
	hdr.WriteString("\r\n")
	if _, err := io.WriteString(client, hdr.String()); err != nil {
		return fmt.Errorf("write 101: %w", err)
	}
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		if _, err := client.Write(b); err != nil {
			return fmt.Errorf("forward buffered backend bytes: %w", err)
		}
	}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		if _, err := back.Write(b); err != nil {
			return fmt.Errorf("forward buffered client bytes: %w", err)
		}
	}
	return nil
}

// relayPlain answers an upgrade the target refused with the target's ordinary response.
func (p *Proxy) relayPlain(w http.ResponseWriter, resp *http.Response, route *Route) {
	defer resp.Body.Close()
	writeHead(w, resp)
	_, _ = io.Copy(w, resp.Body)
	if resp.StatusCode < 300 {
		route.Touch()
	}
}

// dialTarget opens a connection to the target of u (TLS for https).
func (p *Proxy) dialTarget(ctx context.Context, u *url.URL) (net.Conn, error) {
	host := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			host = net.JoinHostPort(u.Hostname(), "443")
		} else {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	c, err := p.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", host, err)
	}
	if u.Scheme != "https" {
		return c, nil
	}
	cfg := p.transport.TLSClientConfig.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.ServerName = u.Hostname()
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", host, err)
	}
	return tc, nil
}

// wsRelay is one relayed websocket: the two connections and the time of the last byte
// moved either way, which keeps both directions open (WebsocketIdleTimeout).
type wsRelay struct {
	p            *Proxy
	client, back net.Conn
	route        *Route
	idle         time.Duration
	active       atomic.Int64 // unix nanoseconds of the last transfer
	once         sync.Once
}

// done closes both connections once.
func (ws *wsRelay) done() {
	ws.once.Do(func() {
		ws.client.Close()
		ws.back.Close()
		ws.p.untrack(ws.client, ws.back)
		ws.p.wsOpen.Add(-1)
	})
}

// pipe copies src to dst until either side fails or the websocket was idle for ws.idle,
// then closes both. While src is idle it holds no buffer. The read deadline is not moved
// per message: when it fires, the deadline is set again from the last transfer in either
// direction, and only a websocket idle both ways is closed.
func (ws *wsRelay) pipe(dst, src net.Conn) {
	defer ws.done()
	for {
		bp, n, err := readPooled(src, &wsBufs)
		if n > 0 {
			_, werr := dst.Write((*bp)[:n])
			wsBufs.Put(bp)
			ws.p.wsBytes.Add(int64(n))
			now := time.Now()
			ws.active.Store(now.UnixNano())
			ws.route.touchAt(now)
			if werr != nil {
				return
			}
		}
		if err != nil {
			if ws.idle > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				if next := time.Unix(0, ws.active.Load()).Add(ws.idle); time.Until(next) > 0 {
					_ = src.SetReadDeadline(next)
					continue
				}
				ws.p.log.Debug("websocket idle: closed", "route", ws.route.Prefix, "idle", ws.idle)
				return
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				ws.p.log.Debug("websocket relay", "route", ws.route.Prefix, "err", err)
			}
			return
		}
	}
}

// readPlain is a Read into a pooled buffer (returned to the pool when nothing was read).
func readPlain(c net.Conn, pool *sync.Pool) (*[]byte, int, error) {
	bp := pool.Get().(*[]byte)
	n, err := c.Read(*bp)
	if n == 0 {
		pool.Put(bp)
		return nil, 0, err
	}
	return bp, n, err
}

var wsBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// track registers hijacked connections so Close can end them; false once closed.
func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.hijacked[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.hijacked, c)
	}
}
