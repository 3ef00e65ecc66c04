package spawner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gohub/internal/store"
)

// Restore re-adopts the servers the database says are running, at hub start: each is polled
// through a Spawner made from its saved state; a live one is marked ready, routed (AddRoute)
// and polled from then on; a dead one is cleared (server row, state, credentials). Errors about
// single servers are logged and returned joined; the others are still restored.
func (m *Manager) Restore(ctx context.Context) error {
	active, err := m.opts.DB.ActiveSpawners(ctx)
	if err != nil {
		return fmt.Errorf("restore servers: %w", err)
	}
	var errs []error
	for _, a := range active {
		if err := m.restoreOne(ctx, a); err != nil {
			m.log.Error("restore server", "user", a.UserName, "server", a.Spawner.Name, "err", err)
			errs = append(errs, fmt.Errorf("restore %s: %w", logName(a.UserName, a.Spawner.Name), err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) restoreOne(ctx context.Context, a store.ActiveSpawner) error {
	row := a.Spawner
	su, err := m.opts.DB.GetUserByID(ctx, row.UserID)
	if err != nil {
		return err
	}
	u, name := UserFromStore(su), row.Name
	options := map[string]any{}
	if len(row.UserOptions) > 0 {
		if err := json.Unmarshal(row.UserOptions, &options); err != nil {
			return fmt.Errorf("stored user_options: %w", err)
		}
	}
	// The pre-spawn hook is not run again: it belongs to a start, and the server has started.
	sp, cfg, err := m.open(ctx, u, name, options, row.State, false)
	if err != nil {
		return err
	}
	setup := m.setupFor(u, name, row.ID, cfg)
	st, err := sp.Poll(ctx)
	if err != nil {
		return fmt.Errorf("poll: %w", err)
	}
	m.mu.Lock()
	s := m.entry(u, name)
	if s.ready || s.pending != "" {
		m.mu.Unlock()
		return nil // already known to this manager
	}
	s.sp, s.setup, s.spawnerID = sp, setup, row.ID
	s.target = targetURL(row.Server)
	m.mu.Unlock()
	if !st.Running {
		m.log.Info("server found stopped at startup", "user", u.Name, "server", name)
		return m.teardown(s)
	}
	if err := m.opts.Hooks.AddRoute(ctx, setup.Prefix, s.target, routeData(u.Name, name)); err != nil {
		return fmt.Errorf("add proxy route %s: %w", setup.Prefix, err)
	}
	m.mu.Lock()
	s.routed, s.ready = true, true
	m.startPolling(s)
	m.mu.Unlock()
	m.log.Info("re-adopted running server", "user", u.Name, "server", name, "target", s.target)
	return nil
}

// targetURL is the URL of a servers row: proto://ip:port.
func targetURL(srv *store.Server) string {
	if srv == nil {
		return ""
	}
	proto := srv.Proto
	if proto == "" {
		proto = "http"
	}
	host := srv.IP
	if host == "" {
		host = "127.0.0.1"
	}
	return proto + "://" + hostPort(host, srv.Port)
}
