#!/usr/bin/env bash
# The reference resource API's token check under load (issue: developer consent):
# GET  /api/v1/Accounts/{sid}/Messages  — JWT validation + revocation check + tenancy + permission
# POST /api/v1/Accounts/{sid}/Messages  — the same plus the usage count (one metered call, rolled
#                                         up to ancestors, exact under concurrency) and a stored record
# on the embedded default (SQLite + in-process cache). wrk -t1 -c32, 3 s warm-up, 10 s measured.
#
#   cargo build --release && bash bench/resource.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
BIN="${SURETY_BIN:-$root/target/release/surety}"
DURATION="${BENCH_DURATION:-10}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
admin="bench-admin-$(openssl rand -hex 8)"
SURETY_DATA_DIR="$work/data" SURETY_LISTEN="127.0.0.1:$port" SURETY_ADMIN_TOKEN="$admin" RUST_LOG=warn \
  "$BIN" serve > "$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

node "$here/assertions.mjs" keygen "$work/priv.json" "$work/pub.json" --kid=bench-1 >/dev/null
pid_partner="$(curl -sf -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
  -d "{\"name\":\"Bench\",\"jwks\":{\"keys\":[$(cat "$work/pub.json")]}}" "$base/admin/partners" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partner_id"])')"
sid="$(curl -sf -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
  -d '{"friendly_name":"Bench"}' "$base/admin/partners/$pid_partner/accounts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["account_sid"])')"
node "$here/assertions.mjs" bodies 1 "$work/a.txt" --key="$work/priv.json" --iss="$pid_partner" --sub="$sid" \
  --aud="$base" --scope="read messages:send numbers:manage" >/dev/null
token="$(curl -sf -d @"$work/a.txt" "$base/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
curl -sf -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"phone_number":"+14155550100"}' "$base/api/v1/Accounts/$sid/IncomingPhoneNumbers" >/dev/null
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"to":"+14155550199","from":"+14155550100","body":"hello"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
run() { # name, extra wrk args...
  local name="$1"; shift
  wrk -t1 -c32 -d3s "$@" >/dev/null 2>&1 || true
  local cpu0; cpu0="$(awk '{print $14+$15}' /proc/$pid/stat)"
  local outp; outp="$(wrk -t1 -c32 -d"${DURATION}s" --latency "$@")"
  local cpu1; cpu1="$(awk '{print $14+$15}' /proc/$pid/stat)"
  local rps; rps="$(awk '/Requests\/sec/ {print $2}' <<<"$outp")"
  local p99; p99="$(awk '$1=="99%" {print $2}' <<<"$outp")"
  local n; n="$(awk '/requests in/ {print $1}' <<<"$outp")"
  local non2xx; non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$outp")"
  local tick; tick="$(getconf CLK_TCK)"
  local cpums; cpums="$(python3 -c "print(round(($cpu1-$cpu0)*1000/$tick/max(1,$n),3))")"
  printf '| %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p99" "$cpums" "${non2xx:-0}"
}
echo "| scenario | req/s | p99 | server CPU ms/request | non-2xx |"
echo "| --- | ---: | ---: | ---: | ---: |"
run "GET Messages (token check: JWT + revocation + tenancy + \`read\`)" -H "Authorization: Bearer $token" "$base/api/v1/Accounts/$sid/Messages"
run "POST Messages (token check + \`messages:send\` + usage count + record)" -s "$work/post.lua" "$base/api/v1/Accounts/$sid/Messages"
echo
echo "server RSS after the load: $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$pid/status)"
