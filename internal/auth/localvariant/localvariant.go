// Package localvariant holds the Local* variants of the authenticators whose users come from
// elsewhere: upstream's LocalGitHubOAuthenticator, LocalGitLabOAuthenticator,
// LocalGoogleOAuthenticator, LocalAzureAdOAuthenticator and LocalGenericOAuthenticator
// (oauthenticator), and LocalLDAPAuthenticator, LocalNativeAuthenticator and
// LocalCommandAuthenticator (gohub additions; upstream has none of them). Each is the base authenticator plus LocalAuthenticator's system accounts (package local):
// a user the hub adds must have a UNIX account, created with create_system_users by running
// add_user_cmd, and members of UNIX groups may log in.
//
// allowed_groups: upstream's Local* OAuth classes inherit allowed_groups from both
// LocalAuthenticator (UNIX groups) and OAuthenticator (the provider's groups); it is one trait,
// so the same names are checked as UNIX groups and as provider groups, and setting it requires
// manage_groups. gohub splits them: allowed_groups keeps the base class's meaning (provider
// groups, LDAP group DNs) and UNIX groups are allowed_system_groups (in every variant, also
// Native and Command, which have no allowed_groups, so that the rule is one). LocalAuthenticator's
// section may not set allowed_groups for these classes (a config error says where it goes), and
// a provider-groups allowed_groups without manage_groups is an error that names
// allowed_system_groups.
//
// Names from a provider are not trusted: a name that cannot be a system user name (a GitHub
// login or an OIDC claim with "../", blanks, a leading '-', …) is refused before any command
// runs (local.CheckSystemName), with a message on the login page.
package localvariant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"gohub/internal/auth"
	"gohub/internal/auth/command"
	"gohub/internal/auth/ldap"
	"gohub/internal/auth/local"
	"gohub/internal/auth/native"
	"gohub/internal/auth/oauth"
)

// system is the LocalAuthenticator part every variant shares.
type system struct {
	accounts *local.Accounts
}

// newSystem builds the accounts of a variant: as upstream's LocalAuthenticator, a user without
// a system account is refused unless create_system_users creates it.
func newSystem(v *local.VariantConfig, common *auth.Config, log *slog.Logger) (system, error) {
	acc, err := local.New(v.LocalConfig(*common), local.Options{RequireSystemUser: true, Logger: log})
	if err != nil {
		return system{}, err
	}
	return system{accounts: acc}, nil
}

// AddUser implements auth.UserAdder: the user's system account exists, or is created with
// create_system_users; a name that cannot be a system user name is refused before any command.
func (s system) AddUser(ctx context.Context, name string) error {
	return s.accounts.AddUser(ctx, name)
}

// allowed is LocalAuthenticator's check_allowed in front of the base authenticator's: members of
// allowed_system_groups are allowed, else the base's own rule decides (if it has one).
func (s system) allowed(ctx context.Context, base auth.Authenticator, name string, id *auth.Identity) (bool, error) {
	if ok, err := s.accounts.CheckAllowed(ctx, name, id); err != nil || ok {
		return ok, err
	}
	if ac, ok := base.(auth.AllowChecker); ok {
		return ac.CheckAllowed(ctx, name, id)
	}
	return false, nil
}

// OAuth is a Local* OAuth authenticator: every capability of the OAuth one (its pages, refresh,
// logout) plus system accounts.
type OAuth struct {
	*oauth.Authenticator
	system
}

// CheckAllowed implements auth.AllowChecker: allowed_system_groups, then the OAuth rules.
func (a *OAuth) CheckAllowed(ctx context.Context, name string, id *auth.Identity) (bool, error) {
	return a.allowed(ctx, a.Authenticator, name, id)
}

// checkProviderGroups refuses allowed_groups without manage_groups with a hint for those who
// meant UNIX groups (upstream's LocalAuthenticator meaning).
func checkProviderGroups(class, provider string, c *oauth.Config) error {
	if len(c.AllowedGroups) > 0 && !c.ManageGroups {
		return fmt.Errorf("allowed_groups in %s are groups from %s (OAuthenticator.allowed_groups) and need Authenticator.manage_groups = true; for UNIX groups set %s.allowed_system_groups", class, provider, class)
	}
	return nil
}

// newOAuth wraps a built OAuth authenticator.
func newOAuth(base *oauth.Authenticator, err error, v *local.VariantConfig, common *auth.Config, log *slog.Logger) (*OAuth, error) {
	if err != nil {
		return nil, err
	}
	s, err := newSystem(v, common, log)
	if err != nil {
		return nil, err
	}
	return &OAuth{Authenticator: base, system: s}, nil
}

// GitHubConfig is the LocalGitHubOAuthenticator section.
type GitHubConfig struct {
	oauth.GitHubConfig  `yaml:",inline"`
	local.VariantConfig `yaml:",inline"`
}

// DefaultGitHubConfig returns GitHubOAuthenticator's defaults, without system accounts.
func DefaultGitHubConfig() *GitHubConfig {
	return &GitHubConfig{GitHubConfig: *oauth.DefaultGitHubConfig()}
}

