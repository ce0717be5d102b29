#!/usr/bin/env bash
# HTTP load benchmark of Surety (embedded SQLite + in-process cache, and PostgreSQL + Redis)
# side by side with the peer OP (panva's oidc-provider, ../shared/bench-peer), in one run,
# with wrk. Builds nothing: give it a release binary.
#
#   cargo build --release && bench/run.sh
#
# Env (all optional):
#   SURETY_BIN          server binary (default target/release/surety)
#   BENCH_DURATION      measured seconds per scenario (10)
#   BENCH_WARMUP        warm-up seconds before each scenario, discarded (3)
#   BENCH_CONNECTIONS   wrk connections (32)       BENCH_THREADS  wrk threads (1)
#   BENCH_LOGIN_CONNECTIONS  wrk connections of the login scenario (4)
#   BENCH_TARGETS       which servers, in order ("embedded pg peer")
#   BENCH_SCENARIOS     which scenarios ("discovery jwks client_credentials introspection jwt_bearer
#                       code_flow refresh"); also client_credentials_dpop and jwt_bearer_dpop (each request
#                       with a fresh DPoP proof, RFC 9449; the peer then runs with DPoP on), login
#                       (POST /login with a password; Surety only), passkey_login (the login page and
#                       POST /login/passkey answered by a software passkey; Surety only) and
#                       refresh_seeded (bench/scale.sh), refresh_es256 (refresh for a client with
#                       ES256 ID tokens: what RS256 costs). login and passkey_login are each followed,
#                       the server idle, by their crypto ceiling (argon2id verifications/s with the
#                       server's parameters; WebAuthn assertion checks/s by webauthn-rs), all cores
#   BENCH_AUTHN_BIN     the driver of the crypto floors (run as each Surety target starts, when built),
#                       the passkey load and the sign-in ceilings (target/release/examples/bench_driver; build it
#                       with `cargo build --release --example bench_driver`)
#   BENCH_PASSKEY_CONNECTIONS  concurrent passkey sign-ins (16)
#   BENCH_ASSERTION_RATE  jwt_bearer: assertions generated per second of warm-up and of measured run
#                       (15000); each is sent once, and running out is reported as reuse
#   BENCH_REFRESH_GEN   extra seconds of code flows run only to mint refresh tokens for the
#                       refresh scenario (default: BENCH_DURATION, doubled when code_flow is not
#                       run; each refresh token is used once, and a reuse is reported)
#   BENCH_PG_URL        PostgreSQL server (postgres://postgres@127.0.0.1:5432); a fresh
#                       database is created and dropped
#   BENCH_REDIS_URL     Redis (redis://127.0.0.1:6379); keys under a fresh prefix, deleted after
#   BENCH_PEER_DIR      the peer's scripts (../shared/bench-peer next to the repo)
#   BENCH_OUT           output folder (bench/out): results.md, raw.jsonl, logs
#   BENCH_TMPDIR        where the run's scratch folder goes, including the embedded target's SQLite
#                       file (/tmp); /dev/shm puts it on tmpfs, where fsync costs nothing (diagnostics)
#   BENCH_PERF          set: also `perf record -g` the server under test over each measured run, into
#                       BENCH_OUT/perf-TARGET-SCENARIO.data (diagnostics; perf adds some load)
#   BENCH_QUIET_WAIT    seconds to wait at the start for other compilations (cargo/rustc processes)
#                       to finish, polling every 30 s (900; 0 = do not wait); the run then goes ahead
#                       and records what was still running
# Needs wrk (apt-get install -y wrk), curl, python3, openssl, node (jwt_bearer), psql + redis-cli (pg),
# npm (peer).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
BIN="${SURETY_BIN:-$root/target/release/surety}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-3}"
CONNS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-1}"
TARGETS="${BENCH_TARGETS:-embedded pg peer}"
SCENARIOS="${BENCH_SCENARIOS:-discovery jwks client_credentials introspection jwt_bearer code_flow refresh}"
ASSERTION_RATE="${BENCH_ASSERTION_RATE:-15000}"
QUIET_WAIT="${BENCH_QUIET_WAIT:-900}"
REFRESH_GEN="${BENCH_REFRESH_GEN:-$DURATION}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
PEER="${BENCH_PEER_DIR:-}"
if [[ -z "$PEER" ]]; then
  for c in "$root/../shared/bench-peer" "$root/../../shared/bench-peer" /work/shared/bench-peer; do
    [[ -f "$c/start.sh" ]] && { PEER="$(cd "$c" && pwd)"; break; }
  done
fi
OUT="${BENCH_OUT:-$here/out}"
AUTHN_BIN="${BENCH_AUTHN_BIN:-$root/target/release/examples/bench_driver}"
PEER_STATE_DIR="${PEER_STATE:-${PEER_DIR:-/tmp/peer}/state}"
REDIRECT="http://127.0.0.1:9999/callback"
VERIFIER="bench-verifier-bench-verifier-bench-verifier-0123456789"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
if [[ " $SCENARIOS " == *" jwt_bearer "* ]]; then command -v node >/dev/null || { echo "node is missing (jwt_bearer assertions)" >&2; exit 2; }; fi
[[ " $TARGETS " == *" embedded "* || " $TARGETS " == *" pg "* ]] && { [[ -x "$BIN" ]] || { echo "no binary at $BIN (cargo build --release, or set SURETY_BIN)" >&2; exit 2; }; }
if [[ " $SCENARIOS " == *" login "* || " $SCENARIOS " == *" passkey_login "* ]]; then
  [[ -x "$AUTHN_BIN" ]] || { echo "no sign-in driver at $AUTHN_BIN (cargo build --release --example bench_driver)" >&2; exit 2; }
