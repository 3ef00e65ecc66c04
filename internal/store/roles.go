package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
)

// Member kinds for GrantRole, RevokeRole and RolesOf.
const (
	KindUser    = "user"
	KindGroup   = "group"
	KindService = "service"
)

// memberTables maps a member kind to its role map table, id column and entity table.
var memberTables = map[string]struct{ mapTable, col, table string }{
	KindUser:    {"user_role_map", "user_id", "users"},
	KindGroup:   {"group_role_map", "group_id", "groups"},
	KindService: {"service_role_map", "service_id", "services"},
}

const roleCols = `r.id, r.name, r.description, r.scopes, r.managed_by_auth`

func roleRows(rows *sql.Rows) ([]*Role, error) {
	defer rows.Close()
	out := []*Role{}
	for rows.Next() {
		r := &Role{}
		var scopes string
		if err := rows.Scan(&r.ID, &r.Name, &r.Description, &scopes, &r.ManagedByAuth); err != nil {
			return nil, err
		}
		r.Scopes = strList(scopes)
		out = append(out, r)
	}
	return out, rows.Err()
}

// fillRoles loads the member names of roles in one query.
func fillRoles(ctx context.Context, q querier, roles []*Role) error {
	if len(roles) == 0 {
		return nil
	}
	byID := make(map[int64]*Role, len(roles))
	ids := make([]any, len(roles))
	for i, r := range roles {
		byID[r.ID], ids[i] = r, r.ID
		r.Users, r.Groups, r.Services = []string{}, []string{}, []string{}
	}
	in := placeholders(1, len(ids))
	rows, err := q.QueryContext(ctx, `
		SELECT m.role_id, 'u', u.name FROM user_role_map m JOIN users u ON u.id = m.user_id
			WHERE m.role_id IN (`+in+`)
		UNION ALL SELECT m.role_id, 'g', g.name FROM group_role_map m JOIN groups g ON g.id = m.group_id
			WHERE m.role_id IN (`+in+`)
		UNION ALL SELECT m.role_id, 's', s.name FROM service_role_map m JOIN services s ON s.id = m.service_id
			WHERE m.role_id IN (`+in+`)`, ids...)
	if err != nil {
		return fmt.Errorf("role members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var kind, name string
		if err := rows.Scan(&id, &kind, &name); err != nil {
			return fmt.Errorf("role members: %w", err)
		}
		r := byID[id]
		if r == nil {
			continue
		}
		switch kind {
		case "u":
			r.Users = append(r.Users, name)
		case "g":
			r.Groups = append(r.Groups, name)
		default:
			r.Services = append(r.Services, name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("role members: %w", err)
	}
	for _, r := range roles {
		sort.Strings(r.Users)
		sort.Strings(r.Groups)
		sort.Strings(r.Services)
	}
	return nil
}

func getRole(ctx context.Context, q querier, name string) (*Role, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+roleCols+` FROM roles r WHERE r.name = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("role %q: %w", name, err)
	}
	rs, err := roleRows(rows)
	if err != nil {
		return nil, fmt.Errorf("role %q: %w", name, err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("role %q: %w", name, ErrNotFound)
	}
	if err := fillRoles(ctx, q, rs); err != nil {
		return nil, fmt.Errorf("role %q: %w", name, err)
	}
	return rs[0], nil
}

// UpsertRole creates or updates a role's description, scopes and managed flag by name; its
// members are not touched.
func (db *DB) UpsertRole(ctx context.Context, r Role) (*Role, error) {
	if r.Name == "" {
		return nil, errors.New("upsert role: empty name")
	}
	var out *Role
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO roles (name, description, scopes, managed_by_auth)
			VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET
			description = excluded.description, scopes = excluded.scopes,
			managed_by_auth = excluded.managed_by_auth`,
			r.Name, r.Description, listArg(r.Scopes), r.ManagedByAuth)
		if err != nil {
			return fmt.Errorf("upsert role %q: %w", r.Name, mapErr(err))
		}
		out, err = getRole(ctx, tx, r.Name)
		return err
	})
	return out, err
}

// GetRole returns the named role with its members: ErrNotFound if none.
func (db *DB) GetRole(ctx context.Context, name string) (*Role, error) {
	return getRole(ctx, db.sql, name)
}

// ListRoles returns every role with its members, ordered by name.
func (db *DB) ListRoles(ctx context.Context) ([]*Role, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+roleCols+` FROM roles r ORDER BY r.name`)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	rs, err := roleRows(rows)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	if err := fillRoles(ctx, db.sql, rs); err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return rs, nil
}

// DeleteRole deletes the named role and its bindings: ErrNotFound if none.
func (db *DB) DeleteRole(ctx context.Context, name string) error {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM roles WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("delete role %q: %w", name, err)
	}
	return expectRow(res, "role", name)
}

func roleID(ctx context.Context, q querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM roles WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("role %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("role %q: %w", name, err)
	}
	return id, nil
}

