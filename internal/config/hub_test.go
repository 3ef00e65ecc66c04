package config

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gohub/internal/rbac"
)

func decodeHub(t *testing.T, text string) (*Hub, error) {
	t.Helper()
	f := mustParse(t, text)
	h := DefaultHub()
	err := f.Decode(testSchema(), HubClass, h)
	return h, err
}

func TestHubDefaultsAreValid(t *testing.T) {
	h := DefaultHub()
	if err := h.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if !cmp.Equal(h, DefaultHub()) {
		t.Errorf("Validate changed the defaults: %s", cmp.Diff(DefaultHub(), h))
	}
	host, port, err := h.BindAddr()
	if err != nil || host != "" || port != "8000" {
		t.Errorf("BindAddr() = %q, %q, %v; want all interfaces, 8000", host, port, err)
	}
	host, port, err = h.HubBindAddr()
	if err != nil || host != "127.0.0.1" || port != "8081" {
		t.Errorf("HubBindAddr() = %q, %q, %v; want 127.0.0.1, 8081", host, port, err)
	}
	if h.Level() != slog.LevelInfo {
		t.Errorf("Level() = %v", h.Level())
	}
}

func TestHubFullSection(t *testing.T) {
	h, err := decodeHub(t, `
JupyterHub:
  bind_url: https://0.0.0.0:443/jupyter
  hub_bind_url: http://10.0.0.5:8090
  hub_connect_url: http://hub.internal:8090
  public_url: https://hub.example.org/
  cookie_secret_file: /var/lib/gohub/cookie_secret
  cookie_max_age_days: 0.5
  db_url: hub.sqlite
  authenticator_class: dummy
  spawner_class: simple
  proxy_class: configurable-http-proxy
  services:
    - name: culler
      api_token: cccccccccccccccccccccccc
      admin: true
      command: [python3, -m, jupyterhub_idle_culler]
      environment: {TIMEOUT: "3600"}
      oauth_client_allowed_scopes: [read:users]
      info: {docs: https://example.org, level: 2}
      display: false
    - name: dashboard
      url: http://127.0.0.1:9000
      oauth_client_id: service-dash
      oauth_redirect_uri: /services/dashboard/oauth_callback
      oauth_no_confirm: true
      user: dash
      cwd: /srv/dash
  load_roles:
    - name: culler
      description: cull idle servers
      scopes: [list:users, admin:servers]
      services: [culler]
    - name: user
      scopes: [self]
      users: []
  custom_scopes:
    custom:read:data:
      description: read the data
      subscopes: [custom:read:data:public]
  admin_access: true
  api_page_default_limit: 20
  api_page_max_limit: 100
  redirect_to_server: false
  default_url: /hub/home
  template_paths: [/etc/gohub/templates]
  allow_named_servers: true
  named_server_limit_per_user: 3
  concurrent_spawn_limit: 10
  active_server_limit: 50
  cleanup_servers: true
  cleanup_proxy: false
  shutdown_on_logout: true
  token_expires_in_max_seconds: 86400
  trust_user_provided_tokens: true
  activity_resolution: 60
  last_activity_interval: 120
  log_level: debug
  data_files_path: /usr/share/gohub
`)
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := DefaultHub()
	want.BindURL = "https://0.0.0.0:443/jupyter"
	want.BaseURL = "/jupyter/" // from bind_url's path, with the trailing slash
	want.HubBindURL = "http://10.0.0.5:8090"
	want.HubConnectURL = "http://hub.internal:8090"
	want.PublicURL = "https://hub.example.org/"
	want.CookieSecretFile = "/var/lib/gohub/cookie_secret"
	want.CookieMaxAgeDays = 0.5
	want.DBURL = "sqlite:///hub.sqlite" // a plain file name is a SQLite file, as upstream
	want.AuthenticatorClass = "dummy"
	want.SpawnerClass = "simple"
	want.ProxyClass = "configurable-http-proxy"
	want.Services = []Service{
		{Name: "culler", APIToken: "cccccccccccccccccccccccc", Admin: true,
			Command: []string{"python3", "-m", "jupyterhub_idle_culler"}, Environment: map[string]string{"TIMEOUT": "3600"},
			OAuthClientAllowedScopes: []string{"read:users"}, Info: map[string]any{"docs": "https://example.org", "level": 2}, Display: &no},
		{Name: "dashboard", URL: "http://127.0.0.1:9000", OAuthClientID: "service-dash",
			OAuthRedirectURI: "/services/dashboard/oauth_callback", OAuthNoConfirm: true, User: "dash", Cwd: "/srv/dash"},
	}
	want.LoadRoles = []Role{
		{Name: "culler", Description: "cull idle servers", Scopes: []string{"list:users", "admin:servers"}, Services: []string{"culler"}},
		{Name: "user", Scopes: []string{"self"}, Users: []string{}},
	}
	want.CustomScopes = map[string]rbac.CustomScope{"custom:read:data": {Description: "read the data", Subscopes: []string{"custom:read:data:public"}}}
	want.AdminAccess = true
	want.APIPageDefaultLimit, want.APIPageMaxLimit = 20, 100
	want.RedirectToServer = false
	want.DefaultURL = "/hub/home"
	want.TemplatePaths = []string{"/etc/gohub/templates"}
	want.AllowNamedServers = true
	want.NamedServerLimitPerUser = 3
	want.ConcurrentSpawnLimit = 10
	want.ActiveServerLimit = 50
	want.CleanupServers, want.CleanupProxy = true, false
	want.ShutdownOnLogout = true
	want.TokenExpiresInMaxSeconds = 86400
	want.TrustUserProvidedTokens = true
	want.ActivityResolution, want.LastActivityInterval = 60, 120
	want.LogLevel = "DEBUG"
	want.DataFilesPath = "/usr/share/gohub"
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("JupyterHub section (-want +got):\n%s", diff)
	}
	if h.LoadRoles[0].Users != nil {
		t.Error("an absent member list must stay nil")
	}
	if h.Level() != slog.LevelDebug {
		t.Errorf("Level() = %v", h.Level())
	}
	host, port, err := h.BindAddr()
	if err != nil || host != "0.0.0.0" || port != "443" {
		t.Errorf("BindAddr() = %q, %q, %v", host, port, err)
	}
	host, port, err = h.HubBindAddr()
	if err != nil || host != "10.0.0.5" || port != "8090" {
		t.Errorf("HubBindAddr() = %q, %q, %v (hub_bind_url must win over hub_ip/hub_port)", host, port, err)
	}
}