fi
mkdir -p "$OUT"
RAW="$OUT/raw.jsonl"
: >"$RAW"
WORK="$(mktemp -d "${BENCH_TMPDIR:-/tmp}/surety-bench.XXXXXX")"
SERVER_PID=""
MEASURED_PID=""   # the server under test; wrk_run records its CPU time over each measured run
CLK_TCK="$(getconf CLK_TCK)"
PG_DB=""
PG_KEK=""
REDIS_PREFIX=""
SURETY_ENV=()
PEER_STARTED=""

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
urlenc() { python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
jget() { python3 -c 'import sys,json; print(json.load(sys.stdin).get(sys.argv[1],""))' "$1"; }

stop_surety() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  stop_surety
  if [[ -n "$PG_DB" ]]; then psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\"" >/dev/null 2>&1 || true; fi
  if [[ -n "$REDIS_PREFIX" ]]; then
    redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_PREFIX}*" 2>/dev/null | xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
  fi
  if [[ -n "$PEER_STARTED" ]]; then bash "$PEER/stop.sh" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cpu_ticks() { # pid -> utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat)
  awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0
}
# pg_ticks: "pid ticks" of each PostgreSQL backend connected to the run's database (none
# without one); pg_cpu_delta BEFORE AFTER: their CPU ticks in between (a backend that
# connected in between counts from zero).
pg_ticks() {
  [[ -n "$PG_DB" ]] || return 0
  local pid
  for pid in $(psql "$PG_URL/postgres" -Atc "SELECT pid FROM pg_stat_activity WHERE datname = '$PG_DB'" 2>/dev/null); do
    echo "$pid $(cpu_ticks "$pid")"
  done
}
machine_ticks() { # "busy total" clock ticks of all CPUs since boot (/proc/stat)
  awk '/^cpu /{t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat
}
pg_blocks() { # "read hit": the run's database's block reads outside / inside shared buffers
  if [[ -n "$PG_DB" ]]; then
    psql "$PG_URL/postgres" -Atc "SELECT blks_read || ' ' || blks_hit FROM pg_stat_database WHERE datname = '$PG_DB'" 2>/dev/null || echo "0 0"
  else
    echo "0 0"
  fi
}
pg_cpu_delta() {
  awk 'NR == FNR { a[$1] = $2; next } { d += $2 - ($1 in a ? a[$1] : 0) } END { print d + 0 }' <(echo "$1") <(echo "$2")
}
rss_of() { # pid -> "VmRSS_kB VmHWM_kB"
  awk '/^VmRSS/{r=$2} /^VmHWM/{h=$2} END{print r, h}' "/proc/$1/status"
}

# wrk_run TARGET SCENARIO URL [wrk args...]: warm-up (discarded), then the measured run;
# appends {"target","scenario",...RESULT} to raw.jsonl. With DRIVER set (an array: a command
# printing one `RESULT {json}` line, which does its own warm-up), that command is the load
# instead of wrk; a `server_ticks` in its result (CPU of its measured seconds alone) wins.
wrk_run() {
  local target="$1" scenario="$2" url="$3"; shift 3
  if [[ "$WARMUP" != 0 && -z "${DRIVER[*]:-}" ]]; then
    wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$url" "$@" >/dev/null 2>&1 || true
  fi
  local out cpu0=0 cpu1=0 pg0 pg1
  [[ -n "$MEASURED_PID" ]] && cpu0="$(cpu_ticks "$MEASURED_PID")"
  pg0="$(pg_ticks)"
  local m0 m1 k0 k1; m0="$(machine_ticks)" k0="$(pg_blocks)"
  local perf_pid=""
  if [[ -n "${BENCH_PERF:-}" && -n "$MEASURED_PID" ]]; then
    perf record -F 999 -g -p "$MEASURED_PID" -o "$OUT/perf-$target-$scenario.data" -- sleep "$DURATION" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  if [[ -n "${DRIVER[*]:-}" ]]; then
    out="$("${DRIVER[@]}" 2>&1)" || true
  else
    out="$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$url" "$@" 2>&1)" || true
  fi
  [[ -n "$MEASURED_PID" ]] && cpu1="$(cpu_ticks "$MEASURED_PID")"
  pg1="$(pg_ticks)"
  m1="$(machine_ticks)" k1="$(pg_blocks)"
  [[ -n "$perf_pid" ]] && { wait "$perf_pid" || true; }
  echo "$out" >"$OUT/wrk-$target-$scenario.txt"
  local res
  res="$(grep '^RESULT ' <<<"$out" | tail -n1 | cut -c8- || true)"
  if [[ -z "$res" ]]; then
    log "$target/$scenario: wrk printed no RESULT line:"; echo "$out" >&2
    res='{"requests":0,"duration_us":1,"p99_ms":0,"err_status":0,"failed_run":true}'
  fi
  python3 - "$target" "$scenario" "$res" "$(( cpu1 - cpu0 ))" "$CLK_TCK" "$CONNS" "$(pg_cpu_delta "$pg0" "$pg1")" "$m0" "$m1" "$k0" "$k1" >>"$RAW" <<'EOF'
import json, sys
t, s, r = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
r.update(target=t, scenario=s, rps=r["requests"] / (r["duration_us"] / 1e6), conns=int(sys.argv[6]))
ticks, hz = int(sys.argv[4]), int(sys.argv[5])
if "server_ticks" in r:
    ticks = r.pop("server_ticks")
if ticks > 0:
    # server CPU (user + system, all threads) over the measured run
    r["server_cpu_s"] = ticks / hz
    r["server_cores"] = r["server_cpu_s"] / (r["duration_us"] / 1e6)
    if r["requests"]:
        r["server_cpu_ms_per_req"] = 1000 * r["server_cpu_s"] / r["requests"]
pg = int(sys.argv[7])
b0, t0 = map(int, sys.argv[8].split())
b1, t1 = map(int, sys.argv[9].split())
if t1 > t0:
    # every process on the machine: with the server, PostgreSQL, Redis and wrk, whatever else ran
    r["machine_busy_cores"] = (b1 - b0) / hz / (r["duration_us"] / 1e6)
k0, k1 = [list(map(int, a.split())) for a in sys.argv[10:12]]
if r["requests"] and k1[0] + k1[1] > k0[0] + k0[1]:
    # PostgreSQL's block accesses per request: from the OS (not in shared buffers), and all
    r["pg_blocks_read_per_req"] = (k1[0] - k0[0]) / r["requests"]
    r["pg_blocks_per_req"] = (k1[0] - k0[0] + k1[1] - k0[1]) / r["requests"]
if pg > 0 and r["requests"]:
    # the PostgreSQL backends serving this server's pool (shared server: others not counted)
    r["pg_cpu_s"] = pg / hz
    r["pg_cpu_ms_per_req"] = 1000 * r["pg_cpu_s"] / r["requests"]
if "flows" in r:
    r["flows_per_s"] = r["flows"] / (r["duration_us"] / 1e6)
