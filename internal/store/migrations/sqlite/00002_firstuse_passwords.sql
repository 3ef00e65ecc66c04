-- FirstUseAuthenticator's password hashes (upstream keeps them in passwords.dbm). Keyed by the
-- normalised hub username, not users.id: a first login stores the hash before the hub user row
-- exists, and an import may carry names the hub has not seen yet. hash holds the algorithm
-- ("$2b$..." bcrypt, "$argon2id$..."). Times are naive UTC text as in 00001.

-- +goose Up
CREATE TABLE firstuse_passwords (
    username TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);

-- +goose Down
DROP TABLE firstuse_passwords;
