package oauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gohub/internal/auth"
	"gohub/internal/auth/oauth"
)

// A plain OAuth 2.0 provider (no OpenID Connect) configured from the environment as upstream
// reads it: the token goes in the userinfo URL (userdata_token_method url), client credentials
// as HTTP Basic, extra authorize and token parameters, the username from a nested claim; with
// auto_login the login page goes straight to the provider, keeping next.
func TestGenericOAuth2FromEnvironment(t *testing.T) {
	s := newStandIn(t, "/authorize", "/token")
	s.mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "token expected in the URL", 400)
			return
		}
		r.Header.Set("Authorization", "Bearer "+r.URL.Query().Get("access_token"))
		if u := s.bearer(w, r); u != "" {
			jsonReply(w, map[string]any{"data": map[string]any{"login": strings.ToUpper(u)}, "fields": r.URL.Query().Get("fields")})
		}
	})
	t.Setenv("OAUTH_CLIENT_ID", "hub-client")
	t.Setenv("OAUTH_CLIENT_SECRET", "hub-secret")
	t.Setenv("OAUTH2_AUTHORIZE_URL", s.srv.URL+"/authorize")
	t.Setenv("OAUTH2_TOKEN_URL", s.srv.URL+"/token")
	t.Setenv("OAUTH2_USERDATA_URL", s.srv.URL+"/api/me")
	t.Setenv("OAUTH2_USERNAME_KEY", "data.login")
	t.Setenv("OAUTH2_USERDATA_REQUEST_TYPE", "url")
	t.Setenv("OAUTH2_BASIC_AUTH", "1")
	t.Setenv("LOGIN_SERVICE", "Example SSO")
	t.Setenv("OAUTH_LOGOUT_REDIRECT_URL", s.srv.URL+"/logout?from=hub")
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: oauthenticator.generic.GenericOAuthenticator
  db_url: "@DB@"
Authenticator:
  allow_all: true
  auto_login: true
GenericOAuthenticator:
  extra_authorize_params: {prompt: consent}
  token_params: {audience: hub}
  userdata_params: {fields: all}
`)
	s.as("dana")
	c := browser(t)
	resp, body := get(t, c, th.srv.URL+"/hub/login?next=%2Fhub%2Fhome%3Ffrom%3Dsso")
	// auto_login: /hub/login → oauth_login → provider → callback → next.
	if resp.StatusCode != 200 || resp.Request.URL.RequestURI() != "/hub/home?from=sso" {
		t.Fatalf("auto login: %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	if s.authorize.Get("prompt") != "consent" || s.authorize.Get("nonce") != "" {
		t.Errorf("authorize request: %v", s.authorize)
	}
	if !s.basic || s.tokenForm.Get("audience") != "hub" || s.tokenForm.Get("client_secret") != "" {
		t.Errorf("token request: basic %v form %v", s.basic, s.tokenForm)
	}
	if _, err := th.db.GetUser(t.Context(), "dana"); err != nil {
		t.Errorf("DANA from data.login is not the hub user dana: %v", err)
	}
	// logout_redirect_url: the hub's logout ends the hub session, then goes to the provider.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(th.srv.URL + "/hub/logout")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != s.srv.URL+"/logout?from=hub" {
		t.Errorf("logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get(t, c, th.srv.URL+"/hub/api/user"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("still logged in after logout: %d", resp.StatusCode)
	}
}

// Bad configuration is refused with a clear message; missing credentials are only warnings
// (upstream starts without them), and the login page then says sign-in is not configured.
func TestGenericConfig(t *testing.T) {
	bad := map[string]func(*oauth.GenericConfig){
		"allowed_groups and admin_groups need": func(c *oauth.GenericConfig) { c.AllowedGroups = []string{"x"} },
		"is not an http(s) URL":                func(c *oauth.GenericConfig) { c.TokenURL = "ftp://x" },
		"userdata_token_method must be":        func(c *oauth.GenericConfig) { c.UserdataTokenMethod = "cookie" },
		"allowed_scopes":                       func(c *oauth.GenericConfig) { c.AllowedScopes = []string{"admin"} },
		"needs jwks_url or oidc_issuer":        func(c *oauth.GenericConfig) { c.UserdataFromIDToken = true },
	}
	for want, mutate := range bad {
		c := oauth.DefaultGenericConfig()
		mutate(c)
		if _, err := oauth.NewGeneric(c, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
	a, err := oauth.NewGeneric(oauth.DefaultGenericConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(a.ConfigWarnings(a.Config().Config), "\n")
	for _, want := range []string{"client_id is not set", "authorize_url is not set", "token_url is not set", "userdata_url is not set"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q: %s", want, w)
		}
	}
	if strings.Contains(w, "jwks_url without oidc_issuer") {
		t.Errorf("issuer warning without jwks_url: %s", w)
	}
	c := oauth.DefaultGenericConfig()
	c.JWKSURL = "https://idp.example/keys"
	if a2, err := oauth.NewGeneric(c, nil); err != nil || !strings.Contains(strings.Join(a2.ConfigWarnings(a2.Config().Config), "\n"), "jwks_url without oidc_issuer") {
		t.Errorf("jwks_url without oidc_issuer gives no warning (%v)", err)
	}
	for tenant, want := range map[string]bool{"common": true, "organizations": true, "0b5ef4b1-6a2b-4a5e-9c0e-2f6d0e0a0b0c": false} {
		c := oauth.DefaultAzureADConfig()
		c.TenantID = tenant
		az, err := oauth.NewAzureAD(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := strings.Join(az.ConfigWarnings(az.Config().Config), "\n")
		if got := strings.Contains(w, "display names are not unique"); got != want {
			t.Errorf("tenant %s: name-claim warning %v, want %v: %s", tenant, got, want, w)
		}
	}

	// Only the callback logs in: a username and password (login form, API) are refused.
	req := httptest.NewRequest("POST", "/hub/login", nil)
	if _, err := a.Authenticate(t.Context(), auth.Credentials{Username: "dana", Password: "x", Request: req}); !errors.Is(err, auth.ErrRejected) {
		t.Errorf("password login: %v", err)
	}

	th := startPresetHub(t, "JupyterHub:\n  authenticator_class: generic\n  db_url: \"@DB@\"\n")
	resp, body := get(t, browser(t), th.srv.URL+"/hub/oauth_login")
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "not configured") {
		t.Errorf("unconfigured oauth_login: %d %s", resp.StatusCode, body)
	}
}