print(json.dumps(r))
EOF
  log "$target/$scenario: $(tail -n1 "$RAW" | python3 -c "$SUMMARY_PY")"
}
want() { [[ " $SCENARIOS " == *" $1 "* ]]; }
SUMMARY_PY='
import json, sys
r = json.load(sys.stdin)
sock = sum(r.get(k, 0) for k in ("err_connect", "err_read", "err_write", "err_timeout"))
s = "%.0f req/s, p99 %.2f ms, status>=400: %d, socket errors: %d" % (r["rps"], r["p99_ms"], r.get("err_status", 0), sock)
if "server_cores" in r:
    s += ", server CPU %.2f cores (%.3f ms/req)" % (r["server_cores"], r.get("server_cpu_ms_per_req", 0))
if "pg_cpu_ms_per_req" in r:
    s += ", PostgreSQL %.3f ms/req" % r["pg_cpu_ms_per_req"]
if "flows" in r:
    s += ", flows/s %.0f, failed steps %d" % (r["flows_per_s"], r["failures"])
if r.get("wrapped"):
    s += ", REUSED TOKENS %d" % r["wrapped"]
print(s)'

# jwt_bearer_run TARGET TOKEN_URL PRIVATE_JWK ISS SUB AUD [assertions.mjs opts...] -- [wrk/curl -H args...]
# RFC 7523 grant with a fresh assertion (own jti) per request: checks that one request answers
# 200 with an access token and that replaying its assertion is refused, then generates separate
# bodies for the warm-up and for the measured run (BENCH_ASSERTION_RATE per second of each, exp =
# now + 240 s) and runs both with lines.lua (each request formatted once, before the run; the same
# script for every target), so no assertion is sent twice.
jwt_bearer_run() {
  local target="$1" url="$2" key="$3" iss="$4" sub="$5" aud="$6"; shift 6
  local -a gen=()
  while [[ $# -gt 0 && "$1" != -- ]]; do gen+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  local scenario=jwt_bearer
  [[ " ${gen[*]} " == *" --dpop-htu="* ]] && scenario=jwt_bearer_dpop
  local d="$WORK/jb-$target-$scenario" t0
  mkdir -p "$d"
  local -a common=(--key="$key" --iss="$iss" --sub="$sub" --aud="$aud" --exp-offset=240 "${gen[@]}")
  node "$here/assertions.mjs" bodies 1 "$d/one" "${common[@]}"
  single_checks "$target" "$scenario" "$url" "$d" "$@"
  t0=$SECONDS
  [[ "$WARMUP" != 0 ]] && node "$here/assertions.mjs" bodies $((ASSERTION_RATE * WARMUP)) "$d/warm" "${common[@]}"
  node "$here/assertions.mjs" bodies $((ASSERTION_RATE * DURATION)) "$d/measured" "${common[@]}"
  log "$target/jwt_bearer: $((ASSERTION_RATE * (WARMUP + DURATION))) assertions generated in $((SECONDS - t0)) s"
  if [[ "$WARMUP" != 0 ]]; then
    wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$url" -s "$here/lines.lua" "$@" \
      -H "Content-Type: application/x-www-form-urlencoded" -- POST "$d/warm" lines "$THREADS" >/dev/null 2>&1 || true
  fi
  local save="$WARMUP"; WARMUP=0
  wrk_run "$target" "$scenario" "$url" -s "$here/lines.lua" "$@" \
    -H "Content-Type: application/x-www-form-urlencoded" -- POST "$d/measured" lines "$THREADS"
  WARMUP="$save"
  rm -f "$d/warm" "$d/measured"
}

# single_checks TARGET SCENARIO URL DIR [curl args...]: the one request in DIR/one (a body, or
# `PROOF<TAB>BODY`) answers 200 with an access token (token_type DPoP with a proof), and sent
# again (the same assertion or proof) it is refused.
single_checks() {
  local target="$1" scenario="$2" url="$3" d="$4"; shift 4
  local line proof body code
  line="$(<"$d/one")"
  local -a h=()
  if [[ "$line" == *$'\t'* ]]; then proof="${line%%$'\t'*}"; body="${line#*$'\t'}"; h=(-H "DPoP: $proof"); else body="$line"; fi
  code="$(curl -sS -o "$d/one.out" -w '%{http_code}' "$@" "${h[@]}" --data-binary "$body" "$url")"
  if [[ "$code" != 200 || -z "$(jget access_token <"$d/one.out")" ]]; then
    log "$target/$scenario: single request answered $code: $(head -c 400 "$d/one.out")"; exit 1
  fi
  if [[ -n "${proof:-}" && "$(jget token_type <"$d/one.out" | tr A-Z a-z)" != dpop ]]; then
    log "$target/$scenario: a request with a proof got no DPoP-bound token: $(head -c 400 "$d/one.out")"; exit 1
  fi
  log "$target/$scenario: single request 200 ($(python3 -c 'import json,sys,base64; t=json.load(sys.stdin)["access_token"].split(".")[1]; c=json.loads(base64.urlsafe_b64decode(t+"="*(-len(t)%4))); print(", ".join("%s=%s" % (k, json.dumps(c[k])) for k in ("sub","scope","act","account_sid","aud","cnf") if k in c))' <"$d/one.out"))"
  code="$(curl -sS -o "$d/replay.out" -w '%{http_code}' "$@" "${h[@]}" --data-binary "$body" "$url")"
  [[ "$code" == 400 ]] || { log "$target/$scenario: the same request again answered $code: $(head -c 400 "$d/replay.out")"; exit 1; }
}

# dpop_cc_run TARGET TOKEN_URL BODY [curl/wrk -H args...]: client_credentials with a fresh DPoP
# proof (own jti) per request, generated before the run like jwt_bearer's assertions.
dpop_cc_run() {
  local target="$1" url="$2" body="$3"; shift 3
  local d="$WORK/cc-dpop-$target" t0
  mkdir -p "$d"
  node "$here/assertions.mjs" proofs 1 "$d/one" --dpop-htu="$url" --body="$body"
  single_checks "$target" client_credentials_dpop "$url" "$d" "$@"
  t0=$SECONDS
  [[ "$WARMUP" != 0 ]] && node "$here/assertions.mjs" proofs $((ASSERTION_RATE * WARMUP)) "$d/warm" --dpop-htu="$url" --body="$body"
  node "$here/assertions.mjs" proofs $((ASSERTION_RATE * DURATION)) "$d/measured" --dpop-htu="$url" --body="$body"
  log "$target/client_credentials_dpop: $((ASSERTION_RATE * (WARMUP + DURATION))) proofs generated in $((SECONDS - t0)) s"
  if [[ "$WARMUP" != 0 ]]; then
    wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$url" -s "$here/lines.lua" "$@" \
      -H "Content-Type: application/x-www-form-urlencoded" -- POST "$d/warm" lines "$THREADS" >/dev/null 2>&1 || true
  fi
  local save="$WARMUP"; WARMUP=0
  wrk_run "$target" client_credentials_dpop "$url" -s "$here/lines.lua" "$@" \
    -H "Content-Type: application/x-www-form-urlencoded" -- POST "$d/measured" lines "$THREADS"
  WARMUP="$save"
  rm -f "$d/warm" "$d/measured"
}

# Creates a partner with a fresh ES256 key and one of its accounts through the admin API;
# sets PARTNER_ID, ACCOUNT_SID, PARTNER_KEY (private JWK file).
surety_partner() {
  local d="$WORK/partner-$1" r
  mkdir -p "$d"
  node "$here/assertions.mjs" keygen "$d/private.jwk.json" "$d/public.jwk.json" --kid=bench-1
  r="$(curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
        -d "{\"name\":\"Bench\",\"jwks\":{\"keys\":[$(<"$d/public.jwk.json")]}}" "$ISS/admin/partners")"
  [[ "${r##*$'\n'}" == 201 || "${r##*$'\n'}" == 200 ]] || { log "POST /admin/partners: $r"; exit 1; }
  PARTNER_ID="$(jget partner_id <<<"${r%$'\n'*}")"
  r="$(curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
        -d '{"friendly_name":"Bench"}' "$ISS/admin/partners/$PARTNER_ID/accounts")"
  [[ "${r##*$'\n'}" == 201 ]] || { log "POST /admin/partners/$PARTNER_ID/accounts: $r"; exit 1; }
  ACCOUNT_SID="$(jget account_sid <<<"${r%$'\n'*}")"
  PARTNER_KEY="$d/private.jwk.json"
  log "$1: partner $PARTNER_ID, account $ACCOUNT_SID"
}

