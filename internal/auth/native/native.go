// Package native is upstream's NativeAuthenticator (`native`): people sign up on /hub/signup
// with a name and a password, an admin authorizes them on /hub/authorize, and only then can they
// log in. Sign-ups live in the hub database (table native_users); passwords are hashed with
// package password (bcrypt by default, argon2id on request) with bounded concurrency.
//
// Differences from upstream, on purpose (README, Authenticators):
//   - the documented defaults are the real ones: minimum_password_length 1,
//     seconds_before_next_try 600 (upstream's effective values are 0 and 0);
//   - authorize, un-authorize and discard are POST forms with an XSRF token, not GET links;
//   - the terms-of-service checkbox and, with ask_email_on_signup, the email are checked by the
//     server, not only by the browser;
//   - the password may not equal the username, and the common-password check ignores case;
//   - a refused login answers 403 with the login page (the hub's one), as every gohub login does;
//   - authorized users are allowed in without allow_all (an allow rule of the authenticator);
//   - a sign-up name is unique in any letter case, and a login of a name without a sign-up costs
//     the same hash as a wrong password, so timing does not tell which names exist;
//   - a TOTP code is accepted once (upstream accepts it again for its whole window);
//   - a lock lapses after seconds_before_next_try and the count starts again;
//   - open_signup does not authorize a sign-up whose name is a hub user already (made through
//     the API): that would hand the account to whoever signs up first; an admin approves it;
//   - nobody signs up with an admin's name (upstream authorizes admin_users at sign-up, so the
//     first comer became the admin): its password comes from `gohub user set-password` or an
//     invitation bound to the name (SetOwnerPassword);
//   - only admins act on an admin's sign-up or password (auth.CheckActOn), not every holder of
//     admin:users;
//   - un-authorizing a user ends their access at once (sessions, API and OAuth tokens, servers)
//     through the hub's revoker, not only at their next login;
//   - discard refuses a user with a running server, keeps a hub user older than the sign-up
//     (someone signed up with its name), and never touches anything outside the hub database;
//   - admins also have an API, /hub/api/native/ (see api.go), for scripts that approve;
//   - import_from_firstuse keeps the hashes (upstream hashes them again, #219) and authorizes the
//     imported users; it reads the hub database's FirstUse passwords and, with firstuse_db_path,
//     upstream's passwords.dbm; delete_firstuse_db_after_import is not implemented;
//   - self-approval by email and reCAPTCHA are not implemented.
package native

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gohub/internal/auth"
	"gohub/internal/auth/password"
	"gohub/internal/store"
)

// Config is the NativeAuthenticator section; the Authenticator traits come in inline.
type Config struct {
	auth.Config           `yaml:",inline"`
	EnableSignup          bool   `yaml:"enable_signup" help:"Show the sign-up page /hub/signup; false hides it (404) and refuses new sign-ups."`
	OpenSignup            bool   `yaml:"open_signup" help:"Authorize new sign-ups at once, without an admin."`
	AskEmailOnSignup      bool   `yaml:"ask_email_on_signup" help:"Ask for an email address at sign-up (required when asked)."`
	CheckCommonPassword   bool   `yaml:"check_common_password" help:"Refuse passwords found in the bundled list of common passwords (any letter case)."`
	MinimumPasswordLength int    `yaml:"minimum_password_length" help:"Minimum password length, in characters, at sign-up and password change."`
	AllowedFailedLogins   int    `yaml:"allowed_failed_logins" help:"Failed logins of one name after which it is locked for seconds_before_next_try; 0 never locks."`
	SecondsBeforeNextTry  int    `yaml:"seconds_before_next_try" help:"How long, in seconds, a name stays locked after allowed_failed_logins failures."`
	Allow2FA              bool   `yaml:"allow_2fa" help:"Offer TOTP two-factor authentication at sign-up; enrolled users must give a code at login."`
	TOS                   string `yaml:"tos" help:"Terms of service (HTML) shown beside a checkbox that must be ticked to sign up; empty: no checkbox."`
	password.Settings     `yaml:",inline"`
	ImportFromFirstuse    bool   `yaml:"import_from_firstuse" help:"At startup, make every FirstUse user (its passwords in the hub database, and in firstuse_db_path if set) an authorized sign-up with the same password."`
	FirstuseDBPath        string `yaml:"firstuse_db_path" help:"Upstream FirstUse's passwords.dbm to import as well with import_from_firstuse; empty: only the hub database."`
}

