package oauth

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// python is Debian's python3 with JupyterHub installed (package jupyterhub), or "" when absent.
func python(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import jupyterhub.services.auth").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import jupyterhub (apt-get install jupyterhub): %v", py, err)
		}
		t.Skipf("%s cannot import jupyterhub: %v", py, err)
	}
	return py
}

// The client side is JupyterHub's own HubOAuth (what jupyterhub-singleuser uses), configured
// from the environment a spawner gives a server: it builds the authorize URL, trades the code
// for a token and reads /hub/api/user, and the returned scopes grant it access.
func TestHubOAuthClient(t *testing.T) {
	t.Parallel()
	py := python(t)
	h := newHub(t)
	env := append(os.Environ(),
		"JUPYTERHUB_API_URL="+h.srv.URL+"/hub/api",
		"JUPYTERHUB_API_TOKEN="+h.aliceToken,
		"JUPYTERHUB_CLIENT_ID="+h.aliceClient,
		"JUPYTERHUB_BASE_URL=/",
		"JUPYTERHUB_HOST=",
		"JUPYTERHUB_SERVICE_PREFIX=/user/alice/",
		"JUPYTERHUB_USER=alice",
		"JUPYTERHUB_OAUTH_CALLBACK_URL=/user/alice/oauth_callback",
		`JUPYTERHUB_OAUTH_ACCESS_SCOPES=["access:servers!server=alice/", "access:servers!user=alice"]`,
	)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), py, append([]string{"testdata/huboauth_client.py"}, args...)...)
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("huboauth_client.py %s: %v\n%s", args[0], err, stderr.String())
		}
		return strings.TrimSpace(string(out))
	}

	loginURL, err := url.Parse(run("login-url"))
	if err != nil {
		t.Fatal(err)
	}
	if loginURL.Path != authorizePath {
		t.Fatalf("HubOAuth sends browsers to %s", loginURL)
	}
	code := codeFrom(t, h.browser("alice").do("GET", loginURL.RequestURI(), nil), "/user/alice/oauth_callback", "py-state")

	var reply struct {
		Model   map[string]any `json:"model"`
		Allowed []string       `json:"allowed"`
	}
	if err := json.Unmarshal([]byte(run("exchange", code)), &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Model["name"] != "alice" {
		t.Errorf("HubOAuth sees user %v", reply.Model["name"])
	}
	if !slices.Equal(reply.Allowed, []string{"access:servers!server=alice/"}) {
		t.Errorf("HubOAuth access check matched %v, want [access:servers!server=alice/]", reply.Allowed)
	}
}
