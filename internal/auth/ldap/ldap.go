// Package ldap is upstream's LDAPAuthenticator (`ldap`, jupyterhub/ldapauthenticator 2.0): a
// login is checked by binding to an LDAP server as the user, with a DN made from templates
// (bind_dn_template) or found by a search (lookup_dn). Group membership (allowed_groups) is an
// allow rule; admin_groups decides the admin flag; chosen attributes go to auth_state.
//
// Every piece of user input is escaped for where it goes: RFC 4514 escaping in DNs, RFC 4515 in
// filters. A blank password never reaches the server, so an unauthenticated bind (which LDAP
// servers answer with success) can never count as a login.
package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"gohub/internal/auth"
)

// Authenticator checks logins against an LDAP server. It is safe for concurrent use: every
// login opens its own connection.
type Authenticator struct {
	cfg       Config
	tls       *tls.Config
	nameRE    *regexp.Regexp
	templates []string
	groups    []string // allowed_groups then admin_groups, without repeats
	timeout   time.Duration
	log       *slog.Logger
}

// New checks cfg and returns the authenticator. The defaults are accepted (as upstream does)
// although nobody can log in with them; ConfigWarnings says so, and Config.Validate refuses such
// a config file.
func New(cfg *Config, log *slog.Logger) (*Authenticator, error) {
	if cfg == nil {
		return nil, errors.New("ldap: no config")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	a := &Authenticator{
		cfg:       *cfg,
		tls:       tc,
		nameRE:    regexp.MustCompile("(?i)" + cfg.ValidUsernameRegex),
		templates: nonBlank(cfg.BindDNTemplate),
		timeout:   time.Duration(cfg.Timeout * float64(time.Second)),
		log:       log.With("authenticator", "ldap"),
	}
	for _, g := range slices.Concat(cfg.AllowedGroups, cfg.AdminGroups) {
		if !slices.ContainsFunc(a.groups, func(x string) bool { return sameDN(x, g) }) {
			a.groups = append(a.groups, g)
		}
	}
	if a.cfg.strategy() == Insecure {
		a.log.Warn("LDAPAuthenticator.tls_strategy is insecure: passwords are sent to the LDAP server in clear text")
	}
	return a, nil
}

// ConfigWarnings reports a configuration with which nobody can log in.
func (a *Authenticator) ConfigWarnings(cfg auth.Config) []string {
	var w []string
	if a.cfg.ServerAddress == "" {
		w = append(w, "LDAPAuthenticator.server_address is not set: nobody can log in")
	}
	if !a.cfg.LookupDN && len(a.templates) == 0 {
		w = append(w, "LDAPAuthenticator: neither bind_dn_template nor lookup_dn is set: nobody can log in")
	}
	noRule := (cfg.AllowAll == nil || !*cfg.AllowAll) && (cfg.AllowExistingUsers == nil || !*cfg.AllowExistingUsers) &&
		len(cfg.AllowedUsers) == 0 && len(cfg.AdminUsers) == 0
	if noRule && len(a.groups) == 0 {
		w = append(w, "no allow rule is configured: nobody can log in; set LDAPAuthenticator.allowed_groups, admin_groups or Authenticator.allow_all, allowed_users, admin_users")
	}
	return w
}

// membership is what Authenticate tells CheckAllowed through Identity.Private.
type membership struct{ allowed bool }

// CheckAllowed is the allowed_groups rule: the user is in one of them, or in one of
// admin_groups (an admin is let in, as admin_users are). It knows only what the login found, so
// a name asked about outside a login (id nil) is not allowed by it.
func (a *Authenticator) CheckAllowed(_ context.Context, _ string, id *auth.Identity) (bool, error) {
	if id == nil || len(a.groups) == 0 {
		return false, nil
	}
	m, ok := id.Private.(membership)
	return ok && m.allowed, nil
}

// Authenticate binds as the user and collects groups and attributes. The name sent to the
// server is the one typed (stripped of blanks); the hub name is the pipeline's normalised one,
// or with use_lookup_dn_username the looked-up value.
func (a *Authenticator) Authenticate(ctx context.Context, c auth.Credentials) (*auth.Identity, error) {
	login := c.Typed
	if login == "" {
		login = strings.TrimSpace(c.Username)
	}
	switch {
	case login == "":
		return nil, fmt.Errorf("%w: no username", auth.ErrRejected)
	case !a.nameRE.MatchString(login):
		return nil, fmt.Errorf("%w: username does not match valid_username_regex", auth.ErrRejected)
	case strings.TrimSpace(c.Password) == "":
		// An LDAP simple bind with a DN and no password is an "unauthenticated bind" that
		// servers answer with success (RFC 4513 5.1.2): never send one.
		return nil, fmt.Errorf("%w: empty password", auth.ErrRejected)
	case a.cfg.ServerAddress == "":
		return nil, errors.New("LDAPAuthenticator.server_address is not set")
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// go-ldap has no context; closing the connection makes a blocked call return.
	defer context.AfterFunc(ctx, func() { conn.Close() })()

	s := session{a: a, ctx: ctx, conn: conn}
	res, err := s.login(login, c.Password)
	if err != nil {
		return nil, err
	}
	name := c.Username
	if a.cfg.UseLookupDNUsername && a.cfg.LookupDN {
		name = res.resolved
	}
	if name == "" {
		name = login
	}
	id := &auth.Identity{
		Name:    name,
		Groups:  res.groupNames,
		Private: membership{allowed: res.inAllowed || res.inAdmin},
		AuthState: map[string]any{
			"ldap_groups":     res.groupDNs,
			"user_attributes": res.attributes,
		},
	}
	if len(a.cfg.AdminGroups) > 0 {
		id.Admin = auth.Bool(res.inAdmin)
	}
	a.log.Debug("ldap login", "user", name, "dn", res.dn, "groups", res.groupDNs)
	return id, nil
}

// dial connects to the server as tls_strategy says, within ctx's deadline.
func (a *Authenticator) dial(ctx context.Context) (*goldap.Conn, error) {
	deadline, _ := ctx.Deadline()
	d := &net.Dialer{Deadline: deadline}
	host := net.JoinHostPort(a.cfg.ServerAddress, strconv.Itoa(a.cfg.port()))
	var (
		conn *goldap.Conn
		err  error
	)
	switch a.cfg.strategy() {
	case OnConnect:
		conn, err = goldap.DialURL("ldaps://"+host, goldap.DialWithTLSDialer(a.tls, d))
	default:
		conn, err = goldap.DialURL("ldap://"+host, goldap.DialWithDialer(d))
	}
	if err != nil {
		return nil, fmt.Errorf("connect to LDAP server %s: %w", host, err)
	}
	conn.SetTimeout(time.Until(deadline))
	if a.cfg.strategy() == BeforeBind {
		if err := conn.StartTLS(a.tls); err != nil {
			conn.Close()
			return nil, fmt.Errorf("StartTLS with LDAP server %s: %w", host, err)
		}
	}
	return conn, nil
}

// sameDN compares two DNs as LDAP does (attribute types and values ignoring case); DNs that do
// not parse are compared as strings.
func sameDN(x, y string) bool {
	dx, err1 := goldap.ParseDN(x)
	dy, err2 := goldap.ParseDN(y)
	if err1 != nil || err2 != nil {
		return strings.EqualFold(x, y)
	}
	return dx.EqualFold(dy)
}
