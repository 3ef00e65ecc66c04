package oauth

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gohub/internal/session"
	"gohub/internal/store"
)

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789"

// The browser login of protocol.md §2.4 as alice's own server drives it: authorize (no confirmation
// for her own server), code with PKCE S256, token exchange with the server's API token as
// client secret, then the token on GET /hub/api/user gives exactly the step-10 scopes.
func TestCodeFlowOwnServer(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	b := h.browser("alice")
	q := withPKCE(authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "S1"), verifier, "S256")
	code := codeFrom(t, b.authorize(q), "/user/alice/oauth_callback", "S1")
	sessionID := b.cookie("/", session.SessionCookie)
	if sessionID == "" {
		t.Fatal("authorize did not set the jupyterhub-session-id cookie")
	}

	status, body := h.exchange(h.tokenForm(code, verifier))
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	tok, _ := body["access_token"].(string)
	if len(tok) != 30 || body["token_type"] != "Bearer" || body["expires_in"] != float64(14*24*3600) {
		t.Errorf("token reply %v", body)
	}
	wantRaw := "access:servers!server=alice/ read:users:groups!user read:users:name!user"
	if body["scope"] != wantRaw {
		t.Errorf("scope %q, want %q", body["scope"], wantRaw)
	}

	// The api_tokens row: owner, client, session, expiry, raw scopes; stored hashed.
	row, err := h.db.LookupToken(t.Context(), tok, time.Now())
	if err != nil {
		t.Fatalf("issued token not found: %v", err)
	}
	if row.OwnerName != "alice" || row.ClientID != h.aliceClient || row.SessionID != sessionID ||
		row.ExpiresAt == nil || strings.Contains(row.Hashed, tok) || !strings.HasPrefix(row.Hashed, "sha512:1:") {
		t.Errorf("token row %+v", row)
	}
	if d := row.ExpiresAt.Sub(h.clock.Now()); d < 14*24*time.Hour-time.Minute || d > 14*24*time.Hour+time.Minute {
		t.Errorf("token expires in %v, want 14 days", d)
	}

	// Step 10 through the REST API.
	status, ident := h.identity(tok)
	if status != http.StatusOK || ident["name"] != "alice" || ident["kind"] != "user" {
		t.Fatalf("GET /hub/api/user: %d %v", status, ident)
	}
	got := strs(ident["scopes"])
	slices.Sort(got)
	want := []string{"access:servers!server=alice/", "read:users:groups!user=alice", "read:users:name!user=alice"}
	if !slices.Equal(got, want) {
		t.Errorf("identity scopes %v, want %v", got, want)
	}

	// The code is single-use.
	if status, body := h.exchange(h.tokenForm(code, verifier)); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("code reuse: %d %v, want 400 invalid_grant", status, body)
	}
}

// A browser that is not logged in goes to the login page with the whole authorize URI as next;
// a POST without login is refused.
func TestAuthorizeNeedsLogin(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	b := h.browser("")
	q := authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "S1")
	r := b.authorize(q)
	want := "/hub/login?next=" + url.QueryEscape(authorizePath+"?"+q.Encode())
	if r.status != http.StatusFound || r.header.Get("Location") != want {
		t.Errorf("GET: %d Location %q, want 302 %q", r.status, r.header.Get("Location"), want)
	}
	if r := b.do("POST", authorizePath+"?"+q.Encode(), url.Values{"scopes": {"identify"}}); r.status != http.StatusForbidden {
		t.Errorf("POST: %d, want 403", r.status)
	}
	// A login cookie whose cookie_id was rotated is no login.
	b = h.browser("alice")
	if _, err := h.db.RotateCookieID(t.Context(), h.users["alice"].ID); err != nil {
		t.Fatal(err)
	}
	if r := b.authorize(q); r.status != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), "/hub/login?next=") {
		t.Errorf("stale cookie: %d %q", r.status, r.header.Get("Location"))
	}
}

// LoginURL replaces the login page (auto_login_oauth2_authorize).
func TestAuthorizeLoginURL(t *testing.T) {
	t.Parallel()
	h := newHub(t, func(d *Deps) {
		d.LoginURL = func(*http.Request) string { return "/hub/oauth_login?x=1" }
	})
	q := authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "")
	r := h.browser("").authorize(q)
	want := "/hub/oauth_login?x=1&next=" + url.QueryEscape(authorizePath+"?"+q.Encode())
	if r.header.Get("Location") != want {
		t.Errorf("Location %q, want %q", r.header.Get("Location"), want)
	}
}

// Bob may not log in to alice's server: 403 page, no code.
func TestAuthorizeDeniedForOthersServer(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	r := h.browser("bob").authorize(authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "S1"))
	if r.status != http.StatusForbidden || r.header.Get("Location") != "" {
		t.Fatalf("bob: %d Location %q, want 403", r.status, r.header.Get("Location"))
	}
	if !strings.Contains(r.body, "You do not have permission to access Server at /user/alice/") {
		t.Errorf("403 page does not say why:\n%s", r.body)
	}
}

