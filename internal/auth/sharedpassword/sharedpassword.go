// Package sharedpassword is upstream's SharedPasswordAuthenticator (`shared-password`, JupyterHub
// 5.3): every user logs in with one shared password, admins with a separate admin password, and
// optional group passwords place the user in groups.
package sharedpassword

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

	"gohub/internal/auth"
)

// Minimum lengths, in characters, as upstream.
const (
	MinUserPasswordLength  = 8
	MinAdminPasswordLength = 32
)

// Config is the SharedPasswordAuthenticator section.
type Config struct {
	auth.Config `yaml:",inline"`
	// UserPassword is the password of every name not in admin_users; empty: they cannot log in.
	UserPassword string `yaml:"user_password" help:"Password for all non-admin users (at least 8 characters); unset: non-admins cannot log in."`
	// SharedPassword is another name for UserPassword, the one gohub's own issue text uses.
	SharedPassword string `yaml:"shared_password" help:"Another name for user_password (set one of them)."`
	// AdminPassword is the password of the names in admin_users, and only theirs; empty: admins
	// cannot log in.
	AdminPassword string `yaml:"admin_password" help:"Password for the users in admin_users only (at least 32 characters, not the user_password); unset: admins cannot log in."`
	// PasswordGroups maps a password to the groups a login with it is placed in; needs
	// manage_groups.
	PasswordGroups map[string][]string `yaml:"password_groups" help:"Map of password to the list of groups a user logging in with it joins (needs manage_groups)."`
}

// DefaultConfig returns upstream's defaults: no passwords, so nobody can log in.
func DefaultConfig() *Config { return &Config{Config: auth.DefaultConfig()} }

// Authenticator checks the shared passwords.
type Authenticator struct {
	user, admin string
	groups      map[string][]string
	groupOrder  []string // sorted passwords, so the first match is deterministic
}

// New checks cfg and returns the authenticator. It refuses a user_password under 8 characters, an
// admin_password under 32, the two being equal, a group password equal to either (gohub's
// addition: it would be unreachable, or hand the admin password to non-admins), and
// password_groups without manage_groups.
func New(cfg *Config) (*Authenticator, error) {
	if cfg == nil {
		return nil, errors.New("shared-password: no config")
	}
	if cfg.SharedPassword != "" {
		if cfg.UserPassword != "" && cfg.UserPassword != cfg.SharedPassword {
			return nil, errors.New("shared_password and user_password are the same setting; set only one")
		}
		cfg.UserPassword = cfg.SharedPassword
	}
	if n := utf8.RuneCountInString(cfg.UserPassword); cfg.UserPassword != "" && n < MinUserPasswordLength {
		return nil, fmt.Errorf("user_password must be at least %d characters long, got %d", MinUserPasswordLength, n)
	}
	if n := utf8.RuneCountInString(cfg.AdminPassword); cfg.AdminPassword != "" && n < MinAdminPasswordLength {
		return nil, fmt.Errorf("admin_password must be at least %d characters long, got %d", MinAdminPasswordLength, n)
	}
	if cfg.AdminPassword != "" && cfg.AdminPassword == cfg.UserPassword {
		return nil, errors.New("user_password and admin_password cannot be the same")
	}
	if len(cfg.PasswordGroups) > 0 && !cfg.ManageGroups {
		return nil, errors.New("password_groups is set but manage_groups is not: set Authenticator.manage_groups to true")
	}
	a := &Authenticator{user: cfg.UserPassword, admin: cfg.AdminPassword, groups: map[string][]string{}}
	for i, pw := range slices.Sorted(maps.Keys(cfg.PasswordGroups)) {
		// Positions, not passwords, name the entry in errors: the message may be logged.
		switch {
		case pw == "":
			return nil, fmt.Errorf("password_groups: entry %d has an empty password", i+1)
		case pw == cfg.UserPassword:
			return nil, fmt.Errorf("password_groups: entry %d uses the user_password", i+1)
		case pw == cfg.AdminPassword:
			return nil, fmt.Errorf("password_groups: entry %d uses the admin_password", i+1)
		}
		a.groups[pw] = slices.Clone(cfg.PasswordGroups[pw])
		a.groupOrder = append(a.groupOrder, pw)
	}
	return a, nil
}

// SelfNamed is true: people choose their own name here, so the pipeline refuses the names of
// system accounts (auth.SelfNamed).
func (a *Authenticator) SelfNamed() bool { return true }

// Authenticate checks the password for the name. Names in admin_users (compared after
// normalisation; upstream compares the raw typed name, README, Authenticators) need the admin
// password and become admin; others use the user password and are never admin, or a group
// password, which places them in its groups and leaves their admin flag alone.
func (a *Authenticator) Authenticate(_ context.Context, c auth.Credentials) (*auth.Identity, error) {
	if c.Username == "" {
		return nil, fmt.Errorf("%w: no username", auth.ErrRejected)
	}
	if c.InAdminUsers {
		if a.admin != "" && auth.PasswordsEqual(c.Password, a.admin) {
			return &auth.Identity{Name: c.Username, Admin: auth.Bool(true), Groups: []string{}}, nil
		}
		return nil, fmt.Errorf("%w: admin user without the admin_password", auth.ErrRejected)
	}
	if a.user != "" && auth.PasswordsEqual(c.Password, a.user) {
		return &auth.Identity{Name: c.Username, Admin: auth.Bool(false), Groups: []string{}}, nil
	}
	for _, pw := range a.groupOrder {
		if auth.PasswordsEqual(c.Password, pw) {
			return &auth.Identity{Name: c.Username, Groups: slices.Clone(a.groups[pw])}, nil
		}
	}
	return nil, fmt.Errorf("%w: wrong password", auth.ErrRejected)
}

// ConfigWarnings reports the configurations upstream warns about at startup.
func (a *Authenticator) ConfigWarnings(cfg auth.Config) []string {
	var w []string
	if a.admin != "" && len(cfg.AdminUsers) == 0 {
		w = append(w, "SharedPasswordAuthenticator.admin_password is set but admin_users is not: no admin can log in")
	}
	if len(cfg.AdminUsers) > 0 && a.admin == "" {
		w = append(w, "SharedPasswordAuthenticator.admin_users is set but admin_password is not: no admin can log in")
	}
	switch {
	case a.user == "" && a.admin == "" && len(a.groups) == 0:
		w = append(w, "neither SharedPasswordAuthenticator.user_password nor admin_password is set: nobody can log in!")
	case a.user == "" && len(a.groups) == 0:
		w = append(w, "SharedPasswordAuthenticator.user_password is not set: no non-admin user can log in")
	}
	return w
}
