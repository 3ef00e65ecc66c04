package oauth

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"gohub/internal/auth"
)

// Config holds the traits of upstream's OAuthenticator base class; the config section
// `OAuthenticator:` sets them for every OAuth provider, and each provider's config embeds it.
// Names, defaults and meanings are upstream's, with these differences:
//   - end_session_logout (gohub addition) signs the user out at the provider too, through its
//     end_session_endpoint (OpenID Connect RP-initiated logout);
//   - oidc_issuer (gohub addition) fills authorize_url, token_url, userdata_url and jwks_url
//     from the issuer's /.well-known/openid-configuration, fetched at the first login;
//   - an id_token is verified against the provider's keys (jwks_url or discovery: signature,
//     iss, aud, exp and the nonce gohub sent); upstream checks no signature
//     (README, Authenticators). userdata_from_id_token therefore needs a key set;
//   - username_claim and auth_state_groups_key are a claim name or a dotted path into the
//     claims (realm_access.roles); Python callables are not supported;
//   - auth_state's token_response holds the standard fields of the token response, not every
//     field the provider sent;
//   - modify_auth_state_hook, refresh_user_hook and http_request_kwargs are not supported (no
//     Python); validate_server_cert=false turns TLS verification off.
type Config struct {
	auth.Config `yaml:",inline"`

	ClientID     string `yaml:"client_id" help:"OAuth client id (env OAUTH_CLIENT_ID; providers read their own variable first)."`
	ClientSecret string `yaml:"client_secret" help:"OAuth client secret (env OAUTH_CLIENT_SECRET; providers read their own variable first)."`

	OIDCIssuer   string `yaml:"oidc_issuer" help:"OpenID Connect issuer URL: the endpoints and keys are discovered from its /.well-known/openid-configuration (gohub addition)."`
	AuthorizeURL string `yaml:"authorize_url" help:"Authorization endpoint of the provider (env OAUTH2_AUTHORIZE_URL)."`
	TokenURL     string `yaml:"token_url" help:"Token endpoint of the provider (env OAUTH2_TOKEN_URL)."`
	UserdataURL  string `yaml:"userdata_url" help:"User info endpoint of the provider (env OAUTH2_USERDATA_URL)."`
	JWKSURL      string `yaml:"jwks_url" help:"Key set the provider signs ID tokens with; discovered with oidc_issuer (gohub addition)."`

	UserdataFromIDToken  bool              `yaml:"userdata_from_id_token" help:"Take the user info from the verified ID token instead of calling userdata_url."`
	UsernameClaim        string            `yaml:"username_claim" help:"Claim (or dotted path into the claims) that gives the username (env OAUTH2_USERNAME_KEY)."`
	Scope                []string          `yaml:"scope" help:"Scopes to request."`
	AllowedScopes        []string          `yaml:"allowed_scopes" help:"Allow users who were granted all these scopes; must be a subset of scope."`
	ExtraAuthorizeParams map[string]string `yaml:"extra_authorize_params" help:"Extra query parameters of the authorize redirect."`
	TokenParams          map[string]string `yaml:"token_params" help:"Extra form parameters of the code exchange."`
	UserdataParams       map[string]string `yaml:"userdata_params" help:"Extra query parameters of the user info request."`
	UserdataTokenMethod  string            `yaml:"userdata_token_method" help:"How the user info request carries the token: header or url (env OAUTH2_USERDATA_REQUEST_TYPE)."`
	BasicAuth            *bool             `yaml:"basic_auth" help:"Send the client credentials as HTTP Basic auth instead of in the body (env OAUTH2_BASIC_AUTH)."`
	EnablePKCE           bool              `yaml:"enable_pkce" help:"Use PKCE (S256) in the authorization code flow."`
	OAuthCallbackURL     string            `yaml:"oauth_callback_url" help:"Redirect URI registered with the provider (env OAUTH_CALLBACK_URL); guessed from the request's host when empty."`
	ValidateServerCert   *bool             `yaml:"validate_server_cert" help:"Verify the provider's TLS certificates (false only with env OAUTH_TLS_VERIFY=0 by default)."`
	EndSessionLogout     bool              `yaml:"end_session_logout" help:"Also sign the user out at the OpenID provider after the hub's logout (RP-initiated logout with id_token_hint; gohub addition)."`
	EndSessionURL        string            `yaml:"end_session_url" help:"The provider's end_session_endpoint; discovered with oidc_issuer (gohub addition)."`
	LogoutRedirectURL    string            `yaml:"logout_redirect_url" help:"Where users go after logging out of the hub, e.g. the provider's logout page; with end_session_logout, the post_logout_redirect_uri (env OAUTH_LOGOUT_REDIRECT_URL)."`
	Custom403Message     string            `yaml:"custom_403_message" help:"Shown to a user the provider authenticated but the hub does not allow."`
	// AllowUnverifiedEmail lets a username come from an email the provider has not verified.
	AllowUnverifiedEmail bool `yaml:"allow_unverified_email" help:"Accept a username taken from an email claim (username_claim email) without email_verified true; otherwise such a login is refused (anyone can sign up with any address at many providers)."`

	AllowedGroups      []string `yaml:"allowed_groups" help:"Allow members of these groups (needs manage_groups)."`
	AdminGroups        []string `yaml:"admin_groups" help:"Members of these groups are admins, others not in admin_users are not (needs manage_groups)."`
	AuthStateGroupsKey string   `yaml:"auth_state_groups_key" help:"Dotted path in auth_state to the user's groups (generic: oauth_user.<claim_groups_key>)."`
}

// Common returns the base Authenticator part (for the registry; promoted from auth.Config,
// restated so *Config satisfies the registry's constraint through embedding).
func (c *Config) Common() *auth.Config { return &c.Config }

