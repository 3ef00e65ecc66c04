package migrate

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"gohub/internal/config"
	"gohub/internal/hub"
)

// needPython skips without python3, except under CI=true where it fails.
func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is required under CI: %v", err)
		}
		t.Skipf("python3 not installed: %v", err)
	}
}

// convert writes src as a jupyterhub_config.py in a temporary directory and converts it.
func convert(t *testing.T, src string) (*Result, string, error) {
	t.Helper()
	needPython(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "jupyterhub_config.py")
	if err := os.WriteFile(filepath.Join(dir, "extra_config.py"), []byte("c.Spawner.notebook_dir = '~/notebooks'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Convert(t.Context(), path, Options{Schema: hub.Schema()})
	return res, path, err
}

// sections reads the active (uncommented) part of a converted config.
func sections(t *testing.T, data []byte) map[string]map[string]any {
	t.Helper()
	var out map[string]map[string]any
	if err := yaml.Unmarshal(data, &out); err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, data)
	}
	return out
}

func TestConvert(t *testing.T) {
	cases := []struct {
		name string
		src  string
		// want: Class → trait → value, as the YAML library reads the output.
		want map[string]map[string]any
		// unsupported: "Class.trait" written commented out, and a piece of each note.
		unsupported map[string]string
		// lines that must appear in the output (comments included).
		contains []string
	}{
		{
			name: "simple traits",
			src: `c = get_config()
c.JupyterHub.port = 8001
c.JupyterHub.bind_url = "http://127.0.0.1:8001/hub-root/"
c.Spawner.default_url = '/lab'
c.Spawner.start_timeout = 90.5
c.Spawner.debug = True
c.JupyterHub.log_level = 'DEBUG'
c.JupyterHub.port = 8002  # the last assignment wins
`,
			want: map[string]map[string]any{
				"JupyterHub": {"port": 8002, "bind_url": "http://127.0.0.1:8001/hub-root/", "log_level": "DEBUG"},
				"Spawner":    {"default_url": "/lab", "start_timeout": 90.5, "debug": true},
			},
		},
		{
			name: "sets lists dicts and in-place changes",
			src: `c = get_config()
c.Authenticator.admin_users = {'zoe', 'alice'}
c.Authenticator.admin_users.add('bob')
c.Authenticator.allowed_users.add('carol')
c.Authenticator.allowed_users |= {'dave'}
c.Spawner.args = ['--debug']
c.Spawner.args.append('--no-browser')
c.Spawner.environment.update({'A': '1'})
c.Spawner.environment['B'] = '2'
c.Authenticator.blocked_users = set()
c.Authenticator.blocked_users.update(['eve'])
c.Spawner.cmd = ['jupyterhub-singleuser']
c.Spawner.cmd.extend(['--ServerApp.x=1'])
unset = c.Spawner.notebook_dir  # read, never set: not a setting
c['Spawner']['http_timeout'] = 45
c.Spawner.env_keep.append('HTTPS_PROXY')
`,
			want: map[string]map[string]any{
				"Authenticator": {"admin_users": []any{"alice", "bob", "zoe"}, "allowed_users": []any{"carol", "dave"}, "blocked_users": []any{"eve"}},
				"Spawner": {"args": []any{"--debug", "--no-browser"}, "environment": map[string]any{"A": "1", "B": "2"}, "cmd": []any{"jupyterhub-singleuser", "--ServerApp.x=1"}, "http_timeout": 45,
					"env_keep": []any{"JUPYTERHUB_SINGLEUSER_APP", "HTTPS_PROXY"}},
			},
			contains: []string{"# built with .append() on gohub's default, which is included here", "# built with .add(), |= on a trait not set before (empty by default)", "# built with .update(), [key] = on a trait not set before"},
		},
		{
			name: "class objects from stub modules",
			src: `from firstuseauthenticator import FirstUseAuthenticator
from jupyterhub.spawner import LocalProcessSpawner
c = get_config()
c.JupyterHub.authenticator_class = FirstUseAuthenticator
c.JupyterHub.spawner_class = LocalProcessSpawner
c.FirstUseAuthenticator.create_users = False
`,
			want: map[string]map[string]any{
				"JupyterHub":            {"authenticator_class": "firstuseauthenticator.FirstUseAuthenticator", "spawner_class": "jupyterhub.spawner.LocalProcessSpawner"},
				"FirstUseAuthenticator": {"create_users": false},
			},
		},
		{
			name: "oauthenticator class object",
			src: `from oauthenticator.github import GitHubOAuthenticator
c = get_config()
c.JupyterHub.authenticator_class = GitHubOAuthenticator
c.GitHubOAuthenticator.client_id = 'id'
c.GitHubOAuthenticator.client_secret = 'secret'
c.GitHubOAuthenticator.oauth_callback_url = 'https://hub.example.org/hub/oauth_callback'
c.GitHubOAuthenticator.allowed_organizations = {'jupyterhub'}
`,
			want: map[string]map[string]any{
				"JupyterHub":           {"authenticator_class": "oauthenticator.github.GitHubOAuthenticator"},
				"GitHubOAuthenticator": {"client_id": "id", "client_secret": "secret", "oauth_callback_url": "https://hub.example.org/hub/oauth_callback", "allowed_organizations": []any{"jupyterhub"}},
			},
		},
		{
			name: "dotted strings",
			src: `c = get_config()
c.JupyterHub.authenticator_class = 'nativeauthenticator.NativeAuthenticator'
c.NativeAuthenticator.open_signup = True
`,
			want: map[string]map[string]any{
				"JupyterHub":          {"authenticator_class": "nativeauthenticator.NativeAuthenticator"},
				"NativeAuthenticator": {"open_signup": true},
			},
		},
		{
			name: "services and load_roles",
			src: `c = get_config()
c.JupyterHub.services = [
    {
        'name': 'idle-culler',
        'command': ['python3', '-m', 'jupyterhub_idle_culler', '--timeout=3600'],
    },
    {'name': 'announce', 'url': 'http://127.0.0.1:8888', 'api_token': 'a' * 32},
]
c.JupyterHub.load_roles = [
    {
        'name': 'jupyterhub-idle-culler-role',
        'scopes': ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'],
        'services': ['idle-culler'],
    }
]
`,
			want: map[string]map[string]any{
				"JupyterHub": {
					"services": []any{
						map[string]any{"name": "idle-culler", "command": []any{"python3", "-m", "jupyterhub_idle_culler", "--timeout=3600"}},
						map[string]any{"name": "announce", "url": "http://127.0.0.1:8888", "api_token": strings.Repeat("a", 32)},
					},
					"load_roles": []any{map[string]any{"name": "jupyterhub-idle-culler-role",
						"scopes": []any{"list:users", "read:users:activity", "read:servers", "delete:servers"}, "services": []any{"idle-culler"}}},
				},
			},
		},
		{
			name: "unknown classes and traits are kept commented",
			src: `c = get_config()
c.JupyterHub.port = 8000
c.JupyterHub.no_such_trait = 'x'
c.KubeSpawner.image = 'quay.io/jupyter/base-notebook'
c.JupyterHub.spawner_class = 'dockerspawner.DockerSpawner'
`,
			want: map[string]map[string]any{"JupyterHub": {"port": 8000}},
			unsupported: map[string]string{
				"JupyterHub.no_such_trait": "unknown trait JupyterHub.no_such_trait",
				"KubeSpawner.image":        "unknown class KubeSpawner",
				"JupyterHub.spawner_class": `"dockerspawner.DockerSpawner" is not one of gohub's classes`,
			},
			contains: []string{"  # no_such_trait: x", "# KubeSpawner:", "  # image: quay.io/jupyter/base-notebook", "  # spawner_class: dockerspawner.DockerSpawner"},
		},
		{
			name: "functions and custom classes",
			src: `from jupyterhub.auth import PAMAuthenticator
c = get_config()
def my_hook(spawner):
    spawner.environment['X'] = spawner.user.name
c.Spawner.pre_spawn_hook = my_hook
c.Spawner.options_form = lambda spawner: '<input name="x">'
class MyAuth(PAMAuthenticator):
    pass
c.JupyterHub.authenticator_class = MyAuth
c.Spawner.default_url = '/tree'
`,
			want: map[string]map[string]any{"Spawner": {"default_url": "/tree"}},
			unsupported: map[string]string{
				"Spawner.pre_spawn_hook":         "a Python function (my_hook, defined at line 3)",
				"Spawner.options_form":           "options_form is an HTML string",
				"JupyterHub.authenticator_class": "MyAuth is a class defined in the config file",
			},
			contains: []string{"  # pre_spawn_hook: ...", "# JupyterHub:", "authenticator_class: command"},
		},
		{
			name: "jupyterhub imports resolve to dotted names",
			src: `from jupyterhub.auth import DummyAuthenticator
import jupyterhub.spawner
c = get_config()
c.JupyterHub.authenticator_class = DummyAuthenticator
c.JupyterHub.spawner_class = jupyterhub.spawner.SimpleLocalProcessSpawner
c.DummyAuthenticator.password = 'pw'
`,
			want: map[string]map[string]any{
				"JupyterHub":         {"authenticator_class": "jupyterhub.auth.DummyAuthenticator", "spawner_class": "jupyterhub.spawner.SimpleLocalProcessSpawner"},
				"DummyAuthenticator": {"password": "pw"},
			},
		},
		{
			name: "prints, environment and load_subconfig",
			src: `import os
c = get_config()
print("hello from the config")
c.Spawner.default_url = os.environ.get('NOT_SET_ANYWHERE_GOHUB', '/lab')
load_subconfig('extra_config.py')
`,
			want: map[string]map[string]any{"Spawner": {"default_url": "/lab", "notebook_dir": "~/notebooks"}},
		},
		{
			name: "bytes",
			src: `c = get_config()
c.JupyterHub.cookie_secret = bytes(range(32))
c.Spawner.default_url = b'/lab'
`,
			want: map[string]map[string]any{
				"JupyterHub": {"cookie_secret": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
				"Spawner":    {"default_url": "/lab"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, _, err := convert(t, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			// The output must load with gohub's loader on its own, too.
			f, err := config.Parse("out.yaml", res.YAML)
			if err == nil {
				err = f.Validate(hub.Schema())
			}
			if err != nil {
				t.Fatalf("output does not load: %v\n%s", err, res.YAML)
			}
			got := sections(t, res.YAML)
			if !yamlEqual(t, got, tc.want) {
				t.Errorf("sections:\n got %#v\nwant %#v\n%s", got, tc.want, res.YAML)
			}
			bad := map[string]string{}
			for _, s := range res.Unsupported() {
				bad[s.Class+"."+s.Trait] = s.Unsupported
			}
			if len(bad) != len(tc.unsupported) {
				t.Errorf("unsupported: got %v, want keys of %v", bad, tc.unsupported)
			}
			for k, frag := range tc.unsupported {
				if !strings.Contains(bad[k], frag) {
					t.Errorf("%s: note %q does not contain %q", k, bad[k], frag)
				}
				trait := k[strings.Index(k, ".")+1:]
				if !strings.Contains(string(res.YAML), "# not supported by gohub: ") || !strings.Contains(string(res.YAML), "# "+trait+":") {
					t.Errorf("%s is not written commented out:\n%s", k, res.YAML)
				}
			}
			for _, s := range tc.contains {
				if !strings.Contains(string(res.YAML), s) {
					t.Errorf("output lacks %q:\n%s", s, res.YAML)
				}
			}
		})
	}
}

// yamlEqual compares after normalising through YAML, so ints and floats compare by value.
func yamlEqual(t *testing.T, got, want map[string]map[string]any) bool {
	t.Helper()
	w, err := yaml.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var norm map[string]map[string]any
	if err := yaml.Unmarshal(w, &norm); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(got, norm)
}

func TestConvertErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"syntax error", "c = get_config()\nc.JupyterHub.port = (\n", "jupyterhub_config.py:2: SyntaxError"},
		{"runtime error", "c = get_config()\nc.JupyterHub.port = 8000\nc.JupyterHub.port = 1 / 0\n", "jupyterhub_config.py:3: ZeroDivisionError: division by zero"},
		{"missing module", "import not_a_module_gohub_knows\n", "jupyterhub_config.py:1: ModuleNotFoundError"},
		{"stub helper called", "from jupyterhub.utils import url_path_join\nc = get_config()\nc.Spawner.default_url = url_path_join('/a', 'b')\n", "jupyterhub_config.py:3: RuntimeError: jupyterhub.utils.url_path_join is not available"},
		{"invalid value", "c = get_config()\nc.JupyterHub.port = 8000\nc.JupyterHub.cookie_secret = 'nothex'\n", "jupyterhub_config.py:3: JupyterHub.cookie_secret: not hex-encoded"},
		{"wrong type", "c = get_config()\n\nc.JupyterHub.port = 'eighty'\n", "jupyterhub_config.py:3: "},
		{"assigning a section", "c = get_config()\nc.JupyterHub = 5\n", "jupyterhub_config.py:2: TypeError: c.JupyterHub: assign a trait"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, path, err := convert(t, tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %v does not name the file %s", err, path)
			}
		})
	}
}

