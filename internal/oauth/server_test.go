package oauth

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gohub/internal/store"
)

func TestClientIDAndPrefix(t *testing.T) {
	t.Parallel()
	cases := []struct{ user, server, id, prefix string }{
		{"alice", "", "jupyterhub-user-alice", "/user/alice/"},
		{"alice", "gpu", "jupyterhub-user-alice-gpu", "/user/alice/gpu/"},
		{"b@x.org", "", "jupyterhub-user-b%40x.org", "/user/b@x.org/"},
		{"a b~c", "my server", "jupyterhub-user-a%20b~c-my%20server", "/user/a%20b~c/my%20server/"},
		{"zoë", "", "jupyterhub-user-zo%C3%AB", "/user/zo%C3%AB/"},
	}
	for _, c := range cases {
		if got := ClientID(c.user, c.server); got != c.id {
			t.Errorf("ClientID(%q, %q) = %q, want %q", c.user, c.server, got, c.id)
		}
		if got := ServerPrefix("/", c.user, c.server); got != c.prefix {
			t.Errorf("ServerPrefix(%q, %q) = %q, want %q", c.user, c.server, got, c.prefix)
		}
	}
}

// PrepareServer makes the server token and the OAuth client of protocol.md §2.1 steps 2–3.
func TestPrepareServer(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	ctx := t.Context()
	row, err := h.db.LookupToken(ctx, h.aliceToken, time.Now())
	if err != nil {
		t.Fatalf("server token: %v", err)
	}
	if row.Note != "Server at /user/alice/" || row.ClientID != "jupyterhub" || row.OwnerName != "alice" ||
		row.ExpiresAt != nil || len(h.aliceToken) != 32 {
		t.Errorf("server token row %+v", row)
	}
	if want := []string{"access:servers!server=alice/", "users:activity!user"}; !slices.Equal(row.Scopes, want) {
		t.Errorf("server token scopes %v, want %v", row.Scopes, want)
	}
	c, err := h.db.GetOAuthClient(ctx, "jupyterhub-user-alice")
	if err != nil {
		t.Fatal(err)
	}
	if c.Description != "Server at /user/alice/" || c.RedirectURI != "/user/alice/oauth_callback" ||
		!slices.Equal(c.AllowedScopes, []string{"access:servers!server=alice/"}) {
		t.Errorf("client %+v", c)
	}
	if !strings.HasPrefix(c.Secret, "sha512:16384:") || !store.VerifyToken(c.Secret, h.aliceToken) {
		t.Errorf("client secret %q is not the server token hashed with 16384 rounds", c.Secret)
	}
	// The token works on the API with the server role's scopes (activity reporting).
	status, ident := h.identity(h.aliceToken)
	if status != http.StatusOK || !slices.Contains(strs(ident["scopes"]), "users:activity!user=alice") {
		t.Errorf("server token on /hub/api/user: %d %v", status, ident["scopes"])
	}

	// Preparing again (a restart) replaces the token and the client's secret.
	again, _ := h.startServer("alice", "")
	if _, err := h.db.LookupToken(ctx, h.aliceToken, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old server token still valid: %v", err)
	}
	c, _ = h.db.GetOAuthClient(ctx, "jupyterhub-user-alice")
	if store.VerifyToken(c.Secret, h.aliceToken) || !store.VerifyToken(c.Secret, again) {
		t.Error("client secret not replaced by the new server token")
	}
}

