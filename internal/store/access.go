package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Blocks and revocation (table user_blocks) and one-time account links (account_links): the
// store side of immediate revocation and account recovery, gohub additions with no upstream
// counterpart.

// BlockUser marks the named user blocked by an admin (idempotent: the first reason stays).
// ErrNotFound if there is no such user.
func (db *DB) BlockUser(ctx context.Context, name, reason string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		id, err := userID(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("block user: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO user_blocks (user_id, reason, created) VALUES ($1, $2, $3)
			ON CONFLICT (user_id) DO NOTHING`, id, reason, db.ts(time.Now()))
		if err != nil {
			return fmt.Errorf("block user %q: %w", name, err)
		}
		return nil
	})
}

// UnblockUser lifts an admin's block of the named user and reports whether there was one.
// ErrNotFound if there is no such user.
func (db *DB) UnblockUser(ctx context.Context, name string) (bool, error) {
	var had bool
	err := db.tx(ctx, func(tx *sql.Tx) error {
		id, err := userID(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("unblock user: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM user_blocks WHERE user_id = $1`, id)
		if err != nil {
			return fmt.Errorf("unblock user %q: %w", name, err)
		}
		n, err := res.RowsAffected()
		had = n > 0
		return err
	})
	return had, err
}

// BlockedUserNames returns the names of the users an admin blocked, sorted.
func (db *DB) BlockedUserNames(ctx context.Context) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT u.name FROM user_blocks b JOIN users u ON u.id = b.user_id
		ORDER BY u.name`)
	if err != nil {
		return nil, fmt.Errorf("blocked users: %w", err)
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("blocked users: %w", err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// RevokeUserAccess ends every credential of a user in one transaction: a new cookie_id (every
// browser session's login cookie stops verifying), and every API and OAuth token and pending
// OAuth code deleted. With keepServerTokens the API tokens of the user's servers (tied to
// their spawner rows, Token.SpawnerID) stay, so servers the hub keeps running can still reach the hub. It returns how many
// tokens were deleted; ErrNotFound if the user does not exist.
func (db *DB) RevokeUserAccess(ctx context.Context, userID int64, keepServerTokens bool) (int, error) {
	var deleted int
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET cookie_id = $1 WHERE id = $2`, newCookieID(), userID)
		if err != nil {
			return fmt.Errorf("revoke user %d: cookie id: %w", userID, err)
		}
		if err := expectRow(res, "user", userID); err != nil {
			return err
		}
		q := `DELETE FROM api_tokens WHERE user_id = $1`
		if keepServerTokens {
			q += ` AND spawner_id IS NULL`
		}
		if res, err = tx.ExecContext(ctx, q, userID); err != nil {
			return fmt.Errorf("revoke user %d: tokens: %w", userID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		deleted = int(n)
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_codes WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("revoke user %d: oauth codes: %w", userID, err)
		}
		return nil
	})
	return deleted, err
}

// Kinds of account link.
const (
	// LinkReset lets the user it names set a new password.
	LinkReset = "reset"
	// LinkInvite lets someone create an account (pre-authorized).
	LinkInvite = "invite"
)

// AccountLink is a one-time link as stored: never its secret, only the secret's digest.
type AccountLink struct {
	ID int64
	// Kind is LinkReset or LinkInvite.
	Kind string
	// Username is the normalised hub name the link is for; "" for an invitation open to any name.
	Username string
	// CreatedBy names who issued it ("admin:alice", "email"), for the log and the admin's view.
	CreatedBy string
	Created   time.Time
	ExpiresAt time.Time
	// Used is when the link was spent; nil while unused.
	Used *time.Time
}

// NewAccountLink is what CreateAccountLink stores.
type NewAccountLink struct {
	// Plain is the link's secret; only its SHA-256 digest is written.
	Plain                     string
	Kind, Username, CreatedBy string
	ExpiresAt                 time.Time
}

// linkDigest is the stored form of a link secret. The secrets are 256-bit random values, so a
// plain SHA-256 is enough (no salt or rounds needed against guessing).
func linkDigest(plain string) string {
	h := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(h[:])
}

const linkCols = `id, kind, username, created_by, created, expires_at, used`

func scanLink(row interface{ Scan(...any) error }) (*AccountLink, error) {
	var l AccountLink
	var created, expires, used nullTime
	if err := row.Scan(&l.ID, &l.Kind, &l.Username, &l.CreatedBy, &created, &expires, &used); err != nil {
		return nil, err
	}
	l.Created, l.ExpiresAt = created.Time, expires.Time
	if used.Valid {
		t := used.Time
		l.Used = &t
	}
	return &l, nil
}

