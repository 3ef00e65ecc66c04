package spawner_test

import (
	"testing"

	"gohub/internal/spawner"
)

// The pre-spawn hook sees the user's auth_state, so it can hand the provider's access token to
// the server (upstream's auth_state_hook / pre_spawn_start recipe); without auth_state the key
// is absent.
func TestPreSpawnHookSeesAuthState(t *testing.T) {
	hook := hookScript(t, `
import json, sys
d = json.load(sys.stdin)
st = d.get("auth_state")
print(json.dumps({"environment": {"UPSTREAM_TOKEN": st["access_token"] if st else "none"}}))
`)
	p, err := spawner.NewSpawnPolicy(loadKind(t, "\npre_spawn_hook: ["+hook+"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	u := spawner.User{Name: "bob", AuthState: map[string]any{"access_token": "tok-123"}}
	if c := resolve(t, p, u, nil); c.Environment["UPSTREAM_TOKEN"] != "tok-123" {
		t.Errorf("with auth_state: env %v", c.Environment)
	}
	if c := resolve(t, p, spawner.User{Name: "bob"}, nil); c.Environment["UPSTREAM_TOKEN"] != "none" {
		t.Errorf("without auth_state: env %v", c.Environment)
	}
}
