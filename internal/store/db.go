package store

// This file is the contract other packages code against. Bodies that panic are being written.

import (
	"context"
	"log/slog"
	"time"
)

// Options tune Open.
type Options struct {
	// Upgrade applies pending migrations to an existing database (gohub upgrade-db). A new, empty
	// database is always initialised; an existing one that is behind fails Open with ErrPending
	// unless Upgrade is set.
	Upgrade bool
	Logger  *slog.Logger
}

// DB is the hub's database: SQLite (sqlite:///path, sqlite:///:memory:) or PostgreSQL
// (postgresql://... or postgres://...). It is safe for concurrent use. Every method is one
// transaction: it changes everything it says or nothing.
type DB struct{}

// Open connects to url, creates the schema on an empty database, and refuses a database whose
// schema is newer than this binary (ErrTooNew).
func Open(ctx context.Context, url string, opts Options) (*DB, error) { panic("unimplemented") }

// Close releases the connections.
func (db *DB) Close() error { panic("unimplemented") }

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { panic("unimplemented") }

// Users.

// UserUpdate lists the fields UpdateUser changes; nil fields are left as they are.
type UserUpdate struct {
	Name               *string
	Admin              *bool
	EncryptedAuthState *[]byte // pointer to nil clears it
	UserInfo           *[]byte
}

func (db *DB) CreateUser(ctx context.Context, name string, admin bool) (*User, error) {
	panic("unimplemented")
}

// CreateUsers creates the named users that do not exist yet, in one transaction, and returns
// those it created in the order given.
func (db *DB) CreateUsers(ctx context.Context, names []string, admin bool) ([]*User, error) {
	panic("unimplemented")
}
func (db *DB) GetUser(ctx context.Context, name string) (*User, error)  { panic("unimplemented") }
func (db *DB) GetUserByID(ctx context.Context, id int64) (*User, error) { panic("unimplemented") }
func (db *DB) GetUserByCookieID(ctx context.Context, cookieID string) (*User, error) {
	panic("unimplemented")
}

// ListUsers returns one page of users (with groups, roles and spawners) and the total number
// of users matching the query before paging.
func (db *DB) ListUsers(ctx context.Context, q UserQuery) ([]*User, int, error) {
	panic("unimplemented")
}
func (db *DB) UpdateUser(ctx context.Context, id int64, u UserUpdate) (*User, error) {
	panic("unimplemented")
}
func (db *DB) DeleteUser(ctx context.Context, name string) error { panic("unimplemented") }

// RotateCookieID gives the user a new cookie_id, logging out every browser session.
func (db *DB) RotateCookieID(ctx context.Context, userID int64) (string, error) {
	panic("unimplemented")
}

// TouchUser sets last_activity to t if t is later than the stored value.
func (db *DB) TouchUser(ctx context.Context, userID int64, t time.Time) error {
	panic("unimplemented")
}

// Groups.

// CreateGroups creates every named group with the given members, or none: ErrExists if any
// group exists, ErrNotFound (wrapped, naming the user) if a member does not exist.
func (db *DB) CreateGroups(ctx context.Context, names []string, members []string) ([]*Group, error) {
	panic("unimplemented")
}
func (db *DB) GetGroup(ctx context.Context, name string) (*Group, error) { panic("unimplemented") }
func (db *DB) ListGroups(ctx context.Context, q GroupQuery) ([]*Group, int, error) {
	panic("unimplemented")
}
func (db *DB) DeleteGroup(ctx context.Context, name string) error { panic("unimplemented") }
func (db *DB) AddGroupMembers(ctx context.Context, group string, users []string) (*Group, error) {
	panic("unimplemented")
}
func (db *DB) RemoveGroupMembers(ctx context.Context, group string, users []string) (*Group, error) {
	panic("unimplemented")
}
func (db *DB) SetGroupProperties(ctx context.Context, group string, props map[string]any) (*Group, error) {
	panic("unimplemented")
}

// Roles.

// UpsertRole creates or updates a role's description, scopes and managed flag by name; its
// members are not touched.
func (db *DB) UpsertRole(ctx context.Context, r Role) (*Role, error)   { panic("unimplemented") }
func (db *DB) GetRole(ctx context.Context, name string) (*Role, error) { panic("unimplemented") }
func (db *DB) ListRoles(ctx context.Context) ([]*Role, error)          { panic("unimplemented") }
func (db *DB) DeleteRole(ctx context.Context, name string) error       { panic("unimplemented") }

// SetRoleMembers replaces the role's members exactly; a missing user, group or service is
// ErrNotFound and nothing changes.
func (db *DB) SetRoleMembers(ctx context.Context, role string, users, groups, services []string) error {
	panic("unimplemented")
}

// Member kinds for GrantRole, RevokeRole and RolesOf.
const (
	KindUser    = "user"
	KindGroup   = "group"
	KindService = "service"
)

// GrantRole binds role to the named member (a no-op if already bound).
func (db *DB) GrantRole(ctx context.Context, role, kind, name string) error { panic("unimplemented") }

