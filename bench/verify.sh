#!/usr/bin/env bash
# Match + question generation under load with 1,000,000 entity records loaded (issue 5:
# "match + question generation p99 under 20 ms with 1M records loaded").
#
# Each request is POST /verify/v1/verifications with a different person's basic identifying
# information (name, street, postal code, phone, as a relying party would type them, taken
# from the generated file), so every request normalizes, looks candidates up on the indexes,
# scores them, draws questions with their distractors and stores the verification.
#
#   cargo build --release && bash bench/verify.sh
#
# Environment:
#   BENCH_PG_URL       PostgreSQL server (postgres://postgres@127.0.0.1:5432)
#   BENCH_ENTITIES     the generated file (/tmp/ent.jsonl; generated with --seed 1 if missing)
#   BENCH_COUNT        records to generate when the file is missing (1000000)
#   BENCH_KEEP_DB=1    keep (and reuse) the loaded database surety_bench_verify between runs
#   BENCH_DURATION     seconds measured per concurrency level (15)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
BIN="${SURETY_BIN:-$root/target/release/surety}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
FILE="${BENCH_ENTITIES:-/tmp/ent.jsonl}"
COUNT="${BENCH_COUNT:-1000000}"
DURATION="${BENCH_DURATION:-15}"
DB=surety_bench_verify
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
[[ -x "$BIN" ]] || { echo "no release build at $BIN: cargo build --release" >&2; exit 2; }
log() { echo "[verify-bench] $*" >&2; }

work="$(mktemp -d)"
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  [[ "${BENCH_KEEP_DB:-}" == 1 ]] || psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if [[ ! -s "$FILE" ]]; then
  log "generating $COUNT records into $FILE"
  "$BIN" entities generate --count "$COUNT" --seed 1 --out "$FILE"
fi
export SURETY_DATABASE_URL="$PG_URL/$DB" SURETY_DATA_DIR="$work/data"
export SURETY_KEY_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
loaded="$(psql "$PG_URL/$DB" -tAc "SELECT count(*) FROM entities" 2>/dev/null || echo 0)"
if [[ "${BENCH_KEEP_DB:-}" != 1 || "$loaded" -lt "$COUNT" ]]; then
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null
  psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >/dev/null
  "$BIN" migrate >/dev/null
  log "importing $FILE"
  start=$(date +%s.%N)
  "$BIN" entities import "$FILE" >"$work/import.log" 2>&1
  log "imported in $(python3 -c "print(round($(date +%s.%N)-$start,1))") s"
else
  # A kept database: the key ring is sealed under the previous run's KEK, start it afresh.
  psql "$PG_URL/$DB" -qc "DELETE FROM signing_keys" >/dev/null 2>&1 || true
fi
entities="$(psql "$PG_URL/$DB" -tAc "SELECT count(*) FROM entities")"
log "$entities entities loaded"

# 20,000 people's identifying information as typed (every 40th person of the file).
python3 - "$FILE" "$work/bodies.txt" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
n = 0
with open(src) as f, open(dst, "w") as out:
    for i, line in enumerate(f):
        if i % 40 or '"kind":"person"' not in line:
            continue
        r = json.loads(line)
        body = {"name": r["name"], "street": r["street"], "postal": r["postal"]}
        if r.get("phone"):
            body["phone"] = r["phone"]
        out.write(json.dumps(body, separators=(",", ":")) + "\n")
        n += 1
        if n == 20000:
            break
PY

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
admin="bench-admin-$(openssl rand -hex 8)"
SURETY_LISTEN="127.0.0.1:$port" SURETY_ADMIN_TOKEN="$admin" RUST_LOG=warn \
  SURETY_VERIFY_MAX_ATTEMPTS=1000000 SURETY_VERIFY_START_RATE=0 "$BIN" serve >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

client="$(curl -sf -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
  -d '{"client_name":"Bench RP","grant_types":["client_credentials"],"scope":"verify"}' "$base/admin/clients")"
cid="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$client")"
csec="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$client")"
token="$(curl -sf -u "$cid:$csec" -d 'grant_type=client_credentials&scope=verify' "$base/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

# One sample request, to show what the load is made of (tiers, not the questions).
head -n 200 "$work/bodies.txt" | while read -r b; do
  curl -s -H "Authorization: Bearer $token" -H 'content-type: application/json' -d "$b" \
    "$base/verify/v1/verifications" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v.get("tier"), v.get("step"))'
done | sort | uniq -c | sed 's/^/[verify-bench] sample of 200: /' >&2

cat >"$work/verify.lua" <<LUA
local bodies = {}
for line in io.lines("$work/bodies.txt") do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
function setup(thread) thread:set("offset", math.random(#bodies)) end
request = function()
  i = i + 1
  return wrk.format(nil, "/verify/v1/verifications", nil, bodies[((i + offset) % #bodies) + 1])
end
LUA

run() { # concurrency
  wrk -t1 -c"$1" -d3s -s "$work/verify.lua" "$base" >/dev/null 2>&1 || true
  local cpu0 cpu1 outp n tick
  cpu0="$(awk '{print $14+$15}' /proc/$pid/stat)"
  outp="$(wrk -t1 -c"$1" -d"${DURATION}s" --latency -s "$work/verify.lua" "$base")"
  cpu1="$(awk '{print $14+$15}' /proc/$pid/stat)"
  n="$(awk '/requests in/ {print $1}' <<<"$outp")"
  tick="$(getconf CLK_TCK)"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$outp")" \
    "$(awk '$1=="50%" {print $2}' <<<"$outp")" "$(awk '$1=="99%" {print $2}' <<<"$outp")" \
    "$(python3 -c "print(round(($cpu1-$cpu0)*1000/$tick/max(1,$n),3))")" \
    "$(awk '/Non-2xx/ {print $5}' <<<"$outp" | grep . || echo 0)" "$n"
}
echo "entities loaded: $entities"
echo
echo "| connections | req/s | p50 | p99 | server CPU ms/request | non-2xx | requests |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
run 1
run 4
run 16
echo
echo "server RSS after the load: $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$pid/status)"
echo "PostgreSQL CPU is not in the server CPU column (it runs on the same 2 cores)."
