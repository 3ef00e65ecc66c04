-- A server's own API token is tied to its spawner row (spawner_id), not recognised by its note:
-- anyone may give a token the note "Server at /user/name/", and such a token must not outlive a
-- block as a kept server's token does. NULL for every other token. A token goes with its
-- spawner row. Tokens of servers started before this migration keep NULL (they are ordinary
-- tokens until the server is started again): guessing them from their note is what this ends.

-- +goose Up
ALTER TABLE api_tokens ADD COLUMN spawner_id INTEGER REFERENCES spawners (id) ON DELETE CASCADE;
CREATE INDEX ix_api_tokens_spawner_id ON api_tokens (spawner_id);

-- +goose Down
DROP INDEX ix_api_tokens_spawner_id;
ALTER TABLE api_tokens DROP COLUMN spawner_id;
