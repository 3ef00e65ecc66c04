package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Websockets are relayed by the proxy itself rather than by httputil.ReverseProxy, which
// keeps a 32 KiB buffer per direction for the life of the connection (≈ 53 KB per idle
// websocket against CHP's ≈ 20 KB). Here an idle direction waits for readability holding
// no buffer; a pooled buffer is taken only while bytes move.

// isUpgrade reports whether r asks for a protocol upgrade (websocket).
func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && headerHasToken(r.Header, "Connection", "upgrade")
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

// hopHeaders are removed from the forwarded upgrade request (Connection/Upgrade are re-set).
var hopHeaders = []string{"Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Te", "Trailer",
	"Transfer-Encoding"}

// serveUpgrade forwards an upgrade request, and after a 101 relays bytes both ways.
func (p *Proxy) serveUpgrade(w http.ResponseWriter, r *http.Request, route *Route) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL = &url.URL{}
	p.setOutURL(out, r, route)
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.Header.Set("Connection", "Upgrade")
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
	if err := out.Write(back); err != nil {
		back.Close()
		p.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("write upgrade request: %w", err))
		return
	}
	br := bufio.NewReaderSize(back, 4096)
	resp, err := http.ReadResponse(br, out)
	if err != nil {
		back.Close()
		p.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("read upgrade response: %w", err))
		return
	}
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
	// Two fresh goroutines own the relay, so the server's goroutine (and its larger
	// stack) ends now.
	var once sync.Once
	done := func() {
		once.Do(func() {
			client.Close()
			back.Close()
			p.untrack(client, back)
			p.wsOpen.Add(-1)
		})
	}
	go p.pipe(back, client, route, done)
	go p.pipe(client, back, route, done)
}

// finishHandshake writes the 101 response to the client and forwards any bytes either side
// had already buffered past the handshake.
func (p *Proxy) finishHandshake(client net.Conn, brw *bufio.ReadWriter, back net.Conn, br *bufio.Reader,
	resp *http.Response) error {
	var hdr strings.Builder
	fmt.Fprintf(&hdr, "HTTP/1.1 101 %s\r\n", http.StatusText(http.StatusSwitchingProtocols))
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
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
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

// pipe copies src to dst until either side fails, then calls done (which closes both).
// While src is idle it holds no buffer.
func (p *Proxy) pipe(dst, src net.Conn, route *Route, done func()) {
	defer done()
	for {
		bp, n, err := readPooled(src, &wsBufs)
		if n > 0 {
			_, werr := dst.Write((*bp)[:n])
			wsBufs.Put(bp)
			p.wsBytes.Add(int64(n))
			route.Touch()
			if werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				p.log.Debug("websocket relay", "route", route.Prefix, "err", err)
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
