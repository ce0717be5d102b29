-- The reference resource API (issue 4): messages and calls (one activity log), phone
-- numbers, and per-account monthly usage counters for metering.
CREATE TABLE resource_activity (
    sid         TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    account_sid TEXT NOT NULL,
    to_number   TEXT NOT NULL,
    from_number TEXT NOT NULL,
    body        TEXT,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX resource_activity_account_idx
    ON resource_activity (account_sid, kind, created_at, sid);

CREATE TABLE resource_numbers (
    sid          TEXT PRIMARY KEY,
    account_sid  TEXT NOT NULL,
    phone_number TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL
);
CREATE INDEX resource_numbers_account_idx
    ON resource_numbers (account_sid, created_at, sid);

-- One row per account and calendar month (`YYYY-MM`, UTC).
CREATE TABLE usage_counters (
    account_sid TEXT NOT NULL,
    period      TEXT NOT NULL,
    used        BIGINT NOT NULL,
    PRIMARY KEY (account_sid, period)
);