// CreateAccountLink stores a new one-time link. The kind must be LinkReset (with a username)
// or LinkInvite.
func (db *DB) CreateAccountLink(ctx context.Context, n NewAccountLink) (*AccountLink, error) {
	switch {
	case n.Plain == "":
		return nil, errors.New("create account link: empty secret")
	case n.Kind == LinkReset && n.Username == "":
		return nil, errors.New("create account link: a reset link needs a username")
	case n.Kind != LinkReset && n.Kind != LinkInvite:
		return nil, fmt.Errorf("create account link: unknown kind %q", n.Kind)
	}
	row := db.sql.QueryRowContext(ctx, `INSERT INTO account_links (hashed, kind, username, created_by, created, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+linkCols,
		linkDigest(n.Plain), n.Kind, n.Username, n.CreatedBy, db.ts(time.Now()), db.ts(n.ExpiresAt))
	l, err := scanLink(row)
	if err != nil {
		return nil, fmt.Errorf("create account link: %w", mapErr(err))
	}
	return l, nil
}

// PeekAccountLink returns the link of kind whose secret is plain if it is still usable (not
// spent, not expired at now), without spending it. ErrNotFound otherwise, whatever the reason.
func (db *DB) PeekAccountLink(ctx context.Context, plain, kind string, now time.Time) (*AccountLink, error) {
	row := db.sql.QueryRowContext(ctx, `SELECT `+linkCols+` FROM account_links
		WHERE hashed = $1 AND kind = $2 AND used IS NULL AND expires_at > $3`, linkDigest(plain), kind, db.ts(now))
	l, err := scanLink(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account link: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("account link: %w", err)
	}
	return l, nil
}

// UseAccountLink spends the link of kind whose secret is plain, atomically: of two concurrent
// uses exactly one succeeds. ErrNotFound when it is unknown, spent or expired at now.
func (db *DB) UseAccountLink(ctx context.Context, plain, kind string, now time.Time) (*AccountLink, error) {
	row := db.sql.QueryRowContext(ctx, `UPDATE account_links SET used = $1
		WHERE hashed = $2 AND kind = $3 AND used IS NULL AND expires_at > $1
		RETURNING `+linkCols, db.ts(now), linkDigest(plain), kind)
	l, err := scanLink(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account link: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("use account link: %w", err)
	}
	return l, nil
}

// ClaimInvite spends an invitation for the account named username, atomically (of two
// concurrent claims exactly one succeeds) and records the name: the invitation then keeps
// pre-authorizing that account (InvitedUserNames) until the user is deleted. ErrNotFound when
// the invitation is unknown, spent or expired at now.
func (db *DB) ClaimInvite(ctx context.Context, plain, username string, now time.Time) (*AccountLink, error) {
	if username == "" {
		return nil, errors.New("claim invitation: empty username")
	}
	// An invitation issued for one name (username set) is claimed only by that name.
	row := db.sql.QueryRowContext(ctx, `UPDATE account_links SET used = $1, username = $2
		WHERE hashed = $3 AND kind = $4 AND used IS NULL AND expires_at > $1
		AND (username = '' OR username = $2)
		RETURNING `+linkCols, db.ts(now), username, linkDigest(plain), LinkInvite)
	l, err := scanLink(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("invitation: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("claim invitation: %w", err)
	}
	return l, nil
}

// InvitedUserNames returns the names of accounts created through an invitation, sorted.
func (db *DB) InvitedUserNames(ctx context.Context) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT DISTINCT username FROM account_links
		WHERE kind = $1 AND used IS NOT NULL AND username <> '' ORDER BY username`, LinkInvite)
	if err != nil {
		return nil, fmt.Errorf("invited users: %w", err)
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("invited users: %w", err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// DeleteAccountLinksOf deletes every link bound to username (the user was deleted or renamed,
// so the name's old links must not serve whoever holds it next).
func (db *DB) DeleteAccountLinksOf(ctx context.Context, username string) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM account_links WHERE username = $1`, username); err != nil {
		return fmt.Errorf("delete account links of %q: %w", username, err)
	}
	return nil
}

// PurgeAccountLinks deletes links that expired unused and spent reset links, and returns how
// many. Spent invitations stay: they record which accounts were invited.
func (db *DB) PurgeAccountLinks(ctx context.Context, now time.Time) (int, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM account_links
		WHERE (used IS NULL AND expires_at <= $1) OR (used IS NOT NULL AND kind = $2)`, db.ts(now), LinkReset)
	if err != nil {
		return 0, fmt.Errorf("purge account links: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
