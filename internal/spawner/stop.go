package spawner

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"gohub/internal/store"
)

// teardownTimeout bounds the cleanup after a failed spawn or a stop: stopping the process
// (which has its own grace periods), the route, the rows, the credentials.
const teardownTimeout = 2 * time.Minute

// Stop stops a user's server. A pending spawn is cancelled first. It waits up to
// slow_stop_timeout: stopped true means the server is gone (204); false with a nil error means
// the stop goes on in the background (202); a stop already under way answers that at once. A
// server that is not running is stopped already. ErrPending while it is re-adopted at start.
// ErrNotFound for a named server the user does not have.
func (m *Manager) Stop(ctx context.Context, u User, name string) (bool, error) {
	if name != "" {
		if !m.opts.Limits.AllowNamedServers {
			return false, ErrNamedServersDisabled
		}
		if _, err := m.opts.DB.GetSpawner(ctx, u.ID, name); errors.Is(err, store.ErrNotFound) {
			return false, ErrNotFound
		} else if err != nil {
			return false, err
		}
	}
	return m.stop(ctx, u, name)
}

// stop is Stop without the named-server checks (StopAll stops whatever runs).
func (m *Manager) stop(ctx context.Context, u User, name string) (bool, error) {
	m.mu.Lock()
	s := m.servers[serverKey{u.Name, name}]
	if s != nil && s.pending == "spawn" {
		att := s.spawn
		att.cancel()
		m.mu.Unlock()
		// The cancelled spawn tears its server down itself.
		select {
		case <-att.done:
		case <-ctx.Done():
			return false, nil
		}
		m.mu.Lock()
	}
	if s == nil || (!s.ready && s.pending == "") {
		m.mu.Unlock()
		return true, nil
	}
	if s.pending == "check" {
		m.mu.Unlock()
		return false, withMsg(ErrPending, "%s is pending check", logName(u.Name, name))
	}
	if s.pending == "stop" {
		// Already stopping: 202 at once, as upstream answers.
		m.mu.Unlock()
		return false, nil
	}
	att := &attempt{done: make(chan struct{})}
	s.pending, s.ready, s.stop = "stop", false, att
	if s.stopPoll != nil {
		s.stopPoll()
		s.stopPoll = nil
	}
	m.wg.Go(func() { m.runStop(s, att, u.Name, name) })
	m.mu.Unlock()
	t := time.NewTimer(m.opts.Limits.SlowStopTimeout.D())
	defer t.Stop()
	select {
	case <-att.done:
		return att.err == nil, att.err
	case <-t.C:
	case <-ctx.Done():
	}
	return false, nil
}

// runStop stops a ready server and records the outcome.
func (m *Manager) runStop(s *server, att *attempt, user, name string) {
	m.log.Info("stopping server", "user", user, "server", name)
	err := m.teardown(s)
	m.mu.Lock()
	s.pending, att.err = "", err
	m.mu.Unlock()
	close(att.done)
}

// teardown undoes what a spawn set up, in upstream's order: route, process, server row and
// state, credentials. It goes on past errors and returns the first.
func (m *Manager) teardown(s *server) error {
	ctx, cancel := m.bg(teardownTimeout)
	defer cancel()
	m.mu.Lock()
	sp, setup, routed, rowID := s.sp, s.setup, s.routed, s.spawnerID
	s.routed = false
	m.mu.Unlock()
	var errs []error
	if routed {
		if err := m.opts.Hooks.DeleteRoute(ctx, setup.Route); err != nil {
			errs = append(errs, err)
		}
	}
	if sp != nil {
		if err := sp.Stop(ctx, false); err != nil {
			errs = append(errs, err)
		}
	}
	if rowID != 0 {
		if err := m.opts.DB.SetSpawnerServer(ctx, rowID, nil); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
		var state []byte
		if sp != nil {
			state = sp.State()
		}
		if err := m.saveState(ctx, rowID, setup.User.ID, setup.ServerName, state, true); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
		if err := m.opts.Hooks.Cleanup(ctx, setup); err != nil {
			errs = append(errs, err)
		}
	}
	m.mu.Lock()
	if s.sp == sp {
		s.target = ""
	}
	m.mu.Unlock()
	if len(errs) > 0 {
		m.log.Error("cleanup after server", "user", setup.User.Name, "server", setup.ServerName, "err", errors.Join(errs...))
		return errs[0]
	}
	return nil
}

// startPolling starts the poll loop of a ready server. Callers hold m.mu.
func (m *Manager) startPolling(s *server) {
	interval := s.pollEvery
	if interval <= 0 || s.sp == nil {
		return
	}
	ctx, cancel := context.WithCancel(m.ctx)
	s.stopPoll = cancel
	sp, user, name := s.sp, s.user.Name, s.name
	m.wg.Go(func() { m.poll(ctx, s, sp, interval, user, name) })
}

// poll checks the server every interval (with 10% jitter, as upstream's poll_jitter) until it
// dies or ctx ends.
func (m *Manager) poll(ctx context.Context, s *server, sp Spawner, interval time.Duration, user, name string) {
	for {
		jitter := time.Duration(float64(interval) * 0.1 * (2*rand.Float64() - 1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval + jitter):
		}
		st, err := sp.Poll(ctx)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("poll failed", "user", user, "server", name, "err", err)
			}
			continue
		}
		if !st.Running {
			m.died(s, sp, st)
			return
		}
	}
}

// died handles a server found dead: unless something else is already handling the server, it
// is marked stopping, torn down and marked stopped.
func (m *Manager) died(s *server, sp Spawner, st Status) {
	m.mu.Lock()
	if s.sp != sp || !s.ready || s.pending != "" {
		m.mu.Unlock()
		return
	}
	att := &attempt{done: make(chan struct{})}
	s.pending, s.ready, s.stop, s.lastExit = "stop", false, att, &st
	if s.stopPoll != nil {
		s.stopPoll()
		s.stopPoll = nil
	}
	user, name := s.user.Name, s.name
	m.mu.Unlock()
	m.log.Warn("server stopped on its own", "user", user, "server", name, "exit_code", st.ExitCode, "reason", st.Reason)
	m.runStop(s, att, user, name)
}

// StopAll stops every server the manager runs and waits for all of them (at hub shutdown with
// cleanup_servers). It returns the first error.
func (m *Manager) StopAll(ctx context.Context) error {
	type item struct {
		s    *server
		user User
		name string
	}
	m.mu.Lock()
	var list []item
	for _, s := range m.servers {
		if s.ready || s.pending != "" {
			list = append(list, item{s, s.user, s.name})
		}
	}
	m.mu.Unlock()
	errs := make(chan error, len(list))
	for _, it := range list {
		s := it.s
		go func() {
			_, err := m.stop(ctx, it.user, it.name)
			if err == nil {
				m.mu.Lock()
				att := s.stop
				m.mu.Unlock()
				if att != nil {
					select {
					case <-att.done:
						err = att.err
					case <-ctx.Done():
						err = ctx.Err()
					}
				}
			}
			errs <- err
		}()
	}
	var first error
	for range list {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
