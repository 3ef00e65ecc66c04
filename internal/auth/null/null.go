// Package null is upstream's NullAuthenticator (`null`): no login form and no way to log in
// through the browser, for hubs where only API tokens should work.
package null

import (
	"context"
	"fmt"

	"gohub/internal/auth"
)

// Config is the NullAuthenticator section; it has only the common traits.
type Config struct {
	auth.Config `yaml:",inline"`
}

// DefaultConfig returns upstream's defaults: auto_login on and login_service "null".
func DefaultConfig() *Config {
	c := &Config{Config: auth.DefaultConfig()}
	c.AutoLogin = true
	c.LoginService = "null"
	return c
}

// Authenticator refuses every login.
type Authenticator struct{}

// New returns the authenticator.
func New(cfg *Config) (*Authenticator, error) {
	if cfg == nil {
		return nil, fmt.Errorf("null: no config")
	}
	return &Authenticator{}, nil
}

// Authenticate always refuses: browser login is disabled.
func (*Authenticator) Authenticate(context.Context, auth.Credentials) (*auth.Identity, error) {
	return nil, fmt.Errorf("%w: NullAuthenticator accepts no logins (API tokens only)", auth.ErrRejected)
}

// NoLoginForm marks the authenticator as having no login form.
func (*Authenticator) NoLoginForm() {}
