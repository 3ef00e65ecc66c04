package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
)

// userOrder maps UserQuery.Sort to ORDER BY clauses; NULL last_activity sorts last both ways.
var userOrder = map[string]string{
	"":               "u.id",
	"id":             "u.id",
	"-id":            "u.id DESC",
	"name":           "u.name, u.id",
	"-name":          "u.name DESC, u.id DESC",
	"last_activity":  "u.last_activity NULLS LAST, u.id",
	"-last_activity": "u.last_activity DESC NULLS LAST, u.id DESC",
}

// escapeLike escapes LIKE wildcards with backslash (used with ESCAPE '\').
func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// userWhere builds the WHERE clause of a UserQuery, numbering parameters from 1.
func userWhere(q UserQuery) (string, []any, error) {
	var conds []string
	var args []any
	if q.NameFilter != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(q.NameFilter))+"%")
		conds = append(conds, fmt.Sprintf(`LOWER(u.name) LIKE $%d ESCAPE '\'`, len(args)))
	}
	const active = `EXISTS (SELECT 1 FROM spawners s WHERE s.user_id = u.id AND s.server_id IS NOT NULL)`
	switch q.State {
	case "":
	case "active":
		conds = append(conds, active)
	case "inactive":
		conds = append(conds, "NOT "+active)
	default:
		return "", nil, fmt.Errorf("list users: invalid state %q", q.State)
	}
	if q.Restrict {
		var or []string
		if len(q.Names) > 0 {
			or = append(or, "u.name IN ("+placeholders(len(args)+1, len(q.Names))+")")
			args = append(args, anyArgs(q.Names)...)
		}
		if len(q.Groups) > 0 {
			or = append(or, `u.id IN (SELECT ug.user_id FROM user_group_map ug
				JOIN groups g ON g.id = ug.group_id WHERE g.name IN (`+
				placeholders(len(args)+1, len(q.Groups))+`))`)
			args = append(args, anyArgs(q.Groups)...)
		}
		if len(or) == 0 {
			or = []string{"1 = 0"}
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// ListUsers returns one page of users (with groups, roles and spawners) and the total number
// of users matching the query before paging. It runs two queries whatever the page size: a
// count, and the page joined with its spawners and aggregated group and role names.
func (db *DB) ListUsers(ctx context.Context, q UserQuery) ([]*User, int, error) {
	order, ok := userOrder[q.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("list users: invalid sort %q", q.Sort)
	}
	where, args, err := userWhere(q)
	if err != nil {
		return nil, 0, err
	}
	limit := int64(q.Limit)
	if limit <= 0 {
		limit = math.MaxInt64
	}
	offset := max(q.Offset, 0)
	// Without Restrict the SQL text comes from a small set, so it is worth preparing once.
	run := db.sql.QueryContext
	if !q.Restrict {
		run = db.queryStmt
	}

	total := 0
	rows, err := run(ctx, `SELECT COUNT(*) FROM users u`+where, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	for rows.Next() {
		if err := rows.Scan(&total); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("count users: %w", err)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	if total == 0 || int64(offset) >= int64(total) {
		return []*User{}, total, nil
	}

	n := len(args)
	query := `SELECT ` + userCols + `, ` + userNamesCols + `, ` + spawnerCols + `
		FROM (SELECT * FROM users u` + where + ` ORDER BY ` + order +
		fmt.Sprintf(` LIMIT $%d OFFSET $%d`, n+1, n+2) + `) u
		LEFT JOIN spawners sp ON sp.user_id = u.id
		LEFT JOIN servers sv ON sv.id = sp.server_id
		ORDER BY ` + order + `, sp.name`
	rows, err = run(ctx, query, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	users, err := scanUserPage(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	return users, total, nil
}

// scanUserPage reads rows of users joined with their spawners, ordered by user.
func scanUserPage(rows *sql.Rows) ([]*User, error) {
	defer rows.Close()
	users := []*User{}
	var last *User
	for rows.Next() {
		var us userScan
		var ss spawnerScan
		var groups, roles sql.NullString
		dest := make([]any, 0, 25)
		dest = append(append(append(dest, us.dest()...), &groups, &roles), ss.dest()...)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if last == nil || last.ID != us.u.ID {
			last = us.user()
			var err error
			if last.Groups, err = decodeNames(groups); err != nil {
				return nil, err
			}
			if last.Roles, err = decodeNames(roles); err != nil {
				return nil, err
			}
			users = append(users, last)
		}
		if sp := ss.spawner(); sp != nil {
			last.Spawners = append(last.Spawners, sp)
		}
	}
	return users, rows.Err()
}
