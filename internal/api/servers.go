package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"gohub/internal/rbac"
	"gohub/internal/spawner"
	"gohub/internal/store"
)

// errNoSpawning answers server endpoints of an API built without Deps.Servers.
var errNoSpawning = &httpError{http.StatusNotImplemented, "This hub does not run servers"}

// removeWait bounds how long a {"remove": true} stop that answered 202 keeps waiting in the
// background for the server to stop before removing its record.
const removeWait = 5 * time.Minute

// serverName returns the server named by the request path: "" for /server and /servers/.
func serverName(r *http.Request) string { return r.PathValue("server_name") }

// serverTarget loads the user of a server endpoint and the rbac target of the server.
func (a *API) serverTarget(r *http.Request) (*store.User, string, rbac.Target, error) {
	name, server := r.PathValue("name"), serverName(r)
	u, t, err := a.userTarget(r, name)
	if err != nil {
		return nil, "", t, err
	}
	t.Server = name + "/" + server
	if u != nil {
		t.Server = u.Name + "/" + server
	}
	return u, server, t, nil
}

// serverCall authorizes a server endpoint: the scope for the server, then 404 for an unknown
// user, 501 without a spawner manager.
func (a *API) serverCall(r *http.Request, c *caller, scope string) (*store.User, string, error) {
	u, server, t, err := a.serverTarget(r)
	if err != nil {
		return nil, "", err
	}
	if err := need(c, t, scope); err != nil {
		return nil, "", err
	}
	if u == nil {
		return nil, "", errorf(http.StatusNotFound, "No such user: %s", r.PathValue("name"))
	}
	if a.d.Servers == nil {
		return nil, "", errNoSpawning
	}
	return u, server, nil
}

// spawnError maps an error of the spawner manager to the reply of §1.4.
func spawnError(err error, w http.ResponseWriter) error {
	var le *spawner.LimitError
	switch {
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(int(le.RetryAfter.Round(time.Second)/time.Second)))
		return errorf(http.StatusTooManyRequests, "%s", le.Message)
	case errors.Is(err, spawner.ErrBadRequest):
		return errorf(http.StatusBadRequest, "%s", err.Error())
	case errors.Is(err, spawner.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "%s", err.Error())
	case errors.Is(err, store.ErrExists):
		return errorf(http.StatusConflict, "%s", err.Error())
	case errors.Is(err, spawner.ErrClosed):
		return errorf(http.StatusServiceUnavailable, "The hub is shutting down")
	}
	// A spawn that failed within slow_spawn_timeout: its message is the reply's.
	return errorf(http.StatusInternalServerError, "%s", err.Error())
}

// startOptions reads a start body (§1.4): 6.0's {"user_options", "display_name"} when either
// key is present, else the whole body is the user options (5.x). nil options reuse the
// stored ones.
func startOptions(body map[string]any) (options map[string]any, displayName *string, err error) {
	_, hasOpts := body["user_options"]
	_, hasName := body["display_name"]
	if !hasOpts && !hasName {
		if len(body) == 0 {
			return nil, nil, nil
		}
		return body, nil, nil
	}
	if err := checkKeys(body, "start", "user_options", "display_name"); err != nil {
		return nil, nil, err
	}
	if v := body["user_options"]; v != nil {
		o, ok := v.(map[string]any)
		if !ok {
			return nil, nil, errorf(http.StatusBadRequest, "user_options must be an object, not %s", jsonType(v))
		}
		if len(o) > 0 {
			options = o
		}
	}
	if hasName {
		s, ok := body["display_name"].(string)
		if !ok {
			return nil, nil, errorf(http.StatusBadRequest, "display_name must be a string, not %s", jsonType(body["display_name"]))
		}
		if err := checkDisplayName(s); err != nil {
			return nil, nil, err
		}
		displayName = &s
	}
	return options, displayName, nil
}

