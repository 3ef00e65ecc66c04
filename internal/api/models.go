package api

import (
	"strings"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

// userKeys is a set of User model keys (§1.1) as bits.
type userKeys uint16

const (
	ukKind userKeys = 1 << iota
	ukName
	ukAdmin
	ukRoles
	ukGroups
	ukServer
	ukPending
	ukCreated
	ukLastActivity
	ukServers
	ukAuthState
	ukUserInfo
	// ukBlocked is gohub's "blocked": true, written only for a blocked user and only to callers
	// holding admin:users on them (the scope that sets it); not a key of upstream's model.
	ukBlocked
)

var userKeyBits = map[string]userKeys{
	"kind": ukKind, "name": ukName, "admin": ukAdmin, "roles": ukRoles, "groups": ukGroups,
	"server": ukServer, "pending": ukPending, "created": ukCreated, "last_activity": ukLastActivity,
	"servers": ukServers, "auth_state": ukAuthState, "user_info": ukUserInfo,
}

func toUserKeys(m map[string]bool) userKeys {
	var k userKeys
	for name, ok := range m {
		if ok {
			k |= userKeyBits[name]
		}
	}
	return k
}

// userReadScopes are the scopes that reveal parts of a user model.
var userReadScopes = []string{"read:users", "read:users:name", "read:users:groups", "read:users:activity",
	"read:servers", "read:roles:users", "admin:auth_state", "admin:server_state", "admin:users"}

// callerKeys caches, per caller, what it may see of any user through unfiltered scopes.
type callerKeys struct {
	filtered    bool     // some user-reading scope is held with a filter: decide per user
	user        userKeys // keys visible for every user
	serverState bool     // admin:server_state for every server
}

func (c *caller) modelKeys() *callerKeys {
	c.keysOnce.Do(func() {
		k := &callerKeys{}
		k.user = toUserKeys(c.scopes.UserModelKeys(rbac.Target{}))
		if c.scopes.Has("admin:users", rbac.Target{}) {
			k.user |= ukBlocked
		}
		k.serverState = c.scopes.Has("admin:server_state", rbac.Target{})
		for s := range c.scopes {
			base, _, ok := strings.Cut(s, "!")
			if ok && contains(userReadScopes, base) {
				k.filtered = true
				break
			}
		}
		c.keys = k
	})
	return c.keys
}

// userView is what a caller may see of one user.
type userView struct {
	keys       userKeys
	allServers bool // every server of the user is visible
	allState   bool // every server's state is visible
	c          *caller
	target     rbac.Target
}

func (a *API) viewOf(c *caller, u *store.User) userView {
	ck := c.modelKeys()
	if !ck.filtered {
		return userView{keys: ck.user, allServers: ck.user&ukServers != 0, allState: ck.serverState, c: c}
	}
	t := rbac.Target{User: u.Name, UserGroups: u.Groups}
	keys := toUserKeys(c.scopes.UserModelKeys(t))
	if c.scopes.Has("admin:users", t) {
		keys |= ukBlocked
	}
	return userView{
		keys:       keys,
		allServers: keys&ukServers != 0,
		allState:   c.scopes.Has("admin:server_state", t),
		c:          c,
		target:     t,
	}
}

// serverVisible reports whether a server of the user is visible, and with its state.
func (v *userView) serverVisible(user, server string) (visible, state bool) {
	visible, state = v.allServers, v.allState
	if (visible && state) || v.target.User == "" {
		return visible, state
	}
	t := rbac.Target{Server: user + "/" + server, UserGroups: v.target.UserGroups}
	if !visible {
		visible = v.c.scopes.Has("read:servers", t)
	}
	if !state {
		state = v.c.scopes.Has("admin:server_state", t)
	}
	return visible, state
}

// userOpts tune a user model.
type userOpts struct {
	includeStopped bool
	authState      map[string]any // the decrypted auth_state for GET one user / PATCH; nil → null
}

// escapePath quotes a user or server name for URL paths as Python's quote(name, safe="@~").
func escapePath(s string) string {
	for i := 0; i < len(s); i++ {
		if !pathSafe(s[i]) {
			return escapeFrom(s, i)
		}
	}
	return s
}

func pathSafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '~' || c == '@'
}