// TestRoundTrip converts a config and starts a real hub with the result.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := `from jupyterhub.auth import DummyAuthenticator
c = get_config()
c.JupyterHub.authenticator_class = DummyAuthenticator
c.JupyterHub.db_url = 'sqlite:///' + ` + "'" + filepath.Join(dir, "hub.sqlite") + `'
c.JupyterHub.cookie_secret = bytes(range(32))
c.DummyAuthenticator.password = 'round-trip'
c.Authenticator.admin_users = {'admin'}
c.Authenticator.allowed_users.add('alice')
c.Spawner.pre_spawn_hook = print
`
	res, _, err := convert(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unsupported()) != 1 {
		t.Errorf("unsupported: %+v", res.Unsupported())
	}
	file, err := config.Parse(filepath.Join(dir, "gohub_config.yaml"), res.YAML)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(t.Context(), file, hub.Options{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatalf("hub.New with the converted config: %v\n%s", err, res.YAML)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	r, err := http.Get(srv.URL + "/hub/login")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Errorf("GET /hub/login: %d", r.StatusCode)
	}
	// The converted allow-list and password are in force: alice logs in, mallory does not.
	for user, want := range map[string]bool{"alice": true, "mallory": false} {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		r, err := c.Get(srv.URL + "/hub/login")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(r.Body)
		r.Body.Close()
		m := regexp.MustCompile(`name="_xsrf" value="([^"]+)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("no _xsrf on the login page:\n%s", page)
		}
		r, err = c.PostForm(srv.URL+"/hub/login", url.Values{"_xsrf": {string(m[1])}, "username": {user}, "password": {"round-trip"}})
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if got := r.StatusCode == http.StatusFound || r.StatusCode == http.StatusSeeOther; got != want {
			t.Errorf("login %s: status %d, want success=%v", user, r.StatusCode, want)
		}
	}
}

