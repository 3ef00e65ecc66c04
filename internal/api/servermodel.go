package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"gohub/internal/naming"
	"gohub/internal/rbac"
	"gohub/internal/spawner"
	"gohub/internal/store"
)

// This file holds JupyterHub 6.0's server model endpoints: GET, PUT (create a named server
// without starting it) and PATCH (rename, display_name, user_options of a stopped server).

// checkServerName is naming.CheckServerName as a 400.
func checkServerName(name string) error {
	if err := naming.CheckServerName(name); err != nil {
		return errorf(http.StatusBadRequest, "%s", err.Error())
	}
	return nil
}

// checkDisplayName bounds a display_name.
func checkDisplayName(s string) error {
	if len(s) > 255 || strings.ContainsFunc(s, unicode.IsControl) {
		return errorf(http.StatusBadRequest, "Invalid display_name: at most 255 characters, no control characters")
	}
	return nil
}

// namedAllowed is the 400 of §1.4 for a named server while allow_named_servers is off.
func (a *API) namedAllowed(server string) error {
	if server != "" && !a.d.ServerLimits.AllowNamedServers {
		return errorf(http.StatusBadRequest, "Named servers are not enabled.")
	}
	return nil
}

// findSpawner returns u's spawner row of that name, nil if none.
func findSpawner(u *store.User, server string) *store.Spawner {
	for _, sp := range u.Spawners {
		if sp.Name == server {
			return sp
		}
	}
	return nil
}

// replyServer writes the Server model of one row.
func (a *API) replyServer(w http.ResponseWriter, status int, c *caller, u *store.User, sp *store.Spawner) {
	t := rbac.Target{Server: u.Name + "/" + sp.Name, UserGroups: u.Groups}
	j := getJW()
	defer putJW(j)
	a.writeServer(j, u.Name, sp, c.scopes.Has("admin:server_state", t))
	writeBody(w, status, j.b)
}

// getServer answers GET on a server [6.0] (read:servers): the Server model, stopped servers
// included; the default server reads as stopped before its first start.
func (a *API) getServer(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, server, t, err := a.serverTarget(r)
	if err != nil {
		return err
	}
	if err := need(c, t, "read:servers"); err != nil {
		return err
	}
	if u == nil {
		return errorf(http.StatusNotFound, "No such user: %s", r.PathValue("name"))
	}
	if err := a.namedAllowed(server); err != nil {
		return err
	}
	sp := findSpawner(u, server)
	if sp == nil {
		if server != "" {
			return errorf(http.StatusNotFound, "%s has no server named '%s'", u.Name, server)
		}
		sp = &store.Spawner{UserID: u.ID}
	}
	a.replyServer(w, http.StatusOK, c, u, sp)
	return nil
}

// putServer answers PUT on a named server [6.0] (start:servers): create it without starting
// it. 201 Server; 409 when it exists or for the default server; 400 for a bad name, bad
// display_name or the named_server_limit_per_user.
func (a *API) putServer(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, server, t, err := a.serverTarget(r)
	if err != nil {
		return err
	}
	if err := need(c, t, "start:servers"); err != nil {
		return err
	}
	if u == nil {
		return errorf(http.StatusNotFound, "No such user: %s", r.PathValue("name"))
	}
	if err := a.onlyAdmins(c, u, "create the servers of"); err != nil {
		return err
	}
	if server == "" {
		return errorf(http.StatusConflict, "The default server always exists")
	}
	if err := a.namedAllowed(server); err != nil {
		return err
	}
	if err := checkServerName(server); err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	options, displayName, err := startOptions(body)
	if err != nil {
		return err
	}
	if findSpawner(u, server) != nil {
		return errorf(http.StatusConflict, "%s already has a server named '%s'", u.Name, server)
	}
	if limit := a.d.ServerLimits.NamedServerLimitPerUser; limit > 0 {
		n := 0
		for _, sp := range u.Spawners {
			if sp.Name != "" {
				n++
			}
		}
		if n >= limit {
			return errorf(http.StatusBadRequest, "User %s already has the maximum of %d named servers.  One must be deleted before a new server can be created", u.Name, limit)
		}
	}
	ctx := r.Context()
	sp, err := a.db.EnsureSpawner(ctx, u.ID, server)
	if err != nil {
		return fmt.Errorf("create server %s/%s: %w", u.Name, server, err)
	}
	if err := a.saveServerFields(ctx, sp, options, displayName); err != nil {
		return err
	}
	a.Invalidate()
	a.replyServer(w, http.StatusCreated, c, u, sp)
	return nil
}

// saveServerFields stores user_options and display_name of a stopped server's row.
func (a *API) saveServerFields(ctx context.Context, sp *store.Spawner, options map[string]any, displayName *string) error {
	if options == nil && displayName == nil {
		return nil
	}
	if options != nil {
		b, err := json.Marshal(options)
		if err != nil {
			return errorf(http.StatusBadRequest, "user_options: %v", err)
		}
		sp.UserOptions = b
	}
	if displayName != nil {
		sp.DisplayName = *displayName
	}
	if err := a.db.SaveSpawner(ctx, sp); err != nil {
		return fmt.Errorf("save server %q: %w", sp.Name, err)
	}
	return nil
}

// patchServer answers PATCH on a named server [6.0] (start:servers): rename it and/or change
// display_name and user_options while it is stopped. 200 Server.
func (a *API) patchServer(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, server, err := a.serverCall(r, c, "start:servers")
	if err != nil {
		return err
	}
	if err := a.onlyAdmins(c, u, "change the servers of"); err != nil {
		return err
	}
	if err := a.namedAllowed(server); err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return errorf(http.StatusBadRequest, "PATCH body must set at least one of name, display_name, user_options")
	}
	if err := checkKeys(body, "server", "name", "display_name", "user_options"); err != nil {
		return err
	}
	newName, rename, err := stringField(body, "name", "body")
	if err != nil {
		return err
	}
	var displayName *string
	if s, ok, err := stringField(body, "display_name", "body"); err != nil {
		return err
	} else if ok {
		if err := checkDisplayName(s); err != nil {
			return err
		}
		displayName = &s
	}
	options, hasOptions, err := objectField(body, "user_options", "body")
	if err != nil {
		return err
	}
	if hasOptions && options == nil {
		options = map[string]any{}
	}
	if rename {
		if err := checkServerName(newName); err != nil {
			return err
		}
	}
	sp := findSpawner(u, server)
	if sp == nil {
		return errorf(http.StatusNotFound, "%s has no server named '%s'", u.Name, server)
	}
	if st := a.d.Servers.Status(u.Name, server); st.Active || sp.Server != nil {
		return errorf(http.StatusBadRequest, "Server %s/%s must be stopped to be changed", u.Name, server)
	}
	ctx := r.Context()
	if rename && newName != server {
		if findSpawner(u, newName) != nil {
			return errorf(http.StatusConflict, "%s already has a server named '%s'", u.Name, newName)
		}
		if err := a.d.Servers.Rename(ctx, spawner.UserFromStore(u), server, newName); err != nil {
			return spawnError(err, w)
		}
		a.Invalidate()
		if sp, err = a.db.GetSpawner(ctx, u.ID, newName); err != nil {
			return fmt.Errorf("renamed server: %w", err)
		}
	}
	if err := a.saveServerFields(ctx, sp, options, displayName); err != nil {
		return err
	}
	a.Invalidate()
	a.replyServer(w, http.StatusOK, c, u, sp)
	return nil
}
