// Package web serves the hub's HTML pages under {base_url}hub/: login and logout, the root
// redirect, home, error pages and static files (protocol.md §4.2–§4.5), from html/template files and
// static assets embedded in the binary. With Deps.Servers set it also serves the pages that
// start servers and bring the browser to them: spawn, spawn-pending (a progress bar fed by the
// REST progress stream), user/{name}/... (the proxy's fallback for a server without a route),
// user-redirect, and home's buttons: Start, Stop, and with named servers Create and Delete.
//
// Deliberate differences from JupyterHub: spawn pages let a user act on their own servers and
// admins on anyone's (upstream checks the servers scope, which the default roles give exactly
// so); options_form is an HTML string (no callable) shown beside KubeSpawner's profile_list,
// and a posted form becomes user_options with single values unwrapped (upstream's default
// options_from_form keeps every value a list), and only 6.0's opt- query arguments are spawn
// options (not the older unprefixed ones); there is no implicit_spawn_seconds or
// default_server_name yet; home works with plain forms (POST with _xsrf) rather than
// JavaScript on the REST API, and reloads itself while a server is busy; the progress page
// shows each event's plain message, not its html_message; the stop-pending page reloads itself
// (Refresh header) instead of polling the API.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gohub/internal/naming"
	"gohub/internal/recovery"
	"gohub/internal/session"
	"gohub/internal/spawner"
	"gohub/internal/store"
)

// Authenticator is what the pages need from the login pipeline (the hub adapts auth.Pipeline).
type Authenticator interface {
	// Login checks a login. A non-nil error is a refusal. admin is the admin flag the
	// authenticator decided, nil when it has no opinion.
	Login(ctx context.Context, r *http.Request, username, password string, form url.Values) (name string, admin *bool, err error)
	// LoginForm is false for authenticators without a form (the null authenticator): the login
	// page then says login is not available.
	LoginForm() bool
	// AutoLogin: skip the login page and log in from the request, or send the browser to the
	// authenticator's own login URL (LoginURLer).
	AutoLogin() bool
}

// LoginURLer is an Authenticator with its own login page (OAuth's /hub/oauth_login). The login
// page links to it, and auto_login redirects to it with next carried.
type LoginURLer interface {
	LoginURL() string
}

// LoginOption is one way to sign in on a login page that offers several (one per source of a
// MultiAuthenticator): a username/password form that posts login_source=Source, or a button to
// the source's own login page.
type LoginOption struct {
	// Source is posted as login_source by the option's form.
	Source string
	// Label heads the option.
	Label string
	// Form is true for a username/password form; otherwise URL is the button's target.
	Form bool
	// OTPPrompt labels the form's one-time-password field; "" for none.
	OTPPrompt string
	// URL is the source's own login page; Service names it on the button.
	URL, Service string
	// UsernameHint is shown under the username field.
	UsernameHint string
	// Links go under the option (Native's "Sign up").
	Links []Link
}

// LoginOptioner is an Authenticator with several ways to sign in: the login page shows one
// block per option. An empty list keeps the single-form page.
type LoginOptioner interface {
	LoginOptions() []LoginOption
}

// Link is a link an authenticator adds to a page.
type Link struct {
	// Text is shown; URL is the target.
	Text, URL string
}

// PageExtras is an Authenticator that adds to the pages: a one-time-password field on the
// login form (OTPPrompt is its label, "" for none; posted as otp), links under the login form
// (Native's "Sign up") and links on the home page of u (Native's "Authorize Users").
type PageExtras interface {
	OTPPrompt() string
	LoginLinks() []Link
	HomeLinks(u *store.User) []Link
}

// LogoutURLer is an Authenticator that sends the browser somewhere after the hub's logout
// (OAuth's logout_redirect_url or the provider's logout); user is who logged out, "" if nobody
// was logged in. "" means the usual logout.
type LogoutURLer interface {
	LogoutURL(ctx context.Context, user string) string
}

