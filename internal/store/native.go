package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sign-ups of the NativeAuthenticator (table native_users, upstream's users_info). Names are the
// normalised hub names; two names that differ only in letter case cannot both sign up. The
// store keeps the password hash as given; hashing and checking are the authenticator's.

// NativeUser is one sign-up.
type NativeUser struct {
	// Username is the normalised hub name.
	Username string
	// Hash is the password hash.
	Hash string
	// Email is what the user gave at sign-up, "" when none.
	Email string
	// Authorized is true once an admin approved the sign-up (or it was approved at once).
	Authorized bool
	// Has2FA is true when the user enrolled a TOTP secret.
	Has2FA bool
	// OTPSecret is the TOTP secret as stored, "" without 2FA: the authenticator seals it
	// (authstate.Sealer) before it reaches the store. Never log it.
	OTPSecret string
	// Created is when the user signed up; Updated the last change.
	Created, Updated time.Time
}

// NativeListOptions select a page of sign-ups.
type NativeListOptions struct {
	// Search keeps names containing it (any letter case); "" keeps all.
	Search string
	// State: "authorized", "unauthorized" or "" for both.
	State string
	// Offset and Limit page the result (sorted by name); Limit 0 means 100.
	Offset, Limit int
}

const nativeCols = `username, hash, email, is_authorized, has_2fa, otp_secret, created, updated`

// scanNative reads one row of nativeCols.
func scanNative(row interface{ Scan(...any) error }) (*NativeUser, error) {
	var u NativeUser
	var created, updated nullTime
	if err := row.Scan(&u.Username, &u.Hash, &u.Email, &u.Authorized, &u.Has2FA, &u.OTPSecret, &created, &updated); err != nil {
		return nil, err
	}
	u.Created, u.Updated = created.Time, updated.Time
	return &u, nil
}

// CreateNativeUser stores a new sign-up; ErrExists if the name, in any letter case, has one.
func (db *DB) CreateNativeUser(ctx context.Context, u NativeUser) error {
	now := db.ts(time.Now())
	_, err := db.sql.ExecContext(ctx, `INSERT INTO native_users
		(username, name_key, hash, email, is_authorized, has_2fa, otp_secret, created, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
		u.Username, strings.ToLower(u.Username), u.Hash, u.Email, u.Authorized, u.Has2FA, u.OTPSecret, now)
	if err != nil {
		return fmt.Errorf("create sign-up %q: %w", u.Username, mapErr(err))
	}
	return nil
}

// GetNativeUser returns the sign-up of name (exact name), ErrNotFound if none.
func (db *DB) GetNativeUser(ctx context.Context, name string) (*NativeUser, error) {
	u, err := scanNative(db.sql.QueryRowContext(ctx, `SELECT `+nativeCols+` FROM native_users WHERE username = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sign-up %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sign-up %q: %w", name, err)
	}
	return u, nil
}

// NativeNameTaken reports whether a sign-up exists for name in any letter case.
func (db *DB) NativeNameTaken(ctx context.Context, name string) (bool, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM native_users WHERE name_key = $1`, strings.ToLower(name)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("sign-up name %q: %w", name, err)
	}
	return n > 0, nil
}

// likeEscape escapes LIKE wildcards in s for ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListNativeUsers returns one page of sign-ups sorted by name and how many match in all.
func (db *DB) ListNativeUsers(ctx context.Context, o NativeListOptions) ([]*NativeUser, int, error) {
	where := []string{"name_key LIKE $1 ESCAPE '\\'"}
	args := []any{"%" + likeEscape(strings.ToLower(o.Search)) + "%"}
	switch o.State {
	case "":
	case "authorized", "unauthorized":
		where = append(where, "is_authorized = $2")
		args = append(args, o.State == "authorized")
	default:
		return nil, 0, fmt.Errorf("list sign-ups: unknown state %q", o.State)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM native_users WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count sign-ups: %w", err)
	}
	limit := o.Limit
	if limit <= 0 {
		limit = 100
	}
	q := fmt.Sprintf(`SELECT %s FROM native_users WHERE %s ORDER BY name_key LIMIT %d OFFSET %d`,
		nativeCols, cond, limit, max(o.Offset, 0))
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list sign-ups: %w", err)
	}
	defer rows.Close()
	var out []*NativeUser
	for rows.Next() {
		u, err := scanNative(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list sign-ups: %w", err)
		}
		out = append(out, u)
	}
	return out, total, rows.Err()
}

// SetNativeAuthorized authorizes or un-authorizes the sign-up of name; ErrNotFound if none.
func (db *DB) SetNativeAuthorized(ctx context.Context, name string, authorized bool) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE native_users SET is_authorized = $1, updated = $2 WHERE username = $3`,
		authorized, db.ts(time.Now()), name)
	if err != nil {
		return fmt.Errorf("authorize sign-up %q: %w", name, err)
	}
	return expectRow(res, "sign-up", name)
}

// SetNativePassword replaces the password hash of name; ErrNotFound if no sign-up.
func (db *DB) SetNativePassword(ctx context.Context, name, hash string) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE native_users SET hash = $1, updated = $2 WHERE username = $3`,
		hash, db.ts(time.Now()), name)
	if err != nil {
		return fmt.Errorf("set password of sign-up %q: %w", name, err)
	}
	return expectRow(res, "sign-up", name)
}

// NativeOTPSecrets returns the stored TOTP secret of every sign-up that has one, by name (as
// stored: sealed, or in clear from an older version).
func (db *DB) NativeOTPSecrets(ctx context.Context) (map[string]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT username, otp_secret FROM native_users WHERE otp_secret <> ''`)
	if err != nil {
		return nil, fmt.Errorf("list 2FA secrets: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, secret string
		if err := rows.Scan(&name, &secret); err != nil {
			return nil, fmt.Errorf("list 2FA secrets: %w", err)
		}
		out[name] = secret
	}
	return out, rows.Err()
}

// ReplaceNativeOTPSecret stores next as name's TOTP secret if the stored one is still old (a
// change of how the secret is stored, not of the secret: updated is kept). It reports whether
// the row was changed.
func (db *DB) ReplaceNativeOTPSecret(ctx context.Context, name, old, next string) (bool, error) {
	res, err := db.sql.ExecContext(ctx, `UPDATE native_users SET otp_secret = $1 WHERE username = $2 AND otp_secret = $3`,
		next, name, old)
	if err != nil {
		return false, fmt.Errorf("store 2FA secret of sign-up %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteNativeUser removes the sign-up of name only; ErrNotFound if none.
func (db *DB) DeleteNativeUser(ctx context.Context, name string) error {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM native_users WHERE username = $1`, name)
	if err != nil {
		return fmt.Errorf("delete sign-up %q: %w", name, err)
	}
	return expectRow(res, "sign-up", name)
}

// DiscardNativeUser removes the sign-up of name and, if it exists, the hub user of that name
// (its servers and tokens with it), in that order; ErrNotFound if there is no sign-up. Only
// database rows go: nothing outside the database (system accounts, home directories) is touched.
func (db *DB) DiscardNativeUser(ctx context.Context, name string) error {
	if err := db.DeleteNativeUser(ctx, name); err != nil {
		return err
	}
	if err := db.DeleteUser(ctx, name); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("discard sign-up %q: %w", name, err)
	}
	return nil
}
