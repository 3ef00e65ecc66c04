package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Password hashes of the FirstUse authenticator, keyed by normalised username (table
// firstuse_passwords). The store keeps the hash string as given; hashing and checking are the
// authenticator's. DeleteUser removes the user's hash too, so a deleted name can be claimed again
// (upstream's delete_user removes the dbm entry).

// GetPasswordHash returns the stored hash of name, ErrNotFound if none.
func (db *DB) GetPasswordHash(ctx context.Context, name string) (string, error) {
	ctx, err := db.pointCtx(ctx)
	if err != nil {
		return "", err
	}
	s, err := db.stmt(ctx, `SELECT hash FROM firstuse_passwords WHERE username = $1`)
	if err != nil {
		return "", err
	}
	var hash string
	if err := s.QueryRowContext(ctx, name).Scan(&hash); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("password of %q: %w", name, ErrNotFound)
		}
		return "", fmt.Errorf("password of %q: %w", name, err)
	}
	return hash, nil
}

// CreatePasswordHash stores the first hash of name; ErrExists if name already has one (so two
// concurrent first logins cannot both claim a name).
func (db *DB) CreatePasswordHash(ctx context.Context, name, hash string) error {
	now := db.ts(time.Now())
	_, err := db.sql.ExecContext(ctx, `INSERT INTO firstuse_passwords (username, hash, created, updated)
		VALUES ($1, $2, $3, $3)`, name, hash, now)
	if err != nil {
		return fmt.Errorf("store password of %q: %w", name, mapErr(err))
	}
	return nil
}

// SetPasswordHash stores the hash of name, replacing any (password change, import).
func (db *DB) SetPasswordHash(ctx context.Context, name, hash string) error {
	now := db.ts(time.Now())
	_, err := db.sql.ExecContext(ctx, `INSERT INTO firstuse_passwords (username, hash, created, updated)
		VALUES ($1, $2, $3, $3)
		ON CONFLICT (username) DO UPDATE SET hash = excluded.hash, updated = excluded.updated`, name, hash, now)
	if err != nil {
		return fmt.Errorf("set password of %q: %w", name, mapErr(err))
	}
	return nil
}

// UpdatePasswordHash replaces the hash of name only if it is still old (compare and swap, so a
// concurrent change is not overwritten by a rehash); it reports whether it did.
func (db *DB) UpdatePasswordHash(ctx context.Context, name, old, hash string) (bool, error) {
	res, err := db.sql.ExecContext(ctx, `UPDATE firstuse_passwords SET hash = $1, updated = $2
		WHERE username = $3 AND hash = $4`, hash, db.ts(time.Now()), name, old)
	if err != nil {
		return false, fmt.Errorf("update password of %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeletePasswordHash removes the hash of name; ErrNotFound if there is none.
func (db *DB) DeletePasswordHash(ctx context.Context, name string) error {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM firstuse_passwords WHERE username = $1`, name)
	if err != nil {
		return fmt.Errorf("delete password of %q: %w", name, err)
	}
	return expectRow(res, "password of user", name)
}

// RenamePasswordHash moves the hash of from to the name to (check_passwords_on_startup's
// normalisation of old keys): ErrNotFound if from has none, ErrExists if to already has one.
func (db *DB) RenamePasswordHash(ctx context.Context, from, to string) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE firstuse_passwords SET username = $1, updated = $2
		WHERE username = $3`, to, db.ts(time.Now()), from)
	if err != nil {
		return fmt.Errorf("rename password of %q to %q: %w", from, to, mapErr(err))
	}
	return expectRow(res, "password of user", from)
}

// PasswordUsernames lists every name with a stored hash, sorted.
func (db *DB) PasswordUsernames(ctx context.Context) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT username FROM firstuse_passwords ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list password names: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list password names: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
