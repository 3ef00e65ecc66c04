package hub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gohub/internal/api"
	"gohub/internal/auth"
	"gohub/internal/recovery"
	"gohub/internal/store"
)

// initRecovery builds the account-recovery service (AccountRecovery config class): reset links
// set passwords through the authenticator's auth.PasswordSetter (none: links are unavailable),
// and with smtp_host set, reset links are mailed (which needs public_url for the links).
func (h *Hub) initRecovery(publicURL *url.URL) error {
	cfg := h.loaded.recovery
	d := recovery.Deps{
		Config:    cfg,
		Store:     h.db,
		Rules:     h.pipeline.CheckNewPassword,
		Normalize: h.pipeline.Normalize,
		HubPrefix: h.cfg.BaseURL + "hub/",
		Logger:    h.log,
		AfterReset: func(ctx context.Context, name string) {
			// A new password ends the sessions of whoever knew the old one.
			if u, err := h.db.GetUser(ctx, name); err == nil {
				if _, err := h.db.RotateCookieID(ctx, u.ID); err != nil {
					h.log.Warn("end sessions after a password reset", "user", name, "err", err)
				}
				h.api.Invalidate()
			}
		},
	}
	if ps, ok := h.pipeline.PasswordSetter(); ok {
		d.Passwords = ps
		d.CheckName, d.CreateAccount, d.DropAccount = h.inviteName, h.createInvited, h.dropInvited
		d.SetOwnerPassword, d.HasPassword = h.pipeline.SetOwnerPassword, h.pipeline.HasPassword
	}
	if publicURL != nil {
		d.PublicHubURL = strings.TrimSuffix(publicURL.Scheme+"://"+publicURL.Host, "/") + h.cfg.BaseURL + "hub/"
	}
	if cfg.SMTPHost != "" {
		if d.Passwords == nil {
			h.log.Warn("AccountRecovery: smtp_host is set but the authenticator keeps no passwords the hub can reset; 'Forgot password?' stays off",
				"authenticator", h.loaded.authEntry.Class)
		}
		d.Mailer = recovery.NewSMTPMailer(cfg)
	}
	var err error
	if h.recovery, err = recovery.New(d); err != nil {
		return fmt.Errorf("%s: %w", recovery.Class, err)
	}
	return nil
}

// hubAccess is the hub as the REST API's api.AccessControl.
type hubAccess struct{ h *Hub }

func (a hubAccess) BlockUser(ctx context.Context, name, reason string) error {
	return a.h.BlockUser(ctx, name, reason)
}

func (a hubAccess) UnblockUser(ctx context.Context, name string) error {
	return a.h.UnblockUser(ctx, name)
}

func (a hubAccess) IsBlocked(name string) bool { return a.h.IsBlocked(name) }

func (a hubAccess) IssueResetLink(ctx context.Context, name, by string) (string, time.Time, error) {
	l, err := a.h.recovery.IssueReset(ctx, name, by)
	switch {
	case errors.Is(err, recovery.ErrUnavailable):
		return "", time.Time{}, fmt.Errorf("%w (%s)", api.ErrResetUnavailable, a.h.loaded.authEntry.Class)
	case errors.Is(err, recovery.ErrUnknownUser):
		return "", time.Time{}, api.ErrNoSuchAccount
	case err != nil:
		return "", time.Time{}, err
	}
	return l.Path, l.ExpiresAt, nil
}

// inviteName says why a name cannot be an invited account, as a form message.
func (h *Hub) inviteName(ctx context.Context, name string) error {
	if err := h.pipeline.CheckUsername(name); err != nil {
		var shown *auth.Rejection
		if errors.As(err, &shown) {
			return shown
		}
		return auth.Reject("This name cannot be used: " + strings.TrimPrefix(err.Error(), auth.ErrInvalidUsername.Error()+" "))
	}
	if h.pipeline.IsBlocked(name) {
		return auth.Reject("This name cannot be used.")
	}
	// An invitation anyone with admin:users can issue must not make an admin: an admin's name
	// is claimed only through an invitation issued for it.
	if isAdmin, err := auth.IsAdminAccount(ctx, h.db, h.pipeline, name); err != nil {
		return err
	} else if isAdmin {
		return auth.Reject("This name cannot be used.")
	}
	// As for any user the hub adds (a LocalAuthenticator may need or create a system account).
	if err := h.pipeline.AddUser(ctx, name); err != nil {
		var shown *auth.Rejection
		if errors.As(err, &shown) {
			return shown
		}
		return err
	}
	return nil
}

