// Package auth holds what every gohub authenticator shares: the small Authenticator interface,
// the optional capabilities the hub detects by type assertion, the common configuration
// (JupyterHub's base `Authenticator` traits) and the login Pipeline that applies all policy —
// username normalisation, username_map, username_pattern, blocked/allowed/admin lists,
// allow_all and allow_existing_users — once, so no authenticator re-implements it.
//
// Authenticators live in their own packages (internal/auth/dummy, …) and are listed in one table
// in internal/auth/registry.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
)

// ErrRejected is the one answer a failed login gets, whatever check failed: a wrong password, an
// invalid, blocked or not-allowed name all look the same to the client. The pipeline logs the
// actual reason. Every refusal returned by Pipeline.Login is ErrRejected or wraps it.
var ErrRejected = errors.New("invalid username or password")

// ErrInvalidUsername is wrapped by every error CheckUsername returns.
var ErrInvalidUsername = errors.New("invalid username")

// Rejection is a refusal whose message an authenticator deliberately shows to the user, like
// upstream's HTTPError(403, msg) raised inside authenticate (FirstUse's "Password too short!").
// errors.Is(r, ErrRejected) is true, so callers treat it as any other refusal.
type Rejection struct {
	// Message is shown to the user instead of the generic text. It must not reveal a secret.
	Message string
}

// Reject returns a refusal that shows msg to the user.
func Reject(msg string) error { return &Rejection{Message: msg} }

// Error returns the user-facing message.
func (r *Rejection) Error() string { return r.Message }

// UserMessage is the text to show on the login form; the pages find it with errors.As on an
// interface, without importing this package.
func (r *Rejection) UserMessage() string { return r.Message }

// Is makes errors.Is(r, ErrRejected) true.
func (r *Rejection) Is(target error) bool { return target == ErrRejected }

// Credentials are what a login attempt carries: the login form's fields, or just the request for
// authenticators that read headers or a callback (OAuth).
type Credentials struct {
	// Username is the name to check. Pipeline.Login passes it to Authenticate stripped,
	// normalised and mapped through username_map (empty when none was typed, as in an OAuth
	// callback). The name as typed is in Typed.
	Username string
	// Password as typed; never log it.
	Password string
	// Form holds every posted field except _xsrf (otp, 2fa, …); nil when nothing was posted.
	Form url.Values
	// Request is the HTTP request of the login, when there is one.
	Request *http.Request

	// Typed is the username as the user typed it, stripped of surrounding blanks; set by
	// Pipeline.Login for authenticators that must hand the raw name to a back end (PAM, LDAP).
	Typed string
	// ClientAddr is the client's IP address (forwarded.Trust: a forwarding header only from a
	// trusted proxy), set by Pipeline.Login when there is a request; "" otherwise.
	ClientAddr string
	// InAdminUsers is set by Pipeline.Login when the normalised Username is in admin_users, so
	// authenticators that treat admins differently (shared-password) compare normalised names.
	InAdminUsers bool
}

// Identity is a successful authentication: upstream's auth model.
type Identity struct {
	// Name is the hub username. The pipeline normalises what the authenticator returned.
	Name string
	// Admin: true or false sets the user's admin flag; nil leaves it unchanged. Names in
	// admin_users always get true.
	Admin *bool
	// AuthState is persisted (encrypted) only when enable_auth_state is on; the pipeline drops it
	// otherwise.
	AuthState map[string]any
	// Groups, with manage_groups on, is the user's exact group membership; nil leaves the
	// membership unchanged. The pipeline drops it when manage_groups is off.
	Groups []string
	// Private carries an authenticator's own data from Authenticate to its LoginCompleter
	// (FirstUse marks a first use); the pipeline neither reads nor returns it.
	Private any
}

// Authenticator checks one login. It returns an Identity on success, an error that is or wraps
// ErrRejected on refusal (the pipeline logs the error's text and answers plain ErrRejected, unless
// it is a *Rejection), and any other error when it could not decide (a back end is down).
// Policy (allowed, blocked, admin lists) is the pipeline's job, not the authenticator's.
type Authenticator interface {
	Authenticate(ctx context.Context, c Credentials) (*Identity, error)
}

// FormlessAuthenticator is an authenticator without a login form: the login page shows none and
// login is automatic (null: only API tokens work).
type FormlessAuthenticator interface {
	Authenticator
	NoLoginForm()
}

// UsernameNormalizer replaces the default normalisation (lowercasing) of an authenticator, as
// PAM's pam_normalize_username does. username_map is still applied after it.
type UsernameNormalizer interface {
	NormalizeUsername(name string) string
}

// UsernameValidator adds rules to the base username checks (FirstUse and Native forbid commas
// and spaces). It gets the normalised name and returns a clear reason, which should not repeat
// the name (it is logged, and a name may be a password typed into the wrong field).
type UsernameValidator interface {
	ValidateUsername(name string) error
}

// DefaultResolver fills in the dynamic defaults an authenticator class overrides, such as
// allow_all for Dummy ("true unless allowed_users is set"). It may set only fields still nil.
type DefaultResolver interface {
	ResolveDefaults(cfg *Config)
}

// ConfigWarner reports suspicious configuration at startup (Dummy's "not for production",
// SharedPassword's missing passwords); the pipeline logs each message as a warning.
type ConfigWarner interface {
	ConfigWarnings(cfg Config) []string
}

// AllowChecker adds an allow rule of the authenticator's own (UNIX groups, OAuth organisations),
// consulted after the base rules. id is nil when the hub asks about a name outside a login.
type AllowChecker interface {
	CheckAllowed(ctx context.Context, name string, id *Identity) (bool, error)
}

// PasswordsEqual compares two secrets in constant time, independent of where they differ and of
// their lengths (both are hashed to a fixed size first).
func PasswordsEqual(given, want string) bool {
	g := sha256.Sum256([]byte(given))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
