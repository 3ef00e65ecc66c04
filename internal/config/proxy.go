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
}

// DefaultBuiltinProxy returns proxy.Server's defaults.
func DefaultBuiltinProxy() *BuiltinProxy {
	return &BuiltinProxy{
		KeepAliveTimeout: proxy.DefaultIdleTimeout.Seconds(),
		HeaderTimeout:    proxy.DefaultHeaderTimeout.Seconds(),
		BodyTimeout:      proxy.DefaultBodyTimeout.Seconds(),
		WriteTimeout:     proxy.DefaultWriteTimeout.Seconds(),
		MaxConnections:   proxy.DefaultMaxConns,
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
	return errors.Join(errs...)
}

// Server returns the public listener's server for h with these limits.
func (c *BuiltinProxy) Server(h http.Handler) *proxy.Server {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	return &proxy.Server{Handler: h, IdleTimeout: sec(c.KeepAliveTimeout), HeaderTimeout: sec(c.HeaderTimeout),
		BodyTimeout: sec(c.BodyTimeout), WriteTimeout: sec(c.WriteTimeout), MaxConns: c.MaxConnections}
}
