package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
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
	"sync"
	"testing"
	"time"

	"gohub/internal/api"
	"gohub/internal/rbac"
	"gohub/internal/session"
	"gohub/internal/store"
	"gohub/internal/testutil"
	"gohub/internal/web"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-oauth-test")

// clock is a settable time source for the provider.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// noLogin is the pages' authenticator: these tests log in by minting the login cookie.
type noLogin struct{}

func (noLogin) Login(context.Context, *http.Request, string, string, url.Values) (string, *bool, error) {
	return "", nil, errors.New("no password logins in these tests")
}
func (noLogin) LoginForm() bool { return true }
func (noLogin) AutoLogin() bool { return false }

// names accepts any lowercase name (the API's username policy).
type names struct{}

func (names) Normalize(name string) string { return strings.ToLower(name) }
func (names) CheckUsername(string) error   { return nil }

// hub is the provider, the REST API and the pages on one mux over a real SQLite store.
type hub struct {
	t        testing.TB
	db       *store.DB
	sessions *session.Manager
	oauth    *Provider
	clock    *clock
	srv      *testutil.PublicServer // served by the public listener's server, as users reach it
	base     string                 // the base URL, "/" or "/prefix/"
	users    map[string]*store.User
	// aliceToken is the API token of alice's default server, the client secret of its client.
	aliceToken, aliceClient string
}

type hubOption func(*Deps)

