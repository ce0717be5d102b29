-- Browser sessions and the clients each signed in to (OpenID Connect Back-Channel
-- Logout 1.0 §2.1 `sid`, issue 15). The live session itself stays in the ephemeral cache
-- under `cache_key` (the hash of its cookie, never the cookie); this durable row lets the
-- user and the admin list and end sessions from anywhere. `ended_at` is set once, by a
-- conditional UPDATE, in the same transaction that revokes the session's grants and
-- queues its logout tokens. `session_clients`: one row per grant issued under the
-- session (a code), with whether its scope held `offline_access`.
CREATE TABLE browser_sessions (
    sid        TEXT    NOT NULL PRIMARY KEY,
    sub        TEXT    NOT NULL,
    cache_key  TEXT    NOT NULL,
    acr        TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    ended_at   BIGINT  NULL
);

CREATE INDEX browser_sessions_sub_idx ON browser_sessions (sub);
CREATE INDEX browser_sessions_expires_at_idx ON browser_sessions (expires_at);

CREATE TABLE session_clients (
    sid        TEXT    NOT NULL,
    grant_id   TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    sub        TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    offline    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (sid, grant_id)
);

CREATE INDEX session_clients_grant_id_idx ON session_clients (grant_id);