// TestClassNames: the ways upstream configs name authenticator, spawner and proxy classes all
// come out as names gohub's registries accept.
func TestClassNames(t *testing.T) {
	cases := []struct{ trait, src, want string }{
		{"authenticator_class", "'firstuseauthenticator.FirstUseAuthenticator'", "firstuseauthenticator.FirstUseAuthenticator"},
		{"authenticator_class", "'oauthenticator.github.GitHubOAuthenticator'", "oauthenticator.github.GitHubOAuthenticator"},
		{"authenticator_class", "'nativeauthenticator.NativeAuthenticator'", "nativeauthenticator.NativeAuthenticator"},
		{"authenticator_class", "'github'", "github"},
		{"authenticator_class", "__import__('oauthenticator').GenericOAuthenticator", "oauthenticator.GenericOAuthenticator"},
		{"authenticator_class", "__import__('ldapauthenticator').LDAPAuthenticator", "ldapauthenticator.LDAPAuthenticator"},
		{"authenticator_class", "__import__('jupyterhub.authenticators.shared', fromlist=['x']).SharedPasswordAuthenticator", "jupyterhub.authenticators.shared.SharedPasswordAuthenticator"},
		{"spawner_class", "__import__('jupyterhub.spawner', fromlist=['x']).LocalProcessSpawner", "jupyterhub.spawner.LocalProcessSpawner"},
		{"proxy_class", "__import__('jupyterhub.proxy', fromlist=['x']).ConfigurableHTTPProxy", "jupyterhub.proxy.ConfigurableHTTPProxy"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			res, _, err := convert(t, "c = get_config()\nc.JupyterHub."+tc.trait+" = "+tc.src+"\n")
			if err != nil {
				t.Fatal(err)
			}
			if bad := res.Unsupported(); len(bad) != 0 {
				t.Fatalf("unsupported: %+v", bad)
			}
			got := sections(t, res.YAML)["JupyterHub"][tc.trait]
			if got != tc.want {
				t.Errorf("%s = %v, want %s\n%s", tc.trait, got, tc.want, res.YAML)
			}
		})
	}
}

// TestConvertTimeout: a config that never finishes is stopped.
func TestConvertTimeout(t *testing.T) {
	needPython(t)
	path := filepath.Join(t.TempDir(), "jupyterhub_config.py")
	if err := os.WriteFile(path, []byte("import time\ntime.sleep(60)\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Convert(t.Context(), path, Options{Schema: hub.Schema(), Timeout: 500 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no result within 500ms") {
		t.Fatalf("error %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
}

// TestConvertNoPython: without an interpreter the error says what is missing.
func TestConvertNoPython(t *testing.T) {
	_, err := Convert(t.Context(), "jupyterhub_config.py", Options{Schema: hub.Schema(), Python: filepath.Join(t.TempDir(), "python3")})
	if err == nil || !strings.Contains(err.Error(), "needs Python 3 to read jupyterhub_config.py") {
		t.Fatalf("error %v", err)
	}
}
