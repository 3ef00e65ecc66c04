package oauth_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gohub/internal/authstate"
)

// Before a spawn the hub refreshes the user (refresh_pre_spawn, on by default for OAuth) and the
// spawn policy's pre_spawn_hook gets the fresh auth_state: the access token the provider just
// issued, not the revoked one. (The hook records its input; the server itself cannot start here,
// as no system user alice exists, which does not matter to the test.)
func TestOIDCSpawnGetsRefreshedAuthState(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "hook-input.json")
	hook := filepath.Join(dir, "hook.sh")
	script := "#!/bin/sh\ncat > " + input + ".tmp && mv " + input + ".tmp " + input + "\necho '{}'\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	th, op := setupOIDC(t, "\nOAuthenticator:\n", "\nSpawner:\n  pre_spawn_hook: ["+hook+"]\nOAuthenticator:\n")
	ctx := t.Context()
	c := browser(t)
	if resp, _ := th.login(t, c, op, "alice"); resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	crypt, _ := authstate.New(th.key)
	u, _ := th.db.GetUser(ctx, "alice")
	before, err := crypt.Decrypt(ctx, u.EncryptedAuthState)
	if err != nil {
		t.Fatal(err)
	}
	revoke(t, op, before["access_token"].(string))

	get(t, c, th.srv.URL+"/hub/spawn")
	var in struct {
		User      struct{ Name string } `json:"user"`
		AuthState map[string]any        `json:"auth_state"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(input)
		if err == nil {
			if err := json.Unmarshal(data, &in); err != nil {
				t.Fatalf("hook input: %v: %s", err, data)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pre-spawn hook did not run")
		}
		time.Sleep(50 * time.Millisecond)
	}
	u, _ = th.db.GetUser(ctx, "alice")
	after, _ := crypt.Decrypt(ctx, u.EncryptedAuthState)
	got, _ := in.AuthState["access_token"].(string)
	if in.User.Name != "alice" || got == "" || got == before["access_token"] || got != after["access_token"] {
		t.Errorf("hook saw user %q, access token %.12s…; revoked %.12s…, stored %.12s…",
			in.User.Name, got, before["access_token"], after["access_token"])
	}
	if strings.Contains(string(u.EncryptedAuthState), got) {
		t.Error("the new token is stored in clear")
	}
}