// memberID returns the id of a user, group or service by name.
func memberID(ctx context.Context, q querier, kind, name string) (int64, error) {
	t, ok := memberTables[kind]
	if !ok {
		return 0, fmt.Errorf("unknown member kind %q", kind)
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM `+t.table+` WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%s %q: %w", kind, name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", kind, name, err)
	}
	return id, nil
}

// SetRoleMembers replaces the role's members exactly; a missing user, group or service is
// ErrNotFound and nothing changes. It does not touch users.admin.
func (db *DB) SetRoleMembers(ctx context.Context, role string, users, groups, services []string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		rid, err := roleID(ctx, tx, role)
		if err != nil {
			return fmt.Errorf("set role members: %w", err)
		}
		for _, m := range []struct {
			kind  string
			names []string
		}{{KindUser, users}, {KindGroup, groups}, {KindService, services}} {
			t := memberTables[m.kind]
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.mapTable+` WHERE role_id = $1`, rid); err != nil {
				return fmt.Errorf("set role %q members: %w", role, err)
			}
			for _, name := range m.names {
				id, err := memberID(ctx, tx, m.kind, name)
				if err != nil {
					return fmt.Errorf("set role %q members: %w", role, err)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO `+t.mapTable+` (`+t.col+`, role_id)
					VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, rid); err != nil {
					return fmt.Errorf("set role %q members: %w", role, err)
				}
			}
		}
		return nil
	})
}

// GrantRole binds role to the named member (a no-op if already bound). ErrNotFound if the role
// or the member does not exist. It does not touch users.admin.
func (db *DB) GrantRole(ctx context.Context, role, kind, name string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		rid, id, err := roleAndMember(ctx, tx, role, kind, name)
		if err != nil {
			return fmt.Errorf("grant role: %w", err)
		}
		t := memberTables[kind]
		_, err = tx.ExecContext(ctx, `INSERT INTO `+t.mapTable+` (`+t.col+`, role_id)
			VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, rid)
		if err != nil {
			return fmt.Errorf("grant role %q to %s %q: %w", role, kind, name, err)
		}
		return nil
	})
}

// RevokeRole unbinds role from the named member (a no-op if not bound). ErrNotFound if the
// role or the member does not exist.
func (db *DB) RevokeRole(ctx context.Context, role, kind, name string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		rid, id, err := roleAndMember(ctx, tx, role, kind, name)
		if err != nil {
			return fmt.Errorf("revoke role: %w", err)
		}
		t := memberTables[kind]
		_, err = tx.ExecContext(ctx, `DELETE FROM `+t.mapTable+` WHERE `+t.col+` = $1 AND role_id = $2`, id, rid)
		if err != nil {
			return fmt.Errorf("revoke role %q from %s %q: %w", role, kind, name, err)
		}
		return nil
	})
}

func roleAndMember(ctx context.Context, tx *sql.Tx, role, kind, name string) (int64, int64, error) {
	if _, ok := memberTables[kind]; !ok {
		return 0, 0, fmt.Errorf("unknown member kind %q", kind)
	}
	rid, err := roleID(ctx, tx, role)
	if err != nil {
		return 0, 0, err
	}
	id, err := memberID(ctx, tx, kind, name)
	return rid, id, err
}

const (
	qRolesOfUser = `SELECT ` + roleCols + ` FROM roles r WHERE r.id IN (
		SELECT role_id FROM user_role_map WHERE user_id = $1
		UNION SELECT gr.role_id FROM group_role_map gr
			JOIN user_group_map ug ON ug.group_id = gr.group_id WHERE ug.user_id = $1)
		ORDER BY r.name`
	qRolesOfService = `SELECT ` + roleCols + ` FROM roles r WHERE r.id IN (
		SELECT role_id FROM service_role_map WHERE service_id = $1) ORDER BY r.name`
	qRolesOfGroup = `SELECT ` + roleCols + ` FROM roles r WHERE r.id IN (
		SELECT role_id FROM group_role_map WHERE group_id = $1) ORDER BY r.name`
)

// RolesOf returns the roles that give an owner its scopes: for a user its own roles and those
// of its groups; for a service (or a group) its own. Each role once, ordered by name. Only the
// role's own fields are filled (ID, Name, Description, Scopes, ManagedByAuth), not its members:
// this is the hot path of every authenticated request.
func (db *DB) RolesOf(ctx context.Context, kind string, id int64) ([]*Role, error) {
	var q string
	switch kind {
	case KindUser:
		q = qRolesOfUser
	case KindService:
		q = qRolesOfService
	case KindGroup:
		q = qRolesOfGroup
	default:
		return nil, fmt.Errorf("roles of: unknown kind %q", kind)
	}
	ctx, err := db.pointCtx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.queryStmt(ctx, q, id)
	if err != nil {
		return nil, fmt.Errorf("roles of %s %d: %w", kind, id, err)
	}
	rs, err := roleRows(rows)
	if err != nil {
		return nil, fmt.Errorf("roles of %s %d: %w", kind, id, err)
	}
	return rs, nil
}
