package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// groupRows scans id, name, properties rows into groups (members not yet filled).
func groupRows(rows *sql.Rows, extra ...any) ([]*Group, error) {
	defer rows.Close()
	out := []*Group{}
	for rows.Next() {
		g := &Group{Users: []string{}, Roles: []string{}}
		var props string
		if err := rows.Scan(append([]any{&g.ID, &g.Name, &props}, extra...)...); err != nil {
			return nil, err
		}
		if props != "" {
			_ = json.Unmarshal([]byte(props), &g.Properties)
		}
		if g.Properties == nil {
			g.Properties = map[string]any{}
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// fillGroups loads member and role names of groups in one query.
func fillGroups(ctx context.Context, q querier, groups []*Group) error {
	if len(groups) == 0 {
		return nil
	}
	byID := make(map[int64]*Group, len(groups))
	ids := make([]any, len(groups))
	for i, g := range groups {
		byID[g.ID], ids[i] = g, g.ID
	}
	in := placeholders(1, len(ids))
	rows, err := q.QueryContext(ctx, `
		SELECT m.group_id, 'u', u.name FROM user_group_map m JOIN users u ON u.id = m.user_id
			WHERE m.group_id IN (`+in+`)
		UNION ALL SELECT m.group_id, 'r', r.name FROM group_role_map m JOIN roles r ON r.id = m.role_id
			WHERE m.group_id IN (`+in+`)`, ids...)
	if err != nil {
		return fmt.Errorf("group members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var kind, name string
		if err := rows.Scan(&id, &kind, &name); err != nil {
			return fmt.Errorf("group members: %w", err)
		}
		if g := byID[id]; g != nil {
			if kind == "u" {
				g.Users = append(g.Users, name)
			} else {
				g.Roles = append(g.Roles, name)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("group members: %w", err)
	}
	for _, g := range groups {
		sort.Strings(g.Users)
		sort.Strings(g.Roles)
	}
	return nil
}

func getGroup(ctx context.Context, q querier, name string) (*Group, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, properties FROM groups WHERE name = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("group %q: %w", name, err)
	}
	gs, err := groupRows(rows)
	if err != nil {
		return nil, fmt.Errorf("group %q: %w", name, err)
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("group %q: %w", name, ErrNotFound)
	}
	if err := fillGroups(ctx, q, gs); err != nil {
		return nil, fmt.Errorf("group %q: %w", name, err)
	}
	return gs[0], nil
}

func groupID(ctx context.Context, q querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM groups WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("group %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("group %q: %w", name, err)
	}
	return id, nil
}

// CreateGroups creates every named group with the given members, or none: ErrExists if any
// group exists, ErrNotFound (wrapped, naming the user) if a member does not exist.
func (db *DB) CreateGroups(ctx context.Context, names []string, members []string) ([]*Group, error) {
	var out []*Group
	err := db.tx(ctx, func(tx *sql.Tx) error {
		out = []*Group{}
		uids, err := userIDs(ctx, tx, members)
		if err != nil {
			return fmt.Errorf("create groups: %w", err)
		}
		for _, name := range names {
			if name == "" {
				return errors.New("create groups: empty group name")
			}
			var id int64
			err := tx.QueryRowContext(ctx, `INSERT INTO groups (name, properties) VALUES ($1, '{}')
				RETURNING id`, name).Scan(&id)
			if err != nil {
				return fmt.Errorf("create group %q: %w", name, mapErr(err))
			}
			if err := addMembers(ctx, tx, id, uids); err != nil {
				return fmt.Errorf("create group %q: %w", name, err)
			}
			g, err := getGroup(ctx, tx, name)
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// userIDs resolves user names to ids: ErrNotFound naming the first missing user.
func userIDs(ctx context.Context, q querier, names []string) ([]int64, error) {
	ids := make([]int64, 0, len(names))
	for _, n := range names {
		id, err := userID(ctx, q, n)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func addMembers(ctx context.Context, tx *sql.Tx, groupID int64, userIDs []int64) error {
	for _, uid := range userIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_group_map (user_id, group_id)
			VALUES ($1, $2) ON CONFLICT DO NOTHING`, uid, groupID); err != nil {
			return fmt.Errorf("add member: %w", mapErr(err))
		}
	}
	return nil
}

// GetGroup returns the named group with its members and roles: ErrNotFound if none.
func (db *DB) GetGroup(ctx context.Context, name string) (*Group, error) {
	return getGroup(ctx, db.sql, name)
}

// ListGroups returns one page of groups ordered by id, and the total before paging.
func (db *DB) ListGroups(ctx context.Context, q GroupQuery) ([]*Group, int, error) {
	where := ""
	var args []any
	if q.Restrict {
		if len(q.Names) == 0 {
			where = " WHERE 1 = 0"
		} else {
			where = " WHERE name IN (" + placeholders(1, len(q.Names)) + ")"
			args = anyArgs(q.Names)
		}
	}
	limit := int64(q.Limit)
	if limit <= 0 {
		limit = math.MaxInt64
	}
	offset := max(q.Offset, 0)
	n := len(args)
	rows, err := db.sql.QueryContext(ctx, `SELECT id, name, properties, COUNT(*) OVER () FROM groups`+
		where+fmt.Sprintf(` ORDER BY id LIMIT $%d OFFSET $%d`, n+1, n+2), append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	total := 0
	gs, err := groupRows(rows, &total)
	if err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	if len(gs) == 0 && offset > 0 {
		if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM groups`+where, args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count groups: %w", err)
		}
	}
	if err := fillGroups(ctx, db.sql, gs); err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	return gs, total, nil
}

// DeleteGroup deletes the named group and its memberships: ErrNotFound if none.
func (db *DB) DeleteGroup(ctx context.Context, name string) error {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM groups WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("delete group %q: %w", name, err)
	}
	return expectRow(res, "group", name)
}

// AddGroupMembers adds users to the group (members already in it are kept): ErrNotFound for a
// missing group or user, and then nothing changes.
func (db *DB) AddGroupMembers(ctx context.Context, group string, users []string) (*Group, error) {
	return db.changeGroup(ctx, group, func(tx *sql.Tx, gid int64) error {
		uids, err := userIDs(ctx, tx, users)
		if err != nil {
			return err
		}
		return addMembers(ctx, tx, gid, uids)
	})
}

// RemoveGroupMembers removes users from the group (non-members are ignored): ErrNotFound for a
// missing group or user, and then nothing changes.
func (db *DB) RemoveGroupMembers(ctx context.Context, group string, users []string) (*Group, error) {
	return db.changeGroup(ctx, group, func(tx *sql.Tx, gid int64) error {
		uids, err := userIDs(ctx, tx, users)
		if err != nil {
			return err
		}
		for _, uid := range uids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM user_group_map
				WHERE user_id = $1 AND group_id = $2`, uid, gid); err != nil {
				return fmt.Errorf("remove member: %w", err)
			}
		}
		return nil
	})
}

// SetGroupProperties replaces the group's properties.
func (db *DB) SetGroupProperties(ctx context.Context, group string, props map[string]any) (*Group, error) {
	if props == nil {
		props = map[string]any{}
	}
	text, err := jsonText(props)
	if err != nil {
		return nil, fmt.Errorf("group %q properties: %w", group, err)
	}
	return db.changeGroup(ctx, group, func(tx *sql.Tx, gid int64) error {
		_, err := tx.ExecContext(ctx, `UPDATE groups SET properties = $1 WHERE id = $2`, text, gid)
		return err
	})
}

func (db *DB) changeGroup(ctx context.Context, group string, fn func(tx *sql.Tx, gid int64) error) (*Group, error) {
	var g *Group
	err := db.tx(ctx, func(tx *sql.Tx) error {
		gid, err := groupID(ctx, tx, group)
		if err != nil {
			return err
		}
		if err := fn(tx, gid); err != nil {
			return fmt.Errorf("group %q: %w", group, err)
		}
		g, err = getGroup(ctx, tx, group)
		return err
	})
	return g, err
}
