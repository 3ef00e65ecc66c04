package config

import (
	"gohub/internal/rbac"
)

// HubClass is the section name of the application's own traits.
const HubClass = "JupyterHub"

// Hub holds the traits of upstream's `JupyterHub` application class (section `JupyterHub:`).
// Names, defaults and meanings are upstream's; the differences are noted on the fields and in
// the help text. Hub implements Validator: Decode checks and normalises it.
type Hub struct {
	BindURL string `yaml:"bind_url" help:"Public URL the proxy listens on (scheme, host, port, and optionally the base URL as its path); an empty host means all interfaces."`
	// IP and Port are upstream's older way to set bind_url's host and port; when set (non-empty,
	// non-zero) they replace those parts of bind_url, as upstream does.
	IP         string `yaml:"ip" help:"Deprecated upstream: host the proxy listens on; when set it replaces bind_url's host."`
	Port       int    `yaml:"port" help:"Deprecated upstream: port the proxy listens on; when set (non-zero) it replaces bind_url's port."`
	HubBindURL string `yaml:"hub_bind_url" help:"URL the hub's own server listens on (single-user servers and services call the API there); when set, hub_ip and hub_port are ignored."`
	HubIP      string `yaml:"hub_ip" help:"Address the hub's own server listens on, unless hub_bind_url is set."`
	HubPort    int    `yaml:"hub_port" help:"Port the hub's own server listens on, unless hub_bind_url is set."`
	// HubConnectURL is how others reach the hub when its bind address is not connectable (all
	// interfaces, a container); empty means derived from the bind address.
	HubConnectURL string `yaml:"hub_connect_url" help:"URL single-user servers and services use to reach the hub, when it differs from where it listens (e.g. hub_ip 0.0.0.0 in a container)."`
	BaseURL       string `yaml:"base_url" help:"Path prefix of every gohub URL, to run it under a path of an existing site; normalised to start and end with '/'."`
	PublicURL     string `yaml:"public_url" help:"Full public URL of the hub as browsers see it (https://hub.example.org/), when behind another proxy; empty means taken from each request."`
	// SubdomainHost gives every user's servers an origin of their own: their scripts cannot
	// read the hub's pages or use its cookies.
	SubdomainHost string `yaml:"subdomain_host" help:"Run each user's servers on a subdomain of this origin (https://hub.example.org[:port]): alice's at https://alice.hub.example.org/user/alice/, so code on a user's server cannot act as the visitor on the hub. Needs wildcard DNS (and a wildcard certificate) for *.host; names that are not DNS labels get u-<letters>--<hash>. Without a scheme, https:// is assumed. Empty: every server shares the hub's origin."`

	CookieSecret     string  `yaml:"cookie_secret" help:"Hex-encoded secret (at least 32 bytes) that signs login cookies; better set JPY_COOKIE_SECRET or use cookie_secret_file."`
	CookieSecretFile string  `yaml:"cookie_secret_file" help:"File holding the hex-encoded cookie secret; created with mode 0600 if missing, refused if group or others can access it."`
	CookieMaxAgeDays float64 `yaml:"cookie_max_age_days" help:"Days a login cookie stays valid."`
	// CookieHostPrefixEnabled names the login cookie __Host-jupyterhub-hub-login: a user's
	// server on a subdomain cannot set it (cookie tossing).
	CookieHostPrefixEnabled bool `yaml:"cookie_host_prefix_enabled" help:"Name the login cookie __Host-jupyterhub-hub-login (Secure, Path=/, no Domain), which browsers accept only from the hub's own host, so a user's server on a subdomain cannot plant its login cookie on the hub (cookie tossing). Needs subdomain_host (on a shared origin the cookie would reach every user's server) over https (or a localhost host). Servers get JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED=1 and prefix their own cookie too."`

	DBURL              string `yaml:"db_url" help:"Database URL: sqlite:///path/to/file.sqlite or postgresql://user@host/db; a plain file name means SQLite."`
	AuthenticatorClass string `yaml:"authenticator_class" help:"Authenticator to use, by upstream's entry-point name: pam, dummy, null, shared-password, firstuse, native, generic-oauth, github, ldap, ..."`
	SpawnerClass       string `yaml:"spawner_class" help:"Spawner to use: localprocess, simple, docker or kubernetes."`
	// ProxyClass differs from upstream, whose default drives an external configurable-http-proxy:
	// gohub's default is its built-in proxy.
	ProxyClass string `yaml:"proxy_class" help:"Proxy to use: builtin (in-process, gohub's default) or configurable-http-proxy (an external CHP, upstream's default)."`

	Services     []Service                   `yaml:"services" help:"Services the hub knows: each {name, url, api_token, admin, command, environment, user, cwd, oauth_client_id, oauth_redirect_uri, oauth_no_confirm, oauth_client_allowed_scopes, info, display}."`
	LoadRoles    []Role                      `yaml:"load_roles" help:"Roles to create at startup: each {name, description, scopes, users, groups, services}; listed members replace the role's members."`
	CustomScopes map[string]rbac.CustomScope `yaml:"custom_scopes" help:"Extra scopes, each 'custom:name' mapped to {description, subscopes}."`
	AdminAccess  bool                        `yaml:"admin_access" help:"Let admins reach other users' servers (the admin:servers and access:servers scopes)."`

	APIPageDefaultLimit int `yaml:"api_page_default_limit" help:"Items per page of a paginated REST API list when the client asks for no limit."`
	APIPageMaxLimit     int `yaml:"api_page_max_limit" help:"Largest page a client may ask the REST API for."`

	RedirectToServer bool     `yaml:"redirect_to_server" help:"After login, send users to their own server rather than the hub home page."`
	DefaultURL       string   `yaml:"default_url" help:"Where / sends logged-in users; empty means their server or the home page (see redirect_to_server)."`
	TemplatePaths    []string `yaml:"template_paths" help:"Directories searched for page templates before the built-in ones."`
	DataFilesPath    string   `yaml:"data_files_path" help:"Directory of static files and templates overriding the built-in ones; empty means the built-in files only."`

	AllowNamedServers       bool    `yaml:"allow_named_servers" help:"Let users run several named servers besides their default one."`
	NamedServerLimitPerUser int     `yaml:"named_server_limit_per_user" help:"Most named servers one user may have; 0 means no limit."`
	ConcurrentSpawnLimit    int     `yaml:"concurrent_spawn_limit" help:"Most servers starting at the same time; further starts are refused (429) until one finishes; 0 means no limit."`
	ActiveServerLimit       int     `yaml:"active_server_limit" help:"Most servers running or starting at once; 0 means no limit."`
	SlowSpawnTimeout        float64 `yaml:"slow_spawn_timeout" help:"Seconds a start request waits for the server before answering 202 (still starting)."`
	SlowStopTimeout         float64 `yaml:"slow_stop_timeout" help:"Seconds a stop request waits for the server before answering 202 (still stopping)."`
	// CleanupServers defaults to false, unlike JupyterHub (true): a hub restart or upgrade
	// should not end everyone's running notebooks; the hub re-adopts them when it starts.
	CleanupServers   bool `yaml:"cleanup_servers" help:"Stop every single-user server when the hub shuts down; the default (false, unlike JupyterHub) keeps them running across hub restarts and upgrades."`
	CleanupProxy     bool `yaml:"cleanup_proxy" help:"Stop the proxy the hub started when the hub shuts down."`
	ShutdownOnLogout bool `yaml:"shutdown_on_logout" help:"Stop a user's servers when they log out."`

	TokenExpiresInMaxSeconds int  `yaml:"token_expires_in_max_seconds" help:"Longest lifetime, in seconds, of a token a user requests; 0 means tokens may never expire."`
	TrustUserProvidedTokens  bool `yaml:"trust_user_provided_tokens" help:"Hash service tokens from the config with one round instead of many, trusting them to be random and long."`
	ActivityResolution       int  `yaml:"activity_resolution" help:"Seconds within which repeated activity updates of a user or server are not written to the database."`
	LastActivityInterval     int  `yaml:"last_activity_interval" help:"Seconds between collections of activity from the proxy."`

	LogLevel string `yaml:"log_level" help:"Logging level: DEBUG, INFO, WARN, ERROR or CRITICAL."`
}

