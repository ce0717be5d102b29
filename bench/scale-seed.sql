-- Bulk rows for the scale benchmark (bench/scale-seed.sh runs this; see docs/benchmarks.md).
-- Fills a Surety PostgreSQL database whose schema Surety created with users, clients,
-- grants, refresh tokens, consents, browser sessions and revoked jtis, in the row formats
-- src/store/sql*.rs writes, with INSERT … SELECT … FROM generate_series (minutes, not hours).
--
-- psql variables (all required): now (unix seconds), users, clients, refresh (live refresh
-- tokens, one grant each), expired (expired rotated refresh tokens of those grants), ended
-- (grants whose only refresh token expired; these two are what the upkeep pass deletes),
-- sessions (browser sessions, one in ten expired, each with the grant it issued), jtis
-- (revoked access-token ids, half expired), template_user (username of a user created by
-- `surety users create`: its argon2 PHC string is copied to every seeded user, so all share
-- its password; hashing a million passwords would take hours), template_client (client_id
-- of a client registered by `surety clients create` with client_name "Scale app 0" and
-- redirect URI https://app-0.scale.example/cb: its stored metadata, renumbered, is every
-- seeded client's).
--
-- Deterministic, so a benchmark can use the seeded rows: user n is `user<n>` (sub
-- md5('scale-user-<n>')); client n has id b64id('scale-client-<n>') and secret
-- `scale-secret-<n>`; live refresh token n is the string `scale-rt-<n>`, of client
-- 1 + (n-1) % clients and user 1 + (n-1) % users. Hashes are as crate::util::secret_hash
-- computes them: lowercase hex of SHA-256 of the UTF-8 string.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';

-- 16 bytes of md5 as 22 base64url characters: the shape of Surety's random ids (ClientId,
-- grant id: Entropy::token(16)).
CREATE FUNCTION pg_temp.b64id(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT rtrim(translate(encode(decode(md5(t), 'hex'), 'base64'), '+/', '-_'), '=') $$;
-- crate::util::secret_hash.
CREATE FUNCTION pg_temp.secret_hash(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT encode(sha256(convert_to(t, 'UTF8')), 'hex') $$;

\echo users
INSERT INTO users (sub, username, password_hash, email, name, created_at, email_verified_at)
SELECT md5('scale-user-' || n), 'user' || n, t.password_hash, 'user' || n || '@scale.example',
       'Scale User ' || n, :now - 31536000 + n % 31536000,
       CASE WHEN n % 2 = 0 THEN :now - 86400 END
FROM (SELECT password_hash FROM users WHERE username = :'template_user') t,
     generate_series(1, :users) n
ORDER BY 1;

\echo clients
INSERT INTO clients (client_id, secret_hash, metadata, created_at)
SELECT pg_temp.b64id('scale-client-' || n), pg_temp.secret_hash('scale-secret-' || n),
       replace(replace(t.metadata, '"Scale app 0"', '"Scale app ' || n || '"'),
               '//app-0.scale.example/', '//app-' || n || '.scale.example/'),
       :now - 31536000 + n
FROM (SELECT metadata FROM clients WHERE client_id = :'template_client') t,
     generate_series(1, :clients) n
ORDER BY 1;

-- Grant n: one family of refresh tokens, issued up to 13 days ago (tokens live 14 days).
CREATE TEMP TABLE seed_grants AS
SELECT n, pg_temp.b64id('scale-grant-' || n) AS id,
       pg_temp.b64id('scale-client-' || (1 + (n - 1) % :clients)) AS client_id,
       md5('scale-user-' || (1 + (n - 1) % :users)) AS sub,
       :now - n % 1123200 AS created_at
FROM generate_series(1, :refresh) n;

\echo grants
INSERT INTO grants (id, client_id, sub, scope, auth_time, acr, amr, created_at, revoked_at, resources)
SELECT id, client_id, sub, 'offline_access openid profile', created_at - 5,
       'urn:surety:acr:password', '["pwd"]', created_at, NULL, ''
FROM seed_grants ORDER BY id;

\echo refresh_tokens (live)
INSERT INTO refresh_tokens (token_hash, grant_id, client_id, sub, scope, created_at, expires_at,
                            rotated_at, successor_hash, retried_at, jkt)
SELECT pg_temp.secret_hash('scale-rt-' || n), id, client_id, sub, 'offline_access openid profile',
       created_at, created_at + 1209600, NULL, NULL, NULL, NULL
FROM seed_grants ORDER BY 1;

-- Rotated tokens whose 14 days are over: what the upkeep pass deletes.
\echo refresh_tokens (expired)
INSERT INTO refresh_tokens (token_hash, grant_id, client_id, sub, scope, created_at, expires_at,
                            rotated_at, successor_hash, retried_at, jkt)
SELECT pg_temp.secret_hash('scale-old-rt-' || e), g.id, g.client_id, g.sub,
       'offline_access openid profile', :now - 1209600 - 1 - e % 86400,
       :now - 1 - e % 86400, :now - 1209600 + 3600, pg_temp.secret_hash('scale-rt-' || g.n),
       NULL, NULL
FROM generate_series(1, :expired) e
JOIN seed_grants g ON g.n = 1 + (e - 1) % :refresh
ORDER BY 1;

-- Ended families: grants whose only refresh token expired (a user who stopped using the
-- app); the upkeep pass deletes both.
\echo grants and refresh_tokens (ended)
INSERT INTO grants (id, client_id, sub, scope, auth_time, acr, amr, created_at, revoked_at, resources)
SELECT pg_temp.b64id('scale-ended-grant-' || e), pg_temp.b64id('scale-client-' || (1 + (e - 1) % :clients)),
       md5('scale-user-' || (1 + (e - 1) % :users)), 'offline_access openid profile',
       :now - 1209600 - 7200 - e % 86400, 'urn:surety:acr:password', '["pwd"]',
       :now - 1209600 - 7200 - e % 86400, NULL, ''
FROM generate_series(1, :ended) e ORDER BY 1;
INSERT INTO refresh_tokens (token_hash, grant_id, client_id, sub, scope, created_at, expires_at,
                            rotated_at, successor_hash, retried_at, jkt)
SELECT pg_temp.secret_hash('scale-ended-rt-' || e), g.id, g.client_id, g.sub, g.scope,
       g.created_at, g.created_at + 1209600, NULL, NULL, NULL, NULL
FROM generate_series(1, :ended) e JOIN grants g ON g.id = pg_temp.b64id('scale-ended-grant-' || e)
ORDER BY 1;

\echo consents
INSERT INTO consents (sub, client_id, scope, updated_at)
SELECT sub, client_id, 'offline_access openid profile', max(created_at)
FROM seed_grants GROUP BY sub, client_id ORDER BY 1, 2;

-- Session s signed in the user of grant s and issued it; one in ten has expired.
\echo browser_sessions
CREATE TEMP TABLE seed_sessions AS
SELECT s, 'SE' || md5('scale-session-' || s) AS sid, g.id AS grant_id, g.client_id, g.sub,
       CASE WHEN s % 10 = 0 THEN :now - 1 - s % 3600 ELSE :now + 60 + s % 28000 END AS expires_at
FROM generate_series(1, :sessions) s JOIN seed_grants g ON g.n = s;
INSERT INTO browser_sessions (sid, sub, cache_key, acr, created_at, expires_at, ended_at)
SELECT sid, sub, 'sess:' || pg_temp.secret_hash('scale-session-cookie-' || s),
       'urn:surety:acr:password', expires_at - 28800, expires_at, NULL
FROM seed_sessions ORDER BY sid;
INSERT INTO session_clients (sid, grant_id, client_id, sub, scope, offline, created_at)
SELECT sid, grant_id, client_id, sub, 'offline_access openid profile', 1, expires_at - 28790
FROM seed_sessions ORDER BY sid;

\echo revoked_jtis
INSERT INTO revoked_jtis (jti, expires_at)
SELECT pg_temp.b64id('scale-jti-' || j), :now - 3600 + (j * 7919) % 7200
FROM generate_series(1, :jtis) j ORDER BY 1;

DELETE FROM users WHERE username = :'template_user';
DELETE FROM clients WHERE client_id = :'template_client';
DROP TABLE seed_grants, seed_sessions;

-- autovacuum may be off (it is on the shared test server): set the visibility map and
-- the planner's statistics now, as a long-running database would have them.
\echo vacuum analyze
VACUUM (ANALYZE) users, clients, grants, refresh_tokens, consents, browser_sessions,
    session_clients, revoked_jtis;
