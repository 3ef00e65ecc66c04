package native

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"gohub/internal/auth"
	"gohub/internal/auth/password"
	"gohub/internal/store"
)

// Messages of the sign-up and password forms, one per rule.
const (
	msgUsernameEmpty    = "Please choose a username."
	msgUsernameChars    = "A username cannot contain commas, spaces or slashes."
	msgUsernameRules    = "This username is not allowed by the hub's username rules."
	msgUsernameTaken    = "This username is already taken. Please choose another one."
	msgPasswordMismatch = "The password and its confirmation do not match."
	msgPasswordCommon   = "This password is too common. Please choose a less guessable one."
	msgPasswordIsName   = "The password must not be the same as the username."
	msgEmailRequired    = "Please enter your email address."
	msgEmailInvalid     = "Please enter a valid email address."
	msgTOSRequired      = "Please accept the terms of service to sign up."
	msgSignupDisabled   = "Sign-up is disabled on this hub."
	msgUsernameAdmin    = "This name belongs to an administrator of the hub and cannot be signed up for."
)

// msgPasswordShort is the message for a password under the minimum length.
func msgPasswordShort(n int) string {
	return fmt.Sprintf("The password must be at least %d characters long.", n)
}

//go:embed common-passwords.txt
var commonList string

// common holds the bundled common passwords, lower-cased.
var common = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonList))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			m[strings.ToLower(w)] = true
		}
	}
	return m
}()

// IsCommonPassword reports whether pw is in the bundled list of common passwords, in any case.
func IsCommonPassword(pw string) bool { return common[strings.ToLower(pw)] }

