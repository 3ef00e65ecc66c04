package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Proxy. The zero value behaves as configurable-http-proxy's defaults:
// X-Forwarded-* headers added, routing prefix and target path kept, Host preserved.
type Options struct {
	// HostRouting makes the request host the first segment of the routing key.
	HostRouting bool
	// NoXForward disables the X-Forwarded-For/-Proto/-Host/-Port headers.
	NoXForward bool
	// NoIncludePrefix strips the matched route prefix from the forwarded path.
	NoIncludePrefix bool
	// NoPrependPath ignores the target's own path.
	NoPrependPath bool
	// ErrorTarget, when set, is asked GET {ErrorTarget}/{code}?url=<path> for error pages.
	ErrorTarget string
	// ErrorHandler, when set, renders 404/503 errors itself (the in-process hub's pages);
	// it takes precedence over ErrorTarget.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, status int)
	// Headers are set on every proxied request (CHP --custom-header).
	Headers http.Header
	// ProxyTimeout bounds the wait for a target's response headers (0: none).
	ProxyTimeout time.Duration
	// InsecureTLS skips certificate verification of https targets.
	InsecureTLS bool
	// Transport replaces the tuned default transport used for https targets, error-target
	// requests and StdlibForwarding (e.g. to set TLS client certificates).
	Transport *http.Transport
	// StdlibForwarding sends every request through httputil.ReverseProxy and http.Transport
	// instead of the proxy's own keep-alive forwarder (which only ever serves http:// targets).
	StdlibForwarding bool
	// Logger receives error logs; nil means slog.Default().
	Logger *slog.Logger
	// MaxResponseHeaderBytes bounds a target's response head: status line and headers, the
	// heads of 1xx answers before it included (default 1 MiB; a larger head is a 502).
	MaxResponseHeaderBytes int64
	// UpgradeTimeout bounds the wait for a target's answer to a websocket upgrade
	// (default 30 s; then 503).
	UpgradeTimeout time.Duration
	// WebsocketIdleTimeout closes a websocket after this long without a byte in either
	// direction (default 1 h; negative: never). Any frame counts, pings included, so a
	// kernel connection that a Jupyter server pings stays open however long it is idle.
	WebsocketIdleTimeout time.Duration
}

// Defaults of the Options limits.
const (
	DefaultMaxResponseHeaderBytes = 1 << 20
	DefaultUpgradeTimeout         = 30 * time.Second
	DefaultWebsocketIdleTimeout   = time.Hour
)

// Proxy is the reverse proxy: an http.Handler that forwards each request, websockets
// included, to the target of the longest matching route in its RouteTable.
type Proxy struct {
	table     *RouteTable
	opts      Options
	log       *slog.Logger
	transport *http.Transport
	rp        *httputil.ReverseProxy
	dialer    *net.Dialer
	errClient *http.Client
	errorBase string // ErrorTarget with a trailing '/'
	pool      *upstreamPool

	mu        sync.Mutex
	hijacked  map[net.Conn]struct{}
	closed    bool
	wsOpen    atomic.Int64
	wsBytes   atomic.Int64
	wsUpgrade atomic.Int64
}

// NewTransport returns the transport the proxy uses by default: many idle connections per
// target, no compression, no environment proxy, HTTP/1.1 only.
func NewTransport(insecure bool) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // --insecure, as CHP
	}
}

