package api

import (
	"fmt"
	"net/http"
	"time"

	"gohub/internal/store"
)

// maxFutureActivity is how far ahead of the hub's clock a reported activity may be.
const maxFutureActivity = 59 * time.Minute

// activityTime parses one reported timestamp: a string, not too far in the future.
func (a *API) activityTime(v any, what string) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, errorf(http.StatusBadRequest, "%s must be an ISO 8601 timestamp string, not %s", what, jsonType(v))
	}
	t, ok := parseTimestamp(s)
	if !ok {
		return time.Time{}, errorf(http.StatusBadRequest, "%s: invalid timestamp %q", what, s)
	}
	if t.After(a.now().Add(maxFutureActivity)) {
		return time.Time{}, errorf(http.StatusBadRequest, "%s %s is in the future", what, s)
	}
	return t, nil
}

// postActivity answers POST /users/{name}/activity (users:activity): move the user's and the
// named servers' last_activity forward. Everything is validated before anything is written.
func (a *API) postActivity(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	u, t, err := a.userTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "users:activity"); err != nil {
		return err
	}
	if u == nil {
		return errorf(http.StatusNotFound, "No such user: %s", name)
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	// As in JupyterHub, null, "" and {} count as absent.
	rawLast := body["last_activity"]
	rawServers := body["servers"]
	hasLast := rawLast != nil && rawLast != ""
	m, isMap := rawServers.(map[string]any)
	hasServers := rawServers != nil && !(isMap && len(m) == 0)
	if !hasLast && !hasServers {
		return errorf(http.StatusBadRequest, "body must contain at least one of `last_activity` or `servers`")
	}
	var userTime time.Time
	if hasLast {
		if userTime, err = a.activityTime(rawLast, "last_activity"); err != nil {
			return err
		}
	}
	type serverTime struct {
		sp *store.Spawner
		t  time.Time
	}
	var updates []serverTime
	if hasServers {
		servers, ok := rawServers.(map[string]any)
		if !ok {
			return errorf(http.StatusBadRequest, "servers must be an object of server name to {last_activity}, not %s", jsonType(rawServers))
		}
		for sname, info := range servers {
			var sp *store.Spawner
			for _, s := range u.Spawners {
				if s.Name == sname {
					sp = s
				}
			}
			if sp == nil {
				return errorf(http.StatusBadRequest, "No such server '%s' for user %s", sname, u.Name)
			}
			m, ok := info.(map[string]any)
			if !ok {
				return errorf(http.StatusBadRequest, "servers[%q] must be an object with last_activity", sname)
			}
			st, err := a.activityTime(m["last_activity"], fmt.Sprintf("servers[%q].last_activity", sname))
			if err != nil {
				return err
			}
			updates = append(updates, serverTime{sp, st})
		}
	}
	ctx := r.Context()
	if hasLast {
		if err := a.db.TouchUser(ctx, u.ID, userTime); err != nil {
			return fmt.Errorf("record activity of %s: %w", u.Name, err)
		}
	}
	for _, up := range updates {
		// Only last_activity moves (forward): spawner state saved by the manager at the same
		// time is never overwritten.
		if err := a.db.TouchSpawner(ctx, u.ID, up.sp.Name, up.t); err != nil {
			return fmt.Errorf("record activity of %s/%s: %w", u.Name, up.sp.Name, err)
		}
	}
	a.gen.Add(1)
	writeEmpty(w, http.StatusOK)
	return nil
}
