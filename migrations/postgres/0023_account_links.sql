-- E-mail verification and password reset (issue 12). `users.email_verified_at`: when the
-- user's present address was proven theirs (NULL: never, or changed since); changing the
-- address clears it. `account_links`: the single-use links Surety e-mails, stored by the
-- SHA-256 of their random part (never the link), each bound to the user and the address
-- it was sent to; `consumed_at` is set once, by a conditional UPDATE, in the transaction
-- that does what the link is for. Expired rows are deleted by the upkeep pass.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT NULL;

CREATE INDEX users_email_idx ON users (lower(email));

CREATE TABLE account_links (
    token_hash  TEXT    NOT NULL PRIMARY KEY,
    purpose     TEXT    NOT NULL,
    sub         TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    consumed_at BIGINT  NULL
);

CREATE INDEX account_links_sub_idx ON account_links (sub);
CREATE INDEX account_links_expires_at_idx ON account_links (expires_at);
