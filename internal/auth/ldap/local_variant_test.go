package ldap_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gohub/internal/auth/local/systest"
	"gohub/internal/config"
	"gohub/internal/hub"
	"gohub/internal/testutil"
)

// localEntries are users whose employeeNumber, the hub name with use_lookup_dn_username, is a
// safe system name (gohub-ldap-ok, after lowercasing) or a hostile one.
const localEntries = `
dn: uid=ldapok,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: ldapok
cn: Ok
sn: Ok
employeeNumber: GoHub-LDAP-OK
userPassword: ok-password
` + `
dn: uid=ldapdash,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: ldapdash
cn: Dash
sn: Dash
employeeNumber: -rf
userPassword: dash-password
` + `
dn: uid=ldapblank,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: ldapblank
cn: Blank
sn: Blank
employeeNumber: evil name
userPassword: blank-password
` + `
dn: uid=ldapdots,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: ldapdots
cn: Dots
sn: Dots
employeeNumber: x;id
userPassword: dots-password
`

// LocalLDAPAuthenticator through a whole hub and a real slapd: the directory's name for the user
// (employeeNumber, use_lookup_dn_username) becomes the UNIX account, created at the first login
// by a real useradd; names from the directory that cannot be system user names ("-rf",
// "evil name", "x;id") are refused before add_user_cmd runs; the account is removed at the end.
func TestLocalLDAPCreatesSafeSystemUsersOnly(t *testing.T) {
	systest.Require(t)
	const good = "gohub-ldap-ok"
	t.Cleanup(func() {
		if systest.Exists(good) {
			t.Errorf("system user %s still exists after the test", good)
		}
	})
	systest.Forget(t, good)
	fixture, err := os.ReadFile("testdata/fixture.ldif")
	if err != nil {
		t.Fatal(err)
	}
	s := testutil.StartSlapd(t, testutil.SlapdOptions{LDIF: string(fixture) + localEntries, TLS: true})
	dir := t.TempDir()
	log := filepath.Join(dir, "useradd.log")
	yaml := fmt.Sprintf(`
JupyterHub:
  authenticator_class: local-ldap
  db_url: sqlite:///%s
  bind_url: http://127.0.0.1:0
Authenticator:
  allow_all: true
  failed_logins_before_lockout: 0
LocalAuthenticator:
  create_system_users: true
LocalLDAPAuthenticator:
  server_address: 127.0.0.1
  server_port: %d
  tls_ca_file: %s
  lookup_dn: true
  user_search_base: %s
  user_attribute: uid
  lookup_dn_search_user: cn=search,dc=example,dc=org
  lookup_dn_search_password: search-secret
  lookup_dn_user_dn_attribute: employeeNumber
  use_lookup_dn_username: true
  add_user_cmd: [/bin/sh, -c, 'printf "%%s\n" "$0" >> %s; exec useradd --create-home --shell /bin/bash "$0"']
`, filepath.Join(dir, "hub.sqlite"), s.Port, s.CAFile, people, log)
	file, err := config.Parse(filepath.Join(dir, "gohub_config.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"JPY_COOKIE_SECRET": strings.Repeat("ef", 32)}
	h, err := hub.New(t.Context(), file, hub.Options{Logger: testLogger(t), Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)

	for _, u := range []string{"ldapdash", "ldapblank", "ldapdots"} {
		if got := postLogin(t, srv.URL, u, strings.TrimPrefix(u, "ldap")+"-password"); got != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", u, got)
		}
	}
	if raw, err := os.ReadFile(log); err == nil {
		t.Errorf("add_user_cmd ran for a hostile name: %q", raw)
	}
	if got := postLogin(t, srv.URL, "ldapok", "wrong"); got != http.StatusForbidden {
		t.Errorf("wrong password: %d", got)
	}
	if systest.Exists(good) {
		t.Fatal("a refused login created the system user")
	}
	if got := postLogin(t, srv.URL, "ldapok", "ok-password"); got != http.StatusFound {
		t.Fatalf("ldapok: %d", got)
	}
	if !systest.Exists(good) {
		t.Fatalf("system user %s was not created", good)
	}
	if raw, _ := os.ReadFile(log); string(raw) != good+"\n" {
		t.Errorf("add_user_cmd ran for %q, want only %s", raw, good)
	}
	if _, err := h.DB().GetUser(t.Context(), good); err != nil {
		t.Errorf("hub user: %v", err)
	}
}
