package spawner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"

	"gohub/internal/store"
)

// Start starts u's server (name "" is the default server) with options as user_options (nil
// reuses the options stored from the previous start). It waits up to slow_spawn_timeout: ready
// true means the server answered and is routed (201); false with a nil error means the spawn
// goes on in the background (202), its progress on Progress. Errors: ErrNamedServersDisabled,
// ErrNamedServerLimit, ErrAlreadyRunning, ErrPending (400); *LimitError (429); any other error
// is the failure of a spawn that ended within slow_spawn_timeout. options naming a profile or
// profile option choice that profile_list lacks are ErrBadRequest.
// A start while a spawn is pending returns (false, nil) without starting another.
func (m *Manager) Start(ctx context.Context, u User, name string, options map[string]any) (bool, error) {
	if err := m.checkNamed(ctx, u, name); err != nil {
		return false, err
	}
	if options != nil {
		// A profile or choice that does not exist is the caller's mistake (400), not a
		// failed spawn.
		if err := m.policy.CheckOptions(u, options); err != nil {
			return false, err
		}
	}
	att, err := m.begin(ctx, u, name, options)
	if err != nil || att == nil {
		return false, err
	}
	t := time.NewTimer(m.opts.Limits.SlowSpawnTimeout.D())
	defer t.Stop()
	select {
	case <-att.done:
		return att.err == nil, att.err
	case <-t.C:
	case <-ctx.Done():
	}
	return false, nil
}

// checkNamed applies allow_named_servers and named_server_limit_per_user.
func (m *Manager) checkNamed(ctx context.Context, u User, name string) error {
	if name == "" {
		return nil
	}
	if !m.opts.Limits.AllowNamedServers {
		return ErrNamedServersDisabled
	}
	limit := m.opts.Limits.NamedServerLimitPerUser
	if limit <= 0 {
		return nil
	}
	if _, err := m.opts.DB.GetSpawner(ctx, u.ID, name); err == nil {
		return nil // an existing server may always start
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	su, err := m.opts.DB.GetUser(ctx, u.Name)
	if err != nil {
		return fmt.Errorf("count named servers of %s: %w", u.Name, err)
	}
	n := 0
	for _, sp := range su.Spawners {
		if sp.Name != "" {
			n++
		}
	}
	if n >= limit {
		return withMsg(ErrNamedServerLimit, "User %s already has the maximum of %d named servers.  One must be deleted before a new server can be created", u.Name, limit)
	}
	return nil
}

// begin checks the server's state and the limits and launches the spawn goroutine. It returns
// nil without error when a spawn is already pending.
func (m *Manager) begin(ctx context.Context, u User, name string, options map[string]any) (*attempt, error) {
	for range 3 {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, ErrClosed
		}
		s := m.entry(u, name)
		switch {
		case s.pending == "spawn":
			m.mu.Unlock()
			return nil, nil
		case s.pending != "":
			pending := s.pending
			m.mu.Unlock()
			return nil, withMsg(ErrPending, "%s is pending %s", logName(u.Name, name), pending)
		case s.ready:
			sp := s.sp
			m.mu.Unlock()
			if st, err := sp.Poll(ctx); err != nil || st.Running {
				if err != nil {
					return nil, fmt.Errorf("poll %s: %w", logName(u.Name, name), err)
				}
				return nil, withMsg(ErrAlreadyRunning, "%s is already running", logName(u.Name, name))
			} else {
				m.died(s, sp, st)
			}
			continue
		}
		spawning, active := m.counts()
		if l := m.opts.Limits.ConcurrentSpawnLimit; l > 0 && spawning >= l {
			m.mu.Unlock()
			return nil, &LimitError{Message: "Too many users trying to log in right now. Try again in a minute.", RetryAfter: retryAfter()}
		}
		if l := m.opts.Limits.ActiveServerLimit; l > 0 && active >= l {
			m.mu.Unlock()
			return nil, &LimitError{Message: "Active user limit exceeded. Try again in a few minutes.", RetryAfter: retryAfter()}
		}
		sctx, cancel := context.WithCancel(m.ctx)
		att := &attempt{done: make(chan struct{}), events: newEventLog(), cancel: cancel}
		att.events.add(Event{Progress: 0, Message: "Server requested"})
		s.pending, s.ready, s.spawn = "spawn", false, att
		s.lastFailed, s.cancelled, s.lastExit, s.version = nil, false, nil, ""
		m.wg.Go(func() { m.runSpawn(sctx, s, att, u, name, options) })
		m.mu.Unlock()
		return att, nil
	}
	return nil, withMsg(ErrPending, "%s is changing state; try again", logName(u.Name, name))
}

// retryAfter is upstream's spawn throttle: a random 30–60 s.
func retryAfter() time.Duration {
	return time.Duration(30+rand.IntN(31)) * time.Second
}

// runSpawn runs one spawn to its end and records the outcome.
func (m *Manager) runSpawn(ctx context.Context, s *server, att *attempt, u User, name string, options map[string]any) {
	defer att.cancel()
	err := m.spawn(ctx, s, att, u, name, options)
	closing := m.ctx.Err() != nil
	cancelled := err != nil && ctx.Err() != nil && !closing
	if err != nil {
		m.log.Error("spawn failed", "user", u.Name, "server", name, "err", err)
		m.teardown(s)
	}
	m.mu.Lock()
	s.pending = ""
	s.ready = err == nil
	att.err = err
	limit := 0
	if err != nil {
		s.lastFailed, s.cancelled = err, cancelled
		if !cancelled && !closing {
			m.failures++
			limit = m.policy.common.ConsecutiveFailureLimit
		}
	} else {
		m.failures = 0
		m.startPolling(s)
	}
	failures := m.failures
	m.mu.Unlock()
	if err != nil {
		att.events.finish(failedEvent(err, cancelled))
	} else {
		att.events.finish(readyEvent(m.serverURL(u.Name, name)))
		m.log.Info("server ready", "user", u.Name, "server", name)
	}
	close(att.done)
	if limit > 0 && failures >= limit && m.opts.OnFailureLimit != nil {
		m.log.Error("consecutive_failure_limit reached", "failures", failures)
		// Its own goroutine: the hub shuts down there, and Close waits for this one.
		go m.opts.OnFailureLimit(failures)
	}
}