// Deps are what the pages are built from.
type Deps struct {
	Store    *store.DB
	Sessions *session.Manager
	Auth     Authenticator
	// BaseURL is JupyterHub.base_url ("/" by default); pages live under BaseURL+"hub/".
	BaseURL string
	// DefaultURL is JupyterHub.default_url: where / and a login without next land, if set.
	DefaultURL string
	// RedirectToServer is JupyterHub.redirect_to_server: a login without next goes to the
	// user's server (ServerLanding) rather than /hub/home.
	RedirectToServer bool
	// ServerLanding returns the redirect_to_server target for u (protocol.md §4.3: /user/{name}/ when
	// the default server is active, else /hub/spawn). When nil, the pages use that rule
	// themselves if Servers is set; with neither, the landing is /hub/home.
	ServerLanding func(r *http.Request, u *store.User) string
	// Servers runs the single-user servers. When set, the pages serve spawn, spawn-pending,
	// user/{name}/..., user-redirect and home's Start and Stop buttons; nil means no spawning.
	Servers *spawner.Manager
	// AllowNamedServers is JupyterHub.allow_named_servers: the first segment of a
	// /user/{name}/{server}/... path then picks a named server the user has.
	AllowNamedServers bool
	// Version is sent as X-JupyterHub-Version on every page.
	Version string
	Logger  *slog.Logger
	// LoginService names the authenticator's external service ("GitHub") on the login button of
	// an authenticator without a form.
	LoginService string
	// PublicURL is JupyterHub.public_url, if set: it decides which absolute next URLs are this
	// hub's, and makes redirects out of non-hub paths absolute.
	PublicURL *url.URL
	// Subdomains is JupyterHub.subdomain_host (nil: unset): server URLs are then absolute, on
	// each user's own host, and /user/{name}/... on another host is sent there.
	Subdomains *naming.Subdomains
	// TemplateDir, if set, holds templates that replace the embedded ones of the same name.
	TemplateDir string
	// MaxFormBytes limits a posted form; 1 MiB when zero.
	MaxFormBytes int64
	// Recovery serves the password-reset pages and the login page's "Forgot password?" link
	// (see recovery.go); nil: none.
	Recovery *recovery.Service
	// Invalidate drops the API's cached credentials; logout calls it so the session's tokens
	// stop working at once. Optional.
	Invalidate func()
}