// DefaultConfig returns upstream's documented defaults.
func DefaultConfig() *Config {
	return &Config{
		Config:                auth.DefaultConfig(),
		EnableSignup:          true,
		MinimumPasswordLength: 1,
		SecondsBeforeNextTry:  600,
		Settings:              password.DefaultSettings(),
	}
}

// Authenticator is the native authenticator. It needs the hub database (auth.DatabaseUser).
type Authenticator struct {
	cfg    Config
	hasher *password.Hasher
	log    *slog.Logger
	db     atomic.Pointer[store.DB]
	locks  *lockout
	// totpUsed holds each user's last accepted TOTP step (no replay of a code).
	totpUsed usedSteps
	// prefix is the hub prefix of the pages ("/hub/"), api the REST API's authentication;
	// both are set by RegisterPages.
	prefix atomic.Pointer[string]
	api    atomic.Pointer[auth.APIAccess]
	// host is the hub's pages (RegisterPages): HomeLinks asks it who manages users.
	host atomic.Pointer[hostBox]
	// revoker is the hub's immediate revocation (auth.RevokerUser), used on un-authorize.
	revoker atomic.Pointer[revokerBox]
	// sealer encrypts TOTP secrets at rest (auth.SecretKeeper); see secrets.go.
	sealer atomic.Pointer[sealerBox]
	// dummy is a hash verified for names without a sign-up, so they take as long as a wrong
	// password.
	dummy string
}

// weakHashing lets the package's tests use cheap hashes; see export_test.go.
var weakHashing bool

// New checks cfg and returns the authenticator.
func New(cfg *Config, log *slog.Logger) (*Authenticator, error) {
	if cfg == nil {
		return nil, errors.New("native: no config")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.MinimumPasswordLength < 0:
		return nil, fmt.Errorf("minimum_password_length must not be negative, got %d", cfg.MinimumPasswordLength)
	case cfg.AllowedFailedLogins < 0:
		return nil, fmt.Errorf("allowed_failed_logins must not be negative, got %d", cfg.AllowedFailedLogins)
	case cfg.SecondsBeforeNextTry < 0:
		return nil, fmt.Errorf("seconds_before_next_try must not be negative, got %d", cfg.SecondsBeforeNextTry)
	}
	h, err := password.New(cfg.Settings.Options(weakHashing))
	if err != nil {
		return nil, err
	}
	dummy, err := h.Hash(context.Background(), "not a password: names without a sign-up")
	if err != nil {
		return nil, fmt.Errorf("native: %w", err)
	}
	return &Authenticator{
		cfg: *cfg, hasher: h, log: log, dummy: dummy,
		locks: newLockout(cfg.AllowedFailedLogins, time.Duration(cfg.SecondsBeforeNextTry)*time.Second),
	}, nil
}

// hostBox lets the hub's PageHost sit behind an atomic pointer.
type hostBox struct{ h auth.PageHost }

// revokerBox lets the hub's revoker sit behind an atomic pointer.
type revokerBox struct{ r auth.Revoker }

// UseRevoker keeps the hub's revocation (auth.RevokerUser): un-authorizing someone ends their
// sessions, API and OAuth tokens and (unless the hub keeps them) servers at once.
func (a *Authenticator) UseRevoker(r auth.Revoker) { a.revoker.Store(&revokerBox{r}) }

// UseDatabase gives the authenticator the hub database (auth.DatabaseUser).
func (a *Authenticator) UseDatabase(ctx context.Context, db *store.DB) error {
	if db == nil {
		return errors.New("native: no database")
	}
	if a.cfg.ImportFromFirstuse {
		if err := a.importFirstuse(ctx, db); err != nil {
			return err
		}
	}
	if err := a.sealClearSecrets(ctx, db); err != nil {
		return err
	}
	a.db.Store(db)
	return nil
}

