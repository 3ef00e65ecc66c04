package auth

// Config holds the traits of upstream's base `Authenticator` class; the config section
// `Authenticator:` sets them for every authenticator, and each authenticator's own Config embeds
// it inline. Names, defaults and meanings are upstream's, with these differences:
//   - username_pattern must match the whole name (upstream only anchors at the start);
//   - admin_users are always allowed to log in (upstream refuses them when nothing else allows
//     them);
//   - username_map keys are normalised like names, so `Alice: bob` works (upstream never matches
//     a key with capitals);
//   - the typed name is normalised and mapped before authentication, so the authenticator and
//     the admin/blocked checks see the hub name (upstream maps only the authenticated name); a
//     name the authenticator returns is normalised again. Credentials.Typed keeps the raw name;
//   - repeated failed logins for one name are slowed, then locked (failed_logins_before_lockout,
//     lockout_seconds, failed_login_delay_seconds; upstream has no such protection);
//   - post_auth_hook, custom_html and the deprecated whitelist/blacklist are not supported: gohub
//     has no Python to run, and the aliases were removed.
type Config struct {
	AdminUsers   []string `yaml:"admin_users" help:"Users that get admin rights at startup and at every login (names are normalised); they are always allowed in."`
	AllowedUsers []string `yaml:"allowed_users" help:"Users allowed to log in; empty allows no one by this rule."`
	BlockedUsers []string `yaml:"blocked_users" help:"Users refused at login even with the right password."`
	// AllowAll is nil until resolved: false, except where the authenticator class overrides it
	// (Dummy: true unless allowed_users is set).
	AllowAll *bool `yaml:"allow_all" help:"Allow every user who authenticates (default false; true for dummy unless allowed_users is set)."`
	// AllowExistingUsers is nil until resolved: true iff allowed_users is non-empty.
	AllowExistingUsers *bool             `yaml:"allow_existing_users" help:"Allow every user already in the hub database (default: true when allowed_users is set)."`
	UsernamePattern    string            `yaml:"username_pattern" help:"Regular expression (RE2) every normalised username must match in full; empty allows any valid name."`
	UsernameMap        map[string]string `yaml:"username_map" help:"Map of typed (normalised) usernames to hub usernames, applied before authentication."`

	AutoLogin                bool `yaml:"auto_login" help:"Skip the login page and go straight to the authenticator's login URL."`
	AutoLoginOAuth2Authorize bool `yaml:"auto_login_oauth2_authorize" help:"Go straight to the authenticator's login URL only from the OAuth authorize endpoint."`

	EnableAuthState            bool `yaml:"enable_auth_state" help:"Persist the authenticator's auth_state, encrypted with JUPYTERHUB_CRYPT_KEY."`
	ManageGroups               bool `yaml:"manage_groups" help:"The authenticator decides group membership; it is synced at every login."`
	ManageRoles                bool `yaml:"manage_roles" help:"The authenticator decides role assignments; it is synced at every login."`
	ResetManagedRolesOnStartup bool `yaml:"reset_managed_roles_on_startup" help:"With manage_roles, drop managed roles the authenticator no longer returns at startup."`
	RefreshPreSpawn            bool `yaml:"refresh_pre_spawn" help:"Refresh the user's authentication before every spawn."`
	RefreshPreStop             bool `yaml:"refresh_pre_stop" help:"Refresh the user's authentication before every stop."`
	AuthRefreshAge             int  `yaml:"auth_refresh_age" help:"Seconds before a user's authentication is refreshed on a hub request; 0 disables time-based refresh."`
	DeleteInvalidUsers         bool `yaml:"delete_invalid_users" help:"At startup, delete users the authenticator refuses to add instead of only logging them."`

	FailedLoginsBeforeLockout int     `yaml:"failed_logins_before_lockout" help:"Consecutive failed logins after which a username is locked for lockout_seconds (gohub's brute-force protection; 0 turns throttling off). A successful login resets the count."`
	LockoutSeconds            float64 `yaml:"lockout_seconds" help:"How long a username stays locked after failed_logins_before_lockout failures."`
	FailedLoginDelaySeconds   float64 `yaml:"failed_login_delay_seconds" help:"After a second consecutive failed login the username must wait this long before its next attempt, doubling with each further failure until the lockout (0: no slowing)."`

	RequestOTP   bool   `yaml:"request_otp" help:"Add a one-time-password field to the login form."`
	OTPPrompt    string `yaml:"otp_prompt" help:"Label of the one-time-password field."`
	LoginService string `yaml:"login_service" help:"If set, the login page shows a 'Sign in with <login_service>' button instead of the form."`
}

// DefaultConfig returns upstream's defaults for the base Authenticator traits.
func DefaultConfig() Config {
	return Config{
		AuthRefreshAge: 300,
		OTPPrompt:      "OTP:",
		// Brute force: after failures 2, 3, 4 wait 1, 2, 4 s; the 5th locks for 5 minutes.
		FailedLoginsBeforeLockout: 5,
		LockoutSeconds:            300,
		FailedLoginDelaySeconds:   1,
	}
}

// Common returns c itself. Every authenticator's Config embeds Config, so this method is
// promoted and gives the registry the common part of any authenticator's configuration.
func (c *Config) Common() *Config { return c }

// boolOr returns *b, or def when b is nil.
func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// Bool returns a pointer to v, for Identity.Admin and the optional Config fields.
func Bool(v bool) *bool { return &v }