// New returns a proxy that routes through table.
func New(table *RouteTable, opts Options) *Proxy {
	p := &Proxy{
		table:    table,
		opts:     opts,
		log:      opts.Logger,
		dialer:   &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		hijacked: map[net.Conn]struct{}{},
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.opts.MaxResponseHeaderBytes <= 0 {
		p.opts.MaxResponseHeaderBytes = DefaultMaxResponseHeaderBytes
	}
	if p.opts.UpgradeTimeout <= 0 {
		p.opts.UpgradeTimeout = DefaultUpgradeTimeout
	}
	if p.opts.WebsocketIdleTimeout == 0 {
		p.opts.WebsocketIdleTimeout = DefaultWebsocketIdleTimeout
	}
	p.pool = &upstreamPool{idle: map[string][]*upConn{}, maxIdle: 1024, idleFor: 90 * time.Second, dialer: p.dialer}
	p.transport = opts.Transport
	if p.transport == nil {
		p.transport = NewTransport(opts.InsecureTLS)
	}
	if opts.ProxyTimeout > 0 {
		p.transport.ResponseHeaderTimeout = opts.ProxyTimeout
	}
	p.transport.MaxResponseHeaderBytes = p.opts.MaxResponseHeaderBytes
	if opts.ErrorTarget != "" {
		p.errorBase = strings.TrimSuffix(opts.ErrorTarget, "/") + "/"
		p.errClient = &http.Client{Transport: p.transport, Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      p.transport,
		BufferPool:     bufferPool{},
		ErrorHandler:   p.proxyError,
		ModifyResponse: p.modifyResponse,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	return p
}

// Table returns the proxy's route table.
func (p *Proxy) Table() *RouteTable { return p.table }

// reqState travels with one proxied request from ServeHTTP to the ReverseProxy hooks.
type reqState struct {
	route  *Route
	status int
}

type stateKey struct{}

// ServeHTTP routes r: /_chp_healthz, then the longest matching route, else 404.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.RequestURI == "/_chp_healthz" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status": "OK"}`)
		return
	}
	path := p.routingPath(r)
	if hasDotSegment(path) {
		writeDefaultError(w, http.StatusBadRequest) // no route owns it (RouteTable.Match)
		return
	}
	route := p.table.Match(path)
	if route == nil {
		p.fail(w, r, http.StatusNotFound, nil)
		return
	}
	if isUpgrade(r) {
		p.serveUpgrade(w, r, route)
		return
	}
	if r.ContentLength != 0 {
		route.Touch() // request data flows
	}
	if !p.opts.StdlibForwarding && (route.Target.Scheme == "http" || route.Target.Scheme == "ws") {
		p.forward(w, r, route)
		return
	}
	st := &reqState{route: route}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	if st.status > 0 && st.status < 300 {
		route.Touch()
	}
}

// routingPath is the decoded path used for matching, with the host first under host routing.
func (p *Proxy) routingPath(r *http.Request) string {
	if !p.opts.HostRouting {
		return r.URL.Path
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return "/" + host + r.URL.Path
}

// rewrite sets the outbound URL as CHP does: target origin, target path prepended, the
// original (escaped) path kept, query kept, Host header left as the client sent it.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	st := pr.In.Context().Value(stateKey{}).(*reqState)
	p.setOutURL(pr.Out, pr.In, st.route)
	if _, ok := pr.Out.Header["Upgrade"]; ok {
		// Websockets never get here (serveUpgrade); any other upgrade (h2c...) is sent as a
		// plain request, and ReverseProxy then refuses a 101 nobody asked for.
		delete(pr.Out.Header, "Upgrade")
		delete(pr.Out.Header, "Connection")
	}
	if !p.opts.NoXForward {
		p.setXForwarded(pr.Out.Header, pr.In, false)
	}
	for k, v := range p.opts.Headers {
		pr.Out.Header[k] = v
	}
}

func (p *Proxy) setOutURL(out, in *http.Request, route *Route) {
	t := route.Target
	u := out.URL
	switch t.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		u.Scheme = t.Scheme
	}
	u.Host = t.Host
	path := p.outPath(in, route)
	u.RawPath = path
	u.Path = path
	if unesc, err := unescapePath(path); err == nil {
		u.Path = unesc
	}
	if u.Path == u.RawPath {
		u.RawPath = ""
	}
	u.RawQuery = in.URL.RawQuery
	out.Host = in.Host
}

// outPath is the escaped path to forward: the client's, less the route prefix with
// NoIncludePrefix, after the target's own path unless NoPrependPath.
func (p *Proxy) outPath(in *http.Request, route *Route) string {
	path := in.URL.EscapedPath()
	if p.opts.NoIncludePrefix {
		n := len(segments(route.Prefix))
		if p.opts.HostRouting && n > 0 {
			n-- // the host segment is not part of the request path
		}
		path = stripSegments(path, n)
	}
	if !p.opts.NoPrependPath {
		if tp := strings.TrimSuffix(route.Target.EscapedPath(), "/"); tp != "" {
			path = tp + path
		}
	}
	return path
}

