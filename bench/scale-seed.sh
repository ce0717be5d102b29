#!/usr/bin/env bash
# Fills a Surety PostgreSQL database with the scale benchmark's rows (issue 13): by default
# 1,000,000 users, 10,000 clients, 1,000,000 live refresh tokens (one grant and one consent
# each), 100,000 expired refresh tokens, 100,000 ended grants (their only token expired),
# 100,000 browser sessions and 100,000 revoked jtis.
# About two minutes on two cores: bulk INSERT … SELECT … FROM generate_series in SQL
# (bench/scale-seed.sql, which says which rows it makes and how a benchmark can use them).
#
#   createdb surety_scale
#   SURETY_DATABASE_URL=postgres://postgres@127.0.0.1:5432/surety_scale \
#   SURETY_KEY_ENCRYPTION_KEY=<the server's> bench/scale-seed.sh
#
# Run it with the server's environment (SURETY_*), on an empty database or one Surety has
# already migrated; a server may be running on it. Surety itself makes the schema (`surety
# migrate`), one user (`surety users create`: the only argon2 hash computed, copied to
# every seeded user, so all share SCALE_PASSWORD) and one client (`surety clients create`:
# its stored metadata, renumbered, is every seeded client's); then psql fills the tables,
# deletes the two templates, runs VACUUM ANALYZE and a CHECKPOINT.
#
# Env: SCALE_USERS (1000000), SCALE_CLIENTS (10000), SCALE_REFRESH (1000000), SCALE_EXPIRED
# (100000), SCALE_ENDED (100000), SCALE_SESSIONS (100000, at most SCALE_REFRESH), SCALE_JTIS (100000),
# SCALE_PASSWORD (scale-password-1), SURETY_BIN (target/release/surety).
# Needs psql; PostgreSQL 11 or later (sha256()).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${SURETY_BIN:-$here/../target/release/surety}"
DB="${SURETY_DATABASE_URL:?set SURETY_DATABASE_URL to the postgres:// database to fill}"
PASSWORD="${SCALE_PASSWORD:-scale-password-1}"
log() { echo "[scale-seed $(date +%H:%M:%S)] $*" >&2; }
t0=$SECONDS

"$BIN" migrate >/dev/null
template_user="scale-template-$$"
SURETY_NEW_PASSWORD="$PASSWORD" "$BIN" users create "$template_user" >/dev/null
template_client="$("$BIN" clients create \
  '{"client_name":"Scale app 0","redirect_uris":["https://app-0.scale.example/cb"],"grant_types":["authorization_code","refresh_token"],"scope":"openid profile email offline_access"}' \
  | python3 -c 'import json,sys; l=sys.stdin.read().splitlines(); i=max(n for n, x in enumerate(l) if x == "{"); print(json.loads("\n".join(l[i:]))["client_id"])')"
log "schema and templates made in $((SECONDS - t0)) s; filling"

psql "$DB" -q -v ON_ERROR_STOP=1 -v now="$(date +%s)" \
  -v users="${SCALE_USERS:-1000000}" -v clients="${SCALE_CLIENTS:-10000}" \
  -v refresh="${SCALE_REFRESH:-1000000}" -v expired="${SCALE_EXPIRED:-100000}" -v ended="${SCALE_ENDED:-100000}" \
  -v sessions="${SCALE_SESSIONS:-100000}" -v jtis="${SCALE_JTIS:-100000}" \
  -v template_user="$template_user" -v template_client="$template_client" \
  -f "$here/scale-seed.sql" 2>&1 | while IFS= read -r line; do log "$line"; done
[[ "${PIPESTATUS[0]}" == 0 ]] || { log "psql failed"; exit 1; }
psql "$DB" -qc CHECKPOINT
log "done in $((SECONDS - t0)) s; database size $(psql "$DB" -Atc 'SELECT pg_size_pretty(pg_database_size(current_database()))')"
