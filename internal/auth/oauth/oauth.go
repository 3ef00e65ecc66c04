// Package oauth is gohub's OAuth 2.0 / OpenID Connect login (upstream's oauthenticator): the
// generic authenticator (any OAuth2 or OIDC provider, with discovery from an issuer) and the
// GitHub, GitLab, Google and Azure AD presets over it.
//
// The login runs on the authenticator's own pages: GET {prefix}oauth_login sends the browser to
// the provider with a state and PKCE, GET {prefix}oauth_callback checks the state, exchanges the
// code, verifies the ID token, reads the user info and hands the resulting identity to the hub's
// login path (auth.PageHost.CompleteLogin), which applies the pipeline's policy and keeps groups
// and the encrypted auth_state. RefreshUser (auth.UserRefresher) checks the stored access token
// and uses the refresh token when it no longer works.
package oauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"gohub/internal/auth"
)

// provider is what a preset changes in the generic flow.
type provider interface {
	// userKey is the auth_state key of the user info ("oauth_user", "github_user", …).
	userKey() string
	// enrich runs after the user info is read: extra API calls (GitHub's primary email) and
	// refusals (Google's hosted_domain, an unverified email), returned as *auth.Rejection.
	enrich(ctx context.Context, a *Authenticator, tok *oauth2.Token, info, state map[string]any) error
	// allowed is the provider's own allow rule (organisations, GitLab groups), after the common
	// ones; state is the auth_state of the login.
	allowed(ctx context.Context, a *Authenticator, name string, state map[string]any) (bool, error)
}

// grouper is a provider with its own notion of groups (GitHub's teams), used with
// manage_groups when auth_state_groups_key is not set. ok false: no groups known.
type grouper interface {
	groups(state map[string]any) (groups []string, ok bool)
}

// namer is a provider that derives the username itself (Google's strip_domain).
type namer interface {
	username(a *Authenticator, info map[string]any) (string, error)
}

// Authenticator logs users in through an OAuth 2.0 / OpenID Connect provider. It is safe for
// concurrent use.
type Authenticator struct {
	cfg    *Config
	p      provider
	class  string
	log    *slog.Logger
	client *http.Client
	states *stateCodec

	// groupsKey is the dotted path of the groups in auth_state; "" leaves groups to the
	// provider (grouper) or unknown.
	groupsKey string
	// idTokenIssuer, when set, is the iss every ID token must carry without discovery (Azure).
	idTokenIssuer string
	// idTokenIssuerFrom, when set and idTokenIssuer is not, is an OpenID configuration whose
	// issuer the ID tokens must carry, read at the first login (an Azure tenant given by its
	// domain signs with its GUID in iss).
	idTokenIssuerFrom string

	// notConfigured are a preset's own missing settings (Azure's tenant_id), see missing.
	notConfigured []string

	mu     sync.Mutex
	prefix string // the hub prefix, known once RegisterPages ran
	ep     *endpoints
}

// endpoints are the provider's URLs, from the config or discovered from oidc_issuer.
type endpoints struct {
	authorize, token, userinfo string
	endSession                 string                // OpenID Connect RP-initiated logout; "" if unknown
	verifier                   *oidc.IDTokenVerifier // nil: no key set known
}

// newAuthenticator builds the authenticator around a resolved config.
func newAuthenticator(cfg *Config, p provider, class string, log *slog.Logger) (*Authenticator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	states, err := newStateCodec()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if !*cfg.ValidateServerCert {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the operator asked for it (validate_server_cert)
	}
	a := &Authenticator{
		cfg: cfg, p: p, class: class, log: log.With("authenticator", class), states: states,
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
	}
	a.groupsKey = cfg.AuthStateGroupsKey
	return a, nil
}

// Config returns the resolved configuration.
func (a *Authenticator) Config() *Config { return a.cfg }

// ResolveDefaults implements auth.DefaultResolver: upstream's OAuthenticator defaults
// allow_existing_users to false, whatever allowed_users says.
func (a *Authenticator) ResolveDefaults(cfg *auth.Config) {
	if cfg.AllowExistingUsers == nil {
		cfg.AllowExistingUsers = auth.Bool(false)
	}
}

