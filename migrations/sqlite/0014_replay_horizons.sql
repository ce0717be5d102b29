-- Single use that survives the loss of the cache (issue 10, item 3). Assertion `jti`
-- marks live only in the cache; when its contents are lost (Redis restarted without
-- persistence, an embedded node restarted), the marks made before are gone. Each row
-- records, for one cache contents, a time by which every mark
-- made in them has expired: while a row of other (lost) contents is still ahead of now,
-- an assertion that could have been used before the present contents began is refused.
-- `contents` is the cache's marker, `<since>.<random>`.
CREATE TABLE replay_horizons (
    contents TEXT    NOT NULL PRIMARY KEY,
    until    INTEGER NOT NULL
) STRICT;
