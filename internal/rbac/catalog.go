package rbac

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Errors returned (wrapped) by Validate and NewCatalog, so callers can map them to 400 replies.
var (
	// ErrUnknownScope: the scope's base name is in no catalogue.
	ErrUnknownScope = errors.New("unknown scope")
	// ErrBadFilter: the part after "!" is not a filter or placeholder rbac knows.
	ErrBadFilter = errors.New("bad scope filter")
	// ErrBadCustomScope: a JupyterHub.custom_scopes entry is malformed.
	ErrBadCustomScope = errors.New("bad custom scope")
)

// Metascopes and the documentation label; they have no subscopes.
const (
	scopeSelf    = "self"
	scopeInherit = "inherit"
	scopeNoScope = "(no_scope)"
)

// Filter kinds (the word between "!" and "=").
const (
	kindUser    = "user"
	kindServer  = "server"
	kindGroup   = "group"
	kindService = "service"
)

// scopeDef is one catalogue entry.
type scopeDef struct {
	description string
	subscopes   []string
}

// builtinDefs is the built-in scope catalogue of protocol.md §5.1. Descriptions are written for gohub
// (shown on the OAuth confirmation page).
var builtinDefs = map[string]scopeDef{
	scopeNoScope:          {description: "Identify the owner of the requesting entity."},
	scopeSelf:             {description: "Your own resources."},
	scopeInherit:          {description: "Everything the owner of the token can access."},
	"admin-ui":            {description: "Open the admin page (actions need their own scopes)."},
	"admin:users":         {description: "Read, change, create and delete users and their authentication state (not their servers or tokens).", subscopes: []string{"admin:auth_state", "users", "read:roles:users", "delete:users"}},
	"admin:auth_state":    {description: "Read a user's authentication state."},
	"users":               {description: "Read and change user models (not servers, tokens or authentication state).", subscopes: []string{"read:users", "list:users", "users:activity"}},
	"delete:users":        {description: "Delete users."},
	"list:users":          {description: "List users, with at least their names.", subscopes: []string{"read:users:name"}},
	"read:users":          {description: "Read user models (with the URL of the default server when it runs).", subscopes: []string{"read:users:name", "read:users:groups", "read:users:activity"}},
	"read:users:name":     {description: "Read user names."},
	"read:users:groups":   {description: "Read the groups users belong to."},
	"read:users:activity": {description: "Read when users were last active."},
	"read:roles":          {description: "Read role assignments.", subscopes: []string{"read:roles:users", "read:roles:services", "read:roles:groups"}},
	"read:roles:users":    {description: "Read the roles of users."},
	"read:roles:services": {description: "Read the roles of services."},
	"read:roles:groups":   {description: "Read the roles of groups."},
	"users:activity":      {description: "Record user activity.", subscopes: []string{"read:users:activity"}},
	"admin:servers":       {description: "Read, start, stop, create and delete user servers and their state.", subscopes: []string{"admin:server_state", "servers"}},
	"admin:server_state":  {description: "Read and write the state of user servers."},
	"servers":             {description: "Start and stop user servers.", subscopes: []string{"read:servers", "start:servers", "delete:servers"}},
	"read:servers":        {description: "Read user names and server models (not server state).", subscopes: []string{"read:users:name"}},
	"start:servers":       {description: "Start and change user servers."},
	"delete:servers":      {description: "Stop and delete user servers."},
	"tokens":              {description: "Read, create and delete user tokens.", subscopes: []string{"read:tokens"}},
	"read:tokens":         {description: "Read user tokens."},
	"admin:groups":        {description: "Read and change groups, create and delete them.", subscopes: []string{"groups", "read:roles:groups", "delete:groups"}},
	"groups":              {description: "Read and change groups, including their members (which may change permissions).", subscopes: []string{"read:groups", "list:groups"}},
	"list:groups":         {description: "List groups, with at least their names.", subscopes: []string{"read:groups:name"}},
	"read:groups":         {description: "Read group models.", subscopes: []string{"read:groups:name"}},
	"read:groups:name":    {description: "Read group names."},
	"delete:groups":       {description: "Delete groups."},
	"admin:services":      {description: "Create, read, change and delete services (not those defined in the config file).", subscopes: []string{"list:services", "read:services", "read:roles:services"}},
	"list:services":       {description: "List services, with at least their names.", subscopes: []string{"read:services:name"}},
	"read:services":       {description: "Read service models.", subscopes: []string{"read:services:name"}},
	"read:services:name":  {description: "Read service names."},
	"read:hub":            {description: "Read details about the Hub."},
	"access:servers":      {description: "Use user servers through the API or a browser."},
	"access:services":     {description: "Use services through the API or a browser."},
	"users:shares":        {description: "Read and revoke a user's access to shared servers.", subscopes: []string{"read:users:shares"}},
	"read:users:shares":   {description: "Read which servers are shared with a user."},
	"groups:shares":       {description: "Read and revoke a group's access to shared servers.", subscopes: []string{"read:groups:shares"}},
	"read:groups:shares":  {description: "Read which servers are shared with a group."},
	"read:shares":         {description: "Read who has shared access to servers."},
	"shares":              {description: "Manage shared access to servers.", subscopes: []string{"access:servers", "read:shares", "users:shares", "groups:shares"}},
	"proxy":               {description: "Read the proxy's routing table, sync the Hub with the proxy and announce a new proxy."},
	"shutdown":            {description: "Shut the Hub down."},
	"read:metrics":        {description: "Read Prometheus metrics."},
}