// Service is one entry of JupyterHub.services (protocol.md §5.5).
type Service struct {
	Name                     string            `yaml:"name"`
	URL                      string            `yaml:"url"`
	APIToken                 string            `yaml:"api_token"`
	Admin                    bool              `yaml:"admin"`
	Command                  []string          `yaml:"command"`
	Environment              map[string]string `yaml:"environment"`
	User                     string            `yaml:"user"`
	Cwd                      string            `yaml:"cwd"`
	OAuthClientID            string            `yaml:"oauth_client_id"`
	OAuthRedirectURI         string            `yaml:"oauth_redirect_uri"`
	OAuthNoConfirm           bool              `yaml:"oauth_no_confirm"`
	OAuthClientAllowedScopes []string          `yaml:"oauth_client_allowed_scopes"`
	Info                     map[string]any    `yaml:"info"`
	// Display is whether the service is listed on the home page; nil means yes (upstream's
	// default).
	Display *bool `yaml:"display"`
}

// Role is one entry of JupyterHub.load_roles (protocol.md §5.5). A nil member list means the key was
// absent, which for the user and admin roles keeps their current members; an empty one empties
// the role.
type Role struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Scopes      []string `yaml:"scopes"`
	Users       []string `yaml:"users"`
	Groups      []string `yaml:"groups"`
	Services    []string `yaml:"services"`
}

// DefaultHub returns the JupyterHub traits at their defaults.
func DefaultHub() *Hub {
	return &Hub{
		BindURL:              "http://:8000",
		HubIP:                "127.0.0.1",
		HubPort:              8081,
		BaseURL:              "/",
		CookieSecretFile:     "jupyterhub_cookie_secret",
		CookieMaxAgeDays:     14,
		DBURL:                "sqlite:///gohub.sqlite",
		AuthenticatorClass:   "pam",
		SpawnerClass:         "localprocess",
		ProxyClass:           "builtin",
		APIPageDefaultLimit:  50,
		APIPageMaxLimit:      200,
		RedirectToServer:     true,
		ConcurrentSpawnLimit: 100,
		CleanupServers:       false,
		SlowSpawnTimeout:     10,
		SlowStopTimeout:      10,
		CleanupProxy:         true,
		ActivityResolution:   30,
		LastActivityInterval: 300,
		LogLevel:             "INFO",
	}
}

// HubClassDef is the Class of the JupyterHub section, for building a Schema.
func HubClassDef() Class {
	return Class{Name: HubClass, New: func() any { return DefaultHub() }}
}
