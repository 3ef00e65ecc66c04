package api

import (
	"errors"
	"fmt"
	"net/http"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

// groupTarget loads the named group (nil if none) and its rbac target.
func (a *API) groupTarget(r *http.Request, name string) (*store.Group, rbac.Target, error) {
	t := rbac.Target{Group: name}
	g, err := a.db.GetGroup(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, t, nil
	}
	if err != nil {
		return nil, t, fmt.Errorf("get group: %w", err)
	}
	return g, t, nil
}

// replyGroup writes one group model.
func replyGroup(w http.ResponseWriter, status int, c *caller, g *store.Group) error {
	j := getJW()
	defer putJW(j)
	if !writeGroup(j, c, g) {
		return errNoAccess
	}
	writeBody(w, status, j.b)
	return nil
}

// memberNames reads and normalises the "users" list of a group body. Each user must exist
// (400 naming the first that does not).
func (a *API) memberNames(r *http.Request, body map[string]any, required bool) ([]string, error) {
	names, ok, err := stringList(body, "users", "group")
	if err != nil {
		return nil, err
	}
	if !ok && required {
		return nil, errorf(http.StatusBadRequest, "Must specify users")
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = a.d.Users.Normalize(n)
		if _, err := a.db.GetUser(r.Context(), n); errors.Is(err, store.ErrNotFound) {
			return nil, errorf(http.StatusBadRequest, "No such user: %s", n)
		} else if err != nil {
			return nil, err
		}
		if !contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// checkGroupModel type-checks a request's group model: the keys JupyterHub accepts (only
// "users" is used; properties are set with PUT /groups/{name}/properties).
func checkGroupModel(m map[string]any) error {
	if err := checkKeys(m, "group model", "name", "users", "roles"); err != nil {
		return err
	}
	if _, _, err := stringField(m, "name", "group"); err != nil {
		return err
	}
	if _, _, err := stringList(m, "users", "group"); err != nil {
		return err
	}
	_, _, err := stringList(m, "roles", "group")
	return err
}

// listGroups answers GET /groups (list:groups, narrowed by !group= filters).
func (a *API) listGroups(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := needAny(c, "list:groups"); err != nil {
		return err
	}
	p, err := a.parsePage(r)
	if err != nil {
		return err
	}
	_, all, _, groups, _ := c.scopes.ListFilter("list:groups")
	if !all && unsupportedFilter(c.scopes, "list:groups", "group") {
		return errorf(http.StatusForbidden, "list:groups is only supported with !group= filters")
	}
	gs, total, err := a.db.ListGroups(r.Context(), store.GroupQuery{Offset: p.offset, Limit: p.limit,
		Restrict: !all, Names: groups})
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	j := getJW()
	defer putJW(j)
	p.startList(j)
	n := 0
	for _, g := range gs {
		mark := len(j.b)
		if n > 0 {
			j.comma()
		}
		if writeGroup(j, c, g) {
			n++
		} else {
			j.b = j.b[:mark]
		}
	}
	p.endList(j, r, total)
	writeBody(w, http.StatusOK, j.b)
	return nil
}

// createGroups answers POST /groups (admin:groups): all groups or none.
func (a *API) createGroups(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := need(c, rbac.Target{}, "admin:groups"); err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	names, _, err := stringList(body, "groups", "body")
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return errorf(http.StatusBadRequest, "Must specify at least one group to create")
	}
	delete(body, "groups")
	if err := checkGroupModel(body); err != nil {
		return err
	}
	for _, n := range names {
		if n == "" {
			return errorf(http.StatusBadRequest, "Group names must not be empty")
		}
		if _, err := a.db.GetGroup(r.Context(), n); err == nil {
			return errorf(http.StatusConflict, "Group %s already exists", n)
		}
	}
	members, err := a.memberNames(r, body, false)
	if err != nil {
		return err
	}
	gs, err := a.db.CreateGroups(r.Context(), names, members)
	if errors.Is(err, store.ErrExists) {
		return errorf(http.StatusConflict, "A group of %v already exists", names)
	}
	if err != nil {
		return fmt.Errorf("create groups: %w", err)
	}
	a.gen.Add(1)
	j := getJW()
	defer putJW(j)
	j.b = append(j.b, '[')
	n := 0
	for _, g := range gs {
		mark := len(j.b)
		if n > 0 {
			j.comma()
		}
		if writeGroup(j, c, g) {
			n++
		} else {
			j.b = j.b[:mark]
		}
	}
	j.b = append(j.b, ']')
	writeBody(w, http.StatusCreated, j.b)
	return nil
}

// getGroup answers GET /groups/{name}.
func (a *API) getGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	g, t, err := a.groupTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "read:groups", "read:groups:name", "read:roles:groups"); err != nil {
		return err
	}
	if g == nil {
		return errorf(http.StatusNotFound, "No such group: %s", name)
	}
	return replyGroup(w, http.StatusOK, c, g)
}

