package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

const serviceCols = `s.id, s.name, s.admin, s.url, s.oauth_client_id, s.oauth_client_allowed_scopes,
	s.oauth_no_confirm, s.info, s.display, s.command, s.cwd, s.environment, s."user", s.from_config`

func serviceRows(rows *sql.Rows) ([]*Service, error) {
	defer rows.Close()
	out := []*Service{}
	for rows.Next() {
		s := &Service{Roles: []string{}}
		var client sql.NullString
		var scopes, info, command, env string
		if err := rows.Scan(&s.ID, &s.Name, &s.Admin, &s.URL, &client, &scopes, &s.OAuthNoConfirm,
			&info, &s.Display, &command, &s.Cwd, &env, &s.User, &s.FromConfig); err != nil {
			return nil, err
		}
		s.OAuthClientID = client.String
		s.OAuthClientAllowedScopes = strList(scopes)
		s.Command = strList(command)
		_ = json.Unmarshal([]byte(info), &s.Info)
		if s.Info == nil {
			s.Info = map[string]any{}
		}
		_ = json.Unmarshal([]byte(env), &s.Environment)
		if s.Environment == nil {
			s.Environment = map[string]string{}
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// fillServices loads the role names of services in one query.
func fillServices(ctx context.Context, q querier, svcs []*Service) error {
	if len(svcs) == 0 {
		return nil
	}
	byID := make(map[int64]*Service, len(svcs))
	ids := make([]any, len(svcs))
	for i, s := range svcs {
		byID[s.ID], ids[i] = s, s.ID
	}
	rows, err := q.QueryContext(ctx, `SELECT m.service_id, r.name FROM service_role_map m
		JOIN roles r ON r.id = m.role_id WHERE m.service_id IN (`+placeholders(1, len(ids))+`)`, ids...)
	if err != nil {
		return fmt.Errorf("service roles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return fmt.Errorf("service roles: %w", err)
		}
		if s := byID[id]; s != nil {
			s.Roles = append(s.Roles, name)
		}
	}
	for _, s := range svcs {
		sort.Strings(s.Roles)
	}
	return rows.Err()
}

func getService(ctx context.Context, q querier, col string, key any) (*Service, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+serviceCols+` FROM services s WHERE s.`+col+` = $1`, key)
	if err != nil {
		return nil, fmt.Errorf("service %v: %w", key, err)
	}
	ss, err := serviceRows(rows)
	if err != nil {
		return nil, fmt.Errorf("service %v: %w", key, err)
	}
	if len(ss) == 0 {
		return nil, fmt.Errorf("service %v: %w", key, ErrNotFound)
	}
	if err := fillServices(ctx, q, ss); err != nil {
		return nil, fmt.Errorf("service %v: %w", key, err)
	}
	return ss[0], nil
}

// UpsertService creates or updates a service by name (every field but ID and Roles). Its
// OAuth client, if named, must exist (ErrNotFound otherwise). When the service is created with
// Admin, or Admin changes, the `admin` role binding follows the flag (if the role exists).
func (db *DB) UpsertService(ctx context.Context, s Service) (*Service, error) {
	if s.Name == "" {
		return nil, errors.New("upsert service: empty name")
	}
	var client any
	if s.OAuthClientID != "" {
		client = s.OAuthClientID
	}
	info, env := s.Info, s.Environment
	if info == nil {
		info = map[string]any{}
	}
	if env == nil {
		env = map[string]string{}
	}
	infoText, err := jsonText(info)
	if err != nil {
		return nil, fmt.Errorf("service %q info: %w", s.Name, err)
	}
	envText, err := jsonText(env)
	if err != nil {
		return nil, fmt.Errorf("service %q environment: %w", s.Name, err)
	}
	var out *Service
	err = db.tx(ctx, func(tx *sql.Tx) error {
		var oldAdmin sql.NullBool
		err := tx.QueryRowContext(ctx, `SELECT admin FROM services WHERE name = $1`, s.Name).Scan(&oldAdmin)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("upsert service %q: %w", s.Name, err)
		}
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO services (name, admin, url, oauth_client_id,
			oauth_client_allowed_scopes, oauth_no_confirm, info, display, command, cwd, environment,
			"user", from_config) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (name) DO UPDATE SET admin = excluded.admin, url = excluded.url,
			oauth_client_id = excluded.oauth_client_id,
			oauth_client_allowed_scopes = excluded.oauth_client_allowed_scopes,
			oauth_no_confirm = excluded.oauth_no_confirm, info = excluded.info,
			display = excluded.display, command = excluded.command, cwd = excluded.cwd,
			environment = excluded.environment, "user" = excluded."user",
			from_config = excluded.from_config
			RETURNING id`,
			s.Name, s.Admin, s.URL, client, listArg(s.OAuthClientAllowedScopes), s.OAuthNoConfirm,
			infoText, s.Display, listArg(s.Command), s.Cwd, envText, s.User, s.FromConfig).Scan(&id)
		if err != nil {
			return fmt.Errorf("upsert service %q: %w", s.Name, mapErr(err))
		}
		if !oldAdmin.Valid || oldAdmin.Bool != s.Admin {
			if err := syncServiceAdmin(ctx, tx, id, s.Admin); err != nil {
				return fmt.Errorf("upsert service %q: %w", s.Name, err)
			}
		}
		out, err = getService(ctx, tx, "id", id)
		return err
	})
	return out, err
}

func syncServiceAdmin(ctx context.Context, tx *sql.Tx, id int64, admin bool) error {
	q := `INSERT INTO service_role_map (service_id, role_id)
		SELECT CAST($1 AS BIGINT), id FROM roles WHERE name = 'admin' ON CONFLICT DO NOTHING`
	if !admin {
		q = `DELETE FROM service_role_map WHERE service_id = $1
			AND role_id IN (SELECT id FROM roles WHERE name = 'admin')`
	}
	if _, err := tx.ExecContext(ctx, q, id); err != nil {
		return fmt.Errorf("sync admin role: %w", err)
	}
	return nil
}

// GetService returns the named service with its roles: ErrNotFound if none.
func (db *DB) GetService(ctx context.Context, name string) (*Service, error) {
	return getService(ctx, db.sql, "name", name)
}

// GetServiceByID is GetService by row id.
func (db *DB) GetServiceByID(ctx context.Context, id int64) (*Service, error) {
	return getService(ctx, db.sql, "id", id)
}

// ListServices returns every service with its roles, ordered by name.
func (db *DB) ListServices(ctx context.Context) ([]*Service, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+serviceCols+` FROM services s ORDER BY s.name`)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	ss, err := serviceRows(rows)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	if err := fillServices(ctx, db.sql, ss); err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return ss, nil
}

// DeleteService deletes the named service with its tokens and role bindings: ErrNotFound if
// none. Its OAuth client is left for DeleteOAuthClient.
func (db *DB) DeleteService(ctx context.Context, name string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM servers WHERE id =
			(SELECT _server_id FROM services WHERE name = $1)`, name); err != nil {
			return fmt.Errorf("delete service %q: server: %w", name, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM services WHERE name = $1`, name)
		if err != nil {
			return fmt.Errorf("delete service %q: %w", name, err)
		}
		return expectRow(res, "service", name)
	})
}