// server_token_scopes: bare !server is bound to the server, users:activity!user is added, and
// what the user does not hold is dropped. Options set the client's scopes and redirect.
func TestPrepareServerOptions(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	ctx := t.Context()
	tok, id, err := h.oauth.PrepareServer(ctx, h.users["bob"], "gpu", "", ServerOptions{
		TokenScopes:         []string{"read:users:name!user", "access:servers!server", "shutdown"},
		ClientAllowedScopes: []string{"read:users:groups!user"},
		RedirectURI:         "https://bob.hub.example/user/bob/gpu/oauth_callback",
	})
	if err != nil {
		t.Fatal(err)
	}
	row, err := h.db.LookupToken(ctx, tok, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"access:servers!server=bob/gpu", "read:users:name!user", "users:activity!user"}
	if !slices.Equal(row.Scopes, want) || row.Note != "Server at /user/bob/gpu/" {
		t.Errorf("token scopes %v note %q, want %v", row.Scopes, row.Note, want)
	}
	c, err := h.db.GetOAuthClient(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if id != "jupyterhub-user-bob-gpu" || c.RedirectURI != "https://bob.hub.example/user/bob/gpu/oauth_callback" ||
		!slices.Equal(c.AllowedScopes, []string{"access:servers!server=bob/gpu", "read:users:groups!user"}) {
		t.Errorf("client %s %+v", id, c)
	}

	// A configured server role replaces the default one.
	if _, err := h.db.UpsertRole(ctx, store.Role{Name: "server", Scopes: []string{"inherit"}}); err != nil {
		t.Fatal(err)
	}
	tok, _, err = h.oauth.PrepareServer(ctx, h.users["bob"], "", "", ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if row, _ := h.db.LookupToken(ctx, tok, time.Now()); row == nil || !slices.Equal(row.Scopes, []string{"inherit"}) {
		t.Errorf("server role inherit: %+v", row)
	}
}

// CleanupServer removes the server token, the client and the tokens issued to it; twice is fine.
func TestCleanupServer(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	ctx := t.Context()
	b := h.browser("alice")
	_, body := h.exchange(h.tokenForm(h.newCode(b, "", ""), ""))
	browserToken, _ := body["access_token"].(string)
	pending := h.newCode(b, "", "")
	// The API caches verified tokens; cleanup must reach that cache too.
	for _, tok := range []string{h.aliceToken, browserToken} {
		if status, _ := h.identity(tok); status != http.StatusOK {
			t.Fatalf("token before cleanup: %d", status)
		}
	}
	if err := h.oauth.CleanupServer(ctx, h.users["alice"], ""); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"server": h.aliceToken, "oauth": browserToken} {
		if _, err := h.db.LookupToken(ctx, tok, time.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s token survives cleanup: %v", name, err)
		}
	}
	for name, tok := range map[string]string{"server": h.aliceToken, "oauth": browserToken} {
		if status, _ := h.identity(tok); status != http.StatusForbidden {
			t.Errorf("%s token on the API after cleanup: %d, want 403", name, status)
		}
	}
	if _, err := h.db.GetOAuthClient(ctx, h.aliceClient); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("client survives cleanup: %v", err)
	}
	if _, err := h.db.TakeOAuthCode(ctx, pending, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("code survives cleanup: %v", err)
	}
	if err := h.oauth.CleanupServer(ctx, h.users["alice"], ""); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
	// Bob's server and tokens are untouched.
	bobToken, _ := h.startServer("bob", "")
	if err := h.oauth.CleanupServer(ctx, h.users["alice"], ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.LookupToken(ctx, bobToken, time.Now()); err != nil {
		t.Errorf("bob's server token: %v", err)
	}
}

// A named server of a user whose name has a dash: the client id is ambiguous, the spawner row
// decides, and the owner logs in without confirmation.
func TestNamedServerOfDashedUser(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.createUser("dash-user", false)
	h.createUser("dash", false)
	token, client := h.startServer("dash-user", "gpu")
	if client != "jupyterhub-user-dash-user-gpu" {
		t.Fatalf("client id %q", client)
	}
	b := h.browser("dash-user")
	q := withPKCE(authorizeQuery(client, "/user/dash-user/gpu/oauth_callback", "s"), verifier, "S256")
	code := codeFrom(t, b.authorize(q), "/user/dash-user/gpu/oauth_callback", "s")
	status, body := h.exchange(map[string][]string{"grant_type": {"authorization_code"}, "code": {code},
		"client_id": {client}, "client_secret": {token}, "redirect_uri": {"/user/dash-user/gpu/oauth_callback"},
		"code_verifier": {verifier}})
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	_, ident := h.identity(body["access_token"].(string))
	got := strs(ident["scopes"])
	slices.Sort(got)
	want := []string{"access:servers!server=dash-user/gpu", "read:users:groups!user=dash-user", "read:users:name!user=dash-user"}
	if !slices.Equal(got, want) {
		t.Errorf("scopes %v, want %v", got, want)
	}
	// The user "dash" is no owner of it.
	if r := h.browser("dash").authorize(q); r.status != http.StatusForbidden {
		t.Errorf("dash: %d, want 403", r.status)
	}
}

// access:servers through a group filter: bob may use alice's server when he holds
// access:servers!group=team and alice is in team (after confirming).
func TestAccessThroughGroup(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	ctx := t.Context()
	if _, err := h.db.CreateGroups(ctx, []string{"team"}, []string{"alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.UpsertRole(ctx, store.Role{Name: "team-access", Scopes: []string{"access:servers!group=team"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.db.GrantRole(ctx, "team-access", store.KindUser, "bob"); err != nil {
		t.Fatal(err)
	}
	h.reload("alice")
	b := h.browser("bob")
	q := authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "s")
	page := b.authorize(q)
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="oauth-confirm"`) {
		t.Fatalf("bob with access:servers!group=team: %d, want the confirmation page", page.status)
	}
	code := codeFrom(t, b.do("POST", authorizePath+"?"+q.Encode(), url.Values{"_xsrf": formValues(page.body, "_xsrf"),
		"scopes": formValues(page.body, "scopes")}), "/user/alice/oauth_callback", "s")
	_, body := h.exchange(h.tokenForm(code, ""))
	// The server does not resolve group filters (§2.4 step 10): the hub must hand it the
	// concrete server scope.
	_, ident := h.identity(body["access_token"].(string))
	if !slices.Contains(strs(ident["scopes"]), "access:servers!server=alice/") {
		t.Errorf("bob's token for alice's server, granted through a group, has scopes %v; want access:servers!server=alice/", ident["scopes"])
	}
}

// After a rename the server keeps its client id (jupyterhub-user-{old name}) until it restarts;
// its owner can still log in to it.
func TestRenamedUserKeepsServerLogin(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	name := "alicia"
	if _, err := h.db.UpdateUser(t.Context(), h.users["alice"].ID, store.UserUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	h.reload("alicia")
	b := h.browser("alicia")
	code := codeFrom(t, b.authorize(authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "s")),
		"/user/alice/oauth_callback", "s")
	status, body := h.exchange(h.tokenForm(code, ""))
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	if _, ident := h.identity(body["access_token"].(string)); !slices.Contains(strs(ident["scopes"]), "access:servers!server=alicia/") {
		t.Errorf("scopes %v", ident["scopes"])
	}
	// Stopping the server cleans up the credentials made under the old name.
	if err := h.oauth.CleanupServer(t.Context(), h.users["alicia"], ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.LookupToken(t.Context(), h.aliceToken, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("server token made before the rename survives cleanup: %v", err)
	}
	if _, err := h.db.GetOAuthClient(t.Context(), h.aliceClient); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("client made before the rename survives cleanup: %v", err)
	}
}
