package recovery

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"
)

// Class is the config section of Config.
const Class = "AccountRecovery"

// Config is the AccountRecovery config class (a gohub addition): one-time password-reset links
// and invitations for authenticators whose passwords the hub keeps (firstuse; native once it
// implements auth.PasswordSetter), and the SMTP server that mails reset links.
type Config struct {
	ResetLinkExpirySeconds int `yaml:"reset_link_expiry_seconds" help:"How long a password-reset link works, in seconds (it works once)."`
	InviteExpirySeconds    int `yaml:"invite_expiry_seconds" help:"How long an invitation link works, in seconds (it works once)."`

	SMTPHost     string `yaml:"smtp_host" help:"SMTP server that mails password-reset links; empty turns 'Forgot password?' off (admins can still hand out links)."`
	SMTPPort     int    `yaml:"smtp_port" help:"SMTP port (587 for starttls, 465 for tls, 25 for none)."`
	SMTPTLS      string `yaml:"smtp_tls" help:"starttls (required, the default), tls (implicit TLS) or none (plain text; only sensible for a relay on the same machine)."`
	SMTPSender   string `yaml:"smtp_sender" help:"From address of the mails, e.g. 'Jupyter <jupyter@example.org>'."`
	SMTPUsername string `yaml:"smtp_username" help:"SMTP login (AUTH PLAIN, only over TLS or to localhost); empty sends without logging in."`
	SMTPPassword string `yaml:"smtp_password" help:"SMTP password; never logged."`
	SMTPCAFile   string `yaml:"smtp_ca_file" help:"PEM file of the certificate authorities to trust for the SMTP server's certificate; empty uses the system's."`
	// SMTPTimeoutSeconds bounds one delivery.
	SMTPTimeoutSeconds int `yaml:"smtp_timeout_seconds" help:"How long one mail delivery may take, in seconds."`

	UserEmails map[string]string `yaml:"user_emails" help:"Email address of each user (hub name → address) for authenticators without one of their own; native users' sign-up email is used when a name is not listed here."`
	// ForgotIntervalSeconds limits how often one name is mailed.
	ForgotIntervalSeconds int `yaml:"forgot_interval_seconds" help:"At most one reset mail per user in this many seconds, whatever is asked."`
}

// DefaultConfig returns the defaults: links live an hour, invitations a week, no SMTP.
func DefaultConfig() *Config {
	return &Config{
		ResetLinkExpirySeconds: 3600,
		InviteExpirySeconds:    7 * 24 * 3600,
		SMTPPort:               587,
		SMTPTLS:                "starttls",
		SMTPTimeoutSeconds:     30,
		ForgotIntervalSeconds:  300,
	}
}

// Validate checks the values; a bad one is an error naming the key.
func (c *Config) Validate() error {
	switch {
	case c.ResetLinkExpirySeconds <= 0:
		return fmt.Errorf("reset_link_expiry_seconds must be positive, got %d", c.ResetLinkExpirySeconds)
	case c.InviteExpirySeconds <= 0:
		return fmt.Errorf("invite_expiry_seconds must be positive, got %d", c.InviteExpirySeconds)
	case c.ForgotIntervalSeconds < 0:
		return fmt.Errorf("forgot_interval_seconds must not be negative, got %d", c.ForgotIntervalSeconds)
	}
	for name, addr := range c.UserEmails {
		if _, err := mail.ParseAddress(addr); err != nil {
			return fmt.Errorf("user_emails: %s: %q is not an email address", name, addr)
		}
	}
	if c.SMTPHost == "" {
		return nil
	}
	switch c.SMTPTLS {
	case "starttls", "tls", "none":
	default:
		return fmt.Errorf("smtp_tls must be starttls, tls or none, got %q", c.SMTPTLS)
	}
	if c.SMTPPort <= 0 || c.SMTPPort > 65535 {
		return fmt.Errorf("smtp_port must be a port number, got %d", c.SMTPPort)
	}
	if c.SMTPSender == "" {
		return errors.New("smtp_sender is required with smtp_host")
	}
	if _, err := mail.ParseAddress(c.SMTPSender); err != nil {
		return fmt.Errorf("smtp_sender %q is not an address: %w", c.SMTPSender, err)
	}
	if c.SMTPUsername != "" && c.SMTPTLS == "none" && !isLoopback(c.SMTPHost) {
		return errors.New("smtp_username with smtp_tls none would send the password in clear text; use starttls or tls")
	}
	if c.SMTPCAFile != "" {
		if _, err := loadCAs(c.SMTPCAFile); err != nil {
			return fmt.Errorf("smtp_ca_file: %w", err)
		}
	}
	if c.SMTPTimeoutSeconds <= 0 {
		return fmt.Errorf("smtp_timeout_seconds must be positive, got %d", c.SMTPTimeoutSeconds)
	}
	return nil
}

// ResetTTL is reset_link_expiry_seconds as a duration.
func (c *Config) ResetTTL() time.Duration {
	return time.Duration(c.ResetLinkExpirySeconds) * time.Second
}

// InviteTTL is invite_expiry_seconds as a duration.
func (c *Config) InviteTTL() time.Duration { return time.Duration(c.InviteExpirySeconds) * time.Second }

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
