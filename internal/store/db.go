package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

// Options tune Open.
type Options struct {
	// Upgrade applies pending migrations to an existing database (gohub upgrade-db). A new, empty
	// database is always initialised; an existing one that is behind fails Open with ErrPending
	// unless Upgrade is set.
	Upgrade bool
	Logger  *slog.Logger
}

// Dialect names returned by DB.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// DB is the hub's database: SQLite (sqlite:///path, sqlite:///:memory:) or PostgreSQL
// (postgresql://... or postgres://...). It is safe for concurrent use. Every method that writes
// is one transaction: it changes everything it says or nothing. Reads run without a transaction
// (a read of several queries may see a change committed between them).
type DB struct {
	sql     *sql.DB
	dialect string
	url     string
	log     *slog.Logger

	stmtMu sync.RWMutex
	stmts  map[string]*sql.Stmt
}

// Open connects to url, creates the schema on an empty database, and refuses a database whose
// schema is newer than this binary (ErrTooNew) or older (ErrPending, unless opts.Upgrade).
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	driver, dsn, dialect, memory, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if dialect == DialectSQLite && !memory {
		if err := privateFiles(sqlitePath(url), log); err != nil {
			return nil, err
		}
	}
	sqldb, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	configurePool(sqldb, dialect, memory)
	db := &DB{sql: sqldb, dialect: dialect, url: url, log: log, stmts: map[string]*sql.Stmt{}}
	if err := db.init(ctx, opts); err != nil {
		sqldb.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) init(ctx context.Context, opts Options) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to %s database: %w", db.dialect, err)
	}
	if err := db.migrate(ctx, opts.Upgrade); err != nil {
		return err
	}
	// Startup invariant (protocol.md §6.1): the hub's own OAuth client exists.
	_, err := db.sql.ExecContext(ctx, `INSERT INTO oauth_clients
		(identifier, description, secret, redirect_uri, allowed_scopes)
		VALUES ('jupyterhub', 'JupyterHub', '', '', '[]')
		ON CONFLICT (identifier) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("ensure jupyterhub oauth client: %w", err)
	}
	return nil
}

// parseURL turns a JupyterHub db_url into a database/sql driver name and DSN.
func parseURL(u string) (driver, dsn, dialect string, memory bool, err error) {
	switch {
	case strings.HasPrefix(u, "postgresql://"), strings.HasPrefix(u, "postgres://"):
		return "pgx", u, DialectPostgres, false, nil
	case strings.HasPrefix(u, "postgresql+psycopg2://"):
		return "pgx", "postgresql://" + strings.TrimPrefix(u, "postgresql+psycopg2://"), DialectPostgres, false, nil
	case u == "sqlite://" || u == "sqlite:///:memory:" || u == "sqlite://:memory:":
		// One connection: every connection to ":memory:" would be its own empty database.
		return "sqlite", "file::memory:?_pragma=foreign_keys(1)&_txlock=immediate", DialectSQLite, true, nil
	case strings.HasPrefix(u, "sqlite:///"):
		path := sqlitePath(u)
		if path == "" {
			return "", "", "", false, fmt.Errorf("db_url %q: no database path", u)
		}
		esc := (&url.URL{Path: path}).EscapedPath()
		dsn = "file:" + esc + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=secure_delete(FAST)&_txlock=immediate"
		return "sqlite", dsn, DialectSQLite, false, nil
	}
	return "", "", "", false, fmt.Errorf("db_url %q: unsupported scheme (want sqlite:///path or postgresql://...)", u)
}

// sqlitePath is the file of a sqlite:///path db_url ("" when it names none).
func sqlitePath(u string) string {
	path := strings.TrimPrefix(u, "sqlite:///")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i] // SQLAlchemy connect args are not ours to interpret
	}
	return path
}

func configurePool(db *sql.DB, dialect string, memory bool) {
	switch {
	case memory:
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	case dialect == DialectSQLite:
		// Readers run in parallel under WAL; writers queue on the busy timeout.
		n := max(4, 2*runtime.GOMAXPROCS(0))
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(0)
	default:
		n := max(8, 4*runtime.GOMAXPROCS(0))
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
}

// Checkpoint moves SQLite's write-ahead log into the database file and empties the log, so a
// replaced secret no longer sits in an old WAL frame (secure_delete zeroes it in the database
// file itself). A no-op on PostgreSQL, where old row versions last until VACUUM.
func (db *DB) Checkpoint(ctx context.Context) error {
	if db.dialect != DialectSQLite {
		return nil
	}
	if _, err := db.sql.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Close releases the connections.
func (db *DB) Close() error {
	db.stmtMu.Lock()
	for _, s := range db.stmts {
		s.Close()
	}
	db.stmts = map[string]*sql.Stmt{}
	db.stmtMu.Unlock()
	return db.sql.Close()
}

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// URL returns the db_url the database was opened with. It may hold a password: never log it.
func (db *DB) URL() string { return db.url }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stmt returns a prepared statement for a fixed query text, preparing it once. Hot read paths
// use it so neither back end parses the SQL per call.
func (db *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	db.stmtMu.RLock()
	s := db.stmts[query]
	db.stmtMu.RUnlock()
	if s != nil {
		return s, nil
	}
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if s := db.stmts[query]; s != nil {
		return s, nil
	}
	s, err := db.sql.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	db.stmts[query] = s
	return s, nil
}

// queryStmt runs a cached prepared query outside any transaction.
func (db *DB) queryStmt(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := db.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// pointCtx returns the context for a short indexed read. On SQLite it drops cancellation: the
// query finishes in microseconds, and a cancellable context costs the driver and database/sql a
// watcher goroutine each per query. A context that is already done still fails at once.
func (db *DB) pointCtx(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if db.dialect == DialectSQLite {
		return context.WithoutCancel(ctx), nil
	}
	return ctx, nil
}

// tx runs fn in a transaction, committing if it returns nil and rolling back otherwise.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit; releases the connection if fn panics
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}
