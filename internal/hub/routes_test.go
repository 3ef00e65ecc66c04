package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gohub/internal/config"
	"gohub/internal/naming"
	"gohub/internal/proxy"
)

// escapeNames are user names that need escaping in a URL path, chosen so that one name's
// escaped form is another one's name ("a b" and "a%20b"), and names that look like a '/'.
var escapeNames = []string{
	"a b", "a%20b", "a%2520b", "a+b", "a%2Bb", "a!b", "a%21b", "émile", "%C3%A9mile", "日本",
	"a%2Fb", "a%2fb", "a∕b", "a／b", "a⁄b", "a\\b", "a%5Cb", "a@b", "a~b", "a;b", "a:b", "a'b",
	"a&b", "a=b", "a,b", "a$b", "a*b", "a(b)",
}

// routerUnderTest is one way the hub keeps routes: a Router and the public URL it serves.
type routerUnderTest struct {
	name   string
	router Router
	public string // http://127.0.0.1:port
	api    string // the CHP API, "" for the built-in proxy
	token  string
}

const routesTestToken = "routes-test-token"

// builtinUnderTest is the in-process table served by proxy.Server, as `gohub proxy` serves it.
func builtinUnderTest(t *testing.T) routerUnderTest {
	t.Helper()
	table := proxy.NewRouteTable()
	px := proxy.New(table, proxy.Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &proxy.Server{Handler: px}
	go srv.Serve(ln)
	t.Cleanup(func() { px.Close(); _ = srv.Shutdown(context.Background()) })
	return routerUnderTest{name: "builtin", router: builtinRouter{table}, public: "http://" + ln.Addr().String()}
}

// gohubProxyUnderTest is `gohub proxy` (RunStandalone) driven over its REST API.
func gohubProxyUnderTest(t *testing.T) routerUnderTest {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- proxy.RunStandalone(ctx, proxy.StandaloneOptions{IP: "127.0.0.1", APIIP: "127.0.0.1",
			AuthToken: routesTestToken, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
			Ready: func(p, a net.Addr) { ready <- [2]net.Addr{p, a} }})
	}()
	var addrs [2]net.Addr
	select {
	case addrs = <-ready:
	case err := <-done:
		t.Fatalf("RunStandalone: %v", err)
	}
	t.Cleanup(func() { cancel(); <-done })
	api := "http://" + addrs[1].String()
	return routerUnderTest{name: "gohub-proxy", public: "http://" + addrs[0].String(), api: api,
		token: routesTestToken, router: chpRouter{proxy.NewCHPClient(api, routesTestToken, proxy.CHPClientOptions{})}}
}

// chpUnderTest is the real configurable-http-proxy from npm; the test skips without it, except
// under CI=true.
func chpUnderTest(t *testing.T) routerUnderTest {
	t.Helper()
	bin, err := exec.LookPath("configurable-http-proxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("configurable-http-proxy not installed (required under CI=true)")
		}
		t.Skip("configurable-http-proxy not installed")
	}
	port, apiPort := freePort(t), freePort(t)
	cmd := exec.Command(bin, "--ip", "127.0.0.1", "--port", strconv.Itoa(port), "--api-ip", "127.0.0.1",
		"--api-port", strconv.Itoa(apiPort), "--log-level", "error")
	cmd.Env = append(os.Environ(), "CONFIGPROXY_AUTH_TOKEN="+routesTestToken)
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start configurable-http-proxy: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequest("GET", api+"/api/routes", nil)
		req.Header.Set("Authorization", "token "+routesTestToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("configurable-http-proxy did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return routerUnderTest{name: "chp", public: fmt.Sprintf("http://127.0.0.1:%d", port), api: api,
		token: routesTestToken, router: chpRouter{proxy.NewCHPClient(api, routesTestToken, proxy.CHPClientOptions{})}}
}

func routersUnderTest(t *testing.T) []func(*testing.T) routerUnderTest {
	return []func(*testing.T) routerUnderTest{builtinUnderTest, gohubProxyUnderTest, chpUnderTest}
}

