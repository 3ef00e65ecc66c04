package rbac

// modelAccess maps a read scope to the model keys it reveals (protocol.md §1.1).
type modelAccess []struct {
	scope string
	keys  []string
}

var userAccess = modelAccess{
	{"read:users", []string{"kind", "name", "user_info", "admin", "roles", "groups", "server", "pending", "created", "last_activity"}},
	{"read:users:name", []string{"kind", "name", "user_info", "admin"}},
	{"read:users:groups", []string{"kind", "name", "groups"}},
	{"read:users:activity", []string{"kind", "name", "last_activity"}},
	{"read:servers", []string{"kind", "name", "servers"}},
	{"read:roles:users", []string{"kind", "name", "roles", "admin"}},
	{"admin:auth_state", []string{"kind", "name", "auth_state"}},
}

var groupAccess = modelAccess{
	{"read:groups", []string{"kind", "name", "properties", "users"}},
	{"read:groups:name", []string{"kind", "name"}},
	{"read:roles:groups", []string{"kind", "name", "roles"}},
}

var serviceAccess = modelAccess{
	{"read:services", []string{"kind", "name", "admin", "url", "prefix", "command", "pid", "info", "display"}},
	{"read:services:name", []string{"kind", "name", "admin"}},
	{"read:roles:services", []string{"kind", "name", "roles", "admin"}},
}

func (s Set) modelKeys(access modelAccess, t Target) map[string]bool {
	out := map[string]bool{}
	for _, a := range access {
		if s.Has(a.scope, t) {
			for _, k := range a.keys {
				out[k] = true
			}
		}
	}
	return out
}

// UserModelKeys returns the keys of the User model (§1.1) the holder may see for the user
// target.User (whose groups are target.UserGroups): kind, name, admin, roles, groups, server,
// pending, created, last_activity, servers, auth_state, user_info. An empty map means the
// user is invisible. "servers" means read:servers is held for the whole user; individual
// servers may still be visible through !server= filters (check each with
// Has("read:servers", Target{Server: ...})), and JupyterHub then includes the key with only
// those servers.
func (s Set) UserModelKeys(target Target) map[string]bool {
	return s.modelKeys(userAccess, Target{User: target.User, UserGroups: target.UserGroups})
}

// GroupModelKeys returns the keys of the Group model (§1.1) the holder may see for
// target.Group: kind, name, users, properties, roles.
func (s Set) GroupModelKeys(target Target) map[string]bool {
	return s.modelKeys(groupAccess, Target{Group: target.Group})
}

// ServiceModelKeys returns the keys of the Service model (§1.1) the holder may see for
// target.Service: kind, name, admin, roles, url, prefix, command, pid, info, display.
func (s Set) ServiceModelKeys(target Target) map[string]bool {
	return s.modelKeys(serviceAccess, Target{Service: target.Service})
}
