package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// MinTokenLength is the shortest token CreateToken accepts (protocol.md §6.2).
const MinTokenLength = 8

const tokenSelect = `SELECT t.id, t.hashed, t.prefix, t.user_id, t.service_id,
	COALESCE(u.name, s.name, ''), t.client_id, t.session_id, t.created, t.expires_at,
	t.last_activity, t.note, t.scopes, t.spawner_id
	FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
	LEFT JOIN services s ON s.id = t.service_id`

const (
	qTokenByPrefix = tokenSelect + ` WHERE t.prefix = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)`
	qTokenByID     = tokenSelect + ` WHERE t.id = $1`
)

func tokenRows(rows *sql.Rows) ([]*Token, error) {
	defer rows.Close()
	out := []*Token{}
	for rows.Next() {
		t := &Token{}
		var uid, sid, spid sql.NullInt64
		var created, expires, last nullTime
		var scopes string
		if err := rows.Scan(&t.ID, &t.Hashed, &t.Prefix, &uid, &sid, &t.OwnerName, &t.ClientID,
			&t.SessionID, &created, &expires, &last, &t.Note, &scopes, &spid); err != nil {
			return nil, err
		}
		if uid.Valid {
			t.UserID = &uid.Int64
		}
		if sid.Valid {
			t.ServiceID = &sid.Int64
		}
		if spid.Valid {
			t.SpawnerID = &spid.Int64
		}
		t.Created, t.ExpiresAt, t.LastActivity = created.Time, expires.ptr(), last.ptr()
		t.Scopes = strList(scopes)
		out = append(out, t)
	}
	return out, rows.Err()
}

// CreateToken stores a token hashed (§6.3) and returns its row. ErrExists if the same token is
// already stored (expired or not); ErrNotFound if the owner or the OAuth client does not exist.
func (db *DB) CreateToken(ctx context.Context, t NewToken) (*Token, error) {
	if utf8.RuneCountInString(t.Plain) < MinTokenLength {
		return nil, fmt.Errorf("create token: shorter than %d characters", MinTokenLength)
	}
	if (t.UserID == nil) == (t.ServiceID == nil) {
		return nil, errors.New("create token: exactly one of user and service must own it")
	}
	client := t.ClientID
	if client == "" {
		client = "jupyterhub"
	}
	rounds := t.Rounds
	if rounds < 1 {
		rounds = GeneratedTokenRounds
	}
	prefix := tokenPrefix(t.Plain)
	hashed := HashToken(t.Plain, rounds)
	var out *Token
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, tokenSelect+` WHERE t.prefix = $1`, prefix)
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		same, err := tokenRows(rows)
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		for _, c := range same {
			if VerifyToken(c.Hashed, t.Plain) {
				return fmt.Errorf("create token: collision with token a%d: %w", c.ID, ErrExists)
			}
		}
		var uid, sid, spid any
		if t.UserID != nil {
			uid = *t.UserID
		}
		if t.SpawnerID != nil {
			if t.UserID == nil {
				return errors.New("create token: a server's token belongs to a user")
			}
			spid = *t.SpawnerID
		}
		if t.ServiceID != nil {
			sid = *t.ServiceID
		}
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO api_tokens (hashed, prefix, user_id, service_id,
			client_id, session_id, created, expires_at, note, scopes, spawner_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			hashed, prefix, uid, sid, client, t.SessionID, db.ts(time.Now()), db.tsp(t.ExpiresAt),
			t.Note, listArg(t.Scopes), spid).Scan(&id)
		if err != nil {
			return fmt.Errorf("create token: %w", mapErr(err))
		}
		rows, err = tx.QueryContext(ctx, qTokenByID, id)
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		ts, err := tokenRows(rows)
		if err != nil || len(ts) == 0 {
			return fmt.Errorf("create token: read back: %v", err)
		}
		out = ts[0]
		return nil
	})
	return out, err
}

