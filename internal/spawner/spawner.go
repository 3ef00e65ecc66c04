// Package spawner starts, watches and stops single-user servers. It holds the Spawner
// interface every spawner kind implements, the common configuration (upstream's `Spawner`
// traits), the spawn policy (per-user, per-group and admin overrides and a pre-spawn hook), the
// environment of protocol.md §2.2, and the Manager: the lifecycle of every server (start with
// readiness check and progress events, polling, stop, limits, restore after a hub restart).
//
// Spawner kinds live in their own packages (internal/spawner/local, …) and are listed in one
// table in internal/spawner/registry. The manager reaches the rest of the hub (tokens, OAuth
// clients, the proxy) only through the small Hooks interface.
//
// Wiring, for the hub: e, _ := registry.Lookup(spawner_class); load the config sections
// e.Parents + e.Class into e.NewConfig(); NewManager(Options{Plugin: e.Plugin(cfg), Limits:
// (the JupyterHub section's Limits), Hooks: …}); Restore before serving; at shutdown StopAll
// (if cleanup_servers) and Close. The REST API maps the results:
//   - Start: ready → 201, not ready and nil error → 202, errors.Is(err, ErrBadRequest) → 400,
//     *LimitError → 429 with Retry-After, any other error (a spawn that failed within
//     slow_spawn_timeout) → 500 with its message;
//   - Stop: stopped → 204, not stopped and nil error → 202, ErrNotFound → 404,
//     ErrBadRequest → 400; with {"remove": true} call Remove after a 204;
//   - Progress: a channel of events to send as `data: <json>` lines, or ErrNotStarting → 400;
//   - Status gives pending, ready and the last failure for the user and server models.
package spawner

import (
	"context"
	"encoding/json"
	"log/slog"
)

// Spawner runs one single-user server. A Factory makes one per server. Start and Stop are
// never called concurrently, but Poll may run at the same time as either (the poll loop, a
// start request checking a running server), so implementations must allow that.
type Spawner interface {
	// Start launches the server and returns the URL it will answer on (http://ip:port). It
	// returns once the server is launched, not when it answers: the manager checks readiness.
	// ctx ends at start_timeout. Progress may be reported through req.Progress.
	Start(ctx context.Context, req *Request) (url string, err error)
	// Poll reports whether the server is still running. After a hub restart it is called on a
	// Spawner made from saved state, so it must not rely on memory of the start.
	Poll(ctx context.Context) (Status, error)
	// Stop ends the server and returns once it is gone. now skips the graceful steps.
	Stop(ctx context.Context, now bool) error
	// State is what must be saved to find the server again after a hub restart (stored as
	// spawners.state); nil when there is nothing to save.
	State() json.RawMessage
}

// Status is what Poll finds.
type Status struct {
	// Running is true while the server is alive.
	Running bool
	// ExitCode is the exit status when known (a process the hub started itself), else 0.
	ExitCode int
	// Reason says in words why it is not running, when known ("killed by signal 9").
	Reason string
}

// Factory makes Spawners of one kind from one effective configuration.
type Factory interface {
	// Common is the common part of the configuration the factory was opened with.
	Common() *Config
	// NewSpawner makes the Spawner of one server; state is what an earlier Spawner's State
	// returned (nil for a server that is not running).
	NewSpawner(state json.RawMessage) (Spawner, error)
}

// Plugin is a spawner kind as the manager uses it: the configuration loaded from the file and
// how to open a configuration of the same type. The spawn policy makes a changed copy of Config
// for each start and opens that, so overrides can set any trait of the kind.
// internal/spawner/registry builds Plugins.
type Plugin struct {
	// Class is upstream's class name ("LocalProcessSpawner"), for logs and /hub/api/info.
	Class string
	// Config is a pointer to the kind's config struct, as loaded.
	Config any
	// Open validates a config of Config's type and returns a Factory for it.
	Open func(cfg any, log *slog.Logger) (Factory, error)
}

