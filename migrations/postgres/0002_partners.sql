-- Partners, the accounts they own, and the audit log (issue: partner-delegated platform).
CREATE TABLE partners (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL,
    jwks          TEXT,
    jwks_uri      TEXT,
    sealed_secret BYTEA,
    allowed_cidrs TEXT NOT NULL,
    limits        TEXT NOT NULL,
    branding      TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE accounts (
    sid             TEXT PRIMARY KEY,
    partner_id      TEXT,
    parent_sid      TEXT,
    friendly_name   TEXT NOT NULL,
    status          TEXT NOT NULL,
    limits          TEXT NOT NULL,
    auth_token_hash TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX accounts_partner_idx ON accounts (partner_id, sid);
CREATE INDEX accounts_parent_idx ON accounts (parent_sid);

CREATE TABLE audit_log (
    id      BIGSERIAL PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject, at);
