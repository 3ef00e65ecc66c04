package session

import (
	"net/http/httptest"
	"testing"
)

func TestCrossSite(t *testing.T) {
	const hub = "https://hub.example.org"
	tests := []struct {
		origin, site string
		cross        bool
	}{
		{"", "", false}, // a non-browser client
		{"", "same-origin", false},
		{"", "none", false},
		{"", "cross-site", true},
		{"", "same-site", true},
		{"https://hub.example.org", "", false},
		{"https://HUB.example.org:443", "", false},
		{"http://hub.example.org", "", false}, // schemes are not compared; the default port is the Origin's
		{"https://hub.example.org:8443", "", true},
		{"http://hub.example.org:8080", "", true},
		{"https://mallory.hub.example.org", "", true},
		{"https://evil.example", "same-origin", true},
		{"null", "", true},
		{"https://hub.example.org/path", "", true},
		{"https://user@hub.example.org", "", true},
		{"::garbage", "", true},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("POST", "/hub/login", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.site != "" {
			r.Header.Set("Sec-Fetch-Site", tc.site)
		}
		if got := CrossSite(r, hub); got != tc.cross {
			t.Errorf("Origin %q, Sec-Fetch-Site %q: cross-site %v, want %v", tc.origin, tc.site, got, tc.cross)
		}
	}
	// A hub reached on a non-default port, its origin taken from the request.
	r := httptest.NewRequest("POST", "/hub/login", nil)
	r.Header.Set("Origin", "http://127.0.0.1:8000")
	if CrossSite(r, "http://127.0.0.1:8000") {
		t.Error("the hub's own origin on port 8000 is cross-site")
	}
}