// OAuth returns c itself; every provider's config embeds Config and so has this method.
func (c *Config) OAuth() *Config { return c }

// DefaultConfig returns upstream's defaults for the OAuthenticator traits.
func DefaultConfig() *Config {
	c := &Config{
		Config:           auth.DefaultConfig(),
		EnablePKCE:       true,
		Custom403Message: "Sorry, you are not currently authorized to use this hub. Please contact the hub administrator.",
	}
	c.LoginService = "OAuth 2.0"
	// Upstream: true when auth_state is enabled; without auth_state a refresh is a no-op, so
	// true is the same.
	c.RefreshPreSpawn = true
	return c
}

// getenv is os.Getenv; tests may replace it.
var getenv = os.Getenv

// fromEnv fills empty fields from the environment variables upstream reads; names are tried in
// order.
func fromEnv(dst *string, names ...string) {
	for _, n := range names {
		if *dst != "" {
			return
		}
		*dst = getenv(n)
	}
}

// loginServiceFromEnv applies env LOGIN_SERVICE, as upstream's providers read it, when
// login_service still has the provider's default.
func (c *Config) loginServiceFromEnv(def string) {
	if v := getenv("LOGIN_SERVICE"); v != "" && c.LoginService == def {
		c.LoginService = v
	}
}

// resolve fills what the environment gives and checks the common traits. clientEnv and
// secretEnv are the provider's own variables, read before OAUTH_CLIENT_ID/SECRET.
func (c *Config) resolve(clientEnv, secretEnv string) error {
	if clientEnv != "" {
		fromEnv(&c.ClientID, clientEnv)
	}
	if secretEnv != "" {
		fromEnv(&c.ClientSecret, secretEnv)
	}
	fromEnv(&c.ClientID, "OAUTH_CLIENT_ID")
	fromEnv(&c.ClientSecret, "OAUTH_CLIENT_SECRET")
	fromEnv(&c.AuthorizeURL, "OAUTH2_AUTHORIZE_URL")
	fromEnv(&c.TokenURL, "OAUTH2_TOKEN_URL")
	fromEnv(&c.UserdataURL, "OAUTH2_USERDATA_URL")
	fromEnv(&c.OAuthCallbackURL, "OAUTH_CALLBACK_URL")
	fromEnv(&c.LogoutRedirectURL, "OAUTH_LOGOUT_REDIRECT_URL")
	fromEnv(&c.UserdataTokenMethod, "OAUTH2_USERDATA_REQUEST_TYPE")
	if c.UserdataTokenMethod == "" {
		c.UserdataTokenMethod = "header"
	}
	if c.BasicAuth == nil {
		v := strings.ToLower(getenv("OAUTH2_BASIC_AUTH"))
		c.BasicAuth = auth.Bool(v == "true" || v == "1")
	}
	if c.ValidateServerCert == nil {
		c.ValidateServerCert = auth.Bool(getenv("OAUTH_TLS_VERIFY") != "0")
	}

	var errs []error
	if c.UserdataFromIDToken && c.UserdataURL != "" && c.OIDCIssuer == "" {
		errs = append(errs, errors.New("userdata_url and userdata_from_id_token cannot both be set"))
	}
	if c.UserdataFromIDToken && c.OIDCIssuer == "" && c.JWKSURL == "" {
		errs = append(errs, errors.New("userdata_from_id_token needs jwks_url or oidc_issuer: gohub only trusts a verified ID token"))
	}
	for name, v := range map[string]string{"oidc_issuer": c.OIDCIssuer, "authorize_url": c.AuthorizeURL,
		"token_url": c.TokenURL, "userdata_url": c.UserdataURL, "jwks_url": c.JWKSURL, "oauth_callback_url": c.OAuthCallbackURL,
		"logout_redirect_url": c.LogoutRedirectURL, "end_session_url": c.EndSessionURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", name, v))
		}
	}
	if m := c.UserdataTokenMethod; m != "header" && m != "url" {
		errs = append(errs, fmt.Errorf("userdata_token_method must be header or url, got %q", m))
	}
	if c.UsernameClaim == "" {
		errs = append(errs, errors.New("username_claim is empty"))
	}
	for _, s := range c.AllowedScopes {
		if !slices.Contains(c.Scope, s) {
			errs = append(errs, fmt.Errorf("allowed_scopes: %q is not in scope %v", s, c.Scope))
		}
	}
	if (len(c.AllowedGroups) > 0 || len(c.AdminGroups) > 0) && !c.ManageGroups {
		errs = append(errs, errors.New("allowed_groups and admin_groups need Authenticator.manage_groups = true"))
	}
	return errors.Join(errs...)
}

// missing lists what the config lacks for a login to work. Upstream starts without them and
// fails at the first login; gohub does the same (so `gohub generate-config` and a hub being
// set up still start), warns at startup and shows the reason on the login page.
func (c *Config) missing() []string {
	var out []string
	if c.ClientID == "" {
		out = append(out, "client_id is not set (or env OAUTH_CLIENT_ID)")
	}
	if c.OIDCIssuer == "" {
		if c.AuthorizeURL == "" {
			out = append(out, "authorize_url is not set (or oidc_issuer, or env OAUTH2_AUTHORIZE_URL)")
		}
		if c.TokenURL == "" {
			out = append(out, "token_url is not set (or oidc_issuer, or env OAUTH2_TOKEN_URL)")
		}
		if !c.UserdataFromIDToken && c.UserdataURL == "" {
			out = append(out, "userdata_url is not set (or oidc_issuer, or userdata_from_id_token)")
		}
	}
	return out
}
