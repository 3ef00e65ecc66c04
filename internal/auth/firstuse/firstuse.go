// Package firstuse is upstream's FirstUseAuthenticator (`firstuse`): the first login with a new
// name sets that name's password, later logins need it. Passwords are stored hashed (bcrypt cost
// 12 by default, or argon2id) in the hub database (table firstuse_passwords) instead of
// upstream's passwords.dbm; ImportDBM brings an existing passwords.dbm over with its hashes
// unchanged, at every start for names the database lacks (dbm_path) and through
// `gohub firstuse-import`. It is a LocalAuthenticator: with create_system_users a first login also creates the
// UNIX account.
//
// Differences from upstream, on purpose:
//   - the password of a new name is stored only after the whole login pipeline accepted the
//     name (valid, not blocked, allowed); upstream stores it before those checks;
//   - two simultaneous first logins of one name cannot both win: the second must match the
//     password the first stored;
//   - hashing runs with bounded concurrency (package password), so a login flood cannot take
//     every CPU from the rest of the hub;
//   - the first login of an admin's name (admin_users, or the admin flag) does not set its
//     password: `gohub user set-password` or the invitation printed at startup does.
package firstuse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"gohub/internal/auth"
	"gohub/internal/auth/local"
	"gohub/internal/auth/password"
	"gohub/internal/store"
)

// Config is the FirstUseAuthenticator section; LocalAuthenticator and Authenticator traits come
// in inline.
type Config struct {
	local.Config            `yaml:",inline"`
	CreateUsers             bool   `yaml:"create_users" help:"Let any new name claim a password at its first login; false: only users the hub already knows (admin page, REST API, allowed_users) may set a first password."`
	MinPasswordLength       int    `yaml:"min_password_length" help:"Minimum length, in characters, of a password when it is first set or changed."`
	CheckPasswordsOnStartup bool   `yaml:"check_passwords_on_startup" help:"At startup, move passwords stored under non-normalised names (from old imports) to the normalised name."`
	DBMPath                 string `yaml:"dbm_path" help:"Upstream's passwords.dbm (relative to the working directory). If it exists, every start imports the passwords of names the hub database has none for, before any login, so nobody can claim a migrated account with a new password; an unreadable file stops the hub. Empty: never read. 'gohub firstuse-import --overwrite' replaces passwords the database has."`
	password.Settings       `yaml:",inline"`
}

// DefaultConfig returns upstream's defaults (create_users on, minimum length 7, startup check on)
// and bcrypt cost 12.
func DefaultConfig() *Config {
	return &Config{
		Config:                  *local.DefaultConfig(),
		CreateUsers:             true,
		MinPasswordLength:       7,
		CheckPasswordsOnStartup: true,
		DBMPath:                 "passwords.dbm",
		Settings:                password.DefaultSettings(),
	}
}

// Authenticator is the first-use password authenticator. It needs the hub database
// (auth.DatabaseUser) before it can check a login.
type Authenticator struct {
	*local.Accounts
	createUsers  bool
	minLength    int
	checkStartup bool
	dbmPath      string
	hasher       *password.Hasher
	log          *slog.Logger
	db           atomic.Pointer[store.DB]
	// prefix is the hub prefix the pages were registered under, for HomeLinks.
	prefix atomic.Pointer[string]
}

// weakHashing lets the package's tests use cheap hashes (the race detector makes bcrypt 12 take
// seconds); see export_test.go.
var weakHashing bool

