package oauth_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gohub/internal/auth/local/systest"
	"gohub/internal/store"
)

// logUseradd is an add_user_cmd that records each name it is run for in log, then runs the real
// useradd: the name is appended by the hub, so it is the script's $0.
func logUseradd(log string) string {
	return `[/bin/sh, -c, 'printf "%s\n" "$0" >> ` + log + `; exec useradd --create-home --shell /bin/bash "$0"']`
}

// expectRemovedAtEnd checks, after every other cleanup (systest.Forget's userdel included),
// that the system user is gone.
func expectRemovedAtEnd(t *testing.T, name string) {
	t.Cleanup(func() {
		if systest.Exists(name) {
			t.Errorf("system user %s still exists after the test", name)
		}
	})
}

// LocalGenericOAuthenticator against the real OpenID provider: with create_system_users and a
// real useradd, the first login of "id-alice" (username_claim sub) creates her UNIX account,
// with a home, and the login lands on /hub/home; the account is removed at the end.
func TestLocalGenericOIDCCreatesSystemUser(t *testing.T) {
	systest.Require(t)
	const name = "id-alice"
	expectRemovedAtEnd(t, name)
	systest.Forget(t, name)
	th, op := setupOIDC(t,
		"authenticator_class: generic", "authenticator_class: local-generic-oauth",
		"GenericOAuthenticator:", "LocalAuthenticator:\n  create_system_users: true\n  add_user_cmd: [useradd, --create-home, --shell, /bin/bash]\nLocalGenericOAuthenticator:",
		"username_claim: preferred_username", "username_claim: sub",
		"allowed_groups: [physics]", "allowed_groups: [physics]\n  allowed_system_groups: [gohub-nonexistent-group]")

	resp, body := th.login(t, browser(t), op, "alice")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("after login: %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	if !systest.Exists(name) {
		t.Fatalf("system user %s was not created", name)
	}
	if _, err := os.Stat("/home/" + name); err != nil {
		t.Errorf("home of %s: %v", name, err)
	}
	if _, err := th.db.GetUser(t.Context(), name); err != nil {
		t.Errorf("hub user %s: %v", name, err)
	}
	// A second login finds the account and does not create it again.
	if resp, body := th.login(t, browser(t), op, "alice"); resp.StatusCode != 200 {
		t.Errorf("second login: %d %s", resp.StatusCode, body)
	}
}

// A name from the OpenID provider that cannot be a system user name ("bob test", from the name
// claim) is refused with a message, and add_user_cmd never runs; the hub has no such user.
func TestLocalGenericOIDCRefusesUnsafeName(t *testing.T) {
	systest.Require(t)
	log := filepath.Join(t.TempDir(), "useradd.log")
	th, op := setupOIDC(t,
		"authenticator_class: generic", "authenticator_class: local-generic-oauth",
		"GenericOAuthenticator:", "LocalGenericOAuthenticator:\n  create_system_users: true\n  add_user_cmd: "+logUseradd(log),
		"username_claim: preferred_username", "username_claim: name",
		"allowed_groups: [physics]", "allowed_groups: [physics, staff]")
	resp, body := th.login(t, browser(t), op, "bob")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Cannot create a system user for this name") {
		t.Errorf("bob (name %q): %d %s", "Bob Test", resp.StatusCode, body)
	}
	if _, err := os.Stat(log); !os.IsNotExist(err) {
		raw, _ := os.ReadFile(log)
		t.Errorf("add_user_cmd ran: %q", raw)
	}
	users, _, err := th.db.ListUsers(t.Context(), store.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		t.Errorf("the hub created user %q", u.Name)
	}
}

