package local_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gohub/internal/spawner"
	"gohub/internal/spawner/local"
	"gohub/internal/spawner/spawnertest"
	"gohub/internal/unixuser"
)

// userWithUID creates a system user with a free uid in the people's range, removed when the
// test ends.
func userWithUID(t *testing.T) (string, int) {
	t.Helper()
	needRoot(t)
	for range 20 {
		uid := 40000 + rand.IntN(10000)
		if _, err := user.LookupId(strconv.Itoa(uid)); err == nil {
			continue
		}
		name := fmt.Sprintf("gohubuid%d", uid)
		home := filepath.Join(os.TempDir(), "home-"+name)
		out, err := exec.Command("useradd", "--no-create-home", "--home-dir", home, "--shell", "/bin/sh", "--uid", strconv.Itoa(uid), name).CombinedOutput()
		if err != nil {
			t.Logf("useradd --uid %d: %v: %s", uid, err, out)
			continue
		}
		t.Cleanup(func() { exec.Command("userdel", name).Run(); os.RemoveAll(home) })
		if err := os.MkdirAll(home, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(home, uid, -1); err != nil {
			t.Fatal(err)
		}
		return name, uid
	}
	t.Fatal("no free uid found")
	return "", 0
}

// startsAs starts name's server with min_uid and returns the error of the start; a started
// server is checked to run as name's uid and stopped.
func startsAs(t *testing.T, name string, minUID int) error {
	t.Helper()
	cfg := local.DefaultConfig()
	cfg.Cmd = []string{spawnertest.HelperBinary(t)}
	cfg.Environment = map[string]string{spawnertest.HelperEnv: "serve"}
	cfg.MinUID = minUID
	cfg.TermTimeout = spawner.Seconds(2)
	h := newHarness(t, "localprocess", cfg, limits())
	u := h.User(name, false)
	ready, err := h.M.Start(t.Context(), u, "", nil)
	if err != nil {
		return err
	}
	if !ready {
		t.Fatalf("%s: not ready", name)
	}
	var who spawnertest.Whoami
	h.Get(u, "", "whoami", &who)
	sys, _ := user.Lookup(name)
	if strconv.Itoa(who.UID) != sys.Uid {
		t.Errorf("%s's server runs as uid %d", name, who.UID)
	}
	if stopped, err := h.M.Stop(t.Context(), u, ""); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	return nil
}

// noServerOf fails the test if any process runs as a server of name.
func noServerOf(t *testing.T, name string) {
	t.Helper()
	if ps := spawnertest.ServerProcesses(name); len(ps) > 0 {
		for _, p := range ps {
			killPID(p.PID)
		}
		t.Errorf("processes run as %s's server: %+v", name, ps)
	}
}

func killPID(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

// min_uid is a boundary: a user whose uid equals it gets a server, one below it does not.
func TestLocalProcessMinUIDBoundary(t *testing.T) {
	name, uid := userWithUID(t)
	if err := startsAs(t, name, uid); err != nil {
		t.Fatalf("uid %d with min_uid %d: %v", uid, uid, err)
	}
	err := startsAs(t, name, uid+1)
	if err == nil || !strings.Contains(err.Error(), "min_uid") || !strings.Contains(err.Error(), strconv.Itoa(uid+1)) {
		t.Fatalf("uid %d with min_uid %d: %v", uid, uid+1, err)
	}
	noServerOf(t, name)
}

// root and daemon never get a server: not with the default min_uid (UID_MIN of login.defs),
// and root not even with min_uid 1.
func TestLocalProcessRefusesSystemAccounts(t *testing.T) {
	needRoot(t)
	def, err := unixuser.DefaultUIDMin()
	if err != nil {
		t.Fatal(err)
	}
	if got := local.DefaultConfig().MinUID; got != int(def) {
		t.Errorf("default min_uid %d, want UID_MIN %d", got, def)
	}
	for _, c := range []struct {
		name string
		min  int
	}{{"root", int(def)}, {"daemon", int(def)}, {"root", 1}} {
		err := startsAs(t, c.name, c.min)
		if err == nil || !strings.Contains(err.Error(), "refusing to start a server as system user "+c.name) {
			t.Errorf("%s with min_uid %d: %v", c.name, c.min, err)
		}
		noServerOf(t, c.name)
	}
}

// min_uid 0 (or below) is a configuration error: uid 0 never runs a server.
func TestLocalProcessMinUIDValidation(t *testing.T) {
	for _, v := range []int{0, -1, 1 << 33} {
		cfg := local.DefaultConfig()
		cfg.MinUID = v
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "min_uid") {
			t.Errorf("min_uid %d: %v", v, err)
		}
	}
	cfg := local.DefaultConfig()
	cfg.MinUID = 1
	if err := cfg.Validate(); err != nil {
		t.Errorf("min_uid 1: %v", err)
	}
}

// The spawner adds nothing to the command: a jupyterhub-singleuser command run as root (the
// simple spawner in a hub running as root) gets no --allow-root the admin did not write.
func TestNoAllowRootAdded(t *testing.T) {
	needRoot(t)
	out := filepath.Join(t.TempDir(), "argv")
	cfg := simpleConfig(t, "serve")
	cfg.Cmd = []string{"/bin/sh", "-c", `printf '%s\n' "$@" > ` + out + `; exec ` + spawnertest.HelperBinary(t), "jupyterhub-singleuser"}
	h := newHarness(t, "simple", cfg, limits())
	u := h.User("rooty", false)
	if ready, err := h.M.Start(t.Context(), u, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	defer h.M.Stop(t.Context(), u, "")
	var argv []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if argv, _ = os.ReadFile(out); len(argv) > 0 {
			break
		}
	}
	if strings.Contains(string(argv), "--allow-root") || len(argv) == 0 {
		t.Errorf("server argv %q", argv)
	}
}
