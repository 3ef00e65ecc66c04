// Package oauth is the hub as an OAuth2 authorization server for single-user servers and
// services (protocol.md §1.9, §2.4): the authorize endpoint with its confirmation page, the token
// endpoint (authorization_code only, PKCE S256/plain, no refresh tokens), and the credentials
// of a user's server (its API token and OAuth client, protocol.md §2.1 steps 2–3).
//
// Issued access tokens are ordinary api_tokens rows whose client_id names the OAuth client, so
// the REST API resolves their scopes (§5.3) like any other token's.
//
// Which server or service a client belongs to is read from the database, not kept in memory:
// a spawner row whose oauth_client_id is the client (candidates are derived from the client id
// jupyterhub-user-{name}[-{server}]), or a service whose oauth_client_id is the client. The
// caller of PrepareServer records the client on the spawner row, as the spawner manager does.
package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"gohub/internal/rbac"
	"gohub/internal/session"
	"gohub/internal/store"
)

// Defaults of Deps.
const (
	// DefaultCodeTTL is how long an authorization code lives (JupyterHub: 300 s).
	DefaultCodeTTL = 300 * time.Second
	// tokenLength is the length of access tokens and codes (protocol.md §6.2).
	tokenLength = 30
	// maxFormBytes bounds the body of the authorize and token posts.
	maxFormBytes = 64 << 10
)

// Pages renders HTML in the hub's layout. *web.Pages satisfies it.
type Pages interface {
	// Error writes the error page with status and a plain-text message.
	Error(w http.ResponseWriter, r *http.Request, status int, msg string)
	// RenderContent writes a page around an HTML fragment, u shown as the logged-in user.
	RenderContent(w http.ResponseWriter, status int, title string, u *store.User, body template.HTML)
}

// Deps are what the provider is built from.
type Deps struct {
	Store    *store.DB
	Sessions *session.Manager
	Catalog  *rbac.Catalog
	// BaseURL is JupyterHub.base_url ("/" by default); the endpoints live under
	// BaseURL+"hub/api/oauth2/".
	BaseURL string
	// TokenExpiresIn is oauth_token_expires_in, which defaults to cookie_max_age_days: the hub
	// passes one of them; 14 days (cookie_max_age_days' default) when zero.
	TokenExpiresIn time.Duration
	// CodeTTL is the lifetime of authorization codes; DefaultCodeTTL when zero.
	CodeTTL time.Duration
	// RequirePKCE is oauth_require_pkce (6.0): every authorization request needs a code_challenge.
	RequirePKCE bool
	// NoConfirm lists client ids that never get the confirmation page, besides services with
	// oauth_no_confirm (JupyterHub's oauth_no_confirm_list).
	NoConfirm []string
	// LoginURL returns where a browser that is not logged in is sent (next is appended); the
	// hub's login page when nil. auto_login_oauth2_authorize points it at the authenticator's.
	LoginURL func(r *http.Request) string
	// Pages renders the confirmation and error pages; a bare built-in page when nil.
	Pages Pages
	// Invalidate, if set, is called after PrepareServer or CleanupServer deleted tokens, so
	// credential caches forget them at once (the hub passes api.API.Invalidate).
	Invalidate func()
	// Version is sent as X-JupyterHub-Version.
	Version string
	Logger  *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Provider serves the OAuth2 endpoints. It is safe for concurrent use.
type Provider struct {
	d         Deps
	db        *store.DB
	log       *slog.Logger
	now       func() time.Time
	base      string // "/" or "/prefix/"
	hubPrefix string // base + "hub/"
	noConfirm map[string]bool
}

// New checks the dependencies and fills in defaults.
func New(d Deps) (*Provider, error) {
	if d.Store == nil || d.Sessions == nil || d.Catalog == nil {
		return nil, errors.New("oauth: Store, Sessions and Catalog are required")
	}
	base := d.BaseURL
	if !strings.HasPrefix(base, "/") {
		base = "/" + base
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	if d.TokenExpiresIn <= 0 {
		d.TokenExpiresIn = session.DefaultMaxAge
	}
	if d.CodeTTL <= 0 {
		d.CodeTTL = DefaultCodeTTL
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	p := &Provider{d: d, db: d.Store, log: d.Logger, now: d.Now, base: base, hubPrefix: base + "hub/",
		noConfirm: map[string]bool{}}
	for _, id := range d.NoConfirm {
		p.noConfirm[id] = true
	}
	return p, nil
}

// AuthorizePath and TokenPath are the endpoints' paths.
func (p *Provider) AuthorizePath() string { return p.hubPrefix + "api/oauth2/authorize" }

// TokenPath is the token endpoint's path.
func (p *Provider) TokenPath() string { return p.hubPrefix + "api/oauth2/token" }

// Register adds the authorize and token endpoints to mux. The patterns are more specific than
// the REST API's {base}hub/api/ catch-all, so both can share one mux.
func (p *Provider) Register(mux *http.ServeMux) {
	mux.Handle(p.AuthorizePath(), p.headers(http.HandlerFunc(p.authorize), false))
	mux.Handle(p.TokenPath(), p.headers(http.HandlerFunc(p.token), true))
}

// headers sets what every hub response sends (protocol.md §0.2) and forbids caching: both endpoints
// hand out credentials.
func (p *Provider) headers(next http.Handler, api bool) http.Handler {
	csp := "frame-ancestors 'none'; report-uri " + p.hubPrefix + "security/csp-report"
	if api {
		csp += "; default-src 'none'"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if p.d.Version != "" {
			h.Set("X-JupyterHub-Version", p.d.Version)
		}
		h.Set("Content-Security-Policy", csp)
		h.Set("Access-Control-Allow-Headers", "accept, content-type, authorization")
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// currentUser returns the user of the login cookie: nil when there is none or it is stale.
func (p *Provider) currentUser(ctx context.Context, r *http.Request) (*store.User, error) {
	id, ok := p.d.Sessions.LoginCookieID(r)
	if !ok {
		return nil, nil
	}
	// A script's request without the session's _xsrf token (a user's server fetching the
	// authorize page on the hub's origin) is anonymous: it would otherwise read the consent
	// form's token, or follow the redirect that carries a code.
	if !p.d.Sessions.CookieUsable(r, id) {
		return nil, nil
	}
	u, err := p.db.GetUserByCookieID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("user of login cookie: %w", err)
	}
	return u, nil
}

// invalidate tells credential caches that tokens were deleted.
func (p *Provider) invalidate() {
	if p.d.Invalidate != nil {
		p.d.Invalidate()
	}
}

// randomToken returns n random letters and digits (uniform, by rejection sampling).
func randomToken(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, b := range buf {
			// 248 = 4×62: bytes at or above it would favour the first letters.
			if b < 248 && len(out) < n {
				out = append(out, alphabet[b%62])
			}
		}
	}
	return string(out)
}

// errorPage writes an error page through Pages, or a bare one without.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if p.d.Pages != nil {
		p.d.Pages.Error(w, r, status, msg)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<title>%d %s</title>\n<h1>%d %s</h1>\n<p>%s</p>\n", status,
		http.StatusText(status), status, http.StatusText(status), template.HTMLEscapeString(msg))
}
