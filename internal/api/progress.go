package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"gohub/internal/spawner"
)

// progressKeepAlive is the interval of the bare "\n\n" keep-alives on a progress stream (§1.4).
var progressKeepAlive = 8 * time.Second

// serverProgress answers GET /users/{name}/server/progress and
// /users/{name}/servers/{server_name}/progress (read:servers): the spawn's events as
// text/event-stream, one `data: <json>` per event, flushed each, until the ready or failed
// event. Browsers' EventSource authenticates by cookie with ?_xsrf= (checked by authenticate
// like any cookie request).
func (a *API) serverProgress(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, server, err := a.serverCall(r, c, "read:servers")
	if err != nil {
		return err
	}
	if server != "" {
		if err := a.namedAllowed(server); err != nil {
			return err
		}
		if findSpawner(u, server) == nil {
			return errorf(http.StatusNotFound, "%s has no server named '%s'", u.Name, server)
		}
	}
	ctx := r.Context()
	events, err := a.d.Servers.Progress(ctx, u.Name, server)
	if errors.Is(err, spawner.ErrNotStarting) {
		return errorf(http.StatusBadRequest, "%s is not starting", logServer(u.Name, server))
	}
	if err != nil {
		return spawnError(err, w)
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a spawn may take longer than the server's WriteTimeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil // the client is gone or the writer cannot stream; nothing more to say
	}
	keep := time.NewTicker(progressKeepAlive)
	defer keep.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return nil
			}
			b, err := json.Marshal(e)
			if err != nil {
				a.log.Error("encode progress event", "err", err)
				return nil
			}
			buf := make([]byte, 0, len(b)+8)
			buf = append(append(append(buf, "data: "...), b...), "\n\n"...)
			if _, err := w.Write(buf); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
			keep.Reset(progressKeepAlive)
		case <-keep.C:
			if _, err := w.Write([]byte("\n\n")); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// logServer names a server as upstream's messages do: "alice" or "alice:gpu".
func logServer(user, server string) string {
	if server == "" {
		return user
	}
	return fmt.Sprintf("%s:%s", user, server)
}
