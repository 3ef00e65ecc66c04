-- gohub schema, SQLite. Tables and columns follow JupyterHub's (spec §6.1). Timestamps
-- (created, last_activity, started, expires_at) are TEXT holding naive UTC
-- 'YYYY-MM-DD HH:MM:SS.ffffff' (fixed width, so text order is time order; declared TEXT so the
-- driver hands the text to the store's own parser). JSON columns are TEXT.

-- +goose Up
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    created TEXT NOT NULL,
    last_activity TEXT,
    cookie_id TEXT NOT NULL UNIQUE,
    state TEXT,
    encrypted_auth_state BLOB,
    user_info TEXT
);
CREATE INDEX ix_users_last_activity ON users (last_activity);

CREATE TABLE servers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    proto TEXT NOT NULL DEFAULT 'http',
    ip TEXT NOT NULL DEFAULT '',
    port INTEGER NOT NULL DEFAULT 0,
    base_url TEXT NOT NULL DEFAULT '',
    cookie_name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE oauth_clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL DEFAULT '',
    redirect_uri TEXT NOT NULL DEFAULT '',
    allowed_scopes TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE spawners (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    server_id INTEGER REFERENCES servers (id) ON DELETE SET NULL,
    state TEXT,
    name TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    started TEXT,
    last_activity TEXT,
    user_options TEXT,
    oauth_client_id TEXT REFERENCES oauth_clients (identifier) ON DELETE SET NULL,
    UNIQUE (user_id, name)
);
CREATE INDEX ix_spawners_server_id ON spawners (server_id);

CREATE TABLE services (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    url TEXT NOT NULL DEFAULT '',
    oauth_client_allowed_scopes TEXT NOT NULL DEFAULT '[]',
    info TEXT NOT NULL DEFAULT '{}',
    display BOOLEAN NOT NULL DEFAULT TRUE,
    oauth_no_confirm BOOLEAN NOT NULL DEFAULT FALSE,
    command TEXT NOT NULL DEFAULT '[]',
    cwd TEXT NOT NULL DEFAULT '',
    environment TEXT NOT NULL DEFAULT '{}',
    "user" TEXT NOT NULL DEFAULT '',
    timeout INTEGER NOT NULL DEFAULT 30,
    from_config BOOLEAN NOT NULL DEFAULT TRUE,
    _server_id INTEGER REFERENCES servers (id) ON DELETE SET NULL,
    pid INTEGER,
    oauth_client_id TEXT REFERENCES oauth_clients (identifier) ON DELETE SET NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hashed TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    service_id INTEGER REFERENCES services (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL DEFAULT 'jupyterhub' REFERENCES oauth_clients (identifier) ON DELETE CASCADE,
    session_id TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    expires_at TEXT,
    last_activity TEXT,
    note TEXT NOT NULL DEFAULT '',
    scopes TEXT NOT NULL DEFAULT '[]',
    CHECK ((user_id IS NULL) <> (service_id IS NULL))
);
CREATE INDEX ix_api_tokens_prefix ON api_tokens (prefix);
CREATE INDEX ix_api_tokens_user_id ON api_tokens (user_id);
CREATE INDEX ix_api_tokens_service_id ON api_tokens (service_id);
CREATE INDEX ix_api_tokens_client_id ON api_tokens (client_id);
CREATE INDEX ix_api_tokens_expires_at ON api_tokens (expires_at);

CREATE TABLE oauth_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL REFERENCES oauth_clients (identifier) ON DELETE CASCADE,
    code TEXT NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL,
    redirect_uri TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes TEXT NOT NULL DEFAULT '[]',
    code_challenge TEXT NOT NULL DEFAULT '',
    code_challenge_method TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ix_oauth_codes_client_id ON oauth_codes (client_id);
CREATE INDEX ix_oauth_codes_user_id ON oauth_codes (user_id);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    properties TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    scopes TEXT NOT NULL DEFAULT '[]',
    managed_by_auth BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE user_group_map (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX ix_user_group_map_group_id ON user_group_map (group_id);

CREATE TABLE user_role_map (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    managed_by_auth BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX ix_user_role_map_role_id ON user_role_map (role_id);

CREATE TABLE group_role_map (
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    managed_by_auth BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (group_id, role_id)
);
CREATE INDEX ix_group_role_map_role_id ON group_role_map (role_id);

CREATE TABLE service_role_map (
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    managed_by_auth BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (service_id, role_id)
);
CREATE INDEX ix_service_role_map_role_id ON service_role_map (role_id);

-- +goose Down
DROP TABLE service_role_map;
DROP TABLE group_role_map;
DROP TABLE user_role_map;
DROP TABLE user_group_map;
DROP TABLE roles;
DROP TABLE groups;
DROP TABLE oauth_codes;
DROP TABLE api_tokens;
DROP TABLE services;
DROP TABLE spawners;
DROP TABLE oauth_clients;
DROP TABLE servers;
DROP TABLE users;
