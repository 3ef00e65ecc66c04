// Package api serves JupyterHub's REST API under {base_url}hub/api (spec §0, §1): users,
// tokens, groups, services, the identity endpoint and the legacy authorization endpoints. It
// authenticates requests by API token or login cookie, decides access with rbac, and filters
// every model per key by the caller's scopes.
//
// Reads are served from caches keyed by a write generation that every successful write
// through this API bumps before it replies; entries also expire after a second, so changes made
// elsewhere (logins, the spawner manager) show within that time, or at once if the writer calls
// API.Invalidate.
//
// Deliberate differences from JupyterHub 5:
//   - /api/info's "python" and "sys_executable" name the Go runtime and the gohub binary;
//   - DELETE /users/{name} refuses (400) while one of the user's servers runs, until server
//     stop is wired in (JupyterHub stops the servers first);
//   - POST /users/{name} refuses a name the authenticator would normalise to another one, and
//     every invalid name gets a 400 naming the reason;
//   - a negative token expires_in is a 400 (JupyterHub would create an expired token), and
//     expires_in 0 gets token_expires_in_max_seconds when one is set (JupyterHub: never expires);
//   - runtime services (POST /services/{name}) cannot have OAuth clients yet.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"gohub/internal/rbac"
	"gohub/internal/session"
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

// ServerStates reports what a spawner is doing right now; the spawner manager implements it.
// Without one, no server is ever pending.
type ServerStates interface {
	// Pending returns "spawn", "stop", "check" or "rename" for a pending transition of the
	// user's server (name "" is the default server), "" otherwise.
	Pending(user, server string) string
}

// AuthStateCrypter encrypts and decrypts users' auth_state (JUPYTERHUB_CRYPT_KEY). Without
// one, auth_state reads as null and cannot be written.
type AuthStateCrypter interface {
	Decrypt(ctx context.Context, blob []byte) (map[string]any, error)
	Encrypt(ctx context.Context, state map[string]any) ([]byte, error)
}

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

	// Servers reports pending transitions; optional.
	Servers ServerStates
	// AuthState decrypts and encrypts auth_state; optional.
	AuthState AuthStateCrypter
	// Login checks the "auth" object an unauthenticated POST /users/{name}/tokens may carry
	// (e.g. {"username": ..., "password": ...}) and returns the authenticated username; optional
	// (without it such requests get 403).
	Login func(ctx context.Context, r *http.Request, auth map[string]any) (string, error)
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
	users  *readCache[*store.User] // GET /users/{name} rows
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
	a.users = newReadCache[*store.User]()
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
