package rbac

import (
	"context"
	"log/slog"
	"slices"
	"strings"
)

// Expand expands raw role/token scopes for owner: metascopes (self, inherit is handled by
// TokenScopes), subscopes with filters kept, placeholders resolved against owner and client.
//
// Following JupyterHub: "self" becomes the owner's !user=<name> set for users and is dropped for
// services; "inherit" is dropped here; unresolvable placeholders and unknown scopes are dropped;
// read:users* subscopes are not produced under a !server= filter; a filtered scope is dropped
// when the same base is also held unfiltered.
func (c *Catalog) Expand(raw []string, owner Owner, client Client) Set {
	out := make(Set, len(raw)*4)
	for _, scope := range raw {
		base, filter, hasFilter := strings.Cut(scope, "!")
		switch base {
		case scopeSelf:
			if hasFilter {
				slog.Debug("rbac: dropping filtered metascope", "scope", scope)
				continue
			}
			if owner.Kind != kindUser || owner.Name == "" {
				slog.Debug("rbac: not expanding self for an owner that is not a user", "kind", owner.Kind, "owner", owner.Name)
				continue
			}
			for _, b := range selfBases {
				out[b+"!user="+owner.Name] = struct{}{}
			}
			continue
		case scopeInherit:
			continue
		}
		subs, ok := c.closure[base]
		if !ok {
			slog.Warn("rbac: dropping unknown scope", "scope", scope)
			continue
		}
		if !hasFilter {
			for _, sub := range subs {
				out[sub] = struct{}{}
			}
			continue
		}
		resolved, ok := resolveFilter(filter, owner, client)
		if !ok {
			slog.Debug("rbac: dropping scope with unresolvable filter", "scope", scope)
			continue
		}
		onServer := strings.HasPrefix(resolved, kindServer+"=")
		for _, sub := range subs {
			// A server filter makes no sense on the user-reading subscopes (read:servers →
			// read:users:name); JupyterHub skips every read:user* name there.
			if onServer && strings.HasPrefix(sub, "read:user") {
				continue
			}
			out[sub+"!"+resolved] = struct{}{}
		}
	}
	reduce(out)
	return out
}

// resolveFilter turns a filter (the text after "!") into "kind=value", resolving the
// placeholders user, server and service. ok=false when it is malformed or unresolvable.
func resolveFilter(filter string, owner Owner, client Client) (string, bool) {
	kind, value, hasValue := strings.Cut(filter, "=")
	if hasValue {
		return filter, isFilterKind(kind) && value != ""
	}
	switch kind {
	case kindUser:
		if owner.Kind == kindUser && owner.Name != "" {
			return "user=" + owner.Name, true
		}
	case kindService:
		// The issuing client's service wins over a service owner, as in JupyterHub.
		if client.Service != "" {
			return "service=" + client.Service, true
		}
		if owner.Kind == kindService && owner.Name != "" {
			return "service=" + owner.Name, true
		}
	case kindServer:
		if client.Server != "" {
			return "server=" + client.Server, true
		}
	}
	return "", false
}

// reduce drops filtered scopes whose base is also held unfiltered.
func reduce(s Set) {
	for k := range s {
		if base, _, ok := strings.Cut(k, "!"); ok {
			if _, all := s[base]; all {
				delete(s, k)
			}
		}
	}
}

// TokenScopes computes a token's effective scopes (§5.3): expand the token's raw scopes, add the
// client's access scope and the owner's identify scopes, then intersect with ownerScopes (the
// owner's expanded role scopes). "inherit" yields exactly ownerScopes (a copy), as in JupyterHub.
// Group membership is known only for the owner (Owner.Groups); use TokenScopesFunc to resolve
// !group= filters against other users too.
func (c *Catalog) TokenScopes(raw []string, owner Owner, client Client, ownerScopes Set) Set {
	return c.TokenScopesFunc(raw, owner, client, ownerScopes, ownerGroupsOf(owner))
}