// selfRoots are the scopes whose expansion, filtered by !user=<name>, is the metascope self.
var selfRoots = []string{"read:users", "users:shares", "read:shares", "users:activity", "servers", "tokens", "access:servers"}

// builtinClosure maps every built-in scope to itself plus its transitive subscopes;
// builtinAncestors maps a scope to the built-in scopes that imply it (itself excluded);
// selfBases is the sorted, expanded base list of the metascope self.
var (
	builtinClosure   = closures(builtinDefs)
	builtinAncestors = ancestors(builtinClosure)
	selfBases        = expandBases(builtinClosure, selfRoots)
)

// customScopeName is the name pattern of custom scopes (protocol.md §5.1).
var customScopeName = regexp.MustCompile(`^custom:[a-z0-9][a-z0-9_\-\*:]+[a-z0-9_\*]$`)

// Catalog knows every scope: the built-in ones and the configured custom ones.
// It is immutable after NewCatalog and safe for concurrent use.
type Catalog struct {
	defs    map[string]scopeDef
	closure map[string][]string
}

// NewCatalog validates custom scopes (names "custom:..." per protocol.md §5.1) and returns the catalogue.
// A custom scope needs a description; its subscopes must be custom scopes defined in the same map.
func NewCatalog(custom map[string]CustomScope) (*Catalog, error) {
	defs := make(map[string]scopeDef, len(builtinDefs)+len(custom))
	for name, d := range builtinDefs {
		defs[name] = d
	}
	names := make([]string, 0, len(custom))
	for name := range custom {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic first error
	for _, name := range names {
		cs := custom[name]
		if !customScopeName.MatchString(name) {
			return nil, fmt.Errorf("custom scope %q: %w: names start with \"custom:\", then a lowercase letter or digit, "+
				"and contain only lowercase ASCII letters, digits and -_:*; they may not end with - or :", name, ErrBadCustomScope)
		}
		if cs.Description == "" {
			return nil, fmt.Errorf("custom scope %q: %w: missing description", name, ErrBadCustomScope)
		}
		for _, sub := range cs.Subscopes {
			if _, ok := custom[sub]; ok {
				continue
			}
			if _, ok := builtinDefs[sub]; ok {
				return nil, fmt.Errorf("custom scope %q: %w: subscope %q is not a custom scope "+
					"(custom scopes may only imply custom scopes; use a role to group built-in ones)", name, ErrBadCustomScope, sub)
			}
			return nil, fmt.Errorf("custom scope %q: %w: subscope %q is not defined", name, ErrBadCustomScope, sub)
		}
		defs[name] = scopeDef{description: cs.Description, subscopes: slices.Clone(cs.Subscopes)}
	}
	c := &Catalog{defs: defs, closure: builtinClosure}
	if len(custom) > 0 {
		c.closure = closures(defs)
	}
	return c, nil
}

// Known reports whether base (a scope name without filter) is in the catalogue.
func (c *Catalog) Known(base string) bool {
	_, ok := c.defs[base]
	return ok
}

// Description returns the human description of a scope name (without filter).
func (c *Catalog) Description(base string) (string, bool) {
	d, ok := c.defs[base]
	return d.description, ok
}

// Names returns every scope name in the catalogue, sorted.
func (c *Catalog) Names() []string {
	out := make([]string, 0, len(c.defs))
	for name := range c.defs {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Validate reports whether a raw scope (with optional filter or placeholder) is known; the error
// says why not ("all" gets the hint to use "inherit").
func (c *Catalog) Validate(scope string) error {
	base, filter, hasFilter := strings.Cut(scope, "!")
	if _, ok := c.defs[base]; !ok {
		if base == "all" {
			return fmt.Errorf("scope %q: %w: the draft scope \"all\" is called \"inherit\"; use \"inherit\"", scope, ErrUnknownScope)
		}
		return fmt.Errorf("scope %q: %w", scope, ErrUnknownScope)
	}
	if !hasFilter {
		return nil
	}
	kind, value, hasValue := strings.Cut(filter, "=")
	switch {
	case !hasValue && (kind == kindUser || kind == kindServer || kind == kindService):
		return nil // placeholder
	case hasValue && isFilterKind(kind) && value != "":
		return nil
	case hasValue && isFilterKind(kind):
		return fmt.Errorf("scope %q: %w: empty value in filter !%s", scope, ErrBadFilter, filter)
	default:
		return fmt.Errorf("scope %q: %w: !%s is not one of !user=, !server=, !group=, !service= "+
			"or the placeholders !user, !server, !service", scope, ErrBadFilter, filter)
	}
}

// ValidateAll validates each scope and returns the first error.
func (c *Catalog) ValidateAll(scopes []string) error {
	for _, s := range scopes {
		if err := c.Validate(s); err != nil {
			return err
		}
	}
	return nil
}

func isFilterKind(kind string) bool {
	switch kind {
	case kindUser, kindServer, kindGroup, kindService:
		return true
	}
	return false
}

// closures computes, for every scope in defs, the sorted list of itself and its transitive
// subscopes. Cycles (possible among custom scopes) terminate.
func closures(defs map[string]scopeDef) map[string][]string {
	out := make(map[string][]string, len(defs))
	for name := range defs {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(n string) {
			if seen[n] {
				return
			}
			seen[n] = true
			for _, sub := range defs[n].subscopes {
				walk(sub)
			}
		}
		walk(name)
		list := make([]string, 0, len(seen))
		for n := range seen {
			list = append(list, n)
		}
		sort.Strings(list)
		out[name] = list
	}
	return out
}

// ancestors inverts a closure table: scope → the other scopes whose closure holds it.
func ancestors(closure map[string][]string) map[string][]string {
	out := map[string][]string{}
	for name, subs := range closure {
		for _, sub := range subs {
			if sub != name {
				out[sub] = append(out[sub], name)
			}
		}
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

// expandBases returns the sorted union of the closures of roots.
func expandBases(closure map[string][]string, roots []string) []string {
	set := map[string]bool{}
	for _, r := range roots {
		for _, s := range closure[r] {
			set[s] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
