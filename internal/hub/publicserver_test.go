package hub

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPublicListenerLimits: the hub's public listener (proxy.Server in front of the hub's own
// pages and API) takes its limits from the BuiltinProxy section and refuses a smuggling
// attempt before any handler sees it.
func TestPublicListenerLimits(t *testing.T) {
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return hubConfig(t, dir, pub, hubPort, "dummy", "BuiltinProxy:\n  max_connections: 3\n  header_timeout: 4\n")
	})
	addr := strings.TrimPrefix(lh.public, "http://")
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(15 * time.Second))
		return c
	}
	status := func(c net.Conn) int {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return -1 // closed without a byte
			}
			return 0
		}
		return resp.StatusCode
	}

	c := dial()
	io.WriteString(c, "POST /hub/api HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+
		"GET /hub/api HTTP/1.1\r\nHost: h\r\n\r\n")
	if st := status(c); st != http.StatusBadRequest {
		t.Errorf("CL.TE to the hub: %d, want 400", st)
	}
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Errorf("after the 400: %q", b)
	}

	var busy []net.Conn
	for range 3 {
		c := dial()
		io.WriteString(c, "GET /hub/api HTTP/1.1\r\n")
		busy = append(busy, c)
	}
	// Until the server has read a connection's first bytes it counts as idle, and a 4th
	// connection would replace it; on a loaded machine (the race step runs packages side by
	// side) that read can come late, so wait a second of the 4 s header timeout.
	time.Sleep(time.Second)
	// Over the cap a connection is answered 503 and closed; on a loaded machine the answer's
	// short write deadline (the accept loop never waits on a client) may pass first, and it is
	// closed without one: refused either way, never served in a busy one's place.
	if st := status(dial()); st != http.StatusServiceUnavailable && st != -1 {
		t.Errorf("a 4th connection with max_connections 3 busy: %d, want 503 or a close", st)
	}
	start := time.Now()
	if b, err := io.ReadAll(busy[0]); err != nil || len(b) != 0 || time.Since(start) > 8*time.Second {
		t.Errorf("incomplete headers with header_timeout 4: %q %v after %v", b, err, time.Since(start))
	}
	c = dial()
	io.WriteString(c, "GET /hub/api HTTP/1.1\r\nHost: h\r\n\r\n")
	if st := status(c); st != http.StatusOK {
		t.Errorf("the hub's API once the connections timed out: %d", st)
	}
}
