-- Secrets the server generates once and every node sharing the database must hold alike
-- (issue 15: the pairwise subject secret, OpenID Connect Core §8.1). Each is sealed under
-- the key-encryption key (AES-256-GCM, the name as associated data), like the signing
-- keys. The first node to start inserts it; the others read that row back (INSERT … ON
-- CONFLICT DO NOTHING, then SELECT), so a race between nodes has one winner.
CREATE TABLE server_secrets (
    name       TEXT    NOT NULL PRIMARY KEY,
    sealed     BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL
);
