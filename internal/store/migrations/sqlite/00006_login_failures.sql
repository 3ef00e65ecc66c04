-- Brute-force protection (gohub addition, no upstream counterpart): the login throttle's failure
-- counters and locks, so a restart does not lift a lock. One row per counter: username and
-- address both set for a (name, client address) pair; address '' for a name's counter over all
-- addresses; username '' for an address's counter over all names. username is the normalised
-- hub name; address is the client IP (an IPv6 client's /64). locked_until is when the next
-- attempt is allowed; last_failure is when the count was last raised. Rows whose lock and
-- window are over are purged by the hub; they are not tied to users (a name may not exist).

-- +goose Up
CREATE TABLE login_failures (
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL,
    locked_until TEXT NOT NULL,
    last_failure TEXT NOT NULL,
    PRIMARY KEY (username, address)
);

-- +goose Down
DROP TABLE login_failures;
