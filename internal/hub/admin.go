package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"gohub/internal/auth"
	"gohub/internal/config"
	"gohub/internal/rbac"
	"gohub/internal/store"
)

// Admin is what the offline subcommands (token, user, upgrade-db) work with: the database and
// the username policy of the configured authenticator, without listeners.
type Admin struct {
	DB       *store.DB
	pipeline *auth.Pipeline
	catalog  *rbac.Catalog
}

// OpenAdmin reads the config and opens its database. upgrade applies pending migrations.
func OpenAdmin(ctx context.Context, file *config.File, upgrade bool) (*Admin, error) {
	l, err := loadConfig(file, nil)
	if err != nil {
		return nil, err
	}
	cfg := l.hub
	catalog, err := rbac.NewCatalog(cfg.CustomScopes)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.DBURL, store.Options{Upgrade: upgrade})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactURL(cfg.DBURL), err)
	}
	ad := &Admin{DB: db, catalog: catalog}
	ad.pipeline, err = auth.NewPipeline(*l.authCommon, l.auth, func(ctx context.Context, name string) (bool, error) {
		_, err := db.GetUser(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}, nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	// `gohub user set-password` seals what the authenticator stores (Native's 2FA) with the
	// same key as the running hub.
	secret, err := config.CookieSecret(cfg.CookieSecret, cfg.CookieSecretFile, os.Getenv)
	if err == nil {
		err = useSealer(ad.pipeline, cfg, os.Getenv, secret)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	// The default roles must exist before users are made, so they get the user role.
	if err := syncRoles(ctx, db, catalog, cfg.LoadRoles, ad.pipeline.AdminUsers()); err != nil {
		db.Close()
		return nil, err
	}
	return ad, nil
}

// Close closes the database.
func (a *Admin) Close() error { return a.DB.Close() }

// Normalize maps a name as the configured authenticator does (lowercase, username_map).
func (a *Admin) Normalize(name string) string { return a.pipeline.Normalize(name) }

// AddUser lets the authenticator prepare a user before it is created (a LocalAuthenticator
// with create_system_users makes the system account).
func (a *Admin) AddUser(ctx context.Context, name string) error { return a.pipeline.AddUser(ctx, name) }

// DeleteUser tells the authenticator a user was deleted.
func (a *Admin) DeleteUser(ctx context.Context, name string) error {
	return a.pipeline.DeleteUser(ctx, name)
}

// CheckUsername says why a normalised name is not a valid username for the authenticator.
func (a *Admin) CheckUsername(name string) error { return a.pipeline.CheckUsername(name) }

// UserName normalises and checks a user name as the authenticator would.
func (a *Admin) UserName(name string) (string, error) {
	n := a.pipeline.Normalize(name)
	if err := a.pipeline.CheckUsername(n); err != nil {
		return "", fmt.Errorf("invalid user name %q: %w", name, err)
	}
	return n, nil
}

// SetPassword sets the password of the user typed as name for its rightful owner (`gohub user
// set-password`), for authenticators whose passwords the hub keeps (firstuse, native, and
// multi with such a source). It is how the first admin gets a password: no page lets anyone
// claim an admin's name. The new password must pass the authenticator's rules; Native's
// account becomes an authorized sign-up (auth.OwnerPasswordSetter); the user's browser
// sessions end. It returns the normalised name.
func (a *Admin) SetPassword(ctx context.Context, name, pw string) (string, error) {
	n, err := a.UserName(name)
	if err != nil {
		return "", err
	}
	if _, ok := a.pipeline.PasswordSetter(); !ok {
		return "", fmt.Errorf("%w (only firstuse and native keep passwords)", auth.ErrNoPasswords)
	}
	if err := a.pipeline.Start(ctx, a.DB); err != nil {
		return "", err
	}
	if err := a.pipeline.CheckNewPassword(n, pw); err != nil {
		return "", err
	}
	if err := a.pipeline.SetOwnerPassword(ctx, n, pw); err != nil {
		return "", err
	}
	if u, err := a.DB.GetUser(ctx, n); err == nil {
		if _, err := a.DB.RotateCookieID(ctx, u.ID); err != nil {
			return "", fmt.Errorf("end the sessions of %s: %w", n, err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	return n, nil
}

// TokenRequest is what `gohub token` asks for.
type TokenRequest struct {
	User      string
	Note      string
	ExpiresIn time.Duration // 0: never
	Scopes    []string      // empty: the token role (inherit)
}

// MintToken creates an API token for an existing user and returns its plaintext, like
// `jupyterhub token`.
func (a *Admin) MintToken(ctx context.Context, req TokenRequest) (string, error) {
	name, err := a.UserName(req.User)
	if err != nil {
		return "", err
	}
	u, err := a.DB.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("no such user: %s (create it with: gohub user add %s)", name, name)
	} else if err != nil {
		return "", err
	}
	scopes := req.Scopes
	if len(scopes) == 0 {
		scopes = []string{"inherit"}
	}
	for _, s := range scopes {
		if err := a.catalog.Validate(s); err != nil {
			return "", err
		}
	}
	note := req.Note
	if note == "" {
		note = "Requested via gohub token command"
	}
	plain := NewTokenValue()
	nt := store.NewToken{Plain: plain, Rounds: store.GeneratedTokenRounds, UserID: &u.ID, Note: note, Scopes: scopes}
	if req.ExpiresIn > 0 {
		t := time.Now().Add(req.ExpiresIn).UTC()
		nt.ExpiresAt = &t
	}
	if _, err := a.DB.CreateToken(ctx, nt); err != nil {
		return "", err
	}
	return plain, nil
}

// NewTokenValue returns a fresh API token: 32 hex characters, as JupyterHub's uuid4().hex.
func NewTokenValue() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
