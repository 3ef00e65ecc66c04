package config

import (
	"strings"
	"testing"
	"time"

	"gohub/internal/proxy"
)

// TestBuiltinProxyLimits: the section's defaults are proxy.Server's, values reach the server,
// and a limit of 0 (which would mean none) is refused at its line.
func TestBuiltinProxyLimits(t *testing.T) {
	schema := NewSchema(Class{Name: BuiltinProxyClass, New: func() any { return DefaultBuiltinProxy() }})
	decode := func(text string) (*BuiltinProxy, error) {
		c := DefaultBuiltinProxy()
		return c, mustParse(t, text).Decode(schema, BuiltinProxyClass, c)
	}
	c, err := decode("BuiltinProxy:\n  body_timeout: 0.25\n  max_connections: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Server(nil)
	if s.BodyTimeout != 250*time.Millisecond || s.MaxConns != 1 || s.IdleTimeout != proxy.DefaultIdleTimeout ||
		s.HeaderTimeout != proxy.DefaultHeaderTimeout || s.WriteTimeout != proxy.DefaultWriteTimeout {
		t.Errorf("server limits: %+v", s)
	}
	_, err = decode("BuiltinProxy:\n  write_timeout: 0\n  max_connections: 0\n")
	for _, want := range []string{"t.yaml:2", "write_timeout: must be more than 0", "t.yaml:3", "max_connections: must be at least 1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("zero limits: %v, want %q", err, want)
		}
	}
}

// The target-side limits reach the proxy's options; their boundaries are checked.
func TestBuiltinProxyTargetLimits(t *testing.T) {
	schema := NewSchema(Class{Name: BuiltinProxyClass, New: func() any { return DefaultBuiltinProxy() }})
	decode := func(text string) (*BuiltinProxy, error) {
		c := DefaultBuiltinProxy()
		return c, mustParse(t, text).Decode(schema, BuiltinProxyClass, c)
	}
	var o proxy.Options
	DefaultBuiltinProxy().Apply(&o)
	if o.MaxResponseHeaderBytes != proxy.DefaultMaxResponseHeaderBytes || o.UpgradeTimeout != proxy.DefaultUpgradeTimeout ||
		o.WebsocketIdleTimeout != proxy.DefaultWebsocketIdleTimeout || o.ProxyTimeout != 0 {
		t.Errorf("defaults: %+v", o)
	}
	c, err := decode("BuiltinProxy:\n  max_response_header_bytes: 1024\n  upgrade_timeout: 0.5\n" +
		"  websocket_idle_timeout: 0\n  response_timeout: 120\n")
	if err != nil {
		t.Fatal(err)
	}
	o = proxy.Options{}
	c.Apply(&o)
	if o.MaxResponseHeaderBytes != 1024 || o.UpgradeTimeout != 500*time.Millisecond || o.WebsocketIdleTimeout >= 0 ||
		o.ProxyTimeout != 2*time.Minute {
		t.Errorf("set: %+v", o)
	}
	_, err = decode("BuiltinProxy:\n  max_response_header_bytes: 1023\n  upgrade_timeout: 0\n" +
		"  websocket_idle_timeout: -1\n  response_timeout: -0.5\n")
	for _, want := range []string{"max_response_header_bytes: must be at least 1024", "upgrade_timeout: must be more than 0",
		"websocket_idle_timeout: must be 0 (no limit) or more", "response_timeout: must be 0 (no limit) or more"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("limits below the boundary: %v, want %q", err, want)
		}
	}
}