// ConfigWarnings implements auth.ConfigWarner: what a login will lack.
func (a *Authenticator) ConfigWarnings(auth.Config) []string {
	var out []string
	for _, m := range a.missing() {
		out = append(out, a.class+": "+m+"; logins will fail")
	}
	if !*a.cfg.ValidateServerCert {
		out = append(out, a.class+": validate_server_cert is false: the provider's TLS certificates are not verified")
	}
	return out
}

// missing lists what the config lacks for a login (see Config.missing).
func (a *Authenticator) missing() []string {
	return append(slices.Clone(a.notConfigured), a.cfg.missing()...)
}

// LoginURL is the page that starts the login: the login page shows a "Sign in with …" button to
// it, and auto_login redirects there.
func (a *Authenticator) LoginURL() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.prefix == "" {
		return ""
	}
	return a.prefix + "oauth_login"
}

// LogoutURL implements auth.LogoutRedirector: with end_session_logout, the provider's
// end_session_endpoint with the user's ID token as id_token_hint (OpenID Connect RP-initiated
// logout; post_logout_redirect_uri is logout_redirect_url if set); else logout_redirect_url;
// "" for the hub's own logout.
func (a *Authenticator) LogoutURL(ctx context.Context, state map[string]any) string {
	if !a.cfg.EndSessionLogout {
		return a.cfg.LogoutRedirectURL
	}
	ep, err := a.endpoints(ctx)
	if err != nil || ep.endSession == "" {
		a.log.Warn("end_session_logout: the provider has no end_session_endpoint", "err", err)
		return a.cfg.LogoutRedirectURL
	}
	u, err := url.Parse(ep.endSession)
	if err != nil {
		return a.cfg.LogoutRedirectURL
	}
	q := u.Query()
	q.Set("client_id", a.cfg.ClientID)
	if idToken, _ := state["id_token"].(string); idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	if a.cfg.LogoutRedirectURL != "" {
		q.Set("post_logout_redirect_uri", a.cfg.LogoutRedirectURL)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// httpCtx carries the authenticator's HTTP client to oauth2 and go-oidc.
func (a *Authenticator) httpCtx(ctx context.Context) context.Context {
	return oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, a.client), a.client)
}

// endpoints returns the provider's URLs, discovering them from oidc_issuer at the first call
// (a failed discovery is retried at the next login).
func (a *Authenticator) endpoints(ctx context.Context) (*endpoints, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ep != nil {
		return a.ep, nil
	}
	c := a.cfg
	if m := a.missing(); len(m) > 0 {
		return nil, fmt.Errorf("%s is not configured: %s", a.class, strings.Join(m, "; "))
	}
	ep := &endpoints{authorize: c.AuthorizeURL, token: c.TokenURL, userinfo: c.UserdataURL, endSession: c.EndSessionURL}
	// The key set lives longer than this request: it fetches keys with the client only.
	bg := a.httpCtx(context.Background())
	vcfg := &oidc.Config{ClientID: c.ClientID}
	switch {
	case c.OIDCIssuer != "":
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		prov, err := oidc.NewProvider(a.httpCtx(dctx), c.OIDCIssuer)
		if err != nil {
			return nil, fmt.Errorf("OIDC discovery at %s: %w", c.OIDCIssuer, err)
		}
		var meta struct {
			UserinfoURL string   `json:"userinfo_endpoint"`
			EndSession  string   `json:"end_session_endpoint"`
			Algs        []string `json:"id_token_signing_alg_values_supported"`
		}
		if err := prov.Claims(&meta); err != nil {
			return nil, fmt.Errorf("OIDC discovery at %s: %w", c.OIDCIssuer, err)
		}
		pe := prov.Endpoint()
		ep.authorize = cmpOr(c.AuthorizeURL, pe.AuthURL)
		ep.token = cmpOr(c.TokenURL, pe.TokenURL)
		ep.userinfo = cmpOr(c.UserdataURL, meta.UserinfoURL)
		ep.endSession = cmpOr(c.EndSessionURL, meta.EndSession)
		if len(meta.Algs) > 0 {
			vcfg.SupportedSigningAlgs = meta.Algs
		}
		// VerifierContext fetches keys with the client in bg, not the (short) discovery context.
		ep.verifier = prov.VerifierContext(bg, vcfg)
		if c.JWKSURL != "" {
			ep.verifier = oidc.NewVerifier(c.OIDCIssuer, oidc.NewRemoteKeySet(bg, c.JWKSURL), vcfg)
		}
		if ep.userinfo == "" && !c.UserdataFromIDToken {
			return nil, fmt.Errorf("the provider at %s announces no userinfo_endpoint: set userdata_url or userdata_from_id_token", c.OIDCIssuer)
		}
	case c.JWKSURL != "":
		issuer := a.idTokenIssuer
		if issuer == "" && a.idTokenIssuerFrom != "" {
			var meta struct {
				Issuer string `json:"issuer"`
			}
			dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			if err := a.getJSON(dctx, a.idTokenIssuerFrom, "", &meta); err != nil || meta.Issuer == "" {
				return nil, fmt.Errorf("the ID token issuer from %s: %w", a.idTokenIssuerFrom, cmpErr(err, errors.New("no issuer in it")))
			}
			issuer = meta.Issuer
		}
		if issuer == "" {
			vcfg.SkipIssuerCheck = true
		}
		ep.verifier = oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(bg, c.JWKSURL), vcfg)
	}
	a.ep = ep
	return ep, nil
}

