// Package authtest runs an authenticator behind the hub's real login page: a SQLite store, the
// login pipeline, the pages of internal/web (with the authenticator's own pages) on an httptest
// server, and a cookie-keeping browser that posts forms with their _xsrf token. Tests of
// authenticators use it to log in through POST /hub/login as a browser does.
package authtest

import (
	"context"
	"errors"
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

	"gohub/internal/auth"
	"gohub/internal/authstate"
	"gohub/internal/session"
	"gohub/internal/store"
	"gohub/internal/web"
)

// Hub is the login side of a hub.
type Hub struct {
	t        testing.TB
	DB       *store.DB
	Pipeline *auth.Pipeline
	Pages    *web.Pages
	Server   *httptest.Server
}

// testCookieSecret is the cookie secret of every test hub; the 2FA secret sealer's key is
// derived from it as the hub's is.
const testCookieSecret = "0123456789abcdef0123456789abcdef"

// Options tune New.
type Options struct {
	// DBPath is the SQLite file; a new one in t.TempDir() when empty. Reuse it to "restart".
	DBPath string
}

// DBFile returns a fresh SQLite path for Options.DBPath, to share between two hubs.
func DBFile(t testing.TB) string { return filepath.Join(t.TempDir(), "jupyterhub.sqlite") }

// New starts the hub's login pages around a with the common config cfg.
func New(t testing.TB, a auth.Authenticator, cfg auth.Config, opts Options) *Hub {
	t.Helper()
	ctx := context.Background()
	path := opts.DBPath
	if path == "" {
		path = DBFile(t)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	db, err := store.Open(ctx, "sqlite:///"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, r := range []store.Role{{Name: "user", Scopes: []string{"self"}}, {Name: "admin", Scopes: []string{"admin:users"}}} {
		if _, err := db.UpsertRole(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(ctx context.Context, name string) (bool, error) {
		_, err := db.GetUser(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	p, err := auth.NewPipeline(cfg, a, exists, log)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := authstate.NewSealer("", []byte(testCookieSecret))
	if err != nil {
		t.Fatal(err)
	}
	p.UseSealer(sealer)
	if err := p.Start(ctx, db); err != nil {
		t.Fatal(err)
	}
	sm, err := session.New(session.Options{Secret: []byte(testCookieSecret), BaseURL: "/"})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := web.New(web.Deps{Store: db, Sessions: sm, Auth: adapter{p}, BaseURL: "/", Version: "5.4.0", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.RegisterPages(mux, "/hub/", pages)
	pages.Register(mux)
	mux.HandleFunc("/", pages.NotHub)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &Hub{t: t, DB: db, Pipeline: p, Pages: pages, Server: srv}
}

// testWriter sends log lines to the test log while the test runs.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// adapter is the hub's loginAdapter: the pages' view of the pipeline.
type adapter struct{ p *auth.Pipeline }

func (l adapter) Login(ctx context.Context, r *http.Request, username, password string, form url.Values) (string, *bool, error) {
	id, err := l.p.Login(ctx, auth.Credentials{Username: username, Password: password, Form: form, Request: r})
	if err != nil {
		return "", nil, err
	}
	return id.Name, id.Admin, nil
}
func (l adapter) LoginForm() bool { return l.p.LoginForm() }
func (l adapter) AutoLogin() bool { return l.p.AutoLogin() }

// OTPPrompt, LoginLinks and HomeLinks pass the authenticator's page extras on (web.PageExtras).
func (l adapter) OTPPrompt() string                  { return l.p.OTPPrompt() }
func (l adapter) LoginLinks() []web.Link             { return webLinks(l.p.LoginLinks()) }
func (l adapter) HomeLinks(u *store.User) []web.Link { return webLinks(l.p.HomeLinks(u)) }

func webLinks(in []auth.Link) []web.Link {
	var out []web.Link
	for _, k := range in {
		out = append(out, web.Link{Text: k.Text, URL: k.URL})
	}
	return out
}

// Browser is a cookie-keeping client that does not follow redirects.
type Browser struct {
	h *Hub
	c *http.Client
}

// Browser returns a new browser with an empty cookie jar.
func (h *Hub) Browser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{h: h, c: &http.Client{
		Jar:           jar,
		Timeout:       time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Copy returns a new browser holding copies of b's cookies for the hub's pages, as someone who
// stole them would.
func (b *Browser) Copy() *Browser {
	c := b.h.Browser()
	u, _ := url.Parse(b.h.Server.URL + "/hub/")
	c.c.Jar.SetCookies(u, b.c.Jar.Cookies(u))
	return c
}

// Response is a response with its body read.
type Response struct {
	Status   int
	Body     string
	Location string
}

// Do sends a request; form, if not nil, is posted url-encoded.
func (b *Browser) Do(method, path string, form url.Values) Response {
	b.h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.h.Server.URL+path, body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Body: string(data), Location: resp.Header.Get("Location")}
}

var xsrfField = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

// XSRF loads a page and returns the _xsrf value of its form.
func (b *Browser) XSRF(path string) string {
	b.h.t.Helper()
	r := b.Do("GET", path, nil)
	m := xsrfField.FindStringSubmatch(r.Body)
	if r.Status != 200 || m == nil {
		b.h.t.Fatalf("GET %s: %d, no _xsrf field:\n%s", path, r.Status, r.Body)
	}
	return m[1]
}

// Submit loads the form page at path and posts fields (plus its _xsrf) back to it.
func (b *Browser) Submit(path string, fields url.Values) Response {
	b.h.t.Helper()
	form := url.Values{"_xsrf": {b.XSRF(path)}}
	for k, v := range fields {
		form[k] = v
	}
	return b.Do("POST", path, form)
}

// Login posts the login form: 302 means logged in, 403 refused.
func (b *Browser) Login(username, password string) Response {
	b.h.t.Helper()
	return b.Submit("/hub/login", url.Values{"username": {username}, "password": {password}})
}

// User returns the hub's database row for name, nil if there is none.
func (h *Hub) User(name string) *store.User {
	u, err := h.DB.GetUser(context.Background(), name)
	if err != nil {
		return nil
	}
	return u
}
