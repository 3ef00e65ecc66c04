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
//   - repeated failed logins are slowed, then locked, per (name, client address), per name and
//     per address, and the locks survive a restart (failed_logins_before_lockout,
//     failed_logins_per_name_before_lockout, failed_logins_per_address_before_lockout,
//     lockout_seconds, failed_login_delay_seconds, trusted_proxies, show_lockout_reason; upstream
//     has no such protection);
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
	// The name and address caps and the rest of the brute-force protection: see throttle.go.
	FailedLoginsPerNameBeforeLockout    int      `yaml:"failed_logins_per_name_before_lockout" help:"Failed logins of one username from all addresses (within lockout_seconds) after which the name is locked, except for addresses with no failures of their own, so an attacker cannot lock the real user out (0: no name cap; a value below failed_logins_before_lockout counts as that)."`
	FailedLoginsPerAddressBeforeLockout int      `yaml:"failed_logins_per_address_before_lockout" help:"Failed logins from one client address (an IPv6 client's /64) for all usernames (within lockout_seconds) after which the address is locked for lockout_seconds (0: no address cap)."`
	TrustedProxies                      []string `yaml:"trusted_proxies" help:"IP addresses or CIDR networks of proxies in front of the hub (a load balancer, a TLS terminator) whose X-Forwarded-For and X-Forwarded-Proto are believed: the client address for the login throttle and the anonymous _xsrf token, https for the cookies' Secure flag. The hub's own proxy (built-in, or the configurable-http-proxy it routes) needs no entry. Default none; never list loopback or a network users' servers run in, or they can claim any address."`
	ShowLockoutReason                   bool     `yaml:"show_lockout_reason" help:"Tell a throttled login 'Too many failed login attempts. Please try again in N seconds.' with status 429 and Retry-After, instead of the usual 'Invalid username or password' (403), which does not reveal which check failed."`

	RequestOTP   bool   `yaml:"request_otp" help:"Add a one-time-password field to the login form."`
	OTPPrompt    string `yaml:"otp_prompt" help:"Label of the one-time-password field."`
	LoginService string `yaml:"login_service" help:"If set, the login page shows a 'Sign in with <login_service>' button instead of the form."`
}

// DefaultConfig returns upstream's defaults for the base Authenticator traits.
func DefaultConfig() Config {
	return Config{
		AuthRefreshAge: 300,
		OTPPrompt:      "OTP:",
		// Brute force: after failures 2, 3, 4 of a name from one address wait 1, 2, 4 s; the
		// 5th locks the pair for 5 minutes.
		FailedLoginsBeforeLockout: 5,
		LockoutSeconds:            300,
		FailedLoginDelaySeconds:   1,
		// 20 failures of one name from anywhere close it to addresses that have failed; 50
		// from one address (all names) close that address.
		FailedLoginsPerNameBeforeLockout:    20,
		FailedLoginsPerAddressBeforeLockout: 50,
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