// nameServer is a target that answers every request with its owner's name.
func nameServer(t *testing.T, owner string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Owner", owner)
		io.WriteString(w, owner)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// rawGet sends "GET target" with exactly these bytes and returns the status and the owner
// that answered ("" when no target did).
func rawGet(t *testing.T, public, target string) (int, string) {
	t.Helper()
	host := strings.TrimPrefix(public, "http://")
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Owner")
}

// TestEscapedNamesReachOnlyTheirOwnServer adds a route for every name of escapeNames the way
// the hub does (routespec /user/{quote(name)}/) through the built-in proxy, `gohub proxy` and
// the real configurable-http-proxy, and checks that each name's URL reaches its own server and
// nobody else's: "/user/a%2520b/" is the URL of user "a%20b", never of "a b". The routes read
// back must be the routespecs they were added with, or the hub's route check would delete and
// re-add them every time.
func TestEscapedNamesReachOnlyTheirOwnServer(t *testing.T) {
	for _, start := range routersUnderTest(t) {
		rt := start(t)
		t.Run(rt.name, func(t *testing.T) {
			ctx := t.Context()
			if err := rt.router.AddRoute(ctx, "/", nameServer(t, "(hub)"), map[string]any{"hub": true}); err != nil {
				t.Fatal(err)
			}
			want := []string{"/"}
			for _, n := range escapeNames {
				spec := naming.ServerPrefix("/", n, "")
				data := map[string]any{"user": n, "server_name": ""}
				if err := rt.router.AddRoute(ctx, spec, nameServer(t, n), data); err != nil {
					t.Fatalf("add %s: %v", spec, err)
				}
				want = append(want, spec)
			}
			// A named server whose name needs escaping too.
			named := naming.ServerPrefix("/", "a b", "x y")
			if err := rt.router.AddRoute(ctx, named, nameServer(t, "a b/x y"), map[string]any{"user": "a b", "server_name": "x y"}); err != nil {
				t.Fatal(err)
			}
			want = append(want, named)

			for _, n := range escapeNames {
				p := naming.ServerPrefix("/", n, "")
				for _, target := range []string{p, p + "api/status", strings.TrimSuffix(p, "/")} {
					if code, got := rawGet(t, rt.public, target); code != 200 || got != n {
						t.Errorf("%s (user %q): %d from %q", target, n, code, got)
					}
				}
			}
			if code, got := rawGet(t, rt.public, named+"lab"); code != 200 || got != "a b/x y" {
				t.Errorf("named server: %d from %q", code, got)
			}
			// Other spellings of a name's own URL (as browsers send them) reach the same server.
			for target, owner := range map[string]string{
				"/user/a+b/": "a+b", "/user/a!b/": "a!b", "/user/%C3%A9mile/": "émile", "/user/a%2bb/": "a+b",
				"/user/a%40b/": "a@b", "/user/%61%20b/": "a b", "/user/a%7Eb/": "a~b",
			} {
				if code, got := rawGet(t, rt.public, target); code != 200 || got != owner {
					t.Errorf("%s: %d from %q, want %q", target, code, got, owner)
				}
			}
			// A URL that decodes twice to someone's name is not theirs.
			if err := rt.router.DeleteRoute(ctx, naming.ServerPrefix("/", "a%20b", "")); err != nil {
				t.Fatal(err)
			}
			for _, target := range []string{"/user/a%2520b/", "/user/%2561%2520b/", "/user/a%25%32%30b/"} {
				if code, got := rawGet(t, rt.public, target); got != "(hub)" {
					t.Errorf("%s: %d from %q, want the hub's (default) route", target, code, got)
				}
			}
			want = slices.DeleteFunc(want, func(s string) bool { return s == "/user/a%2520b/" })

			routes, err := rt.router.Routes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(func(yield func(string) bool) {
				for k := range routes {
					if !yield(k) {
						return
					}
				}
			})
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("routes read back:\n%q\nwant the routespecs added:\n%q", got, want)
			}
			for spec, r := range routes {
				if spec != "/" && r.Data["user"] == nil {
					t.Errorf("route %s lost its data: %v", spec, r.Data)
				}
			}
		})
	}
}

