#!/usr/bin/env bash
# Black-box OpenID Connect conformance run of Surety by panva's openid-client (a certified
# third-party RP library). Builds nothing: give it a binary with SURETY_BIN.
#
#   SURETY_BIN=target/release/surety conformance/run.sh
#
# Env:
#   SURETY_BIN     server binary (default: target/release/surety, else target/debug/surety)
#   PORT           port to listen on (default: a free one)
#   KEEP_DATA=1    keep the temporary data dir and server log
#   VERBOSE=1      print stack traces of failed checks
#   SURETY_DATABASE_URL / SURETY_REDIS_URL / SURETY_KEY_ENCRYPTION_KEY are passed through,
#   so the same checks can run against PostgreSQL + Redis.
# Exit status: 0 if every check passed, 1 if one failed, 2 on a setup problem.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

bin="${SURETY_BIN:-}"
if [[ -z "$bin" ]]; then
  for c in "$root/target/release/surety" "$root/target/debug/surety"; do
    [[ -x "$c" ]] && { bin="$c"; break; }
  done
fi
[[ -n "$bin" && -x "$bin" ]] || { echo "no Surety binary: build it (cargo build --release) or set SURETY_BIN" >&2; exit 2; }
command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 2; }

# The RP library, pinned in package-lock.json.
if [[ ! -d "$here/node_modules/openid-client" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="${PORT:-$(free_port)}"
data="$(mktemp -d /tmp/surety-conformance.XXXXXX)"
admin_token="conf-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
log="$data/server.log"
pid=""

cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  if [[ "${KEEP_DATA:-}" == 1 ]]; then echo "data dir and log kept in $data" >&2; else rm -rf "$data"; fi
}
trap cleanup EXIT

echo "starting $bin on 127.0.0.1:$port (data $data)" >&2
SURETY_DATA_DIR="$data" SURETY_LISTEN="127.0.0.1:$port" SURETY_ADMIN_TOKEN="$admin_token" \
SURETY_REGISTRATION=token \
RUST_LOG="${RUST_LOG:-warn}" \
  "$bin" serve >"$log" 2>&1 &
pid=$!

for _ in $(seq 100); do
  if curl -fsS "http://127.0.0.1:$port/.well-known/openid-configuration" >/dev/null 2>&1; then break; fi
  kill -0 "$pid" 2>/dev/null || { echo "server exited:" >&2; cat "$log" >&2; exit 2; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/.well-known/openid-configuration" >/dev/null || { echo "server did not come up:" >&2; cat "$log" >&2; exit 2; }

version="$(node -p "require('$here/node_modules/openid-client/package.json').version")"
status=0
ISSUER="http://127.0.0.1:$port" ADMIN_TOKEN="$admin_token" OPENID_CLIENT_VERSION="$version" \
  RESULTS_MD="${RESULTS_MD:-}" node "$here/rp.mjs" || status=$?

if [[ $status -ne 0 ]]; then
  echo "--- server log (last 40 lines) ---" >&2
  tail -n 40 "$log" >&2 || true
fi
exit "$status"
