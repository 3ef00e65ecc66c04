package forwarded

import (
	"crypto/tls"
	"net/http/httptest"
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
	var none *Trust
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if c := none.Client(r); c.Addr.String() != "127.0.0.1" {
		t.Errorf("nil Trust believed X-Forwarded-For: %v", c.Addr)
	}
}