func newHub(t testing.TB, opts ...hubOption) *hub {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "jupyterhub.sqlite"), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	for _, r := range rbac.DefaultRoles() {
		if _, err := db.UpsertRole(ctx, store.Role{Name: r.Name, Description: r.Description, Scopes: r.Scopes}); err != nil {
			t.Fatalf("role %s: %v", r.Name, err)
		}
	}
	catalog, err := rbac.NewCatalog(nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC()}
	var d Deps
	for _, o := range opts {
		o(&d)
	}
	base := d.BaseURL
	if base == "" {
		base = "/"
	}
	sessions, err := session.New(session.Options{Secret: testSecret, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	pages, err := web.New(web.Deps{Store: db, Sessions: sessions, Auth: noLogin{}, BaseURL: base, Version: "5.4.0",
		Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Deps{Store: db, Sessions: sessions, Catalog: catalog, Users: names{},
		BaseURL: base, Version: "5.4.0", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	full := Deps{Store: db, Sessions: sessions, Catalog: catalog, Pages: pages, Version: "5.4.0",
		Logger: logger, Now: clk.Now, Invalidate: a.Invalidate, BaseURL: base}
	for _, o := range opts {
		o(&full)
	}
	prov, err := New(full)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(base+"hub/api", a.Handler())
	mux.Handle(base+"hub/api/", a.Handler())
	prov.Register(mux)
	pages.Register(mux)
	srv := testutil.NewPublicServer(t, mux)
	t.Cleanup(srv.Close)
	h := &hub{t: t, db: db, sessions: sessions, oauth: prov, clock: clk, srv: srv, base: base,
		users: map[string]*store.User{}}
	for _, name := range []string{"alice", "bob"} {
		h.createUser(name, false)
	}
	h.createUser("admin", true)
	h.aliceToken, h.aliceClient = h.startServer("alice", "")
	return h
}

func (h *hub) createUser(name string, admin bool) *store.User {
	h.t.Helper()
	_, err := h.db.CreateUser(h.t.Context(), name, admin)
	if err != nil {
		h.t.Fatalf("create user %s: %v", name, err)
	}
	return h.reload(name)
}

// reload reads a user again (spawners, groups).
func (h *hub) reload(name string) *store.User {
	h.t.Helper()
	u, err := h.db.GetUser(h.t.Context(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	h.users[name] = u
	return u
}

// startServer does what the spawner manager does before starting a server: PrepareServer,
// then the client id recorded on the spawner row.
func (h *hub) startServer(user, server string) (token, clientID string) {
	h.t.Helper()
	ctx := h.t.Context()
	u := h.users[user]
	token, clientID, err := h.oauth.PrepareServer(ctx, u, server, "", ServerOptions{})
	if err != nil {
		h.t.Fatalf("prepare server %s/%s: %v", user, server, err)
	}
	sp, err := h.db.EnsureSpawner(ctx, u.ID, server)
	if err != nil {
		h.t.Fatal(err)
	}
	sp.OAuthClientID = clientID
	if err := h.db.SaveSpawner(ctx, sp); err != nil {
		h.t.Fatal(err)
	}
	h.reload(user)
	return token, clientID
}

// browser is a cookie-keeping client logged in as a user, not following redirects.
type browser struct {
	h *hub
	c *http.Client
}

func (h *hub) browser(user string) *browser {
	h.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if user != "" {
		rec := httptest.NewRecorder()
		h.sessions.SetLogin(rec, h.users[user].CookieID)
		u, _ := url.Parse(h.srv.URL + h.base + "hub/")
		jar.SetCookies(u, rec.Result().Cookies())
	}
	return &browser{h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// response is a read reply.
type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) *response {
	b.h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.h.srv.URL+path, body)
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
	raw, _ := io.ReadAll(resp.Body)
	return &response{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

// cookie returns the browser's cookie of that name sent to path ("" if none).
func (b *browser) cookie(path, name string) string {
	u, _ := url.Parse(b.h.srv.URL + path)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// authorizeQuery is the query a single-user server sends (protocol.md §2.4 step 1).
func authorizeQuery(clientID, redirect, state string) url.Values {
	return url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"state": {state}}
}

// withPKCE adds a challenge for verifier.
func withPKCE(q url.Values, verifier, method string) url.Values {
	q.Set("code_challenge_method", method)
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	} else {
		q.Set("code_challenge", verifier)
	}
	return q
}

const authorizePath = "/hub/api/oauth2/authorize"

// authorize runs the GET and returns the reply.
func (b *browser) authorize(q url.Values) *response {
	return b.do("GET", authorizePath+"?"+q.Encode(), nil)
}

// codeFrom checks a redirect to the client's callback and returns its code.
func codeFrom(t testing.TB, r *response, redirect, state string) string {
	t.Helper()
	if r.status != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302; body:\n%s", r.status, r.body)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Path != redirect {
		t.Fatalf("redirected to %s, want %s", loc, redirect)
	}
	q := loc.Query()
	if q.Get("error") != "" {
		t.Fatalf("redirected with error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != state {
		t.Errorf("state %q, want %q", q.Get("state"), state)
	}
	code := q.Get("code")
	if !regexp.MustCompile(`^[A-Za-z0-9]{30}$`).MatchString(code) {
		t.Errorf("code %q is not 30 letters and digits", code)
	}
	return code
}

// exchange posts to the token endpoint as the single-user server does and decodes the reply.
func (h *hub) exchange(form url.Values, basic ...string) (int, map[string]any) {
	h.t.Helper()
	req, err := http.NewRequest("POST", h.srv.URL+h.base+"hub/api/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		h.t.Fatalf("token reply is not JSON: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		h.t.Errorf("token reply Content-Type %q", ct)
	}
	return resp.StatusCode, body
}

// tokenForm is the form the single-user server posts for alice's default server.
func (h *hub) tokenForm(code, verifier string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {h.aliceClient},
		"client_secret": {h.aliceToken}, "redirect_uri": {"/user/alice/oauth_callback"}}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	return f
}

// identity calls GET /hub/api/user with a token and returns the decoded model.
func (h *hub) identity(token string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.srv.URL+h.base+"hub/api/user", nil)
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// strs converts a decoded JSON list.
func strs(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// formValues extracts the hidden inputs named name from a page.
func formValues(page, name string) []string {
	re := regexp.MustCompile(`<input type="hidden" name="` + regexp.QuoteMeta(name) + `" value="([^"]*)">`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		out = append(out, htmlUnescape(m[1]))
	}
	return out
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+").Replace(s)
}