record_rss() { # target pid
  local r; r="$(rss_of "$2")"
  echo "{\"target\":\"$1\",\"scenario\":\"_rss\",\"rss_kb\":${r% *},\"hwm_kb\":${r#* }}" >>"$RAW"
  log "$1: RSS ${r% *} kB (peak ${r#* } kB)"
}

# ---------------------------------------------------------------------------------- Surety
# surety_env TARGET: sets SURETY_ENV, the server's environment for TARGET (data dir, store);
# for pg, the first call creates a fresh database and Redis prefix, which later calls (a
# restart, `surety` sub-commands) reuse until bench_surety drops them.
surety_env() {
  local target="$1" data="$WORK/data-$1"
  mkdir -p "$data"
  SURETY_ENV=(SURETY_DATA_DIR="$data")
  if [[ "$target" == pg ]]; then
    if [[ -z "$PG_DB" ]]; then
      PG_DB="surety_bench_$(date +%s)_$$"
      psql "$PG_URL/postgres" -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null
      REDIS_PREFIX="surety-bench-$(date +%s)-$$:"
      PG_KEK="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    fi
    SURETY_ENV+=(SURETY_DATABASE_URL="$PG_URL/$PG_DB" SURETY_REDIS_URL="$REDIS_URL" SURETY_REDIS_PREFIX="$REDIS_PREFIX"
                 SURETY_KEY_ENCRYPTION_KEY="$PG_KEK")
  fi
}

start_surety() { # target
  local target="$1" port
  port="$(free_port)"
  ADMIN_TOKEN="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  surety_env "$target"
  # fd 9 (scale.sh's hold on the build lock, if any) is not the server's to keep.
  env "${SURETY_ENV[@]}" SURETY_LISTEN="127.0.0.1:$port" SURETY_ADMIN_TOKEN="$ADMIN_TOKEN" \
    "$BIN" serve --demo >"$OUT/server-$target.log" 2>&1 9>&- &
  SERVER_PID=$!
  ISS="http://127.0.0.1:$port"
  for _ in $(seq 200); do
    grep -q 'client_secret=' "$OUT/server-$target.log" 2>/dev/null && curl -fsS "$ISS/.well-known/openid-configuration" -o /dev/null 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { log "Surety ($target) exited:"; cat "$OUT/server-$target.log" >&2; exit 1; }
    sleep 0.1
  done
  SECRET="$(grep -o 'client_secret=[^ ]*' "$OUT/server-$target.log" | head -n1 | cut -d= -f2)"
  PASSWORD="$(grep -o 'password=[^ ]*' "$OUT/server-$target.log" | head -n1 | cut -d= -f2)"
  [[ -n "$SECRET" && -n "$PASSWORD" ]] || { log "no demo credentials in the banner"; cat "$OUT/server-$target.log" >&2; exit 1; }
  BASIC="Basic $(printf 'demo-web:%s' "$SECRET" | base64 -w0)"
  log "Surety ($target) pid $SERVER_PID on $ISS"
}

