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
	servers   []server
	timeout   time.Duration
	connect   time.Duration // connect_timeout
	operation time.Duration // operation_timeout
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
		servers:   cfg.servers(),
		timeout:   seconds(cfg.Timeout),
		connect:   seconds(cfg.ConnectTimeout),
		operation: seconds(cfg.OperationTimeout),
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
	if len(a.servers) == 0 {
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
	case len(a.servers) == 0:
		return nil, errors.New("LDAPAuthenticator.server_address is not set")
	}
	var res *result
	err := a.withServer(ctx, func(s *session) error {
		var err error
		res, err = s.login(login, c.Password)
		return err
	})
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
	id := a.identity(name, res, map[string]any{})
	a.log.Debug("ldap login", "user", name, "dn", res.dn, "groups", res.groupDNs)
	return id, nil
}

// identity is what a login or a refresh found, with auth_state (upstream's ldap_groups and
// user_attributes, and user_dn and ldap_username, which a refresh needs) set in state.
func (a *Authenticator) identity(name string, res *result, state map[string]any) *auth.Identity {
	state["ldap_groups"] = res.groupDNs
	state["user_attributes"] = res.attributes
	state["user_dn"] = res.dn
	state["ldap_username"] = res.resolved
	id := &auth.Identity{
		Name:      name,
		Groups:    res.groupNames,
		Private:   membership{allowed: res.inAllowed || res.inAdmin},
		AuthState: state,
	}
	if len(a.cfg.AdminGroups) > 0 {
		id.Admin = auth.Bool(res.inAdmin)
	}
	return id
}

// withServer runs fn on a connection to the first server of server_address that answers, all
// within timeout. A server that cannot be reached, does not answer within connect_timeout or
// operation_timeout, or says it is busy or unavailable costs only that time: fn starts again on
// the next server. Any answer of a server (a refusal included) is final. When no server
// answers, the error is an error of the hub, never a refusal.
func (a *Authenticator) withServer(ctx context.Context, fn func(*session) error) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	var errs []error
	for i, srv := range a.servers {
		err := a.onServer(ctx, srv, fn)
		if err == nil || !unreachable(err) {
			return err
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("LDAP: no answer within timeout (%s)", a.timeout))
			break
		}
		if i+1 < len(a.servers) {
			a.log.Warn("LDAP server does not answer; trying the next one", "server", srv.String(), "next", a.servers[i+1].String(), "err", err)
		}
	}
	return fmt.Errorf("no LDAP server answered: %w", errors.Join(errs...))
}

// onServer connects to srv and runs fn on the connection.
func (a *Authenticator) onServer(ctx context.Context, srv server, fn func(*session) error) error {
	conn, err := a.dial(ctx, srv)
	if err != nil {
		return err
	}
	defer conn.Close()
	// go-ldap has no context; closing the connection makes a blocked call return.
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	// Without TLS nothing has come from the server yet: its first answer is part of connecting.
	s := &session{a: a, ctx: ctx, conn: conn, server: srv, fresh: a.cfg.strategy() == Insecure}
	if err := fn(s); err != nil {
		if ctx.Err() != nil && !errors.Is(err, auth.ErrRejected) {
			return fmt.Errorf("LDAP server %s: %w (%w)", srv, err, ctx.Err())
		}
		return err
	}
	return nil
}

// dial connects to srv as tls_strategy says, within connect_timeout and ctx's deadline.
func (a *Authenticator) dial(ctx context.Context, srv server) (*goldap.Conn, error) {
	deadline, _ := ctx.Deadline()
	d := &net.Dialer{Timeout: a.connect, Deadline: deadline}
	host := srv.String()
	var tc *tls.Config
	if a.tls != nil {
		tc = a.tls.Clone()
		tc.ServerName = srv.host
	}
	var (
		conn *goldap.Conn
		err  error
	)
	switch a.cfg.strategy() {
	case OnConnect:
		// The dialer's timeout covers the TLS handshake too.
		conn, err = goldap.DialURL("ldaps://"+host, goldap.DialWithTLSDialer(tc, d))
	default:
		conn, err = goldap.DialURL("ldap://"+host, goldap.DialWithDialer(d))
	}
	if err != nil {
		return nil, fmt.Errorf("connect to LDAP server %s: %w", host, err)
	}
	if a.cfg.strategy() == BeforeBind {
		conn.SetTimeout(min(a.connect, time.Until(deadline)))
		if err := conn.StartTLS(tc); err != nil {
			conn.Close()
			return nil, fmt.Errorf("StartTLS with LDAP server %s: %w", host, err)
		}
	}
	return conn, nil
}

// unreachable reports whether err means that the server did not answer (so the next one may),
// rather than that it answered.
func unreachable(err error) bool {
	if errors.Is(err, auth.ErrRejected) {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || goldap.IsErrorAnyOf(err,
		goldap.ErrorNetwork, goldap.LDAPResultBusy, goldap.LDAPResultUnavailable,
		goldap.LDAPResultServerDown, goldap.LDAPResultTimeout, goldap.LDAPResultConnectError)
}

// seconds converts a config value in seconds.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

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
