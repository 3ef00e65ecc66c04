package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echoInfo is what the echo backend saw.
type echoInfo struct {
	Host       string
	RequestURI string
	Header     http.Header
}

func startEcho(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("status") == "404" {
			w.WriteHeader(http.StatusNotFound)
		}
		_ = json.NewEncoder(w).Encode(echoInfo{Host: r.Host, RequestURI: r.RequestURI, Header: r.Header})
	}))
	t.Cleanup(s.Close)
	return s
}

type testProxy struct {
	table *RouteTable
	px    *Proxy
	srv   *httptest.Server
}

// forEachForwarder runs f with the proxy's own forwarder served by the proxy's own Server
// (as `gohub proxy` runs) and by net/http's server (as the in-process hub does), and with
// httputil.ReverseProxy. startProxy picks the server from the subtest's name.
func forEachForwarder(t *testing.T, f func(t *testing.T, stdlib bool)) {
	t.Run("own-server", func(t *testing.T) { f(t, false) })
	t.Run("own-forwarder", func(t *testing.T) { f(t, false) })
	t.Run("stdlib", func(t *testing.T) { f(t, true) })
}

func startProxy(t *testing.T, opts Options) *testProxy {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	tab := NewRouteTable()
	px := New(tab, opts)
	if strings.Contains(t.Name(), "/own-server") {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{Handler: px}
		done := make(chan error, 1)
		go func() { done <- s.Serve(ln) }()
		t.Cleanup(func() {
			px.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Errorf("Server.Shutdown: %v", err)
			}
			if err := <-done; err != nil {
				t.Errorf("Server.Serve: %v", err)
			}
		})
		return &testProxy{table: tab, px: px, srv: &httptest.Server{URL: "http://" + ln.Addr().String()}}
	}
	srv := httptest.NewServer(px)
	t.Cleanup(func() { px.Close(); srv.Close() })
	return &testProxy{table: tab, px: px, srv: srv}
}

func (tp *testProxy) add(t *testing.T, prefix, target string) *Route {
	t.Helper()
	r, err := NewRoute(prefix, map[string]any{"target": target})
	if err != nil {
		t.Fatal(err)
	}
	tp.table.Add(r)
	return r
}

func get(t *testing.T, url string, edit func(*http.Request)) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func getEcho(t *testing.T, url string, edit func(*http.Request)) echoInfo {
	t.Helper()
	resp, body := get(t, url, edit)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	var e echoInfo
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("GET %s: %v in %q", url, err, body)
	}
	return e
}

func TestForwardsFullPathHostAndXForwarded(t *testing.T) {
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		be := startEcho(t)
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		tp.add(t, "/user/alice", be.URL)
		e := getEcho(t, tp.srv.URL+"/user/alice/api/contents/a%2Fb%20c?x=1&y=%2F", func(r *http.Request) {
			r.Host = "hub.example.org"
			r.Header.Set("X-Forwarded-For", "10.1.2.3")
		})
		if e.RequestURI != "/user/alice/api/contents/a%2Fb%20c?x=1&y=%2F" {
			t.Errorf("backend saw %q", e.RequestURI)
		}
		if e.Host != "hub.example.org" {
			t.Errorf("Host = %q, want the client's", e.Host)
		}
		want := map[string]string{"X-Forwarded-For": "10.1.2.3,127.0.0.1", "X-Forwarded-Proto": "http",
			"X-Forwarded-Host": "hub.example.org", "X-Forwarded-Port": "80"}
		for k, v := range want {
			if got := e.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})
}

func TestNoXForward(t *testing.T) {
	be := startEcho(t)
	tp := startProxy(t, Options{NoXForward: true})
	tp.add(t, "/", be.URL)
	e := getEcho(t, tp.srv.URL+"/x", nil)
	if v := e.Header.Get("X-Forwarded-For"); v != "" {
		t.Errorf("X-Forwarded-For = %q with NoXForward", v)
	}
}

func TestTargetPathPrependedAndPrefixStripping(t *testing.T) {
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		be := startEcho(t)
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		tp.add(t, "/services/x", be.URL+"/base/")
		if e := getEcho(t, tp.srv.URL+"/services/x/a?b=1", nil); e.RequestURI != "/base/services/x/a?b=1" {
			t.Errorf("prepend: backend saw %q", e.RequestURI)
		}
		tp2 := startProxy(t, Options{StdlibForwarding: stdlib, NoIncludePrefix: true, NoPrependPath: true})
		tp2.add(t, "/services/x", be.URL+"/base/")
		if e := getEcho(t, tp2.srv.URL+"/services/x/a/b", nil); e.RequestURI != "/a/b" {
			t.Errorf("no prefix: backend saw %q", e.RequestURI)
		}
	})
}

func TestEscapedSegmentsMatchDecodedKeys(t *testing.T) {
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		be := startEcho(t)
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		tp.add(t, "/user/a@b c", be.URL)
		tp.add(t, "/user/a", "http://127.0.0.1:1") // a prefix of the name, never whole-segment
		e := getEcho(t, tp.srv.URL+"/user/a%40b%20c/tree", nil)
		if e.RequestURI != "/user/a%40b%20c/tree" {
			t.Errorf("backend saw %q, want the path as escaped by the client", e.RequestURI)
		}
	})
}

