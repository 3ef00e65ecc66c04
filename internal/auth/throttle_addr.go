package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
)

// proxies is the trusted_proxies setting: the addresses whose X-Forwarded-For the throttle
// believes.
//
// How the hub sees a client: both the built-in proxy and configurable-http-proxy forward hub
// traffic over a new TCP connection to the hub's listener (hub_ip, 127.0.0.1 by default), so the
// request's peer address is the proxy's, and each appends the address of its own peer to
// X-Forwarded-For. With the default trusted_proxies (loopback) a proxy on the same host is
// believed; a proxy elsewhere (hub_ip 0.0.0.0 in a container, CHP in another pod, a load
// balancer in front) must be listed, or every client looks like the proxy and shares one
// address counter. X-Real-Ip is never read: neither proxy sets it, so it would only be the
// client's word.
type proxies struct {
	nets   []netip.Prefix
	warned atomic.Bool // the untrusted X-Forwarded-For warning was logged
}

func newProxies(list []string) (*proxies, error) {
	p := &proxies{}
	for _, s := range list {
		s = strings.TrimSpace(s)
		if pfx, err := netip.ParsePrefix(s); err == nil {
			p.nets = append(p.nets, pfx.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %q is neither an IP address nor a CIDR network", s)
		}
		a = a.Unmap()
		p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
	}
	return p, nil
}

func (p *proxies) trusted(a netip.Addr) bool {
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddress returns the throttle's address key for r: the client's IP, as text, or its /64
// network for IPv6 (one host usually holds a whole /64, so single IPv6 addresses would be free
// for the taking). The client is the connection's peer, unless the peer is a trusted proxy: then
// X-Forwarded-For is read from the right, skipping trusted proxies, and the first address not
// trusted is the client (entries further left were written by the client itself and prove
// nothing). untrusted reports an X-Forwarded-For from a peer not trusted, which the caller logs
// once. Without a request the key is unknownAddr.
func (p *proxies) clientAddress(r *http.Request) (key string, untrusted bool) {
	if r == nil {
		return unknownAddr, false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return unknownAddr, false
	}
	a = a.Unmap().WithZone("")
	xff := r.Header.Values("X-Forwarded-For")
	if p.trusted(a) {
		hops := strings.Split(strings.Join(xff, ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			h, err := parseHop(strings.TrimSpace(hops[i]))
			if err != nil {
				break // not written by a proxy: the last good hop is the client
			}
			a = h.Unmap().WithZone("")
			if !p.trusted(a) {
				break
			}
		}
	} else if len(xff) > 0 {
		untrusted = true
	}
	return addrKey(a), untrusted
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

// addrKey is an IPv4 address, or an IPv6 address's /64.
func addrKey(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
