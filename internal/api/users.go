package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

// readUserScopes are the scopes of which GET /users/{name} needs any (§1.3).
var readUserScopes = []string{"read:users", "read:users:name", "read:servers", "read:users:groups",
	"read:users:activity", "read:roles:users"}

// userTarget loads the named user (nil if none) and the rbac target for it.
func (a *API) userTarget(r *http.Request, name string) (*store.User, rbac.Target, error) {
	u, err := a.db.GetUser(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, rbac.Target{User: name}, nil
	}
	if err != nil {
		return nil, rbac.Target{}, fmt.Errorf("get user: %w", err)
	}
	return u, rbac.Target{User: u.Name, UserGroups: u.Groups}, nil
}

// flagOn reports whether a query flag is present and not "0"/"false".
func flagOn(r *http.Request, name string) bool {
	q := r.URL.Query()
	if !q.Has(name) {
		return false
	}
	v := strings.ToLower(q.Get(name))
	return v != "0" && v != "false"
}

var userSorts = map[string]bool{"id": true, "name": true, "last_activity": true}

// listUsers answers GET /users (list:users, narrowed by !user= and !group= filters).
func (a *API) listUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := needAny(c, "list:users"); err != nil {
		return err
	}
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "", "active", "inactive":
	case "ready":
		// Ready = active and nothing pending; filtered below when a spawner manager says so.
	default:
		return errorf(http.StatusBadRequest, "Unrecognized state filter: %q (use active, ready or inactive)", state)
	}
	sort := q.Get("sort")
	if sort != "" && !userSorts[strings.TrimPrefix(sort, "-")] {
		return errorf(http.StatusBadRequest, "sort must be one of id, name, last_activity (with - for descending), not %q", sort)
	}
	p, err := a.parsePage(r)
	if err != nil {
		return err
	}
	_, all, names, groups, _ := c.scopes.ListFilter("list:users")
	if !all && unsupportedFilter(c.scopes, "list:users", "user", "group") {
		return errorf(http.StatusForbidden, "list:users is only supported with !user= and !group= filters")
	}
	storeState := state
	if state == "ready" {
		storeState = "active"
	}
	opts := userOpts{includeStopped: flagOn(r, "include_stopped_servers")}
	if snapshotServes(sort, q.Get("name_filter"), !all) {
		s, ok, err := a.snapshot(r.Context(), c, opts.includeStopped, nil)
		if err == nil && ok && !a.writePage(w, r, s, p, state, true) {
			// A server changed state since the snapshot: rebuild once, then serve it.
			s, ok, err = a.snapshot(r.Context(), c, opts.includeStopped, s)
			if err == nil && ok {
				a.writePage(w, r, s, p, state, false)
				return nil
			}
		}
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	gen, now := a.gen.Load(), a.now()
	cacheKey := ""
	// The rendered-list cache has no per-user freshness check, so it is only used without a
	// spawner manager (whose state the replies show).
	if ck := c.modelKeys(); all && !ck.filtered && a.d.Servers == nil {
		cacheKey = listCacheKey(ck, r.URL.RawQuery, p.paginated, r.TLS != nil, r.Host)
		if body, ok := a.lists.get(cacheKey, gen, now); ok {
			writeBody(w, http.StatusOK, body)
			return nil
		}
	}
	users, total, err := a.db.ListUsers(r.Context(), store.UserQuery{
		Offset: p.offset, Limit: p.limit, NameFilter: q.Get("name_filter"), Sort: sort,
		State: storeState, Restrict: !all, Names: names, Groups: groups,
	})
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	j := getJW()
	defer putJW(j)
	p.startList(j)
	n := 0
	for _, u := range users {
		if state == "ready" && !a.anyReady(u) {
			continue
		}
		mark := len(j.b)
		if n > 0 {
			j.comma()
		}
		if a.writeUser(j, u, a.viewOf(c, u), opts) {
			n++
		} else {
			j.b = j.b[:mark]
		}
	}
	p.endList(j, r, total)
	if cacheKey != "" {
		a.lists.put(cacheKey, gen, now, append([]byte(nil), j.b...))
	}
	writeBody(w, http.StatusOK, j.b)
	return nil
}

// anyReady reports whether some server of u is active with nothing pending.
func (a *API) anyReady(u *store.User) bool {
	for _, sp := range u.Spawners {
		if sp.Server != nil && a.pending(u.Name, sp.Name) == "" {
			return true
		}
	}
	return false
}

