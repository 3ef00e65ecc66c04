// Package rbac implements JupyterHub's scopes: the catalogue, role expansion, filters
// (!user= !server= !group= !service=), token-owner intersection and access decisions (spec §5).
// It is pure: it reads no database. What it must know about group membership comes in Target
// and Owner values that the caller fills.
package rbac

// This file is the contract other packages code against. Bodies that panic are being written.

// Set is a set of expanded scopes, each "base" or "base!kind=value" (e.g. "read:users!user=alice").
type Set map[string]struct{}

// Owner is whom scopes are expanded for: the placeholders !user, !server and !service and the
// metascope self resolve against it.
type Owner struct {
	Kind   string // "user" or "service"
	Name   string
	Groups []string // the user's groups (for intersections with !group= filters)
}

// Client is the OAuth client a token was issued to, for resolving !server and !service
// placeholders and adding the client's access scope. Zero value: the "jupyterhub" client.
type Client struct {
	// Server is "user/server" when the client belongs to a spawner ("alice/" for alice's default).
	Server string
	// Service is the service name when the client belongs to a service.
	Service string
}

// Target is the resource a request acts on, derived from URL arguments.
type Target struct {
	User       string   // user name, if the URL names one
	UserGroups []string // the groups that user belongs to (so !group= filters can match)
	Server     string   // "user/server" if the URL names a server ("alice/" for the default one)
	Group      string
	Service    string
}

// Decision is the result of Check.
type Decision int

const (
	// Forbidden: the scope is not held at all (403).
	Forbidden Decision = iota
	// NotFound: held only with filters that don't match the target (404, indistinguishable
	// from non-existence).
	NotFound
	// Allowed: held for the target.
	Allowed
)

// CustomScope is a JupyterHub.custom_scopes entry.
type CustomScope struct {
	Description string   `yaml:"description" json:"description"`
	Subscopes   []string `yaml:"subscopes" json:"subscopes"`
}

// Catalog knows every scope: the built-in ones and the configured custom ones.
type Catalog struct{}

// NewCatalog validates custom scopes (names "custom:..." per spec §5.1) and returns the catalogue.
func NewCatalog(custom map[string]CustomScope) (*Catalog, error) { panic("unimplemented") }

// Validate reports whether a raw scope (with optional filter or placeholder) is known; the error
// says why not ("all" gets the hint to use "inherit").
func (c *Catalog) Validate(scope string) error { panic("unimplemented") }

// Expand expands raw role/token scopes for owner: metascopes (self, inherit is handled by
// TokenScopes), subscopes with filters kept, placeholders resolved against owner and client.
func (c *Catalog) Expand(raw []string, owner Owner, client Client) Set { panic("unimplemented") }

// TokenScopes computes a token's effective scopes (§5.3): expand the token's raw scopes, add the
// client's access scope and the owner's identify scopes, then intersect with ownerScopes (the
// owner's expanded role scopes). "inherit" yields ownerScopes (plus identify scopes).
func (c *Catalog) TokenScopes(raw []string, owner Owner, client Client, ownerScopes Set) Set {
	panic("unimplemented")
}

// Intersect returns the scopes of a that b also grants, resolving server ⊂ user ⊂ group
// using owner's and filter values (a "!server=u/s" in a is kept when b has "!user=u").
// groupsOf returns the groups of a user, for !group= filters.
func Intersect(a, b Set, groupsOf func(user string) []string) Set { panic("unimplemented") }

// Check decides whether any of the required base scopes (e.g. "read:users") is held for target.
func (s Set) Check(required []string, target Target) Decision { panic("unimplemented") }

// Has reports whether base scope is held for target (Check with one scope == Allowed).
func (s Set) Has(scope string, target Target) bool { panic("unimplemented") }

// ListFilter says which resources a list scope (list:users, list:groups, list:services) reaches:
// all=true when held unfiltered; else the names from its !user=, !group=, !service= filters.
// held=false when not held at all.
func (s Set) ListFilter(scope string) (held, all bool, users, groups, services []string) {
	panic("unimplemented")
}

// Sorted returns the scopes in sorted order (for JSON replies).
func (s Set) Sorted() []string { panic("unimplemented") }

// Role is a role definition as rbac needs it.
type Role struct {
	Name        string
	Description string
	Scopes      []string
}

// DefaultRoles returns the built-in roles user, admin, server and token (§5.4).
func DefaultRoles() []Role { panic("unimplemented") }

// ValidRoleName reports whether name fits ^[a-z][a-z0-9\-_~\.]{1,253}[a-z0-9]$.
func ValidRoleName(name string) bool { panic("unimplemented") }
