-- Registered resource servers (RFC 8707 resource indicators, issue 16): the URI a client
-- names in `resource`, which becomes the access token's `aud`, and the scopes that
-- server accepts (space separated).
CREATE TABLE resource_servers (
    uri        TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    created_at BIGINT NOT NULL
);

-- The resources a grant's tokens are for (space separated; empty: this server).
ALTER TABLE grants ADD COLUMN resources TEXT NOT NULL DEFAULT '';
