package rbac

import (
	"fmt"
	"regexp"
	"slices"
)

// Names of the default roles.
const (
	RoleUser   = "user"
	RoleAdmin  = "admin"
	RoleServer = "server"
	RoleToken  = "token"
)

// DefaultRoles returns the built-in roles user, admin, server and token (§5.4).
func DefaultRoles() []Role {
	return []Role{
		{Name: RoleUser, Description: "Standard user privileges", Scopes: []string{"self"}},
		{Name: RoleAdmin, Description: "Elevated privileges (can do anything)", Scopes: []string{
			"admin-ui", "admin:users", "admin:servers", "admin:services", "tokens", "admin:groups",
			"list:services", "read:services", "read:hub", "proxy", "shutdown", "access:services",
			"access:servers", "read:roles", "read:metrics", "shares",
		}},
		{Name: RoleServer, Description: "Post activity only", Scopes: []string{"users:activity!user", "access:servers!server"}},
		{Name: RoleToken, Description: "Token with same permissions as its owner", Scopes: []string{"inherit"}},
	}
}

// DefaultRole returns the default role called name.
func DefaultRole(name string) (Role, bool) {
	for _, r := range DefaultRoles() {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

var roleName = regexp.MustCompile(`^[a-z][a-z0-9\-_~\.]{1,253}[a-z0-9]$`)

// ValidRoleName reports whether name fits ^[a-z][a-z0-9\-_~\.]{1,253}[a-z0-9]$.
func ValidRoleName(name string) bool {
	return roleName.MatchString(name)
}

// ValidateRole checks a configured role (§5.5): its name, its scopes, and that the admin role's
// description and scopes, when given, equal the defaults (they cannot be overridden).
func (c *Catalog) ValidateRole(r Role) error {
	if !ValidRoleName(r.Name) {
		return fmt.Errorf("invalid role name %q: role names are 3-255 characters of lowercase ASCII letters, "+
			"digits and -.~_, start with a letter and end with a letter or digit", r.Name)
	}
	if r.Name == RoleAdmin {
		def, _ := DefaultRole(RoleAdmin)
		if r.Description != "" && r.Description != def.Description {
			return fmt.Errorf("role admin: the description of the admin role cannot be overridden")
		}
		if r.Scopes != nil && !slices.Equal(r.Scopes, def.Scopes) {
			return fmt.Errorf("role admin: the scopes of the admin role cannot be overridden")
		}
	}
	for _, s := range r.Scopes {
		if err := c.Validate(s); err != nil {
			return fmt.Errorf("role %s: %w", r.Name, err)
		}
	}
	return nil
}

// RoleScopes returns the expanded scopes of roles for owner: the union of their raw scopes,
// expanded (§5.3).
func (c *Catalog) RoleScopes(roles []Role, owner Owner) Set {
	var raw []string
	for _, r := range roles {
		raw = append(raw, r.Scopes...)
	}
	return c.Expand(raw, owner, Client{})
}