// unsupportedFilter reports whether scope is held with a filter kind outside kinds (such a
// filter must not widen to everything).
func unsupportedFilter(s rbac.Set, scope string, kinds ...string) bool {
	for k := range s {
		rest, ok := strings.CutPrefix(k, scope+"!")
		if !ok {
			continue
		}
		kind, _, _ := strings.Cut(rest, "=")
		if !contains(kinds, kind) {
			return true
		}
	}
	return false
}

// userModelKeys are the keys a request may send in a user model (upstream type-checks them all;
// groups and roles are accepted and ignored).
var userModelKeys = []string{"name", "admin", "groups", "roles", "auth_state"}

// checkUserModel type-checks a request's user model.
func checkUserModel(m map[string]any) error {
	if err := checkKeys(m, "user model", userModelKeys...); err != nil {
		return err
	}
	if _, _, err := stringField(m, "name", "user"); err != nil {
		return err
	}
	if _, _, err := boolField(m, "admin", "user"); err != nil {
		return err
	}
	if _, _, err := stringList(m, "groups", "user"); err != nil {
		return err
	}
	if _, _, err := stringList(m, "roles", "user"); err != nil {
		return err
	}
	_, _, err := objectField(m, "auth_state", "user")
	return err
}

// validName normalises a username and checks it: 400 with the reason when invalid.
func (a *API) validName(name string) (string, error) {
	n := a.d.Users.Normalize(name)
	if err := a.d.Users.CheckUsername(n); err != nil {
		return "", errorf(http.StatusBadRequest, "Invalid username %q: %v", name, err)
	}
	return n, nil
}

// createUsers answers POST /users (admin:users).
func (a *API) createUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := need(c, rbac.Target{}, "admin:users"); err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	names, _, err := stringList(body, "usernames", "body")
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return errorf(http.StatusBadRequest, "Must specify at least one user to create")
	}
	delete(body, "usernames")
	if err := checkUserModel(body); err != nil {
		return err
	}
	admin, _, _ := boolField(body, "admin", "user")
	if admin && !c.isAdmin() {
		return errorf(http.StatusForbidden, "Only admins can grant admin permissions")
	}
	var valid, invalid []string
	for _, n := range names {
		v, err := a.validName(n)
		if err != nil {
			invalid = append(invalid, err.(*httpError).msg)
			continue
		}
		if !contains(valid, v) {
			valid = append(valid, v)
		}
	}
	if len(invalid) > 0 {
		return errorf(http.StatusBadRequest, "%s", strings.Join(invalid, "; "))
	}
	for _, n := range valid {
		if err := a.onlyAdminsName(c, n); err != nil {
			return err
		}
	}
	for _, n := range valid {
		if err := a.prepareUser(r.Context(), n); err != nil {
			return err
		}
	}
	created, err := a.db.CreateUsers(r.Context(), valid, admin)
	if err != nil {
		return fmt.Errorf("create users: %w", err)
	}
	if len(created) == 0 {
		return errorf(http.StatusConflict, "All %d users already exist", len(names))
	}
	a.gen.Add(1) // before replying, so the caller's next read sees the change
	j := getJW()
	defer putJW(j)
	j.b = append(j.b, '[')
	n := 0
	for _, u := range created {
		mark := len(j.b)
		if n > 0 {
			j.comma()
		}
		if a.writeUser(j, u, a.viewOf(c, u), userOpts{}) {
			n++
		} else {
			j.b = j.b[:mark]
		}
	}
	j.b = append(j.b, ']')
	writeBody(w, http.StatusCreated, j.b)
	return nil
}

