// Package forwarded decides who the client of a request to the hub is: its address and whether
// it reached the hub over https. Forwarding headers (X-Forwarded-For, X-Forwarded-Proto) are
// believed only from the hub's own proxy and from the networks listed in trusted_proxies; the
// login throttle, the anonymous _xsrf token and the cookies' Secure flag all ask here.
//
// Why the peer's address alone is not enough: every user's server, and every local user, can
// open a connection to the hub from loopback, so "the peer is on loopback" does not mean "the
// peer is the proxy". The hub's own proxy is recognised otherwise:
//
//   - The built-in proxy serves the hub's pages in-process: a request reaches the hub's handler
//     with the connection of the client itself, so the peer address is the client's and no
//     header needs believing.
//   - configurable-http-proxy sends hub traffic to a path prefix holding a secret of the hub
//     process (the hub route's target); the hub strips it and marks the request with WithProxy.
//     A header would not do: CHP adds its custom headers to the requests it sends to users'
//     servers too, which would hand the secret to every server.
//
// Upstream JupyterHub believes X-Forwarded-For, X-Real-Ip and X-Scheme from anyone (tornado's
// xheaders); gohub deliberately does not.
package forwarded

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Trust is the trusted_proxies setting. A nil *Trust trusts no network (the hub's own proxy
// still counts, see WithProxy). It is immutable and safe for concurrent use.
type Trust struct {
	nets []netip.Prefix
}

// New parses trusted_proxies: IP addresses and CIDR networks.
func New(list []string) (*Trust, error) {
	t := &Trust{}
	for _, s := range list {
		s = strings.TrimSpace(s)
		if pfx, err := netip.ParsePrefix(s); err == nil {
			t.nets = append(t.nets, pfx.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %q is neither an IP address nor a CIDR network", s)
		}
		a = a.Unmap()
		t.nets = append(t.nets, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

func (t *Trust) trusted(a netip.Addr) bool {
	if t == nil {
		return false
	}
	for _, n := range t.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// TrustsLoopback reports whether a loopback address is trusted: then every local process,
// users' servers included, can name any client address (worth a warning at startup).
func (t *Trust) TrustsLoopback() bool {
	return t.trusted(netip.MustParseAddr("127.0.0.1")) || t.trusted(netip.IPv6Loopback())
}

// proxyKey marks a request that came from the hub's own proxy.
type proxyKey struct{}

// WithProxy marks ctx as the context of a request whose peer is the hub's own proxy (a
// configurable-http-proxy that proved it knows the hub's proxy secret): its forwarding headers
// are believed whatever its address.
func WithProxy(ctx context.Context) context.Context {
	return context.WithValue(ctx, proxyKey{}, true)
}

func viaProxy(ctx context.Context) bool {
	v, _ := ctx.Value(proxyKey{}).(bool)
	return v
}

// Client is who sent a request, as far as the hub can tell.
type Client struct {
	// Addr is the client's address; invalid when the peer's address cannot be read (a request
	// built without a connection).
	Addr netip.Addr
	// HTTPS reports that the client's connection was TLS: the hub's own, or a trusted proxy's
	// (its X-Forwarded-Proto).
	HTTPS bool
	// Ignored reports X-Forwarded-For from a peer that is not trusted (worth a warning: a
	// proxy that is missing from trusted_proxies makes every client look like the proxy).
	Ignored bool
}

// Client returns the client of r. The peer is the client, unless it is trusted (the hub's own
// proxy, or in trusted_proxies): then X-Forwarded-For is read from the right, one entry per
// trusted proxy, and the first address that is not a trusted proxy is the client (entries
// further left were written by the client and prove nothing). X-Forwarded-Proto is read the
// same way: the entry of the outermost trusted proxy says how the client connected.
// X-Real-Ip and X-Scheme are never read: neither proxy of the hub sets them.
func (t *Trust) Client(r *http.Request) Client {
	c := Client{HTTPS: r.TLS != nil}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return c
	}
	c.Addr = a.Unmap().WithZone("")
	xff := r.Header.Values("X-Forwarded-For")
	if !viaProxy(r.Context()) && !t.trusted(c.Addr) {
		c.Ignored = len(xff) > 0
		return c
	}
	hops := splitList(xff)
	proxies := 0 // trusted proxies passed, each of which wrote one entry
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := parseHop(hops[i])
		if err != nil {
			break // not written by a proxy: the last good hop is the client
		}
		proxies++
		c.Addr = h.Unmap().WithZone("")
		if !t.trusted(c.Addr) {
			break
		}
	}
	if protos := splitList(r.Header.Values("X-Forwarded-Proto")); len(protos) > 0 {
		// The peer wrote the last entry even when it forwarded no address. A proxy that sets
		// the header instead of appending leaves fewer entries than proxies: then the first
		// entry is the outermost proxy's.
		c.HTTPS = strings.EqualFold(protos[max(len(protos)-max(proxies, 1), 0)], "https")
	}
	return c
}

// splitList splits the comma-separated values of a header, trimmed.
func splitList(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	parts := strings.Split(strings.Join(values, ","), ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// parseHop parses one X-Forwarded-For entry: an address, or (as some load balancers write it)
// an address with a port, "192.0.2.1:443" or "[2001:db8::1]:443".
func parseHop(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err == nil {
		return a, nil
	}
	if ap, err2 := netip.ParseAddrPort(s); err2 == nil {
		return ap.Addr(), nil
	}
	return a, err
}
