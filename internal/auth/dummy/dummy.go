// Package dummy is upstream's DummyAuthenticator (`dummy`), for testing: any username logs in,
// with any password, or with the one configured password.
package dummy

import (
	"context"
	"fmt"

	"gohub/internal/auth"
)

// Config is the DummyAuthenticator section.
type Config struct {
	auth.Config `yaml:",inline"`
	// Password, if set, is the one password every login must use. Deprecated upstream in 5.3
	// in favour of shared-password; still honoured.
	Password string `yaml:"password" help:"Deprecated: if set, every login must use this password (use shared-password instead)."`
}

// DefaultConfig returns upstream's defaults.
func DefaultConfig() *Config { return &Config{Config: auth.DefaultConfig()} }

// Authenticator lets anyone in: testing only.
type Authenticator struct {
	password string
}

// New checks cfg and returns the authenticator.
func New(cfg *Config) (*Authenticator, error) {
	if cfg == nil {
		return nil, fmt.Errorf("dummy: no config")
	}
	return &Authenticator{password: cfg.Password}, nil
}

// SelfNamed is true: people choose their own name here, so the pipeline refuses the names of
// system accounts (auth.SelfNamed).
func (a *Authenticator) SelfNamed() bool { return true }

// Authenticate accepts any non-empty name; with a password configured, only with that password
// (compared in constant time; upstream uses plain equality).
func (a *Authenticator) Authenticate(_ context.Context, c auth.Credentials) (*auth.Identity, error) {
	if c.Username == "" {
		return nil, fmt.Errorf("%w: no username", auth.ErrRejected)
	}
	if a.password != "" && !auth.PasswordsEqual(c.Password, a.password) {
		return nil, fmt.Errorf("%w: wrong password", auth.ErrRejected)
	}
	return &auth.Identity{Name: c.Username}, nil
}

// ResolveDefaults makes allow_all default to true unless allowed_users is set, as upstream does
// to keep the pre-5.0 "anyone" behaviour.
func (a *Authenticator) ResolveDefaults(cfg *auth.Config) {
	if cfg.AllowAll == nil {
		cfg.AllowAll = auth.Bool(len(cfg.AllowedUsers) == 0)
	}
}

// ConfigWarnings says this authenticator is not for production.
func (a *Authenticator) ConfigWarnings(auth.Config) []string {
	w := []string{"Using testing authenticator DummyAuthenticator! This is not meant for production!"}
	if a.password != "" {
		w = append(w, "DummyAuthenticator.password is deprecated (JupyterHub 5.3); use SharedPasswordAuthenticator.user_password instead")
	}
	return w
}
