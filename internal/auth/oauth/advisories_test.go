package oauth_test

// OAuthenticator's published security advisories, each performed against a whole hub with a
// local stand-in for the provider. SECURITY.md lists them with the test that covers each.

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"gohub/internal/config"
	"gohub/internal/hub"
)

// TestAdvisory_CVE_2018_7206_GitLabGroupSeenIsNotMember: GitLab's allowed groups admitted anyone who could see a group, not only members.
func TestAdvisory_CVE_2018_7206_GitLabGroupSeenIsNotMember(t *testing.T) {
	s := newStandIn(t, "/oauth/authorize", "/oauth/token")
	users := map[string]map[string]any{
		"member":   {"id": 51, "username": "member", "state": "active"},
		"outsider": {"id": 52, "username": "outsider", "state": "active"},
	}
	s.mux.HandleFunc("GET /api/v4/user", func(w http.ResponseWriter, r *http.Request) {
		if u := s.bearer(w, r); u != "" {
			jsonReply(w, users[u])
		}
	})
	// Every user sees the public group in the group list (what the old check read) ...
	s.mux.HandleFunc("GET /api/v4/groups", func(w http.ResponseWriter, r *http.Request) {
		if s.bearer(w, r) != "" {
			jsonReply(w, []map[string]any{{"id": 9, "path": "open-lab", "full_path": "open-lab", "visibility": "public"}})
		}
	})
	// ... but only member belongs to it.
	s.mux.HandleFunc("GET /api/v4/groups/{group}/members/all/{uid}", func(w http.ResponseWriter, r *http.Request) {
		if s.bearer(w, r) == "" {
			return
		}
		if r.PathValue("group") == "open-lab" && r.PathValue("uid") == "51" {
			jsonReply(w, map[string]any{"id": 51, "username": "member", "access_level": 10})
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	s.mux.HandleFunc("GET /api/v4/groups/{group}/members/{uid}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound) // direct members only: nobody
	})
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: gitlab
  db_url: "@DB@"
GitLabOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  gitlab_url: `+s.srv.URL+`
  allowed_gitlab_groups: [open-lab]
`)
	if resp, body := presetLogin(t, th, s, "outsider"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a non-member who can see the allowed group: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	if _, err := th.db.GetUser(t.Context(), "outsider"); err == nil {
		t.Error("the outsider got a hub account")
	}
	if resp, body := presetLogin(t, th, s, "member"); resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Errorf("the group's member: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
}

// googleImpostors is a Google stand-in whose users claim school.edu addresses: "staff" is an
// account of the school.edu Workspace (hd claim), "impostor" a personal Google account that
// merely registered a school.edu address (verified, but no hd), "outsider" another domain.
func googleImpostors(t *testing.T) *standIn {
	return startGoogleWith(t, map[string]map[string]any{
		"staff":    {"id": "1", "email": "staff@school.edu", "verified_email": true, "hd": "school.edu"},
		"impostor": {"id": "2", "email": "impostor@school.edu", "verified_email": true},
		"forged":   {"id": "3", "email": "forged@school.edu", "verified_email": true, "hd": "other.org"},
		"outsider": {"id": "4", "email": "outsider@other.org", "verified_email": true, "hd": "other.org"},
	})
}

// TestAdvisory_GHSA_55m3_44xf_hg4h_GoogleHostedDomainByEmail: Google's hosted_domain was checked on the email's domain, not the hd claim.
func TestAdvisory_GHSA_55m3_44xf_hg4h_GoogleHostedDomainByEmail(t *testing.T) {
	g := googleImpostors(t)
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
	for _, u := range []string{"impostor", "forged"} {
		if resp, body := presetLogin(t, th, g, u); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s (a school.edu address outside the school.edu Workspace): %d at %s\n%s", u, resp.StatusCode, resp.Request.URL, body)
		}
		if _, err := th.db.GetUser(t.Context(), u); err == nil {
			t.Errorf("%s got the hub account %q", u, u)
		}
	}
	if resp, body := presetLogin(t, th, g, "staff"); resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Errorf("the Workspace's member: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
}

// TestAdvisory_GHSA_gprj_3p75_f996_RestrictionSkippedByAllowRules: Globus's identity_provider restriction was skipped by allow_all.
func TestAdvisory_GHSA_gprj_3p75_f996_RestrictionSkippedByAllowRules(t *testing.T) {
	// gohub has no Globus: its restriction (Google's hosted_domain) must hold before every allow rule.
	g := googleImpostors(t)
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: google
  db_url: "@DB@"
Authenticator:
  allow_all: true
  allowed_users: [outsider@other.org, outsider]
  admin_users: [outsider@other.org]
GoogleOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  google_api_url: `+g.srv.URL+`
  hosted_domain: [school.edu]
  allowed_hosted_domains: [other.org]
`)
	if resp, body := presetLogin(t, th, g, "outsider"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("outsider@other.org, allowed by every allow rule but outside hosted_domain: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
}

// TestAdvisory_GHSA_rrvg_cxh4_qhrv_UnverifiedEmailAsUsername: Auth0 logins with an unverified email became the hub user of that address.
func TestAdvisory_GHSA_rrvg_cxh4_qhrv_UnverifiedEmailAsUsername(t *testing.T) {
	// gohub's generic authenticator is what an Auth0, Keycloak or Okta deployment uses.
	s := newStandIn(t, "/authorize", "/oauth/token")
	users := map[string]map[string]any{
		"squatter": {"sub": "auth0|2", "email": "boss@corp.example", "email_verified": false},
		"boss":     {"sub": "auth0|1", "email": "boss@corp.example", "email_verified": true},
	}
	s.mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		if u := s.bearer(w, r); u != "" {
			jsonReply(w, users[u])
		}
	})
	yaml := func(extra string) string {
		return `
JupyterHub:
  authenticator_class: generic
  db_url: "@DB@"
Authenticator:
  allow_all: true
  admin_users: [boss@corp.example]
GenericOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  enable_pkce: true
  authorize_url: ` + s.srv.URL + `/authorize
  token_url: ` + s.srv.URL + `/oauth/token
  userdata_url: ` + s.srv.URL + `/userinfo
  username_claim: email
` + extra
	}
	th := startPresetHub(t, yaml(""))
	resp, body := presetLogin(t, th, s, "squatter")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "unverified email") {
		t.Errorf("an unverified boss@corp.example: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	if resp, body := presetLogin(t, th, s, "boss"); resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Errorf("the verified boss@corp.example: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	// allow_unverified_email (off by default) is the escape hatch for providers that never verify.
	th = startPresetHub(t, yaml("  allow_unverified_email: true\n"))
	if resp, body := presetLogin(t, th, s, "squatter"); resp.StatusCode != 200 {
		t.Errorf("with allow_unverified_email: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
}

// TestAdvisory_CVE_2020_26250_DeprecatedWhitelistIgnored: the deprecated Authenticator.whitelist was ignored, letting everyone in.
func TestAdvisory_CVE_2020_26250_DeprecatedWhitelistIgnored(t *testing.T) {
	// gohub refuses to start with it, saying what to use instead.
	for _, key := range []string{"Authenticator", "GenericOAuthenticator", "OAuthenticator"} {
		err := startError(t, `
JupyterHub:
  authenticator_class: generic
`+key+`:
  whitelist: [alice]
`)
		if err == nil || !strings.Contains(err.Error(), "whitelist") {
			t.Errorf("%s.whitelist was accepted (err %v): the hub would start letting everyone in", key, err)
		}
	}
	// The same hub with allowed_users starts: the refusal is the whitelist's.
	if err := startError(t, "JupyterHub:\n  authenticator_class: generic\nAuthenticator:\n  allowed_users: [alice]\n"); err != nil {
		t.Errorf("the hub with allowed_users does not start: %v", err)
	}
}

// TestAdvisory_CVE_2022_31027_CILogonIdPByEmailDomain: CILogon's allowed_idps was enforced by the email's domain, which users can set.
func TestAdvisory_CVE_2022_31027_CILogonIdPByEmailDomain(t *testing.T) {
	// gohub has no CILogon authenticator: the class is refused rather than run as something else.
	for _, class := range []string{"cilogon", "oauthenticator.cilogon.CILogonOAuthenticator"} {
		if err := startError(t, "JupyterHub:\n  authenticator_class: "+class+"\n"); err == nil {
			t.Errorf("authenticator_class %s was accepted", class)
		}
	}
}

// startError builds a hub from yaml (on a fresh SQLite file) and returns the error that stops
// it; nil means it would have started.
func startError(t *testing.T, yaml string) error {
	t.Helper()
	yaml = strings.Replace(yaml, "JupyterHub:\n", "JupyterHub:\n  db_url: sqlite:///"+filepath.Join(t.TempDir(), "hub.sqlite")+"\n", 1)
	file, err := config.Parse("gohub_config.yaml", []byte(yaml))
	if err != nil {
		return err
	}
	env := map[string]string{"JPY_COOKIE_SECRET": strings.Repeat("ab", 32), "OAUTH_CLIENT_ID": "c", "OAUTH_CLIENT_SECRET": "s",
		"OAUTH2_AUTHORIZE_URL": "http://127.0.0.1:1/a", "OAUTH2_TOKEN_URL": "http://127.0.0.1:1/t", "OAUTH2_USERDATA_URL": "http://127.0.0.1:1/u"}
	h, err := hub.New(t.Context(), file, hub.Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil)), Getenv: func(k string) string { return env[k] }})
	if err == nil {
		h.Close()
	}
	return err
}
