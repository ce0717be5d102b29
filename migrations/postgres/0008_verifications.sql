-- Verifications of identifying information against the verified entities (issue 5,
-- src/verify/engine.rs). A row is one verification a relying party (client) started:
-- the match tier, the state it is in (more_info, candidates, questions, done), the
-- normalized elements supplied, the masked candidates offered, and the questions asked
-- WITH the digests of their expected answers (server side only, never returned).
-- `attempt` is 1 once questions were issued: such rows count toward the entity's
-- attempt limit unless they passed.
CREATE TABLE verifications (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    client_name TEXT NOT NULL,
    account     TEXT,
    kind        TEXT NOT NULL,
    entity_id   TEXT,
    tier        TEXT NOT NULL,
    state       TEXT NOT NULL,
    input       TEXT NOT NULL,
    candidates  TEXT NOT NULL,
    questions   TEXT NOT NULL,
    method      TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    outcome     TEXT,
    correct     BIGINT NOT NULL,
    asked       BIGINT NOT NULL,
    required    BIGINT NOT NULL,
    source_ip   TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    decided_at  BIGINT
);
CREATE INDEX verifications_entity_idx ON verifications (entity_id, created_at);

-- Every decision about an entity: which relying party (and account) verified it or
-- failed, how, and when. Kept when verifications are purged.
CREATE TABLE verification_history (
    verification_id TEXT PRIMARY KEY,
    entity_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    client_name     TEXT NOT NULL,
    account         TEXT,
    outcome         TEXT NOT NULL,
    method          TEXT NOT NULL,
    decided_at      BIGINT NOT NULL
);
CREATE INDEX verification_history_entity_idx ON verification_history (entity_id, decided_at);

-- Office networks of a business learned after the import (e.g. from colleagues verified
-- from there), in addition to the record's own `office_networks`.
CREATE TABLE entity_networks (
    entity_id    TEXT NOT NULL,
    cidr         TEXT NOT NULL,
    learned_from TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (entity_id, cidr)
);
