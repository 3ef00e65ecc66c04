package store

import (
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors. The API maps them to HTTP status in one place.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a unique name (user, group, role, service, token hash) is taken.
	ErrExists = errors.New("already exists")
	// ErrTooNew: the database schema is newer than this binary knows.
	ErrTooNew = errors.New("database schema is newer than this gohub")
	// ErrPending: the database schema is older than this binary and needs `gohub upgrade-db`.
	ErrPending = errors.New("database schema needs upgrading: run gohub upgrade-db")
)

// User is a row of users, with its group and role names and its servers.
type User struct {
	ID           int64
	Name         string
	Admin        bool
	Created      time.Time
	LastActivity *time.Time
	// CookieID is a uuid hex; rotating it logs out every browser session of the user.
	CookieID string
	// EncryptedAuthState is the encrypted auth_state blob, nil when none.
	EncryptedAuthState []byte
	// UserInfo is JSON (JupyterHub 6's users.user_info), nil when unset.
	UserInfo json.RawMessage

	// Filled by GetUser and ListUsers (not by the cheaper lookups that say so).
	Groups   []string   // sorted group names
	Roles    []string   // sorted names of roles bound directly to the user
	Spawners []*Spawner // every spawner row of the user, default ("") first, then by name
}

// Spawner is a row of spawners: one per (user, server name), kept while the server is stopped.
type Spawner struct {
	ID            int64
	UserID        int64
	Name          string // "" is the default server
	DisplayName   string
	Server        *Server // non-nil while the server is active (spawners.server_id set)
	State         json.RawMessage
	Started       *time.Time
	LastActivity  *time.Time
	UserOptions   json.RawMessage
	OAuthClientID string
}

// Server is a row of servers: where a running server listens.
type Server struct {
	ID         int64
	Proto      string
	IP         string
	Port       int
	BaseURL    string
	CookieName string
}

// Group is a row of groups with its member and role names.
type Group struct {
	ID         int64
	Name       string
	Properties map[string]any // never nil when read back
	Users      []string       // sorted
	Roles      []string       // sorted
}

// Role is a row of roles with its members' names.
type Role struct {
	ID            int64
	Name          string
	Description   string
	Scopes        []string // raw, unexpanded, as configured
	ManagedByAuth bool
	Users         []string // sorted
	Groups        []string // sorted
	Services      []string // sorted
}

// Service is a row of services (from the config, or created through the API).
type Service struct {
	ID                       int64
	Name                     string
	Admin                    bool
	URL                      string
	OAuthClientID            string
	OAuthClientAllowedScopes []string
	OAuthNoConfirm           bool
	Info                     map[string]any
	Display                  bool
	Command                  []string
	Cwd                      string
	Environment              map[string]string
	User                     string
	FromConfig               bool
	Roles                    []string // sorted
}

// Token is a row of api_tokens. Exactly one of UserID and ServiceID is set.
type Token struct {
	ID           int64 // shown by the API as "a<ID>"
	Hashed       string
	Prefix       string
	UserID       *int64
	ServiceID    *int64
	OwnerName    string // the user's or the service's name, filled on every read
	ClientID     string // "jupyterhub" for API-issued tokens
	SessionID    string
	Created      time.Time
	ExpiresAt    *time.Time
	LastActivity *time.Time
	Note         string
	Scopes       []string // raw, unexpanded
	// SpawnerID is set on a server's own API token (the hub made it when the server started):
	// the spawner row it belongs to. Only this marks a server token; the note is free text.
	SpawnerID *int64
}

// OAuthClient is a row of oauth_clients.
type OAuthClient struct {
	ID            int64
	Identifier    string
	Description   string
	Secret        string // hashed as tokens are (§6.3); "" for the built-in jupyterhub client
	RedirectURI   string
	AllowedScopes []string
}

// OAuthCode is a row of oauth_codes.
type OAuthCode struct {
	ID                  int64
	ClientID            string
	Code                string
	ExpiresAt           time.Time
	RedirectURI         string
	SessionID           string
	UserID              int64
	Scopes              []string
	CodeChallenge       string
	CodeChallengeMethod string
}

// UserQuery selects a page of users for ListUsers.
type UserQuery struct {
	Offset int
	Limit  int // <= 0 means no limit
	// NameFilter keeps users whose name contains it, case-insensitively.
	NameFilter string
	// Sort is "id" (default), "name" or "last_activity", with a "-" prefix for descending;
	// NULL last_activity sorts last both ways.
	Sort string
	// State is "" (all), "active" (some spawner has a server row) or "inactive" (none has).
	State string
	// When Restrict is true, only users named in Names or belonging to a group in Groups are
	// listed (for callers whose list:users scope carries !user= / !group= filters).
	Restrict bool
	Names    []string
	Groups   []string
}

// GroupQuery selects a page of groups for ListGroups, ordered by id.
type GroupQuery struct {
	Offset   int
	Limit    int
	Restrict bool
	Names    []string
}

// NewToken is what CreateToken stores. The plaintext is hashed by the store (§6.3) and never kept.
type NewToken struct {
	Plain     string // the token the caller hands out; at least 8 characters
	Rounds    int    // SHA-512 rounds: 1 for generated tokens, 16384 for user-provided ones
	UserID    *int64
	ServiceID *int64
	ClientID  string // "" means "jupyterhub"
	SessionID string
	ExpiresAt *time.Time
	Note      string
	Scopes    []string
	// SpawnerID ties the token to a spawner row of its user: the server's own token, made only
	// by the hub when the server starts (Token.SpawnerID).
	SpawnerID *int64
}