// Pages serves the hub's HTML pages.
type Pages struct {
	d         Deps
	log       *slog.Logger
	hubPrefix string
	tmpl      *templates
	static    *staticFiles
	// sleep waits between redirect-loop bounces; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// New checks the dependencies and parses the templates.
func New(d Deps) (*Pages, error) {
	if d.Store == nil || d.Sessions == nil || d.Auth == nil {
		return nil, errors.New("web: Store, Sessions and Auth are required")
	}
	base := d.BaseURL
	if base == "" {
		base = "/"
	}
	if !strings.HasPrefix(base, "/") {
		base = "/" + base
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	d.BaseURL = base
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MaxFormBytes <= 0 {
		d.MaxFormBytes = 1 << 20
	}
	p := &Pages{d: d, log: d.Logger, hubPrefix: base + "hub/", sleep: sleepCtx}
	var err error
	if p.static, err = loadStatic(); err != nil {
		return nil, err
	}
	if p.tmpl, err = loadTemplates(d.TemplateDir); err != nil {
		return nil, err
	}
	return p, nil
}

// UseServers sets Deps.Servers and Deps.AllowNamedServers after New, for a hub that builds the
// manager after the pages (the OAuth provider needs the pages, and the manager's hooks need the
// provider). Call it before Register.
func (p *Pages) UseServers(m *spawner.Manager, allowNamedServers bool) {
	p.d.Servers, p.d.AllowNamedServers = m, allowNamedServers
}

// Register adds every page route under BaseURL+"hub/" to mux, with a 404 page for the rest of
// that prefix. The hub mounts NotHub at BaseURL itself.
func (p *Pages) Register(mux *http.ServeMux) {
	h := p.hubPrefix
	handle := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, p.headers(f)) }
	handle("GET "+strings.TrimSuffix(h, "/"), p.addSlash)
	handle("GET "+h+"{$}", p.root)
	handle("GET "+h+"login", p.loginPage)
	handle("POST "+h+"login", p.loginPost)
	handle("GET "+h+"logout", p.logout)
	handle("GET "+h+"home", p.home)
	handle("GET "+h+"error/{code}", p.proxyError)
	handle("GET "+h+"static/{file...}", p.static.serve)
	handle("GET "+h+"logo", p.logo)
	handle("GET "+h+"admin", p.adminPage)
	handle("GET "+h+"token", p.tokenPage)
	if p.d.Servers != nil {
		for _, tail := range []string{"", "/{user}", "/{user}/{server}"} {
			handle("GET "+h+"spawn"+tail, p.spawnGet)
			handle("POST "+h+"spawn"+tail, p.spawnPost)
		}
		handle("GET "+h+"spawn-pending/{user}", p.spawnPending)
		handle("GET "+h+"spawn-pending/{user}/{server}", p.spawnPending)
		handle(h+"user/{name}", p.userURL)
		handle(h+"user/{name}/{rest...}", p.userURL)
		handle("GET "+h+"user-redirect/{path...}", p.userRedirect)
		handle("POST "+h+"home/stop", p.homeStop)
		handle("POST "+h+"home/servers", p.homeCreate)
		handle("POST "+h+"home/delete", p.homeDelete)
	}
	if p.d.Recovery != nil {
		p.registerRecovery(handle)
	}
	handle("POST "+h+"security/csp-report", p.cspReport)
	handle(h, p.notFound)
}

