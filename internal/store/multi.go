package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Sources of MultiAuthenticator users (table multi_user_sources): the name of the configured
// source each hub user first logged in through. DeleteUser removes the row with the user.

// UserSource returns the source recorded for name, ErrNotFound if none.
func (db *DB) UserSource(ctx context.Context, name string) (string, error) {
	var src string
	err := db.sql.QueryRowContext(ctx, `SELECT source FROM multi_user_sources WHERE username = $1`, name).Scan(&src)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("source of %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("source of %q: %w", name, err)
	}
	return src, nil
}

// ClaimUserSource records source for name unless one is recorded already, and returns the one
// recorded in the end (source, or the earlier one) and whether this call recorded it: of two
// concurrent first logins through different sources exactly one wins.
func (db *DB) ClaimUserSource(ctx context.Context, name, source string) (recorded string, created bool, err error) {
	res, err := db.sql.ExecContext(ctx, `INSERT INTO multi_user_sources (username, source) VALUES ($1, $2)
		ON CONFLICT (username) DO NOTHING`, name, source)
	if err != nil {
		return "", false, fmt.Errorf("record source of %q: %w", name, mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", false, fmt.Errorf("record source of %q: %w", name, err)
	}
	recorded, err = db.UserSource(ctx, name)
	return recorded, n == 1, err
}

// DeleteUserSource forgets the source of name (nothing happens when none is recorded).
func (db *DB) DeleteUserSource(ctx context.Context, name string) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM multi_user_sources WHERE username = $1`, name); err != nil {
		return fmt.Errorf("forget source of %q: %w", name, err)
	}
	return nil
}
