package oauth_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/text/language"

	"gohub/internal/authstate"
	"gohub/internal/config"
	"gohub/internal/hub"
	"gohub/internal/store"
)

// opUser is a user of the test OpenID provider, with the groups its userinfo reports.
type opUser struct {
	storage.User
	groups []string
}

// opUsers is the provider's user store (storage.UserStore).
type opUsers struct{ byID map[string]*opUser }

func (s opUsers) GetUserByID(id string) *storage.User {
	if u := s.byID[id]; u != nil {
		return &u.User
	}
	return nil
}

func (s opUsers) GetUserByUsername(name string) *storage.User {
	for _, u := range s.byID {
		if u.Username == name {
			return &u.User
		}
	}
	return nil
}

func (s opUsers) ExampleClientID() string { return "service" }

// groupStorage is the example OP's in-memory storage plus a Keycloak-style nested groups claim
// (realm_access.groups) in the userinfo answer. The groups can change between requests.
type groupStorage struct {
	*storage.Storage
	mu     sync.Mutex
	groups map[string][]string
}

func (s *groupStorage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info.AppendClaims("realm_access", map[string]any{"groups": s.groups[info.Subject]})
	return nil
}

func (s *groupStorage) setGroups(id string, groups ...string) {
	s.mu.Lock()
	s.groups[id] = groups
	s.mu.Unlock()
}

// provider is a real OpenID provider (zitadel/oidc's example OP) on 127.0.0.1.
type provider struct {
	srv     *httptest.Server
	issuer  string
	storage *groupStorage
}

// startProvider starts the OP with a confidential client web/secret whose redirect URI is
// redirect, and users alice (physics), bob (staff) and carol (chemistry).
func startProvider(t *testing.T, redirect string) *provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String() + "/"
	users := opUsers{byID: map[string]*opUser{}}
	for id, name := range map[string]string{"id-alice": "alice", "id-bob": "bob", "id-carol": "carol"} {
		users.byID[id] = &opUser{User: storage.User{ID: id, Username: name, Password: "pw-" + name,
			FirstName: strings.ToUpper(name[:1]) + name[1:], LastName: "Test", Email: name + "@example.org",
			EmailVerified: true, PreferredLanguage: language.English}}
	}
	clients := map[string]*storage.Client{"web": storage.WebClient("web", "secret", redirect)}
	st := &groupStorage{Storage: storage.NewStorageWithClients(users, clients), groups: map[string][]string{
		"id-alice": {"physics"}, "id-bob": {"staff"}, "id-carol": {"chemistry"},
	}}
	srv.Config.Handler = exampleop.SetupServer(issuer, st, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return &provider{srv: srv, issuer: issuer, storage: st}
}

// testHub is a real gohub hub (hub.New from a config file) on an httptest server.
type testHub struct {
	srv *httptest.Server
	h   *hub.Hub
	db  *store.DB
	key string
	dir string
}

// startHub serves a hub whose handler is set once the provider (which needs the hub's
// callback URL) runs; configure gets the hub's URL and returns the YAML config.
func newHubServer(t *testing.T) (*httptest.Server, *atomic.Value) {
	var handler atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &handler
}