// spawn does the work of protocol.md §2.1: spawner row and options, policy, credentials, start,
// readiness, route. What it set up is recorded on s for teardown.
func (m *Manager) spawn(ctx context.Context, s *server, att *attempt, u User, name string, options map[string]any) error {
	db := m.opts.DB
	row, err := db.EnsureSpawner(ctx, u.ID, name)
	if err != nil {
		return err
	}
	if options == nil {
		options = map[string]any{}
		if len(row.UserOptions) > 0 {
			if err := json.Unmarshal(row.UserOptions, &options); err != nil {
				return fmt.Errorf("stored user_options: %w", err)
			}
		}
	} else if row.UserOptions, err = json.Marshal(options); err != nil {
		return fmt.Errorf("user_options: %w", err)
	}
	if m.opts.AuthState != nil {
		if u.AuthState, err = m.opts.AuthState(ctx, u); err != nil {
			return err
		}
	}
	sp, cfg, err := m.open(ctx, u, name, options, nil, true)
	if err != nil {
		return err
	}
	setup := m.setupFor(u, name, row.ID, cfg)
	m.mu.Lock()
	s.spawnerID, s.setup, s.sp, s.target, s.routed = row.ID, setup, nil, "", false
	s.pollEvery = cfg.PollInterval.D()
	m.mu.Unlock()
	token, err := m.opts.Hooks.PrepareServer(ctx, setup)
	if err != nil {
		return fmt.Errorf("create credentials: %w", err)
	}
	now := time.Now().UTC()
	row.Started, row.LastActivity, row.OAuthClientID, row.State = &now, &now, setup.ClientID, nil
	if err := db.SaveSpawner(ctx, row); err != nil {
		return err
	}
	if err := db.TouchUser(ctx, u.ID, now); err != nil {
		return err
	}
	req := &Request{
		User: u, ServerName: name, Prefix: setup.Prefix, UserOptions: options,
		Progress: att.events.add,
		env: envBase{settings: m.opts.Env, cfg: cfg, getenv: m.opts.LookupEnv, user: u.Name,
			serverName: name, prefix: setup.Prefix, token: token, clientID: setup.ClientID},
	}
	m.mu.Lock()
	s.sp = sp
	m.mu.Unlock()
	target, err := m.startSpawner(ctx, sp, req, cfg.StartTimeout.D())
	if err != nil {
		return err
	}
	srv, err := serverRow(target, setup.Prefix)
	if err != nil {
		return err
	}
	if err := db.SetSpawnerServer(ctx, row.ID, srv); err != nil {
		return err
	}
	m.mu.Lock()
	s.target = target
	m.mu.Unlock()
	if err := m.saveState(ctx, row.ID, u.ID, name, sp.State(), false); err != nil {
		return err
	}
	version, err := m.ready.wait(ctx, target+setup.Prefix+"api", cfg.HTTPTimeout.D(), sp)
	if err != nil {
		return err
	}
	if err := m.opts.Hooks.AddRoute(ctx, setup.Route, target, routeData(u.Name, name)); err != nil {
		return fmt.Errorf("add proxy route %s: %w", setup.Route, err)
	}
	m.mu.Lock()
	s.routed, s.version = true, version
	m.mu.Unlock()
	return nil
}

// startSpawner calls sp.Start with start_timeout.
func (m *Manager) startSpawner(ctx context.Context, sp Spawner, req *Request, timeout time.Duration) (string, error) {
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	target, err := sp.Start(sctx, req)
	if err != nil {
		if ctx.Err() == nil && errors.Is(sctx.Err(), context.DeadlineExceeded) {
			return "", fmt.Errorf("spawner did not start the server within %s: %w", timeout, err)
		}
		return "", err
	}
	return target, nil
}

// routeData is what the proxy keeps with a user's route.
func routeData(user, server string) map[string]any {
	return map[string]any{"user": user, "server_name": server}
}

// serverRow parses the URL a spawner returned into a servers row.
func serverRow(target, prefix string) (*store.Server, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("spawner returned an invalid URL %q", target)
	}
	host, portStr, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, portStr = u.Host, "80"
		if u.Scheme == "https" {
			portStr = "443"
		}
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("spawner returned an invalid URL %q", target)
	}
	return &store.Server{Proto: u.Scheme, IP: host, Port: port, BaseURL: prefix}, nil
}

// saveState writes a spawner row's state; clear also resets started, for a stopped server.
func (m *Manager) saveState(ctx context.Context, rowID, userID int64, name string, state json.RawMessage, clear bool) error {
	row, err := m.opts.DB.GetSpawner(ctx, userID, name)
	if err != nil {
		return err
	}
	if row.ID != rowID {
		return fmt.Errorf("spawner row of %s changed", name)
	}
	row.State = state
	if clear {
		now := time.Now().UTC()
		row.Started, row.LastActivity = nil, &now
	}
	return m.opts.DB.SaveSpawner(ctx, row)
}

// sortedUnique sorts a list of scopes and drops repeats.
func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
