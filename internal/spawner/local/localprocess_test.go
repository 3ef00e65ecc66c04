package local_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gohub/internal/spawner"
	"gohub/internal/spawner/local"
	"gohub/internal/spawner/spawnertest"
)

// needRoot skips a test that must run as root, except under CI=true, where it fails.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root (to create system users and switch to them); CI=true")
	}
	t.Skip("needs root to create system users and switch to them")
}

// systemUser creates a system user with a home directory and a supplementary group, removed
// when the test ends.
func systemUser(t *testing.T) (name string, home string, supGroup string) {
	t.Helper()
	needRoot(t)
	b := make([]byte, 3)
	rand.Read(b)
	name = "gohubsp" + hex.EncodeToString(b)
	supGroup = name + "g"
	home = filepath.Join(os.TempDir(), "home-"+name)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("groupadd", supGroup)
	t.Cleanup(func() { exec.Command("groupdel", supGroup).Run() })
	run("useradd", "--no-create-home", "--home-dir", home, "--shell", "/bin/sh", "--groups", supGroup, name)
	t.Cleanup(func() { exec.Command("userdel", name).Run(); os.RemoveAll(home) })
	if err := os.MkdirAll(filepath.Join(home, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	run("chown", "-R", name+":", home)
	return name, home, supGroup
}

// LocalProcessSpawner runs the server as the system user: its uid, gid, supplementary groups,
// home and shell, in its own session, with exactly the environment of protocol.md §2.2.
func TestLocalProcessRunsAsSystemUser(t *testing.T) {
	name, home, supGroup := systemUser(t)
	cfg := local.DefaultConfig()
	cfg.Cmd = []string{spawnertest.HelperBinary(t)}
	cfg.Environment = map[string]string{"GOHUB_TEST_SERVER": "serve"}
	cfg.NotebookDir = "~/work"
	cfg.DefaultURL = "/lab/tree/{username}"
	cfg.MemLimit = 1 << 30
	cfg.CPULimit = 2
	cfg.OAuthClientAllowedScopes = []string{"read:users:name!user"}
	h := newHarness(t, "localprocess", cfg, limits())
	u := h.User(name, false)
	if ready, err := h.M.Start(t.Context(), u, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	sys, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroup(supGroup)
	if err != nil {
		t.Fatal(err)
	}
	var who spawnertest.Whoami
	h.Get(u, "", "whoami", &who)
	if strconv.Itoa(who.UID) != sys.Uid || strconv.Itoa(who.GID) != sys.Gid {
		t.Errorf("uid/gid %d/%d, want %s/%s", who.UID, who.GID, sys.Uid, sys.Gid)
	}
	gid, _ := strconv.Atoi(g.Gid)
	if !slices.Contains(who.Groups, gid) {
		t.Errorf("groups %v lack %s (%d)", who.Groups, supGroup, gid)
	}
	if who.Cwd != filepath.Join(home, "work") || who.SID != who.PID {
		t.Errorf("cwd %q sid %d pid %d", who.Cwd, who.SID, who.PID)
	}

	var env map[string]string
	h.Get(u, "", "env", &env)
	st := h.M.Status(name, "")
	token := h.Hub.Token("jupyterhub-user-" + name)
	prefix := "/user/" + name + "/"
	want := map[string]string{
		"PATH":                                   "/usr/bin:/bin",
		"LANG":                                   "C.UTF-8",
		"JUPYTERHUB_API_TOKEN":                   token,
		"JPY_API_TOKEN":                          token,
		"JUPYTERHUB_CLIENT_ID":                   "jupyterhub-user-" + name,
		"JUPYTERHUB_API_URL":                     "http://127.0.0.1:8081/hub/api",
		"JUPYTERHUB_ACTIVITY_URL":                "http://127.0.0.1:8081/hub/api/users/" + name + "/activity",
		"JUPYTERHUB_BASE_URL":                    "/",
		"JUPYTERHUB_SERVICE_PREFIX":              prefix,
		"JUPYTERHUB_SERVICE_URL":                 st.Target + prefix,
		"JUPYTERHUB_OAUTH_CALLBACK_URL":          prefix + "oauth_callback",
		"JUPYTERHUB_OAUTH_ACCESS_SCOPES":         `["access:servers!server=` + name + `/", "access:servers!user=` + name + `"]`,
		"JUPYTERHUB_OAUTH_SCOPES":                `["access:servers!server=` + name + `/", "access:servers!user=` + name + `"]`,
		"JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": `["read:users:name!user"]`,
		"JUPYTERHUB_USER":                        name,
		"JUPYTERHUB_SERVER_NAME":                 "",
		"JUPYTERHUB_HOST":                        "",
		"JUPYTERHUB_PUBLIC_URL":                  "",
		"JUPYTERHUB_PUBLIC_HUB_URL":              "",
		"JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED":  "0",
		"JUPYTERHUB_ROOT_DIR":                    "~/work",
		"JUPYTERHUB_DEFAULT_URL":                 "/lab/tree/" + name,
		"MEM_LIMIT":                              "1073741824",
		"CPU_LIMIT":                              "2.0",
		"GOHUB_TEST_SERVER":                      "serve",
		"USER":                                   name,
		"HOME":                                   home,
		"SHELL":                                  "/bin/sh",
	}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("server environment (-want +got):\n%s", diff)
	}
	client, err := h.DB.GetOAuthClient(t.Context(), "jupyterhub-user-"+name)
	if err != nil {
		t.Fatal(err)
	}
	if wantScopes := []string{"access:servers!server=" + name + "/", "read:users:name!user"}; !slices.Equal(client.AllowedScopes, wantScopes) {
		t.Errorf("client allowed scopes %v, want %v", client.AllowedScopes, wantScopes)
	}
	if stopped, err := h.M.Stop(t.Context(), u, ""); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
}

// A hub user with no system account fails to spawn with a message naming the user.
func TestLocalProcessUnknownSystemUser(t *testing.T) {
	cfg := local.DefaultConfig()
	cfg.Cmd = []string{spawnertest.HelperBinary(t)}
	h := newHarness(t, "localprocess", cfg, limits())
	u := h.User("no-such-system-user-gohub", false)
	_, err := h.M.Start(t.Context(), u, "", nil)
	if err == nil || !strings.Contains(err.Error(), `system user "no-such-system-user-gohub"`) {
		t.Fatalf("Start: %v", err)
	}
	if errors.Is(err, spawner.ErrBadRequest) {
		t.Error("a failed spawn is reported as a bad request (400), not as a failure (500)")
	}
	ch, perr := h.M.Progress(t.Context(), u.Name, "")
	if perr != nil {
		t.Fatal(perr)
	}
	if evs := spawnertest.Collect(t, ch); len(evs) != 1 || !strings.Contains(evs[0].Message, "Spawn failed: system user") {
		t.Fatalf("events %+v", evs)
	}
	if st := h.M.Status(u.Name, ""); st.LastFailure == nil {
		t.Fatal("no failure recorded")
	}
}