// setXForwarded appends to X-Forwarded-For/-Port/-Proto and sets X-Forwarded-Host when
// absent, as CHP (http-proxy's xfwd) does.
func (p *Proxy) setXForwarded(h http.Header, in *http.Request, ws bool) {
	ip, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		ip = in.RemoteAddr
	}
	proto := "http"
	if ws {
		proto = "ws"
	}
	port := "80"
	if in.TLS != nil {
		proto += "s"
		port = "443"
	}
	if _, pt, err := net.SplitHostPort(in.Host); err == nil {
		port = pt
	}
	appendHeader(h, in.Header, "X-Forwarded-For", ip)
	appendHeader(h, in.Header, "X-Forwarded-Port", port)
	appendHeader(h, in.Header, "X-Forwarded-Proto", proto)
	if v := in.Header.Get("X-Forwarded-Host"); v != "" {
		h["X-Forwarded-Host"] = []string{v}
	} else {
		h["X-Forwarded-Host"] = []string{in.Host}
	}
}

func appendHeader(out, in http.Header, key, v string) {
	if old := in.Get(key); old != "" {
		v = old + "," + v
	}
	out[key] = []string{v}
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	st, _ := resp.Request.Context().Value(stateKey{}).(*reqState)
	if st == nil {
		return nil
	}
	st.status = resp.StatusCode
	if err := checkFields(resp.Header); err != nil {
		return err // as the own forwarder: no field ReadResponse lets through but others misread
	}
	if resp.ContentLength < 0 && resp.Body != nil && resp.Body != http.NoBody {
		// Chunked bodies may end in trailers: only those the head declared pass.
		resp.Body = &declaredTrailers{ReadCloser: resp.Body, resp: resp, declared: slices.Collect(maps.Keys(resp.Trailer))}
	}
	if resp.StatusCode < 300 {
		st.route.Touch()
		if resp.ContentLength < 0 && resp.Body != nil {
			// Streams (event-stream, long polls) count as activity while data flows.
			resp.Body = &touchReader{ReadCloser: resp.Body, route: st.route}
		}
	}
	return nil
}

// proxyError handles a failed round trip: 503, unless the client went away.
func (p *Proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client hung up; nobody reads the answer
	}
	p.fail(w, r, http.StatusServiceUnavailable, err)
}

// declaredTrailers drops, once the body is read, the trailers the head did not declare or
// that are invalid, before ReverseProxy relays them.
type declaredTrailers struct {
	io.ReadCloser
	resp     *http.Response
	declared []string
}

func (d *declaredTrailers) Read(b []byte) (int, error) {
	n, err := d.ReadCloser.Read(b)
	if err == io.EOF {
		for k, vs := range d.resp.Trailer {
			if !slices.Contains(d.declared, k) || checkFields(http.Header{k: vs}) != nil {
				delete(d.resp.Trailer, k)
			}
		}
	}
	return n, err
}

// touchReader records route activity whenever response data flows.
type touchReader struct {
	io.ReadCloser
	route *Route
}

func (t *touchReader) Read(b []byte) (int, error) {
	n, err := t.ReadCloser.Read(b)
	if n > 0 {
		t.route.Touch()
	}
	return n, err
}

// bufferPool is the ReverseProxy's copy-buffer pool.
type bufferPool struct{}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *(copyBufs.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { copyBufs.Put(&b) }

// Close closes every hijacked (websocket) connection and the transport's idle connections.
// http.Server.Shutdown does not see hijacked connections, so call both.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := p.hijacked
	p.hijacked = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
	p.transport.CloseIdleConnections()
	p.pool.close()
	return nil
}

// Stats are counters of the proxy's websocket traffic.
type Stats struct {
	WebsocketsOpen  int64 // websockets currently open
	WebsocketsTotal int64 // upgrades completed since start
	WebsocketBytes  int64 // bytes relayed over websockets in both directions
}

// Stats returns the current counters.
func (p *Proxy) Stats() Stats {
	return Stats{WebsocketsOpen: p.wsOpen.Load(), WebsocketsTotal: p.wsUpgrade.Load(),
		WebsocketBytes: p.wsBytes.Load()}
}