// store returns the database or an error when the hub has not provided it.
func (a *Authenticator) store() (*store.DB, error) {
	db := a.db.Load()
	if db == nil {
		return nil, errors.New("native: the hub database was not set (UseDatabase)")
	}
	return db, nil
}

// ValidateUsername forbids commas, blanks and slashes (auth.UsernameValidator).
func (a *Authenticator) ValidateUsername(name string) error {
	if strings.ContainsAny(name, ", \t\r\n/") {
		return errors.New(msgUsernameChars)
	}
	return nil
}

// CheckAllowed lets authorized sign-ups in (auth.AllowChecker): an authorized account needs no
// allow_all or allowed_users entry. During a login (id set) Authenticate has already refused
// unauthorized accounts.
func (a *Authenticator) CheckAllowed(ctx context.Context, name string, id *auth.Identity) (bool, error) {
	if id != nil {
		return true, nil
	}
	return a.authorized(ctx, name)
}

// authorized reports whether name has an authorized sign-up.
func (a *Authenticator) authorized(ctx context.Context, name string) (bool, error) {
	db, err := a.store()
	if err != nil {
		return false, err
	}
	u, err := db.GetNativeUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return u.Authorized, nil
}

// OTPPrompt labels the login form's code field when allow_2fa is on (auth.OTPRequester):
// otp_prompt if it was changed from the default, else a label saying the field is optional.
func (a *Authenticator) OTPPrompt() string {
	if !a.cfg.Allow2FA {
		return ""
	}
	if a.cfg.OTPPrompt != "" && a.cfg.OTPPrompt != auth.DefaultConfig().OTPPrompt {
		return a.cfg.OTPPrompt
	}
	return "Two-factor code (only if you enabled it)"
}

// pagePrefix is the hub prefix the pages were registered under.
func (a *Authenticator) pagePrefix() string {
	if p := a.prefix.Load(); p != nil {
		return *p
	}
	return "/hub/"
}

// LoginLinks links the sign-up page under the login form when sign-up is on (auth.LoginLinker).
func (a *Authenticator) LoginLinks() []auth.Link {
	if !a.cfg.EnableSignup {
		return nil
	}
	return []auth.Link{{Text: "Sign up", URL: a.pagePrefix() + "signup"}}
}

// HomeLinks links "Change Password" for everyone and "Authorize Users" for those who may use
// that page (admins, admin:users: requireAdmin's check) on the home page (auth.HomeLinker).
func (a *Authenticator) HomeLinks(u *store.User) []auth.Link {
	links := []auth.Link{{Text: "Change Password", URL: a.pagePrefix() + "change-password"}}
	if a.managesUsers(u) {
		links = append(links, auth.Link{Text: "Authorize Users", URL: a.pagePrefix() + "authorize"})
	}
	return links
}

// managesUsers reports whether u may use the authorize page; a failed lookup hides the link
// (the page checks again).
func (a *Authenticator) managesUsers(u *store.User) bool {
	if u.Admin {
		return true
	}
	hb := a.host.Load()
	if hb == nil {
		return false
	}
	// HomeLinks carries no request; the lookup is one indexed query.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, err := hb.h.Grants(ctx, u, "admin:users")
	if err != nil {
		a.log.Warn("native: read the scopes of a user", "user", u.Name, "err", err)
		return false
	}
	return ok
}

// invalidate drops the REST API's cached views after a change of users (a discard).
func (a *Authenticator) invalidate() {
	if api := a.api.Load(); api != nil && api.Invalidate != nil {
		api.Invalidate()
	}
}

// WaitingForApproval is the login message of an account whose password is right but that no
// admin has authorized yet.
func WaitingForApproval(name string) string {
	return fmt.Sprintf("Your account %s is waiting for approval: an administrator has not authorized it yet.", name)
}

// SelfNamed is true: people choose their own name here, so the pipeline refuses the names of
// system accounts (auth.SelfNamed).
func (a *Authenticator) SelfNamed() bool { return true }