// New checks cfg and returns the authenticator.
func New(cfg *Config, log *slog.Logger) (*Authenticator, error) {
	if cfg == nil {
		return nil, errors.New("firstuse: no config")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MinPasswordLength < 0 {
		return nil, fmt.Errorf("min_password_length must not be negative, got %d", cfg.MinPasswordLength)
	}
	h, err := password.New(cfg.Settings.Options(weakHashing))
	if err != nil {
		return nil, err
	}
	a := &Authenticator{
		createUsers: cfg.CreateUsers, minLength: cfg.MinPasswordLength, checkStartup: cfg.CheckPasswordsOnStartup,
		dbmPath: cfg.DBMPath, hasher: h, log: log,
	}
	if a.Accounts, err = local.New(&cfg.Config, local.Options{Logger: log}); err != nil {
		return nil, err
	}
	return a, nil
}

// Hasher is the password hasher (for benchmarks and the change-password page).
func (a *Authenticator) Hasher() *password.Hasher { return a.hasher }

// UseDatabase gives the authenticator the hub database, imports dbm_path's passwords the
// database lacks (see importAtStart) and runs check_passwords_on_startup.
func (a *Authenticator) UseDatabase(ctx context.Context, db *store.DB) error {
	if db == nil {
		return errors.New("firstuse: no database")
	}
	if err := a.importAtStart(ctx, db); err != nil {
		return err
	}
	a.db.Store(db)
	if a.checkStartup {
		return NormalizeStoredNames(ctx, db, auth.FoldUsername, a.log)
	}
	return nil
}

// importAtStart imports upstream's passwords.dbm (dbm_path) when it exists: each name the hub
// database has no password for gets the dbm's hash, before the hub serves a login, so a hub
// moved from FirstUseAuthenticator never lets a stranger claim an existing account with a new
// password. Passwords the database has are kept (they may have been changed since). A dbm that
// exists but cannot be read stops the hub: ignoring it would reopen every migrated account.
func (a *Authenticator) importAtStart(ctx context.Context, db *store.DB) error {
	if a.dbmPath == "" || !dbmExists(a.dbmPath) {
		return nil
	}
	rep, err := ImportDBM(ctx, db, a.dbmPath, ImportOptions{Logger: a.log})
	if err != nil {
		return fmt.Errorf("FirstUseAuthenticator.dbm_path %s exists but could not be imported (set dbm_path: \"\" to skip it once its passwords are in the database): %w", a.dbmPath, err)
	}
	if len(rep.Imported) > 0 {
		a.log.Warn("firstuse: imported passwords of FirstUseAuthenticator's dbm_path that the database lacked",
			"dbm_path", a.dbmPath, "users", rep.Imported)
	}
	return nil
}

// store returns the database or an error when the hub has not provided it.
func (a *Authenticator) store() (*store.DB, error) {
	db := a.db.Load()
	if db == nil {
		return nil, errors.New("firstuse: the hub database was not set (UseDatabase)")
	}
	return db, nil
}

// ResolveDefaults sets allow_all to true when allowed_users is empty, as upstream does so that
// "anyone can claim a name" keeps working.
func (a *Authenticator) ResolveDefaults(cfg *auth.Config) {
	if cfg.AllowAll == nil {
		cfg.AllowAll = auth.Bool(len(cfg.AllowedUsers) == 0)
	}
}

// ValidateUsername forbids commas and blanks, as upstream FirstUse does.
func (a *Authenticator) ValidateUsername(name string) error {
	if strings.ContainsAny(name, ", \t\r\n") {
		return errors.New("a name cannot contain commas or spaces")
	}
	return nil
}

// firstUse marks, in Identity.Private, a login that claims a new name.
type firstUse struct{}

// rehash marks a login whose stored hash is weaker than new ones (an import, a raised cost).
type rehash struct{ old string }

// TooShort is the form message for a new password under the minimum, as upstream words it.
func TooShort(min int) string {
	return fmt.Sprintf("Password too short! Please choose a password at least %d characters long.", min)
}

// checkNew says why pw cannot be a new password, as a message for the form.
func (a *Authenticator) checkNew(pw string) error {
	if utf8.RuneCountInString(pw) < a.minLength {
		return auth.Reject(TooShort(a.minLength))
	}
	if len(pw) > password.MaxLength {
		return auth.Reject(fmt.Sprintf("Password too long! Please choose a password of at most %d bytes.", password.MaxLength))
	}
	if a.hasher.Algorithm() == password.Bcrypt && len(pw) > 72 {
		return auth.Reject("Password too long! Please choose a password of at most 72 bytes.")
	}
	return nil
}

// SelfNamed is true: people choose their own name here, so the pipeline refuses the names of
// system accounts (auth.SelfNamed).
func (a *Authenticator) SelfNamed() bool { return true }

// Authenticate checks the password of a known name, or accepts a new name's first password
// (stored by CompleteLogin once the pipeline has accepted the login). A wrong password and an
// unknown name without create_users get the generic refusal; a too-short first password gets
// the form message naming the minimum.
func (a *Authenticator) Authenticate(ctx context.Context, c auth.Credentials) (*auth.Identity, error) {
	db, err := a.store()
	if err != nil {
		return nil, err
	}
	name := c.Username
	if name == "" {
		return nil, fmt.Errorf("%w: no username", auth.ErrRejected)
	}
	hash, err := db.GetPasswordHash(ctx, name)
	switch {
	case err == nil:
		ok, err := a.hasher.Verify(ctx, hash, c.Password)
		if err != nil {
			return nil, a.hashErr(err)
		}
		if !ok {
			return nil, fmt.Errorf("%w: wrong password", auth.ErrRejected)
		}
		id := &auth.Identity{Name: name}
		if a.hasher.NeedsRehash(hash) {
			id.Private = rehash{old: hash}
		}
		return id, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	hu, err := db.GetUser(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if !a.createUsers {
			return nil, fmt.Errorf("%w: new name and create_users is off", auth.ErrRejected)
		}
	case err != nil:
		return nil, err
	}
	// No unauthenticated path leads to an admin account: the first login of an admin's name
	// does not set its password (gohub user set-password, or the invitation printed at the
	// first start, does). Upstream lets the first comer claim it.
	if c.InAdminUsers || (hu != nil && hu.Admin) {
		return nil, auth.Reject(MsgAdminNoPassword)
	}
	if err := a.checkNew(c.Password); err != nil {
		return nil, err
	}
	return &auth.Identity{Name: name, Private: firstUse{}}, nil
}

// MsgAdminNoPassword answers the first login of an admin's name, which has no password yet.
const MsgAdminNoPassword = "This administrator account has no password yet. The hub's operator sets it with 'gohub user set-password', or opens the invitation link the hub printed when it first started."

// hashErr turns a busy hasher into a message the user can act on.
func (a *Authenticator) hashErr(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return auth.Reject("The hub is busy checking other logins. Please try again in a moment.")
	}
	return err
}

// CompleteLogin stores the first password of a new name (auth.LoginCompleter). If another login
// claimed the name meanwhile, this one succeeds only with the password that login stored.
func (a *Authenticator) CompleteLogin(ctx context.Context, c auth.Credentials, name string, id *auth.Identity) error {
	if r, ok := id.Private.(rehash); ok {
		a.upgrade(ctx, name, r.old, c.Password)
		return nil
	}
	if _, first := id.Private.(firstUse); !first {
		return nil
	}
	db, err := a.store()
	if err != nil {
		return err
	}
	hash, err := a.hasher.Hash(ctx, c.Password)
	if err != nil {
		return a.hashErr(err)
	}
	err = db.CreatePasswordHash(ctx, name, hash)
	if err == nil {
		a.log.Info("first use: password set", "user", name)
		return nil
	}
	if !errors.Is(err, store.ErrExists) {
		return err
	}
	stored, err := db.GetPasswordHash(ctx, name)
	if err != nil {
		return err
	}
	ok, err := a.hasher.Verify(ctx, stored, c.Password)
	if err != nil {
		return a.hashErr(err)
	}
	if !ok {
		return fmt.Errorf("%w: the name was claimed by a concurrent first login", auth.ErrRejected)
	}
	return nil
}

// upgrade replaces a verified weaker hash by a new one, unless the password changed meanwhile.
// Failures only cost the upgrade; the login goes on.
func (a *Authenticator) upgrade(ctx context.Context, name, old, pw string) {
	db, err := a.store()
	if err != nil {
		return
	}
	hash, err := a.hasher.Hash(ctx, pw)
	if err != nil {
		a.log.Info("firstuse: password hash upgrade skipped", "user", name, "err", err)
		return
	}
	if ok, err := db.UpdatePasswordHash(ctx, name, old, hash); err != nil {
		a.log.Warn("firstuse: password hash upgrade failed", "user", name, "err", err)
	} else if ok {
		a.log.Info("firstuse: password hash upgraded", "user", name, "to", a.hasher.Describe())
	}
}

// CheckNewPassword checks pw against the password rules (auth.PasswordRules): the minimum
// length and the hasher's maximum. A *auth.Rejection explains a refused password.
func (a *Authenticator) CheckNewPassword(_, pw string) error { return a.checkNew(pw) }

// The hub's reset links and invitations set passwords through these.
var (
	_ auth.PasswordSetter = (*Authenticator)(nil)
	_ auth.PasswordRules  = (*Authenticator)(nil)
)

// SetPassword hashes and stores a new password for name (the change-password page, a reset
// link: auth.PasswordSetter), checking the minimum length. A *auth.Rejection explains a
// refused password.
func (a *Authenticator) SetPassword(ctx context.Context, name, pw string) error {
	if err := a.checkNew(pw); err != nil {
		return err
	}
	db, err := a.store()
	if err != nil {
		return err
	}
	hash, err := a.hasher.Hash(ctx, pw)
	if err != nil {
		return a.hashErr(err)
	}
	return db.SetPasswordHash(ctx, name, hash)
}

// HasPassword reports whether name has a stored password (auth.PasswordKnower).
func (a *Authenticator) HasPassword(ctx context.Context, name string) (bool, error) {
	db, err := a.store()
	if err != nil {
		return false, err
	}
	_, err = db.GetPasswordHash(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// DeleteUser forgets the user's password (auth.UserDeleter), so the name can be claimed again.
// The store's DeleteUser does this too; this covers a hub that deletes users another way.
func (a *Authenticator) DeleteUser(ctx context.Context, name string) error {
	db, err := a.store()
	if err != nil {
		return err
	}
	if err := db.DeletePasswordHash(ctx, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// NormalizeStoredNames is check_passwords_on_startup: a password stored under a name that is not
// normalised (imported from a pre-1.0 passwords.dbm) moves to the normalised name. When the
// normalised name already has one, both are kept (the other is unreachable, since lookups use
// normalised names) and a warning names them, instead of upstream's deleting from a backup copy.
func NormalizeStoredNames(ctx context.Context, db *store.DB, normalize func(string) string, log *slog.Logger) error {
	names, err := db.PasswordUsernames(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		norm := normalize(n)
		if norm == n {
			continue
		}
		err := db.RenamePasswordHash(ctx, n, norm)
		switch {
		case err == nil:
			log.Info("firstuse: moved a password to the normalised name", "from", n, "to", norm)
		case errors.Is(err, store.ErrExists):
			log.Warn("firstuse: a password is stored under a non-normalised name that collides with an existing one; it is ignored", "name", n, "normalised", norm)
		default:
			return err
		}
	}
	return nil
}