// User is who a server belongs to, as the spawn policy and the environment need it.
type User struct {
	ID     int64
	Name   string
	Admin  bool
	Groups []string
	// AuthState is the user's decrypted auth_state at a start (Options.AuthState), nil when
	// there is none: the spawn policy's pre_spawn_hook and the spawner may read it (upstream's
	// auth_state_hook), e.g. to put the provider's access token in the environment.
	AuthState map[string]any
}

// Request is what a Spawner gets to start one server.
type Request struct {
	// User owns the server; ServerName is "" for the default server.
	User       User
	ServerName string
	// Prefix is the server's URL path (JUPYTERHUB_SERVICE_PREFIX), /user/alice/ or /user/alice/gpu/.
	Prefix string
	// UserOptions are the options of this start (after the pre-spawn hook), never nil.
	UserOptions map[string]any
	// Progress reports a progress event to whoever watches the spawn; nil-safe to call.
	Progress func(Event)

	env envBase
}

// Env returns the environment of protocol.md §2.2 for a server that listens at bindHost:port
// (bindHost "" means all interfaces): the env_keep variables of the hub's environment, the
// hub's variables, the limits, then Spawner.environment over all of them. Spawners add what
// only they know (LocalProcessSpawner: USER, HOME and SHELL from passwd, which upstream also
// sets after Spawner.environment).
func (r *Request) Env(bindHost string, port int) map[string]string {
	return r.env.build(bindHost, port)
}

// ReportProgress calls r.Progress if it is set.
func (r *Request) ReportProgress(e Event) {
	if r.Progress != nil {
		r.Progress(e)
	}
}

// Event is one progress event of a spawn (protocol.md §1.4), sent as `data: <json>` on the progress
// stream.
type Event struct {
	Progress    int    `json:"progress"`
	Message     string `json:"message,omitempty"`
	HTMLMessage string `json:"html_message,omitempty"`
	Ready       bool   `json:"ready,omitempty"`
	Failed      bool   `json:"failed,omitempty"`
	URL         string `json:"url,omitempty"`
}

// Hooks is what the manager needs from the rest of the hub. The hub implements it with its
// token store, OAuth provider and proxy.
type Hooks interface {
	// PrepareServer creates the server's API token and upserts its OAuth client (protocol.md §2.1
	// steps 2–3) and returns the token's plaintext. s says what the client and token look like.
	PrepareServer(ctx context.Context, s ServerSetup) (token string, err error)
	// AddRoute adds or replaces a proxy route; data is kept with it (user, server_name).
	AddRoute(ctx context.Context, routespec, target string, data map[string]any) error
	// DeleteRoute removes a proxy route; a missing route is no error.
	DeleteRoute(ctx context.Context, routespec string) error
	// Cleanup deletes the server's API token and OAuth client after it stopped (protocol.md §2.1,
	// "Stop"); a missing one is no error.
	Cleanup(ctx context.Context, s ServerSetup) error
}

// ServerSetup describes the credentials of one server for Hooks.
type ServerSetup struct {
	User       User
	ServerName string
	// SpawnerID is the spawners row.
	SpawnerID int64
	// Prefix is the server's URL path, /user/alice/[gpu/].
	Prefix string
	// Route is the server's proxy route: Prefix, or /{user host}{Prefix} with subdomains.
	Route string
	// ClientID is the OAuth client id, jupyterhub-user-alice[-gpu].
	ClientID string
	// RedirectURI is the OAuth callback, {prefix}oauth_callback (absolute, on the user's
	// host, with subdomains).
	RedirectURI string
	// Description is "Server at {prefix}", the token note and client description.
	Description string
	// TokenScopes are Spawner.server_token_scopes; empty means the server role's scopes. The
	// hub rewrites bare !server and intersects with the user's scopes (§2.1 step 2).
	TokenScopes []string
	// ClientAllowedScopes are the client's allowed scopes: oauth_client_allowed_scopes plus
	// access:servers!server={user}/{server}, sorted.
	ClientAllowedScopes []string
}
