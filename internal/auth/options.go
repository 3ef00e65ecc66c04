package auth

import "context"

// LoginOption is one way to sign in that the login page offers: a username/password form, or a
// button to an authenticator's own login page (OAuth). An authenticator with several ways
// (MultiAuthenticator) describes them with LoginOptioner; the page then shows one block per
// option, in order. A single authenticator has none and keeps the page it always had.
type LoginOption struct {
	// Source identifies the option; a form posts it as the hidden field login_source.
	Source string
	// Label heads the option ("Staff (LDAP)").
	Label string
	// Form is true for a username/password form.
	Form bool
	// OTPPrompt labels the form's one-time-password field; "" for none.
	OTPPrompt string
	// URL is the option's own login page (a "Sign in with" button) when Form is false.
	URL string
	// Service names the external service on the button ("GitHub").
	Service string
	// UsernameHint, if set, is shown under the form's username field (the prefix the hub adds).
	UsernameHint string
	// Links go under the option (Native's "Sign up").
	Links []Link
}

// LoginSourceField is the form field that carries a LoginOption's Source in a login POST.
const LoginSourceField = "login_source"

// LoginOptioner is an authenticator offering several ways to sign in (see LoginOption).
type LoginOptioner interface {
	LoginOptions() []LoginOption
}

// LoginOptions returns the authenticator's login options (LoginOptioner), nil for a single way.
func (p *Pipeline) LoginOptions() []LoginOption {
	if lo, ok := p.auth.(LoginOptioner); ok {
		return lo.LoginOptions()
	}
	return nil
}

// LoginNamer is an authenticator that knows, before authenticating, which hub name a typed name
// becomes: MultiAuthenticator adds the prefix of the source the form was for. The pipeline
// normalises that name instead of the typed one, so blocked_users, username_pattern and the
// brute-force throttle before authentication see the final hub name. typed is stripped of blanks.
type LoginNamer interface {
	LoginName(c Credentials, typed string) string
}

// loginName is the name the pipeline checks for a typed name (see LoginNamer).
func (p *Pipeline) loginName(c Credentials, typed string) string {
	if ln, ok := p.auth.(LoginNamer); ok {
		return ln.LoginName(c, typed)
	}
	return typed
}

// UserLogoutRedirector is LogoutRedirector for an authenticator that must know whose logout it
// is (MultiAuthenticator asks the user's source); the hub prefers it to LogoutRedirector.
type UserLogoutRedirector interface {
	LogoutURLFor(ctx context.Context, user string, authState map[string]any) string
}
