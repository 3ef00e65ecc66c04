package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"gohub/internal/session"
	"gohub/internal/store"
	"gohub/internal/testutil"
)

// fakeAuth accepts the passwords in its map; admins get an explicit admin flag.
type fakeAuth struct {
	mu        sync.Mutex
	passwords map[string]string
	admin     map[string]bool
	noForm    bool
	auto      bool
	loginURL  string
	forms     []url.Values
}

var errRefused = errors.New("refused")

func (a *fakeAuth) Login(ctx context.Context, r *http.Request, username, password string, form url.Values) (string, *bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forms = append(a.forms, form)
	if a.auto {
		if u := r.Header.Get("Remote-User"); u != "" {
			return u, nil, nil
		}
		return "", nil, errRefused
	}
	if username == "backend-down" {
		return "", nil, fmt.Errorf("%w: ldap: connection refused", ErrLoginUnavailable)
	}
	want, ok := a.passwords[username]
	if !ok || want != password {
		return "", nil, errRefused
	}
	if adm, ok := a.admin[username]; ok {
		return strings.ToLower(username), &adm, nil
	}
	return strings.ToLower(username), nil, nil
}

func (a *fakeAuth) LoginForm() bool { return !a.noForm }
func (a *fakeAuth) AutoLogin() bool { return a.auto }

// urlAuth is a fakeAuth with its own login page.
type urlAuth struct{ *fakeAuth }

func (a urlAuth) LoginURL() string { return a.loginURL }

// env is a hub's pages on an httptest server over a real SQLite store.
type env struct {
	t        *testing.T
	db       *store.DB
	sessions *session.Manager
	pages    *Pages
	srv      *testutil.PublicServer // served by the public listener's server, as users reach it
	// mux serves srv; tests may add routes (the REST progress stream, a stand-in proxy).
	mux *http.ServeMux
}

type envOption func(*Deps)

func newEnv(t *testing.T, a Authenticator, opts ...envOption) *env {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "jupyterhub.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The default roles, as the hub creates them at start.
	for _, r := range []store.Role{{Name: "user", Scopes: []string{"self"}}, {Name: "admin", Scopes: []string{"admin:users"}}} {
		if _, err := db.UpsertRole(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	d := Deps{
		Store: db, Auth: a, BaseURL: "/", Version: "5.4.0",
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, o := range opts {
		o(&d)
	}
	sm, err := session.New(session.Options{Secret: []byte("0123456789abcdef0123456789abcdef"), BaseURL: d.BaseURL})
	if err != nil {
		t.Fatal(err)
	}
	d.Sessions = sm
	p, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Register(mux)
	mux.HandleFunc(p.d.BaseURL, p.NotHub)
	srv := testutil.NewPublicServer(t, mux)
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, sessions: sm, pages: p, srv: srv, mux: mux}
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, jar: jar, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is a read response.
type response struct {
	*http.Response
	body string
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) *response {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return &response{Response: resp, body: string(data)}
}

func (b *browser) get(path string, hdr ...string) *response { return b.do("GET", path, nil, hdr...) }

var xsrfField = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

// loginForm loads the login page (with next query, if any) and returns its _xsrf value.
func (b *browser) loginForm(query string) string {
	b.e.t.Helper()
	r := b.get("/hub/login" + query)
	if r.StatusCode != 200 {
		b.e.t.Fatalf("login page: %d %s", r.StatusCode, r.body)
	}
	m := xsrfField.FindStringSubmatch(r.body)
	if m == nil {
		b.e.t.Fatalf("no _xsrf field in the login page")
	}
	return m[1]
}

// login posts the form and returns the response.
func (b *browser) login(query, user, password string) *response {
	b.e.t.Helper()
	x := b.loginForm(query)
	return b.do("POST", "/hub/login"+query, url.Values{"_xsrf": {x}, "username": {user}, "password": {password}})
}

// cookie returns the jar's cookie of that name for path, nil if none.
func (b *browser) cookie(path, name string) *http.Cookie {
	u, _ := url.Parse(b.e.srv.URL + path)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// setCookie finds a Set-Cookie of the response by name.
func setCookie(r *response, name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
