-- DPoP (RFC 9449 §5): a public client's refresh token is bound to the key (RFC 7638
-- thumbprint) of the proof it was issued with; its successors keep the binding, and a
-- refresh needs a proof of that key. NULL: not bound.
ALTER TABLE refresh_tokens ADD COLUMN jkt TEXT NULL;