// Authenticate checks a login: the name must have a sign-up, the password must match, the TOTP
// code too when the user enrolled in 2FA, and the account must be authorized — only then, with
// everything else right, does the user learn the account is waiting for approval. A locked name
// gets the generic refusal.
func (a *Authenticator) Authenticate(ctx context.Context, c auth.Credentials) (*auth.Identity, error) {
	db, err := a.store()
	if err != nil {
		return nil, err
	}
	name := c.Username
	if name == "" {
		return nil, fmt.Errorf("%w: no username", auth.ErrRejected)
	}
	now := time.Now()
	if a.locks.locked(name, now) {
		a.locks.fail(name, now)
		// The same hash as any other attempt, so the time taken does not tell a locked name.
		if _, err := a.hasher.Verify(ctx, a.dummy, c.Password); err != nil {
			return nil, a.hashErr(err)
		}
		return nil, fmt.Errorf("%w: locked after allowed_failed_logins failures", auth.ErrRejected)
	}
	u, err := db.GetNativeUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := a.hasher.Verify(ctx, a.dummy, c.Password); err != nil {
			return nil, a.hashErr(err)
		}
		return nil, fmt.Errorf("%w: no sign-up", auth.ErrRejected)
	}
	if err != nil {
		return nil, err
	}
	ok, err := a.hasher.Verify(ctx, u.Hash, c.Password)
	if err != nil {
		return nil, a.hashErr(err)
	}
	if !ok {
		a.locks.fail(name, now)
		return nil, fmt.Errorf("%w: wrong password", auth.ErrRejected)
	}
	if u.Has2FA {
		secret, err := a.openOTP(ctx, db, u)
		if err != nil {
			return nil, err
		}
		step, ok := totpStep(secret, otpField(c), now)
		if !ok {
			a.locks.fail(name, now)
			return nil, fmt.Errorf("%w: wrong or missing 2FA code", auth.ErrRejected)
		}
		if !a.totpUsed.claim(name, step) {
			a.locks.fail(name, now)
			return nil, fmt.Errorf("%w: 2FA code already used", auth.ErrRejected)
		}
	}
	a.locks.succeed(name)
	if !u.Authorized {
		return nil, auth.Reject(WaitingForApproval(name))
	}
	return &auth.Identity{Name: name}, nil
}

// otpField is the TOTP code of a login: the form field 2fa (upstream's name) or otp (the hub's
// request_otp field).
func otpField(c auth.Credentials) string {
	if c.Form == nil {
		return ""
	}
	if v := strings.TrimSpace(c.Form.Get("2fa")); v != "" {
		return v
	}
	return strings.TrimSpace(c.Form.Get("otp"))
}

// hashErr turns a busy hasher into a message the user can act on.
func (a *Authenticator) hashErr(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return auth.Reject("The hub is busy checking other logins. Please try again in a moment.")
	}
	return err
}

// DeleteUser removes the sign-up of a user the hub deleted (auth.UserDeleter), so the name can
// sign up again.
func (a *Authenticator) DeleteUser(ctx context.Context, name string) error {
	db, err := a.store()
	if err != nil {
		return err
	}
	if err := db.DeleteNativeUser(ctx, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// lockout is the per-name lock of allowed_failed_logins and seconds_before_next_try, in memory
// (lost on restart, as upstream's). Only names with a sign-up are tracked, so it stays small.
type lockout struct {
	max  int
	wait time.Duration
	mu   sync.Mutex
	m    map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

func newLockout(max int, wait time.Duration) *lockout {
	return &lockout{max: max, wait: wait, m: map[string]*failures{}}
}

// locked reports whether name is locked now; a lapsed lock is forgotten.
func (l *lockout) locked(name string, now time.Time) bool {
	if l.max <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[name]
	if f == nil || f.n < l.max {
		return false
	}
	if now.Sub(f.last) < l.wait {
		return true
	}
	delete(l.m, name)
	return false
}

// fail counts a failed login of name and restarts its timer.
func (l *lockout) fail(name string, now time.Time) {
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[name]
	if f == nil {
		f = &failures{}
		l.m[name] = f
	}
	f.n++
	f.last = now
}

// succeed forgets the failures of name.
func (l *lockout) succeed(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, name)
}
