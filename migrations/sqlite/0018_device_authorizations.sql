-- Device authorizations (RFC 8628, issue 15): one row per device code, keyed by the
-- SHA-256 of the device code (never stored itself); the user code's hash is unique among
-- rows not yet purged. `status`: pending → approved (sub, granted_scope, auth_time, acr,
-- grant_data: what the tokens carry, as JSON) or denied; approved → redeemed. Each move
-- is one conditional UPDATE. Rows past expires_at are deleted by the upkeep pass.
CREATE TABLE device_authorizations (
    device_code_hash TEXT    NOT NULL PRIMARY KEY,
    user_code_hash   TEXT    NOT NULL,
    client_id        TEXT    NOT NULL,
    scope            TEXT    NOT NULL,
    request          TEXT    NOT NULL,
    poll_interval    INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    sub              TEXT    NULL,
    granted_scope    TEXT    NULL,
    auth_time        INTEGER NULL,
    acr              TEXT    NULL,
    grant_data       TEXT    NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    decided_at       INTEGER NULL,
    redeemed_at      INTEGER NULL,
    CONSTRAINT device_authorizations_user_code_key UNIQUE (user_code_hash),
    CONSTRAINT device_authorizations_status_check
        CHECK (status IN ('pending', 'approved', 'denied', 'redeemed'))
) STRICT;

CREATE INDEX device_authorizations_expires_at_idx ON device_authorizations (expires_at);