// LookupToken finds the unexpired token whose plaintext is plain: candidates by 4-char prefix,
// then a constant-time hash comparison. ErrNotFound otherwise.
func (db *DB) LookupToken(ctx context.Context, plain string, now time.Time) (*Token, error) {
	if utf8.RuneCountInString(plain) < PrefixLength {
		return nil, fmt.Errorf("token: %w", ErrNotFound)
	}
	ctx, err := db.pointCtx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.queryStmt(ctx, qTokenByPrefix, tokenPrefix(plain), db.ts(now))
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	cands, err := tokenRows(rows)
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	for _, c := range cands {
		if VerifyToken(c.Hashed, plain) {
			return c, nil
		}
	}
	return nil, fmt.Errorf("token: %w", ErrNotFound)
}

// GetToken returns the token row by id (expired or not): ErrNotFound if none.
func (db *DB) GetToken(ctx context.Context, id int64) (*Token, error) {
	rows, err := db.sql.QueryContext(ctx, qTokenByID, id)
	if err != nil {
		return nil, fmt.Errorf("get token a%d: %w", id, err)
	}
	ts, err := tokenRows(rows)
	if err != nil {
		return nil, fmt.Errorf("get token a%d: %w", id, err)
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("token a%d: %w", id, ErrNotFound)
	}
	return ts[0], nil
}

// ListTokens returns the tokens of a user (kind KindUser) or service (KindService), ordered by
// last_activity (never-used first), then created, as JupyterHub's token list is.
func (db *DB) ListTokens(ctx context.Context, kind string, ownerID int64) ([]*Token, error) {
	col := "user_id"
	switch kind {
	case KindUser:
	case KindService:
		col = "service_id"
	default:
		return nil, fmt.Errorf("list tokens: unknown owner kind %q", kind)
	}
	rows, err := db.sql.QueryContext(ctx, tokenSelect+` WHERE t.`+col+` = $1
		ORDER BY t.last_activity NULLS FIRST, t.created, t.id`, ownerID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	ts, err := tokenRows(rows)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return ts, nil
}

// DeleteToken deletes a token by id: ErrNotFound if none.
func (db *DB) DeleteToken(ctx context.Context, id int64) error {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete token a%d: %w", id, err)
	}
	return expectRow(res, "token", fmt.Sprintf("a%d", id))
}

// DeleteTokensOfClient deletes every token of the user issued to the OAuth client.
func (db *DB) DeleteTokensOfClient(ctx context.Context, userID int64, clientID string) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM api_tokens WHERE user_id = $1 AND client_id = $2`,
		userID, clientID)
	if err != nil {
		return fmt.Errorf("delete tokens of user %d for client %q: %w", userID, clientID, err)
	}
	return nil
}

// DeleteTokensOfSession deletes every token of the user that carries the session id (logout).
func (db *DB) DeleteTokensOfSession(ctx context.Context, userID int64, sessionID string) error {
	if sessionID == "" {
		return nil // tokens without a session are not part of any browser session
	}
	_, err := db.sql.ExecContext(ctx, `DELETE FROM api_tokens WHERE user_id = $1 AND session_id = $2`,
		userID, sessionID)
	if err != nil {
		return fmt.Errorf("delete tokens of user %d for a session: %w", userID, err)
	}
	return nil
}

// PurgeExpiredTokens deletes tokens that expired before now and returns how many.
func (db *DB) PurgeExpiredTokens(ctx context.Context, now time.Time) (int, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM api_tokens
		WHERE expires_at IS NOT NULL AND expires_at <= $1`, db.ts(now))
	if err != nil {
		return 0, fmt.Errorf("purge expired tokens: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// TouchToken sets last_activity to t if later than the stored value. ErrNotFound if the token
// does not exist.
func (db *DB) TouchToken(ctx context.Context, id int64, t time.Time) error {
	return db.touch(ctx, "api_tokens", id, t)
}
