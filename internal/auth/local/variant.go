package local

import "gohub/internal/auth"

// VariantConfig is the LocalAuthenticator part of a Local* variant of an authenticator whose
// users come from elsewhere (LocalGitHubOAuthenticator, LocalLDAPAuthenticator, …): the
// variant's config embeds it next to the base authenticator's. LocalAuthenticator's
// allowed_groups is allowed_system_groups here, because allowed_groups already means the
// provider's groups (OAuth) or LDAP group DNs in those classes.
type VariantConfig struct {
	CreateSystemUsers bool           `yaml:"create_system_users" help:"Create a missing system (UNIX) account when a user is added, by running add_user_cmd; without it a user needs an existing account."`
	AddUserCmd        []string       `yaml:"add_user_cmd" help:"Command (list of arguments, no shell) that creates a system user; USERNAME is replaced by the name, which is also appended. Default: adduser -q --gecos \"\" --home /home/USERNAME --disabled-password."`
	UIDs              map[string]int `yaml:"uids" help:"Map of username to the uid its system account gets when created (adds --uid N)."`
	// AllowedSystemGroups is LocalAuthenticator's allowed_groups under a name of its own.
	AllowedSystemGroups []string `yaml:"allowed_system_groups" help:"UNIX groups whose members are allowed to log in (LocalAuthenticator's allowed_groups; here allowed_groups means the provider's groups)."`
}

// LocalConfig returns the LocalAuthenticator config the variant's accounts are built from;
// common is the variant's Authenticator part.
func (v *VariantConfig) LocalConfig(common auth.Config) *Config {
	return &Config{
		Config:            common,
		CreateSystemUsers: v.CreateSystemUsers,
		AddUserCmd:        v.AddUserCmd,
		UIDs:              v.UIDs,
		AllowedGroups:     v.AllowedSystemGroups,
	}
}
