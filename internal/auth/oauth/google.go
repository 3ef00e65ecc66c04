package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"golang.org/x/oauth2"

	"gohub/internal/auth"
)

// GoogleConfig is the GoogleOAuthenticator class.
type GoogleConfig struct {
	Config `yaml:",inline"`

	// HostedDomain is restrictive: users of other Google Workspace domains are refused.
	HostedDomain         []string `yaml:"hosted_domain" help:"Only users of these Google Workspace domains may log in (env HOSTED_DOMAIN, ';'-separated)."`
	AllowedHostedDomains []string `yaml:"allowed_hosted_domains" help:"Allow every user of these Google Workspace domains."`
	// StripDomain is nil until resolved: true when exactly one hosted_domain is set. Only a
	// domain of hosted_domain is ever stripped: without hosted_domain, alice@gmail.com and
	// alice@example.org would both become the hub user alice.
	StripDomain  *bool  `yaml:"strip_domain" help:"Drop @domain from usernames whose domain is in hosted_domain (default: true with a single hosted_domain)."`
	GoogleAPIURL string `yaml:"google_api_url" help:"Base URL of Google's OAuth endpoints (tests and proxies)."`
}

// DefaultGoogleConfig returns upstream's defaults for GoogleOAuthenticator.
func DefaultGoogleConfig() *GoogleConfig {
	c := &GoogleConfig{Config: *DefaultConfig()}
	c.LoginService = "Google"
	c.UsernameClaim = "email"
	c.Scope = []string{"openid", "email"}
	return c
}

// NewGoogle validates cfg and builds the Google authenticator.
func NewGoogle(cfg *GoogleConfig, log *slog.Logger) (*Authenticator, error) {
	if len(cfg.HostedDomain) == 0 {
		if v := getenv("HOSTED_DOMAIN"); v != "" {
			cfg.HostedDomain = strings.Split(v, ";")
		}
	}
	for i, d := range cfg.HostedDomain {
		cfg.HostedDomain[i] = strings.ToLower(strings.TrimSpace(d))
	}
	if cfg.StripDomain == nil {
		cfg.StripDomain = auth.Bool(len(cfg.HostedDomain) == 1)
	}
	c := &cfg.Config
	issuer := "https://accounts.google.com"
	if cfg.GoogleAPIURL != "" {
		base := strings.TrimSuffix(cfg.GoogleAPIURL, "/")
		issuer = base
		c.AuthorizeURL = cmpOr(c.AuthorizeURL, base+"/o/oauth2/v2/auth")
		c.TokenURL = cmpOr(c.TokenURL, base+"/token")
		c.UserdataURL = cmpOr(c.UserdataURL, base+"/oauth2/v1/userinfo")
		c.JWKSURL = cmpOr(c.JWKSURL, base+"/oauth2/v3/certs")
	}
	c.AuthorizeURL = cmpOr(c.AuthorizeURL, "https://accounts.google.com/o/oauth2/v2/auth")
	c.TokenURL = cmpOr(c.TokenURL, "https://oauth2.googleapis.com/token")
	c.UserdataURL = cmpOr(c.UserdataURL, "https://www.googleapis.com/oauth2/v1/userinfo")
	// Google's ID tokens are verified too (upstream does not look at them).
	c.JWKSURL = cmpOr(c.JWKSURL, "https://www.googleapis.com/oauth2/v3/certs")
	if len(cfg.HostedDomain) == 1 {
		// Google then shows only accounts of that domain.
		if c.ExtraAuthorizeParams == nil {
			c.ExtraAuthorizeParams = map[string]string{}
		}
		if _, set := c.ExtraAuthorizeParams["hd"]; !set {
			c.ExtraAuthorizeParams["hd"] = cfg.HostedDomain[0]
		}
	}
	c.loginServiceFromEnv("Google")
	if err := c.resolve("", ""); err != nil {
		return nil, err
	}
	a, err := newAuthenticator(c, &google{cfg: cfg}, "GoogleOAuthenticator", log)
	if err != nil {
		return nil, err
	}
	a.idTokenIssuer = issuer
	return a, nil
}

// google is Google's part: verified email, hosted domains, strip_domain.
type google struct{ cfg *GoogleConfig }

func (*google) userKey() string { return "google_user" }

// enrich refuses an unverified email and a user outside hosted_domain. Unlike upstream, this
// holds with allow_all too (README, Authenticators).
func (g *google) enrich(_ context.Context, _ *Authenticator, _ *oauth2.Token, info, _ map[string]any) error {
	email, _ := info["email"].(string)
	verified, ok := info["verified_email"].(bool)
	if !ok {
		verified, _ = info["email_verified"].(bool)
	}
	if !verified {
		return auth.Reject(fmt.Sprintf("Login with unverified email %s is not allowed", email))
	}
	if len(g.cfg.HostedDomain) > 0 {
		hd, _ := info["hd"].(string)
		if !slices.Contains(g.cfg.HostedDomain, strings.ToLower(hd)) {
			return auth.Reject(fmt.Sprintf("Google account domain @%s not authorized.", cmpOr(hd, domainOf(email))))
		}
	}
	return nil
}

func (g *google) username(a *Authenticator, info map[string]any) (string, error) {
	name, _ := lookupPath(info, a.cfg.UsernameClaim).(string)
	if name == "" {
		return "", fmt.Errorf("%w: the user info has no %q claim", errProvider, a.cfg.UsernameClaim)
	}
	if *g.cfg.StripDomain && a.cfg.UsernameClaim == "email" {
		// Never a domain outside hosted_domain: stripping any domain would merge the accounts
		// of alice@gmail.com and alice@example.org into one hub user.
		if local, domain, ok := strings.Cut(name, "@"); ok && slices.Contains(g.cfg.HostedDomain, strings.ToLower(domain)) {
			name = local
		}
	}
	return name, nil
}

func (g *google) allowed(_ context.Context, _ *Authenticator, _ string, state map[string]any) (bool, error) {
	user, _ := state["google_user"].(map[string]any)
	hd, _ := user["hd"].(string)
	return hd != "" && slices.Contains(g.cfg.AllowedHostedDomains, strings.ToLower(hd)), nil
}

// domainOf is the part of an email after @.
func domainOf(email string) string {
	_, d, _ := strings.Cut(email, "@")
	return d
}