// RevokeRole unbinds role from the named member (a no-op if not bound).
func (db *DB) RevokeRole(ctx context.Context, role, kind, name string) error { panic("unimplemented") }

// RolesOf returns the roles that give an owner its scopes: for a user its own roles and those
// of its groups; for a service its own. Each role once, ordered by name.
func (db *DB) RolesOf(ctx context.Context, kind string, id int64) ([]*Role, error) {
	panic("unimplemented")
}

// Services.

func (db *DB) UpsertService(ctx context.Context, s Service) (*Service, error) {
	panic("unimplemented")
}
func (db *DB) GetService(ctx context.Context, name string) (*Service, error) {
	panic("unimplemented")
}
func (db *DB) GetServiceByID(ctx context.Context, id int64) (*Service, error) {
	panic("unimplemented")
}
func (db *DB) ListServices(ctx context.Context) ([]*Service, error) { panic("unimplemented") }
func (db *DB) DeleteService(ctx context.Context, name string) error { panic("unimplemented") }

// Tokens.

// CreateToken stores a token hashed (§6.3) and returns its row. ErrExists if the same token is
// already stored.
func (db *DB) CreateToken(ctx context.Context, t NewToken) (*Token, error) { panic("unimplemented") }

// LookupToken finds the unexpired token whose plaintext is plain: candidates by 4-char prefix,
// then a constant-time hash comparison. ErrNotFound otherwise.
func (db *DB) LookupToken(ctx context.Context, plain string, now time.Time) (*Token, error) {
	panic("unimplemented")
}
func (db *DB) GetToken(ctx context.Context, id int64) (*Token, error) { panic("unimplemented") }

// ListTokens returns the tokens of a user (kind KindUser) or service (KindService), ordered by
// last_activity then created.
func (db *DB) ListTokens(ctx context.Context, kind string, ownerID int64) ([]*Token, error) {
	panic("unimplemented")
}
func (db *DB) DeleteToken(ctx context.Context, id int64) error { panic("unimplemented") }

// DeleteTokensOfClient deletes every token of the user issued to the OAuth client.
func (db *DB) DeleteTokensOfClient(ctx context.Context, userID int64, clientID string) error {
	panic("unimplemented")
}

// DeleteTokensOfSession deletes every token of the user that carries the session id (logout).
func (db *DB) DeleteTokensOfSession(ctx context.Context, userID int64, sessionID string) error {
	panic("unimplemented")
}

// PurgeExpiredTokens deletes tokens that expired before now and returns how many.
func (db *DB) PurgeExpiredTokens(ctx context.Context, now time.Time) (int, error) {
	panic("unimplemented")
}

// TouchToken sets last_activity to t if later than the stored value.
func (db *DB) TouchToken(ctx context.Context, id int64, t time.Time) error { panic("unimplemented") }

// Spawners and servers.

// EnsureSpawner returns the user's spawner row of that name, creating it if missing.
func (db *DB) EnsureSpawner(ctx context.Context, userID int64, name string) (*Spawner, error) {
	panic("unimplemented")
}
func (db *DB) GetSpawner(ctx context.Context, userID int64, name string) (*Spawner, error) {
	panic("unimplemented")
}

// SaveSpawner writes state, started, last_activity, user_options, display_name and
// oauth_client_id of an existing row.
func (db *DB) SaveSpawner(ctx context.Context, sp *Spawner) error { panic("unimplemented") }

// SetSpawnerServer records where the server listens (a new servers row), or with nil clears
// it (deleting the servers row): non-nil server_id means active.
func (db *DB) SetSpawnerServer(ctx context.Context, spawnerID int64, srv *Server) error {
	panic("unimplemented")
}
func (db *DB) DeleteSpawner(ctx context.Context, id int64) error { panic("unimplemented") }

// ActiveSpawners lists every spawner with a server row, with the owner's name, for startup
// reconciliation.
func (db *DB) ActiveSpawners(ctx context.Context) ([]ActiveSpawner, error) { panic("unimplemented") }

// ActiveSpawner is a spawner with its owner's name.
type ActiveSpawner struct {
	UserName string
	Spawner  *Spawner
}

// OAuth clients and codes.

func (db *DB) UpsertOAuthClient(ctx context.Context, c OAuthClient) (*OAuthClient, error) {
	panic("unimplemented")
}
func (db *DB) GetOAuthClient(ctx context.Context, identifier string) (*OAuthClient, error) {
	panic("unimplemented")
}

// DeleteOAuthClient deletes the client with its codes and tokens.
func (db *DB) DeleteOAuthClient(ctx context.Context, identifier string) error {
	panic("unimplemented")
}
func (db *DB) CreateOAuthCode(ctx context.Context, c OAuthCode) (*OAuthCode, error) {
	panic("unimplemented")
}

// TakeOAuthCode returns and deletes an unexpired code (single use): ErrNotFound otherwise.
func (db *DB) TakeOAuthCode(ctx context.Context, code string, now time.Time) (*OAuthCode, error) {
	panic("unimplemented")
}