func escapeFrom(s string, i int) string {
	const hexUpper = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+8)
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if pathSafe(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&0xf])
		}
	}
	return string(b)
}

// userURL is the path of the user's default server, {base}user/{name}/.
func (a *API) userURL(name string) string {
	path := a.base + "user/" + escapePath(name) + "/"
	if a.d.Subdomains != nil {
		return a.d.Subdomains.UserOrigin(name) + path
	}
	return path
}

// publicOrigin is the origin of Deps.PublicURL, "" when unset.
func (a *API) publicOrigin() string {
	if a.d.PublicURL == nil || a.d.PublicURL.Host == "" {
		return ""
	}
	return a.d.PublicURL.Scheme + "://" + a.d.PublicURL.Host
}

// pending returns the pending transition of a server, "" when none.
func (a *API) pending(user, server string) string {
	if a.d.Servers == nil {
		return ""
	}
	return a.d.Servers.Status(user, server).Pending
}

// serversSig summarises what the spawner manager says of u's servers (the default one and
// every row): pending, ready, active and failed. A cached rendering or row of u is served only
// while its signature is unchanged, so a spawn finishing in the background, a server dying or a
// start from the spawn page shows at once although the manager has no change notification.
// Checking costs one map lookup per server; "" without a manager.
func (a *API) serversSig(u *store.User) string {
	if a.d.Servers == nil {
		return ""
	}
	b := make([]byte, 0, 8*(len(u.Spawners)+1))
	add := func(name string) {
		st := a.d.Servers.Status(u.Name, name)
		b = append(b, name...)
		b = append(b, 0)
		b = append(b, st.Pending...)
		flags := byte('0')
		if st.Ready {
			flags |= 1
		}
		if st.Active {
			flags |= 2
		}
		if st.LastFailure != nil {
			flags |= 4
		}
		b = append(b, 0, flags, 0)
	}
	if findSpawner(u, "") == nil {
		add("")
	}
	for _, sp := range u.Spawners {
		add(sp.Name)
	}
	return string(b)
}

// writeUser appends the user model as v allows; false (nothing written) when v shows nothing.
func (a *API) writeUser(j *jw, u *store.User, v userView, o userOpts) bool {
	k := v.keys
	var servers []*store.Spawner
	var states []bool
	for _, sp := range u.Spawners {
		if sp.Server == nil && !o.includeStopped {
			continue
		}
		vis, st := v.serverVisible(u.Name, sp.Name)
		if vis {
			servers = append(servers, sp)
			states = append(states, st)
		}
	}
	if k&^ukBlocked == 0 && len(servers) == 0 {
		return false
	}
	j.open()
	j.key("kind")
	j.str("user")
	j.key("name")
	j.str(u.Name)
	if k&ukAdmin != 0 {
		j.key("admin")
		j.boolean(u.Admin)
	}
	if k&ukRoles != 0 {
		j.key("roles")
		j.sortedStrs(u.Roles)
	}
	if k&ukGroups != 0 {
		j.key("groups")
		j.sortedStrs(u.Groups)
	}
	if k&(ukServer|ukPending) != 0 {
		var def *store.Spawner
		if len(u.Spawners) > 0 && u.Spawners[0].Name == "" {
			def = u.Spawners[0]
		}
		pend := ""
		if def != nil {
			pend = a.pending(u.Name, "")
		}
		if k&ukServer != 0 {
			j.key("server")
			if def != nil && def.Server != nil && pend == "" {
				j.str(a.userURL(u.Name))
			} else {
				j.null()
			}
		}
		if k&ukPending != 0 {
			j.key("pending")
			j.strOrNull(pend)
		}
	}
	if k&ukCreated != 0 {
		j.key("created")
		j.time(&u.Created)
	}
	if k&ukLastActivity != 0 {
		j.key("last_activity")
		j.time(u.LastActivity)
	}
	if k&ukServers != 0 || len(servers) > 0 {
		j.key("servers")
		j.open()
		for i, sp := range servers {
			j.keyStr(sp.Name)
			a.writeServer(j, u.Name, sp, states[i])
		}
		j.close()
	}
	if k&ukAuthState != 0 {
		j.key("auth_state")
		if o.authState != nil {
			j.value(o.authState)
		} else {
			j.null()
		}
	}
	if k&ukUserInfo != 0 {
		j.key("user_info")
		j.raw(u.UserInfo, "null")
	}
	if k&ukBlocked != 0 && a.blocked(u.Name) {
		j.key("blocked")
		j.boolean(true)
	}
	j.close()
	return true
}