// TestDotSegmentsBelongToNoRoute sends paths whose owner depends on who resolves their dot
// segments ("/user/mallory/../victim/" is mallory's before resolving, victim's after) through
// the built-in proxy and `gohub proxy`: none may reach a user's server. A routespec with a dot
// segment (a server named "..") is refused by every router: configurable-http-proxy would
// resolve "/user/mallory/.." on its API and route all of "/user" to mallory.
func TestDotSegmentsBelongToNoRoute(t *testing.T) {
	for _, start := range routersUnderTest(t) {
		rt := start(t)
		t.Run(rt.name, func(t *testing.T) {
			ctx := t.Context()
			for _, n := range []string{"mallory", "victim"} {
				if err := rt.router.AddRoute(ctx, "/user/"+n+"/", nameServer(t, n), map[string]any{"user": n}); err != nil {
					t.Fatal(err)
				}
			}
			for _, spec := range []string{"/user/mallory/../", "/user/mallory/./", "/user/mallory/%2e%2e/",
				"/user/mallory/%2E./", "/user/mallory%2F..%2F", "/user/../"} {
				if err := rt.router.AddRoute(ctx, spec, nameServer(t, "mallory"), map[string]any{"user": "mallory"}); err == nil {
					t.Errorf("AddRoute(%s) accepted", spec)
				}
			}
			routes, err := rt.router.Routes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(routes) != 2 {
				t.Errorf("routes after refused adds: %v", routes)
			}
			if code, got := rawGet(t, rt.public, "/user/someone/"); got != "" {
				t.Errorf("/user/someone/ reached %q (%d): a dot route was added", got, code)
			}
			if rt.name == "chp" {
				return // CHP resolves the dots before matching; the paths below are ours to refuse
			}
			for _, target := range []string{
				"/user/mallory/../victim/", "/user/victim/../mallory/", "/user/mallory/%2e%2e/victim/",
				"/user/mallory/%2E%2E/victim/", "/user/mallory/.%2e/victim/", "/user/mallory/%2e./victim/",
				"/user/mallory/..%2Fvictim/", "/user/mallory%2F..%2Fvictim/", "/user/victim%2F..%2Fmallory/x",
				"/user/mallory/./x", "/user/mallory/%2e/x", "/user/mallory/x/..", "/user/mallory/x/%2E%2E",
				"/../user/mallory/", "/%2e%2e/user/victim/",
			} {
				if code, got := rawGet(t, rt.public, target); code != http.StatusBadRequest || got != "" {
					t.Errorf("%s: %d from %q, want 400 from none", target, code, got)
				}
			}
			// Dots inside a segment are ordinary characters.
			for target, owner := range map[string]string{"/user/mallory/...": "mallory", "/user/victim/.x/..y": "victim"} {
				if code, got := rawGet(t, rt.public, target); code != 200 || got != owner {
					t.Errorf("%s: %d from %q, want %q", target, code, got, owner)
				}
			}
		})
	}
}

