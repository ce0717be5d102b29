-- Scoped API keys (issue 4): several credentials per account, each bound to its own
-- permission set. The secret is stored only as its SHA-256 hex.
CREATE TABLE api_keys (
    sid           TEXT PRIMARY KEY,
    account_sid   TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    permissions   TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE INDEX api_keys_account_idx ON api_keys (account_sid, created_at, sid);
