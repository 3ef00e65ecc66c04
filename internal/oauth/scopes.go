package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

const (
	scopeInherit  = "inherit"
	scopeIdentify = "identify"
	clientPrefix  = "jupyterhub-user-"
)

// target is what an OAuth client gives access to: a user's server or a service.
type target struct {
	client  rbac.Client
	owner   *store.User    // the server's owner, for a spawner's client
	service *store.Service // the service, for a service's client
}

// clientTarget finds the server or service the client belongs to, looking at current's own
// servers first; ok=false when neither (a stale client, or the hub's own).
//
// A server's client id is jupyterhub-user-{quote(name)}[-{quote(server)}], and "-" is not
// quoted, so the id alone is ambiguous ("a-b" vs user "a", server "b"): each split is tried
// and the spawner row whose oauth_client_id is the client decides.
func (p *Provider) clientTarget(ctx context.Context, clientID string, current *store.User) (target, bool, error) {
	// The common case, and the one a renamed user's old client id needs: the user's own server.
	for _, sp := range current.Spawners {
		if sp.OAuthClientID == clientID {
			return target{client: rbac.Client{Server: current.Name + "/" + sp.Name}, owner: current}, true, nil
		}
	}
	if rest, ok := strings.CutPrefix(clientID, clientPrefix); ok && rest != "" {
		splits := []int{len(rest)}
		for i := range len(rest) {
			if rest[i] == '-' {
				splits = append(splits, i)
			}
		}
		seen := map[string]bool{}
		for _, i := range splits {
			name, err := url.PathUnescape(rest[:i])
			if err != nil || name == "" || seen[name] {
				continue
			}
			seen[name] = true
			u, err := p.db.GetUser(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return target{}, false, fmt.Errorf("owner of oauth client %q: %w", clientID, err)
			}
			for _, sp := range u.Spawners {
				if sp.OAuthClientID == clientID {
					return target{client: rbac.Client{Server: u.Name + "/" + sp.Name}, owner: u}, true, nil
				}
			}
		}
	}
	svcs, err := p.db.ListServices(ctx)
	if err != nil {
		return target{}, false, fmt.Errorf("service of oauth client %q: %w", clientID, err)
	}
	for _, s := range svcs {
		if s.OAuthClientID == clientID {
			return target{client: rbac.Client{Service: s.Name}, service: s}, true, nil
		}
	}
	return target{}, false, nil
}

// owner is u as rbac sees it.
func owner(u *store.User) rbac.Owner {
	return rbac.Owner{Kind: store.KindUser, Name: u.Name, Groups: u.Groups}
}

// rawScopes returns the unexpanded scopes of u's roles (its groups' roles included).
func (p *Provider) rawScopes(ctx context.Context, u *store.User) ([]string, error) {
	roles, err := p.db.RolesOf(ctx, store.KindUser, u.ID)
	if err != nil {
		return nil, fmt.Errorf("roles of user %s: %w", u.Name, err)
	}
	var raw []string
	for _, r := range roles {
		raw = append(raw, r.Scopes...)
	}
	return raw, nil
}

// groupsOf answers rbac's group lookups from the database, for !group= filters on other users.
func (p *Provider) groupsOf(ctx context.Context, known *store.User) func(string) []string {
	cache := map[string][]string{known.Name: known.Groups}
	return func(name string) []string {
		if g, ok := cache[name]; ok {
			return g
		}
		var groups []string
		if u, err := p.db.GetUser(ctx, name); err == nil {
			groups = u.Groups
		} else if !errors.Is(err, store.ErrNotFound) {
			p.log.Warn("look up groups for a scope filter", "user", name, "err", err)
		}
		cache[name] = groups
		return groups
	}
}