// An admin holds access:servers, so may log in to alice's server, but only after confirming;
// the confirmation needs the _xsrf token, and a second visit needs no confirmation.
func TestAdminConfirmation(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	b := h.browser("admin")
	q := authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "S9")
	path := authorizePath + "?" + q.Encode()
	page := b.authorize(q)
	if page.status != http.StatusOK {
		t.Fatalf("admin GET: %d %q, want the confirmation page", page.status, page.header.Get("Location"))
	}
	for _, want := range []string{"Authorize access", `id="oauth-confirm"`, "Server at /user/alice/",
		`action=""`, "It will not be able to take actions on your behalf", `id="current-user">admin<`,
		"/hub/static/style.css"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("confirmation page lacks %q", want)
		}
	}
	xsrf := formValues(page.body, "_xsrf")
	scopes := formValues(page.body, "scopes")
	wantScopes := []string{"access:servers!server=alice/", "read:users:groups!user", "read:users:name!user"}
	if len(xsrf) != 1 || xsrf[0] == "" || !slices.Equal(scopes, wantScopes) {
		t.Fatalf("form: _xsrf %q, scopes %q (want %q)", xsrf, scopes, wantScopes)
	}

	// Without or with a wrong _xsrf the POST is refused and no code is made.
	for _, bad := range []url.Values{{"scopes": scopes}, {"scopes": scopes, "_xsrf": {"2|00|00|00"}}} {
		if r := b.do("POST", path, bad); r.status != http.StatusForbidden {
			t.Errorf("POST without a valid _xsrf: %d, want 403", r.status)
		}
	}
	// Another user's _xsrf does not do either.
	bob := h.browser("bob")
	if r := bob.do("POST", path, url.Values{"scopes": scopes, "_xsrf": xsrf}); r.status != http.StatusForbidden {
		t.Errorf("bob with admin's _xsrf: %d, want 403", r.status)
	}

	code := codeFrom(t, b.do("POST", path, url.Values{"_xsrf": xsrf, "scopes": scopes}), "/user/alice/oauth_callback", "S9")
	status, body := h.exchange(h.tokenForm(code, ""))
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	_, ident := h.identity(body["access_token"].(string))
	got := strs(ident["scopes"])
	slices.Sort(got)
	want := []string{"access:servers!server=alice/", "read:users:groups!user=admin", "read:users:name!user=admin"}
	if ident["name"] != "admin" || !slices.Equal(got, want) {
		t.Errorf("admin's token: %v scopes %v, want %v", ident["name"], got, want)
	}

	// The earlier token covers the request: no second confirmation.
	codeFrom(t, b.authorize(q), "/user/alice/oauth_callback", "S9")
}

// An empty confirmation means identify only; scopes the client may not have are refused.
func TestConfirmScopes(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	b := h.browser("admin")
	q := authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "S")
	path := authorizePath + "?" + q.Encode()
	xsrf := formValues(b.authorize(q).body, "_xsrf")

	code := codeFrom(t, b.do("POST", path, url.Values{"_xsrf": xsrf}), "/user/alice/oauth_callback", "S")
	if _, body := h.exchange(h.tokenForm(code, "")); body["scope"] != "access:servers!server=alice/ read:users:groups!user read:users:name!user" {
		t.Errorf("empty confirmation granted %q", body["scope"])
	}

	for _, scope := range []string{"admin:users", "inherit"} {
		r := b.do("POST", path, url.Values{"_xsrf": xsrf, "scopes": {scope}})
		loc, _ := url.Parse(r.header.Get("Location"))
		if r.status != http.StatusFound || loc.Query().Get("error") != "invalid_scope" || loc.Query().Get("state") != "S" {
			t.Errorf("confirming %s: %d %q, want a redirect with error=invalid_scope", scope, r.status, loc)
		}
	}
}

