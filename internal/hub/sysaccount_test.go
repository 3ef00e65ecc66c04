package hub

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"gohub/internal/spawner/spawnertest"
)

// systemAccountHub is a FirstUse hub (anyone may claim a name with a first password, allow_all)
// with the default LocalProcessSpawner running the test server: the hub where logging in as
// root used to start a server as uid 0.
func systemAccountHub(t *testing.T) *liveHub {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the attack is a server started as another system user")
	}
	return startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		cfg := hubConfig(t, dir, pub, hubPort, "firstuse", "Authenticator:\n  allow_all: true\nFirstUseAuthenticator:\n  bcrypt_cost: 10\n")
		return strings.Replace(cfg, "spawner_class: simple", "spawner_class: localprocess", 1)
	})
}

// The attack: a stranger logs in to a FirstUse + localprocess hub as root (and as daemon) with
// a password of their choice and asks for a server. The login is refused with a message saying
// why, no account is created, and no process runs as a server of that name.
func TestSystemAccountLoginAttack(t *testing.T) {
	lh := systemAccountHub(t)
	for _, name := range []string{"root", "daemon", "Root"} {
		b := lh.browser()
		code, loc, body := b.post("/hub/login", "/hub/login", url.Values{"username": {name}, "password": {"attacker-chosen-pw"}})
		// Whatever the login said, go on as the attacker would: ask for the server.
		b.get("/hub/spawn")
		time.Sleep(300 * time.Millisecond)
		low := strings.ToLower(name)
		if ps := spawnertest.ServerProcesses(low); len(ps) > 0 {
			for _, p := range ps {
				if proc, err := os.FindProcess(p.PID); err == nil {
					proc.Kill()
				}
			}
			t.Errorf("%s: processes run as %s's server: %+v", name, low, ps)
		}
		if code == http.StatusFound {
			t.Errorf("%s: the login was accepted (302 to %s)", name, loc)
			continue
		}
		if !strings.Contains(body, "belongs to a system account") {
			t.Errorf("%s: no clear error on the login page (%d):\n%s", name, code, body)
		}
		if c := lh.api("GET", "/users/"+low, adminToken, nil, nil); c != http.StatusNotFound {
			t.Errorf("%s: hub user exists after a refused login (%d)", name, c)
		}
	}
	// A person's name still works on the same hub.
	if !lh.browser().login("alice", "alice-first-pw") {
		t.Error("alice's first login was refused")
	}
}

// The second line of defence, for hubs whose authenticator does not refuse such names (PAM,
// or a user an admin created): the spawner refuses to run daemon's server, and says why.
func TestSystemAccountSpawnRefused(t *testing.T) {
	lh := systemAccountHub(t)
	if code := lh.api("POST", "/users/daemon", adminToken, nil, nil); code != http.StatusCreated {
		t.Fatalf("create daemon: %d", code)
	}
	lh.api("POST", "/users/daemon/server", adminToken, nil, nil)
	var failure error
	if !within(10*time.Second, func() bool { failure = lh.h.spawners.Status("daemon", "").LastFailure; return failure != nil }) {
		t.Fatal("daemon's spawn did not fail")
	}
	if !strings.Contains(failure.Error(), "min_uid") {
		t.Errorf("spawn failure %q does not say why", failure)
	}
	if ps := spawnertest.ServerProcesses("daemon"); len(ps) > 0 {
		t.Errorf("processes run as daemon's server: %+v", ps)
	}
}
