package oauth

import (
	"context"
	"log/slog"

	"golang.org/x/oauth2"
)

// GenericConfig is the GenericOAuthenticator class: any OAuth 2.0 or OpenID Connect provider
// (Keycloak, Okta, Authentik, …).
type GenericConfig struct {
	Config `yaml:",inline"`

	ClaimGroupsKey string `yaml:"claim_groups_key" help:"Claim (or dotted path) of the user info that holds the groups; auth_state_groups_key becomes oauth_user.<claim_groups_key>."`
	// UsernameKey is upstream's deprecated name of username_claim.
	UsernameKey string `yaml:"username_key" help:"Deprecated name of username_claim."`
}

// DefaultGenericConfig returns upstream's defaults for GenericOAuthenticator.
func DefaultGenericConfig() *GenericConfig {
	c := &GenericConfig{Config: *DefaultConfig(), ClaimGroupsKey: "groups"}
	c.LoginService = "OAuth 2.0"
	return c
}

// generic is the provider of GenericOAuthenticator: no rules of its own.
type generic struct{}

func (generic) userKey() string { return "oauth_user" }
func (generic) enrich(context.Context, *Authenticator, *oauth2.Token, map[string]any, map[string]any) error {
	return nil
}
func (generic) allowed(context.Context, *Authenticator, string, map[string]any) (bool, error) {
	return false, nil
}

// NewGeneric validates cfg (filling what the environment gives: OAUTH_CLIENT_ID,
// OAUTH2_AUTHORIZE_URL, LOGIN_SERVICE, …) and builds the generic authenticator.
func NewGeneric(cfg *GenericConfig, log *slog.Logger) (*Authenticator, error) {
	c := &cfg.Config
	if cfg.UsernameKey != "" && c.UsernameClaim == "" {
		c.UsernameClaim = cfg.UsernameKey
	}
	fromEnv(&c.UsernameClaim, "OAUTH2_USERNAME_KEY")
	if c.UsernameClaim == "" {
		c.UsernameClaim = "username"
	}
	c.loginServiceFromEnv("OAuth 2.0")
	if c.AuthStateGroupsKey == "" && cfg.ClaimGroupsKey != "" {
		c.AuthStateGroupsKey = "oauth_user." + cfg.ClaimGroupsKey
	}
	if err := c.resolve("", ""); err != nil {
		return nil, err
	}
	return newAuthenticator(c, generic{}, "GenericOAuthenticator", log)
}
