// Package api serves JupyterHub's REST API under {base_url}hub/api (protocol.md §0, §1): users,
// their servers (start, stop, progress stream, 6.0 server model), tokens, groups, services,
// /proxy, /shutdown, the identity endpoint and the legacy authorization endpoints. It
// authenticates requests by API token or login cookie, decides access with rbac, and filters
// every model per key by the caller's scopes.
//
// Reads are served from caches keyed by a write generation that every successful write
// through this API bumps before it replies; entries also expire after a second, so changes made
// elsewhere (logins) show within that time, or at once if the writer calls API.Invalidate.
// Server state is the exception that must show at once (a spawn finishing after a 202, a
// server dying, a start from the spawn page), and the spawner manager has no change
// notification: every cached user rendering or row carries a signature of what
// Servers.Status said of the user's servers when it was made, and is served only while the
// signature is unchanged (one map lookup per server shown). The rendered GET /users cache for
// sorted or name-filtered lists is not used at all with a manager. A transition landing between
// a database read and its signature can still show up to a second late.
//
// Servers (§1.4) are started, stopped, renamed and removed through Deps.Servers (the spawner
// manager), which owns the server rows; this package writes a server row itself only to create
// a stopped named server (PUT) and to change a stopped server's display_name and user_options
// (PATCH), and records activity with store.TouchSpawner, which moves last_activity alone.
//
// Deliberate differences from JupyterHub 5:
//   - /api/info's "python" and "sys_executable" name the Go runtime and the gohub binary;
//   - POST /users/{name} refuses a name the authenticator would normalise to another one, and
//     every invalid name gets a 400 naming the reason;
//   - a negative token expires_in is a 400 (JupyterHub would create an expired token), and
//     expires_in 0 gets token_expires_in_max_seconds when one is set (JupyterHub: never expires);
//   - runtime services (POST /services/{name}) cannot have OAuth clients yet;
//   - POST to a server accepts 6.0's display_name but does not store it (PUT and PATCH do);
//   - {"remove": true} on a stop that answers 202 removes the record once the stop ends
//     (within five minutes), as JupyterHub does, from a goroutine of this package;
//   - without Deps.Servers, Deps.Proxy or Deps.Shutdown their endpoints answer 501.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"gohub/internal/naming"
	"gohub/internal/rbac"
	"gohub/internal/session"
	"gohub/internal/spawner"
	"gohub/internal/store"
)

// UsernamePolicy normalises and validates usernames the way the authenticator does
// (auth.Pipeline satisfies it).
type UsernamePolicy interface {
	// Normalize returns the hub username for name (lowercased, mapped).
	Normalize(name string) string
	// CheckUsername says why a normalised name is not a valid username; nil when it is.
	CheckUsername(name string) error
}

// Servers is the server lifecycle behind the server endpoints (§1.4) and the pending, ready
// and progress parts of the models; *spawner.Manager satisfies it. Without one (nil), no
// server is ever pending and the start, stop and progress endpoints answer 501.
type Servers interface {
	// Start starts a server: ready (201), pending (202), or an error (see spawner.Manager.Start).
	Start(ctx context.Context, u spawner.User, name string, options map[string]any) (bool, error)
	// Stop stops a server: stopped (204), stopping (202), or an error.
	Stop(ctx context.Context, u spawner.User, name string) (bool, error)
	// Remove deletes a stopped named server's record.
	Remove(ctx context.Context, u spawner.User, name string) error
	// Rename renames a stopped named server.
	Rename(ctx context.Context, u spawner.User, from, to string) error
	// Progress streams a spawn's events; spawner.ErrNotStarting when there is nothing to show.
	Progress(ctx context.Context, userName, serverName string) (<-chan spawner.Event, error)
	// Status is what the manager knows of a server now (pending, ready, last failure).
	Status(userName, serverName string) spawner.ServerStatus
	// ForgetUser drops what is remembered of a deleted user's servers.
	ForgetUser(name string) error
	// RenameUser moves what is remembered of a user's servers to a new name; it refuses while
	// one of them is active.
	RenameUser(from, to string) error
}

// RouteInfo is one route of the proxy in the hub's form (GET /api/proxy, §1.2).
type RouteInfo struct {
	Routespec string
	Target    string
	// Data is the route's data without "target" and "jupyterhub" (last_activity stays).
	Data map[string]any
}

// Proxy is the hub's view of its proxy for /api/proxy; the hub implements it.
type Proxy interface {
	// Routes returns the hub's routes (those marked jupyterhub), keyed by routespec.
	Routes(ctx context.Context) (map[string]RouteInfo, error)
	// CheckRoutes reconciles the proxy's routes with the hub's state (§3.4).
	CheckRoutes(ctx context.Context) error
}

// ProxyReconfigurer is optionally implemented by a Proxy that can switch to another
// configurable-http-proxy (PATCH /api/proxy with api_url and/or auth_token).
type ProxyReconfigurer interface {
	// Reconfigure points the hub at a new proxy API URL and/or token ("" keeps the old value).
	Reconfigure(ctx context.Context, apiURL, authToken string) error
}

// AuthStateCrypter encrypts and decrypts users' auth_state (JUPYTERHUB_CRYPT_KEY). Without
// one, auth_state reads as null and cannot be written.
type AuthStateCrypter interface {
	Decrypt(ctx context.Context, blob []byte) (map[string]any, error)
	Encrypt(ctx context.Context, state map[string]any) ([]byte, error)
}

