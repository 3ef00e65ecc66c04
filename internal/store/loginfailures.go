package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Login failure counters of the brute-force throttle (table login_failures). The throttle keeps
// them in memory and writes each change through, so that a restarted hub starts with the same
// locks. The store does not interpret them.

// LoginFailure is one counter: Username and Address both set for a (name, address) pair,
// Address "" for a name over all addresses, Username "" for an address over all names.
type LoginFailure struct {
	Username    string
	Address     string
	Failures    int
	LockedUntil time.Time // no attempt before this time (UTC)
	LastFailure time.Time // when Failures was last raised (UTC)
}

// SaveLoginFailures writes the counters in one transaction, replacing those with the same
// (username, address).
func (db *DB) SaveLoginFailures(ctx context.Context, fs []LoginFailure) error {
	if len(fs) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		for _, f := range fs {
			if f.Username == "" && f.Address == "" {
				return fmt.Errorf("save login failures: a counter needs a username or an address")
			}
			if f.Failures < 0 {
				return fmt.Errorf("save login failures: negative count %d", f.Failures)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO login_failures (username, address, failures, locked_until, last_failure)
				VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (username, address) DO UPDATE SET failures = excluded.failures,
					locked_until = excluded.locked_until, last_failure = excluded.last_failure`,
				f.Username, f.Address, f.Failures, db.ts(f.LockedUntil), db.ts(f.LastFailure))
			if err != nil {
				return fmt.Errorf("save login failures of %q/%q: %w", f.Username, f.Address, mapErr(err))
			}
		}
		return nil
	})
}

// DeleteLoginFailures removes the counter of (username, address), if any.
func (db *DB) DeleteLoginFailures(ctx context.Context, username, address string) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM login_failures WHERE username = $1 AND address = $2`, username, address)
	if err != nil {
		return fmt.Errorf("delete login failures of %q/%q: %w", username, address, err)
	}
	return nil
}

// LoginFailures lists the counters still of interest at now: those locked after now or
// raised after now-window, ordered by username then address.
func (db *DB) LoginFailures(ctx context.Context, now time.Time, window time.Duration) ([]LoginFailure, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT username, address, failures, locked_until, last_failure
		FROM login_failures WHERE locked_until > $1 OR last_failure > $2 ORDER BY username, address`,
		db.ts(now), db.ts(now.Add(-window)))
	if err != nil {
		return nil, fmt.Errorf("list login failures: %w", err)
	}
	defer rows.Close()
	out := []LoginFailure{}
	for rows.Next() {
		var f LoginFailure
		var until, last nullTime
		if err := rows.Scan(&f.Username, &f.Address, &f.Failures, &until, &last); err != nil {
			return nil, fmt.Errorf("list login failures: %w", err)
		}
		f.LockedUntil, f.LastFailure = until.Time, last.Time
		out = append(out, f)
	}
	return out, rows.Err()
}

// PurgeLoginFailures deletes the counters LoginFailures(now, window) would not list and returns
// how many it deleted.
func (db *DB) PurgeLoginFailures(ctx context.Context, now time.Time, window time.Duration) (int, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM login_failures WHERE locked_until <= $1 AND last_failure <= $2`,
		db.ts(now), db.ts(now.Add(-window)))
	if err != nil {
		return 0, fmt.Errorf("purge login failures: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
