package spawner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"gohub/internal/store"
)

// Restore re-adopts the servers the database says are running, at hub start: each is polled
// through a Spawner made from its saved state; a live one must answer HTTP within
// http_timeout (as upstream checks), and is then marked ready, routed (AddRoute) and polled
// from then on; a dead or silent one is stopped and cleared (server row, state, credentials).
// Servers are checked concurrently. Errors about single servers are logged and returned
// joined; the others are still restored.
func (m *Manager) Restore(ctx context.Context) error {
	active, err := m.opts.DB.ActiveSpawners(ctx)
	if err != nil {
		return fmt.Errorf("restore servers: %w", err)
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 16)
	)
	for _, a := range active {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := m.restoreOne(ctx, a); err != nil {
				m.log.Error("restore server", "user", a.UserName, "server", a.Spawner.Name, "err", err)
				mu.Lock()
				errs = append(errs, fmt.Errorf("restore %s: %w", logName(a.UserName, a.Spawner.Name), err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
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
	// "check" (upstream's word) keeps starts and stops away while the server is examined.
	s.pending = "check"
	s.sp, s.setup, s.spawnerID, s.pollEvery = sp, setup, row.ID, cfg.PollInterval.D()
	s.target = targetURL(row.Server)
	target := s.target
	m.mu.Unlock()
	ready, version, err := m.check(ctx, s, sp, st, target, setup, cfg)
	m.mu.Lock()
	s.pending = ""
	if ready {
		s.routed, s.ready, s.version = true, true, version
		m.startPolling(s)
	}
	m.mu.Unlock()
	if err != nil || !ready {
		return err
	}
	m.log.Info("re-adopted running server", "user", u.Name, "server", name, "target", target)
	return nil
}

// check decides what becomes of a server found in the database: a dead one is cleared, a
// silent one stopped and cleared, a live one routed. ready reports the last case.
func (m *Manager) check(ctx context.Context, s *server, sp Spawner, st Status, target string, setup ServerSetup, cfg *Config) (ready bool, version string, err error) {
	if !st.Running {
		m.log.Info("server found stopped at startup", "user", setup.User.Name, "server", setup.ServerName)
		return false, "", m.teardown(s)
	}
	version, err = m.ready.wait(ctx, target+setup.Prefix+"api", cfg.HTTPTimeout.D(), sp)
	if err != nil {
		m.log.Warn("running server does not answer at startup; stopping it", "user", setup.User.Name, "server", setup.ServerName, "err", err)
		return false, "", m.teardown(s)
	}
	if err := m.opts.Hooks.AddRoute(ctx, setup.Route, target, routeData(setup.User.Name, setup.ServerName)); err != nil {
		return false, "", fmt.Errorf("add proxy route %s: %w", setup.Route, err)
	}
	m.mu.Lock()
	s.routed = true
	m.mu.Unlock()
	return true, version, nil
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
