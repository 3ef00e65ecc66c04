package recovery_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gohub/internal/auth"
	"gohub/internal/auth/firstuse"
	"gohub/internal/recovery"
	"gohub/internal/store"
	"gohub/internal/testutil"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a recovery service over a real SQLite store and a real FirstUse authenticator
// (bcrypt cost 10), with ivy and jack holding passwords.
type fixture struct {
	db  *store.DB
	fu  *firstuse.Authenticator
	svc *recovery.Service
	clk *clock
}

func newFixture(t *testing.T, cfg *recovery.Config, mailer recovery.Mailer) *fixture {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "h.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fcfg := firstuse.DefaultConfig()
	fcfg.BcryptCost = 10
	fu, err := firstuse.New(fcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fu.UseDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ivy", "jack"} {
		if err := fu.SetPassword(ctx, n, n+"-old-password"); err != nil {
			t.Fatal(err)
		}
	}
	if cfg == nil {
		cfg = recovery.DefaultConfig()
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	svc, err := recovery.New(recovery.Deps{Config: cfg, Store: db, Passwords: fu, Rules: fu.CheckNewPassword,
		Normalize: strings.ToLower, Mailer: mailer, PublicHubURL: "http://hub.example.org/hub/", HubPrefix: "/hub/",
		Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return &fixture{db: db, fu: fu, svc: svc, clk: clk}
}

// passwordIs reports whether name's stored password is pw.
func (f *fixture) passwordIs(t *testing.T, name, pw string) bool {
	t.Helper()
	_, err := f.fu.Authenticate(context.Background(), auth.Credentials{Username: name, Password: pw})
	return err == nil
}

// TestResetLink: a link sets its own user's password once; a refused password leaves it
// usable; it expires; unknown names get no link.
func TestResetLink(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := t.Context()
	if _, err := f.svc.IssueReset(ctx, "nobody", "admin:root"); !errors.Is(err, recovery.ErrUnknownUser) {
		t.Errorf("link for an unknown name: %v", err)
	}
	l, err := f.svc.IssueReset(ctx, " IVY ", "admin:root")
	if err != nil {
		t.Fatal(err)
	}
	if l.Username != "ivy" || !strings.HasPrefix(l.Path, "/hub/reset-password?token=") || len(l.Token) < 26 {
		t.Errorf("link = %+v", l)
	}
	if d := l.ExpiresAt.Sub(f.clk.now()); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expires in %v, want an hour", d)
	}
	if name, err := f.svc.CheckReset(ctx, l.Token); err != nil || name != "ivy" {
		t.Errorf("check = %q, %v", name, err)
	}

	var shown *auth.Rejection
	if _, err := f.svc.Reset(ctx, l.Token, "short"); !errors.As(err, &shown) || !strings.Contains(shown.Message, "too short") {
		t.Errorf("a too-short password: %v", err)
	}
	name, err := f.svc.Reset(ctx, l.Token, "ivy-new-password")
	if err != nil || name != "ivy" {
		t.Fatalf("reset = %q, %v", name, err)
	}
	if !f.passwordIs(t, "ivy", "ivy-new-password") || f.passwordIs(t, "ivy", "ivy-old-password") {
		t.Error("ivy's password did not change")
	}
	if !f.passwordIs(t, "jack", "jack-old-password") {
		t.Error("ivy's link changed jack's password")
	}
	if _, err := f.svc.Reset(ctx, l.Token, "ivy-third-password"); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Errorf("second use: %v", err)
	}
	if _, err := f.svc.CheckReset(ctx, "not-a-token"); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Errorf("an unknown token: %v", err)
	}

	l2, err := f.svc.IssueReset(ctx, "jack", "admin:root")
	if err != nil {
		t.Fatal(err)
	}
	f.clk.add(time.Hour + time.Second)
	if _, err := f.svc.Reset(ctx, l2.Token, "jack-new-password"); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Errorf("an expired link: %v", err)
	}
	if !f.passwordIs(t, "jack", "jack-old-password") {
		t.Error("an expired link changed jack's password")
	}
}