// headers sets what every hub page sends (protocol.md §0.2).
func (p *Pages) headers(next http.Handler) http.Handler {
	csp := "frame-ancestors 'none'; report-uri " + p.hubPrefix + "security/csp-report"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		if p.d.Version != "" {
			hd.Set("X-JupyterHub-Version", p.d.Version)
		}
		hd.Set("Content-Security-Policy", csp)
		hd.Set("Access-Control-Allow-Headers", "accept, content-type, authorization")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// CurrentUser returns the user of the request's login cookie; (nil, nil) when there is none,
// it does not verify, or its cookie_id belongs to nobody (rotated).
//
// A GET or HEAD that a script could read (a fetch() from a user's server on the hub's origin,
// session.CookieUsable) without the session's _xsrf token is anonymous too: the page then
// shows what a logged-out browser sees. Other methods are the handlers' to check (they read
// the form's token after limiting the body, and refuse with 403).
func (p *Pages) CurrentUser(r *http.Request) (*store.User, error) {
	id, ok := p.d.Sessions.LoginCookieID(r)
	if !ok {
		return nil, nil
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !p.d.Sessions.CookieUsable(r, id) {
		return nil, nil
	}
	u, err := p.d.Store.GetUserByCookieID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("user of login cookie: %w", err)
	}
	// A block rotates the user's cookie_id; this also covers a login that was under way then.
	if b, ok := p.d.Auth.(interface{ IsBlocked(name string) bool }); ok && b.IsBlocked(u.Name) {
		return nil, nil
	}
	return u, nil
}

// user is CurrentUser for page handlers: a stale login cookie is cleared, and a database
// failure is answered with the 500 page (ok false).
func (p *Pages) user(w http.ResponseWriter, r *http.Request) (u *store.User, ok bool) {
	u, err := p.CurrentUser(r)
	if err != nil {
		p.log.Error("look up login cookie", "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
		return nil, false
	}
	if u == nil && p.d.Sessions.HasLoginCookie(r) && session.IsNavigation(r) {
		// Not on a script's request: a fetch() must not log the browser out. Under
		// subdomain_host this also expires login cookies tossed onto the hub's host.
		p.d.Sessions.ClearTossedLogin(w, r)
	}
	return u, true
}

// requireUser answers a request without a logged-in user as tornado's @authenticated does:
// GET/HEAD → 302 to the login page with next, others → 403.
func (p *Pages) requireUser(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	u, ok := p.user(w, r)
	if !ok {
		return nil, false
	}
	if u != nil {
		return u, true
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		redirect(w, p.hubPrefix+"login?next="+url.QueryEscape(r.URL.RequestURI()))
	} else {
		p.Error(w, r, http.StatusForbidden, "")
	}
	return nil, false
}

// NotHub answers paths outside the hub prefix that reach the hub (the proxy's default route):
// {base}user/{name} and {base}services/{name} get their trailing slash, anything else goes to
// the same path under the hub prefix with the query kept (protocol.md §0.1). Mount it at BaseURL.
func (p *Pages) NotHub(w http.ResponseWriter, r *http.Request) {
	p.headers(http.HandlerFunc(p.notHub)).ServeHTTP(w, r)
}

func (p *Pages) notHub(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		p.Error(w, r, http.StatusMethodNotAllowed, "")
		return
	}
	path := r.URL.EscapedPath()
	rest, under := strings.CutPrefix(path, p.d.BaseURL)
	if !under && path+"/" == p.d.BaseURL {
		rest, under = "", true
	}
	if !under {
		rest = strings.TrimPrefix(path, "/")
	}
	query := ""
	if r.URL.RawQuery != "" {
		query = "?" + r.URL.RawQuery
	}
	if kind, name, found := strings.Cut(rest, "/"); found && (kind == "user" || kind == "services") &&
		name != "" && !strings.Contains(name, "/") {
		redirect(w, path+"/"+query)
		return
	}
	if sd := p.d.Subdomains; sd != nil && strings.HasPrefix(rest, "user/") && !sd.IsUserHost(r.Host) {
		// A user's server lives on the user's own host, never on the hub's.
		escName, _, _ := strings.Cut(strings.TrimPrefix(rest, "user/"), "/")
		if name, err := url.PathUnescape(escName); err == nil && name != "" {
			redirect(w, sd.UserOrigin(name)+path+query)
			return
		}
	}
	target := p.hubPrefix + rest + query
	if p.d.PublicURL != nil && p.d.PublicURL.Host != "" {
		target = p.d.PublicURL.Scheme + "://" + p.d.PublicURL.Host + target
	}
	redirect(w, target)
}

// addSlash sends /hub to /hub/.
func (p *Pages) addSlash(w http.ResponseWriter, r *http.Request) {
	target := p.hubPrefix
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	redirect(w, target)
}

// redirect answers 302 with target as it is (no cleaning: targets are built or validated).
func redirect(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
}

// RequireUser returns the logged-in user, or answers the request as JupyterHub's
// @authenticated does (GET/HEAD: 302 to the login page with next; others: 403) and returns
// false. For pages other packages serve under the hub prefix (spawn, authorize, token).
func (p *Pages) RequireUser(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	return p.requireUser(w, r)
}

// XSRFToken is the _xsrf token a page of u (nil: anonymous) embeds in its forms and scripts;
// it sets the cookie when needed.
func (p *Pages) XSRFToken(w http.ResponseWriter, r *http.Request, u *store.User) string {
	return p.d.Sessions.XSRFToken(w, r, p.xsrfIDFor(w, r, u))
}

// CheckXSRF checks a page form post of u (nil: anonymous) against its _xsrf token (protocol.md §4.4).
func (p *Pages) CheckXSRF(r *http.Request, u *store.User) bool {
	if u == nil {
		return p.d.Sessions.CheckXSRF(r, p.d.Sessions.XSRFID(r, ""))
	}
	return p.d.Sessions.CheckXSRF(r, p.d.Sessions.XSRFID(r, u.CookieID))
}