// LocalGitHubOAuthenticator with a GitHub stand-in: a safe login gets a UNIX account from a real
// useradd; logins GitHub would never issue but a hostile or broken provider could ("../etc",
// "-rf", "evil name", "x;id") are refused before any command runs.
func TestLocalGitHubCreatesSafeSystemUsersOnly(t *testing.T) {
	systest.Require(t)
	const good, viaAPI = "gohub-gh-octo", "gohub-gh-api"
	expectRemovedAtEnd(t, good)
	systest.Forget(t, good)
	expectRemovedAtEnd(t, viaAPI)
	systest.Forget(t, viaAPI)
	apiToken := strings.Repeat("a1", 20)
	log := filepath.Join(t.TempDir(), "useradd.log")
	gh := newStandIn(t, "/login/oauth/authorize", "/login/oauth/access_token")
	logins := map[string]string{"octo": "GoHub-GH-Octo", "dots": "../etc", "dash": "-rf", "blank": "evil name", "semi": "x;id"}
	gh.mux.HandleFunc("GET /api/v3/user", func(w http.ResponseWriter, r *http.Request) {
		if u := gh.bearer(w, r); u != "" {
			jsonReply(w, map[string]any{"login": logins[u], "id": len(u), "email": u + "@example.com"})
		}
	})
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: oauthenticator.github.LocalGitHubOAuthenticator
  db_url: "@DB@"
  redirect_to_server: false
  services:
    - {name: provisioner, api_token: `+apiToken+`, admin: true}
Authenticator:
  allow_all: true
GitHubOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  github_url: `+gh.srv.URL+`
LocalGitHubOAuthenticator:
  create_system_users: true
  add_user_cmd: `+logUseradd(log)+`
`)
	for _, who := range []string{"dots", "dash", "blank", "semi"} {
		resp, body := presetLogin(t, th, gh, who)
		if resp.StatusCode == 200 {
			t.Errorf("%s (login %q) logged in: %s", who, logins[who], body)
		}
		// "../etc" is already refused by the hub's own name check; the others reach the system
		// account step, which refuses them with its reason.
		if resp.StatusCode != http.StatusForbidden || (who != "dots" && !strings.Contains(body, "Cannot create a system user for this name")) {
			t.Errorf("%s: %d %s", who, resp.StatusCode, pageMessage(body))
		}
	}
	if raw, err := os.ReadFile(log); err == nil {
		t.Errorf("add_user_cmd ran for a hostile name: %q", raw)
	}
	resp, body := presetLogin(t, th, gh, "octo")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("octo: %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	if !systest.Exists(good) {
		t.Fatalf("system user %s was not created", good)
	}
	raw, _ := os.ReadFile(log)
	if string(raw) != good+"\n" {
		t.Errorf("add_user_cmd ran for %q, want only %s", raw, good)
	}
	users, _, err := th.db.ListUsers(t.Context(), store.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Name != good {
		t.Errorf("hub users: %v", users)
	}

	// Users added through the REST API get their account too; a name the hub accepts but that
	// cannot be a system user name ("9lives") is refused (400) before any command and not created.
	post := func(name string) (int, string) {
		req, _ := http.NewRequest("POST", th.srv.URL+"/hub/api/users/"+name, nil)
		req.Header.Set("Authorization", "token "+apiToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := post(viaAPI); code != http.StatusCreated || !systest.Exists(viaAPI) {
		t.Errorf("POST /users/%s: %d %s; system user exists: %v", viaAPI, code, body, systest.Exists(viaAPI))
	}
	if code, body := post("9lives"); code != http.StatusBadRequest || !strings.Contains(body, "system user name") {
		t.Errorf("POST /users/9lives: %d %s", code, body)
	}
	if _, err := th.db.GetUser(t.Context(), "9lives"); err == nil {
		t.Error("the hub created 9lives")
	}
	if raw, _ := os.ReadFile(log); string(raw) != good+"\n"+viaAPI+"\n" {
		t.Errorf("add_user_cmd ran for %q", raw)
	}
}

// pageMessage is the text of the error page's message, for logs.
func pageMessage(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	if len(body) > 600 {
		body = body[:600]
	}
	return body
}

// LocalGitHubOAuthenticator without create_system_users, as upstream's LocalAuthenticator: a
// member of a UNIX group in allowed_system_groups logs in with no other allow rule; a system user
// outside it is not allowed; a user allowed by name but without a system account is refused with
// the reason.
func TestLocalGitHubAllowedSystemGroups(t *testing.T) {
	systest.Require(t)
	systest.Group(t, "gohub-lv-staff")
	systest.User(t, "gohub-gh-member", "", "gohub-lv-staff")
	systest.User(t, "gohub-gh-other", "")
	gh := newStandIn(t, "/login/oauth/authorize", "/login/oauth/access_token")
	gh.mux.HandleFunc("GET /api/v3/user", func(w http.ResponseWriter, r *http.Request) {
		if u := gh.bearer(w, r); u != "" {
			jsonReply(w, map[string]any{"login": u, "id": len(u), "email": u + "@example.com"})
		}
	})
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: local-github
  db_url: "@DB@"
  redirect_to_server: false
Authenticator:
  allowed_users: [gohub-gh-missing]
OAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
GitHubOAuthenticator:
  github_url: `+gh.srv.URL+`
LocalGitHubOAuthenticator:
  allowed_system_groups: [gohub-lv-staff]
`)
	if resp, body := presetLogin(t, th, gh, "gohub-gh-member"); resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Errorf("member of the UNIX group: %d at %s: %s", resp.StatusCode, resp.Request.URL, pageMessage(body))
	}
	if resp, body := presetLogin(t, th, gh, "gohub-gh-other"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not currently authorized") {
		t.Errorf("system user outside the group: %d %s", resp.StatusCode, pageMessage(body))
	}
	resp, body := presetLogin(t, th, gh, "gohub-gh-missing")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "does not exist on the system") {
		t.Errorf("allowed user without a system account: %d %s", resp.StatusCode, pageMessage(body))
	}
	if systest.Exists("gohub-gh-missing") {
		t.Error("a system user was created without create_system_users")
	}
}
