package proxy

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAPIConformance runs CHP's api_spec cases, in order, against gohub's API and against
// the real configurable-http-proxy: same status codes, same bodies.
func TestAPIConformance(t *testing.T) {
	for _, p := range implementations(t) {
		t.Run(p.name, func(t *testing.T) { apiConformance(t, p) })
	}
}

func apiConformance(t *testing.T, p proxyUnderTest) {
	routes := p.api + "/api/routes"
	target := "http://127.0.0.1:8998"
	steps := []struct {
		name, method, path, token, body string
		status                          int
		respBody                        string // exact, unless "*"
	}{
		{"no token", "GET", "", "", "", 403, ""},
		{"wrong token", "GET", "", "nope", "", 403, ""},
		{"empty table", "GET", "", p.token, "", 200, "{}"},
		{"create", "POST", "/user/foo", p.token, `{"target":"` + target + `","user":"foo","n":[1,{"x":null}]}`, 201, ""},
		{"create escaped", "POST", "/user/foo%40bar", p.token, `{"target":"` + target + `"}`, 201, ""},
		{"create trailing slash", "POST", "/user/baz/", p.token, `{"target":"` + target + `"}`, 201, ""},
		{"create root", "POST", "", p.token, `{"target":"` + target + `"}`, 201, ""},
		{"re-POST overwrites", "POST", "/user/foo", p.token, `{"target":"` + target + `","user":"foo","n":[1,{"x":null}]}`, 201, ""},
		{"missing target", "POST", "/user/x", p.token, `{"user":"x"}`, 400, "Must specify 'target' as string"},
		{"target not a string", "POST", "/user/x", p.token, `{"target":5}`, 400, "Must specify 'target' as string"},
		{"null body", "POST", "/user/x", p.token, `null`, 400, "Must specify 'target' as string"},
		{"invalid JSON", "POST", "/user/x", p.token, `{"target":`, 400, "*"},
		{"get one", "GET", "/user/foo", p.token, "", 200, "*"},
		{"get one trailing slash", "GET", "/user/baz/", p.token, "", 200, "*"},
		{"get missing", "GET", "/user/nobody", p.token, "", 404, ""},
		{"bad inactive_since", "GET", "?inactive_since=endoftheuniverse", p.token, "", 400,
			"Invalid datestamp 'endoftheuniverse' must be ISO8601."},
		{"PUT not allowed", "PUT", "/user/foo", p.token, `{}`, 405, "Method not supported"},
		{"other path", "GET", "s", p.token, "", 404, "Not Found"},
		{"delete", "DELETE", "/user/foo%40bar", p.token, "", 204, ""},
		{"delete again", "DELETE", "/user/foo%40bar", p.token, "", 404, ""},
		{"delete trailing slash", "DELETE", "/user/baz/", p.token, "", 204, ""},
	}
	for _, s := range steps {
		url := routes + s.path
		if s.name == "other path" {
			url = p.api + "/api/routesx" // /api/routes is the only resource
		}
		status, body := apiDo(t, s.method, url, s.token, s.body)
		if status != s.status || (s.respBody != "*" && body != s.respBody) {
			t.Errorf("%s: %s %s = %d %q, want %d %q", s.name, s.method, s.path, status, body, s.status, s.respBody)
		}
	}
	// The table now holds "/" and "/user/foo" (data verbatim, last_activity added).
	status, body := apiDo(t, "GET", routes, p.token, "")
	var all map[string]map[string]any
	if err := json.Unmarshal([]byte(body), &all); status != 200 || err != nil {
		t.Fatalf("list: %d %q %v", status, body, err)
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"/", "/user/foo"}) {
		t.Fatalf("routes %v", keys)
	}
	foo := all["/user/foo"]
	if foo["target"] != target || foo["user"] != "foo" {
		t.Errorf("route data %v", foo)
	}
	if n, _ := json.Marshal(foo["n"]); string(n) != `[1,{"x":null}]` {
		t.Errorf("nested data %s", n)
	}
	la, err := time.Parse(time.RFC3339, foo["last_activity"].(string))
	if err != nil || time.Since(la) > time.Minute || !strings.HasSuffix(foo["last_activity"].(string), "Z") {
		t.Errorf("last_activity %v (%v)", foo["last_activity"], err)
	}
	// inactive_since: routes whose last activity is strictly earlier.
	for since, want := range map[string]int{
		time.Unix(0, 1e6).UTC().Format(isoMillis):         0,
		time.Now().Add(time.Hour).UTC().Format(isoMillis): 2,
	} {
		_, body := apiDo(t, "GET", routes+"?inactive_since="+url.QueryEscape(since), p.token, "")
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil || len(m) != want {
			t.Errorf("inactive_since=%s: %d routes (%v), want %d", since, len(m), err, want)
		}
	}
	_, body = apiDo(t, "GET", routes+"?inactiveSince="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), p.token, "")
	if !strings.Contains(body, "/user/foo") {
		t.Errorf("inactiveSince spelling ignored: %s", body)
	}
	// The escaped route was stored decoded and routed: check through the public port.
	if resp, err := http.Get(p.public + "/_chp_healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

func TestAPINoTokenMeansOpen(t *testing.T) {
	tab := NewRouteTable()
	api := NewAPI(tab, APIOptions{})
	rec := newRecorder()
	req, _ := http.NewRequest("POST", "/api/routes/user/x", strings.NewReader(`{"target":"http://127.0.0.1:1"}`))
	api.ServeHTTP(rec, req)
	if rec.Code != 201 || tab.Get("/user/x") == nil {
		t.Fatalf("POST without token: %d", rec.Code)
	}
}

func TestAPIHostRoutingAddsHost(t *testing.T) {
	tab := NewRouteTable()
	api := NewAPI(tab, APIOptions{HostRouting: true})
	rec := newRecorder()
	req, _ := http.NewRequest("POST", "/api/routes/alice.hub.test/user/alice", strings.NewReader(`{"target":"http://127.0.0.1:1"}`))
	api.ServeHTTP(rec, req)
	r := tab.Get("/alice.hub.test/user/alice")
	if rec.Code != 201 || r == nil || r.Data()["host"] != "alice.hub.test" {
		t.Fatalf("host routing add: %d %v", rec.Code, r)
	}
}

func TestParseTimestamp(t *testing.T) {
	for _, s := range []string{"2026-11-23T09:00:00.000Z", "2026-11-23T09:00:00Z", "2026-11-23T09:00:00+01:00",
		"2026-11-23T09:00:00.123456", "2026-11-23", "2026-11-23T09:00:00.123456+00:00"} {
		if _, err := ParseTimestamp(s); err != nil {
			t.Errorf("ParseTimestamp(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "yesterday", "2026-13-01", "23/11/2026"} {
		if _, err := ParseTimestamp(s); err == nil {
			t.Errorf("ParseTimestamp(%q) accepted", s)
		}
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func TestListEncodesOddKeysAndTimes(t *testing.T) {
	tab := NewRouteTable()
	api := NewAPI(tab, APIOptions{})
	for _, p := range []string{"/user/%22%C3%BC%5C", "/user/a%3Cb%3E", "/user/plain"} {
		rec := newRecorder()
		api.ServeHTTP(rec, httptest.NewRequest("POST", "/api/routes"+p, strings.NewReader(`{"target":"http://127.0.0.1:1"}`)))
		if rec.Code != 201 {
			t.Fatalf("POST %s: %d", p, rec.Code)
		}
	}
	rec := newRecorder()
	api.ServeHTTP(rec, httptest.NewRequest("GET", "/api/routes", nil))
	var got map[string]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, rec.Body)
	}
	for _, k := range []string{`/user/"ü\`, "/user/a<b>", "/user/plain"} {
		if _, ok := got[k]; !ok {
			t.Errorf("key %q missing from %s", k, rec.Body)
		}
	}
	for _, ts := range []time.Time{time.Unix(0, 0), time.Date(2026, 11, 23, 9, 5, 7, 123456789, time.UTC),
		time.Date(999, 1, 2, 3, 4, 5, 6e6, time.UTC), time.Now()} {
		ts = ts.UTC()
		if got, want := string(appendISOMillis(nil, ts)), ts.Format(isoMillis); got != want {
			t.Errorf("appendISOMillis(%v) = %s, want %s", ts, got, want)
		}
	}
}

// TestAPIRefusesUnroutableKeys posts keys that no request can be matched to, as JupyterHub
// would send them for a server named ".." or a name that is not UTF-8: 400, nothing stored.
// (CHP resolves the dots instead: POST /api/routes/user/alice/.. sets the route "/user".)
func TestAPIRefusesUnroutableKeys(t *testing.T) {
	tab := NewRouteTable()
	srv := httptest.NewServer(NewAPI(tab, APIOptions{AuthToken: testToken, Logger: discardLogger()}))
	defer srv.Close()
	for _, p := range []string{"/user/alice/..", "/user/alice/../", "/user/%2e%2e", "/user/alice/%2E", "/user/alice/.",
		"/user/alice%2F..", "/..", "/user/%FF", "/user/%C3"} {
		status, body := apiDo(t, "POST", srv.URL+"/api/routes"+p, testToken, `{"target":"http://127.0.0.1:1"}`)
		if status != http.StatusBadRequest {
			t.Errorf("POST %s: %d %q, want 400", p, status, body)
		}
	}
	if tab.Len() != 0 {
		t.Errorf("routes stored: %v", tab.All())
	}
}
