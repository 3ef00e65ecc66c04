package oauth_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gohub/internal/authstate"
)

// A GitHub Enterprise stand-in: /login/oauth/*, and the REST API under /api/v3 with GitHub's
// shapes: /user (email null when private), /user/emails, /user/teams (paginated with Link),
// org membership (204 member, 404 not) and team membership.
func startGitHub(t *testing.T) *standIn {
	s := newStandIn(t, "/login/oauth/authorize", "/login/oauth/access_token")
	users := map[string]map[string]any{
		"octocat": {"login": "Octocat", "id": 1, "name": "The Octocat", "email": nil},
		"hubot":   {"login": "hubot", "id": 2, "name": "Hubot", "email": "hubot@example.com"},
		"mallory": {"login": "mallory", "id": 3, "name": "Mallory", "email": nil},
	}
	orgMembers := map[string][]string{"gohub-org": {"Octocat"}}
	teamMembers := map[string][]string{"gohub-org/core": {"hubot"}}
	s.mux.HandleFunc("GET /api/v3/user", func(w http.ResponseWriter, r *http.Request) {
		if u := s.bearer(w, r); u != "" {
			jsonReply(w, users[u])
		}
	})
	s.mux.HandleFunc("GET /api/v3/user/emails", func(w http.ResponseWriter, r *http.Request) {
		if u := s.bearer(w, r); u != "" {
			jsonReply(w, []map[string]any{
				{"email": u + "@old.example.com", "primary": false, "verified": true},
				{"email": u + "@example.com", "primary": true, "verified": true},
			})
		}
	})
	s.mux.HandleFunc("GET /api/v3/user/teams", func(w http.ResponseWriter, r *http.Request) {
		u := s.bearer(w, r)
		if u == "" {
			return
		}
		if u != "octocat" {
			jsonReply(w, []any{})
			return
		}
		if r.URL.Query().Get("page") == "2" {
			jsonReply(w, []map[string]any{{"slug": "core", "organization": map[string]any{"login": "gohub-org"}}})
			return
		}
		w.Header().Set("Link", fmt.Sprintf(`<%s/api/v3/user/teams?per_page=100&page=2>; rel="next", <%s/api/v3/user/teams?per_page=100&page=2>; rel="last"`, s.srv.URL, s.srv.URL))
		jsonReply(w, []map[string]any{{"slug": "docs", "organization": map[string]any{"login": "gohub-org"}}})
	})
	s.mux.HandleFunc("GET /api/v3/orgs/{org}/members/{user}", func(w http.ResponseWriter, r *http.Request) {
		if s.bearer(w, r) == "" {
			return
		}
		if slices.Contains(orgMembers[r.PathValue("org")], r.PathValue("user")) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	s.mux.HandleFunc("GET /api/v3/orgs/{org}/teams/{team}/members/{user}", func(w http.ResponseWriter, r *http.Request) {
		if s.bearer(w, r) == "" {
			return
		}
		if slices.Contains(teamMembers[r.PathValue("org")+"/"+r.PathValue("team")], r.PathValue("user")) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	return s
}

// GitHub (Enterprise host): members of an allowed organisation or of an allowed org:team log
// in, others get the 403 page; teams become groups (admin_groups); a private email is read from /user/emails; teams (two pages)
// land in auth_state.teams; the login is lowercased into the hub name.
func TestGitHubPreset(t *testing.T) {
	gh := startGitHub(t)
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: github
  db_url: "@DB@"
Authenticator:
  enable_auth_state: true
  manage_groups: true
GitHubOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  github_url: `+gh.srv.URL+`
  scope: [read:org, user:email]
  allowed_organizations: [gohub-org, "gohub-org:core"]
  populate_teams_in_auth_state: true
  admin_groups: ["gohub-org:core"]
`)
	ctx := t.Context()
	if _, body := get(t, browser(t), th.srv.URL+"/hub/login"); !strings.Contains(body, "Sign in with GitHub") {
		t.Errorf("login page: %s", body)
	}

	resp, body := presetLogin(t, th, gh, "octocat")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("octocat (org member): %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	if got := gh.authorize.Get("scope"); got != "read:org user:email" {
		t.Errorf("authorize scope = %q", got)
	}
	u, err := th.db.GetUser(ctx, "octocat")
	if err != nil {
		t.Fatal(err)
	}
	crypt, _ := authstate.New(th.key)
	state, err := crypt.Decrypt(ctx, u.EncryptedAuthState)
	if err != nil {
		t.Fatal(err)
	}
	ghUser, _ := state["github_user"].(map[string]any)
	if ghUser["email"] != "octocat@example.com" {
		t.Errorf("primary email not filled in: %v", ghUser)
	}
	teams, _ := state["teams"].([]any)
	if len(teams) != 2 {
		t.Errorf("teams over two pages: %v", state["teams"])
	}
	// With manage_groups the teams are the user's groups, named org:team; admin_groups uses them.
	if !slices.Equal(u.Groups, []string{"gohub-org:core", "gohub-org:docs"}) || !u.Admin {
		t.Errorf("octocat: groups %v admin %v", u.Groups, u.Admin)
	}

	if resp, body := presetLogin(t, th, gh, "hubot"); resp.StatusCode != 200 {
		t.Errorf("hubot (team member): %d %s", resp.StatusCode, body)
	}
	resp, body = presetLogin(t, th, gh, "mallory")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not currently authorized") {
		t.Errorf("mallory (no membership): %d %s", resp.StatusCode, body)
	}
}
