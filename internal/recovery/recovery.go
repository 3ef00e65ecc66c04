// Package recovery is account recovery for authenticators whose passwords the hub keeps: an
// admin issues a one-time password-reset link for a user (page or REST API), the user sets a
// new password through it; with SMTP configured users ask for the link by email from the login
// page ("Forgot password?"). Links are 130-bit random secrets, stored only as digests
// (store.AccountLink), expire (reset_link_expiry_seconds, an hour by default) and work once.
// Passwords are set through the authenticator's auth.PasswordSetter, under its own rules.
// Invitations are the same kind of link: whoever holds one creates one account (a free name
// and a password), which is pre-authorized.
//
// None of this exists in JupyterHub or its authenticators (a gohub addition).
package recovery

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"gohub/internal/auth"
	"gohub/internal/store"
)

// ErrInvalidLink is the one answer for a link that is unknown, spent, expired or of another
// kind: the pages do not tell which.
var ErrInvalidLink = errors.New("this link is invalid, expired or already used")

// ErrUnavailable means the authenticator keeps no passwords the hub could set.
var ErrUnavailable = errors.New("the authenticator has no passwords the hub can reset")

// ErrUnknownUser is returned when an admin asks for a link for a name nobody has.
var ErrUnknownUser = errors.New("no such user")

