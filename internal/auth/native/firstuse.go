package native

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gohub/internal/auth"
	"gohub/internal/auth/firstuse"
	"gohub/internal/store"
)

// importFirstuse takes over FirstUse's users (import_from_firstuse): every name with a
// password in the hub database (FirstUse's table) and, with firstuse_db_path, in upstream's
// passwords.dbm becomes an authorized sign-up with the same hash, so the users log in with
// the password they had. Upstream hashes the hashes again, which locks everyone out
// (nativeauthenticator #219), and leaves them unauthorized; gohub keeps the hashes and
// authorizes them, since they already had access to the hub. Names that already have a
// sign-up are left alone, so a restart imports nothing twice; names that break the sign-up
// rules are skipped with a warning.
func (a *Authenticator) importFirstuse(ctx context.Context, db *store.DB) error {
	hashes := map[string]string{}
	if a.cfg.FirstuseDBPath != "" {
		m, err := firstuse.ReadDBM(ctx, a.cfg.FirstuseDBPath, "")
		if err != nil {
			return fmt.Errorf("import_from_firstuse: read %s: %w", a.cfg.FirstuseDBPath, err)
		}
		for name, hash := range m {
			hashes[auth.FoldUsername(strings.TrimSpace(name))] = hash
		}
	}
	names, err := db.PasswordUsernames(ctx)
	if err != nil {
		return fmt.Errorf("import_from_firstuse: %w", err)
	}
	for _, name := range names {
		hash, err := db.GetPasswordHash(ctx, name)
		if err != nil {
			return fmt.Errorf("import_from_firstuse: %w", err)
		}
		hashes[name] = hash // the hub's own table wins over the file
	}
	imported := 0
	for name, hash := range hashes {
		if auth.CheckBaseUsername(name) != nil || a.ValidateUsername(name) != nil {
			a.log.Warn("native: import_from_firstuse skips a name the sign-up rules refuse", "user", name)
			continue
		}
		if !strings.HasPrefix(hash, "$") {
			a.log.Warn("native: import_from_firstuse skips a value that is not a password hash", "user", name)
			continue
		}
		taken, err := db.NativeNameTaken(ctx, name)
		if err != nil {
			return fmt.Errorf("import_from_firstuse: %w", err)
		}
		if taken {
			continue
		}
		err = db.CreateNativeUser(ctx, store.NativeUser{Username: name, Hash: hash, Authorized: true})
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return fmt.Errorf("import_from_firstuse: %w", err)
		}
		imported++
	}
	a.log.Info("native: imported FirstUse users", "imported", imported, "found", len(hashes))
	return nil
}
