-- Dynamic client registration (RFC 7591, RFC 7592; issue 15).
-- `initial_access_tokens`: minted by the admin API, kept as the SHA-256 of the token
-- (never the token), each with the policy (JSON) bounding what a client registering with
-- it may ask for; usable until `expires_at` unless revoked.
-- `client_registrations`: one row per client that registered itself, holding the hash of
-- its registration access token (rotated by every update: a conditional UPDATE on the old
-- hash), the policy it registered under (enforced again on update) and the software
-- statement it sent, returned unmodified (RFC 7591 §3.2.1). Deleted with its client.
CREATE TABLE initial_access_tokens (
    id          TEXT    NOT NULL PRIMARY KEY,
    token_hash  TEXT    NOT NULL,
    policy      TEXT    NOT NULL,
    description TEXT    NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    revoked_at  BIGINT  NULL,
    CONSTRAINT initial_access_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE TABLE client_registrations (
    client_id          TEXT    NOT NULL PRIMARY KEY,
    token_hash         TEXT    NOT NULL,
    policy             TEXT    NOT NULL,
    initial_token_id   TEXT    NULL,
    software_statement TEXT    NULL,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);