// NewGitHub builds LocalGitHubOAuthenticator.
func NewGitHub(cfg *GitHubConfig, log *slog.Logger) (*OAuth, error) {
	if cfg == nil {
		return nil, errors.New("LocalGitHubOAuthenticator: no config")
	}
	if err := checkProviderGroups("LocalGitHubOAuthenticator", "GitHub", &cfg.GitHubConfig.Config); err != nil {
		return nil, err
	}
	base, err := oauth.NewGitHub(&cfg.GitHubConfig, log)
	return newOAuth(base, err, &cfg.VariantConfig, cfg.Common(), log)
}

// GitLabConfig is the LocalGitLabOAuthenticator section.
type GitLabConfig struct {
	oauth.GitLabConfig  `yaml:",inline"`
	local.VariantConfig `yaml:",inline"`
}

// DefaultGitLabConfig returns GitLabOAuthenticator's defaults, without system accounts.
func DefaultGitLabConfig() *GitLabConfig {
	return &GitLabConfig{GitLabConfig: *oauth.DefaultGitLabConfig()}
}

// NewGitLab builds LocalGitLabOAuthenticator.
func NewGitLab(cfg *GitLabConfig, log *slog.Logger) (*OAuth, error) {
	if cfg == nil {
		return nil, errors.New("LocalGitLabOAuthenticator: no config")
	}
	if err := checkProviderGroups("LocalGitLabOAuthenticator", "GitLab", &cfg.GitLabConfig.Config); err != nil {
		return nil, err
	}
	base, err := oauth.NewGitLab(&cfg.GitLabConfig, log)
	return newOAuth(base, err, &cfg.VariantConfig, cfg.Common(), log)
}

// GoogleConfig is the LocalGoogleOAuthenticator section.
type GoogleConfig struct {
	oauth.GoogleConfig  `yaml:",inline"`
	local.VariantConfig `yaml:",inline"`
}

// DefaultGoogleConfig returns GoogleOAuthenticator's defaults, without system accounts.
func DefaultGoogleConfig() *GoogleConfig {
	return &GoogleConfig{GoogleConfig: *oauth.DefaultGoogleConfig()}
}

// NewGoogle builds LocalGoogleOAuthenticator.
func NewGoogle(cfg *GoogleConfig, log *slog.Logger) (*OAuth, error) {
	if cfg == nil {
		return nil, errors.New("LocalGoogleOAuthenticator: no config")
	}
	if err := checkProviderGroups("LocalGoogleOAuthenticator", "Google", &cfg.GoogleConfig.Config); err != nil {
		return nil, err
	}
	base, err := oauth.NewGoogle(&cfg.GoogleConfig, log)
	return newOAuth(base, err, &cfg.VariantConfig, cfg.Common(), log)
}

// AzureADConfig is the LocalAzureAdOAuthenticator section.
type AzureADConfig struct {
	oauth.AzureADConfig `yaml:",inline"`
	local.VariantConfig `yaml:",inline"`
}

// DefaultAzureADConfig returns AzureAdOAuthenticator's defaults, without system accounts.
func DefaultAzureADConfig() *AzureADConfig {
	return &AzureADConfig{AzureADConfig: *oauth.DefaultAzureADConfig()}
}

// NewAzureAD builds LocalAzureAdOAuthenticator.
func NewAzureAD(cfg *AzureADConfig, log *slog.Logger) (*OAuth, error) {
	if cfg == nil {
		return nil, errors.New("LocalAzureAdOAuthenticator: no config")
	}
	if err := checkProviderGroups("LocalAzureAdOAuthenticator", "Azure AD", &cfg.AzureADConfig.Config); err != nil {
		return nil, err
	}
	base, err := oauth.NewAzureAD(&cfg.AzureADConfig, log)
	return newOAuth(base, err, &cfg.VariantConfig, cfg.Common(), log)
}

// GenericConfig is the LocalGenericOAuthenticator section.
type GenericConfig struct {
	oauth.GenericConfig `yaml:",inline"`
	local.VariantConfig `yaml:",inline"`
}

// DefaultGenericConfig returns GenericOAuthenticator's defaults, without system accounts.
func DefaultGenericConfig() *GenericConfig {
	return &GenericConfig{GenericConfig: *oauth.DefaultGenericConfig()}
}

// NewGeneric builds LocalGenericOAuthenticator.
func NewGeneric(cfg *GenericConfig, log *slog.Logger) (*OAuth, error) {
	if cfg == nil {
		return nil, errors.New("LocalGenericOAuthenticator: no config")
	}
	if err := checkProviderGroups("LocalGenericOAuthenticator", "the provider", &cfg.GenericConfig.Config); err != nil {
		return nil, err
	}
	base, err := oauth.NewGeneric(&cfg.GenericConfig, log)
	return newOAuth(base, err, &cfg.VariantConfig, cfg.Common(), log)
}

// LDAP is LocalLDAPAuthenticator: LDAPAuthenticator plus system accounts.
type LDAP struct {
	*ldap.Authenticator
	system
}

