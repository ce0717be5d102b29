-- Surety core schema (SQLite). Timestamps are unix seconds; JSON is stored as TEXT.
-- Tables are STRICT so a value of the wrong type is refused instead of stored.

CREATE TABLE clients (
    client_id   TEXT    NOT NULL PRIMARY KEY,
    secret_hash TEXT    NULL,
    metadata    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    sub           TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    email         TEXT    NULL,
    name          TEXT    NULL,
    created_at    INTEGER NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username)
) STRICT;

CREATE TABLE consents (
    sub        TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (sub, client_id)
) STRICT;

CREATE INDEX consents_client_id_idx ON consents (client_id);

-- No foreign keys: a revoked grant may outlive (as a tombstone) its client or user.
CREATE TABLE grants (
    id         TEXT    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL,
    sub        TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    auth_time  INTEGER NULL,
    acr        TEXT    NULL,
    amr        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NULL
) STRICT;

CREATE INDEX grants_sub_idx ON grants (sub);
CREATE INDEX grants_client_id_idx ON grants (client_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    grant_id   TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    sub        TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER NULL
) STRICT;

CREATE INDEX refresh_tokens_grant_id_idx ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

CREATE TABLE revoked_jtis (
    jti        TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX revoked_jtis_expires_at_idx ON revoked_jtis (expires_at);

CREATE TABLE signing_keys (
    kid            TEXT    NOT NULL PRIMARY KEY,
    alg            TEXT    NOT NULL,
    public_jwk     TEXT    NOT NULL,
    sealed_private BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    activates_at   INTEGER NOT NULL
) STRICT;
