package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

const userCols = `u.id, u.name, u.admin, u.created, u.last_activity, u.cookie_id,
	u.encrypted_auth_state, u.user_info`

// userScan receives userCols.
type userScan struct {
	u            User
	created      nullTime
	lastActivity nullTime
	userInfo     sql.NullString
}

func (s *userScan) dest() []any {
	return []any{&s.u.ID, &s.u.Name, &s.u.Admin, &s.created, &s.lastActivity, &s.u.CookieID,
		&s.u.EncryptedAuthState, &s.userInfo}
}

func (s *userScan) user() *User {
	u := s.u
	u.Created = s.created.Time
	u.LastActivity = s.lastActivity.ptr()
	if s.userInfo.Valid {
		u.UserInfo = rawJSON(&s.userInfo.String)
	}
	if len(u.EncryptedAuthState) == 0 {
		u.EncryptedAuthState = nil
	}
	u.Groups, u.Roles, u.Spawners = []string{}, []string{}, []*Spawner{}
	return &u
}

// userNamesCols are two columns holding the user's group and role names, each encoded as
// "<bytes>:<name>" pieces (so any name survives); the same SQL runs on both back ends.
const userNamesCols = `(SELECT string_agg(octet_length(g.name) || ':' || g.name, '')
		FROM user_group_map gm JOIN groups g ON g.id = gm.group_id WHERE gm.user_id = u.id),
	(SELECT string_agg(octet_length(r.name) || ':' || r.name, '')
		FROM user_role_map rm JOIN roles r ON r.id = rm.role_id WHERE rm.user_id = u.id)`

// userQuery loads one user with groups, roles and spawners in one round trip: one row per
// spawner (or one row if none).
func userQuery(col string) string {
	return `SELECT ` + userCols + `, ` + userNamesCols + `, ` + spawnerCols + `
		FROM users u LEFT JOIN spawners sp ON sp.user_id = u.id
		LEFT JOIN servers sv ON sv.id = sp.server_id WHERE u.` + col + ` = $1`
}

// decodeNames splits a userNamesCols value into sorted names.
func decodeNames(s sql.NullString) ([]string, error) {
	out := []string{}
	v := s.String
	for v != "" {
		i := strings.IndexByte(v, ':')
		n, err := strconv.Atoi(v[:max(i, 0)])
		if i < 0 || err != nil || n < 0 || n > len(v)-i-1 {
			return nil, fmt.Errorf("bad name list %q", s.String)
		}
		out = append(out, v[i+1:i+1+n])
		v = v[i+1+n:]
	}
	sort.Strings(out)
	return out, nil
}

var (
	qUserByName   = userQuery("name")
	qUserByID     = userQuery("id")
	qUserByCookie = userQuery("cookie_id")
)

// GetUser returns the named user with groups, roles and spawners: ErrNotFound if none.
func (db *DB) GetUser(ctx context.Context, name string) (*User, error) {
	return db.getUser(ctx, qUserByName, name)
}

// GetUserByID is GetUser by row id.
func (db *DB) GetUserByID(ctx context.Context, id int64) (*User, error) {
	return db.getUser(ctx, qUserByID, id)
}

// GetUserByCookieID is GetUser by the cookie_id a login cookie carries.
func (db *DB) GetUserByCookieID(ctx context.Context, cookieID string) (*User, error) {
	if cookieID == "" {
		return nil, fmt.Errorf("user by cookie id: %w", ErrNotFound)
	}
	return db.getUser(ctx, qUserByCookie, cookieID)
}

func (db *DB) getUser(ctx context.Context, query string, key any) (*User, error) {
	ctx, err := db.pointCtx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.queryStmt(ctx, query, key)
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	u, err := scanUser(rows)
	if err != nil {
		return nil, fmt.Errorf("get user %v: %w", key, err)
	}
	return u, nil
}

// loadUserTx is getUser inside a transaction.
func loadUserTx(ctx context.Context, tx querier, id int64) (*User, error) {
	rows, err := tx.QueryContext(ctx, qUserByID, id)
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	u, err := scanUser(rows)
	if err != nil {
		return nil, fmt.Errorf("load user %d: %w", id, err)
	}
	return u, nil
}

