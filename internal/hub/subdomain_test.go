package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// hostGet sends method path to the hub's public listener with the given Host header and
// returns status, Location, Set-Cookie headers and body, following no redirect.
func hostGet(t *testing.T, lh *liveHub, method, host, path string, form url.Values) (int, string, []string, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, lh.public+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), resp.Header.Values("Set-Cookie"), string(b)
}

// TestSubdomainHost: with subdomain_host http://localhost:{port}, alice's server runs on
// alice.localhost (route, OAuth redirect URI, ready URL), /user/alice/ on the hub's host goes
// there, the hub's pages on a user's host go to the hub's host (a login there is refused), and
// the hub's cookies carry no Domain, so browsers keep them to the hub's host.
func TestSubdomainHost(t *testing.T) {
	t.Parallel()
	var pub int
	lh := startLiveHub(t, nil, func(dir string, p, hubPort int) string {
		pub = p
		return subdomainConfig(t, dir, p, hubPort, "DummyAuthenticator:\n  password: pw\n")
	})
	hubHost := fmt.Sprintf("localhost:%d", pub)
	aliceOrigin := fmt.Sprintf("http://alice.localhost:%d", pub)

	// The server: routed by host, its OAuth client redirects to its own host.
	if code := lh.api("POST", "/users/alice", adminToken, nil, nil); code != 201 {
		t.Fatalf("create alice: %d", code)
	}
	lh.startServer("alice")
	if rt := lh.h.table.Match("/alice.localhost/user/alice/api"); rt == nil || !strings.HasPrefix(rt.Prefix, "/alice.localhost/user/alice") {
		t.Fatalf("no host route for alice's server: %+v", rt)
	}
	if rt := lh.h.table.Match("/localhost/user/alice/api"); rt == nil || rt.Prefix != "/" {
		t.Errorf("alice's server is routed on the hub's host too: %+v", rt)
	}
	cl, err := lh.h.db.GetOAuthClient(context.Background(), "jupyterhub-user-alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := aliceOrigin + "/user/alice/oauth_callback"; cl.RedirectURI != want {
		t.Errorf("redirect URI %q, want %q", cl.RedirectURI, want)
	}
	// The REST API names her server by its own origin, as upstream's: the user model's server,
	// the server model's url and full_url; full_progress_url is on the hub's origin.
	var model struct {
		Server  *string `json:"server"`
		Servers map[string]struct {
			URL             string  `json:"url"`
			FullURL         *string `json:"full_url"`
			FullProgressURL *string `json:"full_progress_url"`
		} `json:"servers"`
	}
	if code := lh.api("GET", "/users/alice", adminToken, nil, &model); code != 200 {
		t.Fatalf("GET /users/alice: %d", code)
	}
	wantURL := aliceOrigin + "/user/alice/"
	if model.Server == nil || *model.Server != wantURL {
		t.Errorf("user model server %s, want %q", deref(model.Server), wantURL)
	}
	if sm, ok := model.Servers[""]; !ok || sm.URL != wantURL || sm.FullURL == nil || *sm.FullURL != wantURL ||
		sm.FullProgressURL == nil || *sm.FullProgressURL != "http://"+hubHost+"/hub/api/users/alice/server/progress" {
		t.Errorf("server model: %+v (full_url %v, full_progress_url %v)", sm, deref(sm.FullURL), deref(sm.FullProgressURL))
	}

	// Through her host's route, her server shows its environment.
	code, _, _, body := hostGet(t, lh, "GET", fmt.Sprintf("alice.localhost:%d", pub), "/user/alice/env", nil)
	var env map[string]string
	if code != 200 || json.Unmarshal([]byte(body), &env) != nil {
		t.Fatalf("alice's server on her host: %d %s", code, body)
	}
	for k, want := range map[string]string{
		"JUPYTERHUB_HOST":               "http://" + hubHost,
		"JUPYTERHUB_OAUTH_CALLBACK_URL": aliceOrigin + "/user/alice/oauth_callback",
		"JUPYTERHUB_PUBLIC_URL":         aliceOrigin + "/user/alice/",
		"JUPYTERHUB_PUBLIC_HUB_URL":     "http://" + hubHost + "/hub/",
		"JUPYTERHUB_SERVICE_PREFIX":     "/user/alice/",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}

	// /user/alice/... on the hub's host goes to alice's host.
	code, loc, _, _ := hostGet(t, lh, "GET", hubHost, "/user/alice/tree?x=1", nil)
	if code != http.StatusFound || loc != aliceOrigin+"/user/alice/tree?x=1" {
		t.Errorf("/user/alice/tree on the hub's host: %d %q", code, loc)
	}
	// A name that is not a DNS label gets its hashed host.
	code, loc, _, _ = hostGet(t, lh, "GET", hubHost, "/user/Bob%20Smith/", nil)
	if code != http.StatusFound || !strings.HasPrefix(loc, "http://u-bobsmith--") || !strings.HasSuffix(loc, fmt.Sprintf(".localhost:%d/user/Bob%%20Smith/", pub)) {
		t.Errorf("/user/Bob%%20Smith/ on the hub's host: %d %q", code, loc)
	}

	// The hub on a user's host: pages go to the hub's host, a login post is refused.
	code, loc, _, _ = hostGet(t, lh, "GET", "mallory.localhost", "/hub/login?next=%2Fhub%2Ftoken", nil)
	if code != http.StatusFound || loc != "http://"+hubHost+"/hub/login?next=%2Fhub%2Ftoken" {
		t.Errorf("/hub/login on mallory's host: %d %q", code, loc)
	}
	code, _, cookies, _ := hostGet(t, lh, "POST", "mallory.localhost", "/hub/login", url.Values{"username": {"victim"}, "password": {"pw"}})
	if code != http.StatusForbidden || len(cookies) > 0 {
		t.Errorf("login post on mallory's host: %d, cookies %q", code, cookies)
	}

	// The hub's cookies are host-only.
	b := lh.browser()
	rec := &cookieRecorder{}
	b.c.Transport = rec
	if !b.login("victim", "pw") {
		t.Fatal("login")
	}
	b.get("/hub/token")
	if len(rec.setCookies) == 0 {
		t.Fatal("no cookies set at login")
	}
	for _, c := range rec.setCookies {
		if strings.Contains(strings.ToLower(c), "domain=") {
			t.Errorf("cookie with a Domain: %s", c)
		}
	}
}

// cookieRecorder is a transport that keeps every Set-Cookie header it sees.
type cookieRecorder struct{ setCookies []string }

func (c *cookieRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.setCookies = append(c.setCookies, resp.Header.Values("Set-Cookie")...)
	}
	return resp, err
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
