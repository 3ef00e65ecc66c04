package auth

import (
	"context"
	"errors"
	"fmt"

	"gohub/internal/store"
)

// Revoker ends a user's access at once, without a hub restart: the user's login cookies and
// API/OAuth tokens stop working and (unless the hub is configured to keep them) their servers
// stop. The hub implements it (hub.Hub.RevokeUser); name is the normalised hub name, reason a
// short text for the log ("un-authorized by admin alice"). Revoking a name the hub does not
// know is not an error. It does not block future logins: an authenticator that revokes
// someone must refuse their next login itself (Native: the account is no longer authorized).
type Revoker interface {
	RevokeUser(ctx context.Context, name, reason string) error
}

// RevokerUser is an authenticator that takes access away outside the hub's lists (Native's
// un-authorize, a future LDAP sync): the hub hands it its Revoker once, before serving, and
// the authenticator calls RevokeUser whenever it withdraws someone.
type RevokerUser interface {
	UseRevoker(r Revoker)
}

// revokerBox lets the revoker sit behind an atomic pointer.
type revokerBox struct{ r Revoker }

// UseRevoker gives the pipeline (and an authenticator that is a RevokerUser) the hub's
// Revoker. The hub calls it once while starting.
func (p *Pipeline) UseRevoker(r Revoker) {
	p.revoker.Store(&revokerBox{r})
	if ru, ok := p.auth.(RevokerUser); ok {
		ru.UseRevoker(r)
	}
}

// ErrNoRevoker is returned by Pipeline.Revoke before the hub gave the pipeline a Revoker.
var ErrNoRevoker = errors.New("no revoker: the hub has not started")

// Revoke ends a user's access through the hub's Revoker (see Revoker).
func (p *Pipeline) Revoke(ctx context.Context, name, reason string) error {
	b := p.revoker.Load()
	if b == nil {
		return ErrNoRevoker
	}
	return b.r.RevokeUser(ctx, name, reason)
}

// PasswordSetter is an authenticator whose passwords the hub keeps and can set (FirstUse, and
// Native later): password-reset links and invitations set passwords through it.
// SetPassword checks the password rules first and refuses with a *Rejection whose message
// says what is wrong; it creates the password when the name has none yet.
type PasswordSetter interface {
	SetPassword(ctx context.Context, name, newPassword string) error
}

// OwnerPasswordSetter is a PasswordSetter that can hand an account to its rightful owner:
// `gohub user set-password` and invitations bound to a name (the first admin's) use it.
// SetOwnerPassword replaces whatever a stranger's claim of the name left (Native: their
// sign-up's password, 2FA secret and email) and makes the account one that may log in.
type OwnerPasswordSetter interface {
	SetOwnerPassword(ctx context.Context, name, newPassword string) error
}

// SetOwnerPassword sets the password of name for its rightful owner: the authenticator's
// OwnerPasswordSetter, else its PasswordSetter; ErrNoPasswords without either.
func (p *Pipeline) SetOwnerPassword(ctx context.Context, name, pw string) error {
	ps, ok := p.PasswordSetter()
	if !ok {
		return ErrNoPasswords
	}
	if os, ok := p.auth.(OwnerPasswordSetter); ok {
		return os.SetOwnerPassword(ctx, name, pw)
	}
	return ps.SetPassword(ctx, name, pw)
}

// PasswordKnower is a PasswordSetter that tells whether a name has a password that logs in
// (FirstUse: a stored password; Native: an authorized sign-up). The hub asks it at startup which
// admin_users still need one (it then prints an invitation for each).
type PasswordKnower interface {
	HasPassword(ctx context.Context, name string) (bool, error)
}

// HasPassword reports whether name has a password that logs in; known is false when the
// authenticator cannot tell (it keeps no passwords, or is no PasswordKnower).
func (p *Pipeline) HasPassword(ctx context.Context, name string) (has, known bool, err error) {
	pk, ok := p.auth.(PasswordKnower)
	if _, keeps := p.PasswordSetter(); !ok || !keeps {
		return false, false, nil
	}
	has, err = pk.HasPassword(ctx, name)
	return has, err == nil, err
}

// ErrNoPasswords: the authenticator keeps no passwords the hub could set.
var ErrNoPasswords = errors.New("the authenticator keeps no passwords the hub can set")

// PasswordRules is a PasswordSetter that can check a new password without storing it, so a
// form can refuse a bad one before a one-time link is spent. The error is a *Rejection.
type PasswordRules interface {
	CheckNewPassword(name, newPassword string) error
}

// PasswordSetter returns the authenticator's PasswordSetter, if it has one.
func (p *Pipeline) PasswordSetter() (PasswordSetter, bool) {
	s, ok := p.auth.(PasswordSetter)
	if !ok || !offers(p.auth, CapPasswords) {
		return nil, false
	}
	return s, true
}

// Capabilities an authenticator may implement only to forward them (see Forwarder).
const (
	CapPasswords = "passwords" // PasswordSetter
	CapRefresh   = "refresh"   // UserRefresher
)

// Forwarder is an authenticator that implements optional capabilities only to pass them on
// (MultiAuthenticator to its sources): Offers reports whether some part really has the one
// named, so the hub does not turn on what nothing behind it does (reset links, the refresh
// middleware's database read on every request).
type Forwarder interface {
	Offers(capability string) bool
}

// offers is false only when a Forwarder says nothing behind it has capability.
func offers(a Authenticator, capability string) bool {
	f, ok := a.(Forwarder)
	return !ok || f.Offers(capability)
}

// CheckNewPassword checks a new password against the authenticator's rules (PasswordRules);
// nil when it has none to check.
func (p *Pipeline) CheckNewPassword(name, pw string) error {
	if r, ok := p.auth.(PasswordRules); ok {
		return r.CheckNewPassword(name, pw)
	}
	return nil
}

// ErrOnlyAdmins is CheckActOn's refusal: only admins act on the account of an admin.
var ErrOnlyAdmins = errors.New("only admins can act on the account of an admin")

// CheckActOn is the hub's one rule for pages and APIs that change another user's account
// (JupyterHub's "Only admins can modify other admins"): an actor who is not an admin may not
// act on an admin, whatever scopes their roles grant. An admin is a hub user with the admin
// flag, or a name in admin_users (it becomes one at its next login, whether or not its hub
// user exists yet). p may be nil (no admin_users known). The error wraps ErrOnlyAdmins.
func CheckActOn(ctx context.Context, db *store.DB, p *Pipeline, actorAdmin bool, name string) error {
	if actorAdmin {
		return nil
	}
	isAdmin, err := IsAdminAccount(ctx, db, p, name)
	if err != nil {
		return err
	}
	if isAdmin {
		return fmt.Errorf("%w (%s)", ErrOnlyAdmins, name)
	}
	return nil
}

// IsAdminAccount reports whether name is an admin's account: a hub user with the admin flag,
// or a name in admin_users (it becomes one at its next login, whether or not its hub user
// exists yet). p may be nil (no admin_users known).
func IsAdminAccount(ctx context.Context, db *store.DB, p *Pipeline, name string) (bool, error) {
	if p != nil && p.IsAdminUser(name) {
		return true, nil
	}
	u, err := db.GetUser(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return u.Admin, nil
}
