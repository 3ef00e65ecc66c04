package oauth_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A self-hosted GitLab stand-in: /oauth/*, /api/v4/user, group membership through
// /groups/:id/members/all/:user_id (the group's full path URL-encoded as its id; 200 member,
// 404 not) and project membership with an access_level.
func startGitLab(t *testing.T) *standIn {
	s := newStandIn(t, "/oauth/authorize", "/oauth/token")
	users := map[string]map[string]any{
		"gina":  {"id": 41, "username": "gina", "name": "Gina", "state": "active"},
		"devi":  {"id": 42, "username": "devi", "name": "Devi", "state": "active"},
		"rhea":  {"id": 43, "username": "rhea", "name": "Rhea", "state": "active"},
		"guest": {"id": 44, "username": "guest", "name": "Guest", "state": "active"},
	}
	s.mux.HandleFunc("GET /api/v4/user", func(w http.ResponseWriter, r *http.Request) {
		if u := s.bearer(w, r); u != "" {
			jsonReply(w, users[u])
		}
	})
	// The group id is a URL-encoded path: match on the escaped path.
	s.mux.HandleFunc("GET /api/v4/groups/", func(w http.ResponseWriter, r *http.Request) {
		if s.bearer(w, r) == "" {
			return
		}
		if r.URL.EscapedPath() == "/api/v4/groups/science%2Fphysics/members/all/41" {
			jsonReply(w, map[string]any{"id": 41, "username": "gina", "access_level": 10})
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	levels := map[string]int{"42": 30, "44": 20} // devi is a Developer, guest a Reporter
	s.mux.HandleFunc("GET /api/v4/projects/{project}/members/all/{uid}", func(w http.ResponseWriter, r *http.Request) {
		if s.bearer(w, r) == "" {
			return
		}
		if lvl, ok := levels[r.PathValue("uid")]; ok && r.PathValue("project") == "7" {
			jsonReply(w, map[string]any{"id": r.PathValue("uid"), "access_level": lvl})
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	return s
}

// GitLab (self-hosted URL): a member of an allowed group (nested path) and a Developer of an
// allowed project log in; a Reporter of the project and a stranger do not.
func TestGitLabPreset(t *testing.T) {
	gl := startGitLab(t)
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: gitlab
  db_url: "@DB@"
GitLabOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  gitlab_url: `+gl.srv.URL+`
  allowed_gitlab_groups: [science/physics]
  allowed_project_ids: [7]
  scope: [read_api]
`)
	if _, body := get(t, browser(t), th.srv.URL+"/hub/login"); !strings.Contains(body, "Sign in with GitLab") {
		t.Errorf("login page: %s", body)
	}
	for user, want := range map[string]int{"gina": 200, "devi": 200, "guest": 403, "rhea": 403} {
		resp, body := presetLogin(t, th, gl, user)
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d: %s", user, resp.StatusCode, want, body)
		}
		if want == 200 && resp.Request.URL.Path != "/hub/home" {
			t.Errorf("%s landed at %s", user, resp.Request.URL)
		}
	}
	if got := gl.authorize.Get("scope"); got != "read_api" {
		t.Errorf("scope = %q, want read_api", got)
	}
	if _, err := th.db.GetUser(t.Context(), "rhea"); err == nil {
		t.Error(fmt.Sprint("a refused user was created"))
	}
}
