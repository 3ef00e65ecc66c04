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
		if unreachable(err) {
			// The server stopped answering: the next one gets the whole login.
			return nil, err
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

// groups finds the user's groups: with group_search_base all of them (and, to
// nested_groups_depth, the groups those are members of), else each configured group by a base
// search on its DN, as upstream does.
func (s *session) groups(res *result) error {
	res.groupDNs, res.groupNames = []string{}, []string{}
	if s.a.cfg.GroupSearchBase != "" {
		return s.enumerateGroups(res)
	}
	if len(s.a.groups) == 0 {
		return nil
	}
	filter := s.memberFilter(res)
	for _, g := range s.a.groups {
		entries, err := s.search(g, goldap.ScopeBaseObject, filter, s.a.cfg.GroupAttributes)
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
		s.addGroup(res, g, groupName(g))
	}
	return nil
}

// memberFilter is group_search_filter (or the in-chain filter) for the user of res.
func (s *session) memberFilter(res *result) string {
	f := s.a.cfg.GroupSearchFilter
	if s.a.cfg.MatchingRuleInChain {
		f = inChainFilter
	}
	return fill(f,
		"{userdn}", goldap.EscapeFilter(res.dn),
		"{uid}", goldap.EscapeFilter(res.resolved),
		"{username}", goldap.EscapeFilter(res.resolved))
}

// enumerateGroups finds every group under group_search_base the user is a member of, then
// follows nested_groups_depth levels of groups whose members are groups already found (one
// search per level; a group seen before is not searched again, so cycles end).
func (s *session) enumerateGroups(res *result) error {
	cfg := &s.a.cfg
	attrs := []string{cfg.GroupNameAttribute}
	entries, err := s.search(cfg.GroupSearchBase, goldap.ScopeWholeSubtree, s.memberFilter(res), attrs)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return fmt.Errorf("LDAP group_search_base %q does not exist", cfg.GroupSearchBase)
	}
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	add := func(entries []*goldap.Entry) []string {
		var added []string
		for _, e := range entries {
			key := normDN(e.DN)
			if seen[key] {
				continue
			}
			seen[key] = true
			name := e.GetEqualFoldAttributeValue(cfg.GroupNameAttribute)
			if name == "" {
				name = groupName(e.DN)
			}
			s.addGroup(res, e.DN, name)
			added = append(added, e.DN)
		}
		return added
	}
	frontier := add(entries)
	for depth := 1; depth <= cfg.NestedGroupsDepth && len(frontier) > 0; depth++ {
		parts := make([]string, len(frontier))
		for i, dn := range frontier {
			parts[i] = fill(cfg.NestedGroupSearchFilter, "{groupdn}", goldap.EscapeFilter(dn))
		}
		filter := parts[0]
		if len(parts) > 1 {
			filter = "(|" + strings.Join(parts, "") + ")"
		}
		entries, err := s.search(cfg.GroupSearchBase, goldap.ScopeWholeSubtree, filter, attrs)
		if err != nil {
			return err
		}
		frontier = add(entries)
		if depth == cfg.NestedGroupsDepth && len(frontier) > 0 {
			s.a.log.Debug("LDAP nested groups: groups containing these were not searched (nested_groups_depth)", "depth", depth, "groups", frontier)
		}
	}
	return nil
}

// addGroup records one group of the user.
func (s *session) addGroup(res *result, dn, name string) {
	res.groupDNs = append(res.groupDNs, dn)
	res.groupNames = append(res.groupNames, name)
	if containsDN(s.a.cfg.AllowedGroups, dn) {
		res.inAllowed = true
	}
	if containsDN(s.a.cfg.AdminGroups, dn) {
		res.inAdmin = true
	}
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

// normDN is a key for a DN that is the same for DNs LDAP takes as equal (case of types and
// values aside).
func normDN(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(dn)
	}
	return strings.ToLower(d.String())
}

func containsDN(list []string, dn string) bool {
	for _, x := range list {
		if sameDN(x, dn) {
			return true
		}
	}
	return false
}
