package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"gohub/internal/store"
)

// UserAdder is an authenticator that must prepare every user the hub adds (upstream's
// add_user): LocalAuthenticator checks that the UNIX account exists and creates it with
// create_system_users. The pipeline calls it after every check of a successful login has passed,
// and the hub calls it (through Pipeline.AddUser) for users created through the REST API or the
// admin page, at startup for users in the database, and for admin_users/allowed_users. It must be
// idempotent. An error refuses the login or the creation; a *Rejection's message is shown.
type UserAdder interface {
	AddUser(ctx context.Context, name string) error
}

// LoginCompleter is an authenticator that persists something about a login only once the whole
// pipeline has accepted it (name valid, not blocked, allowed): FirstUse stores the first password
// here, never for a refused name (upstream stores it inside authenticate, README, Authenticators).
// name is the final hub name and id what Authenticate returned. An error refuses the login.
type LoginCompleter interface {
	CompleteLogin(ctx context.Context, c Credentials, name string, id *Identity) error
}

// UserDeleter is told when the hub deletes a user (REST DELETE /users/{name}, the admin page):
// FirstUse forgets the password, so the name can be claimed again.
type UserDeleter interface {
	DeleteUser(ctx context.Context, name string) error
}

// DatabaseUser is an authenticator that keeps state in the hub database (FirstUse passwords).
// The hub calls UseDatabase once, after the database is open and before the pipeline serves
// logins; startup work such as check_passwords_on_startup happens there.
type DatabaseUser interface {
	UseDatabase(ctx context.Context, db *store.DB) error
}

// PageHost is what an authenticator's pages need from the hub's pages; *web.Pages has it.
type PageHost interface {
	// RequireUser returns the logged-in user, or answers the request (302 to login for GET,
	// 403 otherwise) and returns false.
	RequireUser(w http.ResponseWriter, r *http.Request) (*store.User, bool)
	// XSRFToken is the _xsrf value a form of u embeds; it sets the cookie when needed.
	XSRFToken(w http.ResponseWriter, r *http.Request, u *store.User) string
	// CheckXSRF checks a form post of u against its _xsrf token.
	CheckXSRF(r *http.Request, u *store.User) bool
	// CompleteLogin finishes a login an authenticator's own page has decided (the OAuth
	// callback): it runs the hub's login path with r, exactly as the login form does (the
	// pipeline calls the authenticator's Authenticate with r in Credentials.Request; groups and
	// auth_state are kept), then sets the login cookie and redirects to next (validated as
	// /hub/login's ?next is). On error it writes nothing: a refusal is or wraps ErrRejected,
	// anything else means the login could not be decided.
	CompleteLogin(w http.ResponseWriter, r *http.Request, next string) error
	// Error answers with the hub's error page: status and a message shown to the user.
	Error(w http.ResponseWriter, r *http.Request, status int, msg string)
	// Grants reports whether u may use an admin page that needs scope: u is an admin, or the
	// roles of u (its own and its groups') hold scope unfiltered. The same check decides who
	// opens the hub's admin page (admin-ui) and Native's user pages (admin:users).
	Grants(ctx context.Context, u *store.User, scope string) (bool, error)
	// PasswordChanged ends every browser session of the user name (as the page knows it)
	// after an authenticator's page changed its password: a new cookie_id, so a copied login
	// cookie stops working. When u, the user of the request, is that user, u.CookieID is
	// updated and its browser gets a login cookie for it: whoever changed their own password
	// stays logged in here and nowhere else.
	PasswordChanged(w http.ResponseWriter, r *http.Request, u *store.User, name string)
}

// PageDeps are what RegisterPages gets.
type PageDeps struct {
	// Prefix is base_url + "hub/": pages register under it ("/hub/"). Under multi with a
	// url_prefix it is a sub-path ("/hub/guests/").
	Prefix string
	// HubPrefix is where the hub's own pages (home, login) are, when it differs from Prefix;
	// use Hub() to read it.
	HubPrefix string
	// Host gives the logged-in user and the XSRF token.
	Host PageHost
	// Pipeline is the login pipeline (for the normalised name of the user, allow checks).
	Pipeline *Pipeline
	// API authenticates requests to an authenticator's own endpoints under {Prefix}api/ as
	// the REST API does; nil when the hub serves no API (then such endpoints answer 403).
	API *APIAccess
}

// APIAccess is the REST API's request authentication, lent to authenticators' own API
// endpoints (Native's /hub/api/native/...).
type APIAccess struct {
	// Identify returns the caller of r (token header, or login cookie with its _xsrf token):
	// nil, nil for an anonymous request; an error wrapping ErrAPIXSRF when a cookie request
	// lacks a valid _xsrf token.
	Identify func(r *http.Request) (*APICaller, error)
	// Invalidate drops the API's cached views after a change of users; may be nil.
	Invalidate func()
}

// ErrAPIXSRF is wrapped by APIAccess.Identify's error for a cookie request without _xsrf.
var ErrAPIXSRF = errors.New("'_xsrf' argument missing or invalid (cookie-authenticated requests need it)")

// APICaller is who called: a user or a service, and what it may do.
type APICaller struct {
	Name string
	// Admin is the owner's admin flag; Cookie is true when the login cookie authenticated.
	Admin, Cookie bool
	// HasScope reports whether the caller holds a scope unfiltered ("admin:users").
	HasScope func(scope string) bool
}