// getUser answers GET /users/{name}.
func (a *API) getUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	includeStopped := flagOn(r, "include_stopped_servers")
	if c != nil && (a.d.AuthState == nil || c.modelKeys().user&ukAuthState == 0) {
		// Without a decrypted auth_state the reply is the user's fragment of the snapshot.
		s, ok, err := a.snapshot(r.Context(), c, includeStopped, nil)
		if err != nil {
			return err
		}
		if i, found := s.index(name); ok && found && !a.fresh(s, i) {
			if s, ok, err = a.snapshot(r.Context(), c, includeStopped, s); err != nil {
				return err
			}
		}
		if i, found := s.index(name); ok && found {
			u := s.users[i]
			if err := need(c, rbac.Target{User: u.Name, UserGroups: u.Groups}, readUserScopes...); err != nil {
				return err
			}
			if s.frags[i] == nil {
				return errNoAccess
			}
			writeBody(w, http.StatusOK, s.frags[i])
			return nil
		}
	}
	u, t, err := a.cachedUserTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, readUserScopes...); err != nil {
		return err
	}
	if u == nil {
		return errorf(http.StatusNotFound, "No such user: %s", name)
	}
	v := a.viewOf(c, u)
	opts := userOpts{includeStopped: includeStopped}
	if v.keys&ukAuthState != 0 {
		if opts.authState, err = a.decryptAuthState(r, u); err != nil {
			return err
		}
	}
	return a.replyUser(w, http.StatusOK, u, v, opts)
}

// replyUser writes one user model.
func (a *API) replyUser(w http.ResponseWriter, status int, u *store.User, v userView, opts userOpts) error {
	j := getJW()
	defer putJW(j)
	if !a.writeUser(j, u, v, opts) {
		return errNoAccess
	}
	writeBody(w, status, j.b)
	return nil
}

// decryptAuthState returns the user's auth_state, nil when there is none or no crypter.
func (a *API) decryptAuthState(r *http.Request, u *store.User) (map[string]any, error) {
	if a.d.AuthState == nil || len(u.EncryptedAuthState) == 0 {
		return nil, nil
	}
	st, err := a.d.AuthState.Decrypt(r.Context(), u.EncryptedAuthState)
	if err != nil {
		return nil, fmt.Errorf("decrypt auth_state of %s: %w", u.Name, err)
	}
	return st, nil
}

// createUser answers POST /users/{name} (admin:users).
func (a *API) createUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	u, t, err := a.userTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "admin:users"); err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	if err := checkUserModel(body); err != nil {
		return err
	}
	admin, _, _ := boolField(body, "admin", "user")
	if admin && !c.isAdmin() {
		return errorf(http.StatusForbidden, "Only admins can grant admin permissions")
	}
	if u != nil {
		return errorf(http.StatusConflict, "User %s already exists", name)
	}
	n, err := a.validName(name)
	if err != nil {
		return err
	}
	if n != name {
		return errorf(http.StatusBadRequest, "Invalid username %q: usernames are normalised to %q", name, n)
	}
	if err := a.onlyAdminsName(c, n); err != nil {
		return err
	}
	if err := a.prepareUser(r.Context(), name); err != nil {
		return err
	}
	u, err = a.db.CreateUser(r.Context(), name, admin)
	if errors.Is(err, store.ErrExists) {
		return errorf(http.StatusConflict, "User %s already exists", name)
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	a.gen.Add(1)
	return a.replyUser(w, http.StatusCreated, u, a.viewOf(c, u), userOpts{})
}

