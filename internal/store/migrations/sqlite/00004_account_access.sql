-- Immediate revocation and account recovery (gohub additions, no upstream counterpart).
-- user_blocks: users an admin blocked through the REST API (blocked_users in the config is
-- the other source); a row goes with its user. account_links: one-time password-reset and
-- invitation links. Only a SHA-256 hex digest of the link's secret is kept; username is the
-- normalised hub name the link resets ('' for an invitation not bound to a name). kind is
-- 'reset' or 'invite'. used is set when the link is spent. Times are naive UTC text as in 00001.

-- +goose Up
CREATE TABLE user_blocks (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    reason TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);

CREATE TABLE account_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hashed TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    username TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used TEXT
);
CREATE INDEX ix_account_links_username ON account_links (username);

-- +goose Down
DROP TABLE account_links;
DROP TABLE user_blocks;
