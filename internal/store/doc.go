// Package store is the hub's database, and the only place in gohub that writes SQL.
//
// One SQL text serves both back ends through database/sql: SQLite (modernc.org/sqlite, pure
// Go) and PostgreSQL (pgx). URLs are JupyterHub's db_url forms:
//
//	sqlite:///relative/path.sqlite   sqlite:////absolute/path.sqlite   sqlite:///:memory:
//	postgresql://user:pass@host/db   postgres://...
//
// SQLite files run in WAL mode with a busy timeout, foreign keys on and write transactions
// that take the write lock at BEGIN, so concurrent writers queue instead of failing. An
// in-memory database uses one connection.
//
// The schema follows JupyterHub's tables (protocol.md §6.1) and is created and upgraded by numbered
// goose migrations embedded from migrations/<dialect>/. Open initialises an empty database,
// refuses an older one unless Options.Upgrade is set (ErrPending) and a newer one always
// (ErrTooNew). A Python JupyterHub database (alembic-managed) is refused rather than guessed at.
//
// Where gohub's database differs from JupyterHub's:
//   - timestamps are naive UTC; in SQLite they are TEXT 'YYYY-MM-DD HH:MM:SS.ffffff' (fixed
//     width, microseconds always written), in PostgreSQL TIMESTAMP WITHOUT TIME ZONE;
//   - text columns that JupyterHub leaves NULL (note, session_id, ...) are NOT NULL, defaulting to the empty string;
//   - name columns use the "C" collation in PostgreSQL so both back ends sort names bytewise.
//
// Cost per call, whatever the data size: GetUser, GetUserByID and GetUserByCookieID are one
// query (the user, its spawners with servers, and its group and role names); ListUsers is two
// (a count, then the page with spawners and names); LookupToken and RolesOf are one.
package store
