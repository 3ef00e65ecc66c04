package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const spawnerCols = `sp.id, sp.user_id, sp.name, sp.display_name, sp.state, sp.started,
	sp.last_activity, sp.user_options, sp.oauth_client_id,
	sv.id, sv.proto, sv.ip, sv.port, sv.base_url, sv.cookie_name`

// spawnerScan receives spawnerCols; every column may be NULL (LEFT JOIN).
type spawnerScan struct {
	id, userID                        sql.NullInt64
	name, displayName                 sql.NullString
	state, userOptions, oauthClientID sql.NullString
	started, lastActivity             nullTime
	srvID, srvPort                    sql.NullInt64
	proto, ip, baseURL, cookieName    sql.NullString
}

func (s *spawnerScan) dest() []any {
	return []any{&s.id, &s.userID, &s.name, &s.displayName, &s.state, &s.started,
		&s.lastActivity, &s.userOptions, &s.oauthClientID,
		&s.srvID, &s.proto, &s.ip, &s.srvPort, &s.baseURL, &s.cookieName}
}

// spawner returns the scanned spawner, nil when the LEFT JOIN found none.
func (s *spawnerScan) spawner() *Spawner {
	if !s.id.Valid {
		return nil
	}
	sp := &Spawner{
		ID:            s.id.Int64,
		UserID:        s.userID.Int64,
		Name:          s.name.String,
		DisplayName:   s.displayName.String,
		Started:       s.started.ptr(),
		LastActivity:  s.lastActivity.ptr(),
		OAuthClientID: s.oauthClientID.String,
	}
	if s.state.Valid {
		sp.State = rawJSON(&s.state.String)
	}
	if s.userOptions.Valid {
		sp.UserOptions = rawJSON(&s.userOptions.String)
	}
	if s.srvID.Valid {
		sp.Server = &Server{ID: s.srvID.Int64, Proto: s.proto.String, IP: s.ip.String,
			Port: int(s.srvPort.Int64), BaseURL: s.baseURL.String, CookieName: s.cookieName.String}
	}
	return sp
}

const qSpawner = `SELECT ` + spawnerCols + ` FROM spawners sp
	LEFT JOIN servers sv ON sv.id = sp.server_id WHERE sp.user_id = $1 AND sp.name = $2`

func getSpawner(ctx context.Context, q querier, userID int64, name string) (*Spawner, error) {
	var ss spawnerScan
	err := q.QueryRowContext(ctx, qSpawner, userID, name).Scan(ss.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("spawner %q of user %d: %w", name, userID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("spawner %q of user %d: %w", name, userID, err)
	}
	return ss.spawner(), nil
}

// EnsureSpawner returns the user's spawner row of that name, creating it if missing.
func (db *DB) EnsureSpawner(ctx context.Context, userID int64, name string) (*Spawner, error) {
	var sp *Spawner
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO spawners (user_id, name) VALUES ($1, $2)
			ON CONFLICT (user_id, name) DO NOTHING`, userID, name)
		if err != nil {
			return fmt.Errorf("ensure spawner %q of user %d: %w", name, userID, mapErr(err))
		}
		sp, err = getSpawner(ctx, tx, userID, name)
		return err
	})
	return sp, err
}

// GetSpawner returns the user's spawner row of that name with its server: ErrNotFound if none.
func (db *DB) GetSpawner(ctx context.Context, userID int64, name string) (*Spawner, error) {
	return getSpawner(ctx, db.sql, userID, name)
}

// SaveSpawner writes state, started, last_activity, user_options, display_name and
// oauth_client_id of an existing row (found by sp.ID). The OAuth client must exist.
func (db *DB) SaveSpawner(ctx context.Context, sp *Spawner) error {
	var client any
	if sp.OAuthClientID != "" {
		client = sp.OAuthClientID
	}
	res, err := db.sql.ExecContext(ctx, `UPDATE spawners SET state = $1, started = $2,
		last_activity = $3, user_options = $4, display_name = $5, oauth_client_id = $6
		WHERE id = $7`, rawArg(sp.State), db.tsp(sp.Started), db.tsp(sp.LastActivity),
		rawArg(sp.UserOptions), sp.DisplayName, client, sp.ID)
	if err != nil {
		return fmt.Errorf("save spawner %d: %w", sp.ID, mapErr(err))
	}
	return expectRow(res, "spawner", sp.ID)
}

// SetSpawnerServer records where the server listens (a new servers row, whose id is set in
// srv.ID), or with nil clears it (deleting the servers row): non-nil server_id means active.
func (db *DB) SetSpawnerServer(ctx context.Context, spawnerID int64, srv *Server) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		var old sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT server_id FROM spawners WHERE id = $1`, spawnerID).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("spawner %d: %w", spawnerID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("spawner %d: %w", spawnerID, err)
		}
		var newID any
		if srv != nil {
			proto := srv.Proto
			if proto == "" {
				proto = "http"
			}
			var id int64
			err := tx.QueryRowContext(ctx, `INSERT INTO servers (proto, ip, port, base_url, cookie_name)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`,
				proto, srv.IP, srv.Port, srv.BaseURL, srv.CookieName).Scan(&id)
			if err != nil {
				return fmt.Errorf("spawner %d: add server: %w", spawnerID, err)
			}
			srv.ID, srv.Proto, newID = id, proto, id
		}
		if _, err := tx.ExecContext(ctx, `UPDATE spawners SET server_id = $1 WHERE id = $2`,
			newID, spawnerID); err != nil {
			return fmt.Errorf("spawner %d: set server: %w", spawnerID, err)
		}
		if old.Valid {
			if _, err := tx.ExecContext(ctx, `DELETE FROM servers WHERE id = $1`, old.Int64); err != nil {
				return fmt.Errorf("spawner %d: delete old server: %w", spawnerID, err)
			}
		}
		return nil
	})
}

