// Package rbac implements JupyterHub's scopes: the catalogue, role expansion, filters
// (!user= !server= !group= !service=), token-owner intersection and access decisions (protocol.md §5).
// It is pure: it reads no database. What it must know about group membership comes in Target
// and Owner values that the caller fills.
package rbac

// This file holds the contract types; the functions live in catalog.go, expand.go, filter.go,
// check.go, models.go and roles.go.

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

// Role is a role definition as rbac needs it.
type Role struct {
	Name        string
	Description string
	Scopes      []string
}
