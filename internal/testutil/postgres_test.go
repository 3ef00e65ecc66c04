package testutil

import (
	"database/sql"
	"testing"
)

// TestStartPostgres: each call gives its own empty database on a 127.0.0.1 cluster.
func TestStartPostgres(t *testing.T) {
	a, b := StartPostgres(t), StartPostgres(t)
	if a == b {
		t.Fatalf("two calls returned the same database %q", a)
	}
	dba, err := sql.Open("pgx", a)
	if err != nil {
		t.Fatal(err)
	}
	defer dba.Close()
	dbb, err := sql.Open("pgx", b)
	if err != nil {
		t.Fatal(err)
	}
	defer dbb.Close()
	if _, err := dba.Exec(`CREATE TABLE t (x int)`); err != nil {
		t.Fatal(err)
	}
	var n int
	err = dbb.QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 't'`).Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("table leaked into the second database: n=%d err=%v", n, err)
	}
	var addr string
	if err := dba.QueryRow(`SELECT host(inet_server_addr())`).Scan(&addr); err != nil || addr != "127.0.0.1" {
		t.Fatalf("server address %q, %v", addr, err)
	}
}
