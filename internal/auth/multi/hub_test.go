package multi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"

	"gohub/internal/authstate"
	"gohub/internal/config"
	"gohub/internal/hub"
	"gohub/internal/store"
	"gohub/internal/testutil"
)

// opUsers is the test OpenID provider's user store (storage.UserStore), as in the oauth
// package's tests: zitadel/oidc's example OP, a real provider, on 127.0.0.1.
type opUsers struct{ byID map[string]*storage.User }

func (s opUsers) GetUserByID(id string) *storage.User { return s.byID[id] }

func (s opUsers) GetUserByUsername(name string) *storage.User {
	for _, u := range s.byID {
		if u.Username == name {
			return u
		}
	}
	return nil
}

func (s opUsers) ExampleClientID() string { return "service" }

// startProvider starts the OP with the confidential client web/secret redirecting to redirect,
// and users alice and carol (password "pw-<name>").
func startProvider(t *testing.T, redirect string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String() + "/"
	users := opUsers{byID: map[string]*storage.User{}}
	for _, name := range []string{"alice", "carol"} {
		users.byID["id-"+name] = &storage.User{ID: "id-" + name, Username: name, Password: "pw-" + name,
			FirstName: name, LastName: "Test", Email: name + "@example.org", EmailVerified: true,
			PreferredLanguage: language.English}
	}
	clients := map[string]*storage.Client{"web": storage.WebClient("web", "secret", redirect)}
	srv.Config.Handler = exampleop.SetupServer(issuer, storage.NewStorageWithClients(users, clients), nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}

const (
	people = "ou=people,dc=example,dc=org"
	groups = "ou=groups,dc=example,dc=org"
)

// multiConfig has four sources: LDAP staff (no prefix), FirstUse guests (no prefix either, so
// names collide with staff's), a shared password that may log in as staff's users
// (map_users_from) and an OpenID provider with prefix oidc- under /hub/oidc/.
const multiConfig = `
JupyterHub:
  authenticator_class: multi
  db_url: "@DB@"
Authenticator:
  enable_auth_state: true
  manage_groups: true
  failed_logins_before_lockout: 0
MultiAuthenticator:
  admin_users: [oidc-carol]
  blocked_users: [mallory]
  authenticators:
    - class: ldap
      name: staff
      label: Staff (LDAP)
      config:
        server_address: 127.0.0.1
        server_port: @LDAPPORT@
        tls_ca_file: "@CA@"
        bind_dn_template: "uid={username},` + people + `"
        allowed_groups: ["cn=jupyter,` + groups + `"]
    - class: firstuse
      name: guests
      label: Guests
      config:
        create_users: true
        allow_all: true
    - class: shared-password
      name: workshop
      label: Workshop
      map_users_from: [staff]
      allowed_users: [alice, mallory]
      config:
        user_password: workshop-secret
    - class: native
      label: Guests with an account
      prefix: guest-
      config:
        enable_signup: true
        open_signup: true
        bcrypt_cost: 10
    - class: generic
      name: idp
      label: Test IdP
      prefix: oidc-
      url_prefix: oidc
      config:
        client_id: web
        client_secret: secret
        oidc_issuer: "@ISSUER@"
        login_service: Test IdP
        scope: [openid, profile, email]
        username_claim: preferred_username
        allowed_users: [alice]
        logout_redirect_url: https://idp.example.org/bye
`

type testHub struct {
	url, issuer string
	h           *hub.Hub
	db          *store.DB
}

// startHub runs a real hub (hub.New from a config file) with the LDAP server and OpenID
// provider the config names.
func startHub(t *testing.T, yaml string, replace ...string) *testHub {
	t.Helper()
	ldif, err := os.ReadFile("../ldap/testdata/fixture.ldif")
	if err != nil {
		t.Fatal(err)
	}
	slapd := testutil.StartSlapd(t, testutil.SlapdOptions{LDIF: string(ldif), TLS: true})
	var handler atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	issuer := startProvider(t, srv.URL+"/hub/oidc/oauth_callback")
	dir := t.TempDir()
	yaml = strings.NewReplacer(replace...).Replace(yaml)
	yaml = strings.NewReplacer("@DB@", "sqlite:///"+filepath.Join(dir, "hub.sqlite"), "@ISSUER@", issuer,
		"@LDAPPORT@", strconv.Itoa(slapd.Port), "@CA@", slapd.CAFile).Replace(yaml)
	file, err := config.Parse(filepath.Join(dir, "gohub_config.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{authstate.EnvKey: strings.Repeat("5a", 32), "JPY_COOKIE_SECRET": strings.Repeat("ab", 32)}
	h, err := hub.New(t.Context(), file, hub.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	handler.Store(h.Handler())
	return &testHub{url: srv.URL, issuer: issuer, h: h, db: h.DB()}
}

// client is a browser-like client with a cookie jar; it does not follow redirects.
func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var xsrfInput = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

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

// formLogin posts the login form of source src (a fresh cookie jar) and returns the status,
// the redirect target and the page.
func (th *testHub) formLogin(t *testing.T, src, user, password string) (int, string, string) {
	t.Helper()
	st, loc, body, _ := th.formLoginClient(t, src, user, password)
	return st, loc, body
}

// formLoginClient is formLogin that also returns the client, logged in when the status is 302.
func (th *testHub) formLoginClient(t *testing.T, src, user, password string) (int, string, string, *http.Client) {
	t.Helper()
	c := client()
	_, page := get(t, c, th.url+"/hub/login")
	m := xsrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no _xsrf on the login page:\n%s", page)
	}
	form := url.Values{"_xsrf": {m[1]}, "username": {user}, "password": {password}}
	if src != "" {
		form.Set("login_source", src)
	}
	resp, err := c.PostForm(th.url+"/hub/login", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusFound {
		// The login cookie must work: /hub/home answers 200 for the user.
		r, home := get(t, c, th.url+"/hub/home")
		if r.StatusCode != 200 {
			t.Fatalf("home after %s's login via %s: %d", user, src, r.StatusCode)
		}
		_ = home
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(body), c
}

// oidcLogin runs the browser login through the provider's button; it returns the status and
// location of the hub's answer to the callback, and the client.
func (th *testHub) oidcLogin(t *testing.T, user string) (*http.Response, string, *http.Client) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	_, page := get(t, c, th.url+"/hub/login?next=%2Fhub%2Fhome")
	href := regexp.MustCompile(`href="(/hub/oidc/oauth_login[^"]*)"`).FindStringSubmatch(page)
	if href == nil {
		t.Fatalf("no button to /hub/oidc/oauth_login on the login page:\n%s", page)
	}
	resp, form := get(t, c, th.url+strings.ReplaceAll(href[1], "&amp;", "&"))
	m := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("the provider's login form (%s, %d) has no auth request id:\n%s", resp.Request.URL, resp.StatusCode, form)
	}
	resp, err := c.PostForm(resp.Request.URL.Scheme+"://"+resp.Request.URL.Host+"/login/username",
		url.Values{"id": {m[1]}, "username": {user}, "password": {"pw-" + user}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body), c
}

func (th *testHub) source(t *testing.T, name string) string {
	t.Helper()
	src, err := th.db.UserSource(context.Background(), name)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestHubLoginThroughEverySource runs a real hub with LDAP, FirstUse, a shared password and an
// OpenID provider as sources, and logs in through each with a cookie jar. A name that came
// through one source cannot log in through another unless that one maps it (map_users_from);
// the hub-wide policy applies to final names.
func TestHubLoginThroughEverySource(t *testing.T) {
	th := startHub(t, multiConfig)

	// The login page offers three forms and a button.
	_, page := get(t, client(), th.url+"/hub/login")
	for _, want := range []string{`value="staff"`, `value="guests"`, `value="workshop"`, "Staff (LDAP)", "Guests", "Sign in with Test IdP", `href="/hub/oidc/oauth_login"`} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %s", want)
		}
	}

	// LDAP: wrong password refused; alice in; her source is recorded.
	if st, _, _ := th.formLogin(t, "staff", "alice", "wrong"); st != http.StatusForbidden {
		t.Fatalf("LDAP alice with a wrong password: %d", st)
	}
	if st, loc, body := th.formLogin(t, "staff", "alice", "alice-password"); st != http.StatusFound {
		t.Fatalf("LDAP alice: %d %s %s", st, loc, body)
	}
	if got := th.source(t, "alice"); got != "staff" {
		t.Errorf("alice's source = %q, want staff", got)
	}
	// LDAP's own allow rule: bob is not in the jupyter group.
	if st, _, _ := th.formLogin(t, "staff", "bob", "bob-password"); st != http.StatusForbidden {
		t.Errorf("LDAP bob (not in allowed_groups): %d", st)
	}

	// FirstUse: a new name claims its password; dave-the-guest is a hub user of source guests.
	if st, _, body := th.formLogin(t, "guests", "guestdave", "guest-password-1"); st != http.StatusFound {
		t.Fatalf("FirstUse guestdave: %d %s", st, body)
	}
	if st, _, _ := th.formLogin(t, "guests", "guestdave", "another-password"); st != http.StatusForbidden {
		t.Errorf("FirstUse guestdave with another password: %d", st)
	}
	if got := th.source(t, "guestdave"); got != "guests" {
		t.Errorf("guestdave's source = %q", got)
	}
	// FirstUse's own page works at its usual path and shows the source's name of the user.
	if _, _, _, c := th.formLoginClient(t, "guests", "guestdave", "guest-password-1"); c != nil {
		if r, page := get(t, c, th.url+"/hub/auth/change-password"); r.StatusCode != 200 || !strings.Contains(page, "guestdave") {
			t.Errorf("FirstUse's change-password page: %d\n%s", r.StatusCode, page)
		}
	}

	// alice is staff's: FirstUse cannot take her over, and stores no password for the refused
	// login (the name stays claimable by nobody else through guests either).
	if st, _, _ := th.formLogin(t, "guests", "alice", "guest-password-2"); st != http.StatusForbidden {
		t.Errorf("FirstUse as staff's alice: %d, want 403", st)
	}
	if _, err := th.db.GetPasswordHash(context.Background(), "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FirstUse stored a password for a refused login: %v", err)
	}
	// ...and LDAP cannot take over the guest either (no such LDAP user anyway: use the source
	// check through a name both know): guestdave through workshop, which maps only staff.
	if st, _, _ := th.formLogin(t, "workshop", "guestdave", "workshop-secret"); st != http.StatusForbidden {
		t.Errorf("workshop as guests' guestdave: %d, want 403", st)
	}

	// The workshop password maps staff's users: alice may log in through it as the same user.
	if st, _, body := th.formLogin(t, "workshop", "alice", "workshop-secret"); st != http.StatusFound {
		t.Errorf("workshop alice (map_users_from staff): %d %s", st, body)
	}
	if got := th.source(t, "alice"); got != "staff" {
		t.Errorf("alice's source after the mapped login = %q, want still staff", got)
	}
	// Hub-wide blocked_users applies to the final name whatever the source allows.
	if st, _, _ := th.formLogin(t, "workshop", "mallory", "workshop-secret"); st != http.StatusForbidden {
		t.Errorf("blocked mallory: %d", st)
	}

	// A form cannot name the OAuth source, nor an unknown one.
	if st, _, _ := th.formLogin(t, "idp", "alice", "pw-alice"); st != http.StatusForbidden {
		t.Errorf("form post to the OAuth source: %d", st)
	}
	if st, _, _ := th.formLogin(t, "nosuch", "alice", "alice-password"); st != http.StatusForbidden {
		t.Errorf("form post to an unknown source: %d", st)
	}

	// OpenID: alice becomes oidc-alice, a different hub user from staff's alice.
	resp, body, c := th.oidcLogin(t, "alice")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("OIDC login ended at %s (%d):\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	if !strings.Contains(body, "oidc-alice") {
		t.Errorf("home after the OIDC login does not name oidc-alice:\n%s", body)
	}
	if got := th.source(t, "oidc-alice"); got != "idp" {
		t.Errorf("oidc-alice's source = %q", got)
	}
	if r, _ := get(t, c, th.url+"/hub/api/user"); r.StatusCode != 200 {
		t.Errorf("/hub/api/user with the OIDC login cookie: %d", r.StatusCode)
	}
	// Logout goes where the user's source says: the provider's logout_redirect_url for
	// oidc-alice, the hub's login page for staff's alice.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if r, _ := get(t, c, th.url+"/hub/logout"); r.Header.Get("Location") != "https://idp.example.org/bye" {
		t.Errorf("oidc-alice's logout goes to %q (%d)", r.Header.Get("Location"), r.StatusCode)
	}
	if _, _, _, sc := th.formLoginClient(t, "staff", "alice", "alice-password"); sc != nil {
		if r, _ := get(t, sc, th.url+"/hub/logout"); r.Header.Get("Location") != "/hub/login" {
			t.Errorf("staff alice's logout goes to %q (%d)", r.Header.Get("Location"), r.StatusCode)
		}
	}
	// carol is not in the provider source's allowed_users, but is a hub-wide admin: allowed, admin.
	resp, body, carol := th.oidcLogin(t, "carol")
	if resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("OIDC carol ended at %s (%d):\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	u, err := th.db.GetUser(context.Background(), "oidc-carol")
	if err != nil || !u.Admin {
		t.Errorf("oidc-carol = %+v, %v; want an admin", u, err)
	}

	th.nativeSource(t)
	th.nativeResetAndRevoke(t, adminToken(t, th))

	// carol, an admin from the provider source, gets Native's admin link on her home page (not
	// its Change Password: she has no Native account) and may use Native's authorize page.
	if _, home := get(t, carol, th.url+"/hub/home"); !strings.Contains(home, `href="/hub/authorize"`) || strings.Contains(home, `href="/hub/change-password"`) {
		t.Errorf("admin oidc-carol's home links:\n%s", home)
	}
	if r, page := get(t, carol, th.url+"/hub/authorize"); r.StatusCode != 200 || !strings.Contains(page, "erin") {
		t.Errorf("Native's authorize page for admin oidc-carol: %d\n%s", r.StatusCode, page)
	}

	// Deleting a user forgets its source and tells the source (FirstUse forgets the password).
	req, _ := http.NewRequest(http.MethodDelete, th.url+"/hub/api/users/guestdave", nil)
	tok := adminToken(t, th)
	req.Header.Set("Authorization", "token "+tok)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE guestdave: %v %v", r, err)
	}
	if got := th.source(t, "guestdave"); got != "" {
		t.Errorf("guestdave's source after deletion = %q", got)
	}
	if _, err := th.db.GetPasswordHash(context.Background(), "guestdave"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("guestdave's FirstUse password after deletion: %v", err)
	}
}

// nativeResetAndRevoke: the hub's reset link for guest-erin sets the password of Native's
// erin, and un-authorizing erin ends guest-erin's session at once (the revoker gets the hub
// name, prefix included).
func (th *testHub) nativeResetAndRevoke(t *testing.T, tok string) {
	t.Helper()
	api := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, th.url+path, nil)
		req.Header.Set("Authorization", "token "+tok)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	st, out := api("POST", "/hub/api/users/guest-erin/password-reset")
	var link struct{ URL string }
	if st != http.StatusCreated || json.Unmarshal([]byte(out), &link) != nil {
		t.Fatalf("reset link for guest-erin: %d %s", st, out)
	}
	u, err := url.Parse(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := client()
	_, page := get(t, c, th.url+u.RequestURI())
	m := xsrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("reset page:\n%s", page)
	}
	resp, err := c.PostForm(th.url+u.RequestURI(), url.Values{"_xsrf": {m[1]}, "token": {u.Query().Get("token")},
		"password": {"erin-reset-password"}, "confirm": {"erin-reset-password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("use the reset link: %d", resp.StatusCode)
	}
	st, loc, body, erin := th.formLoginClient(t, "native", "erin", "erin-reset-password")
	if st != http.StatusFound {
		t.Fatalf("native erin after the reset: %d %s %s", st, loc, body)
	}
	if r, _ := get(t, erin, th.url+"/hub/home"); r.StatusCode != http.StatusOK {
		t.Fatalf("guest-erin's home: %d", r.StatusCode)
	}
	if st, out := api("POST", "/hub/api/native/users/erin/unauthorize"); st != http.StatusOK {
		t.Fatalf("unauthorize erin: %d %s", st, out)
	}
	if r, _ := get(t, erin, th.url+"/hub/home"); r.StatusCode != http.StatusFound {
		t.Errorf("guest-erin's session after un-authorize: %d, want 302 to login", r.StatusCode)
	}
	api("POST", "/hub/api/native/users/erin/authorize")
}

// adminToken makes an API token for the admin oidc-carol.
func adminToken(t *testing.T, th *testHub) string {
	t.Helper()
	u, err := th.db.GetUser(context.Background(), "oidc-carol")
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.Repeat("7b", 16)
	if _, err := th.db.LookupToken(context.Background(), tok, time.Now()); err == nil {
		return tok
	}
	if _, err := th.db.CreateToken(context.Background(), store.NewToken{Plain: tok, Rounds: 1, UserID: &u.ID, Note: "test", Scopes: []string{"inherit"}}); err != nil {
		t.Fatal(err)
	}
	return tok
}

// nativeSource signs up through Native's /hub/signup (registered directly under /hub/), logs
// in through the native form as guest-erin, and uses Native's change-password page, which sees
// the user under the source's name; a user of another source cannot use it.
func (th *testHub) nativeSource(t *testing.T) {
	t.Helper()
	c := client()
	_, page := get(t, c, th.url+"/hub/signup")
	m := xsrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-up form at /hub/signup:\n%s", page)
	}
	resp, err := c.PostForm(th.url+"/hub/signup", url.Values{"_xsrf": {m[1]}, "username": {"erin"},
		"signup_password": {"erin-long-password"}, "signup_password_confirmation": {"erin-long-password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sign-up: %d", resp.StatusCode)
	}
	if _, err := th.db.GetNativeUser(context.Background(), "erin"); err != nil {
		t.Fatalf("the sign-up is not stored under the source's name erin: %v", err)
	}
	// The login page links the sign-up under the native form.
	if _, page := get(t, client(), th.url+"/hub/login"); !strings.Contains(page, `href="/hub/signup"`) {
		t.Error("the login page does not link /hub/signup")
	}
	st, loc, body, c := th.formLoginClient(t, "native", "erin", "erin-long-password")
	if st != http.StatusFound {
		t.Fatalf("native erin: %d %s %s", st, loc, body)
	}
	if _, err := th.db.GetUser(context.Background(), "guest-erin"); err != nil {
		t.Fatalf("no hub user guest-erin: %v", err)
	}
	if got := th.source(t, "guest-erin"); got != "native" {
		t.Errorf("guest-erin's source = %q", got)
	}
	if _, home := get(t, c, th.url+"/hub/home"); !strings.Contains(home, `href="/hub/change-password"`) {
		t.Errorf("guest-erin's home lacks Native's Change Password link:\n%s", home)
	}
	_, page = get(t, c, th.url+"/hub/change-password")
	m = xsrfInput.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "for erin") {
		t.Fatalf("change-password page for guest-erin:\n%s", page)
	}
	// A copy of guest-erin's cookies stops working when she changes her password (the source's
	// name erin is guest-erin on the hub); her own browser stays logged in.
	thief := client()
	hubURL, _ := url.Parse(th.url + "/hub/")
	thief.Jar.SetCookies(hubURL, c.Jar.Cookies(hubURL))
	resp, err = c.PostForm(th.url+"/hub/change-password", url.Values{"_xsrf": {m[1]}, "old_password": {"erin-long-password"},
		"new_password": {"erin-newer-password"}, "new_password_confirmation": {"erin-newer-password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("change password: %d", resp.StatusCode)
	}
	if r, _ := get(t, thief, th.url+"/hub/home"); r.StatusCode != http.StatusFound {
		t.Errorf("a copy of guest-erin's cookies after her password change: %d, want a redirect to log in", r.StatusCode)
	}
	if r, _ := get(t, c, th.url+"/hub/home"); r.StatusCode != http.StatusOK {
		t.Errorf("guest-erin's own browser after her password change: %d", r.StatusCode)
	}
	if st, _, _ := th.formLogin(t, "native", "erin", "erin-newer-password"); st != http.StatusFound {
		t.Errorf("native erin with the new password: %d", st)
	}
	// Staff's alice (no admin) may not use Native's pages: she has no account there.
	_, _, _, ac := th.formLoginClient(t, "staff", "alice", "alice-password")
	if r, _ := get(t, ac, th.url+"/hub/change-password"); r.StatusCode != http.StatusForbidden {
		t.Errorf("staff's alice on Native's change-password: %d, want 403", r.StatusCode)
	}
	// Typing the prefix is not how it works: guest-erin is no Native account.
	if st, _, _ := th.formLogin(t, "native", "guest-erin", "erin-newer-password"); st != http.StatusForbidden {
		t.Errorf("native login typed with the prefix: %d", st)
	}
}

// Refresh goes to the user's source: once the provider has revoked oidc-alice's access token
// and auth_refresh_age has passed, her next request is anonymous (the provider source says she
// must log in again), while staff's alice, whose LDAP source does not refresh, stays logged in.
func TestRefreshThroughSource(t *testing.T) {
	th := startHub(t, multiConfig, "  failed_logins_before_lockout: 0\n", "  failed_logins_before_lockout: 0\n  auth_refresh_age: 1\n")
	ctx := t.Context()
	resp, body, oc := th.oidcLogin(t, "alice")
	if resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("OIDC login ended at %s:\n%s", resp.Request.URL, body)
	}
	st, _, _, sc := th.formLoginClient(t, "staff", "alice", "alice-password")
	if st != http.StatusFound {
		t.Fatalf("staff alice: %d", st)
	}
	u, err := th.db.GetUser(ctx, "oidc-alice")
	if err != nil {
		t.Fatal(err)
	}
	state, err := authstateOf(th, u.EncryptedAuthState)
	if err != nil {
		t.Fatal(err)
	}
	token, _ := state["access_token"].(string)
	if token == "" {
		t.Fatalf("no access token in oidc-alice's auth_state: %v", state)
	}
	req, _ := http.NewRequest("POST", th.issuer+"revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("web", "secret")
	rr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rr.Body.Close()
	if rr.StatusCode != 200 {
		t.Fatalf("revoke: %d", rr.StatusCode)
	}
	time.Sleep(1100 * time.Millisecond)
	if r, body := get(t, oc, th.url+"/hub/api/user"); r.StatusCode != http.StatusForbidden {
		t.Errorf("oidc-alice with a revoked token: %d %s", r.StatusCode, body)
	}
	if r, body := get(t, sc, th.url+"/hub/api/user"); r.StatusCode != 200 || !strings.Contains(body, `"name":"alice"`) {
		t.Errorf("staff alice after auth_refresh_age: %d %s", r.StatusCode, body)
	}
}

func authstateOf(th *testHub, blob []byte) (map[string]any, error) {
	crypt, err := authstate.New(strings.Repeat("5a", 32))
	if err != nil {
		return nil, err
	}
	return crypt.Decrypt(context.Background(), blob)
}

// Native's pages under a url_prefix link the hub's own pages (login, home) at the hub's
// prefix, not under the source's sub-path.
func TestNativePagesUnderURLPrefix(t *testing.T) {
	dir := t.TempDir()
	file, err := config.Parse(filepath.Join(dir, "gohub_config.yaml"), []byte(`
JupyterHub:
  db_url: sqlite:///`+filepath.Join(dir, "hub.sqlite")+`
  authenticator_class: multi
MultiAuthenticator:
  authenticators:
    - {class: dummy, name: staff, label: Staff, config: {password: staff-password}}
    - {class: native, name: guests, label: Guests, prefix: guest-, url_prefix: guests, config: {open_signup: true, bcrypt_cost: 10}}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"JPY_COOKIE_SECRET": strings.Repeat("ab", 32)}
	h, err := hub.New(t.Context(), file, hub.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	r, page := get(t, client(), srv.URL+"/hub/guests/signup")
	if r.StatusCode != http.StatusOK || !strings.Contains(page, `href="/hub/login"`) || strings.Contains(page, `/hub/guests/login`) {
		t.Errorf("sign-up page under /hub/guests/: %d\n%s", r.StatusCode, page)
	}
	if _, login := get(t, client(), srv.URL+"/hub/login"); !strings.Contains(login, `href="/hub/guests/signup"`) {
		t.Errorf("the login page does not link the sign-up under /hub/guests/:\n%s", login)
	}
}