func startHub(t *testing.T, srv *httptest.Server, handler *atomic.Value, yaml string) *testHub {
	t.Helper()
	dir := t.TempDir()
	yaml = strings.ReplaceAll(yaml, "@DB@", "sqlite:///"+filepath.Join(dir, "hub.sqlite"))
	file, err := config.Parse("gohub_config.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("5a", 32)
	env := map[string]string{authstate.EnvKey: key, "JPY_COOKIE_SECRET": strings.Repeat("ab", 32)}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	h, err := hub.New(t.Context(), file, hub.Options{Logger: log, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	handler.Store(h.Handler())
	return &testHub{srv: srv, h: h, db: h.DB(), key: key, dir: dir}
}

// browser is an HTTP client with a cookie jar that follows redirects, like a browser.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func get(t *testing.T, c *http.Client, target string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var authRequestID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// login runs the whole browser login: the hub's login page and its "Sign in with" button,
// the provider's login form, the callback; it returns the last response.
func (th *testHub) login(t *testing.T, c *http.Client, op *provider, user string) (*http.Response, string) {
	t.Helper()
	resp, page := get(t, c, th.srv.URL+"/hub/login?next=%2Fhub%2Fhome")
	if resp.StatusCode != 200 || !strings.Contains(page, `id="login_service"`) || !strings.Contains(page, "Sign in with Test IdP") {
		t.Fatalf("login page %d: %s", resp.StatusCode, page)
	}
	if strings.Contains(page, `name="password"`) {
		t.Fatal("the login page shows a password form for an OAuth authenticator")
	}
	href := regexp.MustCompile(`href="([^"]*oauth_login[^"]*)"`).FindStringSubmatch(page)
	if href == nil {
		t.Fatalf("no oauth_login link: %s", page)
	}
	resp, form := get(t, c, th.srv.URL+strings.ReplaceAll(href[1], "&amp;", "&"))
	if !strings.HasPrefix(resp.Request.URL.String(), op.issuer+"login/username") {
		t.Fatalf("oauth_login did not reach the provider's login form: %s (%d) %s", resp.Request.URL, resp.StatusCode, form)
	}
	m := authRequestID.FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no auth request id in the provider's form: %s", form)
	}
	resp, err := c.PostForm(op.issuer+"login/username", url.Values{"id": {m[1]}, "username": {user}, "password": {"pw-" + user}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

const oidcConfig = `
JupyterHub:
  authenticator_class: generic
  db_url: "@DB@"
  redirect_to_server: false        # land on home: these tests do not start servers
Authenticator:
  enable_auth_state: true
  manage_groups: true
  auth_refresh_age: 300
OAuthenticator:
  client_id: web
  client_secret: secret
GenericOAuthenticator:
  oidc_issuer: "@ISSUER@"
  login_service: Test IdP
  scope: [openid, profile, email, offline_access]
  username_claim: preferred_username
  claim_groups_key: realm_access.groups
  allowed_groups: [physics]
  admin_groups: [staff]
`

func setupOIDC(t *testing.T, replace ...string) (*testHub, *provider) {
	srv, handler := newHubServer(t)
	op := startProvider(t, srv.URL+"/hub/oauth_callback")
	cfg := strings.ReplaceAll(oidcConfig, "@ISSUER@", op.issuer)
	for i := 0; i+1 < len(replace); i += 2 {
		cfg = strings.ReplaceAll(cfg, replace[i], replace[i+1])
	}
	th := startHub(t, srv, handler, cfg)
	return th, op
}

// The whole login against a real OpenID provider: the hub's login page shows the provider's
// button, the provider's form logs alice in, the callback lands on /hub/home with the hub's
// login cookie; her groups come from the nested groups claim, and her auth_state (access,
// refresh and ID tokens, user info) is stored encrypted: the database row holds no token in
// clear. bob is admin through admin_groups; carol (in no allowed group) gets the 403 page.
func TestOIDCLoginThroughRealProvider(t *testing.T) {
	th, op := setupOIDC(t)
	ctx := t.Context()

	c := browser(t)
	resp, body := th.login(t, c, op, "alice")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("after login: %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	if !strings.Contains(body, "alice") {
		t.Errorf("home page does not name alice: %s", body)
	}
	u, err := th.db.GetUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Admin || !slices.Equal(u.Groups, []string{"physics"}) {
		t.Errorf("alice: admin %v groups %v", u.Admin, u.Groups)
	}
	crypt, _ := authstate.New(th.key)
	state, err := crypt.Decrypt(ctx, u.EncryptedAuthState)
	if err != nil {
		t.Fatal(err)
	}
	access, _ := state["access_token"].(string)
	refresh, _ := state["refresh_token"].(string)
	idToken, _ := state["id_token"].(string)
	if access == "" || refresh == "" || idToken == "" {
		t.Fatalf("auth_state lacks tokens: %v", state)
	}
	info, _ := state["oauth_user"].(map[string]any)
	if info["preferred_username"] != "alice" || info["email"] != "alice@example.org" {
		t.Errorf("auth_state.oauth_user = %v", info)
	}
	for _, tok := range []string{access, refresh, idToken, "alice@example.org"} {
		if strings.Contains(string(u.EncryptedAuthState), tok) {
			t.Errorf("the database row holds %q in clear", tok)
		}
	}
	// And the database file itself (with its WAL) never holds a token in clear.
	files, _ := filepath.Glob(filepath.Join(th.dir, "hub.sqlite*"))
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), access) || strings.Contains(string(raw), refresh) {
			t.Errorf("%s holds a token in clear", filepath.Base(f))
		}
	}

	// The state cookie is spent: replaying the same callback URL is refused.
	// (Checked in TestOAuthStateRefused; here: the login cookie works for the API.)
	resp, body = get(t, c, th.srv.URL+"/hub/api/user")
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"alice"`) {
		t.Errorf("/hub/api/user with the login cookie: %d %s", resp.StatusCode, body)
	}

	bobC := browser(t)
	resp, body = th.login(t, bobC, op, "bob")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("bob after login: %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	if bob, err := th.db.GetUser(ctx, "bob"); err != nil || !bob.Admin || !slices.Equal(bob.Groups, []string{"staff"}) {
		t.Errorf("bob (admin_groups staff): %+v, %v", bob, err)
	}

	carolC := browser(t)
	resp, body = th.login(t, carolC, op, "carol")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not currently authorized") {
		t.Errorf("carol (no allowed group): %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "goroutine") || strings.Contains(body, ".go:") {
		t.Errorf("the error page shows a stack trace: %s", body)
	}
	if _, err := th.db.GetUser(ctx, "carol"); err == nil {
		t.Error("a refused login created carol")
	}

	// Losing the group ends access at the next login; gaining staff makes an admin.
	op.storage.setGroups("id-alice", "staff")
	resp, _ = th.login(t, browser(t), op, "alice")
	if resp.StatusCode != 200 {
		t.Fatalf("alice again: %d", resp.StatusCode)
	}
	if u, _ := th.db.GetUser(ctx, "alice"); !u.Admin || !slices.Equal(u.Groups, []string{"staff"}) {
		t.Errorf("alice after moving to staff: admin %v groups %v", u.Admin, u.Groups)
	}
}

// A callback whose state does not match the state cookie (forged), one without the cookie,
// and a replay of a callback already used are refused with a readable page.
func TestOAuthStateRefused(t *testing.T) {
	th, op := setupOIDC(t)
	c := browser(t)
	// Start a login but stop at the provider: the browser now holds a state cookie.
	resp, _ := get(t, c, th.srv.URL+"/hub/oauth_login")
	if !strings.HasPrefix(resp.Request.URL.String(), op.issuer) {
		t.Fatalf("oauth_login went to %s", resp.Request.URL)
	}
	forged := base64.URLEncoding.EncodeToString([]byte(`{"state_id":"forged"}`))
	resp, body := get(t, c, th.srv.URL+"/hub/oauth_callback?code=x&state="+forged)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "state") {
		t.Errorf("forged state: %d %s", resp.StatusCode, body)
	}
	// No cookie at all (another browser).
	resp, body = get(t, browser(t), th.srv.URL+"/hub/oauth_callback?code=x&state="+forged)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "state") {
		t.Errorf("no state cookie: %d %s", resp.StatusCode, body)
	}

	// A complete login, recording the callback URL, then replaying it with the same cookie.
	var callback string
	var cookie *http.Cookie
	rec := browser(t)
	rec.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/hub/oauth_callback" {
			callback = req.URL.String()
			u, _ := url.Parse(th.srv.URL + "/hub/")
			for _, ck := range rec.Jar.Cookies(u) {
				if ck.Name == "oauthenticator-state" {
					cookie = ck
				}
			}
		}
		return nil
	}
	if resp, _ := th.login(t, rec, op, "alice"); resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	if callback == "" || cookie == nil {
		t.Fatal("callback not seen")
	}
	req, _ := http.NewRequest("GET", callback, nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body2, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || len(resp.Cookies()) > 0 && hasLoginCookie(resp.Cookies()) {
		t.Errorf("replayed callback: %d %s", resp.StatusCode, body2)
	}

	// next is kept through the provider, but only within the hub: no open redirect (an
	// outside next lands where a login without next does).
	hubHost := strings.TrimPrefix(th.srv.URL, "http://")
	for next, want := range map[string]string{"/hub/home?tab=1": "/hub/home?tab=1", "https://evil.example/": "", "//evil.example/x": ""} {
		c := browser(t)
		resp, body := get(t, c, th.srv.URL+"/hub/oauth_login?next="+url.QueryEscape(next))
		m := authRequestID.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no provider form at %s: %s", resp.Request.URL, body)
		}
		resp, err := c.PostForm(op.issuer+"login/username", url.Values{"id": {m[1]}, "username": {"alice"}, "password": {"pw-alice"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Request.URL
		if got.Host != hubHost || strings.Contains(got.String(), "evil") || want != "" && got.RequestURI() != want {
			t.Errorf("next %q: landed at %s", next, got)
		}
	}

	// A provider error is a readable page, not a stack trace.
	resp, body = get(t, browser(t), th.srv.URL+"/hub/oauth_callback?error=access_denied&error_description=%3Cb%3EUser+said+no%3C%2Fb%3E")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "OAuth error: &lt;b&gt;User said no&lt;/b&gt;") {
		t.Errorf("provider error: %d %s", resp.StatusCode, body)
	}
}

func hasLoginCookie(cs []*http.Cookie) bool {
	for _, c := range cs {
		if c.Name == "jupyterhub-hub-login" && c.MaxAge >= 0 && c.Value != "" {
			return true
		}
	}
	return false
}

// Refresh: after the provider revokes alice's access token, the first hub request once
// auth_refresh_age has passed uses the refresh token and stores the new tokens (encrypted);
// groups and admin are decided again. Once the refresh token is revoked too, the request is
// anonymous and the login cookie is cleared: alice must log in again.
func TestOIDCRefresh(t *testing.T) {
	th, op := setupOIDC(t, "auth_refresh_age: 300", "auth_refresh_age: 1")
	ctx := t.Context()
	c := browser(t)
	if resp, _ := th.login(t, c, op, "alice"); resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	crypt, _ := authstate.New(th.key)
	stateOf := func() map[string]any {
		u, err := th.db.GetUser(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		s, err := crypt.Decrypt(ctx, u.EncryptedAuthState)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := stateOf()
	revoke(t, op, before["access_token"].(string))
	op.storage.setGroups("id-alice", "physics", "staff")

	// Within auth_refresh_age nothing is asked.
	if resp, _ := get(t, c, th.srv.URL+"/hub/home"); resp.StatusCode != 200 {
		t.Fatalf("home: %d", resp.StatusCode)
	}
	if stateOf()["access_token"] != before["access_token"] {
		t.Fatal("refreshed before auth_refresh_age")
	}
	time.Sleep(1100 * time.Millisecond)
	// Several requests at once refresh once: the provider rotates refresh tokens, so a second
	// refresh with the same one would fail and log alice out.
	var wg sync.WaitGroup
	codes := make(chan int, 5)
	for range 5 {
		wg.Go(func() {
			resp, err := c.Get(th.srv.URL + "/hub/api/user")
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 {
			t.Errorf("a concurrent request during the refresh got %d", code)
		}
	}
	resp, body := get(t, c, th.srv.URL+"/hub/api/user")
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"alice"`) {
		t.Fatalf("after refresh: %d %s", resp.StatusCode, body)
	}
	after := stateOf()
	if after["access_token"] == before["access_token"] || after["access_token"] == "" {
		t.Errorf("access token not renewed: %v", after["access_token"])
	}
	if after["refresh_token"] == nil || after["refresh_token"] == "" {
		t.Error("refresh token lost")
	}
	if u, _ := th.db.GetUser(ctx, "alice"); !u.Admin || !slices.Equal(u.Groups, []string{"physics", "staff"}) {
		t.Errorf("after refresh: admin %v groups %v", u.Admin, u.Groups)
	}

	// A still valid token is checked, not replaced.
	time.Sleep(1100 * time.Millisecond)
	if resp, _ := get(t, c, th.srv.URL+"/hub/api/user"); resp.StatusCode != 200 {
		t.Fatalf("with a valid token: %d", resp.StatusCode)
	}
	if checked := stateOf(); checked["access_token"] != after["access_token"] || checked["expires_at"] != after["expires_at"] ||
		checked["token_response"].(map[string]any)["expires_in"] == nil {
		t.Errorf("checking a valid access token changed the stored token: %v", checked)
	}

	// Both tokens revoked: the request is anonymous and the login cookie goes.
	revoke(t, op, after["refresh_token"].(string))
	time.Sleep(1100 * time.Millisecond)
	resp, body = get(t, c, th.srv.URL+"/hub/api/user")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("with revoked tokens: %d %s", resp.StatusCode, body)
	}
	hubURL, _ := url.Parse(th.srv.URL + "/hub/")
	for _, ck := range c.Jar.Cookies(hubURL) {
		if ck.Name == "jupyterhub-hub-login" {
			t.Error("the login cookie was kept after the refresh failed")
		}
	}
}

