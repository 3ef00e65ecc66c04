package config

import (
	"errors"
	"net/http"
	"time"

	"gohub/internal/proxy"
)

// BuiltinProxyClass is the section name of the built-in proxy's public listener.
const BuiltinProxyClass = "BuiltinProxy"

// BuiltinProxy holds the limits of the public listener when the built-in proxy serves it
// (JupyterHub.proxy_class: builtin): the hub's pages and API and every user's server are
// reached through it. A gohub section; upstream's proxy is configurable-http-proxy. Times are
// seconds. BuiltinProxy implements Validator.
type BuiltinProxy struct {
	KeepAliveTimeout float64 `yaml:"keep_alive_timeout" help:"Seconds a client connection may wait for its first or next request before it is closed."`
	HeaderTimeout    float64 `yaml:"header_timeout" help:"Seconds a client has, from the first byte of a request, to send all its headers."`
	BodyTimeout      float64 `yaml:"body_timeout" help:"Seconds a client may pause while sending a request body before it is cut off; an upload that keeps coming may take longer in all."`
	WriteTimeout     float64 `yaml:"write_timeout" help:"Seconds a client may leave a response unread before it is cut off; a download or event stream that is read may take longer in all."`
	MaxConnections   int     `yaml:"max_connections" help:"Most client connections served at once (websockets not counted); beyond it a new connection replaces an idle keep-alive one, or is answered 503 when none is idle."`

	// The target side: what the proxy accepts from users' servers.
	MaxResponseHeaderBytes int64   `yaml:"max_response_header_bytes" help:"Largest response head (status line and headers, 1xx answers before it included) a user's server may send; a larger one is answered 502 and the connection to the server closed."`
	UpgradeTimeout         float64 `yaml:"upgrade_timeout" help:"Seconds a user's server has to answer a websocket upgrade before the client gets 503."`
	WebsocketIdleTimeout   float64 `yaml:"websocket_idle_timeout" help:"Seconds a websocket may carry no byte in either direction before it is closed (pings count, so a Jupyter kernel connection stays open); 0 keeps idle websockets open for ever."`
	ResponseTimeout        float64 `yaml:"response_timeout" help:"Seconds a user's server has to start its answer (the response head) to a plain request before the client gets 503; 0 waits for ever, as configurable-http-proxy does without --proxy-timeout."`
}

// DefaultBuiltinProxy returns proxy.Server's defaults.
func DefaultBuiltinProxy() *BuiltinProxy {
	return &BuiltinProxy{
		KeepAliveTimeout: proxy.DefaultIdleTimeout.Seconds(),
		HeaderTimeout:    proxy.DefaultHeaderTimeout.Seconds(),
		BodyTimeout:      proxy.DefaultBodyTimeout.Seconds(),
		WriteTimeout:     proxy.DefaultWriteTimeout.Seconds(),
		MaxConnections:   proxy.DefaultMaxConns,

		MaxResponseHeaderBytes: proxy.DefaultMaxResponseHeaderBytes,
		UpgradeTimeout:         proxy.DefaultUpgradeTimeout.Seconds(),
		WebsocketIdleTimeout:   proxy.DefaultWebsocketIdleTimeout.Seconds(),
	}
}

// Validate refuses limits that are not positive: a zero would mean no limit at all.
func (c *BuiltinProxy) Validate() error {
	var errs []error
	for _, t := range []struct {
		key string
		v   float64
	}{{"keep_alive_timeout", c.KeepAliveTimeout}, {"header_timeout", c.HeaderTimeout},
		{"body_timeout", c.BodyTimeout}, {"write_timeout", c.WriteTimeout}} {
		if t.v <= 0 {
			errs = append(errs, Invalid(t.key, "must be more than 0 seconds"))
		}
	}
	if c.MaxConnections < 1 {
		errs = append(errs, Invalid("max_connections", "must be at least 1"))
	}
	if c.MaxResponseHeaderBytes < 1024 {
		errs = append(errs, Invalid("max_response_header_bytes", "must be at least 1024"))
	}
	if c.UpgradeTimeout <= 0 {
		errs = append(errs, Invalid("upgrade_timeout", "must be more than 0 seconds"))
	}
	for _, t := range []struct {
		key string
		v   float64
	}{{"websocket_idle_timeout", c.WebsocketIdleTimeout}, {"response_timeout", c.ResponseTimeout}} {
		if t.v < 0 {
			errs = append(errs, Invalid(t.key, "must be 0 (no limit) or more seconds"))
		}
	}
	return errors.Join(errs...)
}

// Apply sets the target-side limits on the built-in proxy's options.
func (c *BuiltinProxy) Apply(o *proxy.Options) {
	o.MaxResponseHeaderBytes = c.MaxResponseHeaderBytes
	o.UpgradeTimeout = seconds(c.UpgradeTimeout)
	o.WebsocketIdleTimeout = seconds(c.WebsocketIdleTimeout)
	if c.WebsocketIdleTimeout == 0 {
		o.WebsocketIdleTimeout = -1 // never
	}
	o.ProxyTimeout = seconds(c.ResponseTimeout)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Server returns the public listener's server for h with these limits.
func (c *BuiltinProxy) Server(h http.Handler) *proxy.Server {
	return &proxy.Server{Handler: h, IdleTimeout: seconds(c.KeepAliveTimeout), HeaderTimeout: seconds(c.HeaderTimeout),
		BodyTimeout: seconds(c.BodyTimeout), WriteTimeout: seconds(c.WriteTimeout), MaxConns: c.MaxConnections}
}
