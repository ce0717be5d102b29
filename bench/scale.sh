#!/usr/bin/env bash
# Cost as the data grows (issue 13): Surety on PostgreSQL + Redis, the same scenarios against
# a small database and then against a large one (1,000,000 users, 1,000,000 live refresh
# tokens, 10,000 clients: bench/scale-seed.sh), in one run, with bench/run.sh's functions;
# then one upkeep pass at each size (`surety upkeep`, timed). Builds nothing.
#
#   cargo build --release
#   BENCH_LOCK=/tmp/surety-build.lock bench/scale.sh     # about 12 minutes
#
# Each phase: a fresh database; Surety starts on it (`serve --demo`: schema, demo client and
# user); bench/scale-seed.sh fills it at the phase's size; the server is restarted (its start
# time is recorded) and the scenarios run; `surety upkeep` runs twice (the first pass deletes
# the seeded expired rows, the second is the steady state); the database is dropped.
# Results: BENCH_OUT/results.md (bench/scale-report.py), raw.jsonl, logs.
#
# Env: all of bench/run.sh's (BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_PG_URL,
# BENCH_REDIS_URL, SURETY_BIN, …), and
#   BENCH_SCENARIOS  ("introspection code_flow refresh login refresh_seeded")
#   BENCH_PHASES     ("small scale")
#   BENCH_OUT        (bench/out/scale)
#   BENCH_LOCK       a lock file to hold (flock) over each phase's measured part, from the
#                    restart after seeding to the end of the upkeep passes; the seeding is not
#                    held. /tmp/surety-build.lock keeps compilations (the cargo wrapper's lock)
#                    off the measurements.
#   SMALL_USERS SMALL_CLIENTS SMALL_REFRESH SMALL_EXPIRED SMALL_ENDED SMALL_SESSIONS SMALL_JTIS
#                    the small database (1000 10 20000 2000 2000 2000 2000: enough seeded
#                    tokens for refresh_seeded, and users for login)
#   SCALE_USERS SCALE_CLIENTS SCALE_REFRESH SCALE_EXPIRED SCALE_ENDED SCALE_SESSIONS SCALE_JTIS
#                    the large one (1000000 10000 1000000 100000 100000 100000 100000)
#   SCALE_PASSWORD   every seeded user's password (scale-password-1)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export BENCH_OUT="${BENCH_OUT:-$here/out/scale}"
export BENCH_TARGETS=pg
export BENCH_SCENARIOS="${BENCH_SCENARIOS:-introspection code_flow refresh login refresh_seeded}"
export BENCH_QUIET_WAIT="${BENCH_QUIET_WAIT:-0}"
PHASES="${BENCH_PHASES:-small scale}"
LOCK="${BENCH_LOCK:-}"
SCALE_PASSWORD="${SCALE_PASSWORD:-scale-password-1}"
# shellcheck source=bench/run.sh
source "$here/run.sh"

declare -A SIZE=(
  [small.users]="${SMALL_USERS:-1000}" [small.clients]="${SMALL_CLIENTS:-10}"
  [small.refresh]="${SMALL_REFRESH:-20000}" [small.expired]="${SMALL_EXPIRED:-2000}" [small.ended]="${SMALL_ENDED:-2000}"
  [small.sessions]="${SMALL_SESSIONS:-2000}" [small.jtis]="${SMALL_JTIS:-2000}"
  [scale.users]="${SCALE_USERS:-1000000}" [scale.clients]="${SCALE_CLIENTS:-10000}"
  [scale.refresh]="${SCALE_REFRESH:-1000000}" [scale.expired]="${SCALE_EXPIRED:-100000}" [scale.ended]="${SCALE_ENDED:-100000}"
  [scale.sessions]="${SCALE_SESSIONS:-100000}" [scale.jtis]="${SCALE_JTIS:-100000}"
)
PHASE=""

lock_take() {
  [[ -n "$LOCK" ]] || return 0
  exec 9>>"$LOCK"
  log "waiting for $LOCK"
  flock 9
  log "holding $LOCK"
}
lock_release() {
  [[ -n "$LOCK" ]] || return 0
  flock -u 9
  exec 9>&-
  log "released $LOCK"
}