// TokenScopesFunc is TokenScopes with a group lookup for any user (for Intersect).
func (c *Catalog) TokenScopesFunc(raw []string, owner Owner, client Client, ownerScopes Set, groupsOf func(user string) []string) Set {
	if slices.Contains(raw, scopeInherit) {
		return ownerScopes.Clone()
	}
	tok := c.Expand(raw, owner, client)
	if acc := AccessScope(client); acc != "" {
		tok[acc] = struct{}{}
	}
	for _, id := range IdentifyScopes(owner) {
		tok[id] = struct{}{}
	}
	reduce(tok)
	out := Intersect(tok, ownerScopes, groupsOf)
	if len(out) < len(tok) && slog.Default().Enabled(context.Background(), slog.LevelDebug) {
		var lost []string
		for k := range tok {
			if _, ok := out[k]; !ok {
				lost = append(lost, k)
			}
		}
		slices.Sort(lost)
		slog.Debug("rbac: token scopes not held by owner dropped", "owner", owner.Name, "kind", owner.Kind, "scopes", lost)
	}
	return out
}

// ownerGroupsOf answers group lookups for the owner only.
func ownerGroupsOf(owner Owner) func(string) []string {
	return func(user string) []string {
		if owner.Kind == kindUser && user == owner.Name {
			return owner.Groups
		}
		return nil
	}
}

// IdentifyScopes returns the scopes that let owner read its own identity (§5.3): for users
// read:users:name and read:users:groups filtered to the user, for services read:services:name.
func IdentifyScopes(owner Owner) []string {
	switch owner.Kind {
	case kindUser:
		return []string{"read:users:groups!user=" + owner.Name, "read:users:name!user=" + owner.Name}
	case kindService:
		return []string{"read:services:name!service=" + owner.Name}
	}
	return nil
}

// RawIdentifyScopes are the identify scopes with placeholders, as the OAuth authorize step adds
// them to every request (§2.4 step 5).
func RawIdentifyScopes() []string {
	return []string{"read:users:groups!user", "read:users:name!user"}
}

// AccessScope returns the scope needed to use an OAuth client's resource (§5.3):
// access:servers!server=U/S for a spawner's client, access:services!service=S for a service's,
// "" for the hub's own "jupyterhub" client (the zero Client).
func AccessScope(client Client) string {
	switch {
	case client.Server != "":
		return "access:servers!server=" + client.Server
	case client.Service != "":
		return "access:services!service=" + client.Service
	}
	return ""
}

// WithIdentify returns a copy of s with owner's identify scopes added, and the scopes that were
// added. The /api/user handler builds the model from the copy and reports s.Sorted() (the scopes
// without the ones added only to build the reply), as JupyterHub does.
func (s Set) WithIdentify(owner Owner) (Set, []string) {
	out := s.Clone()
	var added []string
	for _, id := range IdentifyScopes(owner) {
		if _, ok := out[id]; !ok {
			out[id] = struct{}{}
			added = append(added, id)
		}
	}
	return out, added
}

// ResolveRequested decides which OAuth-requested raw scopes a user may grant (§2.4 step 5).
// have are the user's raw role scopes plus "inherit" and the required identify/access scopes.
// A requested scope held verbatim is allowed; otherwise it is expanded and intersected with the
// expanded have: fully covered → allowed as requested; partly covered → the covered expanded
// scopes are allowed and the requested one is still reported as disallowed. Both results are sorted.
// "identify" is skipped; converting requested role names to their scopes is the caller's job.
func (c *Catalog) ResolveRequested(requested, have []string, owner Owner, client Client, groupsOf func(string) []string) (allowed, disallowed []string) {
	haveSet := make(Set, len(have))
	for _, h := range have {
		haveSet[h] = struct{}{}
	}
	allow := Set{}
	var deny []string
	for _, r := range requested {
		if r == "identify" {
			continue // the OAuth "identify" word is implied by the identify scopes
		}
		if _, ok := haveSet[r]; ok {
			allow[r] = struct{}{}
		} else if !slices.Contains(deny, r) {
			deny = append(deny, r)
		}
	}
	if len(deny) > 0 {
		expandedHave := c.Expand(have, owner, client)
		expandedAllowed := c.Expand(allow.Sorted(), owner, client)
		var still []string
		for _, d := range deny {
			want := c.Expand([]string{d}, owner, client)
			for k := range expandedAllowed {
				delete(want, k)
			}
			got := Set{}
			if len(want) > 0 {
				got = Intersect(want, expandedHave, groupsOf)
			}
			switch {
			case got.Equal(want):
				allow[d] = struct{}{}
			case len(got) > 0:
				for k := range got {
					allow[k] = struct{}{}
				}
				still = append(still, d)
			default:
				still = append(still, d)
			}
			expandedAllowed = c.Expand(allow.Sorted(), owner, client)
		}
		deny = still
	}
	slices.Sort(deny)
	return allow.Sorted(), deny
}