// oauth2Config is the x/oauth2 client of the provider.
func (a *Authenticator) oauth2Config(ep *endpoints, redirect string) *oauth2.Config {
	style := oauth2.AuthStyleInParams
	if *a.cfg.BasicAuth {
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{
		ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret,
		Endpoint:    oauth2.Endpoint{AuthURL: ep.authorize, TokenURL: ep.token, AuthStyle: style},
		RedirectURL: redirect,
		Scopes:      a.cfg.Scope,
	}
}

// identityKey carries the identity the callback decided to Authenticate, through the hub's
// login path, inside the request's context: nothing outside this package can set it.
type identityKey struct{}

// Authenticate implements auth.Authenticator: it accepts only the identity the OAuth callback
// put in the request. A username and password posted to /hub/login are refused.
func (a *Authenticator) Authenticate(ctx context.Context, c auth.Credentials) (*auth.Identity, error) {
	if c.Request != nil {
		if id, ok := c.Request.Context().Value(identityKey{}).(*auth.Identity); ok && id != nil {
			cp := *id
			return &cp, nil
		}
	}
	return nil, fmt.Errorf("%w: %s logs in through the provider, not with a password", auth.ErrRejected, a.class)
}

// CheckAllowed implements auth.AllowChecker with upstream's OAuth rules, after the pipeline's
// own (allow_all, admin_users, allowed_users, allow_existing_users): all allowed_scopes granted,
// an admin (admin_groups), membership of allowed_groups, then the provider's rule.
func (a *Authenticator) CheckAllowed(ctx context.Context, name string, id *auth.Identity) (bool, error) {
	if id == nil {
		return false, nil
	}
	if len(a.cfg.AllowedScopes) > 0 {
		granted := stringList(id.AuthState["scope"])
		if !slices.ContainsFunc(a.cfg.AllowedScopes, func(s string) bool { return !slices.Contains(granted, s) }) {
			return true, nil
		}
	}
	if id.Admin != nil && *id.Admin {
		return true, nil
	}
	if slices.ContainsFunc(a.cfg.AllowedGroups, func(g string) bool { return slices.Contains(id.Groups, g) }) {
		return true, nil
	}
	return a.p.allowed(ctx, a, name, id.AuthState)
}

// cmpOr returns the first non-empty string.
func cmpOr(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// stringList reads a list of strings from a claim: a JSON array, or one string split on spaces
// and commas (a token response's scope).
func stringList(v any) []string {
	switch t := v.(type) {
	case []string:
		return slices.Clone(t)
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			} else if e != nil {
				out = append(out, scalarString(e))
			}
		}
		return out
	case string:
		return strings.FieldsFunc(t, func(r rune) bool { return r == ' ' || r == ',' })
	}
	return nil
}

// errProvider marks a failure of the provider (unreachable, 5xx): the login could not be
// decided, as opposed to a refusal.
var errProvider = errors.New("the identity provider failed")

// scalarString writes a claim value as text; a JSON number with its digits (12345678), not in
// the float notation fmt gives a float64 (1.2345678e+07).
func scalarString(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// cmpErr returns the first non-nil error.
func cmpErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
