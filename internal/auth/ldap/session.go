package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"gohub/internal/auth"
)

// session is one login's (or refresh's) conversation with a server, on one connection.
type session struct {
	a      *Authenticator
	ctx    context.Context
	conn   *goldap.Conn
	server server
	// fresh is true until the server has answered once: its first answer has connect_timeout.
	fresh bool
}

// limit sets the time the next request may take: connect_timeout for the first answer of a
// server, operation_timeout after that, never past the session's deadline.
func (s *session) limit() {
	d := s.a.operation
	if s.fresh {
		d = s.a.connect
	}
	if deadline, ok := s.ctx.Deadline(); ok {
		d = min(d, time.Until(deadline))
	}
	s.conn.SetTimeout(max(d, time.Millisecond))
}

// answered notes that a request came back with an answer of the server (success or an LDAP
// result), not a network error or time-out.
func (s *session) answered(err error) {
	if err == nil || !goldap.IsErrorWithCode(err, goldap.ErrorNetwork) {
		s.fresh = false
	}
}

// result is what a successful login found out.
type result struct {
	dn         string              // the DN the user bound as
	resolved   string              // the name as the server knows it (lookup_dn), else the login
	groupDNs   []string            // configured groups the user is in
	groupNames []string            // their first RDN values, for manage_groups
	inAllowed  bool                // in one of allowed_groups
	inAdmin    bool                // in one of admin_groups
	attributes map[string][]string // auth_state_attributes
}

// login runs the steps of upstream's authenticate: lookup, bind, search_filter, groups,
// attributes. A refusal wraps auth.ErrRejected; other errors mean the server could not answer.
func (s *session) login(login, password string) (*result, error) {
	cfg := &s.a.cfg
	res := &result{resolved: login, attributes: map[string][]string{}}
	if cfg.LookupDN {
		if err := s.lookup(login, res); err != nil {
			return nil, err
		}
	}
	candidates := make([]string, 0, len(s.a.templates)+1)
	for _, t := range s.a.templates {
		candidates = append(candidates, strings.ReplaceAll(t, "{username}", goldap.EscapeDN(res.resolved)))
	}
	if len(candidates) == 0 && res.dn != "" {
		candidates = append(candidates, res.dn)
	}
	if len(candidates) == 0 {
		return nil, errors.New("LDAPAuthenticator: neither bind_dn_template nor lookup_dn is set")
	}
	res.dn = ""
	var serverErr error
	for _, dn := range candidates {
		err := s.bind(dn, password)
		if err == nil {
			res.dn = dn
			break
		}
		if !refusedBind(err) {
			serverErr = err
		}
	}
	if res.dn == "" {
		if serverErr != nil && s.ctx.Err() == nil {
			return nil, serverErr
		}
		if err := s.ctx.Err(); err != nil {
			return nil, fmt.Errorf("LDAP login: %w", err)
		}
		return nil, fmt.Errorf("%w: LDAP bind failed (wrong password or unknown user)", auth.ErrRejected)
	}
	if cfg.SearchFilter != "" {
		filter := fill(cfg.SearchFilter, "{userattr}", cfg.UserAttribute, "{username}", goldap.EscapeFilter(res.resolved))
		entries, err := s.search(cfg.UserSearchBase, goldap.ScopeWholeSubtree, filter, cfg.Attributes)
		if err != nil {
			return nil, err
		}
		if len(entries) != 1 {
			return nil, fmt.Errorf("%w: search_filter matched %d entries, want 1", auth.ErrRejected, len(entries))
		}
	}
	if err := s.groups(res); err != nil {
		return nil, err
	}
	if len(cfg.AuthStateAttributes) > 0 {
		entries, err := s.search(res.dn, goldap.ScopeBaseObject, "(objectClass=*)", cfg.AuthStateAttributes)
		if err != nil {
			return nil, err
		}
		if len(entries) == 1 {
			for _, attr := range entries[0].Attributes {
				res.attributes[attr.Name] = attr.Values
			}
		}
	}
	return res, nil
}

