package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"testing"
	"time"
)

// needRoot skips (fails in CI) when the test cannot manage system users.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test creates system users and must run as root in CI")
		}
		t.Skip("needs root to create system users")
	}
}

// TestSeedSetup is issue 4's set-up of the seed, end to end: firstuse with create_system_users
// and a useradd command; carol's first login creates system user carol in group
// jupyterhub-users, and her server runs as carol.
func TestSeedSetup(t *testing.T) {
	needRoot(t)
	singleuser := needSingleuser(t)
	const group, name = "gohub-e2e-users", "gohubcarol"
	exec.Command("userdel", "-r", name).Run()
	if out, err := exec.Command("groupadd", "-f", group).CombinedOutput(); err != nil {
		t.Fatalf("groupadd: %v %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("pkill", "-u", name).Run()
		time.Sleep(200 * time.Millisecond)
		exec.Command("userdel", "-r", name).Run()
		exec.Command("groupdel", group).Run()
	})

	bin := gohubBinary(t)
	dir := t.TempDir()
	hubPort, pubPort := freePort(t), freePort(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
JupyterHub:
  bind_url: http://127.0.0.1:%d
  hub_bind_url: http://127.0.0.1:%d
  db_url: sqlite:///gohub.sqlite
  authenticator_class: firstuse
  spawner_class: localprocess
  services:
    - {name: admin-bot, api_token: %s, admin: true}
LocalAuthenticator:
  create_system_users: true
  add_user_cmd: [useradd, --create-home, --gid, %s, --shell, /bin/bash]
Spawner:
  cmd: [%s]
  start_timeout: 60
  http_timeout: 45
`, pubPort, hubPort, svcToken, group, singleuser))
	h := startHub(t, bin, dir, cfg, hubPort, pubPort)
	sc := &scenario{h: h, b: newBrowser(t, h.pubURL)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub output:\n%s", h.log.String())
		}
		sc.stopServers(t)
	})

	sc.b.login(name, "a-good-first-password")
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("carol's first login did not create system user %s: %v", name, err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil || g.Name != group {
		t.Errorf("system user %s is in group %v (%v), want %s", name, g, err, group)
	}

	sc.landOnServerOf(t, name)
	out, err := exec.Command("pgrep", "-u", name, "-f", "jupyterhub-singleuser").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		ps, _ := exec.Command("ps", "-eo", "user,pid,args").Output()
		t.Errorf("no jupyterhub-singleuser runs as %s (%v); processes:\n%s", name, err, ps)
	}

	// The password is now carol's: another one is refused.
	other := newBrowser(t, h.pubURL)
	if resp := other.login(name, "someone-elses-password"); resp.StatusCode != 403 {
		t.Errorf("login with another password: %d, want 403", resp.StatusCode)
	}
}