// createInvited creates the hub user of an accepted invitation and pre-authorizes it.
func (h *Hub) createInvited(ctx context.Context, name string) error {
	if _, err := h.db.CreateUser(ctx, name, false); err != nil {
		return err
	}
	h.pipeline.Invite(name)
	h.api.Invalidate()
	return nil
}

// dropInvited undoes createInvited.
func (h *Hub) dropInvited(ctx context.Context, name string) {
	if err := h.db.DeleteUser(ctx, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		h.log.Warn("undo an invited account", "user", name, "err", err)
	}
	h.pipeline.DeleteUser(ctx, name)
	h.api.Invalidate()
}

// loadInvited reads the invited accounts into the pipeline at startup.
func (h *Hub) loadInvited(ctx context.Context) error {
	names, err := h.db.InvitedUserNames(ctx)
	if err != nil {
		return err
	}
	h.pipeline.SetInvited(names)
	return nil
}

func (a hubAccess) IssueInvite(ctx context.Context, by string) (string, time.Time, error) {
	l, err := a.h.recovery.IssueInvite(ctx, by)
	if errors.Is(err, recovery.ErrUnavailable) {
		return "", time.Time{}, fmt.Errorf("%w (%s)", api.ErrResetUnavailable, a.h.loaded.authEntry.Class)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return l.Path, l.ExpiresAt, nil
}

// inviteFirstAdmins prints, for every name in admin_users that has no password yet (firstuse,
// native), a one-time invitation that sets it, to Options.Console (never the log: the link is a
// secret). No page lets anyone claim an admin's name, so this or `gohub user set-password` is how
// the first admin gets in. It runs at every start until the admin has a password; each link
// works once, until invite_expiry_seconds, and not at all once the admin has a password.
func (h *Hub) inviteFirstAdmins(ctx context.Context, publicURL *url.URL) error {
	if h.recovery == nil || !h.recovery.InvitesAvailable() {
		return nil
	}
	for _, name := range h.pipeline.AdminUsers() {
		has, known, err := h.pipeline.HasPassword(ctx, name)
		if err != nil || !known {
			h.log.Debug("admin_users: cannot tell whether the admin has a password", "user", name, "err", err)
			continue
		}
		if has {
			continue
		}
		l, err := h.recovery.IssueInviteFor(ctx, name, "startup")
		if err != nil {
			return fmt.Errorf("invitation for admin %s: %w", name, err)
		}
		h.log.Warn("an admin has no password yet: a one-time invitation to set it is printed on the console", "user", name)
		fmt.Fprintf(h.console, "\nThe admin %s has no password yet. Open this link once to set it (valid until %s):\n\n    %s\n\nor run: gohub user set-password %s\n\n",
			name, l.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"), h.linkBase(publicURL)+l.Path, name)
	}
	return nil
}

// linkBase is the scheme and host of links printed for the operator: public_url's, else
// bind_url's (localhost for all interfaces).
func (h *Hub) linkBase(publicURL *url.URL) string {
	u := publicURL
	if u == nil {
		var err error
		if u, err = url.Parse(h.cfg.BindURL); err != nil || u.Host == "" {
			return "http://localhost:8000"
		}
	}
	host := u.Host
	if hn := u.Hostname(); hn == "" || hn == "0.0.0.0" || hn == "::" {
		host = "localhost"
		if p := u.Port(); p != "" {
			host += ":" + p
		}
	}
	return u.Scheme + "://" + host
}