// apiRequest calls a CHP-style REST API with the exact path given, as JupyterHub's
// ConfigurableHTTPProxy.api_request does (the routespec appended unchanged).
func apiRequest(t *testing.T, rt routerUnderTest, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rt.api+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+rt.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestJupyterHubRoutespecsOnProxies adds routes as JupyterHub does (POST
// /api/routes{routespec without its trailing slash}, the routespec escaped) to the real
// configurable-http-proxy and to `gohub proxy`, and checks that both store the same keys, that
// JupyterHub's reading of them (quote(key, safe="@/~") + "/") gives back each routespec, that
// gohub's Router reads the same routespecs, and that each name's URL reaches its own server.
func TestJupyterHubRoutespecsOnProxies(t *testing.T) {
	keys := map[string]string{}
	for _, start := range []func(*testing.T) routerUnderTest{gohubProxyUnderTest, chpUnderTest} {
		rt := start(t)
		t.Run(rt.name, func(t *testing.T) {
			var want []string
			for _, n := range escapeNames {
				spec := naming.ServerPrefix("/", n, "")
				body := fmt.Sprintf(`{"target": %q, "jupyterhub": true, "user": %q, "server_name": ""}`, nameServer(t, n), n)
				if code, msg := apiRequest(t, rt, "POST", "/api/routes"+strings.TrimSuffix(spec, "/"), body); code != 201 {
					t.Fatalf("POST %s: %d %s", spec, code, msg)
				}
				want = append(want, spec)
			}
			code, raw := apiRequest(t, rt, "GET", "/api/routes", "")
			if code != 200 {
				t.Fatalf("GET /api/routes: %d %s", code, raw)
			}
			var got map[string]map[string]any
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatal(err)
			}
			var specs, stored []string
			for k := range got {
				stored = append(stored, k)
				specs = append(specs, proxy.Routespec(k))
			}
			slices.Sort(stored)
			slices.Sort(specs)
			slices.Sort(want)
			if !slices.Equal(specs, want) {
				t.Errorf("JupyterHub reads back\n%q\nwant\n%q", specs, want)
			}
			keys[rt.name] = strings.Join(stored, "\n")
			routes, err := rt.router.Routes(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(routes) != len(want) {
				t.Errorf("gohub's router reads %d routes, want %d", len(routes), len(want))
			}
			for _, s := range want {
				if _, ok := routes[s]; !ok {
					t.Errorf("gohub's router does not read %s", s)
				}
			}
			for _, n := range escapeNames {
				if code, owner := rawGet(t, rt.public, naming.ServerPrefix("/", n, "")+"api"); code != 200 || owner != n {
					t.Errorf("user %q: %d from %q", n, code, owner)
				}
			}
			for _, s := range want {
				if code, msg := apiRequest(t, rt, "DELETE", "/api/routes"+strings.TrimSuffix(s, "/"), ""); code != 204 {
					t.Errorf("DELETE %s: %d %s", s, code, msg)
				}
			}
		})
	}
	if len(keys) == 2 && keys["gohub-proxy"] != keys["chp"] {
		t.Errorf("stored keys differ:\ngohub proxy:\n%s\nCHP:\n%s", keys["gohub-proxy"], keys["chp"])
	}
}

// TestCHPModeEscapedNames runs a hub in configurable-http-proxy mode (the real CHP, started by
// the hub) with users "a b" and "a%20b": each one's URL reaches their own server through CHP,
// and the hub's route check, as at every poll and restart, finds every route in place and
// re-adds none (a re-added route's last_activity would move).
func TestCHPModeEscapedNames(t *testing.T) {
	chp, err := exec.LookPath("configurable-http-proxy")
	if err != nil {
		chpUnderTest(t) // skips, or fails under CI=true
	}
	apiPort := freePort(t)
	lh := startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		return hubConfig(t, dir, pub, hubPort, "dummy\n  proxy_class: configurable-http-proxy",
			fmt.Sprintf("DummyAuthenticator:\n  password: pw\nConfigurableHTTPProxy:\n  api_url: http://127.0.0.1:%d\n  command: [%s]\n",
				apiPort, chp))
	})
	names := []string{"a b", "a%20b"}
	for _, n := range names {
		if code := lh.api("POST", "/users/"+naming.Escape(n), adminToken, nil, nil); code != 201 {
			t.Fatalf("create %q: %d", n, code)
		}
		if code := lh.api("POST", "/users/"+naming.Escape(n)+"/server", adminToken, nil, nil); code != 201 && code != 202 {
			t.Fatalf("start %q's server: %d", n, code)
		}
		if !within(20*time.Second, func() bool { return lh.h.spawners.Status(n, "").Ready }) {
			t.Fatalf("%q's server did not become ready", n)
		}
	}
	for _, n := range names {
		resp, err := http.Get(lh.public + naming.ServerPrefix("/", n, "") + "env")
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]string
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil || env["JUPYTERHUB_USER"] != n {
			t.Errorf("%s: %d, server of %q (%v)", naming.ServerPrefix("/", n, ""), resp.StatusCode, env["JUPYTERHUB_USER"], err)
		}
	}
	ctx := t.Context()
	before, err := lh.h.router.Routes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/", "/user/a%20b/", "/user/a%2520b/"}
	if got := slices.Sorted(maps.Keys(before)); !slices.Equal(got, want) {
		t.Fatalf("routes %q, want %q", got, want)
	}
	time.Sleep(20 * time.Millisecond) // a re-added route would get a later last_activity
	if err := lh.h.checkRoutes(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := lh.h.router.Routes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for spec, r := range before {
		if a, ok := after[spec]; !ok || !a.LastActivity.Equal(r.LastActivity) {
			t.Errorf("the route check replaced %s (last_activity %v, now %v)", spec, r.LastActivity, a.LastActivity)
		}
	}
}

// TestRouteCheckWithEscapedBaseURL runs the route check on a hub whose base_url has a
// character that routespecs escape ("!" is "%21"): the hub's route must be found in place,
// not re-added and then deleted as stale under its escaped spelling.
func TestRouteCheckWithEscapedBaseURL(t *testing.T) {
	dir := t.TempDir()
	pub, hubPort := freePort(t), freePort(t)
	cfgPath := filepath.Join(dir, "gohub_config.yaml")
	cfg := hubConfig(t, dir, pub, hubPort, "dummy\n  base_url: /j!/", "DummyAuthenticator:\n  password: pw\n")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	h, err := New(ctx, file, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := h.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, ls) }()
	t.Cleanup(func() { cancel(); <-done; h.Close() })
	if !within(10*time.Second, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/j!/hub/api", pub))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}) {
		t.Fatal("the hub did not come up")
	}
	for range 2 {
		if err := h.checkRoutes(ctx); err != nil {
			t.Fatal(err)
		}
		routes, err := h.router.Routes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := routes["/j%21/"]; !ok || len(routes) != 1 {
			t.Fatalf("routes after the check: %v, want the hub's /j%%21/", routes)
		}
	}
}