// TestForgotMailsALink: "Forgot password?" mails a working link to the address user_emails
// gives, through a real SMTP server (STARTTLS and AUTH PLAIN), at most once per interval, and
// sends nothing for unknown names or names without an address.
func TestForgotMailsALink(t *testing.T) {
	srv := testutil.StartSMTP(t, testutil.SMTPOptions{TLS: "starttls", Username: "hub", Password: "smtp-secret"})
	cfg := recovery.DefaultConfig()
	cfg.SMTPHost, cfg.SMTPPort, cfg.SMTPTLS, cfg.SMTPCAFile = srv.Host, srv.Port, "starttls", srv.CAFile
	cfg.SMTPUsername, cfg.SMTPPassword = "hub", "smtp-secret"
	cfg.SMTPSender = "Jupyter <jupyter@example.org>"
	cfg.UserEmails = map[string]string{"Ivy": "ivy@example.org", "ghost": "ghost@example.org"}
	f := newFixture(t, cfg, recovery.NewSMTPMailer(cfg))
	if !f.svc.CanMail() {
		t.Fatal("CanMail is false with SMTP configured")
	}
	f.svc.Forgot("nobody")
	f.svc.Forgot("jack")  // no address
	f.svc.Forgot("ghost") // an address, but no account
	f.svc.Forgot("IVY")
	f.svc.Forgot("ivy") // within the interval: dropped
	mails := srv.WaitMails(1, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	mails = srv.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails, want exactly 1 (ivy's): %+v", len(mails), mails)
	}
	m := mails[0]
	if m.From != "jupyter@example.org" || len(m.To) != 1 || m.To[0] != "ivy@example.org" ||
		m.Msg.Header.Get("Subject") != "Reset your Jupyter password" {
		t.Errorf("mail envelope/headers: from %q to %v subject %q", m.From, m.To, m.Msg.Header.Get("Subject"))
	}
	link := regexp.MustCompile(`http://hub\.example\.org/hub/reset-password\?token=\S+`).FindString(m.Body)
	if link == "" {
		t.Fatalf("no reset link in the mail:\n%s", m.Body)
	}
	u, _ := url.Parse(link)
	if _, err := f.svc.Reset(t.Context(), u.Query().Get("token"), "ivy-mailed-password"); err != nil {
		t.Fatalf("the mailed link: %v", err)
	}
	if !f.passwordIs(t, "ivy", "ivy-mailed-password") {
		t.Error("the mailed link did not set the password")
	}
}

// TestMailerModes: the mailer speaks implicit TLS and plain SMTP too, and refuses to go on in
// clear text when starttls is required but not offered.
func TestMailerModes(t *testing.T) {
	for _, mode := range []string{"tls", "none"} {
		t.Run(mode, func(t *testing.T) {
			o := testutil.SMTPOptions{}
			if mode == "tls" {
				o.TLS = "tls"
			}
			srv := testutil.StartSMTP(t, o)
			cfg := recovery.DefaultConfig()
			cfg.SMTPHost, cfg.SMTPPort, cfg.SMTPTLS, cfg.SMTPCAFile = srv.Host, srv.Port, mode, srv.CAFile
			cfg.SMTPSender = "hub@example.org"
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := recovery.NewSMTPMailer(cfg).Send(t.Context(), "Ann <ann@example.org>", "Hi", "line 1\n.line 2\n"); err != nil {
				t.Fatal(err)
			}
			m := srv.WaitMails(1, 5*time.Second)
			if len(m) != 1 || m[0].To[0] != "ann@example.org" || !strings.Contains(m[0].Body, "line 1\n.line 2") {
				t.Errorf("received %+v", m)
			}
		})
	}
	srv := testutil.StartSMTP(t, testutil.SMTPOptions{})
	cfg := recovery.DefaultConfig()
	cfg.SMTPHost, cfg.SMTPPort, cfg.SMTPSender = srv.Host, srv.Port, "hub@example.org"
	err := recovery.NewSMTPMailer(cfg).Send(t.Context(), "ann@example.org", "Hi", "x")
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("starttls required but not offered: %v", err)
	}
	if len(srv.Mails()) != 0 {
		t.Error("a mail went out in clear text")
	}
}

// TestConfigValidate: bad recovery settings are errors naming the key.
func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		mod  func(*recovery.Config)
		want string
	}{
		{func(c *recovery.Config) { c.ResetLinkExpirySeconds = 0 }, "reset_link_expiry_seconds"},
		{func(c *recovery.Config) { c.SMTPHost = "mail"; c.SMTPSender = "" }, "smtp_sender"},
		{func(c *recovery.Config) { c.SMTPHost = "mail"; c.SMTPSender = "a@b"; c.SMTPTLS = "ssl" }, "smtp_tls"},
		{func(c *recovery.Config) {
			c.SMTPHost, c.SMTPSender, c.SMTPTLS, c.SMTPUsername = "mail.example.org", "a@b", "none", "u"
		}, "clear text"},
		{func(c *recovery.Config) { c.UserEmails = map[string]string{"a": "not an address"} }, "user_emails"},
	} {
		cfg := recovery.DefaultConfig()
		c.mod(cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error about %s, got %v", c.want, err)
		}
	}
	if err := recovery.DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
