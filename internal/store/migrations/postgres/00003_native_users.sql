-- NativeAuthenticator's sign-ups (upstream's users_info table). Keyed by the normalised hub
-- username; name_key is its lower-cased form and is unique, so no two sign-ups differ only in
-- letter case. hash holds the algorithm ("$2b$..." bcrypt, "$argon2id$..."). otp_secret is the
-- base32 TOTP secret when has_2fa.

-- +goose Up
CREATE TABLE native_users (
    username TEXT COLLATE "C" PRIMARY KEY,
    name_key TEXT COLLATE "C" NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    is_authorized BOOLEAN NOT NULL DEFAULT FALSE,
    has_2fa BOOLEAN NOT NULL DEFAULT FALSE,
    otp_secret TEXT NOT NULL DEFAULT '',
    created TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE INDEX native_users_authorized ON native_users (is_authorized, name_key);

-- +goose Down
DROP TABLE native_users;
