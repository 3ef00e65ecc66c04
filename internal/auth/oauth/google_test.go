package oauth_test

import (
	"net/http"
	"strings"
	"testing"
)

// A Google stand-in under google_api_url: the authorize and token endpoints and the v1
// userinfo shape (email, verified_email, hd).
func startGoogle(t *testing.T) *standIn {
	return startGoogleWith(t, map[string]map[string]any{
		"ann":     {"id": "1", "email": "ann@school.edu", "verified_email": true, "hd": "school.edu", "name": "Ann"},
		"ben":     {"id": "2", "email": "ben@other.org", "verified_email": true, "hd": "other.org", "name": "Ben"},
		"gmail":   {"id": "3", "email": "someone@gmail.com", "verified_email": true, "name": "Someone"},
		"unverif": {"id": "4", "email": "unverif@school.edu", "verified_email": false, "hd": "school.edu"},
		"someone": {"id": "5", "email": "someone@other.org", "verified_email": true, "hd": "other.org", "name": "Someone Else"},
	})
}

// startGoogleWith is the Google stand-in with the given users (by access-token name).
func startGoogleWith(t *testing.T, users map[string]map[string]any) *standIn {
	s := newStandIn(t, "/o/oauth2/v2/auth", "/token")
	s.mux.HandleFunc("GET /oauth2/v1/userinfo", func(w http.ResponseWriter, r *http.Request) {
		if u := s.bearer(w, r); u != "" {
			jsonReply(w, users[u])
		}
	})
	return s
}

// Google: hosted_domain is restrictive (another domain or a personal account is refused with
// its reason, even with allow_all), the domain is stripped from the username, the authorize
// request carries hd, and an unverified email is refused.
func TestGooglePreset(t *testing.T) {
	g := startGoogle(t)
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: google
  db_url: "@DB@"
Authenticator:
  allow_all: true
GoogleOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  google_api_url: `+g.srv.URL+`
  hosted_domain: [school.edu]
`)
	if _, body := get(t, browser(t), th.srv.URL+"/hub/login"); !strings.Contains(body, "Sign in with Google") {
		t.Errorf("login page: %s", body)
	}
	resp, body := presetLogin(t, th, g, "ann")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("ann: %d %s", resp.StatusCode, body)
	}
	if _, err := th.db.GetUser(t.Context(), "ann"); err != nil {
		t.Errorf("ann@school.edu is not the hub user ann: %v", err)
	}
	if g.authorize.Get("hd") != "school.edu" || g.authorize.Get("scope") != "openid email" || g.authorize.Get("nonce") == "" {
		t.Errorf("authorize request: %v", g.authorize)
	}
	for user, msg := range map[string]string{
		"ben":     "Google account domain @other.org not authorized.",
		"gmail":   "Google account domain @gmail.com not authorized.",
		"unverif": "Login with unverified email unverif@school.edu is not allowed",
	} {
		resp, body := presetLogin(t, th, g, user)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, msg) {
			t.Errorf("%s: %d, want 403 %q: %s", user, resp.StatusCode, msg, body)
		}
	}
}

// Without hosted_domain, nothing is stripped: someone@gmail.com and someone@other.org are two
// people and must be two hub users, not both "someone" (the second would take over the first's
// account, servers and tokens).
func TestGoogleWithoutHostedDomainKeepsTheDomain(t *testing.T) {
	g := startGoogle(t)
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: google
  db_url: "@DB@"
Authenticator:
  allow_all: true
GoogleOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  google_api_url: `+g.srv.URL+`
`)
	for _, u := range []string{"gmail", "someone"} {
		if resp, body := presetLogin(t, th, g, u); resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
			t.Fatalf("%s: %d %s", u, resp.StatusCode, body)
		}
	}
	for _, name := range []string{"someone@gmail.com", "someone@other.org"} {
		if _, err := th.db.GetUser(t.Context(), name); err != nil {
			t.Errorf("hub user %s: %v", name, err)
		}
	}
	if _, err := th.db.GetUser(t.Context(), "someone"); err == nil {
		t.Error("an email was cut to the bare name \"someone\" without hosted_domain: accounts of different domains merge")
	}
}
