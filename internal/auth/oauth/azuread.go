package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// AzureADConfig is the AzureAdOAuthenticator class: Microsoft Entra ID (Azure AD).
type AzureADConfig struct {
	Config `yaml:",inline"`

	TenantID string `yaml:"tenant_id" help:"Azure AD tenant (env AAD_TENANT_ID); its ID tokens only are accepted."`
	GraphURL string `yaml:"graph_url" help:"Microsoft's login host."`
	// UserGroupsClaim is upstream's deprecated way to name the groups claim.
	UserGroupsClaim string `yaml:"user_groups_claim" help:"Deprecated: the ID token claim with the groups; use auth_state_groups_key user.<claim>."`
}

// DefaultAzureADConfig returns upstream's defaults for AzureAdOAuthenticator.
func DefaultAzureADConfig() *AzureADConfig {
	c := &AzureADConfig{Config: *DefaultConfig(), GraphURL: "https://login.microsoftonline.com"}
	c.LoginService = "Azure AD"
	c.UsernameClaim = "name"
	c.Scope = []string{"openid"}
	c.UserdataFromIDToken = true
	c.AuthStateGroupsKey = "user.groups"
	return c
}

// NewAzureAD validates cfg and builds the Azure AD authenticator. The user info is the ID
// token, verified against the tenant's keys and issuer (upstream checks no signature); for a
// tenant_id given as a domain, the issuer (with the tenant's GUID) is read from the tenant's
// OpenID configuration at the first login. gohub
// uses the v2.0 endpoints, whose ID tokens carry the issuer <graph_url>/<tenant>/v2.0.
func NewAzureAD(cfg *AzureADConfig, log *slog.Logger) (*Authenticator, error) {
	fromEnv(&cfg.TenantID, "AAD_TENANT_ID")
	if strings.ContainsAny(cfg.TenantID, "/?#") {
		return nil, fmt.Errorf("tenant_id: %q is not a tenant id or domain", cfg.TenantID)
	}
	base := strings.TrimSuffix(cmpOr(cfg.GraphURL, "https://login.microsoftonline.com"), "/")
	if u, err := url.Parse(base); err != nil || u.Host == "" {
		return nil, fmt.Errorf("graph_url: %q is not a URL", base)
	}
	c := &cfg.Config
	if cfg.UserGroupsClaim != "" && c.AuthStateGroupsKey == "user.groups" {
		c.AuthStateGroupsKey = "user." + cfg.UserGroupsClaim
	}
	tenant := base + "/" + url.PathEscape(cfg.TenantID)
	c.AuthorizeURL = cmpOr(c.AuthorizeURL, tenant+"/oauth2/v2.0/authorize")
	c.TokenURL = cmpOr(c.TokenURL, tenant+"/oauth2/v2.0/token")
	c.JWKSURL = cmpOr(c.JWKSURL, tenant+"/discovery/v2.0/keys")
	c.loginServiceFromEnv("Azure AD")
	if err := c.resolve("", ""); err != nil {
		return nil, err
	}
	a, err := newAuthenticator(c, azuread{}, "AzureAdOAuthenticator", log)
	if err != nil {
		return nil, err
	}
	if cfg.TenantID == "" {
		a.notConfigured = append(a.notConfigured, "tenant_id is not set (or env AAD_TENANT_ID)")
	}
	// Multi-tenant names (common, organizations) have no single issuer; a tenant does.
	switch strings.ToLower(cfg.TenantID) {
	case "", "common", "organizations", "consumers":
	default:
		if strings.Contains(cfg.TenantID, ".") {
			// A domain: Azure's ID tokens name the tenant by its GUID, which the tenant's
			// OpenID configuration gives.
			a.idTokenIssuerFrom = tenant + "/v2.0/.well-known/openid-configuration"
		} else {
			a.idTokenIssuer = tenant + "/v2.0"
		}
	}
	return a, nil
}

// azuread is Azure's part: nothing beyond the verified ID token.
type azuread struct{}

func (azuread) userKey() string { return "user" }
func (azuread) enrich(context.Context, *Authenticator, *oauth2.Token, map[string]any, map[string]any) error {
	return nil
}
func (azuread) allowed(context.Context, *Authenticator, string, map[string]any) (bool, error) {
	return false, nil
}
