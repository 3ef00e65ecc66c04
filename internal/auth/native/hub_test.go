package native_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gohub/internal/config"
	"gohub/internal/hub"
)

// fullHub is a whole gohub (pages, REST API, spawner) with the native authenticator, served by
// an httptest server; approverToken is an admin service's API token. mallory (no admin) holds
// admin:users on every user through the role user-admins.
type fullHub struct {
	t       *testing.T
	h       *hub.Hub
	file    *config.File
	srv     *httptest.Server
	console *bytes.Buffer // what the hub printed for its operator (Options.Console)
}

// setPassword sets a password as `gohub user set-password` does: the only way, with the
// invitation printed at startup, to give an admin one.
func (f *fullHub) setPassword(name, pw string) {
	f.t.Helper()
	ad, err := hub.OpenAdmin(f.t.Context(), f.file, false)
	if err != nil {
		f.t.Fatal(err)
	}
	defer ad.Close()
	if _, err := ad.SetPassword(f.t.Context(), name, pw); err != nil {
		f.t.Fatalf("set-password %s: %v", name, err)
	}
}

// adminLogin gives the admin a password and logs the client in.
func (c *client) adminLogin(pw string) {
	c.f.t.Helper()
	c.f.setPassword("admin", pw)
	if s, body := c.submit("/hub/login", url.Values{"username": {"admin"}, "password": {pw}}); s != 302 {
		c.f.t.Fatalf("login admin: %d %s", s, alert(body))
	}
}

const approverToken = "approver-token-0123456789abcdef0123456789"

func newFullHub(t *testing.T, nativeCfg string) *fullHub {
	t.Helper()
	dir := t.TempDir()
	yaml := fmt.Sprintf(`
JupyterHub:
  db_url: sqlite:///%s
  cookie_secret: %s
  authenticator_class: native
  spawner_class: simple
  services:
    - {name: approver, api_token: %s, admin: true}
  load_roles:
    - {name: user-admins, scopes: [admin:users], users: [mallory]}
Authenticator:
  admin_users: [admin]
  failed_logins_before_lockout: 0
NativeAuthenticator:
  bcrypt_cost: 4
%s
Spawner:
  cmd: [/bin/sh, -c, "sleep 2; exit 3"]
  start_timeout: 10
SimpleLocalProcessSpawner:
  home_dir_template: %s/home/{username}
`, filepath.Join(dir, "gohub.sqlite"), strings.Repeat("5e", 32), approverToken, indent(nativeCfg), dir)
	f, err := config.Parse("gohub_config.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	console := &bytes.Buffer{}
	h, err := hub.New(context.Background(), f, hub.Options{Logger: log, Getenv: func(string) string { return "" }, Console: console})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return &fullHub{t: t, h: h, file: f, srv: srv, console: console}
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			b.WriteString("  " + strings.TrimSpace(l) + "\n")
		}
	}
	return b.String()
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// client is a cookie-keeping HTTP client of the full hub.
type client struct {
	f *fullHub
	c *http.Client
}

