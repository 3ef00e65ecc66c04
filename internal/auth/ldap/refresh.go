package ldap

import (
	"context"
	"fmt"
	"maps"

	goldap "github.com/go-ldap/ldap/v3"

	"gohub/internal/auth"
)

// RefreshUser is auth.UserRefresher with refresh_from_directory (upstream's LDAPAuthenticator
// does not refresh): as lookup_dn_search_user, or anonymously without one, it checks that the
// entry the user logged in as (auth_state.user_dn) still exists and still matches search_filter,
// and recomputes groups, the admin flag and auth_state. The hub then re-applies the allow rules,
// so a user who left allowed_groups must log in again (and is refused). A user whose entry is
// gone, or whose auth_state predates user_dn, must log in again; no server answering is an
// error, not a refusal. Without refresh_from_directory every user is up to date.
func (a *Authenticator) RefreshUser(ctx context.Context, name string, state map[string]any) (*auth.Identity, error) {
	if !a.cfg.RefreshFromDirectory {
		return nil, nil
	}
	dn, _ := state["user_dn"].(string)
	if dn == "" {
		return nil, fmt.Errorf("%w: auth_state has no user_dn (login older than refresh_from_directory)", auth.ErrRejected)
	}
	resolved, _ := state["ldap_username"].(string)
	if resolved == "" {
		resolved = name
	}
	var res *result
	err := a.withServer(ctx, func(s *session) error {
		var err error
		res, err = s.refresh(dn, resolved)
		return err
	})
	if err != nil {
		return nil, err
	}
	id := a.identity(name, res, maps.Clone(state))
	a.log.Debug("ldap refresh", "user", name, "dn", dn, "groups", res.groupDNs)
	return id, nil
}

// refresh re-reads what a login found, for the user whose entry is dn, without the user's
// password: as the service account or anonymously.
func (s *session) refresh(dn, resolved string) (*result, error) {
	cfg := &s.a.cfg
	if cfg.LookupDNSearchUser != "" {
		if err := s.bind(cfg.LookupDNSearchUser, cfg.LookupDNSearchPassword); err != nil {
			return nil, fmt.Errorf("LDAP bind as lookup_dn_search_user: %w", err)
		}
	}
	res := &result{dn: dn, resolved: resolved, attributes: map[string][]string{}}
	attrs := cfg.AuthStateAttributes
	if len(attrs) == 0 {
		attrs = []string{noAttributes}
	}
	entries, err := s.search(dn, goldap.ScopeBaseObject, "(objectClass=*)", attrs)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) || (err == nil && len(entries) != 1) {
		return nil, fmt.Errorf("%w: the user's LDAP entry %s no longer exists", auth.ErrRejected, dn)
	}
	if err != nil {
		return nil, err
	}
	if len(cfg.AuthStateAttributes) > 0 {
		for _, attr := range entries[0].Attributes {
			res.attributes[attr.Name] = attr.Values
		}
	}
	if cfg.SearchFilter != "" {
		filter := fill(cfg.SearchFilter, "{userattr}", cfg.UserAttribute, "{username}", goldap.EscapeFilter(resolved))
		found, err := s.search(cfg.UserSearchBase, goldap.ScopeWholeSubtree, filter, []string{noAttributes})
		if err != nil {
			return nil, err
		}
		if len(found) != 1 || !sameDN(found[0].DN, dn) {
			return nil, fmt.Errorf("%w: search_filter no longer matches the user's entry", auth.ErrRejected)
		}
	}
	if err := s.groups(res); err != nil {
		return nil, err
	}
	return res, nil
}

// noAttributes asks a search for no attributes at all (RFC 4511 4.5.1.8).
const noAttributes = "1.1"
