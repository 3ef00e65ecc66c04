package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// HubClientID is the built-in OAuth client of API-issued tokens; Open makes sure it exists.
const HubClientID = "jupyterhub"

const oauthClientCols = `id, identifier, description, secret, redirect_uri, allowed_scopes`

func getOAuthClient(ctx context.Context, q querier, identifier string) (*OAuthClient, error) {
	c := &OAuthClient{}
	var scopes string
	err := q.QueryRowContext(ctx, `SELECT `+oauthClientCols+` FROM oauth_clients WHERE identifier = $1`,
		identifier).Scan(&c.ID, &c.Identifier, &c.Description, &c.Secret, &c.RedirectURI, &scopes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("oauth client %q: %w", identifier, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("oauth client %q: %w", identifier, err)
	}
	c.AllowedScopes = strList(scopes)
	return c, nil
}

// UpsertOAuthClient creates or updates a client by identifier. Secret is stored as given: pass
// HashToken(secret, SuppliedTokenRounds) and check with VerifyToken.
func (db *DB) UpsertOAuthClient(ctx context.Context, c OAuthClient) (*OAuthClient, error) {
	if c.Identifier == "" {
		return nil, errors.New("upsert oauth client: empty identifier")
	}
	var out *OAuthClient
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_clients
			(identifier, description, secret, redirect_uri, allowed_scopes) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (identifier) DO UPDATE SET description = excluded.description,
			secret = excluded.secret, redirect_uri = excluded.redirect_uri,
			allowed_scopes = excluded.allowed_scopes`,
			c.Identifier, c.Description, c.Secret, c.RedirectURI, listArg(c.AllowedScopes))
		if err != nil {
			return fmt.Errorf("upsert oauth client %q: %w", c.Identifier, mapErr(err))
		}
		out, err = getOAuthClient(ctx, tx, c.Identifier)
		return err
	})
	return out, err
}

// GetOAuthClient returns the client by identifier: ErrNotFound if none.
func (db *DB) GetOAuthClient(ctx context.Context, identifier string) (*OAuthClient, error) {
	return getOAuthClient(ctx, db.sql, identifier)
}

// DeleteOAuthClient deletes the client with its codes and tokens; spawners and services that
// named it keep their rows with no client. The built-in jupyterhub client cannot be deleted.
func (db *DB) DeleteOAuthClient(ctx context.Context, identifier string) error {
	if identifier == HubClientID {
		return errors.New("delete oauth client: the built-in jupyterhub client cannot be deleted")
	}
	res, err := db.sql.ExecContext(ctx, `DELETE FROM oauth_clients WHERE identifier = $1`, identifier)
	if err != nil {
		return fmt.Errorf("delete oauth client %q: %w", identifier, err)
	}
	return expectRow(res, "oauth client", identifier)
}

const oauthCodeCols = `id, client_id, code, expires_at, redirect_uri, session_id, user_id, scopes,
	code_challenge, code_challenge_method`

// CreateOAuthCode stores an authorization code (ExpiresAt is kept to the second, as JupyterHub
// does). ErrExists if the code is taken; ErrNotFound if the client or user does not exist.
func (db *DB) CreateOAuthCode(ctx context.Context, c OAuthCode) (*OAuthCode, error) {
	if c.Code == "" {
		return nil, errors.New("create oauth code: empty code")
	}
	err := db.sql.QueryRowContext(ctx, `INSERT INTO oauth_codes (client_id, code, expires_at,
		redirect_uri, session_id, user_id, scopes, code_challenge, code_challenge_method)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		c.ClientID, c.Code, c.ExpiresAt.Unix(), c.RedirectURI, c.SessionID, c.UserID,
		listArg(c.Scopes), c.CodeChallenge, c.CodeChallengeMethod).Scan(&c.ID)
	if err != nil {
		return nil, fmt.Errorf("create oauth code for client %q: %w", c.ClientID, mapErr(err))
	}
	c.ExpiresAt = time.Unix(c.ExpiresAt.Unix(), 0).UTC()
	if c.Scopes == nil {
		c.Scopes = []string{}
	}
	return &c, nil
}

// TakeOAuthCode returns and deletes an unexpired code (single use): ErrNotFound otherwise. An
// expired code is deleted too.
func (db *DB) TakeOAuthCode(ctx context.Context, code string, now time.Time) (*OAuthCode, error) {
	c := &OAuthCode{}
	var exp int64
	var scopes string
	// One statement, so two concurrent exchanges of the same code cannot both get it.
	err := db.sql.QueryRowContext(ctx, `DELETE FROM oauth_codes WHERE code = $1 RETURNING `+oauthCodeCols,
		code).Scan(&c.ID, &c.ClientID, &c.Code, &exp, &c.RedirectURI, &c.SessionID, &c.UserID,
		&scopes, &c.CodeChallenge, &c.CodeChallengeMethod)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("oauth code: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("take oauth code: %w", err)
	}
	if exp <= now.Unix() {
		return nil, fmt.Errorf("oauth code expired: %w", ErrNotFound)
	}
	c.ExpiresAt = time.Unix(exp, 0).UTC()
	c.Scopes = strList(scopes)
	return c, nil
}
