package ldap_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gohub/internal/authstate"
	"gohub/internal/config"
	"gohub/internal/hub"
)

// TestHubLogin runs a whole hub from a config file that selects the ldap authenticator, and logs
// in through its /hub/login: the groups the directory gives become hub groups, the admin group
// makes an admin, and auth_state is stored encrypted. The first server listed is down.
func TestHubLogin(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	yaml := fmt.Sprintf(`
JupyterHub:
  authenticator_class: ldapauthenticator.LDAPAuthenticator
  db_url: sqlite:///%s
  bind_url: http://127.0.0.1:0
Authenticator:
  manage_groups: true
  enable_auth_state: true
  failed_logins_before_lockout: 0
LDAPAuthenticator:
  # The first server is down: logins go to the second.
  server_address: ["127.0.0.1:%d", 127.0.0.1]
  server_port: %d
  connect_timeout: 1
  tls_ca_file: %s
  bind_dn_template: uid={username},%s
  allowed_groups: ["cn=jupyter,%s"]
  admin_groups:
    - cn=hubadmins,%s
  auth_state_attributes: [mail]
`, filepath.Join(dir, "hub.sqlite"), closedPort(t), s.Port, s.CAFile, people, groups, groups)
	file, err := config.Parse(filepath.Join(dir, "gohub_config.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("cd", 32)
	env := map[string]string{authstate.EnvKey: key, "JPY_COOKIE_SECRET": strings.Repeat("ef", 32)}
	h, err := hub.New(t.Context(), file, hub.Options{Logger: testLogger(t), Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)

	if got := postLogin(t, srv.URL, "alice", "wrong"); got != http.StatusForbidden {
		t.Errorf("wrong password: %d", got)
	}
	if got := postLogin(t, srv.URL, "eve", "eve-password"); got != http.StatusForbidden {
		t.Errorf("eve (no group): %d", got)
	}
	if got := postLogin(t, srv.URL, "alice", "alice-password"); got != http.StatusFound {
		t.Fatalf("alice: %d", got)
	}
	if got := postLogin(t, srv.URL, "bob", "bob-password"); got != http.StatusFound {
		t.Fatalf("bob: %d", got)
	}
	alice, err := h.DB().GetUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := h.DB().GetUser(t.Context(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	if alice.Admin || !bob.Admin || !slices.Equal(alice.Groups, []string{"jupyter"}) || !slices.Equal(bob.Groups, []string{"hubadmins"}) {
		t.Errorf("alice admin=%v groups=%v; bob admin=%v groups=%v", alice.Admin, alice.Groups, bob.Admin, bob.Groups)
	}
	crypt, err := authstate.New(key)
	if err != nil {
		t.Fatal(err)
	}
	state, err := crypt.Decrypt(t.Context(), alice.EncryptedAuthState)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(state["user_attributes"]) != "map[mail:[alice@example.org]]" ||
		fmt.Sprint(state["ldap_groups"]) != "[cn=jupyter,"+groups+"]" {
		t.Errorf("auth_state = %v", state)
	}
	if strings.Contains(string(alice.EncryptedAuthState), "alice@example.org") {
		t.Error("auth_state stored in clear")
	}
}

var xsrfInput = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

// postLogin loads the login page with a fresh browser and posts the form; it returns the status.
func postLogin(t *testing.T, base, user, password string) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/hub/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := xsrfInput.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no _xsrf on the login page (%d):\n%s", resp.StatusCode, page)
	}
	resp, err = c.PostForm(base+"/hub/login", url.Values{"_xsrf": {string(m[1])}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
