package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteTime is how timestamps are written to SQLite: naive UTC with fixed-width microseconds,
// as SQLAlchemy writes them, so that text order is time order.
const sqliteTime = "2006-01-02 15:04:05.000000"

// ts converts a time to the argument the back end stores for a naive UTC timestamp.
func (db *DB) ts(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if db.dialect == DialectSQLite {
		return t.Format(sqliteTime)
	}
	// pgx writes a timestamp column's wall clock; a UTC time keeps it UTC.
	return t
}

// tsp is ts for an optional time (nil → NULL).
func (db *DB) tsp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return db.ts(*t)
}

// nullTime scans a timestamp column from either back end into a UTC time.
type nullTime struct {
	Time  time.Time
	Valid bool
}

var timeLayouts = []string{
	sqliteTime,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	time.RFC3339Nano,
	"2006-01-02",
}

// Scan implements sql.Scanner.
func (n *nullTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		n.Time, n.Valid = time.Time{}, false
		return nil
	case time.Time:
		n.Time, n.Valid = v.UTC(), true
		return nil
	case []byte:
		return n.parse(string(v))
	case string:
		return n.parse(v)
	case int64:
		n.Time, n.Valid = time.Unix(v, 0).UTC(), true
		return nil
	}
	return fmt.Errorf("timestamp: cannot scan %T", v)
}

func (n *nullTime) parse(s string) error {
	if t, ok := parseSQLiteTime(s); ok {
		n.Time, n.Valid = t, true
		return nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			n.Time, n.Valid = t.UTC(), true
			return nil
		}
	}
	return fmt.Errorf("timestamp: cannot parse %q", s)
}

// parseSQLiteTime parses exactly the sqliteTime layout, without time.Parse's generality: it
// runs for every timestamp read from SQLite.
func parseSQLiteTime(s string) (time.Time, bool) {
	if len(s) != len(sqliteTime) || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
		s[16] != ':' || s[19] != '.' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		v := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	var f [7]int
	for i, r := range [7][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}, {20, 26}} {
		v, ok := num(r[0], r[1])
		if !ok {
			return time.Time{}, false
		}
		f[i] = v
	}
	if f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60 {
		return time.Time{}, false
	}
	return time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], f[6]*1000, time.UTC), true
}

// ptr returns the time as a pointer, nil when NULL.
func (n nullTime) ptr() *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time
	return &t
}

// jsonText encodes v as JSON text for a JSON column.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode json: %w", err)
	}
	return string(b), nil
}

// rawJSON returns stored JSON text as a RawMessage, nil when NULL or empty.
func rawJSON(s *string) json.RawMessage {
	if s == nil || *s == "" || *s == "null" {
		return nil
	}
	return json.RawMessage(*s)
}

// rawArg stores a RawMessage as text, NULL when empty.
func rawArg(m []byte) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

// strList decodes a JSON list of strings; a NULL or broken value is an empty list.
func strList(s string) []string {
	var out []string
	if s != "" {
		_ = json.Unmarshal([]byte(s), &out)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// listArg encodes a string list as JSON text, "[]" for nil.
func listArg(l []string) string {
	if l == nil {
		return "[]"
	}
	s, _ := jsonText(l)
	return s
}

// placeholders returns "$from,$from+1,...,$from+n-1".
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// anyArgs converts values to []any for variadic query arguments.
func anyArgs[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// constraint kinds reported by the back ends.
var (
	errUnique     = errors.New("unique constraint")
	errForeignKey = errors.New("foreign key constraint")
)

// mapErr turns back-end constraint errors into ErrExists (unique) and ErrNotFound (foreign key),
// keeping the driver's message.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w: %v", ErrExists, errUnique, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w: %v", ErrNotFound, errForeignKey, err)
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("%w: %w: %v", ErrExists, errUnique, err)
		case "23503":
			return fmt.Errorf("%w: %w: %v", ErrNotFound, errForeignKey, err)
		}
	}
	return err
}
