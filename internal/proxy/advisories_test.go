package proxy

// configurable-http-proxy has published no advisory of its own; its security releases
// updated http-proxy, whose GHSA-6x33-pw7p-hmpq let one request crash the whole proxy. The
// attack is performed here against the built-in proxy. SECURITY.md lists it.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestAdvisory_GHSA_6x33_pw7p_hmpq_EarlyAnswerToLongBodyCrashesProxy: a target answering before reading a long body crashed the proxy (http-proxy, in CHP).
func TestAdvisory_GHSA_6x33_pw7p_hmpq_EarlyAnswerToLongBodyCrashesProxy(t *testing.T) {
	// Malformed percent escapes in the path, the other known way to crash it, are sent too.
	hasty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/upload") {
			// Answer at once and hang up, the body unread.
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, "ok")
	}))
	defer hasty.Close()
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		tp.add(t, "/", hasty.URL)
		addr := strings.TrimPrefix(tp.srv.URL, "http://")
		for i := range 3 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatalf("round %d: the proxy is gone: %v", i, err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: hub\r\nContent-Length: %d\r\n\r\n", 8<<20)
			chunk := strings.Repeat("x", 64<<10)
			for range 128 {
				if _, err := io.WriteString(c, chunk); err != nil {
					break // the proxy may close once the target has answered
				}
			}
			io.Copy(io.Discard, c)
			c.Close()
		}
		for _, p := range []string{"/%", "/%zz", "/user/%C0%AF", "/%u0041", "/a%00b", "/%E0%A4%A"} {
			raw := rawExchange(t, addr, "GET "+p+" HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
			if !strings.HasPrefix(raw, "HTTP/1.1 ") {
				t.Errorf("GET %s: no HTTP answer: %q", p, raw)
			}
		}
		// Everyone else's routes still work.
		for range 3 {
			if _, body := get(t, tp.srv.URL+"/after", nil); body != "ok" {
				t.Fatalf("after the attacks: %q", body)
			}
		}
	})
}