func (f *fullHub) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{f: f, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request; body is JSON-encoded unless it is url.Values (a form).
func (c *client) do(method, path string, body any, header ...string) (int, string) {
	c.f.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		data, _ := json.Marshal(b)
		rd, ct = strings.NewReader(string(data)), "application/json"
	}
	req, err := http.NewRequest(method, c.f.srv.URL+path, rd)
	if err != nil {
		c.f.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

var xsrfRE = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

// submit loads the form page at path and posts fields with its _xsrf token.
func (c *client) submit(path string, fields url.Values) (int, string) {
	c.f.t.Helper()
	_, page := c.do("GET", path, nil)
	m := xsrfRE.FindStringSubmatch(page)
	if m == nil {
		c.f.t.Fatalf("GET %s: no _xsrf\n%s", path, page)
	}
	fields.Set("_xsrf", m[1])
	return c.do("POST", path, fields)
}

func (c *client) signupAndLogin(name, pw string) {
	c.f.t.Helper()
	c.submit("/hub/signup", url.Values{"username": {name}, "signup_password": {pw}, "signup_password_confirmation": {pw}})
	if s, body := c.submit("/hub/login", url.Values{"username": {name}, "password": {pw}}); s != 302 {
		c.f.t.Fatalf("login %s: %d %s", name, s, alert(body))
	}
}

// token makes an API token of user name with scopes, through the admin service.
func (f *fullHub) token(name string, scopes ...string) string {
	f.t.Helper()
	body := map[string]any{"note": "test"}
	if scopes != nil {
		body["scopes"] = scopes
	}
	s, out := f.client().do("POST", "/hub/api/users/"+name+"/tokens", body, "Authorization", "token "+approverToken)
	var v struct{ Token string }
	if s != 201 || json.Unmarshal([]byte(out), &v) != nil || v.Token == "" {
		f.t.Fatalf("token for %s: %d %s", name, s, out)
	}
	return v.Token
}

type apiList struct {
	Items []struct {
		Name       string `json:"name"`
		Authorized bool   `json:"authorized"`
		Has2FA     bool   `json:"has_2fa"`
	} `json:"items"`
	Total int `json:"total"`
}

// TestAPI: the documented admin API lists, authorizes, un-authorizes and discards sign-ups
// for an admin token or an admin's cookie with X-XSRFToken, and answers 403 to anyone else.
func TestAPI(t *testing.T) {
	f := newFullHub(t, "")
	anon := f.client()
	for _, n := range []string{"ann", "ben", "cat"} {
		s, body := anon.submit("/hub/signup", url.Values{"username": {n}, "signup_password": {n + "-password"}, "signup_password_confirmation": {n + "-password"}})
		if s != 200 {
			t.Fatalf("sign-up %s: %d %s", n, s, alert(body))
		}
	}
	bot := func(method, path string) (int, string) {
		return f.client().do(method, path, nil, "Authorization", "token "+approverToken)
	}
	s, out := bot("GET", "/hub/api/native/users?state=unauthorized")
	var list apiList
	if s != 200 || json.Unmarshal([]byte(out), &list) != nil || list.Total != 3 || list.Items[0].Name != "ann" {
		t.Fatalf("list: %d %s", s, out)
	}
	if strings.Contains(out, "$2") || strings.Contains(out, "hash") {
		t.Errorf("the list shows password hashes: %s", out)
	}
	if s, out := bot("GET", "/hub/api/native/users?search=BE&limit=1"); s != 200 || !strings.Contains(out, `"name":"ben"`) || !strings.Contains(out, `"total":1`) {
		t.Errorf("search: %d %s", s, out)
	}
	if s, _ := bot("GET", "/hub/api/native/users?state=nonsense"); s != 400 {
		t.Errorf("bad state: %d", s)
	}
	if s, out := bot("POST", "/hub/api/native/users/ann/authorize"); s != 200 || !strings.Contains(out, `"authorized":true`) {
		t.Fatalf("authorize: %d %s", s, out)
	}
	ann := f.client()
	if s, body := ann.submit("/hub/login", url.Values{"username": {"ann"}, "password": {"ann-password"}}); s != 302 {
		t.Fatalf("ann's login after API approval: %d %s", s, alert(body))
	}
	if s, out := bot("POST", "/hub/api/native/users/ann/unauthorize"); s != 200 || !strings.Contains(out, `"authorized":false`) {
		t.Errorf("unauthorize: %d %s", s, out)
	}
	if s, _ := bot("POST", "/hub/api/native/users/nobody/authorize"); s != 404 {
		t.Errorf("authorize an unknown name: %d", s)
	}

	// Discard: ben is a hub user too (created by the admin API); afterwards neither the
	// sign-up nor the hub user is left, in the REST API's lists either.
	if s, out := f.client().do("POST", "/hub/api/users/ben", nil, "Authorization", "token "+approverToken); s != 201 {
		t.Fatalf("create hub user ben: %d %s", s, out)
	}
	if _, out := bot("GET", "/hub/api/users"); !strings.Contains(out, `"name":"ben"`) {
		t.Fatalf("ben not listed before the discard: %s", out)
	}
	if s, out := bot("DELETE", "/hub/api/native/users/ben"); s != 204 {
		t.Fatalf("discard: %d %s", s, out)
	}
	if _, out := bot("GET", "/hub/api/users"); strings.Contains(out, `"name":"ben"`) {
		t.Errorf("ben still in the hub's user list after the discard: %s", out)
	}
	if s, _ := bot("GET", "/hub/api/users/ben"); s != 404 {
		t.Errorf("GET /hub/api/users/ben after the discard: %d", s)
	}
	if s, _ := bot("GET", "/hub/api/native/users/ben"); s != 404 {
		t.Errorf("GET native ben after the discard: %d", s)
	}
	if s, out := bot("GET", "/hub/api/native/users"); !strings.Contains(out, `"total":2`) {
		t.Errorf("list after the discard: %d %s", s, out)
	}
	// ann (the hub user of a login) cannot be discarded while authorized.
	bot("POST", "/hub/api/native/users/ann/authorize")
	if s, _ := bot("DELETE", "/hub/api/native/users/ann"); s != 400 {
		t.Errorf("discard an authorized sign-up: %d", s)
	}

	// Everyone else gets 403: anonymous, a non-admin's token and cookie, an admin's token
	// without admin:users, an admin's cookie without X-XSRFToken.
	annTok := f.token("ann")
	admin := f.client()
	admin.adminLogin("admin-password")
	weakAdminTok := f.token("admin", "read:users")
	for _, c := range []struct {
		name   string
		cl     *client
		header []string
	}{
		{"anonymous", f.client(), nil},
		{"user token", f.client(), []string{"Authorization", "token " + annTok}},
		{"user cookie", ann, nil},
		{"admin token without admin:users", f.client(), []string{"Authorization", "token " + weakAdminTok}},
		{"admin cookie without X-XSRFToken", admin, nil},
		{"bogus token", f.client(), []string{"Authorization", "token nope"}},
	} {
		for _, req := range []struct{ method, path string }{
			{"GET", "/hub/api/native/users"},
			{"POST", "/hub/api/native/users/cat/authorize"},
			{"POST", "/hub/api/native/users/ann/unauthorize"},
			{"DELETE", "/hub/api/native/users/cat"},
		} {
			if c.cl == admin && req.method == "GET" {
				continue // reads need no token (protocol.md §4.4: a GET is not a cross-site write)
			}
			if s, _ := c.cl.do(req.method, req.path, nil, c.header...); s != 403 {
				t.Errorf("%s: %s %s = %d, want 403", c.name, req.method, req.path, s)
			}
		}
	}
	if s, out := bot("GET", "/hub/api/native/users/cat"); !strings.Contains(out, `"authorized":false`) {
		t.Errorf("cat changed by a refused request: %d %s", s, out)
	}
	// An admin's cookie with the page's XSRF token may write.
	_, home := admin.do("GET", "/hub/home", nil)
	xsrf := xsrfRE.FindStringSubmatch(home)
	if xsrf == nil {
		t.Fatal("no _xsrf on home")
	}
	if s, out := admin.do("POST", "/hub/api/native/users/cat/authorize", nil, "X-XSRFToken", xsrf[1]); s != 200 {
		t.Errorf("admin cookie with X-XSRFToken: %d %s", s, out)
	}
	// A form post from another site carries the cookie but is not cookie-authenticated.
	if s, _ := admin.do("POST", "/hub/api/native/users/cat/unauthorize", url.Values{"_xsrf": {xsrf[1]}}); s != 403 {
		t.Errorf("form-encoded cookie POST: %d", s)
	}
}

// TestNameTakenInAnyCase: on a full hub, a name that has a sign-up cannot be taken again in
// another letter case, also through a case-preserving name typed differently.
func TestNameTakenInAnyCase(t *testing.T) {
	f := newFullHub(t, "open_signup: true")
	c := f.client()
	c.signupAndLogin("Mixed", "mixed-password")
	for _, n := range []string{"mixed", "MIXED", "mIxEd", " mixed "} {
		s, body := f.client().submit("/hub/signup", url.Values{"username": {n}, "signup_password": {"other-password"}, "signup_password_confirmation": {"other-password"}})
		if s != 400 || alert(body) != "This username is already taken. Please choose another one." {
			t.Errorf("sign-up %q: %d %q", n, s, alert(body))
		}
	}
}

// TestUnauthorizeRevokesAndResetLink: un-authorizing ends the user's browser session and API
// tokens at once (the hub's revoker), and the hub's password-reset link sets a Native password.
func TestUnauthorizeRevokesAndResetLink(t *testing.T) {
	f := newFullHub(t, "")
	bot := func(method, path string) (int, string) {
		return f.client().do(method, path, nil, "Authorization", "token "+approverToken)
	}
	dan := f.client()
	if s, body := dan.submit("/hub/signup", url.Values{"username": {"dan"}, "signup_password": {"dan-password"}, "signup_password_confirmation": {"dan-password"}}); s != 200 {
		t.Fatalf("sign-up: %d %s", s, alert(body))
	}
	if s, out := bot("POST", "/hub/api/native/users/dan/authorize"); s != 200 {
		t.Fatalf("authorize: %d %s", s, out)
	}
	if s, body := dan.submit("/hub/login", url.Values{"username": {"dan"}, "password": {"dan-password"}}); s != 302 {
		t.Fatalf("login: %d %s", s, alert(body))
	}
	tok := f.token("dan")
	withToken := func() int {
		s, _ := f.client().do("GET", "/hub/api/user", nil, "Authorization", "token "+tok)
		return s
	}
	if s, _ := dan.do("GET", "/hub/home", nil); s != 200 {
		t.Fatalf("home before: %d", s)
	}
	if s := withToken(); s != 200 {
		t.Fatalf("token before: %d", s)
	}
	if s, out := bot("POST", "/hub/api/native/users/dan/unauthorize"); s != 200 {
		t.Fatalf("unauthorize: %d %s", s, out)
	}
	if s, _ := dan.do("GET", "/hub/home", nil); s != 302 {
		t.Errorf("home after un-authorize: %d, want 302 to login", s)
	}
	if s := withToken(); s != 403 {
		t.Errorf("token after un-authorize: %d, want 403", s)
	}
	if s, body := f.client().submit("/hub/login", url.Values{"username": {"dan"}, "password": {"dan-password"}}); s != 403 || !strings.Contains(body, "approval") {
		t.Errorf("login after un-authorize: %d %s", s, alert(body))
	}

	// An admin's reset link sets a new Native password; the old one stops working.
	bot("POST", "/hub/api/native/users/dan/authorize")
	s, out := bot("POST", "/hub/api/users/dan/password-reset")
	var link struct{ URL string }
	if s != 201 || json.Unmarshal([]byte(out), &link) != nil || link.URL == "" {
		t.Fatalf("reset link: %d %s", s, out)
	}
	u, err := url.Parse(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	if s, body := f.client().submit(u.RequestURI(), url.Values{"token": {u.Query().Get("token")}, "password": {"dan-new-password"}, "confirm": {"dan-new-password"}}); s != 200 {
		t.Fatalf("use the link: %d %s", s, alert(body))
	}
	if s, body := f.client().submit("/hub/login", url.Values{"username": {"dan"}, "password": {"dan-new-password"}}); s != 302 {
		t.Errorf("login with the new password: %d %s", s, alert(body))
	}
	if s, _ := f.client().submit("/hub/login", url.Values{"username": {"dan"}, "password": {"dan-password"}}); s != 403 {
		t.Errorf("login with the old password: %d", s)
	}
}

// TestAPIUserManagerCannotTouchAdmins: a non-admin whose token holds admin:users cannot
// un-authorize, discard or authorize the sign-up of an admin through /hub/api/native/ (403,
// nothing changes); on others the token works.
func TestAPIUserManagerCannotTouchAdmins(t *testing.T) {
	f := newFullHub(t, "")
	bot := func(method, path string) (int, string) {
		return f.client().do(method, path, nil, "Authorization", "token "+approverToken)
	}
	f.client().adminLogin("admin-password")
	for _, n := range []string{"mallory", "otto"} {
		f.client().submit("/hub/signup", url.Values{"username": {n}, "signup_password": {n + "-password"}, "signup_password_confirmation": {n + "-password"}})
		if s, out := bot("POST", "/hub/api/native/users/"+n+"/authorize"); s != 200 {
			t.Fatalf("authorize %s: %d %s", n, s, out)
		}
	}
	tok := f.token("mallory")
	as := func(method, path string) (int, string) {
		return f.client().do(method, path, nil, "Authorization", "token "+tok)
	}
	for _, req := range []struct{ method, path string }{
		{"POST", "/hub/api/native/users/admin/unauthorize"},
		{"DELETE", "/hub/api/native/users/admin"},
		{"POST", "/hub/api/native/users/admin/authorize"},
	} {
		if s, out := as(req.method, req.path); s != 403 {
			t.Errorf("%s %s by a non-admin: %d %s", req.method, req.path, s, out)
		}
	}
	if s, out := bot("GET", "/hub/api/native/users/admin"); !strings.Contains(out, `"authorized":true`) {
		t.Errorf("the admin's sign-up changed: %d %s", s, out)
	}
	if s, out := as("POST", "/hub/api/native/users/otto/unauthorize"); s != 200 {
		t.Errorf("unauthorize otto: %d %s", s, out)
	}
}

// inviteRE finds the path of an invitation link the hub printed for its operator.
var inviteRE = regexp.MustCompile(`https?://[^/\s]+(/hub/invite\?token=[^\s]+)`)

// TestFirstAdminInvitation: at startup the hub prints (on its console, not its log) a one-time
// invitation for an admin without a password, at every start until the admin has one. The
// link sets the password of that account only, works once, and stops working as soon as the
// admin has a password (a link left in a terminal's scrollback cannot replace it later).
func TestFirstAdminInvitation(t *testing.T) {
	f := newFullHub(t, "")
	m := inviteRE.FindStringSubmatch(f.console.String())
	if m == nil || !strings.Contains(f.console.String(), "gohub user set-password admin") {
		t.Fatalf("no invitation printed for the admin:\n%s", f.console.String())
	}
	first := m[1]
	token, _ := url.ParseQuery(strings.TrimPrefix(first, "/hub/invite?"))
	// A second start before the admin has a password prints another link.
	var again bytes.Buffer
	h2, err := hub.New(t.Context(), f.file, hub.Options{Logger: slog.New(slog.DiscardHandler), Getenv: func(string) string { return "" }, Console: &again})
	if err != nil {
		t.Fatal(err)
	}
	h2.Close()
	m2 := inviteRE.FindStringSubmatch(again.String())
	if m2 == nil || m2[1] == first {
		t.Fatalf("second start: %q", again.String())
	}

	c := f.client()
	if s, page := c.do("GET", first, nil); s != 200 || !strings.Contains(page, `value="admin"`) {
		t.Fatalf("invitation page: %d %s", s, page)
	}
	fields := func(name string) url.Values {
		return url.Values{"token": {token.Get("token")}, "username": {name}, "password": {"admin-first-pw"}, "confirm": {"admin-first-pw"}}
	}
	if s, page := c.submit(first, fields("mallory")); s != 400 || !strings.Contains(page, "for the account admin") {
		t.Errorf("the admin's invitation used for another name: %d", s)
	}
	if s, page := c.submit(first, fields("admin")); s != 200 {
		t.Fatalf("accept the admin's invitation: %d %s", s, page)
	}
	if s, body := c.submit("/hub/login", url.Values{"username": {"admin"}, "password": {"admin-first-pw"}}); s != 302 {
		t.Fatalf("the admin's login: %d %s", s, alert(body))
	}
	for _, link := range []string{first, m2[1]} {
		if s, _ := f.client().do("GET", link, nil); s != 400 {
			t.Errorf("invitation %s after the admin has a password: %d, want 400", link, s)
		}
	}
	var third bytes.Buffer
	h3, err := hub.New(t.Context(), f.file, hub.Options{Logger: slog.New(slog.DiscardHandler), Getenv: func(string) string { return "" }, Console: &third})
	if err != nil {
		t.Fatal(err)
	}
	h3.Close()
	if inviteRE.MatchString(third.String()) {
		t.Errorf("an invitation printed although the admin has a password: %s", third.String())
	}
}
