package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gohub/internal/session"
)

// cookieRequest builds a request carrying alice's login and session cookies, plus, when xsrf
// is set, a valid _xsrf cookie and the matching X-XSRFToken header.
func (h *testHub) cookieRequest(method, path, body, contentType string, xsrf bool) *http.Request {
	h.t.Helper()
	alice, err := h.db.GetUser(context.Background(), "alice")
	if err != nil {
		h.t.Fatal(err)
	}
	var req *http.Request
	if body != "" {
		req, _ = http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	} else {
		req, _ = http.NewRequest(method, h.srv.URL+path, nil)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.AddCookie(&http.Cookie{Name: session.LoginCookie, Value: h.sessions.Sign(session.LoginCookie, alice.CookieID)})
	req.AddCookie(&http.Cookie{Name: session.SessionCookie, Value: "0123456789abcdef0123456789abcdef"})
	if xsrf {
		rec := httptest.NewRecorder()
		tok := h.sessions.ResetXSRF(rec, h.sessions.XSRFID(req, alice.CookieID))
		for _, c := range rec.Result().Cookies() {
			req.AddCookie(c)
		}
		req.Header.Set("X-XSRFToken", tok)
	}
	return req
}

// TestCookieAuthXSRF: cookie-authenticated writes need _xsrf (§4.4), form-encoded POSTs are not
// cookie-authenticated at all, and nothing is written when refused.
func TestCookieAuthXSRF(t *testing.T) {
	h := newTestHub(t)
	before := h.snapshot()

	r := h.send(h.cookieRequest("POST", "/hub/api/users/alice/tokens", `{"note": "x"}`, "application/json", false))
	if r.status != 403 || !strings.Contains(string(r.body), "_xsrf") {
		t.Errorf("cookie POST without _xsrf: %d %s", r.status, r.body)
	}
	r = h.send(h.cookieRequest("POST", "/hub/api/users/alice/tokens", "note=x", "application/x-www-form-urlencoded", true))
	if r.status != 403 || !strings.Contains(string(r.body), "Missing or invalid credentials") {
		t.Errorf("cookie POST with a form content type: %d %s", r.status, r.body)
	}
	if after := h.snapshot(); after != before {
		t.Fatalf("refused cookie requests wrote:\n%s\n%s", before, after)
	}

	r = h.send(h.cookieRequest("POST", "/hub/api/users/alice/tokens", `{"note": "from the browser"}`, "application/json", true))
	if r.status != 201 {
		t.Fatalf("cookie POST with _xsrf: %d %s", r.status, r.body)
	}
	if m := r.json(t).(map[string]any); m["note"] != "from the browser" || m["user"] != "alice" {
		t.Errorf("token made by cookie request: %s", r.body)
	}

	// Safe navigations need no _xsrf; fetch()-style GETs do.
	r = h.send(h.cookieRequest("GET", "/hub/api/user", "", "", false))
	if r.status != 200 {
		t.Errorf("cookie GET (navigation): %d %s", r.status, r.body)
	}
	id := r.json(t).(map[string]any)
	if id["name"] != "alice" || id["token_id"] != nil || id["session_id"] != "0123456789abcdef0123456789abcdef" {
		t.Errorf("cookie identity: %v", id)
	}
	req := h.cookieRequest("GET", "/hub/api/user", "", "", false)
	req.Header.Set("Sec-Fetch-Mode", "cors")
	if r := h.send(req); r.status != 403 {
		t.Errorf("cookie fetch GET without _xsrf: %d", r.status)
	}
	req = h.cookieRequest("GET", "/hub/api/user", "", "", true)
	req.Header.Set("Sec-Fetch-Mode", "cors")
	if r := h.send(req); r.status != 200 {
		t.Errorf("cookie fetch GET with _xsrf: %d %s", r.status, r.body)
	}
	// A forged login cookie is no login.
	req, _ = http.NewRequest("GET", h.srv.URL+"/hub/api/user", nil)
	req.AddCookie(&http.Cookie{Name: session.LoginCookie, Value: "2|1:0|10:1700000000|20:jupyterhub-hub-login|4:eA==|deadbeef"})
	if r := h.send(req); r.status != 403 {
		t.Errorf("forged cookie: %d", r.status)
	}
}

// TestAuthorizationHeader covers the header forms of §0.4.
func TestAuthorizationHeader(t *testing.T) {
	h := newTestHub(t)
	tok := h.tokens[callAlice]
	for hdr, want := range map[string]int{
		"token " + tok:        200,
		"Token " + tok:        200,
		"bearer " + tok:       200,
		"BEARER " + tok:       200,
		"basic " + tok:        403,
		"token":               403,
		"token " + tok + " x": 403,
		"token " + tok + "x":  403,
	} {
		req, _ := http.NewRequest("GET", h.srv.URL+"/hub/api/user", nil)
		req.Header.Set("Authorization", hdr)
		if r := h.send(req); r.status != want {
			t.Errorf("Authorization %q: %d, want %d", strings.Replace(hdr, tok, "<tok>", 1), r.status, want)
		}
	}
	req, _ := http.NewRequest("GET", h.srv.URL+"/hub/api/user?token="+tok, nil)
	if r := h.send(req); r.status != 403 {
		t.Errorf("?token= accepted: %d", r.status)
	}
}

// TestTokenByAuthBody: without credentials, POST /users/{name}/tokens hands the body's "auth"
// to the authenticator (JupyterHub's way for scripts to get a first token).
func TestTokenByAuthBody(t *testing.T) {
	h := newTestHub(t)
	if r := h.do(callAnon, "POST", "/hub/api/users/alice/tokens", map[string]any{"auth": map[string]any{"username": "alice", "password": "pw"}}); r.status != 403 {
		t.Fatalf("without a Login hook: %d", r.status)
	}
	h.api.d.Login = func(_ context.Context, _ *http.Request, auth map[string]any) (string, error) {
		if auth["username"] == "alice" && auth["password"] == "pw" {
			return "alice", nil
		}
		return "", errors.New("bad password")
	}
	before := h.snapshot()
	for _, body := range []map[string]any{
		{"auth": map[string]any{"username": "alice", "password": "wrong"}},
		{"note": "no auth"},
	} {
		if r := h.do(callAnon, "POST", "/hub/api/users/alice/tokens", body); r.status != 403 {
			t.Errorf("%v: %d %s", body, r.status, r.body)
		}
	}
	if r := h.do(callAnon, "POST", "/hub/api/users/bob/tokens", map[string]any{"auth": map[string]any{"username": "alice", "password": "pw"}}); r.status != 403 {
		t.Errorf("alice's password for bob's token: %d %s", r.status, r.body)
	}
	if after := h.snapshot(); after != before {
		t.Fatalf("refused requests wrote:\n%s\n%s", before, after)
	}
	r := h.do(callAnon, "POST", "/hub/api/users/alice/tokens", map[string]any{"auth": map[string]any{"username": "alice", "password": "pw"}, "note": "script"})
	if r.status != 201 {
		t.Fatalf("auth body: %d %s", r.status, r.body)
	}
	h.tokens["script"] = r.json(t).(map[string]any)["token"].(string)
	if r := h.do("script", "GET", "/hub/api/user", nil); r.status != 200 || r.json(t).(map[string]any)["name"] != "alice" {
		t.Errorf("token from auth body: %d %s", r.status, r.body)
	}
}