// writeServer appends the Server model (§1.1).
func (a *API) writeServer(j *jw, user string, sp *store.Spawner, withState bool) {
	pend := a.pending(user, sp.Name)
	active := sp.Server != nil
	url := a.userURL(user)
	progress := a.hubPrefix() + "api/users/" + escapePath(user) + "/server/progress"
	if sp.Name != "" {
		url += escapePath(sp.Name) + "/"
		progress = a.hubPrefix() + "api/users/" + escapePath(user) + "/servers/" + escapePath(sp.Name) + "/progress"
	}
	j.open()
	j.key("name")
	j.str(sp.Name)
	j.key("full_name")
	j.str(user + "/" + sp.Name)
	j.key("last_activity")
	j.time(sp.LastActivity)
	j.key("started")
	j.time(sp.Started)
	j.key("pending")
	j.strOrNull(pend)
	j.key("ready")
	j.boolean(active && pend == "")
	j.key("stopped")
	j.boolean(!active && pend == "")
	j.key("url")
	j.str(url)
	j.key("user_options")
	j.raw(sp.UserOptions, "{}")
	j.key("progress_url")
	j.str(progress)
	// As upstream: full_url is url when that is absolute (subdomains), else the public
	// origin + url; full_progress_url needs the public origin.
	origin := a.publicOrigin()
	j.key("full_url")
	switch {
	case strings.Contains(url, "://"):
		j.str(url)
	case origin != "":
		j.str(origin + url)
	default:
		j.null()
	}
	j.key("full_progress_url")
	if origin != "" {
		j.str(origin + progress)
	} else {
		j.null()
	}
	if withState {
		j.key("state")
		j.raw(sp.State, "{}")
	}
	j.close()
}

// writeGroup appends the Group model filtered by the caller's scopes; false when invisible.
func writeGroup(j *jw, c *caller, g *store.Group) bool {
	k := c.scopes.GroupModelKeys(rbac.Target{Group: g.Name})
	if len(k) == 0 {
		return false
	}
	j.open()
	j.key("kind")
	j.str("group")
	j.key("name")
	j.str(g.Name)
	if k["users"] {
		j.key("users")
		j.sortedStrs(g.Users)
	}
	if k["properties"] {
		j.key("properties")
		if g.Properties == nil {
			j.b = append(j.b, "{}"...)
		} else {
			j.value(g.Properties)
		}
	}
	if k["roles"] {
		j.key("roles")
		j.sortedStrs(g.Roles)
	}
	j.close()
	return true
}

// writeService appends the Service model filtered by the scopes; false when invisible.
func (a *API) writeService(j *jw, scopes rbac.Set, s *store.Service) bool {
	k := scopes.ServiceModelKeys(rbac.Target{Service: s.Name})
	if len(k) == 0 {
		return false
	}
	j.open()
	j.key("kind")
	j.str("service")
	j.key("name")
	j.str(s.Name)
	if k["admin"] {
		j.key("admin")
		j.boolean(s.Admin)
	}
	if k["roles"] {
		j.key("roles")
		j.sortedStrs(s.Roles)
	}
	if k["url"] {
		j.key("url")
		j.str(s.URL)
	}
	if k["prefix"] {
		j.key("prefix")
		if s.URL != "" {
			j.str(a.base + "services/" + escapePath(s.Name) + "/")
		} else {
			j.str("")
		}
	}
	if k["command"] {
		j.key("command")
		j.strs(s.Command) // [] for unmanaged services (the yaml's type; never "")
	}
	if k["pid"] {
		j.key("pid")
		j.int(0)
	}
	if k["info"] {
		j.key("info")
		if s.Info == nil {
			j.b = append(j.b, "{}"...)
		} else {
			j.value(s.Info)
		}
	}
	if k["display"] {
		j.key("display")
		j.boolean(s.Display)
	}
	j.close()
	return true
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}
