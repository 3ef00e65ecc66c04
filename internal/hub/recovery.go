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
