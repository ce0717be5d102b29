-- The durable outbox: events (webhook callbacks such as an app's deauthorize callback;
-- later e-mail alerts) written by the code that raises them and delivered by a background
-- worker on every node, with retries, exponential backoff and leases (src/outbox/).
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    destination     TEXT NOT NULL,
    payload         TEXT NOT NULL,
    secret_sealed   BLOB,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    last_error      TEXT,
    last_attempt_at INTEGER,
    delivered_at    INTEGER,
    locked_until    INTEGER,
    locked_by       TEXT
);
CREATE INDEX outbox_due_idx ON outbox (kind, next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_destination_idx ON outbox (destination, created_at);
CREATE INDEX outbox_created_idx ON outbox (created_at);