// mayAccess reports whether u holds access:servers on the client's server or access:services
// on its service (protocol.md §2.4 step 4).
func (p *Provider) mayAccess(ctx context.Context, u *store.User, t target) (bool, error) {
	raw, err := p.rawScopes(ctx, u)
	if err != nil {
		return false, err
	}
	have := p.d.Catalog.Expand(raw, owner(u), rbac.Client{})
	switch {
	case t.owner != nil:
		return have.Has("access:servers", rbac.Target{
			User: t.owner.Name, UserGroups: t.owner.Groups, Server: t.client.Server}), nil
	case t.service != nil:
		return have.Has("access:services", rbac.Target{Service: t.service.Name}), nil
	}
	return false, nil
}

// requiredScopes are added to every request: the identify scopes and the client's access scope.
func requiredScopes(t target) []string {
	req := rbac.RawIdentifyScopes()
	if acc := rbac.AccessScope(t.client); acc != "" {
		req = append(req, acc)
	}
	return req
}

// defaultScopes are granted when a request names none: the client's allowed scopes, plus the
// required ones unless the client is allowed inherit.
func defaultScopes(c *store.OAuthClient, t target) []string {
	out := slices.Clone(c.AllowedScopes)
	if !slices.Contains(out, scopeInherit) {
		out = append(out, requiredScopes(t)...)
	}
	return out
}

// validateScopes checks requested scopes against what the client may ask for (JupyterHub's
// validate_scopes) and returns them with the required scopes added, sorted. "identify" is
// ignored; when a scope is unknown, every requested name must be a role, whose scopes replace
// the request. A scope the client's allowed scopes do not cover is an invalid_scope error.
func (p *Provider) validateScopes(ctx context.Context, requested []string, c *store.OAuthClient, t target, u *store.User) ([]string, error) {
	var req []string
	for _, s := range requested {
		if s != scopeIdentify && !slices.Contains(req, s) {
			req = append(req, s)
		}
	}
	if p.d.Catalog.ValidateAll(req) != nil {
		var fromRoles []string
		for _, name := range req {
			role, err := p.db.GetRole(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("no such scope or role: %q", name)
			}
			if err != nil {
				return nil, fmt.Errorf("requested role %q: %w", name, err)
			}
			fromRoles = append(fromRoles, role.Scopes...)
		}
		req = fromRoles
	}
	required := requiredScopes(t)
	allowed := append(slices.Clone(c.AllowedScopes), required...)
	req = sortUniq(append(req, required...))
	// rbac expands inherit to nothing, so it would always pass the check below; JupyterHub
	// expands it to the user's own scopes, which a client not allowed inherit does not cover.
	if slices.Contains(req, scopeInherit) && !slices.Contains(allowed, scopeInherit) {
		return nil, errors.New("scope inherit is not allowed for this client")
	}
	_, disallowed := p.d.Catalog.ResolveRequested(req, allowed, owner(u), t.client, p.groupsOf(ctx, u))
	if len(disallowed) > 0 {
		return nil, fmt.Errorf("scopes not allowed for client %s: %s", c.Identifier, strings.Join(disallowed, ", "))
	}
	return req, nil
}

// userScopes keeps of the validated scopes what u holds (protocol.md §2.4 step 5): u's raw role
// scopes, inherit and the required scopes are the scopes u may grant. What u lacks is dropped.
func (p *Provider) userScopes(ctx context.Context, requested []string, t target, u *store.User) ([]string, error) {
	raw, err := p.rawScopes(ctx, u)
	if err != nil {
		return nil, err
	}
	have := append(raw, scopeInherit)
	have = append(have, requiredScopes(t)...)
	allowed, disallowed := p.d.Catalog.ResolveRequested(requested, have, owner(u), t.client, p.groupsOf(ctx, u))
	if len(disallowed) > 0 {
		p.log.Warn("oauth: granting only the requested scopes the user holds", "user", u.Name,
			"client", t.client, "dropped", disallowed)
	}
	return allowed, nil
}

// sortUniq sorts v and removes duplicates.
func sortUniq(v []string) []string {
	slices.Sort(v)
	return slices.Compact(v)
}
