-- Agents of businesses (issue 5, "Parent–child"; src/verify/agents.rs): a person verified
-- as themself, then as an agent of a business, gets a link business → person with a
-- role. `verified` links passed the business stage (questions from the business's
-- record, an office-network match, or an ambassador's pre-approval) and are also
-- written to entity_links; `pre_approved` links were submitted by an ambassador of the
-- business and let that person pass the business stage on their own verification alone.
-- Kept apart from entity_links so a re-import of the records does not erase them.
CREATE TABLE agent_links (
    parent_id   TEXT NOT NULL,
    child_id    TEXT NOT NULL,
    role        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pre_approved', 'verified')),
    method      TEXT NOT NULL,
    approved_by TEXT,
    client_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (parent_id, child_id)
);
CREATE INDEX agent_links_child_idx ON agent_links (child_id);
