-- Promotions a relying party registers for eligibility checks (issue 5): a code unique
-- per client, a description, and a rule in the eligibility language (`verify::rules`),
-- stored as its source and checked again when it is loaded. `requires_challenge` is 0
-- or 1: whether the client must run a verification before asking about eligibility.
CREATE TABLE promotions (
    id                 TEXT    NOT NULL PRIMARY KEY,
    client_id          TEXT    NOT NULL,
    code               TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    rule               TEXT    NOT NULL,
    requires_challenge INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    UNIQUE (client_id, code)
) STRICT;

-- The passport lists every client's promotions that need no extra challenge.
CREATE INDEX promotions_open ON promotions (requires_challenge, created_at, id);