func TestHostRouting(t *testing.T) {
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		be := startEcho(t)
		tp := startProxy(t, Options{StdlibForwarding: stdlib, HostRouting: true})
		tp.add(t, "/alice.hub.test/user/alice", be.URL)
		e := getEcho(t, tp.srv.URL+"/user/alice/lab", func(r *http.Request) { r.Host = "alice.hub.test:8000" })
		if e.RequestURI != "/user/alice/lab" || e.Host != "alice.hub.test:8000" {
			t.Errorf("backend saw %q host %q", e.RequestURI, e.Host)
		}
		resp, _ := get(t, tp.srv.URL+"/user/alice/lab", func(r *http.Request) { r.Host = "bob.hub.test" })
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("other host: %d, want 404", resp.StatusCode)
		}
	})
}

func TestHealthz(t *testing.T) {
	tp := startProxy(t, Options{})
	resp, body := get(t, tp.srv.URL+"/_chp_healthz", nil)
	var v map[string]string
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &v) != nil || v["status"] != "OK" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
}

// deadURL is a target on which nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestErrorsWithoutErrorTarget(t *testing.T) {
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		if resp, _ := get(t, tp.srv.URL+"/nothing", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("no route: %d, want 404", resp.StatusCode)
		}
		tp.add(t, "/user/alice", deadURL(t))
		resp, body := get(t, tp.srv.URL+"/user/alice/api", nil)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "503") {
			t.Errorf("dead target: %d %q, want 503", resp.StatusCode, body)
		}
	})
}

func TestErrorTargetPageRelayedWithOriginalStatus(t *testing.T) {
	var gotURI string
	errSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotURI = r.RequestURI
		w.Header().Set("Content-Type", "text/x-hub-error")
		_, _ = io.WriteString(w, "hub says "+r.URL.Path) // 200: the proxy must keep its own code
	}))
	defer errSrv.Close()
	tp := startProxy(t, Options{ErrorTarget: errSrv.URL + "/hub/error"})
	tp.add(t, "/user/alice", deadURL(t))
	resp, body := get(t, tp.srv.URL+"/user/alice/api?x=1", nil)
	if resp.StatusCode != 503 || body != "hub says /hub/error/503" ||
		resp.Header.Get("Content-Type") != "text/x-hub-error" {
		t.Errorf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if gotURI != "/hub/error/503?url=%2Fuser%2Falice%2Fapi%3Fx%3D1" {
		t.Errorf("error target asked for %q", gotURI)
	}
	if resp, _ := get(t, tp.srv.URL+"/elsewhere", nil); resp.StatusCode != 404 || gotURI != "/hub/error/404?url=%2Felsewhere" {
		t.Errorf("404: %d, error target asked %q", resp.StatusCode, gotURI)
	}
	// The error target down too: the bare page with the original status.
	errSrv.Close()
	if resp, _ := get(t, tp.srv.URL+"/user/alice/api", nil); resp.StatusCode != 503 {
		t.Errorf("error target down: %d, want 503", resp.StatusCode)
	}
}

func TestErrorHandlerHook(t *testing.T) {
	var codes []int
	tp := startProxy(t, Options{ErrorHandler: func(w http.ResponseWriter, r *http.Request, status int) {
		codes = append(codes, status)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "hub page")
	}})
	tp.add(t, "/user/bob", deadURL(t))
	resp, body := get(t, tp.srv.URL+"/user/bob/", nil)
	if resp.StatusCode != 503 || body != "hub page" || len(codes) != 1 || codes[0] != 503 {
		t.Errorf("got %d %q codes %v", resp.StatusCode, body, codes)
	}
}

func TestActivityOnlyForSuccess(t *testing.T) {
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		be := startEcho(t)
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		r := tp.add(t, "/user/alice", be.URL)
		old := time.Now().Add(-time.Hour)
		r.lastActivity.Store(old.UnixNano())
		get(t, tp.srv.URL+"/user/alice/x?status=404", nil)
		if !r.LastActivity().Equal(old.UTC()) {
			t.Errorf("a 404 answer counted as activity")
		}
		getEcho(t, tp.srv.URL+"/user/alice/x", nil)
		if time.Since(r.LastActivity()) > time.Minute {
			t.Errorf("a 200 answer did not count as activity: %v", r.LastActivity())
		}
	})
}

func TestEventStreamFlushedAtOnce(t *testing.T) {
	forEachForwarder(t, func(t *testing.T, stdlib bool) {
		release := make(chan struct{})
		be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: {\"progress\": 10}\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer be.Close()
		defer close(release)
		tp := startProxy(t, Options{StdlibForwarding: stdlib})
		tp.add(t, "/hub", be.URL)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, tp.srv.URL+"/hub/api/progress", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(resp.Body).ReadString('\n')
			got <- line
		}()
		select {
		case line := <-got:
			if line != "data: {\"progress\": 10}\n" {
				t.Errorf("first event %q", line)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("event not flushed while the stream stays open")
		}
	})
}