// RenameSpawner gives a spawner row a new server name (6.0 PATCH of a stopped server):
// ErrExists if the user already has a server of that name, ErrNotFound if the row is gone.
func (db *DB) RenameSpawner(ctx context.Context, id int64, name string) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE spawners SET name = $1 WHERE id = $2`, name, id)
	if err != nil {
		return fmt.Errorf("rename spawner %d to %q: %w", id, name, mapErr(err))
	}
	return expectRow(res, "spawner", id)
}

// DeleteSpawner deletes a spawner row and its server row: ErrNotFound if none.
func (db *DB) DeleteSpawner(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM servers WHERE id =
			(SELECT server_id FROM spawners WHERE id = $1)`, id); err != nil {
			return fmt.Errorf("delete spawner %d: server: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM spawners WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete spawner %d: %w", id, err)
		}
		return expectRow(res, "spawner", id)
	})
}

// ActiveSpawner is a spawner with its owner's name.
type ActiveSpawner struct {
	UserName string
	Spawner  *Spawner
}

// ActiveSpawners lists every spawner with a server row, with the owner's name, for startup
// reconciliation; ordered by user name, then server name.
func (db *DB) ActiveSpawners(ctx context.Context) ([]ActiveSpawner, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT u.name, `+spawnerCols+` FROM spawners sp
		JOIN servers sv ON sv.id = sp.server_id JOIN users u ON u.id = sp.user_id
		ORDER BY u.name, sp.name`)
	if err != nil {
		return nil, fmt.Errorf("active spawners: %w", err)
	}
	defer rows.Close()
	out := []ActiveSpawner{}
	for rows.Next() {
		var name string
		var ss spawnerScan
		if err := rows.Scan(append([]any{&name}, ss.dest()...)...); err != nil {
			return nil, fmt.Errorf("active spawners: %w", err)
		}
		out = append(out, ActiveSpawner{UserName: name, Spawner: ss.spawner()})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("active spawners: %w", err)
	}
	return out, nil
}

// expectRow turns "no row affected" into ErrNotFound.
func expectRow(res sql.Result, what string, id any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s %v: %w", what, id, ErrNotFound)
	}
	return nil
}

// TouchSpawner moves the last_activity of the user's spawner of that name forward to t (never
// back), touching no other column, so activity reports cannot overwrite state the spawner
// manager saves at the same time. ErrNotFound if there is no such spawner.
func (db *DB) TouchSpawner(ctx context.Context, userID int64, name string, t time.Time) error {
	var id int64
	err := db.sql.QueryRowContext(ctx, `SELECT id FROM spawners WHERE user_id = $1 AND name = $2`, userID, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("spawner %q of user %d: %w", name, userID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("spawner %q of user %d: %w", name, userID, err)
	}
	return db.touch(ctx, "spawners", id, t)
}

// SpawnerOfClient names the user and server whose OAuth client is clientID (spawners.
// oauth_client_id). ErrNotFound when no spawner has that client.
func (db *DB) SpawnerOfClient(ctx context.Context, clientID string) (user, server string, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT u.name, sp.name FROM spawners sp JOIN users u ON u.id = sp.user_id
		WHERE sp.oauth_client_id = $1`, clientID).Scan(&user, &server)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("spawner of client %q: %w", clientID, ErrNotFound)
	}
	if err != nil {
		return "", "", fmt.Errorf("spawner of client %q: %w", clientID, err)
	}
	return user, server, nil
}