func TestHubAddresses(t *testing.T) {
	for _, tc := range []struct {
		name, text       string
		host, port, bind string
		hubHost, hubPort string
		base             string
	}{
		{"ip and port override bind_url", "JupyterHub:\n  bind_url: http://127.0.0.1:9000/x/\n  ip: 0.0.0.0\n  port: 8443\n",
			"0.0.0.0", "8443", "http://0.0.0.0:8443/x/", "127.0.0.1", "8081", "/x/"},
		{"port alone", "JupyterHub:\n  port: 8001\n",
			"", "8001", "http://:8001", "127.0.0.1", "8081", "/"},
		{"ipv6", "JupyterHub:\n  bind_url: http://[::1]:8000\n  hub_ip: \"::1\"\n  hub_port: 0\n",
			"::1", "8000", "http://[::1]:8000", "::1", "0", "/"},
		{"no port in bind_url", "JupyterHub:\n  bind_url: https://hub.example.org\n",
			"hub.example.org", "443", "https://hub.example.org", "127.0.0.1", "8081", "/"},
		{"base_url wins over bind_url path", "JupyterHub:\n  bind_url: http://:8000/a/\n  base_url: /b\n",
			"", "8000", "http://:8000/a/", "127.0.0.1", "8081", "/b/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := decodeHub(t, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			host, port, err := h.BindAddr()
			if err != nil || host != tc.host || port != tc.port {
				t.Errorf("BindAddr() = %q, %q, %v; want %q, %q", host, port, err, tc.host, tc.port)
			}
			if h.BindURL != tc.bind {
				t.Errorf("bind_url = %q, want %q", h.BindURL, tc.bind)
			}
			host, port, err = h.HubBindAddr()
			if err != nil || host != tc.hubHost || port != tc.hubPort {
				t.Errorf("HubBindAddr() = %q, %q, %v; want %q, %q", host, port, err, tc.hubHost, tc.hubPort)
			}
			if h.BaseURL != tc.base {
				t.Errorf("base_url = %q, want %q", h.BaseURL, tc.base)
			}
		})
	}
}

