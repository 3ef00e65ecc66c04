package recovery

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"
)

// Mailer sends one plain-text mail.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// SMTPMailer delivers through an SMTP server with the standard library's client: STARTTLS
// (required when configured), implicit TLS, or plain text; AUTH PLAIN when a username is set.
type SMTPMailer struct {
	cfg *Config
	// TLSConfig, when set, replaces the default (the system roots, server name = smtp_host);
	// tests trust their own certificate with it.
	TLSConfig *tls.Config
}

// NewSMTPMailer returns the mailer of a validated config with smtp_host set.
func NewSMTPMailer(cfg *Config) *SMTPMailer { return &SMTPMailer{cfg: cfg} }

func (m *SMTPMailer) tlsConfig() (*tls.Config, error) {
	if m.TLSConfig != nil {
		return m.TLSConfig.Clone(), nil
	}
	tc := &tls.Config{ServerName: m.cfg.SMTPHost, MinVersion: tls.VersionTLS12}
	if m.cfg.SMTPCAFile != "" {
		pool, err := loadCAs(m.cfg.SMTPCAFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// loadCAs reads a PEM file of certificates into a pool.
func loadCAs(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// Send delivers the mail, within smtp_timeout_seconds.
func (m *SMTPMailer) Send(ctx context.Context, to, subject, body string) error {
	c := m.cfg
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.SMTPTimeoutSeconds)*time.Second)
	defer cancel()
	addr := net.JoinHostPort(c.SMTPHost, strconv.Itoa(c.SMTPPort))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	tcfg, err := m.tlsConfig()
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	if c.SMTPTLS == "tls" {
		tc := tls.Client(conn, tcfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("smtp: tls: %w", err)
		}
		conn = tc
	}
	client, err := smtp.NewClient(conn, c.SMTPHost)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer client.Close()
	if err := client.Hello("localhost"); err != nil {
		return fmt.Errorf("smtp: hello: %w", err)
	}
	if c.SMTPTLS == "starttls" {
		if ok, _ := client.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp: %s does not offer STARTTLS (set smtp_tls: none to send in clear text)", addr)
		}
		if err := client.StartTLS(tcfg); err != nil {
			return fmt.Errorf("smtp: starttls: %w", err)
		}
	}
	if c.SMTPUsername != "" {
		// PlainAuth itself refuses to send the password without TLS, except to localhost.
		if err := client.Auth(smtp.PlainAuth("", c.SMTPUsername, c.SMTPPassword, c.SMTPHost)); err != nil {
			return fmt.Errorf("smtp: auth: %w", err)
		}
	}
	from, err := mail.ParseAddress(c.SMTPSender)
	if err != nil {
		return fmt.Errorf("smtp: sender: %w", err)
	}
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("smtp: recipient: %w", err)
	}
	if err := client.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp: mail from: %w", err)
	}
	if err := client.Rcpt(rcpt.Address); err != nil {
		return fmt.Errorf("smtp: rcpt to: %w", err)
	}
	w, err := client.Data()
	if err != nil {
		return fmt.Errorf("smtp: data: %w", err)
	}
	if _, err := w.Write(message(from, rcpt, subject, body, time.Now())); err != nil {
		return fmt.Errorf("smtp: write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: data: %w", err)
	}
	return client.Quit()
}

// message renders an RFC 5322 plain-text message with CRLF line ends (the SMTP data writer
// does the dot-stuffing).
func message(from, to *mail.Address, subject, body string, now time.Time) []byte {
	id := make([]byte, 12)
	rand.Read(id)
	domain := "gohub.invalid"
	if _, d, ok := strings.Cut(from.Address, "@"); ok {
		domain = d
	}
	var b strings.Builder
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "8bit")
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		b.WriteString(line + "\r\n")
	}
	return []byte(b.String())
}