// scanUser reads the rows of userQuery.
func scanUser(rows *sql.Rows) (*User, error) {
	defer rows.Close()
	var u *User
	for rows.Next() {
		var us userScan
		var ss spawnerScan
		var groups, roles sql.NullString
		dest := make([]any, 0, 25)
		dest = append(append(append(dest, us.dest()...), &groups, &roles), ss.dest()...)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if u == nil {
			u = us.user()
			var err error
			if u.Groups, err = decodeNames(groups); err != nil {
				return nil, err
			}
			if u.Roles, err = decodeNames(roles); err != nil {
				return nil, err
			}
		}
		if sp := ss.spawner(); sp != nil {
			u.Spawners = append(u.Spawners, sp)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if u == nil {
		return nil, ErrNotFound
	}
	sort.Slice(u.Spawners, func(i, j int) bool { return u.Spawners[i].Name < u.Spawners[j].Name })
	return u, nil
}

// userOrder maps UserQuery.Sort to ORDER BY clauses; NULL last_activity sorts last both ways.
var userOrder = map[string]string{
	"":               "u.id",
	"id":             "u.id",
	"-id":            "u.id DESC",
	"name":           "u.name, u.id",
	"-name":          "u.name DESC, u.id DESC",
	"last_activity":  "u.last_activity NULLS LAST, u.id",
	"-last_activity": "u.last_activity DESC NULLS LAST, u.id",
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
// of users matching the query before paging. It runs three queries whatever the page size.
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
	n := len(args)
	query := `SELECT ` + userCols + `, COUNT(*) OVER () FROM users u` + where +
		` ORDER BY ` + order + fmt.Sprintf(` LIMIT $%d OFFSET $%d`, n+1, n+2)
	rows, err := db.sql.QueryContext(ctx, query, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	var users []*User
	total := 0
	byID := map[int64]*User{}
	for rows.Next() {
		var us userScan
		if err := rows.Scan(append(us.dest(), &total)...); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
		u := us.user()
		users = append(users, u)
		byID[u.ID] = u
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	if len(users) == 0 {
		users = []*User{}
		if offset > 0 {
			// The page is past the end: the window count saw no rows, so count apart.
			err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM users u`+where, args...).Scan(&total)
			if err != nil {
				return nil, 0, fmt.Errorf("count users: %w", err)
			}
		}
		return users, total, nil
	}
	if err := db.fillUsers(ctx, users, byID); err != nil {
		return nil, 0, err
	}
	return users, total, nil
}

// fillUsers loads groups, roles and spawners of users in two queries.
func (db *DB) fillUsers(ctx context.Context, users []*User, byID map[int64]*User) error {
	ids := make([]any, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	in := placeholders(1, len(ids))
	rows, err := db.sql.QueryContext(ctx, `
		SELECT m.user_id, 'g', g.name FROM user_group_map m JOIN groups g ON g.id = m.group_id
			WHERE m.user_id IN (`+in+`)
		UNION ALL SELECT m.user_id, 'r', r.name FROM user_role_map m JOIN roles r ON r.id = m.role_id
			WHERE m.user_id IN (`+in+`)`, ids...)
	if err != nil {
		return fmt.Errorf("list users: groups and roles: %w", err)
	}
	for rows.Next() {
		var id int64
		var kind, name string
		if err := rows.Scan(&id, &kind, &name); err != nil {
			rows.Close()
			return fmt.Errorf("list users: groups and roles: %w", err)
		}
		if u := byID[id]; u != nil {
			if kind == "g" {
				u.Groups = append(u.Groups, name)
			} else {
				u.Roles = append(u.Roles, name)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list users: groups and roles: %w", err)
	}
	for _, u := range users {
		sort.Strings(u.Groups)
		sort.Strings(u.Roles)
	}
	rows, err = db.sql.QueryContext(ctx, `SELECT `+spawnerCols+`
		FROM spawners sp LEFT JOIN servers sv ON sv.id = sp.server_id
		WHERE sp.user_id IN (`+in+`) ORDER BY sp.user_id, sp.name`, ids...)
	if err != nil {
		return fmt.Errorf("list users: spawners: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ss spawnerScan
		if err := rows.Scan(ss.dest()...); err != nil {
			return fmt.Errorf("list users: spawners: %w", err)
		}
		if sp := ss.spawner(); sp != nil {
			if u := byID[sp.UserID]; u != nil {
				u.Spawners = append(u.Spawners, sp)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list users: spawners: %w", err)
	}
	return nil
}

// userID returns the id of the named user inside a transaction: ErrNotFound naming the user.
func userID(ctx context.Context, tx querier, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("user %q: %w", name, err)
	}
	return id, nil
}
