package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startWSEcho starts a websocket echo backend; it records the request path it was asked for.
func startWSEcho(t *testing.T) (*httptest.Server, chan string) {
	t.Helper()
	paths := make(chan string, 16)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.RequestURI + " xff=" + r.Header.Get("X-Forwarded-For") + " proto=" + r.Header.Get("X-Forwarded-Proto")
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, b); err != nil {
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s, paths
}

func wsURL(httpURL string) string { return "ws" + strings.TrimPrefix(httpURL, "http") }

func TestWebsocketEchoThroughProxy(t *testing.T) {
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		be, paths := startWSEcho(t)
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		route := tp.add(t, "/user/alice", be.URL)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, wsURL(tp.srv.URL)+"/user/alice/api/kernels/k%201/channels?session=s", nil)
		if err != nil {
			t.Fatalf("dial through proxy: %v", err)
		}
		defer c.CloseNow()
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if p := <-paths; p != "/user/alice/api/kernels/k%201/channels?session=s xff=127.0.0.1 proto=ws" {
			t.Errorf("backend saw %q", p)
		}
		old := time.Now().Add(-time.Hour)
		route.lastActivity.Store(old.UnixNano())
		for i := range 50 {
			msg := strings.Repeat(fmt.Sprint(i%10), 1+i*600) // up to ~30 KB: several relay reads
			if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != msg {
				t.Fatalf("echo %d: got %d bytes, want %d", i, len(b), len(msg))
			}
		}
		if !route.LastActivity().After(old.Add(time.Minute)) {
			t.Error("websocket frames did not count as route activity")
		}
		// A relay counts a read's bytes after writing them on, so the last echo can reach the
		// client a moment before its bytes are counted.
		waitFor(t, func() bool { return tp.px.Stats().WebsocketBytes >= 2*735000 })
		st := tp.px.Stats()
		if st.WebsocketsOpen != 1 || st.WebsocketsTotal != 1 {
			t.Errorf("stats %+v", st)
		}
		c.Close(websocket.StatusNormalClosure, "")
		waitFor(t, func() bool { return tp.px.Stats().WebsocketsOpen == 0 })
	})
}

func TestWebsocketRefusedUpgradeAndDeadTarget(t *testing.T) {
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		plain := startEcho(t) // answers 200, never upgrades
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		tp.add(t, "/plain", plain.URL)
		tp.add(t, "/dead", deadURL(t))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, resp, err := websocket.Dial(ctx, wsURL(tp.srv.URL)+"/plain/ws", nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusOK {
			t.Errorf("refused upgrade: err %v resp %v, want the target's 200", err, resp)
		}
		_, resp, err = websocket.Dial(ctx, wsURL(tp.srv.URL)+"/dead/ws", nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("dead target: err %v resp %v, want 503", err, resp)
		}
		_, resp, err = websocket.Dial(ctx, wsURL(tp.srv.URL)+"/none/ws", nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("no route: err %v resp %v, want 404", err, resp)
		}
	})
}

func TestCloseEndsOpenWebsockets(t *testing.T) {
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		be, _ := startWSEcho(t)
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		tp.add(t, "/", be.URL)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, wsURL(tp.srv.URL)+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		waitFor(t, func() bool { return tp.px.Stats().WebsocketsOpen == 1 })
		tp.px.Close()
		if _, _, err := c.Read(ctx); err == nil {
			t.Fatal("read succeeded after the proxy closed its websockets")
		}
		waitFor(t, func() bool { return tp.px.Stats().WebsocketsOpen == 0 })
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHTTPSTargets covers https targets: plain requests through ReverseProxy, websockets
// through the TLS dial of the upgrade path.
func TestHTTPSTargets(t *testing.T) {
	be := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/ws") {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			typ, b, err := c.Read(r.Context())
			if err == nil {
				_ = c.Write(r.Context(), typ, b)
			}
			return
		}
		_, _ = io.WriteString(w, "tls "+r.RequestURI)
	}))
	defer be.Close()
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		tp := startProxy(t, Options{StdlibForwarding: stdlib, InsecureTLS: true})
		tp.add(t, "/secure", be.URL)
		if resp, body := get(t, tp.srv.URL+"/secure/x?y=1", nil); resp.StatusCode != 200 || body != "tls /secure/x?y=1" {
			t.Fatalf("https target: %d %q", resp.StatusCode, body)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, wsURL(tp.srv.URL)+"/secure/ws", nil)
		if err != nil {
			t.Fatalf("websocket to an https target: %v", err)
		}
		defer c.CloseNow()
		if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, b, err := c.Read(ctx); err != nil || string(b) != "hi" {
			t.Fatalf("echo over TLS target: %q %v", b, err)
		}
	})
}