# Logs the demo user in once (login + consent forms) with curl and a cookie jar; sets COOKIE.
surety_login() {
  local jar="$WORK/jar" scope="openid profile offline_access" challenge loc html tx csrf
  rm -f "$jar"
  challenge="$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')"
  AUTHZ="/authorize?response_type=code&client_id=demo-web&redirect_uri=$(urlenc "$REDIRECT")&scope=$(urlenc "$scope")&state=bench&code_challenge=$challenge&code_challenge_method=S256"
  loc="$(curl -sS -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$ISS$AUTHZ")"
  html="$(curl -sS -c "$jar" -b "$jar" "$loc")"
  tx="$(grep -o 'name="tx" value="[^"]*"' <<<"$html" | head -n1 | cut -d'"' -f4)"
  csrf="$(grep -o 'name="csrf" value="[^"]*"' <<<"$html" | head -n1 | cut -d'"' -f4)"
  loc="$(curl -sS -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' --data-urlencode "tx=$tx" --data-urlencode "csrf=$csrf" \
        --data-urlencode "username=demo" --data-urlencode "password=$PASSWORD" "$ISS/login")"
  loc="$(curl -sS -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$loc")"
  if [[ "$loc" == *"/consent?"* ]]; then
    html="$(curl -sS -c "$jar" -b "$jar" "$loc")"
    tx="$(grep -o 'name="tx" value="[^"]*"' <<<"$html" | head -n1 | cut -d'"' -f4)"
    csrf="$(grep -o 'name="csrf" value="[^"]*"' <<<"$html" | head -n1 | cut -d'"' -f4)"
    loc="$(curl -sS -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' --data-urlencode "tx=$tx" --data-urlencode "csrf=$csrf" \
          -d decision=approve "$ISS/consent")"
  fi
  [[ "$loc" == "$REDIRECT?code="* ]] || { log "login flow did not reach the callback: $loc"; exit 1; }
  COOKIE="$(awk '$6=="surety_session"||$6=="surety_bb"{printf "%s%s=%s", (n++?"; ":""), $6, $7}' "$jar")"
  # With the session and the consent, the authorization endpoint now answers with a code at once.
  loc="$(curl -sS -H "Cookie: $COOKIE" -o /dev/null -w '%{http_code} %{redirect_url}' "$ISS$AUTHZ")"
  [[ "$loc" == "303 $REDIRECT?code="* ]] || { log "session did not give a code directly: $loc"; exit 1; }
}

# login_run LABEL: the password login, `POST /login` (the form of a pending authorization
# request) answered 303 to /authorize/resume. The users: LOGIN_USERS users named
# LOGIN_PREFIX<n> with password LOGIN_PASSWORD when set (scale.sh: the seeded users), else
# 64 users made here through the admin API. One transaction (tx + csrf + its binding cookie)
# serves every request: a login marks it logged in and does not consume it. Consecutive
# requests are different users, spread over all of them, so no user has two attempts in
# flight (the lockout counts attempts before the password is checked).
login_run() {
  local target="$1" d="$WORK/login-$1" n prefix pw challenge loc html tx csrf bb code
  mkdir -p "$d"
  if [[ -n "${LOGIN_USERS:-}" ]]; then
    n="$LOGIN_USERS" prefix="${LOGIN_PREFIX:-user}" pw="$LOGIN_PASSWORD"
  else
    n=64 prefix=bench-login- pw="bench-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    for i in $(seq 1 "$n"); do
      code="$(curl -sS -o "$d/user.out" -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
        -d "{\"username\":\"$prefix$i\",\"password\":\"$pw\"}" "$ISS/admin/users")"
      [[ "$code" == 201 || "$code" == 200 ]] || { log "POST /admin/users: $code $(head -c 300 "$d/user.out")"; exit 1; }
    done
  fi
  challenge="$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')"
  loc="$(curl -sS -c "$d/jar" -o /dev/null -w '%{redirect_url}' "$ISS/authorize?response_type=code&client_id=demo-web&redirect_uri=$(urlenc "$REDIRECT")&scope=openid&state=login&code_challenge=$challenge&code_challenge_method=S256")"
  html="$(curl -sS -b "$d/jar" "$loc")"
  tx="$(grep -o 'name="tx" value="[^"]*"' <<<"$html" | head -n1 | cut -d'"' -f4)"
  csrf="$(grep -o 'name="csrf" value="[^"]*"' <<<"$html" | head -n1 | cut -d'"' -f4)"
  bb="$(awk '$6=="surety_bb"{print $7}' "$d/jar")"
  [[ -n "$tx" && -n "$csrf" && -n "$bb" ]] || { log "$target/login: no login form at $loc"; exit 1; }
  python3 - "$d/bodies" "$tx" "$csrf" "$prefix" "$n" "$pw" $(( ${LOGIN_RATE:-400} * DURATION )) <<'PY'
import sys, urllib.parse
out, tx, csrf, prefix, n, pw, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
with open(out, "w") as f:
    for i in range(count):
        user = prefix + str(1 + (i * 7919) % n)  # 7919 is prime: distinct users until n
        f.write(urllib.parse.urlencode({"tx": tx, "csrf": csrf, "username": user, "password": pw}) + "\n")
PY
  code="$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -H "Cookie: surety_bb=$bb" --data-binary "$(head -n1 "$d/bodies")" "$ISS/login")"
  [[ "$code" == "303 $ISS/authorize/resume?tx=$tx" ]] || { log "$target/login: single login answered $code"; exit 1; }
  log "$target/login: single login 303 to /authorize/resume ($n users)"
  # No warm-up: wrk drops the requests in flight when it stops, the server then abandons
  # those logins between counting the attempt and clearing it on success, and 32 attempts
  # left counted for 127.0.0.1 would push the measured run into the per-address lockout.
  # BENCH_LOGIN_CONNECTIONS (4): each login is ~20 ms of argon2id on a blocking thread with
  # 19 MiB of its own; 32 at once on two cores run slower in all than a few (docs/benchmarks.md).
  local save="$WARMUP" save_c="$CONNS"; WARMUP=0 CONNS="${BENCH_LOGIN_CONNECTIONS:-4}"
  wrk_run "$target" login "$ISS/login" -s "$here/lines.lua" -H "Cookie: surety_bb=$bb" \
    -H "Content-Type: application/x-www-form-urlencoded" -- POST "$d/bodies" lines "$THREADS"
  WARMUP="$save" CONNS="$save_c"
  ceiling_run "$target" login argon2
}

# floor_run TARGET: the signature operations' CPU cost on one thread (bench_driver floor),
# measured as the target starts, the server idle; recorded as `_floor` with `ops_ms`. The
# report composes each flow's floor from them and the same run's discovery CPU per request
# (a bare HTTP exchange).
floor_run() {
  local target="$1" out
  out="$("$AUTHN_BIN" floor 3 2>&1 | grep '^RESULT ' | cut -c8-)" || true
  [[ -n "$out" ]] || { log "$target: no crypto floor (bench_driver floor failed)"; return; }
  python3 -c 'import json,sys; r=json.loads(sys.argv[2]); print(json.dumps({"target": sys.argv[1], "scenario": "_floor", "ops_ms": r["ops_ms"]}))' "$target" "$out" >>"$RAW"
  log "$target: crypto floor $(tail -n1 "$RAW")"
}

# ceiling_run TARGET SCENARIO MODE: the crypto ceiling of a sign-in scenario, measured by
# the driver in its own process on every core while the server idles (bench_driver MODE);
# recorded as SCENARIO_ceiling, without server CPU.
ceiling_run() {
  local target="$1" scenario="$2" mode="$3" save="$MEASURED_PID"
  MEASURED_PID=""
  local -a DRIVER=("$AUTHN_BIN" "$mode" "$DURATION" "$(nproc)")
  wrk_run "$target" "${scenario}_ceiling" -
  MEASURED_PID="$save"
}

# passkey_login_run LABEL: BENCH_PASSKEY_CONNECTIONS (16) users, each with a synced passkey
# registered through the account pages, sign in with it again and again (bench_driver load):
# each sign-in is the login page of a pending authorization request (new request options)
# and `POST /login/passkey` answered 303 to /authorize/resume. Then the WebAuthn ceiling.
passkey_login_run() {
  local target="$1"
  local -a DRIVER=(env BENCH_SERVER_PID="$MEASURED_PID" "$AUTHN_BIN" load "$ISS" "$ADMIN_TOKEN" "$REDIRECT"
    "${BENCH_PASSKEY_CONNECTIONS:-16}" "$DURATION" "$WARMUP")
  wrk_run "$target" passkey_login "$ISS/login/passkey"
  unset DRIVER
  ceiling_run "$target" passkey_login webauthn
}

# refresh_es256_run LABEL: refresh as in the refresh scenario, for a second client that
# registered ES256 ID tokens (`id_token_signed_response_alg`): what the ID token's algorithm
# costs next to the default RS256. The client is made through the admin API with demo-web's
# redirect URI and scopes; the signed-in demo user consents to it once; its refresh tokens
# are minted by the code flow (not measured), then each is refreshed once.
refresh_es256_run() {
  local target="$1" d="$WORK/refresh-es256-$1" out id secret challenge loc html tx csrf code
  mkdir -p "$d"
  out="$(curl -sS -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"client_name\":\"bench ES256\",\"redirect_uris\":[\"$REDIRECT\"],\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"scope\":\"openid profile offline_access\",\"id_token_signed_response_alg\":\"ES256\"}" \
    "$ISS/admin/clients")"
  id="$(jget client_id <<<"$out")" secret="$(jget client_secret <<<"$out")"
  [[ -n "$id" && -n "$secret" ]] || { log "$target/refresh_es256: POST /admin/clients: $(head -c 300 <<<"$out")"; exit 1; }
  challenge="$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')"
  local authz="/authorize?response_type=code&client_id=$(urlenc "$id")&redirect_uri=$(urlenc "$REDIRECT")&scope=$(urlenc "openid profile offline_access")&state=es&code_challenge=$challenge&code_challenge_method=S256"
  loc="$(curl -sS -H "Cookie: $COOKIE" -o /dev/null -w '%{redirect_url}' "$ISS$authz")"
  if [[ "$loc" == *"/consent?"* ]]; then
    html="$(curl -sS -H "Cookie: $COOKIE" "$loc")"
    tx="$(grep -o 'name="tx" value="[^"]*"' <<<"$html" | head -n1 | cut -d'"' -f4)"
    csrf="$(grep -o 'name="csrf" value="[^"]*"' <<<"$html" | head -n1 | cut -d'"' -f4)"
    loc="$(curl -sS -H "Cookie: $COOKIE" -o /dev/null -w '%{redirect_url}' --data-urlencode "tx=$tx" --data-urlencode "csrf=$csrf" \
          -d decision=approve "$ISS/consent")"
  fi
  [[ "$loc" == "$REDIRECT?code="* ]] || { log "$target/refresh_es256: consent did not reach the callback: $loc"; exit 1; }
  export CF_AUTHORIZE="$authz" CF_BASIC="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)" CF_TOKENS="$d/tokens"
  log "$target/refresh_es256: minting refresh tokens for $((REFRESH_GEN * 2))s"
  wrk -t"$THREADS" -c"$CONNS" -d"$((REFRESH_GEN * 2))s" -s "$here/codeflow.lua" "$ISS/authorize" >/dev/null 2>&1 || true
  cat "$d"/tokens.* | sed 's/^/grant_type=refresh_token\&refresh_token=/' >"$d/bodies"
  code="$(curl -sS -H "Authorization: $CF_BASIC" --data-binary "$(head -n1 "$d/bodies")" "$ISS/token")"
  [[ "$(jget id_token <<<"$code" | cut -d. -f1 | basenc -d --base64url 2>/dev/null || true)" == *'"ES256"'* ]] ||
    { log "$target/refresh_es256: the refreshed ID token is not ES256: $(head -c 300 <<<"$code")"; exit 1; }
  tail -n +2 "$d/bodies" >"$d/measured"
  log "$target/refresh_es256: ES256 ID token on refresh; $(wc -l <"$d/measured") refresh tokens"
  local save="$WARMUP"; WARMUP=0
  wrk_run "$target" refresh_es256 "$ISS/token" -s "$PEER/wrk-bench.lua" \
    -H "Authorization: $CF_BASIC" -H "Content-Type: application/x-www-form-urlencoded" -- POST "$d/measured" lines "$THREADS"
  WARMUP="$save"
}

# refresh_seeded_run LABEL: refresh with the refresh tokens scale.sh seeded (SEEDED_REFRESH
# of them over SEEDED_CLIENTS clients and as many users as it made, see bench/scale-seed.sql):
# each request a different token, spread over the whole table, each with its own client's
# Basic credentials, so the rows read are as cold as a real load's. Each token is used once.
refresh_seeded_run() {
  local target="$1" d="$WORK/refresh-seeded-$1" code
  mkdir -p "$d"
  python3 - "$d/lines" "$SEEDED_REFRESH" "$SEEDED_CLIENTS" $(( ${REFRESH_SEEDED_RATE:-3000} * DURATION + 1 )) <<'PY'
import base64, hashlib, sys
out, refresh, clients, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if count >= refresh:
    sys.stderr.write("only %d seeded refresh tokens; using all but some\n" % refresh)
    count = refresh - 1
with open(out, "w") as f:
    for i in range(count):
        n = 1 + (i * 104729) % refresh  # 104729 is prime: each token once
        k = 1 + (n - 1) % clients
        cid = base64.urlsafe_b64encode(hashlib.md5(("scale-client-%d" % k).encode()).digest()).decode().rstrip("=")
        basic = base64.b64encode(("%s:scale-secret-%d" % (cid, k)).encode()).decode()
        f.write("Authorization: Basic %s\tgrant_type=refresh_token&refresh_token=scale-rt-%d\n" % (basic, n))
PY
  local first; first="$(head -n1 "$d/lines")"
  code="$(curl -sS -o "$d/one.out" -w '%{http_code}' -H "${first%%$'\t'*}" --data-binary "${first#*$'\t'}" "$ISS/token")"
  if [[ "$code" != 200 || -z "$(jget refresh_token <"$d/one.out")" || -z "$(jget id_token <"$d/one.out")" ]]; then
    log "$target/refresh_seeded: a seeded token answered $code: $(head -c 400 "$d/one.out")"; exit 1
  fi
  tail -n +2 "$d/lines" >"$d/measured"
  log "$target/refresh_seeded: a seeded token refreshed; $(wc -l <"$d/measured") more to send"
  local save="$WARMUP"; WARMUP=0  # each token is good once
  wrk_run "$target" refresh_seeded "$ISS/token" -s "$here/lines.lua" \
    -H "Content-Type: application/x-www-form-urlencoded" -- POST "$d/measured" lines "$THREADS"
  WARMUP="$save"
}

# bench_surety TARGET [LABEL]: runs the chosen scenarios on TARGET (embedded or pg), recorded
# under LABEL (default TARGET). Hooks a sourcing script may define: after_start TARGET (e.g.
# fill the database and restart the server) and before_stop TARGET.
bench_surety() { # target [label]
  local target="$1" label="${2:-$1}" pid
  start_surety "$target"
  if declare -F after_start >/dev/null; then after_start "$target"; fi
  pid="$SERVER_PID"
  MEASURED_PID="$pid"
  local target="$label"
  [[ -x "$AUTHN_BIN" ]] && floor_run "$target"
  want discovery && wrk_run "$target" discovery "$ISS/.well-known/openid-configuration" -s "$PEER/wrk-bench.lua" -- GET - static "$THREADS"
  want jwks && wrk_run "$target" jwks "$ISS/jwks" -s "$PEER/wrk-bench.lua" -- GET - static "$THREADS"
  local cc_body="grant_type=client_credentials&scope=api%3Aread"
  local tok; tok="$(curl -fsS -H "Authorization: $BASIC" -d "$cc_body" "$ISS/token")"
  local at; at="$(jget access_token <<<"$tok")"
  [[ -n "$at" ]] || { log "client_credentials failed: $tok"; exit 1; }
  want client_credentials && wrk_run "$target" client_credentials "$ISS/token" -s "$PEER/wrk-bench.lua" \
    -H "Authorization: $BASIC" -H "Content-Type: application/x-www-form-urlencoded" -- POST "$cc_body" static "$THREADS"
  local ib="token=$at&token_type_hint=access_token"
  [[ "$(curl -fsS -H "Authorization: $BASIC" -d "$ib" "$ISS/introspect" | jget active)" == True ]] || { log "introspection not active"; exit 1; }
  want introspection && wrk_run "$target" introspection "$ISS/introspect" -s "$PEER/wrk-bench.lua" \
    -H "Authorization: $BASIC" -H "Content-Type: application/x-www-form-urlencoded" -- POST "$ib" static "$THREADS"
  want client_credentials_dpop && dpop_cc_run "$target" "$ISS/token" "$cc_body" -H "Authorization: $BASIC"
  if want jwt_bearer || want jwt_bearer_dpop; then
    # No client authentication: the grant's is optional on Surety, and the assertion is the credential.
    surety_partner "$target"
    want jwt_bearer && jwt_bearer_run "$target" "$ISS/token" "$PARTNER_KEY" "$PARTNER_ID" "$ACCOUNT_SID" "$ISS" --scope=read --
    want jwt_bearer_dpop && jwt_bearer_run "$target" "$ISS/token" "$PARTNER_KEY" "$PARTNER_ID" "$ACCOUNT_SID" "$ISS" \
      --scope=read --dpop-htu="$ISS/token" --
  fi
  if want code_flow || want refresh || want refresh_es256; then
    surety_login
    local tokens="$WORK/refresh-$target"
    rm -f "$tokens".*
    export CF_AUTHORIZE="$AUTHZ" CF_COOKIE="$COOKIE" CF_BASIC="$BASIC" CF_TOKENS="$tokens"
    export CF_TOKEN_BODY="grant_type=authorization_code&redirect_uri=$(urlenc "$REDIRECT")&code_verifier=$VERIFIER"
    if want code_flow; then
      wrk_run "$target" code_flow "$ISS/authorize" -s "$here/codeflow.lua"
    fi
    if want refresh; then
      local have; have="$(cat "$tokens".* 2>/dev/null | wc -l || true)"
      # Mint more refresh tokens (not measured) so the measured run never re-presents one.
      # Without the code_flow scenario before it, mint for twice as long.
      local gen="$REFRESH_GEN"; want code_flow || gen=$((REFRESH_GEN * 2))
      log "$target: minting refresh tokens for ${gen}s (have $have)"
      wrk -t"$THREADS" -c"$CONNS" -d"${gen}s" -s "$here/codeflow.lua" "$ISS/authorize" >/dev/null 2>&1 || true
      cat "$tokens".* | sed 's/^/grant_type=refresh_token\&refresh_token=/' >"$WORK/refresh-bodies-$target"
      log "$target: $(wc -l <"$WORK/refresh-bodies-$target") refresh tokens"
      local save="$WARMUP"; WARMUP=0  # each token is good once: no warm-up on the same tokens
      wrk_run "$target" refresh "$ISS/token" -s "$PEER/wrk-bench.lua" \
        -H "Authorization: $BASIC" -H "Content-Type: application/x-www-form-urlencoded" -- POST "$WORK/refresh-bodies-$target" lines "$THREADS"
      WARMUP="$save"
    fi
    want refresh_es256 && refresh_es256_run "$target"
    unset CF_AUTHORIZE CF_COOKIE CF_BASIC CF_TOKENS CF_TOKEN_BODY
  fi
  want login && login_run "$target"
  want passkey_login && passkey_login_run "$target"
  want refresh_seeded && refresh_seeded_run "$target"
  record_rss "$target" "$pid"
  MEASURED_PID=""
  if declare -F before_stop >/dev/null; then before_stop "$1"; fi
  stop_surety
  if [[ -n "$PG_DB" ]]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\"" >/dev/null 2>&1 || true; PG_DB=""
    redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_PREFIX}*" | xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true; REDIS_PREFIX=""
  fi
}

# ------------------------------------------------------------------------------------ peer
bench_peer() {
  [[ -n "$PEER" ]] || { log "no bench-peer folder found; skipping the peer"; return; }
  local pid P="http://127.0.0.1:${PEER_PORT:-3000}"
  if curl -fsS -o /dev/null "$P/.well-known/openid-configuration" 2>/dev/null; then
    log "something already answers on $P; not starting the peer"; return
  fi
  if want client_credentials_dpop || want jwt_bearer_dpop; then
    # The peer with DPoP on (features.dPoP), its jwt-bearer grant binding tokens as its own
    # grants do: a copy of its folder, patched by bench/peer-dpop.py.
    local copy="$WORK/bench-peer-dpop"
    cp -r "$PEER" "$copy"
    python3 "$here/peer-dpop.py" "$copy/oidc-provider.mjs"
    PEER="$copy"
  fi
  pid="$(bash "$PEER/start.sh" | tail -n1)"
  PEER_STARTED=1
  MEASURED_PID="$pid"
  log "peer (oidc-provider) pid $pid on $P"
  local basic_c="Basic $(printf 'bench-client:bench-secret' | base64 -w0)" basic_rs="Basic $(printf 'bench-rs:bench-rs-secret' | base64 -w0)"
  want discovery && wrk_run peer discovery "$P/.well-known/openid-configuration" -s "$PEER/wrk-bench.lua" -- GET - static "$THREADS"
  want jwks && wrk_run peer jwks "$P/jwks" -s "$PEER/wrk-bench.lua" -- GET - static "$THREADS"
  want client_credentials && wrk_run peer client_credentials "$P/token" -s "$PEER/wrk-bench.lua" \
    -H "Authorization: $basic_c" -H "Content-Type: application/x-www-form-urlencoded" \
    -- POST "grant_type=client_credentials&scope=api%3Aread&resource=https%3A%2F%2Fapi.bench.example%2Fes256" static "$THREADS"
  if want introspection; then
    local op; op="$(curl -fsS -H "Authorization: $basic_c" -d grant_type=client_credentials -d scope=api:read \
      --data-urlencode resource=https://api.bench.example/opaque "$P/token" | jget access_token)"
    wrk_run peer introspection "$P/token/introspection" -s "$PEER/wrk-bench.lua" \
      -H "Authorization: $basic_rs" -H "Content-Type: application/x-www-form-urlencoded" -- POST "token=$op&token_type_hint=access_token" static "$THREADS"
  fi
  want client_credentials_dpop && dpop_cc_run peer "$P/token" \
    "grant_type=client_credentials&scope=api%3Aread&resource=https%3A%2F%2Fapi.bench.example%2Fes256" -H "Authorization: $basic_c"
  if want jwt_bearer; then
    # The peer's partner key (made by its start.sh) and issuer; the peer authenticates bench-client.
    jwt_bearer_run peer "$P/token" "$PEER_STATE_DIR/partner-private.jwk.json" https://partner.bench.example user-0 "$P" \
      --scope=api:read --resource=https://api.bench.example/es256 -- -H "Authorization: $basic_c"
  fi
  if want jwt_bearer_dpop; then
    jwt_bearer_run peer "$P/token" "$PEER_STATE_DIR/partner-private.jwk.json" https://partner.bench.example user-0 "$P" \
      --scope=api:read --resource=https://api.bench.example/es256 --dpop-htu="$P/token" -- -H "Authorization: $basic_c"
  fi
  record_rss peer "$pid"
  MEASURED_PID=""
  bash "$PEER/stop.sh" >/dev/null 2>&1 || true
  PEER_STARTED=""
}

# ------------------------------------------------------------------------------------- run
busy() { pgrep -x 'cargo|rustc' 2>/dev/null | wc -l; }
quiet_wait() {
  if [[ "$QUIET_WAIT" != 0 ]]; then
    waited=0
    while [[ "$(busy)" != 0 && $waited -lt $QUIET_WAIT ]]; do
      [[ $waited == 0 ]] && log "waiting for other compilations to finish (up to ${QUIET_WAIT}s): $(pgrep -ax 'cargo|rustc' | cut -c1-100 | tr '\n' ';')"
      sleep 30; waited=$((waited + 30))
    done
    [[ "$(busy)" != 0 ]] && log "still $(busy) cargo/rustc processes after ${QUIET_WAIT}s; measuring anyway (noisy)"
  fi
}
record_meta() {
  log "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), load $(cut -d' ' -f1-3 /proc/loadavg)"
  log "wrk -t$THREADS -c$CONNS, ${WARMUP}s warm-up + ${DURATION}s per scenario; targets: $TARGETS"
  {
    echo "{\"_meta\":true,\"date\":\"$(date -u +%FT%TZ)\",\"cpus\":$(nproc),\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"compilers_at_start\":$(busy),\"threads\":$THREADS,\"conns\":$CONNS,\"warmup\":$WARMUP,\"duration\":$DURATION,\"surety\":\"$("$BIN" --version 2>/dev/null || echo '?')\",\"wrk\":\"$(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)\"}"
  } >>"$RAW"
}
main() {
  quiet_wait
  record_meta
  for t in $TARGETS; do
    echo "{\"target\":\"$t\",\"scenario\":\"_start\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"compilers\":$(busy),\"at\":\"$(date -u +%T)\"}" >>"$RAW"
    log "$t: load $(cut -d' ' -f1-3 /proc/loadavg), $(busy) cargo/rustc processes"
    case "$t" in
      embedded|pg) bench_surety "$t" ;;
      peer) bench_peer ;;
      *) log "unknown target $t" ;;
    esac
  done
  python3 "$here/report.py" "$RAW" >"$OUT/results.md"
  cat "$OUT/results.md"
}
# bench/scale.sh sources this file for its functions.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main; fi
