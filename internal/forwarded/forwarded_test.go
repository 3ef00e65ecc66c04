package forwarded

import (
	"crypto/tls"
	"net"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestClient(t *testing.T) {
	lo := []string{"127.0.0.0/8", "::1"}
	tests := []struct {
		name    string
		trusted []string
		proxy   bool // marked WithProxy
		tls     bool
		remote  string
		xff     []string
		xfp     []string
		want    string
		https   bool
		ignored bool
	}{
		{name: "peer", remote: "192.0.2.7:5555", want: "192.0.2.7"},
		{name: "TLS peer", remote: "192.0.2.7:5555", tls: true, want: "192.0.2.7", https: true},
		{name: "loopback is not trusted by default", remote: "127.0.0.1:1", xff: []string{"203.0.113.9"}, xfp: []string{"https"},
			want: "127.0.0.1", ignored: true},
		{name: "X-Real-Ip is never read", trusted: lo, remote: "127.0.0.1:1", want: "127.0.0.1"},
		{name: "the hub's own proxy", proxy: true, remote: "127.0.0.1:1", xff: []string{"6.6.6.6, 203.0.113.9"}, xfp: []string{"https, http"},
			want: "203.0.113.9"},
		{name: "the hub's proxy behind a trusted TLS terminator", trusted: []string{"10.0.0.0/8"}, proxy: true, remote: "127.0.0.1:1",
			xff: []string{"203.0.113.9, 10.0.0.5"}, xfp: []string{"https,http"}, want: "203.0.113.9", https: true},
		{name: "client's own proto further left proves nothing", proxy: true, remote: "127.0.0.1:1",
			xff: []string{"203.0.113.9"}, xfp: []string{"https, http"}, want: "203.0.113.9"},
		{name: "a proxy that sets instead of appending", trusted: []string{"10.0.0.5"}, remote: "10.0.0.5:1",
			xff: []string{"203.0.113.9"}, xfp: []string{"HTTPS"}, want: "203.0.113.9", https: true},
		{name: "trusted peer without X-Forwarded-For", trusted: []string{"10.0.0.5"}, remote: "10.0.0.5:1",
			xfp: []string{"https"}, want: "10.0.0.5", https: true},
		{name: "untrusted peer's proto ignored", remote: "192.0.2.7:1", xfp: []string{"https"}, want: "192.0.2.7"},
		{name: "garbage stops the walk", proxy: true, remote: "127.0.0.1:1", xff: []string{"203.0.113.9, nonsense"}, want: "127.0.0.1"},
		{name: "IPv6 zone and mapped forms", proxy: true, remote: "[::1]:1", xff: []string{"[::ffff:203.0.113.9]:443"}, want: "203.0.113.9"},
		{name: "not an address", remote: "@", want: "invalid IP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("POST", "/hub/login", nil)
			r.RemoteAddr = tc.remote
			r.TLS = nil
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.proxy {
				r = r.WithContext(WithProxy(r.Context()))
			}
			r.Header.Set("X-Real-Ip", "198.51.100.66")
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tc.xfp {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			c := tr.Client(r)
			if c.Addr.String() != tc.want || c.HTTPS != tc.https || c.Ignored != tc.ignored {
				t.Errorf("Client = %v https=%v ignored=%v; want %s https=%v ignored=%v", c.Addr, c.HTTPS, c.Ignored, tc.want, tc.https, tc.ignored)
			}
		})
	}
	if _, err := New([]string{"10.0.0.0/8", "proxy.example.org"}); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
	for list, want := range map[string]bool{"": false, "10.0.0.0/8": false, "127.0.0.0/8": true, "::1": true, "0.0.0.0/0": true} {
		tr, _ := New(strings.Fields(list))
		if tr.TrustsLoopback() != want {
			t.Errorf("trusted_proxies %q: TrustsLoopback %v", list, !want)
		}
	}
	var none *Trust
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if c := none.Client(r); c.Addr.String() != "127.0.0.1" {
		t.Errorf("nil Trust believed X-Forwarded-For: %v", c.Addr)
	}
}

// FuzzClient: whatever the headers, the client is the peer or an address written in
// X-Forwarded-For (parsed by net/netip as written), the peer whenever it is not trusted, and
// https only when some X-Forwarded-Proto entry says so.
func FuzzClient(f *testing.F) {
	f.Add("127.0.0.1:1", "6.6.6.6, 203.0.113.9", "https, http", true, "127.0.0.0/8")
	f.Add("[::1]:1", "[2001:db8::1]:443,nonsense", "HTTPS", false, "::1")
	f.Add("10.0.0.5:1", ",,, ,", "", false, "10.0.0.0/8")
	f.Add("192.0.2.7:5555", "203.0.113.9", "https", false, "")
	f.Fuzz(func(t *testing.T, peer, xff, xfp string, proxy bool, trusted string) {
		var list []string
		if trusted != "" {
			list = []string{trusted}
		}
		tr, err := New(list)
		if err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.TLS = nil
		r.RemoteAddr = peer
		r.Header["X-Forwarded-For"] = []string{xff}
		r.Header["X-Forwarded-Proto"] = []string{xfp}
		if proxy {
			r = r.WithContext(WithProxy(r.Context()))
		}
		c := tr.Client(r)
		if !c.Addr.IsValid() {
			return
		}
		host, _, err := net.SplitHostPort(peer)
		if err != nil {
			host = peer
		}
		p, err := netip.ParseAddr(host)
		if err != nil {
			t.Fatalf("client %v from an unparsable peer %q", c.Addr, peer)
		}
		p = p.Unmap().WithZone("")
		candidates := []netip.Addr{p}
		for _, h := range strings.Split(xff, ",") {
			h = strings.TrimSpace(h)
			if a, err := netip.ParseAddr(h); err == nil {
				candidates = append(candidates, a.Unmap().WithZone(""))
			} else if ap, err := netip.ParseAddrPort(h); err == nil {
				candidates = append(candidates, ap.Addr().Unmap().WithZone(""))
			}
		}
		if !slices.Contains(candidates, c.Addr) {
			t.Fatalf("client %v is neither the peer nor in X-Forwarded-For %q", c.Addr, xff)
		}
		if !proxy && !tr.trusted(p) && (c.Addr != p || c.HTTPS) {
			t.Fatalf("untrusted peer %v: client %v https %v", p, c.Addr, c.HTTPS)
		}
		if c.HTTPS && !strings.Contains(strings.ToLower(xfp), "https") {
			t.Fatalf("https without TLS or an https X-Forwarded-Proto %q", xfp)
		}
	})
}
