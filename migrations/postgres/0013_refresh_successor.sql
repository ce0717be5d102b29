-- Refresh-token families (RFC 9700 §4.14.2, issue 16): a rotated token remembers the
-- successor it was rotated into, and when a lost-response retry (inside the operator's
-- grace window) replaced that successor. A retry revokes the successor it replaces, so a
-- family never has more than one live token, and happens at most once per token.
ALTER TABLE refresh_tokens ADD COLUMN successor_hash TEXT NULL;
ALTER TABLE refresh_tokens ADD COLUMN retried_at BIGINT NULL;
