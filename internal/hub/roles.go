package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gohub/internal/config"
	"gohub/internal/rbac"
	"gohub/internal/store"
)

// syncRoles brings the roles table in line with the default roles, JupyterHub.load_roles and
// Authenticator.admin_users, as JupyterHub does at every start (protocol.md §5.4, §5.5):
//   - the default roles exist with their default scopes; a configured role of the same name
//     adds to them (the admin role's scopes cannot be changed);
//   - roles that are neither default, configured nor managed by the authenticator are deleted;
//   - a configured role's member lists replace its membership exactly, and a missing list empties
//     it, except the user role's users and the admin role's members, which are kept;
//   - missing users and groups named as members are created; a missing service is an error;
//   - admin_users join the admin role, and every member of the admin role is an admin.
func syncRoles(ctx context.Context, db *store.DB, cat *rbac.Catalog, loadRoles []config.Role, adminUsers []string) error {
	defaults := map[string]rbac.Role{}
	for _, r := range rbac.DefaultRoles() {
		defaults[r.Name] = r
	}
	configured := map[string]config.Role{}
	for _, r := range loadRoles {
		if _, dup := configured[r.Name]; dup {
			return fmt.Errorf("load_roles: role %q is defined twice", r.Name)
		}
		if !rbac.ValidRoleName(r.Name) {
			return fmt.Errorf("load_roles: invalid role name %q (lowercase letters, digits and -_~. only, 3 to 255 characters, starting with a letter)", r.Name)
		}
		for _, s := range r.Scopes {
			if err := cat.Validate(s); err != nil {
				return fmt.Errorf("load_roles: role %q: %w", r.Name, err)
			}
		}
		configured[r.Name] = r
	}

	for name, d := range defaults {
		scopes := d.Scopes
		desc := d.Description
		if c, ok := configured[name]; ok && name != "admin" {
			scopes = mergeScopes(scopes, c.Scopes)
			if c.Description != "" {
				desc = c.Description
			}
		}
		if _, err := db.UpsertRole(ctx, store.Role{Name: name, Description: desc, Scopes: scopes}); err != nil {
			return fmt.Errorf("default role %q: %w", name, err)
		}
	}
	for name, c := range configured {
		if _, isDefault := defaults[name]; isDefault {
			continue
		}
		if _, err := db.UpsertRole(ctx, store.Role{Name: name, Description: c.Description, Scopes: c.Scopes}); err != nil {
			return fmt.Errorf("role %q: %w", name, err)
		}
	}

	existing, err := db.ListRoles(ctx)
	if err != nil {
		return err
	}
	current := map[string]*store.Role{}
	for _, r := range existing {
		current[r.Name] = r
		_, isDefault := defaults[r.Name]
		_, isConfigured := configured[r.Name]
		if !isDefault && !isConfigured && !r.ManagedByAuth {
			if err := db.DeleteRole(ctx, r.Name); err != nil {
				return fmt.Errorf("delete role %q no longer in the config: %w", r.Name, err)
			}
		}
	}

	for name, c := range configured {
		users, groups, services := c.Users, c.Groups, c.Services
		cur := current[name]
		if cur != nil {
			if users == nil && (name == "user" || name == "admin") {
				users = cur.Users
			}
			if name == "admin" {
				if groups == nil {
					groups = cur.Groups
				}
				if services == nil {
					services = cur.Services
				}
			}
		}
		if name == "admin" {
			users = mergeScopes(users, adminUsers)
		}
		if err := ensureMembers(ctx, db, users, groups); err != nil {
			return fmt.Errorf("role %q: %w", name, err)
		}
		if err := db.SetRoleMembers(ctx, name, users, groups, services); err != nil {
			return fmt.Errorf("role %q members: %w", name, err)
		}
	}
	if _, ok := configured["admin"]; !ok {
		if err := ensureMembers(ctx, db, adminUsers, nil); err != nil {
			return fmt.Errorf("admin_users: %w", err)
		}
		for _, u := range adminUsers {
			if err := db.GrantRole(ctx, "admin", store.KindUser, u); err != nil {
				return fmt.Errorf("admin_users: %w", err)
			}
		}
	}
	return syncAdminFlags(ctx, db)
}

// syncAdminFlags sets users.admin for every user in the admin role (directly), as upstream does
// after loading roles.
func syncAdminFlags(ctx context.Context, db *store.DB) error {
	admin, err := db.GetRole(ctx, "admin")
	if err != nil {
		return err
	}
	yes := true
	for _, name := range admin.Users {
		u, err := db.GetUser(ctx, name)
		if err != nil {
			return err
		}
		if !u.Admin {
			if _, err := db.UpdateUser(ctx, u.ID, store.UserUpdate{Admin: &yes}); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureMembers creates the users and groups that a role names and that do not exist yet.
func ensureMembers(ctx context.Context, db *store.DB, users, groups []string) error {
	if len(users) > 0 {
		if _, err := db.CreateUsers(ctx, users, false); err != nil {
			return fmt.Errorf("create users: %w", err)
		}
	}
	for _, g := range groups {
		if _, err := db.GetGroup(ctx, g); errors.Is(err, store.ErrNotFound) {
			if _, err := db.CreateGroups(ctx, []string{g}, nil); err != nil && !errors.Is(err, store.ErrExists) {
				return fmt.Errorf("create group %q: %w", g, err)
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// mergeScopes returns a ∪ b, keeping a's order and appending what b adds.
func mergeScopes(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
