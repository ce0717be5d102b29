-- Strong authenticators (issue 12): TOTP (RFC 6238), recovery codes, passkeys (WebAuthn).
-- totp_credentials: one per user, its secret sealed under the key-encryption key;
-- `last_step` is the latest time step whose code was accepted, raised by a conditional
-- UPDATE, so a code is accepted once on any node (RFC 6238 §5.2).
-- recovery_codes: ten per set, SHA-256 of each (never the code), spent once by a
-- conditional UPDATE … WHERE used_at IS NULL.
-- passkeys: several per user, the webauthn-rs credential as JSON with its signature
-- counter, raised only forward by a conditional UPDATE (a clone's regression is refused).
CREATE TABLE totp_credentials (
    user_id       TEXT    NOT NULL PRIMARY KEY,
    sealed_secret BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_step     INTEGER NOT NULL
) STRICT;

CREATE TABLE recovery_codes (
    user_id    TEXT    NOT NULL,
    code_hash  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER NULL,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

CREATE TABLE passkeys (
    credential_id TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL,
    user_handle   TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    credential    TEXT    NOT NULL,
    counter       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NULL
) STRICT;

CREATE INDEX passkeys_user_id_idx ON passkeys (user_id);
CREATE INDEX passkeys_user_handle_idx ON passkeys (user_handle);
