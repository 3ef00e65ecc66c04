package auth

import (
	"net/http"
	"net/netip"
	"sync/atomic"

	"gohub/internal/forwarded"
)

// proxies is the trusted_proxies setting as the throttle uses it: who the client of a login is
// comes from forwarded.Trust (the hub's own proxy and the listed networks only; every user's
// server connects from loopback too, so loopback is not trusted by default).
type proxies struct {
	trust  *forwarded.Trust
	warned atomic.Bool // the untrusted X-Forwarded-For warning was logged
}

func newProxies(list []string) (*proxies, error) {
	t, err := forwarded.New(list)
	if err != nil {
		return nil, err
	}
	return &proxies{trust: t}, nil
}

// clientAddress returns the throttle's address key for r: the client's IP (forwarded.Trust),
// as text, or its /64 network for IPv6 (one host usually holds a whole /64, so single IPv6
// addresses would be free for the taking). untrusted reports an X-Forwarded-For from a peer
// not trusted, which the caller logs once. Without a request the key is unknownAddr.
func (p *proxies) clientAddress(r *http.Request) (key string, untrusted bool) {
	if r == nil {
		return unknownAddr, false
	}
	c := p.trust.Client(r)
	if !c.Addr.IsValid() {
		return unknownAddr, false
	}
	return addrKey(c.Addr), c.Ignored
}

// addrKey is an IPv4 address, or an IPv6 address's /64.
func addrKey(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
