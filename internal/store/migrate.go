package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationsFS holds the numbered schema migrations, one directory per dialect. Both
// directories carry the same version numbers.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationsFS embed.FS

// versionTable is goose's bookkeeping table.
const versionTable = "goose_db_version"

var latest = sync.OnceValue(func() int64 {
	entries, err := fs.ReadDir(migrationsFS, "migrations/sqlite")
	if err != nil {
		panic(fmt.Sprintf("store: embedded migrations: %v", err))
	}
	var v int64
	for _, e := range entries {
		n, err := strconv.ParseInt(strings.SplitN(e.Name(), "_", 2)[0], 10, 64)
		if err == nil && n > v {
			v = n
		}
	}
	return v
})

// LatestVersion is the schema version this binary creates and expects.
func LatestVersion() int64 { return latest() }

// MigrationVersions lists the migration versions embedded for a dialect, ascending. Tests use
// it to check both dialects carry the same migrations.
func MigrationVersions(dialect string) ([]int64, error) {
	entries, err := fs.ReadDir(migrationsFS, path.Join("migrations", dialect))
	if err != nil {
		return nil, fmt.Errorf("migrations for %q: %w", dialect, err)
	}
	var out []int64
	for _, e := range entries {
		n, err := strconv.ParseInt(strings.SplitN(e.Name(), "_", 2)[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration file %q: bad version: %w", e.Name(), err)
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func (db *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrationsFS, path.Join("migrations", db.dialect))
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(db.log),
	}
	d := goose.DialectSQLite3
	if db.dialect == DialectPostgres {
		d = goose.DialectPostgres
		// Two hubs starting at once on one database must not both migrate it.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(d, db.sql, sub, opts...)
}

// migrate initialises an empty database, or checks (and with upgrade, brings up to date) an
// existing one.
func (db *DB) migrate(ctx context.Context, upgrade bool) error {
	exists, err := db.tableExists(ctx, versionTable)
	if err != nil {
		return err
	}
	if !exists {
		other, err := db.tableExists(ctx, "users")
		if err != nil {
			return err
		}
		if other {
			return errors.New("database has tables but no gohub schema version " +
				"(is it a Python JupyterHub database? it must be imported, not opened)")
		}
	} else {
		cur, err := db.Version(ctx)
		if err != nil {
			return err
		}
		switch {
		case cur > LatestVersion():
			return fmt.Errorf("%w: database at version %d, this gohub knows up to %d", ErrTooNew, cur, LatestVersion())
		case cur == LatestVersion():
			return nil
		case !upgrade:
			return fmt.Errorf("%w (database at version %d, current is %d)", ErrPending, cur, LatestVersion())
		}
	}
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range res {
		db.log.Info("applied database migration", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

func (db *DB) tableExists(ctx context.Context, name string) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
	if db.dialect == DialectPostgres {
		q = `SELECT COUNT(*) FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_name = $1`
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, q, name).Scan(&n); err != nil {
		return false, fmt.Errorf("look for table %s: %w", name, err)
	}
	return n > 0, nil
}

// Version returns the schema version recorded in the database (0 when none).
func (db *DB) Version(ctx context.Context) (int64, error) {
	var v *int64
	err := db.sql.QueryRowContext(ctx,
		`SELECT MAX(version_id) FROM `+versionTable+` WHERE is_applied = TRUE`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// MarkVersion records version as applied without running anything. It exists for tests of the
// version checks (ErrTooNew, ErrPending) and for repair tooling; the hub never calls it.
func (db *DB) MarkVersion(ctx context.Context, version int64) error {
	_, err := db.sql.ExecContext(ctx,
		`INSERT INTO `+versionTable+` (version_id, is_applied) VALUES ($1, TRUE)`, version)
	if err != nil {
		return fmt.Errorf("mark schema version %d: %w", version, err)
	}
	return nil
}

// ForgetVersion deletes the record of version, so the database looks older than it is. Like
// MarkVersion it is for tests and repair tooling.
func (db *DB) ForgetVersion(ctx context.Context, version int64) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM `+versionTable+` WHERE version_id = $1`, version)
	if err != nil {
		return fmt.Errorf("forget schema version %d: %w", version, err)
	}
	return nil
}