// revoke revokes a token at the provider's revocation endpoint, as the provider's admin would.
func revoke(t *testing.T, op *provider, token string) {
	t.Helper()
	req, _ := http.NewRequest("POST", op.issuer+"revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("web", "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
}

// end_session_logout: the hub's logout also ends the session at the provider (OpenID Connect
// RP-initiated logout with the user's ID token as id_token_hint): the browser ends on the
// provider's signed-out page, the provider has dropped the user's tokens, and the hub cookie is
// gone.
func TestOIDCEndSessionLogout(t *testing.T) {
	th, op := setupOIDC(t, "  allowed_groups: [physics]\n", "  allowed_groups: [physics]\n  end_session_logout: true\n")
	ctx := t.Context()
	c := browser(t)
	if resp, _ := th.login(t, c, op, "alice"); resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	crypt, _ := authstate.New(th.key)
	u, _ := th.db.GetUser(ctx, "alice")
	state, _ := crypt.Decrypt(ctx, u.EncryptedAuthState)
	refresh, _ := state["refresh_token"].(string)

	resp, body := get(t, c, th.srv.URL+"/hub/logout")
	if !strings.HasPrefix(resp.Request.URL.String(), op.issuer+"logged-out") || !strings.Contains(body, "signed out successfully") {
		t.Fatalf("logout ended at %s (%d): %s", resp.Request.URL, resp.StatusCode, body)
	}
	if resp, _ := get(t, c, th.srv.URL+"/hub/api/user"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("still logged in at the hub: %d", resp.StatusCode)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
	req, _ := http.NewRequest("POST", op.issuer+"oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("web", "secret")
	tr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tr.Body.Close()
	if tr.StatusCode == http.StatusOK {
		t.Error("the provider still accepts alice's refresh token after the logout")
	}
}

// A request with alice's API token refreshes her too once auth_refresh_age has passed (as
// upstream refreshes token-authenticated users); when the provider refuses both tokens, the
// request is anonymous.
func TestOIDCRefreshOnTokenRequest(t *testing.T) {
	th, op := setupOIDC(t, "auth_refresh_age: 300", "auth_refresh_age: 1")
	ctx := t.Context()
	if resp, _ := th.login(t, browser(t), op, "alice"); resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	u, _ := th.db.GetUser(ctx, "alice")
	const apiToken = "alice-api-token-0123456789"
	if _, err := th.db.CreateToken(ctx, store.NewToken{Plain: apiToken, Rounds: 1, UserID: &u.ID, Scopes: []string{"inherit"}}); err != nil {
		t.Fatal(err)
	}
	crypt, _ := authstate.New(th.key)
	stateOf := func() map[string]any {
		u, _ := th.db.GetUser(ctx, "alice")
		s, err := crypt.Decrypt(ctx, u.EncryptedAuthState)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	call := func() int {
		req, _ := http.NewRequest("GET", th.srv.URL+"/hub/api/user", nil)
		req.Header.Set("Authorization", "token "+apiToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	before := stateOf()
	revoke(t, op, before["access_token"].(string))
	time.Sleep(1100 * time.Millisecond)
	if code := call(); code != 200 {
		t.Fatalf("token request: %d", code)
	}
	after := stateOf()
	if after["access_token"] == before["access_token"] {
		t.Error("the token request did not refresh alice")
	}
	revoke(t, op, after["refresh_token"].(string))
	time.Sleep(1100 * time.Millisecond)
	if code := call(); code != http.StatusForbidden {
		t.Errorf("token request after the provider refused alice: %d", code)
	}
}