// createGroup answers POST /groups/{name} (admin:groups).
func (a *API) createGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	g, t, err := a.groupTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "admin:groups"); err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	if err := checkGroupModel(body); err != nil {
		return err
	}
	if g != nil {
		return errorf(http.StatusConflict, "Group %s already exists", name)
	}
	members, err := a.memberNames(r, body, false)
	if err != nil {
		return err
	}
	gs, err := a.db.CreateGroups(r.Context(), []string{name}, members)
	if errors.Is(err, store.ErrExists) {
		return errorf(http.StatusConflict, "Group %s already exists", name)
	}
	if err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	a.gen.Add(1)
	return replyGroup(w, http.StatusCreated, c, gs[0])
}

// deleteGroup answers DELETE /groups/{name} (delete:groups).
func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	g, t, err := a.groupTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "delete:groups"); err != nil {
		return err
	}
	if g == nil {
		return errorf(http.StatusNotFound, "No such group: %s", name)
	}
	if err := a.db.DeleteGroup(r.Context(), name); err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	a.gen.Add(1)
	writeEmpty(w, http.StatusNoContent)
	return nil
}

// changeMembers is POST and DELETE /groups/{name}/users (groups).
func (a *API) changeMembers(w http.ResponseWriter, r *http.Request, c *caller, add bool) error {
	name := r.PathValue("name")
	g, t, err := a.groupTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "groups"); err != nil {
		return err
	}
	if g == nil {
		return errorf(http.StatusNotFound, "No such group: %s", name)
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	if err := checkGroupModel(body); err != nil {
		return err
	}
	users, err := a.memberNames(r, body, true)
	if err != nil {
		return err
	}
	if add {
		g, err = a.db.AddGroupMembers(r.Context(), name, users)
	} else {
		g, err = a.db.RemoveGroupMembers(r.Context(), name, users)
	}
	if err != nil {
		return fmt.Errorf("change members of %s: %w", name, err)
	}
	a.gen.Add(1)
	return replyGroup(w, http.StatusOK, c, g)
}

func (a *API) addGroupUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	return a.changeMembers(w, r, c, true)
}

func (a *API) removeGroupUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	return a.changeMembers(w, r, c, false)
}

// putGroupProperties answers PUT /groups/{name}/properties (groups): replace the properties.
func (a *API) putGroupProperties(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	g, t, err := a.groupTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "groups"); err != nil {
		return err
	}
	if g == nil {
		return errorf(http.StatusNotFound, "No such group: %s", name)
	}
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	props, ok := v.(map[string]any)
	if !ok {
		return errorf(http.StatusBadRequest, "group properties must be a JSON object, not %s", jsonType(v))
	}
	g, err = a.db.SetGroupProperties(r.Context(), name, props)
	if err != nil {
		return fmt.Errorf("set properties of %s: %w", name, err)
	}
	a.gen.Add(1)
	return replyGroup(w, http.StatusOK, c, g)
}
