-- NativeAuthenticator's sign-ups (upstream's users_info table). Keyed by the normalised hub
-- username; name_key is its lower-cased form and is unique, so no two sign-ups differ only in
-- letter case. hash holds the algorithm ("$2b$..." bcrypt, "$argon2id$..."). otp_secret is the
-- base32 TOTP secret when has_2fa. Times are naive UTC text as in 00001.

-- +goose Up
CREATE TABLE native_users (
    username TEXT PRIMARY KEY,
    name_key TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    is_authorized BOOLEAN NOT NULL DEFAULT 0,
    has_2fa BOOLEAN NOT NULL DEFAULT 0,
    otp_secret TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX native_users_authorized ON native_users (is_authorized, name_key);

-- +goose Down
DROP TABLE native_users;