// Errors in the request: a bad client or redirect_uri is shown on the hub (400), the others go
// back to the client with error and state.
func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	b := h.browser("alice")
	base := func() url.Values { return authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "S1") }
	with := func(k, v string) url.Values { q := base(); q.Set(k, v); return q }
	without := func(k string) url.Values { q := base(); q.Del(k); return q }
	fatal := []struct {
		name string
		q    url.Values
	}{
		{"unknown client", with("client_id", "jupyterhub-user-nobody")},
		{"missing client", without("client_id")},
		{"hub's own client", with("client_id", "jupyterhub")},
		{"wrong redirect", with("redirect_uri", "/user/alice/elsewhere")},
		{"absolute redirect", with("redirect_uri", "https://evil.example/user/alice/oauth_callback")},
		{"two clients", func() url.Values { q := base(); q.Add("client_id", h.aliceClient); return q }()},
	}
	for _, c := range fatal {
		r := b.authorize(c.q)
		if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
			t.Errorf("%s: %d Location %q, want the 400 page", c.name, r.status, r.header.Get("Location"))
		}
	}
	redirected := []struct {
		name, code string
		q          url.Values
	}{
		{"token response", "unsupported_response_type", with("response_type", "token")},
		{"no response type", "invalid_request", without("response_type")},
		{"unknown scope", "invalid_scope", with("scope", "read:everything")},
		{"scope beyond the client", "invalid_scope", with("scope", "admin:users")},
		{"inherit", "invalid_scope", with("scope", "inherit")},
		{"bad pkce method", "invalid_request", withPKCE(base(), verifier, "S512")},
		{"short challenge", "invalid_request", with("code_challenge", "abc")},
	}
	for _, c := range redirected {
		r := b.authorize(c.q)
		loc, err := url.Parse(r.header.Get("Location"))
		if err != nil || r.status != http.StatusFound || loc.Path != "/user/alice/oauth_callback" ||
			loc.Query().Get("error") != c.code || loc.Query().Get("state") != "S1" || loc.Query().Has("code") {
			t.Errorf("%s: %d Location %q, want a redirect with error=%s&state=S1", c.name, r.status, loc, c.code)
		}
	}
	// redirect_uri may be left out: the client's is used.
	codeFrom(t, b.authorize(without("redirect_uri")), "/user/alice/oauth_callback", "S1")
	// identify and scopes the user's own server may ask for are accepted.
	codeFrom(t, b.authorize(with("scope", "identify access:servers!server=alice/")), "/user/alice/oauth_callback", "S1")
	// PUT and HEAD are not methods of the endpoint.
	if r := b.do("PUT", authorizePath+"?"+base().Encode(), url.Values{}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d, want 405", r.status)
	}
	if r := b.do("HEAD", authorizePath+"?"+base().Encode(), nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("HEAD: %d, want 405", r.status)
	}
}

// A client whose server or service is gone (a stale client) is a configuration error.
func TestAuthorizeOrphanClient(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	if _, err := h.db.UpsertOAuthClient(t.Context(), store.OAuthClient{Identifier: "service-gone",
		Secret: store.HashToken("s3cret-value", 1), RedirectURI: "/services/gone/oauth_callback"}); err != nil {
		t.Fatal(err)
	}
	r := h.browser("alice").authorize(authorizeQuery("service-gone", "/services/gone/oauth_callback", "S"))
	if r.status != http.StatusInternalServerError || !strings.Contains(r.body, "OAuth configuration error") {
		t.Errorf("orphan client: %d", r.status)
	}
}

// The token carries the browser's session id, so the hub's logout (web) deletes it (§4.2):
// the server's next check of the token fails and a new OAuth round starts.
func TestLogoutEndsServerSessions(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	b := h.browser("alice")
	_, body := h.exchange(h.tokenForm(h.newCode(b, "", ""), ""))
	tok, _ := body["access_token"].(string)
	other := h.browser("alice") // another browser session of alice
	_, body = h.exchange(h.tokenForm(h.newCode(other, "", ""), ""))
	otherTok, _ := body["access_token"].(string)

	if r := b.do("GET", "/hub/logout", nil); r.status != http.StatusFound {
		t.Fatalf("logout: %d", r.status)
	}
	if status, _ := h.identity(tok); status != http.StatusForbidden {
		t.Errorf("token of the logged-out session: %d, want 403", status)
	}
	if status, _ := h.identity(otherTok); status != http.StatusOK {
		t.Errorf("token of the other session: %d, want 200", status)
	}
}

// Under a base URL every path moves: endpoints, login page, server prefix, client redirect.
func TestBaseURL(t *testing.T) {
	t.Parallel()
	h := newHub(t, func(d *Deps) { d.BaseURL = "/jh/" })
	if h.oauth.AuthorizePath() != "/jh/hub/api/oauth2/authorize" || h.oauth.TokenPath() != "/jh/hub/api/oauth2/token" {
		t.Errorf("paths %s %s", h.oauth.AuthorizePath(), h.oauth.TokenPath())
	}
	c, err := h.db.GetOAuthClient(t.Context(), h.aliceClient)
	if err != nil || c.RedirectURI != "/jh/user/alice/oauth_callback" || c.Description != "Server at /jh/user/alice/" {
		t.Fatalf("client %+v %v", c, err)
	}
	q := authorizeQuery(h.aliceClient, "/jh/user/alice/oauth_callback", "s")
	path := h.oauth.AuthorizePath() + "?" + q.Encode()
	if r := h.browser("").do("GET", path, nil); r.header.Get("Location") != "/jh/hub/login?next="+url.QueryEscape(path) {
		t.Errorf("login redirect %q", r.header.Get("Location"))
	}
	b := h.browser("alice")
	code := codeFrom(t, b.do("GET", path, nil), "/jh/user/alice/oauth_callback", "s")
	if b.cookie("/jh/", session.SessionCookie) == "" {
		t.Error("no session cookie under the base URL")
	}
	status, body := h.exchange(url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"client_id": {h.aliceClient}, "client_secret": {h.aliceToken}, "redirect_uri": {"/jh/user/alice/oauth_callback"}})
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	if status, ident := h.identity(body["access_token"].(string)); status != http.StatusOK || ident["name"] != "alice" {
		t.Errorf("identity: %d %v", status, ident)
	}
}
