package spawner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"gohub/internal/store"
)

// Options configure a Manager.
type Options struct {
	// DB stores spawner rows, server rows and state.
	DB *store.DB
	// Plugin is the spawner kind (JupyterHub.spawner_class) with its loaded config.
	Plugin Plugin
	// Hooks reach the token store, the OAuth provider and the proxy.
	Hooks Hooks
	// Limits are the hub-level spawn limits.
	Limits Limits
	// Env are the hub-wide facts every server's environment carries.
	Env    EnvSettings
	Logger *slog.Logger
	// LookupEnv reads the hub's environment for env_keep; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// OnFailureLimit is called (in a goroutine of its own) when consecutive_failure_limit
	// spawns in a row have failed; the hub shuts down there, as upstream does.
	OnFailureLimit func(failures int)
	// AuthState, when set, is called at the start of every spawn: the hub refreshes the user's
	// authentication there (refresh_pre_spawn) and returns the decrypted auth_state, which the
	// spawn then carries in User.AuthState. An error fails the spawn.
	AuthState func(ctx context.Context, u User) (map[string]any, error)
}

// Manager runs the lifecycle of every single-user server of one hub: start (with the spawn
// policy, credentials, readiness check and progress events), polling, stop, limits and the
// re-adoption of running servers after a restart. It is safe for concurrent use.
type Manager struct {
	opts   Options
	policy *SpawnPolicy
	log    *slog.Logger
	ready  *readiness

	ctx    context.Context // ends at Close; parent of every background goroutine
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	servers  map[serverKey]*server
	failures int // consecutive failed spawns
	closed   bool
}

type serverKey struct{ user, name string }

// server is the manager's view of one server; every field is guarded by Manager.mu.
type server struct {
	user User
	name string

	pending string // "spawn", "stop", "check" (being re-adopted at startup) or ""
	ready   bool
	spawn   *attempt // the current or last spawn
	stop    *attempt // the current or last stop

	sp         Spawner
	spawnerID  int64
	setup      ServerSetup
	target     string // http://ip:port
	routed     bool
	version    string // X-JupyterHub-Version of the server
	stopPoll   context.CancelFunc
	pollEvery  time.Duration // poll_interval of the server's effective config
	lastFailed error         // the last spawn's failure, nil after a success
	cancelled  bool          // the last spawn was cancelled by a stop
	lastExit   *Status
}

// attempt is one spawn or stop; done closes when it has finished, err is then final.
type attempt struct {
	done   chan struct{}
	err    error
	events *eventLog // spawns only
	cancel context.CancelFunc
}

// NewManager checks the plugin's config and spawn policy and returns a manager. Call Restore
// before serving requests, and Close at shutdown.
func NewManager(opts Options) (*Manager, error) {
	if opts.DB == nil || opts.Hooks == nil || opts.Plugin.Open == nil {
		return nil, errors.New("spawner manager: DB, Hooks and Plugin are required")
	}
	policy, err := NewSpawnPolicy(opts.Plugin)
	if err != nil {
		return nil, err
	}
	if _, err := opts.Plugin.Open(opts.Plugin.Config, slog.New(slog.DiscardHandler)); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Env.HubAPIURL == "" {
		opts.Env.HubAPIURL = "http://127.0.0.1:8081/hub/api"
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		opts:    opts,
		policy:  policy,
		log:     opts.Logger,
		ready:   newReadiness(),
		ctx:     ctx,
		cancel:  cancel,
		servers: map[serverKey]*server{},
	}, nil
}

// Close stops polling and cancels spawns under way (their servers are stopped); running
// servers keep running, to be re-adopted by the next hub's Restore. Use StopAll first to stop
// them (JupyterHub.cleanup_servers).
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	m.ready.close()
}

// ServerStatus is what the REST API shows about one server.
type ServerStatus struct {
	// Pending is "spawn", "stop", "check" (being re-adopted at hub start) or "" (null in JSON).
	Pending string
	// Ready is true when the server answered and is routed (false whenever Pending is set).
	Ready bool
	// Active is true while the server is ready or an action is pending.
	Active bool
	// Prefix is the server's URL path, /user/alice/.
	Prefix string
	// Target is where the proxy sends requests (http://127.0.0.1:port), "" when not running.
	Target string
	// Version is the X-JupyterHub-Version the server answered with.
	Version string
	// LastFailure is the error of the last spawn when it failed (nil after a success).
	LastFailure error
	// Cancelled is true when the last spawn was cancelled by a stop.
	Cancelled bool
	// LastExit is what poll found when the server last died on its own, if it did.
	LastExit *Status
}