// startServer answers POST /users/{name}/server and /servers/{server_name} (start:servers):
// 201 ready, 202 pending, 400, 429 with Retry-After, 500 for a spawn that failed at once.
func (a *API) startServer(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, server, err := a.serverCall(r, c, "start:servers")
	if err != nil {
		return err
	}
	// The caller's user_options decide what runs with the admin's token.
	if err := a.onlyAdmins(c, u, "start the servers of"); err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	options, _, err := startOptions(body)
	if err != nil {
		return err
	}
	if server != "" {
		if err := checkServerName(server); err != nil {
			return err
		}
	}
	ready, err := a.d.Servers.Start(r.Context(), spawner.UserFromStore(u), server, options)
	a.Invalidate()
	if err != nil {
		return spawnError(err, w)
	}
	w.Header().Set("Content-Type", "text/plain")
	if ready {
		writeEmpty(w, http.StatusCreated)
	} else {
		writeEmpty(w, http.StatusAccepted)
	}
	return nil
}

// stopServer answers DELETE on a server (delete:servers): 204 stopped, 202 stopping; with
// {"remove": true} a named server's record is deleted once it has stopped.
func (a *API) stopServer(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, server, err := a.serverCall(r, c, "delete:servers")
	if err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	remove, _, err := boolField(body, "remove", "body")
	if err != nil {
		return err
	}
	if remove && server == "" {
		return errorf(http.StatusBadRequest, "Cannot remove the default server")
	}
	if remove {
		if err := a.onlyAdmins(c, u, "remove the servers of"); err != nil {
			return err
		}
	}
	su := spawner.UserFromStore(u)
	stopped, err := a.d.Servers.Stop(r.Context(), su, server)
	a.Invalidate()
	if err != nil {
		return spawnError(err, w)
	}
	if !stopped {
		if remove {
			go a.removeWhenStopped(su, server)
		}
		writeEmpty(w, http.StatusAccepted)
		return nil
	}
	if remove {
		if err := a.d.Servers.Remove(r.Context(), su, server); err != nil {
			return spawnError(err, w)
		}
		a.Invalidate()
	}
	writeEmpty(w, http.StatusNoContent)
	return nil
}

// removeWhenStopped finishes a {"remove": true} whose stop answered 202: it waits (without
// holding the request) for the stop to end, then removes the record.
func (a *API) removeWhenStopped(u spawner.User, server string) {
	ctx, cancel := context.WithTimeout(context.Background(), removeWait)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if st := a.d.Servers.Status(u.Name, server); !st.Active {
			break
		}
		select {
		case <-ctx.Done():
			a.log.Warn("server still stopping; not removed", "user", u.Name, "server", server)
			return
		case <-t.C:
		}
	}
	if err := a.d.Servers.Remove(ctx, u, server); err != nil {
		a.log.Warn("remove server after stop", "user", u.Name, "server", server, "err", err)
	}
	a.Invalidate()
}

// stopAllServers stops every active server of a user about to be deleted (§1.3: JupyterHub
// stops the servers first); a server still stopping after slow_stop_timeout is a 400. Without
// a spawner manager, a user with a server recorded as running is refused (400).
func (a *API) stopAllServers(w http.ResponseWriter, r *http.Request, u *store.User) error {
	names := []string{}
	if findSpawner(u, "") == nil {
		names = append(names, "")
	}
	for _, sp := range u.Spawners {
		if a.d.Servers == nil && sp.Server != nil {
			return errorf(http.StatusBadRequest, "User %s's server %q is running; stop it first", u.Name, sp.Name)
		}
		names = append(names, sp.Name)
	}
	if a.d.Servers == nil {
		return nil
	}
	su := spawner.UserFromStore(u)
	for _, name := range names {
		if !a.d.Servers.Status(u.Name, name).Active {
			continue
		}
		stopped, err := a.d.Servers.Stop(r.Context(), su, name)
		a.Invalidate()
		if err != nil {
			return spawnError(err, w)
		}
		if !stopped {
			return errorf(http.StatusBadRequest, "User %s's server %q is still stopping; try again", u.Name, name)
		}
	}
	return nil
}