// Link is a link an authenticator adds to the hub's home page.
type Link struct {
	// Text is shown; URL is the target (an absolute path under the hub).
	Text, URL string
}

// HomeLinker adds links to the home page of user u (Native's "Authorize Users" for admins and
// "Change Password").
type HomeLinker interface {
	HomeLinks(u *store.User) []Link
}

// LoginLinker adds links under the login form (Native's "Sign up").
type LoginLinker interface {
	LoginLinks() []Link
}

// LoginLinks returns the authenticator's login page links (LoginLinker), nil without any.
func (p *Pipeline) LoginLinks() []Link {
	if ll, ok := p.auth.(LoginLinker); ok {
		return ll.LoginLinks()
	}
	return nil
}

// OTPRequester is an authenticator that asks for a one-time code at login whatever request_otp
// says (Native with allow_2fa); OTPPrompt is the field's label, "" for no field.
type OTPRequester interface {
	OTPPrompt() string
}

// OTPPrompt is the label of the login form's one-time-password field (posted as otp): the
// authenticator's (OTPRequester), else otp_prompt when request_otp is on; "" for no field.
func (p *Pipeline) OTPPrompt() string {
	if o, ok := p.auth.(OTPRequester); ok {
		if s := o.OTPPrompt(); s != "" {
			return s
		}
	}
	if p.cfg.RequestOTP {
		return p.cfg.OTPPrompt
	}
	return ""
}

// HomeLinks returns the authenticator's home page links for u (HomeLinker), nil without any.
func (p *Pipeline) HomeLinks(u *store.User) []Link {
	if hl, ok := p.auth.(HomeLinker); ok && u != nil {
		return hl.HomeLinks(u)
	}
	return nil
}

// Hub returns the prefix of the hub's own pages (home, login): HubPrefix, else Prefix.
func (d PageDeps) Hub() string {
	if d.HubPrefix != "" {
		return d.HubPrefix
	}
	return d.Prefix
}

// PageProvider is an authenticator with its own pages under the hub prefix (FirstUse's
// change-password page, Native's signup). The hub calls RegisterPages before registering its own
// pages, so an authenticator's pattern is the more specific one where both exist.
type PageProvider interface {
	RegisterPages(mux *http.ServeMux, d PageDeps)
}

// AddUser prepares a user the hub adds outside a login (REST API, admin page, startup): it
// checks the name like a login would and calls the authenticator's UserAdder, if any. The hub
// must not create the user when it fails (upstream answers 400 "Failed to create user").
func (p *Pipeline) AddUser(ctx context.Context, name string) error {
	if err := p.CheckUsername(name); err != nil {
		return err
	}
	if a, ok := p.auth.(UserAdder); ok {
		return a.AddUser(ctx, name)
	}
	return nil
}

// DeleteUser tells the authenticator the hub deleted the user (see UserDeleter); a run-time
// block or invitation of the name goes with the user.
func (p *Pipeline) DeleteUser(ctx context.Context, name string) error {
	p.blocks.remove(name)
	p.invited.remove(name)
	if d, ok := p.auth.(UserDeleter); ok {
		return d.DeleteUser(ctx, name)
	}
	return nil
}

// SpawnHooks is an authenticator that acts around a user's server (upstream's pre_spawn_start
// and post_spawn_stop): PAM opens a session before the spawn and closes it after the stop. An
// error from PreSpawnStart aborts the spawn; PostSpawnStop only logs.
type SpawnHooks interface {
	PreSpawnStart(ctx context.Context, name string) error
	PostSpawnStop(ctx context.Context, name string)
}

// Start runs what an authenticator needs from the hub once the database is open and before
// logins are served: the login throttle loads its saved counters and keeps them in db from now
// on, then DatabaseUser.UseDatabase (FirstUse's passwords and its startup check).
func (p *Pipeline) Start(ctx context.Context, db *store.DB) error {
	if err := p.throttle.useStore(ctx, db, p.log); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	if du, ok := p.auth.(DatabaseUser); ok {
		if err := du.UseDatabase(ctx, db); err != nil {
			return fmt.Errorf("authenticator start: %w", err)
		}
	}
	return nil
}

// RegisterPages registers the authenticator's own pages (PageProvider) on mux, if it has any;
// call it before the hub's own pages are registered.
func (p *Pipeline) RegisterPages(mux *http.ServeMux, prefix string, host PageHost) {
	p.RegisterPagesWith(mux, PageDeps{Prefix: prefix, Host: host})
}

// RegisterPagesWith is RegisterPages with every dependency given (the hub adds the API's
// authentication); d.Pipeline is set to p.
func (p *Pipeline) RegisterPagesWith(mux *http.ServeMux, d PageDeps) {
	if pp, ok := p.auth.(PageProvider); ok {
		d.Pipeline = p
		pp.RegisterPages(mux, d)
	}
}

// LogoutRedirector is an authenticator that sends the browser somewhere after the hub's logout:
// OAuth's logout_redirect_url, or the provider's end_session_endpoint so the user is signed out
// there too. authState is the user's decrypted auth_state (nil when unknown or anonymous); ""
// means the hub's usual logout.
type LogoutRedirector interface {
	LogoutURL(ctx context.Context, authState map[string]any) string
}
