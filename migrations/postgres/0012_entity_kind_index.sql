-- The windows of other records that multiple-choice distractors come from (issue 5,
-- `VerificationStore::entity_samples`) are ranges of one kind in id order: with this
-- index a window reads its 48 rows and no more, instead of filtering the primary key's
-- range by kind (businesses are about a tenth of the records).
CREATE INDEX entities_kind_id_idx ON entities (kind, id);
