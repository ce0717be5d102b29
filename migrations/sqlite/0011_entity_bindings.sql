-- Which verified entity a user proved to be (the OpenID Connect step-up, issue 5): one
-- binding per user, refreshed by every passed challenge. `verified_at` is the Unix time
-- of the last passed challenge; `method` how it passed (`kba`, `network`, …).
CREATE TABLE entity_bindings (
    user_id     TEXT    NOT NULL PRIMARY KEY REFERENCES users (sub) ON DELETE CASCADE,
    entity_id   TEXT    NOT NULL,
    verified_at INTEGER NOT NULL,
    method      TEXT    NOT NULL
) STRICT;

CREATE INDEX entity_bindings_entity ON entity_bindings (entity_id);
