package testutil

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// errNoPostgres means the PostgreSQL server binaries are not installed.
var errNoPostgres = errors.New("PostgreSQL server binaries (initdb, postgres) not found")

// pgCluster is the throwaway PostgreSQL cluster shared by one test binary.
type pgCluster struct {
	port     int
	password string
	admin    *sql.DB
	stop     io.Closer     // closing it makes the supervisor stop postgres and remove the dir
	done     chan struct{} // closed when the supervisor has exited
	mu       sync.Mutex    // serialises CREATE DATABASE
}

var (
	pgOnce   sync.Once
	pgShared *pgCluster
	pgErr    error
	pgSeq    atomic.Int64
)

// StartPostgres returns the DSN (postgres://...) of a new, empty database that is dropped when
// the test ends. The databases live in one PostgreSQL cluster per test binary, started on first
// use with Debian's initdb and postgres on a free 127.0.0.1 port (as the `postgres` system user
// when running as root) and stopped when the binary exits or StopPostgres is called. Without
// the binaries the test is skipped, or fails when CI=true.
func StartPostgres(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() { pgShared, pgErr = startCluster() })
	if pgErr != nil {
		if errors.Is(pgErr, errNoPostgres) && os.Getenv("CI") != "true" {
			t.Skipf("skipping: %v", pgErr)
		}
		t.Fatalf("start PostgreSQL: %v", pgErr)
	}
	c := pgShared
	name := fmt.Sprintf("gohub_test_%d_%s", pgSeq.Add(1), randHex(4))
	c.mu.Lock()
	_, err := c.admin.Exec(`CREATE DATABASE ` + name)
	c.mu.Unlock()
	if err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, err := c.admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return c.dsn(name)
}

// StopPostgres stops the shared cluster and removes its files. Call it from TestMain after
// m.Run; without it the cluster stops when the test binary exits.
func StopPostgres() {
	if pgShared == nil {
		return
	}
	pgShared.admin.Close()
	pgShared.stop.Close()
	select {
	case <-pgShared.done:
	case <-time.After(30 * time.Second):
	}
}

func (c *pgCluster) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", c.password, c.port, db)
}

// pgBinDir finds the directory holding initdb and postgres: the newest
// /usr/lib/postgresql/<version>/bin, else the PATH.
func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dirs[i])), 64)
		vj, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dirs[j])), 64)
		return vi > vj
	})
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errNoPostgres
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// pgCredential is who runs the cluster: postgres refuses to run as root, so a root test runs
// it as the `postgres` system user (or nobody).
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root and no postgres or nobody user to run PostgreSQL as")
}

// supervisor runs postgres and, when its stdin closes (StopPostgres, or the test binary exiting
// for any reason), stops it with a fast shutdown and removes the cluster directory.
const supervisor = `dir=$1; shift
exec 3<&0
"$@" &
pid=$!
{ read _ <&3; kill -INT "$pid" 2>/dev/null; } &
wait "$pid"
rc=$?
rm -rf "$dir"
exit $rc`

func startCluster() (*pgCluster, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := pgCredential()
	if err != nil {
		return nil, err
	}
	// The cluster's user must reach the directory: under root, TMPDIR may be private to root.
	base := ""
	if cred != nil {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "gohub-pg-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	c := &pgCluster{password: randHex(16), done: make(chan struct{})}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		os.Chown(pwfile, int(cred.Uid), int(cred.Gid))
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	c.port, err = freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command("/bin/sh", "-c", supervisor, "sh", dir,
		filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(c.port), "-c", "unix_socket_directories=",
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	var out bytes.Buffer
	var outMu sync.Mutex
	cmd.Stdout = lockedWriter{&outMu, &out}
	cmd.Stderr = cmd.Stdout
	stdin, err := cmd.StdinPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c.stop = stdin
	go func() { cmd.Wait(); close(c.done) }()

	c.admin, err = sql.Open("pgx", c.dsn("postgres"))
	if err != nil {
		stdin.Close()
		return nil, err
	}
	c.admin.SetMaxOpenConns(2)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = c.admin.PingContext(ctx)
		cancel()
		if err == nil {
			return c, nil
		}
		select {
		case <-c.done:
			outMu.Lock()
			defer outMu.Unlock()
			return nil, fmt.Errorf("postgres exited during startup: %s", strings.TrimSpace(out.String()))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stdin.Close()
			outMu.Lock()
			defer outMu.Unlock()
			return nil, fmt.Errorf("postgres not ready after 60s: %v\n%s", err, out.String())
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
