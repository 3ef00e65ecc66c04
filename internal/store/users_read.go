package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
