// Package pam is upstream's PAMAuthenticator (`pam`, the default authenticator_class): logins
// are checked by the system's PAM stack (service `login` by default), accounts by its account
// stack, and members of admin_groups are admins. It is a LocalAuthenticator: system users are
// checked and, with create_system_users, created (package local).
//
// The PAM binding needs cgo (libpam0g-dev); a CGO_ENABLED=0 build has a stub whose New fails
// with "PAM support not compiled in", as upstream cannot construct it without pamela.
package pam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/user"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"gohub/internal/auth"
	"gohub/internal/auth/local"
)

// Config is the PAMAuthenticator section; LocalAuthenticator and Authenticator traits come in
// inline.
type Config struct {
	local.Config `yaml:",inline"`
	Service      string `yaml:"service" help:"PAM service name (/etc/pam.d/<service>)."`
	Encoding     string `yaml:"encoding" help:"Encoding of the strings passed to PAM: utf8 or latin1."`
	// CheckAccount runs the PAM account stack after authentication: expired or locked accounts
	// are refused.
	CheckAccount    bool     `yaml:"check_account" help:"Run the PAM account stack (pam_acct_mgmt) after authentication; a failure refuses the login."`
	OpenSessions    bool     `yaml:"open_sessions" help:"Open a PAM session when a user's server starts and close it when it stops; any PAM error turns this off for the rest of the process."`
	AdminGroups     []string `yaml:"admin_groups" help:"UNIX groups whose members are admins; authoritative: a user who leaves them is demoted at the next login (admin_users still always grants)."`
	NormalizeByUID  bool     `yaml:"pam_normalize_username" help:"Normalise names by a name -> uid -> name round trip instead of lowercasing."`
	ExecutorThreads int      `yaml:"executor_threads" help:"Maximum number of PAM calls running at once."`
}

// DefaultConfig returns upstream's defaults: service login, utf8, account check on, sessions off.
func DefaultConfig() *Config {
	return &Config{
		Config:          *local.DefaultConfig(),
		Service:         "login",
		Encoding:        "utf8",
		CheckAccount:    true,
		ExecutorThreads: 4,
	}
}

// Authenticator checks logins with PAM.
type Authenticator struct {
	*local.Accounts
	service      string
	latin1       bool
	checkAccount bool
	adminGroups  []string
	normalize    bool
	sessions     atomic.Bool
	slots        chan struct{}
	log          *slog.Logger
}

// New checks cfg and returns the authenticator. It fails when PAM support is not compiled in.
func New(cfg *Config, log *slog.Logger) (*Authenticator, error) {
	if cfg == nil {
		return nil, errors.New("pam: no config")
	}
	if err := available(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Service == "" || strings.ContainsAny(cfg.Service, "/\x00") {
		return nil, fmt.Errorf("service: %q is not a PAM service name", cfg.Service)
	}
	a := &Authenticator{
		service: cfg.Service, checkAccount: cfg.CheckAccount, adminGroups: cfg.AdminGroups,
		normalize: cfg.NormalizeByUID, log: log,
	}
	switch strings.ToLower(strings.ReplaceAll(cfg.Encoding, "-", "")) {
	case "", "utf8":
	case "latin1", "iso88591":
		a.latin1 = true
	default:
		return nil, fmt.Errorf("encoding: %q is not supported (utf8 or latin1)", cfg.Encoding)
	}
	if cfg.ExecutorThreads < 1 {
		return nil, fmt.Errorf("executor_threads must be at least 1, got %d", cfg.ExecutorThreads)
	}
	a.slots = make(chan struct{}, cfg.ExecutorThreads)
	a.sessions.Store(cfg.OpenSessions)
	var err error
	if a.Accounts, err = local.New(&cfg.Config, local.Options{RequireSystemUser: true, Logger: log}); err != nil {
		return nil, err
	}
	return a, nil
}

// encode converts a string for PAM: as is for utf8, one byte per character for latin1. ok is
// false when it cannot be represented.
func (a *Authenticator) encode(s string) (string, bool) {
	if !a.latin1 {
		return s, utf8.ValidString(s)
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return "", false
		}
		b = append(b, byte(r))
	}
	return string(b), true
}

// decode is encode's inverse, for the name PAM returns.
func (a *Authenticator) decode(s string) string {
	if !a.latin1 {
		return s
	}
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// Authenticate runs the PAM auth stack (and the account stack with check_account) for the name
// as typed, and returns the name PAM reports, which the stack may have rewritten. With an `otp`
// form field, the password and the OTP answer the first and second hidden prompts.
func (a *Authenticator) Authenticate(ctx context.Context, c auth.Credentials) (*auth.Identity, error) {
	if c.Typed == "" {
		return nil, fmt.Errorf("%w: no username", auth.ErrRejected)
	}
	// C strings end at NUL: "alice\x00x" would reach PAM as "alice".
	if strings.ContainsRune(c.Typed, 0) || strings.ContainsRune(c.Password, 0) {
		return nil, fmt.Errorf("%w: NUL in the username or password", auth.ErrRejected)
	}
	name, ok1 := a.encode(c.Typed)
	pw, ok2 := a.encode(c.Password)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: username or password not representable in the PAM encoding", auth.ErrRejected)
	}
	secrets := []string{pw}
	if otp := c.Form.Get("otp"); otp != "" {
		secrets = append(secrets, otp)
	}
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	got, err := authenticate(a.service, name, secrets, a.checkAccount, a.log)
	<-a.slots
	if err != nil {
		return nil, err
	}
	id := &auth.Identity{Name: a.decode(got)}
	if len(a.adminGroups) > 0 {
		// Authoritative (upstream): membership decides. A lookup error leaves the flag as it is
		// and is logged, instead of upstream's 500 (README, Authenticators).
		admin, err := a.InGroups(id.Name, a.adminGroups)
		if err != nil {
			a.log.Warn("admin_groups check failed; admin flag left unchanged", "user", id.Name, "err", err)
		} else {
			id.Admin = auth.Bool(admin)
		}
	}
	return id, nil
}

// NormalizeUsername is pam_normalize_username: the name -> uid -> name round trip, without
// lowercasing. Names that are not system users are lowercased as by default. Without the option
// it lowercases.
func (a *Authenticator) NormalizeUsername(name string) string {
	if !a.normalize {
		return auth.FoldUsername(name)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return auth.FoldUsername(name)
	}
	canon, err := user.LookupId(u.Uid)
	if err != nil {
		return name
	}
	return canon.Username
}

// PreSpawnStart opens a PAM session for the user when open_sessions is on (auth.SpawnHooks). A
// PAM error turns sessions off for the rest of the process, as upstream does, and is not fatal.
func (a *Authenticator) PreSpawnStart(_ context.Context, name string) error {
	if !a.sessions.Load() {
		return nil
	}
	if err := session(a.service, name, true); err != nil {
		a.log.Warn("failed to open PAM session; disabling PAM sessions (open_sessions)", "user", name, "err", err)
		a.sessions.Store(false)
	}
	return nil
}

// PostSpawnStop closes the user's PAM session when open_sessions is on.
func (a *Authenticator) PostSpawnStop(_ context.Context, name string) {
	if !a.sessions.Load() {
		return
	}
	if err := session(a.service, name, false); err != nil {
		a.log.Warn("failed to close PAM session; disabling PAM sessions (open_sessions)", "user", name, "err", err)
		a.sessions.Store(false)
	}
}

// SessionsEnabled reports whether open_sessions is (still) on.
func (a *Authenticator) SessionsEnabled() bool { return a.sessions.Load() }