// lookup finds the user's entry with the service account (or anonymously) and sets res.dn and
// res.resolved.
func (s *session) lookup(login string, res *result) error {
	cfg := &s.a.cfg
	if cfg.LookupDNSearchUser != "" {
		if err := s.bind(cfg.LookupDNSearchUser, cfg.LookupDNSearchPassword); err != nil {
			// The hub's own account does not work: an error for the admin, not a refusal.
			return fmt.Errorf("LDAP bind as lookup_dn_search_user: %w", err)
		}
	}
	attr := cfg.LookupDNUserDNAttribute
	if attr == "" {
		attr = cfg.UserAttribute
	}
	filter := fill(cfg.LookupDNSearchFilter, "{login_attr}", cfg.UserAttribute, "{login}", goldap.EscapeFilter(login))
	entries, err := s.search(cfg.UserSearchBase, goldap.ScopeWholeSubtree, filter, []string{attr})
	if err != nil {
		return err
	}
	switch len(entries) {
	case 0:
		return fmt.Errorf("%w: lookup_dn found no entry", auth.ErrRejected)
	case 1:
	default:
		return fmt.Errorf("%w: lookup_dn found %d entries for one login", auth.ErrRejected, len(entries))
	}
	values := entries[0].GetEqualFoldAttributeValues(attr)
	if len(values) != 1 || values[0] == "" {
		return fmt.Errorf("%w: lookup_dn: the entry has %d values of %s, want 1", auth.ErrRejected, len(values), attr)
	}
	res.dn, res.resolved = entries[0].DN, values[0]
	return nil
}

// groups checks the user's membership of every configured group with a base search on the
// group's DN, as the bound user.
func (s *session) groups(res *result) error {
	cfg := &s.a.cfg
	res.groupDNs, res.groupNames = []string{}, []string{}
	if len(s.a.groups) == 0 {
		return nil
	}
	filter := fill(cfg.GroupSearchFilter,
		"{userdn}", goldap.EscapeFilter(res.dn),
		"{uid}", goldap.EscapeFilter(res.resolved),
		"{username}", goldap.EscapeFilter(res.resolved))
	for _, g := range s.a.groups {
		entries, err := s.search(g, goldap.ScopeBaseObject, filter, cfg.GroupAttributes)
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			s.a.log.Warn("LDAP group in allowed_groups/admin_groups does not exist", "group", g)
			continue
		}
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			continue
		}
		res.groupDNs = append(res.groupDNs, g)
		res.groupNames = append(res.groupNames, groupName(g))
		if containsDN(cfg.AllowedGroups, g) {
			res.inAllowed = true
		}
		if containsDN(cfg.AdminGroups, g) {
			res.inAdmin = true
		}
	}
	return nil
}

func (s *session) bind(dn, password string) error {
	if password == "" {
		return fmt.Errorf("%w: empty password", auth.ErrRejected)
	}
	s.limit()
	err := s.conn.Bind(dn, password)
	s.answered(err)
	if err != nil {
		return fmt.Errorf("LDAP bind: %w", err)
	}
	return nil
}

func (s *session) search(base string, scope int, filter string, attrs []string) ([]*goldap.Entry, error) {
	req := goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil)
	s.limit()
	r, err := s.conn.Search(req)
	s.answered(err)
	if err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			return nil, err
		}
		return nil, fmt.Errorf("LDAP search under %q: %w", base, err)
	}
	return r.Entries, nil
}

// refusedBind reports whether a failed bind means "these credentials do not log in" rather
// than "the server could not answer".
func refusedBind(err error) bool {
	if errors.Is(err, auth.ErrRejected) {
		return true
	}
	for _, code := range []uint16{
		goldap.LDAPResultInvalidCredentials, goldap.LDAPResultNoSuchObject,
		goldap.LDAPResultInvalidDNSyntax, goldap.LDAPResultUnwillingToPerform,
		goldap.LDAPResultInappropriateAuthentication, goldap.LDAPResultConstraintViolation,
	} {
		if goldap.IsErrorWithCode(err, code) {
			return true
		}
	}
	return false
}

// fill replaces placeholders in one pass, so a substituted value is never expanded again.
func fill(template string, pairs ...string) string {
	return strings.NewReplacer(pairs...).Replace(template)
}

// groupName is the hub group name of a group DN: the value of its first RDN ("jupyter" for
// cn=jupyter,ou=groups,dc=example,dc=org).
func groupName(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return dn
	}
	return d.RDNs[0].Attributes[0].Value
}

func containsDN(list []string, dn string) bool {
	for _, x := range list {
		if sameDN(x, dn) {
			return true
		}
	}
	return false
}