func TestHubNonsenseValues(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"port too large", "JupyterHub:\n  port: 70000\n",
			"t.yaml:2: JupyterHub.port: 70000 is not a port number (1-65535, or 0 to use bind_url's)"},
		{"negative hub_port", "JupyterHub:\n  hub_port: -1\n",
			"t.yaml:2: JupyterHub.hub_port: -1 is not a port number (1-65535, or 0 for any free port)"},
		{"bind_url scheme", "JupyterHub:\n  bind_url: ftp://:8000\n",
			`t.yaml:2: JupyterHub.bind_url: "ftp://:8000": want an http:// or https:// URL`},
		{"bind_url port", "JupyterHub:\n  bind_url: http://:80000\n",
			`t.yaml:2: JupyterHub.bind_url: "http://:80000": port 80000 is out of range (0-65535)`},
		{"bind_url not a URL", "JupyterHub:\n  bind_url: \"http://[::1\"\n",
			`t.yaml:2: JupyterHub.bind_url: not a URL: parse "http://[::1": missing ']' in host`},
		{"hub_bind_url", "JupyterHub:\n  hub_bind_url: 127.0.0.1:8081\n",
			`t.yaml:2: JupyterHub.hub_bind_url: "127.0.0.1:8081": want an http:// or https:// URL`},
		{"public_url without host", "JupyterHub:\n  public_url: /hub/\n",
			`t.yaml:2: JupyterHub.public_url: "/hub/": want an absolute http:// or https:// URL with a host`},
		{"subdomain_host with a path", "JupyterHub:\n  subdomain_host: https://hub.example.org/jupyter/\n",
			`t.yaml:2: JupyterHub.subdomain_host: "https://hub.example.org/jupyter/": want the hub's origin, http:// or https:// with a host and optional port, no path`},
		{"subdomain_host and public_url disagree", "JupyterHub:\n  public_url: https://jupyter.example.org/\n  subdomain_host: hub.example.org\n",
			`t.yaml:3: JupyterHub.subdomain_host: "https://hub.example.org": public_url "https://jupyter.example.org/" names another host; the hub must be on subdomain_host's host`},
		{"cookie_host_prefix_enabled without subdomain_host", "JupyterHub:\n  cookie_host_prefix_enabled: true\n",
			"t.yaml:2: JupyterHub.cookie_host_prefix_enabled: needs subdomain_host: the __Host- login cookie is on Path=/, which on a shared origin reaches every user's server"},
		{"cookie_host_prefix_enabled over http", "JupyterHub:\n  subdomain_host: http://hub.example.org\n  cookie_host_prefix_enabled: true\n",
			`t.yaml:3: JupyterHub.cookie_host_prefix_enabled: needs subdomain_host over https ("http://hub.example.org"): browsers keep __Host- cookies only when Secure, over http only on localhost`},
		{"hub_connect_url", "JupyterHub:\n  hub_connect_url: hub:8081\n",
			`t.yaml:2: JupyterHub.hub_connect_url: "hub:8081": want an absolute http:// or https:// URL with a host`},
		{"base_url without leading slash", "JupyterHub:\n  base_url: jupyter/\n",
			`t.yaml:2: JupyterHub.base_url: "jupyter/" must start with '/'`},
		{"base_url with query", "JupyterHub:\n  base_url: /a?b\n",
			`t.yaml:2: JupyterHub.base_url: "/a?b" must be a plain path such as /jupyter/`},
		{"page default limit", "JupyterHub:\n  api_page_default_limit: 0\n",
			"t.yaml:2: JupyterHub.api_page_default_limit: must be at least 1"},
		{"page max limit", "JupyterHub:\n  api_page_max_limit: -5\n",
			"t.yaml:2: JupyterHub.api_page_max_limit: must be at least 1"},
		{"page default above max", "JupyterHub:\n  api_page_max_limit: 10\n  api_page_default_limit: 20\n",
			"t.yaml:3: JupyterHub.api_page_default_limit: 20 is larger than api_page_max_limit (10)"},
		{"cookie age", "JupyterHub:\n  cookie_max_age_days: 0\n",
			"t.yaml:2: JupyterHub.cookie_max_age_days: must be a positive number of days"},
		{"cookie secret not hex", "JupyterHub:\n  cookie_secret: not-hex-at-all\n",
			"t.yaml:2: JupyterHub.cookie_secret: not hex-encoded (create one with: openssl rand -hex 32)"},
		{"cookie secret short", "JupyterHub:\n  cookie_secret: abcd\n",
			"t.yaml:2: JupyterHub.cookie_secret: too short: 2 bytes, want at least 32 (openssl rand -hex 32)"},
		{"empty db_url", "JupyterHub:\n  db_url: \"\"\n",
			"t.yaml:2: JupyterHub.db_url: must not be empty"},
		{"empty authenticator", "JupyterHub:\n  authenticator_class: \"\"\n",
			"t.yaml:2: JupyterHub.authenticator_class: must not be empty"},
		{"negative limit", "JupyterHub:\n  concurrent_spawn_limit: -1\n",
			"t.yaml:2: JupyterHub.concurrent_spawn_limit: must not be negative (0 means no limit)"},
		{"log level", "JupyterHub:\n  log_level: loud\n",
			`t.yaml:2: JupyterHub.log_level: unknown level "loud" (DEBUG, INFO, WARN, ERROR or CRITICAL)`},
		{"service without name", "JupyterHub:\n  services:\n    - url: http://x:1\n",
			"t.yaml:3: JupyterHub.services[0]: a service needs a name"},
		{"service bad url", "JupyterHub:\n  services:\n    - name: a\n      url: localhost:9000\n",
			`t.yaml:4: JupyterHub.services[0].url: "localhost:9000": want an absolute http:// or https:// URL with a host`},
		{"service client id", "JupyterHub:\n  services:\n    - name: a\n      oauth_client_id: a-client\n",
			`t.yaml:4: JupyterHub.services[0].oauth_client_id: must start with "service-"`},
		{"duplicate service", "JupyterHub:\n  services:\n    - name: a\n    - name: a\n",
			`t.yaml:4: JupyterHub.services[1].name: service "a" is already defined by services[0]`},
		{"role without name", "JupyterHub:\n  load_roles:\n    - scopes: [self]\n",
			"t.yaml:3: JupyterHub.load_roles[0]: a role needs a name"},
		{"wrong type in service", "JupyterHub:\n  services:\n    - name: a\n      admin: \"yes\"\n",
			`t.yaml:4: JupyterHub.services[0].admin: expected a boolean (true or false), got a string "yes"`},
		{"wrong type for services", "JupyterHub:\n  services: {name: a}\n",
			`t.yaml:2: JupyterHub.services: expected a list of mappings, got a mapping`},
		{"display null is fine but string is not", "JupyterHub:\n  services:\n    - name: a\n      display: hidden\n",
			`t.yaml:4: JupyterHub.services[0].display: expected a boolean (true or false), got a string "hidden"`},
		{"custom scope shape", "JupyterHub:\n  custom_scopes:\n    custom:x: [a]\n",
			`t.yaml:3: JupyterHub.custom_scopes.custom:x: expected a mapping, got a list`},
		{"api_token value hidden", "JupyterHub:\n  services:\n    - name: a\n      api_token: 1234567890\n",
			`t.yaml:4: JupyterHub.services[0].api_token: expected a string, got an integer (value not shown)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeHub(t, tc.text)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tc.want)
			}
		})
	}
}

func TestHubErrorsNeverShowCookieSecret(t *testing.T) {
	secret := strings.Repeat("zz", 32)
	_, err := decodeHub(t, "JupyterHub:\n  cookie_secret: "+secret+"\n")
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("error %v shows the secret or is missing", err)
	}
}

func TestHubValidCookieSecretKept(t *testing.T) {
	secret := strings.Repeat("ab", 32)
	h, err := decodeHub(t, "JupyterHub:\n  cookie_secret: "+secret+"\n")
	if err != nil || h.CookieSecret != secret {
		t.Errorf("cookie_secret: %v, kept=%v", err, h.CookieSecret == secret)
	}
}