// The spawner manager is what the hub passes as Deps.Servers.
var _ Servers = (*spawner.Manager)(nil)

// Info is what GET /api/info reports about the active spawner and authenticator.
type Info struct {
	SpawnerClass, SpawnerVersion             string
	AuthenticatorClass, AuthenticatorVersion string
}

// Deps are the API's dependencies and settings.
type Deps struct {
	Store    *store.DB
	Sessions *session.Manager
	Catalog  *rbac.Catalog
	Users    UsernamePolicy
	// Version is the PEP 440 JupyterHub version sent as X-JupyterHub-Version (e.g. "5.4.0").
	Version string
	// BaseURL is JupyterHub.base_url, "/" by default.
	BaseURL string
	// PublicURL is the hub's public URL (public_url, or subdomain_host's origin + base_url);
	// its origin makes the server models' full_url and full_progress_url. Optional.
	PublicURL *url.URL
	// Subdomains is JupyterHub.subdomain_host (nil when unset): a server's url, and a user's
	// server, are then absolute URLs on the user's own host, as upstream's.
	Subdomains *naming.Subdomains
	// PageDefaultLimit and PageMaxLimit are api_page_default_limit (50) and api_page_max_limit (200).
	PageDefaultLimit, PageMaxLimit int
	// TokenExpiresInMax is token_expires_in_max_seconds; 0 means no limit.
	TokenExpiresInMax time.Duration
	// ActivityResolution throttles last_activity writes (activity_resolution, 30 s).
	ActivityResolution time.Duration
	// AdminAccess is JupyterHub.admin_access (only the deprecated admin-access endpoint reads it).
	AdminAccess bool
	Info        Info
	Logger      *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	// Servers runs users' servers; optional (nil: no spawning, nothing ever pending).
	Servers Servers
	// ServerLimits are the hub's allow_named_servers and named_server_limit_per_user (the
	// manager enforces them on start; PUT, PATCH and GET of named servers read them here).
	ServerLimits spawner.Limits
	// Proxy serves /api/proxy; optional (nil: 501).
	Proxy Proxy
	// Shutdown shuts the hub down (POST /api/shutdown), stopping servers and the proxy as
	// asked; it is called in a goroutine of its own after the 202 reply. Optional (nil: 501).
	Shutdown func(servers, proxy bool)
	// CleanupServers and CleanupProxy are the defaults of POST /api/shutdown's flags
	// (JupyterHub.cleanup_servers and cleanup_proxy).
	CleanupServers, CleanupProxy bool
	// AuthState decrypts and encrypts auth_state; optional.
	AuthState AuthStateCrypter
	// Login checks the "auth" object an unauthenticated POST /users/{name}/tokens may carry
	// (e.g. {"username": ..., "password": ...}) and returns the authenticated username; optional
	// (without it such requests get 403).
	Login func(ctx context.Context, r *http.Request, auth map[string]any) (string, error)
	// Access blocks users and issues password-reset links (PATCH /users/{name} "blocked",
	// POST /users/{name}/password-reset); optional (nil: those answer 501).
	Access AccessControl
}

// API is the REST API handler. It is safe for concurrent use.
type API struct {
	d       Deps
	db      *store.DB
	log     *slog.Logger
	now     func() time.Time
	base    string // normalised base URL, "/" or "/prefix/"
	prefix  string // base + "hub/api"
	handler http.Handler

	// gen is bumped by every write; cached credentials of an older generation are reloaded.
	gen    atomic.Uint64
	tokens *tokenCache
	lists  *readCache[[]byte]      // rendered GET /users replies
	users  *readCache[*cachedUser] // GET /users/{name} rows
	snaps  *snapshots              // every user pre-rendered per caller view
}

// New checks the dependencies and builds the API.
func New(d Deps) (*API, error) {
	if d.Store == nil || d.Catalog == nil || d.Users == nil {
		return nil, errors.New("api: Store, Catalog and Users are required")
	}
	if d.Version == "" {
		return nil, errors.New("api: Version is required (a PEP 440 version such as 5.4.0)")
	}
	if d.PageMaxLimit <= 0 {
		d.PageMaxLimit = 200
	}
	if d.PageDefaultLimit <= 0 {
		d.PageDefaultLimit = 50
	}
	d.PageDefaultLimit = min(d.PageDefaultLimit, d.PageMaxLimit)
	if d.ActivityResolution < 0 {
		d.ActivityResolution = 0
	}
	base := d.BaseURL
	if base == "" {
		base = "/"
	}
	if !strings.HasPrefix(base, "/") {
		base = "/" + base
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	a := &API{d: d, db: d.Store, log: d.Logger, now: d.Now, base: base, prefix: base + "hub/api"}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.tokens = newTokenCache()
	a.lists = newReadCache[[]byte]()
	a.users = newReadCache[*cachedUser]()
	a.snaps = newSnapshots()
	a.handler = a.routes()
	return a, nil
}

// Handler serves everything under BaseURL+"hub/api" (and "hub/api/"); it expects the full
// request path (no prefix stripped).
func (a *API) Handler() http.Handler { return a.handler }

// Invalidate drops cached credentials and scopes. Packages that change tokens, users, roles or
// groups outside this API (login, logout, role sync) call it so the change takes effect at once;
// otherwise cached entries expire after a few seconds.
func (a *API) Invalidate() { a.gen.Add(1) }

// hubPrefix is base + "hub/".
func (a *API) hubPrefix() string { return a.base + "hub/" }
