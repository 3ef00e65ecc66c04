package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// UserUpdate lists the fields UpdateUser changes; nil fields are left as they are.
type UserUpdate struct {
	Name               *string
	Admin              *bool
	EncryptedAuthState *[]byte // pointer to nil clears it
	UserInfo           *[]byte
}

// newCookieID returns a uuid4 in hex, as JupyterHub's users.cookie_id.
func newCookieID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// CreateUser creates a user with a fresh cookie_id, bound to the `user` role if that role exists
// and to the `admin` role when admin is true (if it exists). ErrExists if the name is taken.
func (db *DB) CreateUser(ctx context.Context, name string, admin bool) (*User, error) {
	var u *User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		id, err := db.insertUser(ctx, tx, name, admin)
		if err != nil {
			return err
		}
		u, err = loadUserTx(ctx, tx, id)
		return err
	})
	return u, err
}

// CreateUsers creates the named users that do not exist yet, in one transaction, and returns
// those it created in the order given (roles as CreateUser).
func (db *DB) CreateUsers(ctx context.Context, names []string, admin bool) ([]*User, error) {
	out := []*User{}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		seen := map[string]bool{}
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE name = $1`, name).Scan(&n); err != nil {
				return fmt.Errorf("create users: %w", err)
			}
			if n > 0 {
				continue
			}
			id, err := db.insertUser(ctx, tx, name, admin)
			if err != nil {
				return err
			}
			u, err := loadUserTx(ctx, tx, id)
			if err != nil {
				return err
			}
			out = append(out, u)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (db *DB) insertUser(ctx context.Context, tx *sql.Tx, name string, admin bool) (int64, error) {
	if name == "" {
		return 0, errors.New("create user: empty name")
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO users (name, admin, created, cookie_id)
		VALUES ($1, $2, $3, $4) RETURNING id`, name, admin, db.ts(time.Now()), newCookieID()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create user %q: %w", name, mapErr(err))
	}
	roles := []string{"user"}
	if admin {
		roles = append(roles, "admin")
	}
	for _, r := range roles {
		if err := bindRoleIfExists(ctx, tx, id, r); err != nil {
			return 0, fmt.Errorf("create user %q: %w", name, err)
		}
	}
	return id, nil
}

// bindRoleIfExists binds the named role to a user, doing nothing if the role does not exist.
func bindRoleIfExists(ctx context.Context, tx *sql.Tx, userID int64, role string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO user_role_map (user_id, role_id)
		SELECT CAST($1 AS BIGINT), id FROM roles WHERE name = $2 ON CONFLICT DO NOTHING`, userID, role)
	if err != nil {
		return fmt.Errorf("grant role %q: %w", role, err)
	}
	return nil
}

// UpdateUser changes the fields set in u and returns the updated user. A rename to a taken
// name is ErrExists; setting Admin also grants or revokes the `admin` role binding.
func (db *DB) UpdateUser(ctx context.Context, id int64, u UserUpdate) (*User, error) {
	var out *User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE id = $1`, id).Scan(&n); err != nil {
			return fmt.Errorf("update user %d: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("update user %d: %w", id, ErrNotFound)
		}
		exec := func(what, q string, args ...any) error {
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("update user %d: %s: %w", id, what, mapErr(err))
			}
			return nil
		}
		if u.Name != nil {
			if *u.Name == "" {
				return fmt.Errorf("update user %d: empty name", id)
			}
			if err := exec("name", `UPDATE users SET name = $1 WHERE id = $2`, *u.Name, id); err != nil {
				return err
			}
		}
		if u.Admin != nil {
			if err := exec("admin", `UPDATE users SET admin = $1 WHERE id = $2`, *u.Admin, id); err != nil {
				return err
			}
			if *u.Admin {
				if err := bindRoleIfExists(ctx, tx, id, "admin"); err != nil {
					return err
				}
			} else if err := exec("revoke admin", `DELETE FROM user_role_map WHERE user_id = $1
				AND role_id IN (SELECT id FROM roles WHERE name = 'admin')`, id); err != nil {
				return err
			}
		}
		if u.EncryptedAuthState != nil {
			var v any
			if *u.EncryptedAuthState != nil {
				v = *u.EncryptedAuthState
			}
			if err := exec("auth state", `UPDATE users SET encrypted_auth_state = $1 WHERE id = $2`, v, id); err != nil {
				return err
			}
		}
		if u.UserInfo != nil {
			if err := exec("user info", `UPDATE users SET user_info = $1 WHERE id = $2`,
				rawArg(*u.UserInfo), id); err != nil {
				return err
			}
		}
		var err error
		out, err = loadUserTx(ctx, tx, id)
		return err
	})
	return out, err
}

// DeleteUser deletes the named user; its spawners (and their server rows), tokens, OAuth codes
// and memberships go with it. ErrNotFound if none.
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		id, err := userID(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM servers WHERE id IN
			(SELECT server_id FROM spawners WHERE user_id = $1)`, id); err != nil {
			return fmt.Errorf("delete user %q: servers: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete user %q: %w", name, err)
		}
		// A deleted user's FirstUse password goes too: the name may be claimed again.
		if _, err := tx.ExecContext(ctx, `DELETE FROM firstuse_passwords WHERE username = $1`, name); err != nil {
			return fmt.Errorf("delete user %q: password: %w", name, err)
		}
		// So are its reset links: whoever gets the name next must not inherit them.
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_links WHERE username = $1`, name); err != nil {
			return fmt.Errorf("delete user %q: account links: %w", name, err)
		}
		// So does the source it came through (MultiAuthenticator).
		if _, err := tx.ExecContext(ctx, `DELETE FROM multi_user_sources WHERE username = $1`, name); err != nil {
			return fmt.Errorf("delete user %q: source: %w", name, err)
		}
		return nil
	})
}

// RotateCookieID gives the user a new cookie_id, logging out every browser session.
func (db *DB) RotateCookieID(ctx context.Context, userID int64) (string, error) {
	c := newCookieID()
	res, err := db.sql.ExecContext(ctx, `UPDATE users SET cookie_id = $1 WHERE id = $2`, c, userID)
	if err != nil {
		return "", fmt.Errorf("rotate cookie id of user %d: %w", userID, err)
	}
	if err := expectRow(res, "user", userID); err != nil {
		return "", err
	}
	return c, nil
}

// TouchUser sets last_activity to t if t is later than the stored value. ErrNotFound if the
// user does not exist.
func (db *DB) TouchUser(ctx context.Context, userID int64, t time.Time) error {
	return db.touch(ctx, "users", userID, t)
}

// touch moves a row's last_activity forward (never back).
func (db *DB) touch(ctx context.Context, table string, id int64, t time.Time) error {
	ctx, err := db.pointCtx(ctx)
	if err != nil {
		return err
	}
	s, err := db.stmt(ctx, `UPDATE `+table+` SET last_activity = $1
		WHERE id = $2 AND (last_activity IS NULL OR last_activity < $1)`)
	if err != nil {
		return err
	}
	res, err := s.ExecContext(ctx, db.ts(t), id)
	if err != nil {
		return fmt.Errorf("touch %s %d: %w", table, id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id = $1`, id).Scan(&n); err != nil {
		return fmt.Errorf("touch %s %d: %w", table, id, err)
	}
	if n == 0 {
		return fmt.Errorf("touch %s %d: %w", table, id, ErrNotFound)
	}
	return nil
}