// patchUser answers PATCH /users/{name} (admin:users): rename, admin flag, auth_state.
func (a *API) patchUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	u, t, err := a.userTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "admin:users"); err != nil {
		return err
	}
	if u == nil {
		return errorf(http.StatusNotFound, "No such user: %s", name)
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	blocked, blockSet, err := a.takeBlocked(c, u, body)
	if err != nil {
		return err
	}
	if body == nil || (len(body) == 0 && !blockSet) {
		return errorf(http.StatusBadRequest, "Body must be a JSON object with at least one of name, admin, auth_state, blocked")
	}
	if err := checkUserModel(body); err != nil {
		return err
	}
	var upd store.UserUpdate
	if newName, ok, _ := stringField(body, "name", "user"); ok && newName != u.Name {
		n, err := a.validName(newName)
		if err != nil {
			return err
		}
		if n != newName {
			return errorf(http.StatusBadRequest, "Invalid username %q: usernames are normalised to %q", newName, n)
		}
		if _, err := a.db.GetUser(r.Context(), n); err == nil {
			return errorf(http.StatusBadRequest, "User %s already exists, username must be unique", n)
		}
		upd.Name = &n
	}
	admin, adminSet, _ := boolField(body, "admin", "user")
	if err := a.onlyAdmins(c, u, "modify"); err != nil {
		return err
	}
	if admin && !c.isAdmin() {
		return errorf(http.StatusForbidden, "Only admins can grant admin permissions")
	}
	if upd.Name != nil {
		if err := a.onlyAdminsName(c, *upd.Name); err != nil {
			return err
		}
	}
	if adminSet {
		upd.Admin = &admin
	}
	if st, ok, _ := objectField(body, "auth_state", "user"); ok {
		if a.d.AuthState == nil {
			return errorf(http.StatusBadRequest, "auth_state cannot be stored: auth state encryption is not enabled (JUPYTERHUB_CRYPT_KEY)")
		}
		blob, err := a.d.AuthState.Encrypt(r.Context(), st)
		if err != nil {
			return fmt.Errorf("encrypt auth_state: %w", err)
		}
		upd.EncryptedAuthState = &blob
	}
	oldName := u.Name
	if upd.Name != nil && a.d.Servers != nil {
		// The manager refuses while a server runs: its URL, token and client carry the name.
		if err := a.d.Servers.RenameUser(oldName, *upd.Name); err != nil {
			return errorf(http.StatusBadRequest, "Cannot rename %s: %v; stop the servers first", oldName, err)
		}
	}
	u, err = a.db.UpdateUser(r.Context(), u.ID, upd)
	if err != nil && upd.Name != nil && a.d.Servers != nil {
		if rerr := a.d.Servers.RenameUser(*upd.Name, oldName); rerr != nil {
			a.log.Warn("undo server rename after a failed user rename", "user", oldName, "err", rerr)
		}
	}
	if errors.Is(err, store.ErrExists) {
		return errorf(http.StatusBadRequest, "User %s already exists, username must be unique", *upd.Name)
	}
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if blockSet {
		if err := a.setBlocked(r.Context(), c, u.Name, blocked); err != nil {
			return err
		}
		if u, err = a.db.GetUser(r.Context(), u.Name); err != nil {
			return fmt.Errorf("user after block: %w", err)
		}
	}
	a.gen.Add(1)
	v := a.viewOf(c, u)
	opts := userOpts{}
	if v.keys&ukAuthState != 0 {
		if opts.authState, err = a.decryptAuthState(r, u); err != nil {
			return err
		}
	}
	return a.replyUser(w, http.StatusOK, u, v, opts)
}

// deleteUser answers DELETE /users/{name} (delete:users).
func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	u, t, err := a.userTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "delete:users"); err != nil {
		return err
	}
	if u == nil {
		return errorf(http.StatusNotFound, "No such user: %s", name)
	}
	if c.user != nil && c.user.ID == u.ID {
		return errorf(http.StatusBadRequest, "Cannot delete yourself!")
	}
	if err := a.onlyAdmins(c, u, "delete"); err != nil {
		return err
	}
	if err := a.stopAllServers(w, r, u); err != nil {
		return err
	}
	if err := a.db.DeleteUser(r.Context(), name); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if d, ok := a.d.Users.(UserDeleter); ok {
		if err := d.DeleteUser(r.Context(), name); err != nil {
			a.log.Warn("the authenticator's clean-up of a deleted user failed", "user", name, "err", err)
		}
	}
	if a.d.Servers != nil {
		if err := a.d.Servers.ForgetUser(name); err != nil {
			a.log.Warn("forget the servers of a deleted user", "user", name, "err", err)
		}
	}
	a.gen.Add(1)
	writeEmpty(w, http.StatusNoContent)
	return nil
}

// UserAdder is a UsernamePolicy that must prepare users the API adds (LocalAuthenticator's
// create_system_users); auth.Pipeline satisfies it.
type UserAdder interface {
	AddUser(ctx context.Context, name string) error
}

// UserDeleter is a UsernamePolicy told about deleted users; auth.Pipeline satisfies it.
type UserDeleter interface {
	DeleteUser(ctx context.Context, name string) error
}

// prepareUser lets the authenticator prepare a user before the API creates it; a refusal is
// 400 "Failed to create user", as upstream, and nothing is written.
func (a *API) prepareUser(ctx context.Context, name string) error {
	ad, ok := a.d.Users.(UserAdder)
	if !ok {
		return nil
	}
	if err := ad.AddUser(ctx, name); err != nil {
		a.log.Warn("the authenticator refused to add a user", "user", name, "err", err)
		return errorf(http.StatusBadRequest, "Failed to create user %s: %v", name, err)
	}
	return nil
}
