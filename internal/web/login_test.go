package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gohub/internal/store"
)

func newAuth() *fakeAuth {
	return &fakeAuth{
		passwords: map[string]string{"alice": "wonderland", "Boss": "secret"},
		admin:     map[string]bool{"Boss": true},
	}
}

func TestLoginPage(t *testing.T) {
	e := newEnv(t, newAuth())
	b := e.browser()
	r := b.get("/hub/login?next=%2Fhub%2Fhome%3Fx%3D1")
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if got := r.Header.Get("Content-Security-Policy"); !strings.HasPrefix(got, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", got)
	}
	if r.Header.Get("X-JupyterHub-Version") != "5.4.0" {
		t.Errorf("version header %q", r.Header.Get("X-JupyterHub-Version"))
	}
	for _, want := range []string{`name="username"`, `name="password"`, `name="_xsrf"`,
		`action="/hub/login?next=%2Fhub%2Fhome%3Fx%3D1"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	x := setCookie(r, "_xsrf")
	if x == nil || x.HttpOnly || x.Path != "/hub/" || x.MaxAge != 3600 {
		t.Fatalf("_xsrf cookie %+v", x)
	}
	if m := xsrfField.FindStringSubmatch(r.body); m == nil || m[1] != x.Value {
		t.Errorf("form token differs from the cookie")
	}
}

func TestLoginWrongPassword(t *testing.T) {
	e := newEnv(t, newAuth())
	b := e.browser()
	r := b.login("", " alice ", "nope")
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d", r.StatusCode)
	}
	if !strings.Contains(r.body, "Invalid username or password") {
		t.Error("no error message")
	}
	if !strings.Contains(r.body, `value="alice"`) {
		t.Error("username not kept (stripped) in the form")
	}
	if setCookie(r, "jupyterhub-hub-login") != nil {
		t.Error("login cookie set on failure")
	}
	if _, err := e.db.GetUser(t.Context(), "alice"); err == nil {
		t.Error("user created on failure")
	}
}

// TestLoginBackendDown: an authenticator that cannot decide gives a 500 page, not "invalid
// password", and logs nobody in.
func TestLoginBackendDown(t *testing.T) {
	e := newEnv(t, newAuth())
	r := e.browser().login("", "backend-down", "whatever")
	if r.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", r.StatusCode)
	}
	if strings.Contains(r.body, "Invalid username or password") || !strings.Contains(r.body, "not available") {
		t.Errorf("page does not say login is unavailable:\n%s", r.body)
	}
	if setCookie(r, "jupyterhub-hub-login") != nil {
		t.Error("login cookie set on a failed login")
	}
}

func TestLoginXSRF(t *testing.T) {
	e := newEnv(t, newAuth())
	for name, tc := range map[string]struct {
		form url.Values
	}{
		"missing": {url.Values{"username": {"alice"}, "password": {"wonderland"}}},
		"wrong":   {url.Values{"username": {"alice"}, "password": {"wonderland"}, "_xsrf": {"forged"}}},
	} {
		t.Run(name, func(t *testing.T) {
			b := e.browser()
			b.loginForm("") // the browser has a valid _xsrf cookie
			r := b.do("POST", "/hub/login", tc.form)
			if r.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d", r.StatusCode)
			}
			if !strings.Contains(r.body, "Login form invalid or expired. Try again.") {
				t.Errorf("body lacks the xsrf message")
			}
			if setCookie(r, "jupyterhub-hub-login") != nil {
				t.Error("logged in without xsrf")
			}
		})
	}
	// The token of another browser (another User-Agent) does not do either.
	b1, b2 := e.browser(), e.browser()
	x := b1.loginForm("")
	b2.get("/hub/login", "User-Agent", "other")
	r := b2.do("POST", "/hub/login", url.Values{"_xsrf": {x}, "username": {"alice"}, "password": {"wonderland"}}, "User-Agent", "other")
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("another browser's token: status %d", r.StatusCode)
	}
}

func TestLoginSuccess(t *testing.T) {
	a := newAuth()
	e := newEnv(t, a)
	b := e.browser()
	r := b.login("", "alice", "wonderland")
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/hub/home" {
		t.Fatalf("status %d location %q body %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	u, err := e.db.GetUser(t.Context(), "alice")
	if err != nil {
		t.Fatalf("user not created: %v", err)
	}
	if u.Admin || len(u.Roles) != 1 || u.Roles[0] != "user" {
		t.Errorf("new user admin=%v roles=%v", u.Admin, u.Roles)
	}
	c := setCookie(r, "jupyterhub-hub-login")
	if c == nil || !c.HttpOnly || c.Path != "/hub/" || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("login cookie %+v", c)
	}
	if id, ok := e.sessions.Verify("jupyterhub-hub-login", c.Value); !ok || id != u.CookieID {
		t.Fatalf("login cookie does not sign the user's cookie_id")
	}
	sess := setCookie(r, "jupyterhub-session-id")
	if sess == nil || len(sess.Value) != 32 || !sess.HttpOnly || sess.Path != "/" {
		t.Fatalf("session cookie %+v", sess)
	}
	x := setCookie(r, "_xsrf")
	if x == nil || x.MaxAge != 0 || x.Path != "/hub/" {
		t.Fatalf("_xsrf not reset for the logged-in id: %+v", x)
	}
	// The authenticator saw every field but _xsrf.
	form := a.forms[len(a.forms)-1]
	if form.Has("_xsrf") || form.Get("username") != "alice" || form.Get("password") != "wonderland" {
		t.Errorf("form passed to the authenticator: %v", form)
	}

	home := b.get("/hub/home")
	if home.StatusCode != 200 || !strings.Contains(home.body, "alice") || !strings.Contains(home.body, "Sign out") {
		t.Fatalf("home: %d", home.StatusCode)
	}
	// Logged in, the login page sends the browser on.
	if r := b.get("/hub/login?next=/hub/home%3Ftab%3D2"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/hub/home?tab=2" {
		t.Errorf("login page when logged in: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestLoginAdminFlag(t *testing.T) {
	e := newEnv(t, newAuth())
	// An existing non-admin user whom the authenticator says is an admin.
	if _, err := e.db.CreateUser(t.Context(), "boss", false); err != nil {
		t.Fatal(err)
	}
	r := e.browser().login("", "Boss", "secret")
	if r.StatusCode != http.StatusFound {
		t.Fatalf("status %d", r.StatusCode)
	}
	u, _ := e.db.GetUser(t.Context(), "boss")
	if !u.Admin {
		t.Error("admin flag not applied")
	}
}

func TestLoginNext(t *testing.T) {
	e := newEnv(t, newAuth())
	host := strings.TrimPrefix(e.srv.URL, "http://")
	cases := map[string]string{
		"/user/alice/lab?x=1":               "/user/alice/lab?x=1",
		"//evil.example":                    "/hub/home",
		"https://evil.example":              "/hub/home",
		"https://evil.example/hub/home":     "/hub/home",
		`/\evil.example`:                    "/%5Cevil.example",
		"///evil.example":                   "/hub/home",
		"http://" + host + "/hub/token#x":   "/hub/token#x",
		"//" + host + "/user/alice/":        "/user/alice/",
		"javascript:alert(1)":               "/hub/home",
		"/\t/evil.example":                  "/hub/home",
		"http://" + host + ".evil.example/": "/hub/home",
	}
	for next, want := range cases {
		q := "?next=" + url.QueryEscape(next)
		r := e.browser().login(q, "alice", "wonderland")
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != want {
			t.Errorf("next=%q: %d → %q, want %q", next, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
}

func TestLandingHooks(t *testing.T) {
	e := newEnv(t, newAuth(), func(d *Deps) {
		d.RedirectToServer = true
		d.ServerLanding = func(r *http.Request, u *store.User) string { return "/hub/spawn" }
	})
	if r := e.browser().login("", "alice", "wonderland"); r.Header.Get("Location") != "/hub/spawn" {
		t.Errorf("redirect_to_server landing: %q", r.Header.Get("Location"))
	}
	e = newEnv(t, newAuth(), func(d *Deps) { d.DefaultURL = "/hub/token" })
	if r := e.browser().login("", "alice", "wonderland"); r.Header.Get("Location") != "/hub/token" {
		t.Errorf("default_url landing: %q", r.Header.Get("Location"))
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, newAuth())
	b := e.browser()
	if r := b.login("", "alice", "wonderland"); r.StatusCode != http.StatusFound {
		t.Fatalf("login %d", r.StatusCode)
	}
	ctx := t.Context()
	u, _ := e.db.GetUser(ctx, "alice")
	sid := b.cookie("/", "jupyterhub-session-id").Value
	mine, err := e.db.CreateToken(ctx, store.NewToken{Plain: "token-of-this-session", UserID: &u.ID, SessionID: sid})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.db.CreateToken(ctx, store.NewToken{Plain: "token-of-another-session", UserID: &u.ID, SessionID: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}

	r := b.get("/hub/logout")
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/hub/login" {
		t.Fatalf("logout: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	for name, path := range map[string]string{"jupyterhub-hub-login": "/hub/", "jupyterhub-session-id": "/", "_xsrf": "/hub/"} {
		c := setCookie(r, name)
		if c == nil || c.MaxAge >= 0 || c.Path != path {
			t.Errorf("%s not cleared: %+v", name, c)
		}
	}
	if _, err := e.db.GetToken(ctx, mine.ID); err == nil {
		t.Error("the session's token survived logout")
	}
	if _, err := e.db.GetToken(ctx, other.ID); err != nil {
		t.Errorf("another session's token was deleted: %v", err)
	}
	if r := b.get("/hub/home"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/hub/login?next=%2Fhub%2Fhome" {
		t.Errorf("home after logout: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// Rotating cookie_id logs every browser out.
func TestRotatedCookieID(t *testing.T) {
	e := newEnv(t, newAuth())
	b := e.browser()
	b.login("", "alice", "wonderland")
	u, _ := e.db.GetUser(t.Context(), "alice")
	if _, err := e.db.RotateCookieID(t.Context(), u.ID); err != nil {
		t.Fatal(err)
	}
	r := b.get("/hub/home")
	if r.StatusCode != http.StatusFound {
		t.Fatalf("home with a rotated cookie_id: %d", r.StatusCode)
	}
	if c := setCookie(r, "jupyterhub-hub-login"); c == nil || c.MaxAge >= 0 {
		t.Error("stale login cookie not cleared")
	}
}

func TestNoLoginForm(t *testing.T) {
	e := newEnv(t, &fakeAuth{noForm: true})
	r := e.browser().get("/hub/login")
	if r.StatusCode != 200 || !strings.Contains(r.body, "Login is not available") || strings.Contains(r.body, `name="password"`) {
		t.Fatalf("null authenticator page: %d", r.StatusCode)
	}
}

func TestAutoLogin(t *testing.T) {
	// The login URL is this page: log in from the request.
	e := newEnv(t, &fakeAuth{auto: true})
	b := e.browser()
	if r := b.get("/hub/login"); r.StatusCode != http.StatusForbidden {
		t.Errorf("auto login without identity: %d", r.StatusCode)
	}
	r := b.get("/hub/login", "Remote-User", "carol")
	if r.StatusCode != http.StatusFound || setCookie(r, "jupyterhub-hub-login") == nil {
		t.Fatalf("auto login: %d", r.StatusCode)
	}
	// The authenticator has its own page: go there with next.
	e = newEnv(t, urlAuth{&fakeAuth{auto: true, loginURL: "/hub/oauth_login"}})
	r = e.browser().get("/hub/login?next=%2Fhub%2Ftoken")
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/hub/oauth_login?next=%2Fhub%2Ftoken" {
		t.Errorf("auto login redirect: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	// Logout under auto_login shows a page instead of looping back into login.
	if r := e.browser().get("/hub/logout"); r.StatusCode != 200 || !strings.Contains(r.body, "Signed out") {
		t.Errorf("auto_login logout: %d", r.StatusCode)
	}
}
