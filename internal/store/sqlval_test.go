package store

import (
	"database/sql"
	"testing"
	"time"
)

func TestParseTimestamps(t *testing.T) {
	want := time.Date(2024, 5, 1, 12, 0, 7, 123456000, time.UTC)
	for _, s := range []string{
		"2024-05-01 12:00:07.123456", // what gohub writes to SQLite
		"2024-05-01 12:00:07.123456000",
		"2024-05-01T12:00:07.123456Z",
		"2024-05-01 12:00:07.123456+00:00",
		"2024-05-01T14:00:07.123456+02:00",
	} {
		var n nullTime
		if err := n.Scan(s); err != nil || !n.Valid || !n.Time.Equal(want) || n.Time.Location() != time.UTC {
			t.Errorf("Scan(%q) = %v %v %v", s, n.Time, n.Valid, err)
		}
	}
	var n nullTime
	if err := n.Scan("2024-05-01 12:00:00"); err != nil || !n.Time.Equal(want.Truncate(time.Minute)) {
		t.Errorf("whole seconds: %v %v", n.Time, err)
	}
	for _, bad := range []string{"yesterday", "2024-13-01 12:00:07.123456", "2024-05-01 12:00:07.12345x"} {
		if err := n.Scan(bad); err == nil {
			t.Errorf("Scan(%q) accepted: %v", bad, n.Time)
		}
	}
	if err := n.Scan(nil); err != nil || n.Valid {
		t.Errorf("Scan(nil) = %v %v", n.Valid, err)
	}
	// Round trip through the SQLite text form keeps microseconds and order.
	db := &DB{dialect: DialectSQLite}
	a, b := db.ts(want), db.ts(want.Add(time.Microsecond))
	if a.(string) >= b.(string) {
		t.Errorf("text order broken: %v >= %v", a, b)
	}
	if err := n.Scan(a); err != nil || !n.Time.Equal(want) {
		t.Errorf("round trip: %v %v", n.Time, err)
	}
}

func TestDecodeNames(t *testing.T) {
	got, err := decodeNames(nullStr("3:b:c1:a0:5:héé"))
	if err != nil || len(got) != 4 || got[0] != "" || got[1] != "a" || got[2] != "b:c" || got[3] != "héé" {
		t.Errorf("decodeNames = %q, %v", got, err)
	}
	for _, bad := range []string{"x", "5:ab", "3"} {
		if _, err := decodeNames(nullStr(bad)); err == nil {
			t.Errorf("decodeNames(%q) accepted", bad)
		}
	}
}

func nullStr(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
