package web

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoot(t *testing.T) {
	e := newEnv(t, newAuth())
	b := e.browser()
	if r := b.get("/hub/"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/hub/login?next=%2Fhub%2F" {
		t.Errorf("root, anonymous: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	b.login("", "alice", "wonderland")
	if r := b.get("/hub/"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/hub/home" {
		t.Errorf("root, logged in: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := b.get("/hub/?foo=bar"); r.Header.Get("Location") != "/hub/home?foo=bar" {
		t.Errorf("root keeps the query on a default target: %q", r.Header.Get("Location"))
	}
	if r := b.get("/hub"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/hub/" {
		t.Errorf("/hub: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	e = newEnv(t, newAuth(), func(d *Deps) { d.DefaultURL = "/services/landing/" })
	if r := e.browser().get("/hub/"); r.Header.Get("Location") != "/services/landing/" {
		t.Errorf("root with default_url: %q", r.Header.Get("Location"))
	}
}

func TestHomeRequiresLogin(t *testing.T) {
	e := newEnv(t, newAuth())
	r := e.browser().get("/hub/home?tab=x")
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/hub/login?next=%2Fhub%2Fhome%3Ftab%3Dx" {
		t.Fatalf("home, anonymous: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestHomeShowsServers(t *testing.T) {
	e := newEnv(t, newAuth())
	b := e.browser()
	b.login("", "alice", "wonderland")
	if r := b.get("/hub/home"); !strings.Contains(r.body, `id="no-servers"`) {
		t.Fatal("no placeholder for a user without servers")
	}
	u, _ := e.db.GetUser(t.Context(), "alice")
	if _, err := e.db.EnsureSpawner(t.Context(), u.ID, ""); err != nil {
		t.Fatal(err)
	}
	r := b.get("/hub/home")
	if !strings.Contains(r.body, "Default server") || !strings.Contains(r.body, "Stopped") {
		t.Errorf("home does not list the stopped default server")
	}
	// A page view keeps the _xsrf cookie for the logged-in id; nothing new is set.
	if c := setCookie(r, "_xsrf"); c != nil {
		t.Errorf("home reset _xsrf: %+v", c)
	}
}

func TestErrorPages(t *testing.T) {
	e := newEnv(t, newAuth())
	b := e.browser()
	r := b.get("/hub/error/503?url=%2Fuser%2Falice%2F")
	if r.StatusCode != 200 || !strings.Contains(r.body, "appears to be down") || !strings.Contains(r.body, `href="/hub/home"`) {
		t.Errorf("proxy 503 page: %d", r.StatusCode)
	}
	if r.Header.Get("X-JupyterHub-Version") == "" {
		t.Error("no version header on the error page")
	}
	if r := b.get("/hub/error/abc"); r.StatusCode != http.StatusNotFound {
		t.Errorf("bad code: %d", r.StatusCode)
	}
	r = b.get("/hub/no/such/page")
	if r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "Not Found") || !strings.Contains(r.body, `href="/hub/home"`) {
		t.Errorf("unknown hub path: %d", r.StatusCode)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("404 content type %q", r.Header.Get("Content-Type"))
	}
	for _, code := range []int{403, 500, 503} {
		rec := httptest.NewRecorder()
		e.pages.Error(rec, httptest.NewRequest("GET", "/hub/x", nil), code, "custom <message>")
		if rec.Code != code || !strings.Contains(rec.Body.String(), "custom &lt;message&gt;") || !strings.Contains(rec.Body.String(), `href="/hub/home"`) {
			t.Errorf("Error(%d): status %d", code, rec.Code)
		}
	}
}

func TestNotHub(t *testing.T) {
	for _, base := range []string{"/", "/prefix/"} {
		e := newEnv(t, newAuth(), func(d *Deps) { d.BaseURL = base })
		b := e.browser()
		cases := map[string]string{
			base + "user/alice":          base + "user/alice/",
			base + "user/alice?x=1":      base + "user/alice/?x=1",
			base + "services/culler":     base + "services/culler/",
			base + "user/alice/tree?x=1": base + "hub/user/alice/tree?x=1",
			base + "user/al%20ice/lab":   base + "hub/user/al%20ice/lab",
			base + "favicon.ico":         base + "hub/favicon.ico",
			base:                         base + "hub/",
		}
		for path, want := range cases {
			r := b.get(path)
			if r.StatusCode != http.StatusFound || r.Header.Get("Location") != want {
				t.Errorf("base %s: %s → %d %q, want %q", base, path, r.StatusCode, r.Header.Get("Location"), want)
			}
		}
		if r := b.do("POST", base+"user/alice/api/kernels", nil); r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST outside the hub: %d", r.StatusCode)
		}
		if base != "/" {
			if r := b.get(base + "hub/login"); r.StatusCode != 200 || !strings.Contains(r.body, `action="`+base+`hub/login"`) {
				t.Errorf("login page under %s: %d", base, r.StatusCode)
			}
		}
	}
}

func TestStatic(t *testing.T) {
	e := newEnv(t, newAuth())
	b := e.browser()
	page := b.get("/hub/login")
	i := strings.Index(page.body, "/hub/static/style.css?v=")
	if i < 0 {
		t.Fatal("page does not link the versioned stylesheet")
	}
	href := page.body[i:]
	href = href[:strings.IndexByte(href, '"')]
	r := b.get(href)
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") ||
		!strings.Contains(r.Header.Get("Cache-Control"), "max-age=31536000") {
		t.Fatalf("versioned css: %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
	}
	plain := b.get("/hub/static/style.css")
	if plain.Header.Get("Cache-Control") != "no-cache" || plain.Header.Get("ETag") == "" {
		t.Errorf("unversioned css headers: %v", plain.Header)
	}
	if r := b.get("/hub/static/style.css", "If-None-Match", plain.Header.Get("ETag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", r.StatusCode)
	}
	if r := b.get("/hub/static/../web.go"); r.StatusCode == 200 {
		t.Error("path escape served a file")
	}
	if r := b.get("/hub/logo"); r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "image/svg+xml") {
		t.Errorf("logo: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
}

func TestEscapeName(t *testing.T) {
	for in, want := range map[string]string{"alice": "alice", "a@b.c~d": "a@b.c~d", "a b/c": "a%20b%2Fc", "é": "%C3%A9"} {
		if got := escapeName(in); got != want {
			t.Errorf("escapeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTemplateDirOverride(t *testing.T) {
	dir := t.TempDir()
	custom := `{{define "body"}}<p id="custom">Welcome to the lab hub</p>{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "login.html"), []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, newAuth(), func(d *Deps) { d.TemplateDir = dir })
	r := e.browser().get("/hub/login")
	if !strings.Contains(r.body, "Welcome to the lab hub") || !strings.Contains(r.body, "gohub") {
		t.Fatalf("override not used with the embedded layout: %s", r.body)
	}
	// A template that cannot render answers 500 rather than half a page.
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "home.html"), []byte(`{{define "body"}}{{.Nope}}{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e = newEnv(t, newAuth(), func(d *Deps) { d.TemplateDir = dir })
	b := e.browser()
	b.login("", "alice", "wonderland")
	if r := b.get("/hub/home"); r.StatusCode != http.StatusInternalServerError {
		t.Errorf("broken template: %d", r.StatusCode)
	}
}

func TestLoginServiceButton(t *testing.T) {
	e := newEnv(t, urlAuth{&fakeAuth{noForm: true, loginURL: "/hub/oauth_login"}}, func(d *Deps) { d.LoginService = "GitHub" })
	r := e.browser().get("/hub/login?next=%2Fhub%2Ftoken")
	if !strings.Contains(r.body, `href="/hub/oauth_login?next=%2Fhub%2Ftoken"`) || !strings.Contains(r.body, "Sign in with GitHub") {
		t.Fatalf("login button missing: %s", r.body)
	}
}