// Status returns the state of a user's server as the manager knows it. A server the manager has
// never seen is stopped, with no failure.
func (m *Manager) Status(userName, serverName string) ServerStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := ServerStatus{Prefix: ServerPrefix(m.opts.Env.BaseURL, userName, serverName)}
	s := m.servers[serverKey{userName, serverName}]
	if s == nil {
		return st
	}
	st.Pending, st.Ready = s.pending, s.ready && s.pending == ""
	st.Active = s.ready || s.pending != ""
	st.Version, st.LastFailure, st.Cancelled, st.LastExit = s.version, s.lastFailed, s.cancelled, s.lastExit
	if st.Active {
		st.Target = s.target
	}
	return st
}

// SpawnForm returns what the spawn page offers u before a start: the options_form and the
// profile_list that apply to u after the override layers. An empty form means no page.
func (m *Manager) SpawnForm(u User) (SpawnForm, error) {
	return m.policy.Form(u)
}

// Progress returns the progress events of a user's server as protocol.md §1.4 has them: for a spawn
// under way, every event so far and then each new one until the final ready or failed event;
// for a ready server, one ready event; after a failed spawn, one failed event. The channel
// closes after the final event or when ctx ends. ErrNotStarting otherwise.
func (m *Manager) Progress(ctx context.Context, userName, serverName string) (<-chan Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.servers[serverKey{userName, serverName}]
	switch {
	case s == nil:
		return nil, ErrNotStarting
	case s.pending == "spawn":
		return s.spawn.events.watch(ctx), nil
	case s.pending == "" && s.ready:
		return staticLog(readyEvent(m.serverURL(userName, serverName))).watch(ctx), nil
	case s.pending == "" && s.lastFailed != nil:
		return staticLog(failedEvent(s.lastFailed, s.cancelled)).watch(ctx), nil
	}
	return nil, ErrNotStarting
}

// entry returns the server record of a key, creating it. Callers hold m.mu.
func (m *Manager) entry(u User, name string) *server {
	k := serverKey{u.Name, name}
	s := m.servers[k]
	if s == nil {
		s = &server{user: u, name: name}
		m.servers[k] = s
	}
	s.user = u
	return s
}

// counts returns the number of pending spawns and of active servers. Callers hold m.mu.
func (m *Manager) counts() (spawning, active int) {
	for _, s := range m.servers {
		if s.pending == "spawn" {
			spawning++
		}
		if s.ready || s.pending != "" {
			active++
		}
	}
	return spawning, active
}

// serverURL is where a browser finds a server: its prefix, on the user's own origin with
// subdomains.
func (m *Manager) serverURL(user, server string) string {
	p := ServerPrefix(m.opts.Env.BaseURL, user, server)
	if sd := m.opts.Env.Subdomains; sd != nil {
		return sd.UserOrigin(user) + p
	}
	return p
}

// setup describes a server's credentials for Hooks.
func (m *Manager) setupFor(u User, name string, spawnerID int64, cfg *Config) ServerSetup {
	prefix := ServerPrefix(m.opts.Env.BaseURL, u.Name, name)
	allowed := append([]string{}, cfg.OAuthClientAllowedScopes...)
	allowed = append(allowed, "access:servers!server="+u.Name+"/"+name)
	route, redirect := prefix, prefix+"oauth_callback"
	if sd := m.opts.Env.Subdomains; sd != nil {
		route, redirect = sd.RouteSpec(u.Name, prefix), sd.UserOrigin(u.Name)+redirect
	}
	return ServerSetup{
		User:                u,
		ServerName:          name,
		SpawnerID:           spawnerID,
		Prefix:              prefix,
		Route:               route,
		ClientID:            ClientID(u.Name, name),
		RedirectURI:         redirect,
		Description:         "Server at " + prefix,
		TokenScopes:         append([]string{}, cfg.ServerTokenScopes...),
		ClientAllowedScopes: sortedUnique(allowed),
	}
}

// bg returns a context for cleanup work that must finish even when the request or the spawn
// that started it was cancelled.
func (m *Manager) bg(timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(m.ctx), timeout)
}

// open resolves the config of a server and opens a Spawner for it.
func (m *Manager) open(ctx context.Context, u User, name string, options map[string]any, state []byte, withHook bool) (Spawner, *Config, error) {
	cfg, err := m.policy.Resolve(ctx, u, name, options, withHook)
	if err != nil {
		return nil, nil, err
	}
	f, err := m.opts.Plugin.Open(cfg, m.log)
	if err != nil {
		return nil, nil, fmt.Errorf("spawner config for %s: %w", logName(u.Name, name), err)
	}
	sp, err := f.NewSpawner(state)
	if err != nil {
		return nil, nil, fmt.Errorf("spawner for %s: %w", logName(u.Name, name), err)
	}
	return sp, f.Common(), nil
}

// UserFromStore converts a store user to the spawner's view of it.
func UserFromStore(u *store.User) User {
	return User{ID: u.ID, Name: u.Name, Admin: u.Admin, Groups: append([]string{}, u.Groups...)}
}
