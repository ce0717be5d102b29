-- Developer apps, the owner account of each user, and app authorizations (consent →
-- subaccount), for the developer-consent issue.
CREATE TABLE apps (
    client_id        TEXT PRIMARY KEY,
    developer_sid    TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    homepage         TEXT,
    logo_url         TEXT,
    permissions      TEXT NOT NULL,
    usage_limits     TEXT NOT NULL,
    deauthorize_uri  TEXT,
    webhook_secret_sealed BYTEA,
    created_at       BIGINT NOT NULL
);
CREATE INDEX apps_developer_idx ON apps (developer_sid);

CREATE TABLE user_accounts (
    sub         TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL
);

CREATE TABLE app_authorizations (
    parent_sid     TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    sub            TEXT NOT NULL,
    subaccount_sid TEXT NOT NULL,
    permissions    TEXT NOT NULL,
    usage_limits   TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (parent_sid, client_id)
);
CREATE INDEX app_authorizations_sub_idx ON app_authorizations (subaccount_sid);
