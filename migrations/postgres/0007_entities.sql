-- Verified entities (people and businesses) and their parent–child links, for the
-- verified-entity step-up issue. Core identifying elements are stored twice: as given
-- (display) and normalized (src/verify/normalize.rs), the latter indexed for matching.
-- An entity's id is derived from its external id ('EN' + 32 hex of SHA-256), so links
-- can name entities that a file imports later; re-imports update by external id.
CREATE TABLE entities (
    id           TEXT PRIMARY KEY,
    external_id  TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    street       TEXT,
    city         TEXT,
    phone        TEXT,
    email        TEXT,
    name_norm    TEXT NOT NULL,
    street_norm  TEXT,
    city_norm    TEXT,
    region       TEXT,
    postal       TEXT,
    phone_e164   TEXT,
    email_norm   TEXT,
    attributes   TEXT NOT NULL,
    source       TEXT NOT NULL,
    verified_at  TEXT NOT NULL,
    provenance   TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX entities_phone_idx ON entities (phone_e164);
CREATE INDEX entities_email_idx ON entities (email_norm);
CREATE INDEX entities_name_postal_idx ON entities (name_norm, postal);
CREATE INDEX entities_street_postal_idx ON entities (street_norm, postal);

-- parent (e.g. a business) → child (e.g. its employee), with the child's role. A record
-- lists its parents; no foreign keys, so files may name a parent before importing it.
CREATE TABLE entity_links (
    parent_id  TEXT NOT NULL,
    child_id   TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (parent_id, child_id, role)
);
CREATE INDEX entity_links_child_idx ON entity_links (child_id);