// Deps are what a Service is built from.
type Deps struct {
	Config *Config
	Store  *store.DB
	// Passwords sets passwords; nil when the authenticator keeps none (the service is then
	// unavailable and the pages say so).
	Passwords auth.PasswordSetter
	// Rules checks a new password before a link is spent (auth.Pipeline.CheckNewPassword).
	Rules func(name, password string) error
	// Normalize maps a typed name to the hub name (auth.Pipeline.Normalize).
	Normalize func(string) string
	// Mailer sends reset mails; nil without SMTP ("Forgot password?" is then off).
	Mailer Mailer
	// PublicHubURL is the absolute URL of the hub prefix (https://hub.example.org/hub/) that
	// mailed links start with; mailing needs it, since a link built from a request's Host
	// header could be pointed elsewhere by whoever sends the request.
	PublicHubURL string
	// HubPrefix is base_url + "hub/", the path the links start with.
	HubPrefix string
	// AfterReset runs after a password was set through a link (the hub ends the user's other
	// sessions); optional.
	AfterReset func(ctx context.Context, name string)
	// CheckName says why a normalised name cannot be an account (invalid, blocked), as a
	// *auth.Rejection; needed for invitations.
	CheckName func(ctx context.Context, name string) error
	// CreateAccount creates the hub user of an accepted invitation and pre-authorizes it; it
	// must fail with store.ErrExists when the name is taken, so two invitations cannot claim
	// one name. DropAccount undoes it when the invitation turns out to be spent. Both are
	// needed for invitations (nil: invitations are unavailable).
	CreateAccount func(ctx context.Context, name string) error
	DropAccount   func(ctx context.Context, name string)
	// SetOwnerPassword sets the password of an invitation issued for one name (the first
	// admin's, IssueInviteFor) for its rightful owner (auth.Pipeline.SetOwnerPassword);
	// Passwords.SetPassword when nil.
	SetOwnerPassword func(ctx context.Context, name, password string) error
	// HasPassword tells whether name has a password that logs in (auth.Pipeline.HasPassword):
	// an invitation issued for one name stops working once the account has one, so a link
	// left in a log cannot replace the admin's password later. Optional.
	HasPassword func(ctx context.Context, name string) (has, known bool, err error)
	Logger      *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Link is an issued one-time link. URL and Token are secrets: show them to whoever asked
// (the admin), never log them.
type Link struct {
	Username  string
	Token     string
	Path      string // HubPrefix + "reset-password?token=..."
	ExpiresAt time.Time
}

// Service issues and honours one-time links. It is safe for concurrent use; Close waits for
// mails still being sent.
type Service struct {
	d      Deps
	cfg    *Config
	log    *slog.Logger
	now    func() time.Time
	emails map[string]string // user_emails with normalised keys

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{} // bounds concurrent mail deliveries

	mu       sync.Mutex
	lastMail map[string]time.Time
}

// maxMailers bounds the deliveries running at once; further requests are dropped (and logged).
const maxMailers = 4

// New checks the dependencies and returns the service.
func New(d Deps) (*Service, error) {
	if d.Config == nil || d.Store == nil || d.Normalize == nil {
		return nil, errors.New("recovery: Config, Store and Normalize are required")
	}
	if d.Mailer != nil && d.PublicHubURL == "" {
		return nil, errors.New("AccountRecovery: mailing reset links needs JupyterHub.public_url (links must not be built from a request's Host header)")
	}
	if d.HubPrefix == "" {
		d.HubPrefix = "/hub/"
	}
	s := &Service{d: d, cfg: d.Config, log: d.Logger, now: d.Now, emails: map[string]string{},
		slots: make(chan struct{}, maxMailers), lastMail: map[string]time.Time{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for k, v := range d.Config.UserEmails {
		s.emails[d.Normalize(k)] = v
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close stops accepting mail requests and waits for deliveries under way.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// Available reports whether passwords can be reset at all (the authenticator sets passwords).
func (s *Service) Available() bool { return s.d.Passwords != nil }

// CanMail reports whether users can ask for a link by email ("Forgot password?").
func (s *Service) CanMail() bool { return s.Available() && s.d.Mailer != nil }

// linkPath is where a reset link lands.
func (s *Service) linkPath(token string) string {
	return s.d.HubPrefix + "reset-password?token=" + url.QueryEscape(token)
}

// known reports whether name has an account the authenticator could reset: a hub user, a
// FirstUse password or a Native sign-up.
func (s *Service) known(ctx context.Context, name string) (bool, error) {
	if _, err := s.d.Store.GetUser(ctx, name); err == nil {
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if _, err := s.d.Store.GetPasswordHash(ctx, name); err == nil {
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if _, err := s.d.Store.GetNativeUser(ctx, name); err == nil {
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	return false, nil
}

// Normalize returns the hub name IssueReset resolves a typed username to.
func (s *Service) Normalize(name string) string { return s.d.Normalize(strings.TrimSpace(name)) }

// IssueReset creates a reset link for the user typed as name; by says who asked ("admin:root",
// "email"), for the log. ErrUnknownUser for a name without an account, ErrUnavailable when the
// authenticator keeps no passwords.
func (s *Service) IssueReset(ctx context.Context, name, by string) (*Link, error) {
	if !s.Available() {
		return nil, ErrUnavailable
	}
	name = s.Normalize(name)
	ok, err := s.known(ctx, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownUser, name)
	}
	token := rand.Text()
	l, err := s.d.Store.CreateAccountLink(ctx, store.NewAccountLink{Plain: token, Kind: store.LinkReset,
		Username: name, CreatedBy: by, ExpiresAt: s.now().Add(s.cfg.ResetTTL())})
	if err != nil {
		return nil, err
	}
	s.log.Info("password-reset link issued", "user", name, "by", by, "expires_at", l.ExpiresAt)
	return &Link{Username: name, Token: token, Path: s.linkPath(token), ExpiresAt: l.ExpiresAt}, nil
}

// CheckReset returns the user a reset link is for, without spending it; ErrInvalidLink when it
// cannot be used.
func (s *Service) CheckReset(ctx context.Context, token string) (string, error) {
	if token == "" || !s.Available() {
		return "", ErrInvalidLink
	}
	l, err := s.d.Store.PeekAccountLink(ctx, token, store.LinkReset, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrInvalidLink
	}
	if err != nil {
		return "", err
	}
	return l.Username, nil
}

// Reset sets a new password through a reset link and spends it. A password the rules refuse
// is a *auth.Rejection and leaves the link usable; a link that cannot be used (also one spent
// by a concurrent request) is ErrInvalidLink. It returns the user's name.
func (s *Service) Reset(ctx context.Context, token, password string) (string, error) {
	name, err := s.CheckReset(ctx, token)
	if err != nil {
		return "", err
	}
	if s.d.Rules != nil {
		if err := s.d.Rules(name, password); err != nil {
			return "", err
		}
	}
	if _, err := s.d.Store.UseAccountLink(ctx, token, store.LinkReset, s.now()); errors.Is(err, store.ErrNotFound) {
		return "", ErrInvalidLink
	} else if err != nil {
		return "", err
	}
	if err := s.d.Passwords.SetPassword(ctx, name, password); err != nil {
		return "", fmt.Errorf("set password of %q: %w", name, err)
	}
	s.log.Info("password reset through a one-time link", "user", name)
	if s.d.AfterReset != nil {
		s.d.AfterReset(ctx, name)
	}
	return name, nil
}

// EmailOf returns the address reset mails for name go to: user_emails, else a Native sign-up's
// email; "" when there is none.
func (s *Service) EmailOf(ctx context.Context, name string) (string, error) {
	if e := s.emails[name]; e != "" {
		return e, nil
	}
	nu, err := s.d.Store.GetNativeUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return nu.Email, nil
}

// Forgot handles "Forgot password?" for a typed name. It returns at once and does the rest in
// the background — look the name up, issue a link, mail it — so the answer, and the time it
// takes, are the same whether the name exists, has an address or not. A name is mailed at
// most once per forgot_interval_seconds; requests beyond maxMailers at once are dropped.
func (s *Service) Forgot(typed string) {
	name := s.d.Normalize(strings.TrimSpace(typed))
	if !s.CanMail() || name == "" || len(name) > 255 || s.ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	now := s.now()
	if last, ok := s.lastMail[name]; ok && now.Sub(last) < time.Duration(s.cfg.ForgotIntervalSeconds)*time.Second {
		s.mu.Unlock()
		s.log.Info("password-reset mail not sent: one was sent recently", "user", name)
		return
	}
	s.lastMail[name] = now
	if len(s.lastMail) > 10000 {
		for k, t := range s.lastMail {
			if now.Sub(t) >= time.Duration(s.cfg.ForgotIntervalSeconds)*time.Second {
				delete(s.lastMail, k)
			}
		}
	}
	s.mu.Unlock()
	select {
	case s.slots <- struct{}{}:
	default:
		s.log.Warn("password-reset mail not sent: too many deliveries at once", "user", name)
		return
	}
	s.wg.Go(func() {
		defer func() { <-s.slots }()
		if err := s.mailReset(s.ctx, name); err != nil {
			s.log.Warn("password-reset mail failed", "user", name, "err", err)
		}
	})
}

// mailReset issues a link for name and mails it, if name has an account and an address.
func (s *Service) mailReset(ctx context.Context, name string) error {
	to, err := s.EmailOf(ctx, name)
	if err != nil {
		return err
	}
	if to == "" {
		s.log.Info("password-reset mail not sent: no email address known", "user", name)
		return nil
	}
	l, err := s.IssueReset(ctx, name, "email")
	if errors.Is(err, ErrUnknownUser) {
		s.log.Info("password-reset mail not sent: no such account", "user", name)
		return nil
	}
	if err != nil {
		return err
	}
	link := strings.TrimSuffix(s.d.PublicHubURL, "/") + "/" + strings.TrimPrefix(l.Path, s.d.HubPrefix)
	mins := s.cfg.ResetLinkExpirySeconds / 60
	body := fmt.Sprintf(`Hello %s,

someone (hopefully you) asked to reset the password of your Jupyter account %q.
To choose a new password, open this link:

%s

The link works once and expires in %d minutes. If you did not ask for it, ignore this mail:
your password stays as it is.
`, name, name, link, max(mins, 1))
	if err := s.d.Mailer.Send(ctx, to, "Reset your Jupyter password", body); err != nil {
		return err
	}
	s.log.Info("password-reset mail sent", "user", name)
	return nil
}

// InvitesAvailable reports whether admins can invite people: passwords can be set and the hub
// creates accounts.
func (s *Service) InvitesAvailable() bool {
	return s.Available() && s.d.CreateAccount != nil && s.d.CheckName != nil
}

// invitePath is where an invitation lands.
func (s *Service) invitePath(token string) string {
	return s.d.HubPrefix + "invite?token=" + url.QueryEscape(token)
}

// IssueInvite creates a one-time invitation link (invite_expiry_seconds); by names who asked.
// The account created through it is pre-authorized: allowed to log in whatever the allow lists
// say (blocked_users still wins).
func (s *Service) IssueInvite(ctx context.Context, by string) (*Link, error) {
	if !s.InvitesAvailable() {
		return nil, ErrUnavailable
	}
	token := rand.Text()
	l, err := s.d.Store.CreateAccountLink(ctx, store.NewAccountLink{Plain: token, Kind: store.LinkInvite,
		CreatedBy: by, ExpiresAt: s.now().Add(s.cfg.InviteTTL())})
	if err != nil {
		return nil, err
	}
	s.log.Info("invitation issued", "by", by, "expires_at", l.ExpiresAt)
	return &Link{Token: token, Path: s.invitePath(token), ExpiresAt: l.ExpiresAt}, nil
}

// IssueInviteFor creates a one-time invitation for the account name only (the first admin's,
// printed at startup): whoever holds it sets the password of name, which may already be a hub
// user (admin_users are) but must have no password. by names who asked.
func (s *Service) IssueInviteFor(ctx context.Context, name, by string) (*Link, error) {
	if !s.InvitesAvailable() {
		return nil, ErrUnavailable
	}
	if name == "" {
		return nil, errors.New("invitation for a name: empty name")
	}
	token := rand.Text()
	l, err := s.d.Store.CreateAccountLink(ctx, store.NewAccountLink{Plain: token, Kind: store.LinkInvite,
		Username: name, CreatedBy: by, ExpiresAt: s.now().Add(s.cfg.InviteTTL())})
	if err != nil {
		return nil, err
	}
	s.log.Info("invitation issued", "user", name, "by", by, "expires_at", l.ExpiresAt)
	return &Link{Username: name, Token: token, Path: s.invitePath(token), ExpiresAt: l.ExpiresAt}, nil
}

// CheckInvite reports whether an invitation can still be used (ErrInvalidLink otherwise) and
// the name it is for ("" for any free name).
func (s *Service) CheckInvite(ctx context.Context, token string) (string, error) {
	if token == "" || !s.InvitesAvailable() {
		return "", ErrInvalidLink
	}
	l, err := s.d.Store.PeekAccountLink(ctx, token, store.LinkInvite, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrInvalidLink
	} else if err != nil {
		return "", err
	}
	if l.Username != "" && s.d.HasPassword != nil {
		has, _, err := s.d.HasPassword(ctx, l.Username)
		if err != nil {
			return "", err
		}
		if has {
			return "", ErrInvalidLink
		}
	}
	return l.Username, nil
}

// AcceptInvite creates the account typed as name with password through an invitation and
// spends it. A name that is invalid, blocked or taken, or a password the rules refuse, is a
// *auth.Rejection and leaves the invitation usable; a spent or expired one is ErrInvalidLink.
// It returns the account's hub name.
func (s *Service) AcceptInvite(ctx context.Context, token, typed, password string) (string, error) {
	bound, err := s.CheckInvite(ctx, token)
	if err != nil {
		return "", err
	}
	name := s.d.Normalize(strings.TrimSpace(typed))
	if bound != "" {
		return s.acceptBound(ctx, token, bound, name, password)
	}
	if err := s.d.CheckName(ctx, name); err != nil {
		return "", err
	}
	taken, err := s.known(ctx, name)
	if err != nil {
		return "", err
	}
	if taken {
		return "", auth.Reject("That name is taken. Please choose another one.")
	}
	if s.d.Rules != nil {
		if err := s.d.Rules(name, password); err != nil {
			return "", err
		}
	}
	// The hub user is the lock on the name: of two invitations for one name, one creates it.
	if err := s.d.CreateAccount(ctx, name); errors.Is(err, store.ErrExists) {
		return "", auth.Reject("That name is taken. Please choose another one.")
	} else if err != nil {
		return "", err
	}
	if _, err := s.d.Store.ClaimInvite(ctx, token, name, s.now()); err != nil {
		if s.d.DropAccount != nil {
			s.d.DropAccount(ctx, name)
		}
		if errors.Is(err, store.ErrNotFound) {
			return "", ErrInvalidLink
		}
		return "", err
	}
	if err := s.d.Passwords.SetPassword(ctx, name, password); err != nil {
		// No account may stay without the password its owner chose (FirstUse would let the
		// next person to log in as the name set one).
		if s.d.DropAccount != nil {
			s.d.DropAccount(ctx, name)
		}
		return "", fmt.Errorf("set password of %q: %w", name, err)
	}
	s.log.Info("account created through an invitation", "user", name)
	return name, nil
}

// acceptBound accepts an invitation issued for the account bound (IssueInviteFor): typed must
// be that name, and the account gets its password for its owner. Its hub user may exist (an
// admin_users name does from the start) and is created otherwise.
func (s *Service) acceptBound(ctx context.Context, token, bound, name, password string) (string, error) {
	if name != bound {
		return "", auth.Reject("This invitation is for the account " + bound + ".")
	}
	if s.d.Rules != nil {
		if err := s.d.Rules(name, password); err != nil {
			return "", err
		}
	}
	created := false
	switch err := s.d.CreateAccount(ctx, name); {
	case err == nil:
		created = true
	case !errors.Is(err, store.ErrExists):
		return "", err
	}
	if _, err := s.d.Store.ClaimInvite(ctx, token, name, s.now()); err != nil {
		if created && s.d.DropAccount != nil {
			s.d.DropAccount(ctx, name)
		}
		if errors.Is(err, store.ErrNotFound) {
			return "", ErrInvalidLink
		}
		return "", err
	}
	set := s.d.SetOwnerPassword
	if set == nil {
		set = s.d.Passwords.SetPassword
	}
	if err := set(ctx, name, password); err != nil {
		return "", fmt.Errorf("set password of %q: %w", name, err)
	}
	s.log.Info("password set through an invitation for the account", "user", name)
	if s.d.AfterReset != nil {
		s.d.AfterReset(ctx, name)
	}
	return name, nil
}