# Rows per table and the database's size, as one JSON object.
table_rows() {
  psql "$PG_URL/$PG_DB" -Atc "SELECT json_build_object('users', (SELECT count(*) FROM users),
    'clients', (SELECT count(*) FROM clients), 'grants', (SELECT count(*) FROM grants),
    'refresh_tokens', (SELECT count(*) FROM refresh_tokens), 'consents', (SELECT count(*) FROM consents),
    'browser_sessions', (SELECT count(*) FROM browser_sessions), 'session_clients', (SELECT count(*) FROM session_clients),
    'revoked_jtis', (SELECT count(*) FROM revoked_jtis), 'db_bytes', pg_database_size(current_database()))"
}

# bench_surety's hook once the server is up on the fresh database: fill it, restart the server.
after_start() {
  local t0=$SECONDS p="$PHASE"
  log "$p: seeding ${SIZE[$p.users]} users, ${SIZE[$p.clients]} clients, ${SIZE[$p.refresh]} refresh tokens"
  if ! env "${SURETY_ENV[@]}" SURETY_BIN="$BIN" SCALE_PASSWORD="$SCALE_PASSWORD" \
      SCALE_USERS="${SIZE[$p.users]}" SCALE_CLIENTS="${SIZE[$p.clients]}" SCALE_REFRESH="${SIZE[$p.refresh]}" \
      SCALE_EXPIRED="${SIZE[$p.expired]}" SCALE_ENDED="${SIZE[$p.ended]}" SCALE_SESSIONS="${SIZE[$p.sessions]}" SCALE_JTIS="${SIZE[$p.jtis]}" \
      bash "$here/scale-seed.sh" >"$OUT/seed-$p.log" 2>&1; then
    log "$p: seeding failed:"; cat "$OUT/seed-$p.log" >&2; exit 1
  fi
  local seconds=$((SECONDS - t0)) rows; rows="$(table_rows)"
  echo "{\"target\":\"pg-$p\",\"scenario\":\"_seed\",\"seconds\":$seconds,\"rows\":$rows}" >>"$RAW"
  log "$p: seeded in ${seconds}s: $rows"
  lock_take
  stop_surety
  local t1; t1="$(date +%s.%N)"
  start_surety pg
  echo "{\"target\":\"pg-$p\",\"scenario\":\"_restart\",\"seconds\":$(python3 -c "import time; print(round(time.time() - $t1, 2))")}" >>"$RAW"
  export LOGIN_USERS="${SIZE[$p.users]}" LOGIN_PREFIX=user LOGIN_PASSWORD="$SCALE_PASSWORD"
  export SEEDED_REFRESH="${SIZE[$p.refresh]}" SEEDED_CLIENTS="${SIZE[$p.clients]}"
}

# bench_surety's hook after the scenarios: two timed upkeep passes, then let go of the lock.
before_stop() {
  local i out before after
  for i in 1 2; do
    before="$(table_rows)"
    out="$(env "${SURETY_ENV[@]}" "$BIN" upkeep 2>"$OUT/upkeep-$PHASE-$i.log" | grep '^{' || true)"
    [[ -n "$out" ]] || { log "$PHASE: surety upkeep failed:"; cat "$OUT/upkeep-$PHASE-$i.log" >&2; exit 1; }
    after="$(table_rows)"
    echo "{\"target\":\"pg-$PHASE\",\"scenario\":\"_upkeep\",\"pass\":$i,\"result\":$out,\"before\":$before,\"after\":$after}" >>"$RAW"
    log "$PHASE: upkeep pass $i: $out"
  done
  lock_release
}

record_meta
for PHASE in $PHASES; do
  echo "{\"target\":\"pg-$PHASE\",\"scenario\":\"_start\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"compilers\":$(busy),\"at\":\"$(date -u +%T)\"}" >>"$RAW"
  log "$PHASE: load $(cut -d' ' -f1-3 /proc/loadavg), $(busy) cargo/rustc processes"
  bench_surety pg "pg-$PHASE"
done
python3 "$here/scale-report.py" "$RAW" >"$OUT/results.md"
cat "$OUT/results.md"