// emailRE is a plain local@domain.tld check (upstream's, with the TLD at least two letters).
var emailRE = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$`)

// checkPassword says why pw cannot be the password of name, as a *auth.Rejection; nil if it
// can.
func (a *Authenticator) checkPassword(name, pw string) error {
	if n := a.cfg.MinimumPasswordLength; utf8.RuneCountInString(pw) < n {
		return auth.Reject(msgPasswordShort(n))
	}
	if len(pw) > password.MaxLength || (a.hasher.Algorithm() == password.Bcrypt && len(pw) > 72) {
		limit := password.MaxLength
		if a.hasher.Algorithm() == password.Bcrypt {
			limit = 72
		}
		return auth.Reject(fmt.Sprintf("The password is too long: at most %d bytes.", limit))
	}
	if strings.EqualFold(pw, name) {
		return auth.Reject(msgPasswordIsName)
	}
	if a.cfg.CheckCommonPassword && IsCommonPassword(pw) {
		return auth.Reject(msgPasswordCommon)
	}
	return nil
}

// Signup is what the sign-up form posts.
type Signup struct {
	// Username as typed.
	Username string
	// Password and Confirmation must be equal.
	Password, Confirmation string
	// Email, when ask_email_on_signup.
	Email string
	// TOS is true when the terms checkbox was ticked.
	TOS bool
	// Want2FA asks for a TOTP secret (allow_2fa).
	Want2FA bool
}

// SignupResult is a created account.
type SignupResult struct {
	// Name is the normalised hub name.
	Name string
	// Authorized is true when the account may log in at once (open_signup, allowed_users).
	Authorized bool
	// TOTP is the new 2FA secret, shown once; nil without 2FA.
	TOTP *enrolment
}

// CreateAccount applies every sign-up rule and stores the account. A refused sign-up is a
// *auth.Rejection whose message names the rule; other errors are failures of the hub.
func (a *Authenticator) CreateAccount(ctx context.Context, p *auth.Pipeline, s Signup) (*SignupResult, error) {
	if !a.cfg.EnableSignup {
		return nil, auth.Reject(msgSignupDisabled)
	}
	db, err := a.store()
	if err != nil {
		return nil, err
	}
	typed := strings.TrimSpace(s.Username)
	if typed == "" {
		return nil, auth.Reject(msgUsernameEmpty)
	}
	name := p.Normalize(typed)
	if a.ValidateUsername(name) != nil {
		return nil, auth.Reject(msgUsernameChars)
	}
	if p.CheckUsername(name) != nil || p.IsBlocked(name) {
		return nil, auth.Reject(msgUsernameRules)
	}
	if err := auth.RefuseSystemAccount(name); err != nil {
		return nil, err
	}
	if taken, err := db.NativeNameTaken(ctx, name); err != nil {
		return nil, err
	} else if taken {
		return nil, auth.Reject(msgUsernameTaken)
	}
	// No unauthenticated path leads to an admin account: an admin's password comes from the
	// command line (gohub user set-password), an invitation bound to the name (printed at the
	// first start) or a reset link an admin issues.
	if isAdmin, err := auth.IsAdminAccount(ctx, db, p, name); err != nil {
		return nil, err
	} else if isAdmin {
		return nil, auth.Reject(msgUsernameAdmin)
	}
	if s.Password != s.Confirmation {
		return nil, auth.Reject(msgPasswordMismatch)
	}
	if err := a.checkPassword(name, s.Password); err != nil {
		return nil, err
	}
	email := strings.TrimSpace(s.Email)
	if a.cfg.AskEmailOnSignup {
		switch {
		case email == "":
			return nil, auth.Reject(msgEmailRequired)
		case len(email) > 254 || !emailRE.MatchString(email):
			return nil, auth.Reject(msgEmailInvalid)
		}
	} else {
		email = ""
	}
	if a.cfg.TOS != "" && !s.TOS {
		return nil, auth.Reject(msgTOSRequired)
	}
	hash, err := a.hasher.Hash(ctx, s.Password)
	if err != nil {
		return nil, a.hashErr(err)
	}
	// open_signup does not hand over a hub user that exists already (created through the API
	// or by another authenticator): an admin approves that sign-up.
	existing := false
	if _, err := db.GetUser(ctx, name); err == nil {
		existing = true
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	res := &SignupResult{Name: name, Authorized: (a.cfg.OpenSignup && !existing) || isIn(p.AllowedUsers(), name)}
	row := store.NativeUser{Username: name, Hash: hash, Email: email, Authorized: res.Authorized}
	if a.cfg.Allow2FA && s.Want2FA {
		if res.TOTP, err = newEnrolment("gohub", name); err != nil {
			return nil, err
		}
		row.Has2FA = true
		if row.OTPSecret, err = a.sealOTP(ctx, res.TOTP.Secret); err != nil {
			return nil, err
		}
	}
	if err := db.CreateNativeUser(ctx, row); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, auth.Reject(msgUsernameTaken)
		}
		return nil, err
	}
	a.log.Info("native: signed up", "user", name, "authorized", res.Authorized, "2fa", row.Has2FA)
	return res, nil
}

func isIn(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ChangePassword checks and stores a new password for name, typed twice on a form;
// ErrNotFound (wrapped) when name has no sign-up, a *auth.Rejection when a rule refuses it.
func (a *Authenticator) ChangePassword(ctx context.Context, name, pw, confirmation string) error {
	if pw != confirmation {
		return auth.Reject(msgPasswordMismatch)
	}
	return a.storePassword(ctx, name, pw)
}

// CheckNewPassword applies the sign-up password rules to pw (auth.PasswordRules), so the hub's
// reset and invitation forms refuse a bad password before their one-time link is spent.
func (a *Authenticator) CheckNewPassword(name, pw string) error { return a.checkPassword(name, pw) }

// SetPassword sets the password of name from the hub's password-reset links and invitations
// (auth.PasswordSetter). A name without a sign-up gets one, authorized: the hub calls this only
// for a link an admin issued (a reset of an existing hub user, or an invitation, which is
// pre-authorized by definition).
func (a *Authenticator) SetPassword(ctx context.Context, name, pw string) error {
	err := a.storePassword(ctx, name, pw)
	if !errors.Is(err, store.ErrNotFound) {
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
	if err := db.CreateNativeUser(ctx, store.NativeUser{Username: name, Hash: hash, Authorized: true}); err != nil {
		return err
	}
	a.log.Info("native: authorized sign-up created by a hub link", "user", name)
	a.invalidate()
	return nil
}

// SetOwnerPassword gives name to its rightful owner with password pw (auth.OwnerPasswordSetter:
// `gohub user set-password`, an invitation bound to the name): any sign-up of the name is
// replaced by an authorized one without 2FA or email, so a stranger who signed up with an
// admin's name before the admin was configured keeps nothing of it.
func (a *Authenticator) SetOwnerPassword(ctx context.Context, name, pw string) error {
	db, hash, err := a.checkedHash(ctx, name, pw)
	if err != nil {
		return err
	}
	if err := db.DeleteNativeUser(ctx, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := db.CreateNativeUser(ctx, store.NativeUser{Username: name, Hash: hash, Authorized: true}); err != nil {
		return err
	}
	a.log.Info("native: account handed to its owner with a new password", "user", name)
	a.invalidate()
	return nil
}

// HasPassword reports whether name has an authorized sign-up (auth.PasswordKnower): a
// waiting sign-up of an admin's name is someone else's claim, not the admin's password.
func (a *Authenticator) HasPassword(ctx context.Context, name string) (bool, error) {
	return a.authorized(ctx, name)
}

// storePassword checks pw against the rules and stores its hash for an existing sign-up.
func (a *Authenticator) storePassword(ctx context.Context, name, pw string) error {
	db, hash, err := a.checkedHash(ctx, name, pw)
	if err != nil {
		return err
	}
	return db.SetNativePassword(ctx, name, hash)
}

// CheckPassword reports whether pw is the current password of name (the own change-password
// form); false when name has no sign-up.
func (a *Authenticator) CheckPassword(ctx context.Context, name, pw string) (bool, error) {
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
	ok, err := a.hasher.Verify(ctx, u.Hash, pw)
	if err != nil {
		return false, a.hashErr(err)
	}
	return ok, nil
}

// checkedHash checks pw against the rules for name and hashes it.
func (a *Authenticator) checkedHash(ctx context.Context, name, pw string) (*store.DB, string, error) {
	if err := a.checkPassword(name, pw); err != nil {
		return nil, "", err
	}
	db, err := a.store()
	if err != nil {
		return nil, "", err
	}
	hash, err := a.hasher.Hash(ctx, pw)
	if err != nil {
		return nil, "", a.hashErr(err)
	}
	return db, hash, nil
}
