-- MultiAuthenticator: which configured source (its name) each hub user first logged in through,
-- so the same name coming from another source cannot take the account over unless configured
-- to. Keyed by hub username; a deleted user's row goes with it (DeleteUser).

-- +goose Up
CREATE TABLE multi_user_sources (
    username TEXT COLLATE "C" PRIMARY KEY,
    source TEXT NOT NULL
);

-- +goose Down
DROP TABLE multi_user_sources;