// CheckAllowed implements auth.AllowChecker: allowed_system_groups, then LDAP's allowed_groups
// and admin_groups.
func (a *LDAP) CheckAllowed(ctx context.Context, name string, id *auth.Identity) (bool, error) {
	return a.allowed(ctx, a.Authenticator, name, id)
}

// LDAPConfig is the LocalLDAPAuthenticator section.
type LDAPConfig struct {
	ldap.Config         `yaml:",inline"`
	local.VariantConfig `yaml:",inline"`
}

// DefaultLDAPConfig returns LDAPAuthenticator's defaults, without system accounts.
func DefaultLDAPConfig() *LDAPConfig { return &LDAPConfig{Config: *ldap.DefaultConfig()} }

// NewLDAP builds LocalLDAPAuthenticator.
func NewLDAP(cfg *LDAPConfig, log *slog.Logger) (*LDAP, error) {
	if cfg == nil {
		return nil, errors.New("LocalLDAPAuthenticator: no config")
	}
	base, err := ldap.New(&cfg.Config, log)
	if err != nil {
		return nil, err
	}
	s, err := newSystem(&cfg.VariantConfig, cfg.Common(), log)
	if err != nil {
		return nil, err
	}
	return &LDAP{Authenticator: base, system: s}, nil
}

// Native is LocalNativeAuthenticator (a gohub addition): NativeAuthenticator's sign-up and
// passwords plus system accounts, created when a user's login is accepted (an account waiting
// for authorization gets none).
type Native struct {
	*native.Authenticator
	system
}

// CheckAllowed implements auth.AllowChecker: allowed_system_groups, then Native's authorized
// sign-ups.
func (a *Native) CheckAllowed(ctx context.Context, name string, id *auth.Identity) (bool, error) {
	return a.allowed(ctx, a.Authenticator, name, id)
}

// NativeConfig is the LocalNativeAuthenticator section.
type NativeConfig struct {
	native.Config       `yaml:",inline"`
	local.VariantConfig `yaml:",inline"`
}

// DefaultNativeConfig returns NativeAuthenticator's defaults, without system accounts.
func DefaultNativeConfig() *NativeConfig { return &NativeConfig{Config: *native.DefaultConfig()} }

// NewNative builds LocalNativeAuthenticator.
func NewNative(cfg *NativeConfig, log *slog.Logger) (*Native, error) {
	if cfg == nil {
		return nil, errors.New("LocalNativeAuthenticator: no config")
	}
	base, err := native.New(&cfg.Config, log)
	if err != nil {
		return nil, err
	}
	s, err := newSystem(&cfg.VariantConfig, cfg.Common(), log)
	if err != nil {
		return nil, err
	}
	return &Native{Authenticator: base, system: s}, nil
}

// Command is LocalCommandAuthenticator (a gohub addition): CommandAuthenticator plus system
// accounts for the names the command accepts.
type Command struct {
	*command.Authenticator
	system
}

// CheckAllowed implements auth.AllowChecker: allowed_system_groups (CommandAuthenticator has no
// allow rule of its own).
func (a *Command) CheckAllowed(ctx context.Context, name string, id *auth.Identity) (bool, error) {
	return a.allowed(ctx, a.Authenticator, name, id)
}

// ConfigWarnings implements auth.ConfigWarner: the command's warnings, and the pipeline's "no
// allow rule" warning, which the pipeline leaves to authenticators with an allow rule of their
// own, when allowed_system_groups is empty too.
func (a *Command) ConfigWarnings(cfg auth.Config) []string {
	w := a.Authenticator.ConfigWarnings(cfg)
	if !a.accounts.HasAllowedGroups() && !isTrue(cfg.AllowAll) && !isTrue(cfg.AllowExistingUsers) &&
		len(cfg.AllowedUsers) == 0 && len(cfg.AdminUsers) == 0 {
		w = append(w, "no allow rule is configured: nobody can log in; set LocalCommandAuthenticator.allowed_system_groups or Authenticator.allow_all, allowed_users, admin_users or allow_existing_users")
	}
	return w
}

func isTrue(b *bool) bool { return b != nil && *b }

// CommandConfig is the LocalCommandAuthenticator section.
type CommandConfig struct {
	command.Config      `yaml:",inline"`
	local.VariantConfig `yaml:",inline"`
}

// DefaultCommandConfig returns CommandAuthenticator's defaults, without system accounts.
func DefaultCommandConfig() *CommandConfig { return &CommandConfig{Config: *command.DefaultConfig()} }

// NewCommand builds LocalCommandAuthenticator.
func NewCommand(cfg *CommandConfig, log *slog.Logger) (*Command, error) {
	if cfg == nil {
		return nil, errors.New("LocalCommandAuthenticator: no config")
	}
	base, err := command.New(&cfg.Config, log)
	if err != nil {
		return nil, err
	}
	s, err := newSystem(&cfg.VariantConfig, cfg.Common(), log)
	if err != nil {
		return nil, err
	}
	return &Command{Authenticator: base, system: s}, nil
}
