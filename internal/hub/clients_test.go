package hub

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"gohub/internal/forwarded"
)

// TestFromProxyNeedsTheSecret performs what a user's server on the hub listener can try: a path
// with the proxy mark and a wrong, empty, shortened or extended secret is a 404 and never
// believed; only the secret itself marks the request as the proxy's and strips the segment.
func TestFromProxyNeedsTheSecret(t *testing.T) {
	h := &Hub{proxySecret: "0123456789abcdef"}
	trust, err := forwarded.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var seen *http.Request
	handler := h.fromProxy(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r }))
	do := func(target string) int {
		seen = nil
		req := httptest.NewRequest("POST", target, nil)
		req.RemoteAddr = "127.0.0.1:5000"
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, bad := range []string{"wrong", "", "0123456789abcde", "0123456789abcdef0", "0123456789ABCDEF"} {
		if code := do("/" + proxyPathMark + bad + "/hub/login"); code != http.StatusNotFound || seen != nil {
			t.Errorf("secret %q: %d, handler reached: %v", bad, code, seen != nil)
		}
	}
	// Without the mark the request is served as it came, its forwarding headers not believed.
	do("/hub/login")
	if seen == nil || seen.URL.Path != "/hub/login" || trust.Client(seen).Addr.String() != "127.0.0.1" {
		t.Errorf("unmarked request: %+v", seen)
	}
	do("/" + proxyPathMark + h.proxySecret + "/hub/login?next=%2Fhub%2F")
	if seen == nil || seen.URL.Path != "/hub/login" || seen.RequestURI != "/hub/login?next=%2Fhub%2F" {
		t.Fatalf("the proxy's request: %+v", seen)
	}
	if got := trust.Client(seen).Addr.String(); got != "203.0.113.7" {
		t.Errorf("the proxy's X-Forwarded-For: client %s, want 203.0.113.7", got)
	}
}
