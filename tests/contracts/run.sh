#!/usr/bin/env bash
# Contract check: every OpenAPI document
# the server serves must describe what it does. Starts the server on a free port with a
# temporary data directory and an admin token, then runs a bounded, seeded schemathesis
# run (every check, 10 examples per operation, seed 1) against each of the seven
# documents.
#
#   bash tests/contracts/run.sh              # all seven documents
#   bash tests/contracts/run.sh admin api/v1 # only these (the prefix before /openapi.json)
#
# Builds nothing: SURETY_BIN names the binary (default target/debug/surety, or under
# $CARGO_TARGET_DIR). SCHEMATHESIS names a schemathesis 4.32.5 executable; without it,
# one is installed with pip into a venv under ~/.cache (or $XDG_CACHE_HOME).
#
# Credentials: the admin document is run with the admin token. The others are run
# unauthenticated (setting up a partner, a developer account and a verify client is not
# done here yet), so they check that every operation answers its documented 401 and
# that the documents accept what the edge accepts; their 2xx paths are not exercised.
#
# NUL is never generated (--generation-allow-x00 false): the edge refuses a NUL in any
# string of any request (src/web/hostile.rs), which the documents state as a pattern on
# every named string but cannot state inside free-form objects (jwks, branding, answers).
#
# Key material cannot be stated in a schema (no pattern says "a point on P-256"):
# hooks.py narrows, in the test's copy of each document only, every `jwks` and the
# partner key body to one real public key; every other field is still generated.
#
# Run by .ci/run after the test suite (about a minute for the seven documents).
#
# No check is excluded. Exit status: 0 if every document passed, 1 if one failed (every
# document is run even after a failure), 2 on a setup problem (no binary, no pip).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version=4.32.5

bin="${SURETY_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/surety}"
[[ -x "$bin" ]] || { echo "no Surety binary at $bin (build it, or set SURETY_BIN)" >&2; exit 2; }

st="${SCHEMATHESIS:-}"
if [[ -z "$st" ]]; then
  venv="${XDG_CACHE_HOME:-$HOME/.cache}/surety-schemathesis-$version"
  st="$venv/bin/schemathesis"
  if [[ ! -x "$st" ]]; then
    rm -rf "$venv"
    { python3 -m venv "$venv" &&
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$version"; } >&2 ||
      { echo "could not install schemathesis $version with pip" >&2; rm -rf "$venv"; exit 2; }
  fi
fi
[[ -x "$st" ]] || { echo "no schemathesis at $st" >&2; exit 2; }

docs=("$@")
[[ ${#docs[@]} -gt 0 ]] ||
  docs=(admin partner/v1 api/v1 developer/v1 verify/v1 verify/v1/promotions verify/v1/agents)

data="$(mktemp -d)"
work="$(mktemp -d)"
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$data" "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="st-contract-admin-token-$RANDOM$RANDOM"
base="http://127.0.0.1:$port"
SURETY_DATA_DIR="$data" SURETY_LISTEN="127.0.0.1:$port" SURETY_ADMIN_TOKEN="$token" \
  RUST_LOG="${RUST_LOG:-error}" "$bin" serve >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$base/admin/openapi.json" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { echo "the server exited:" >&2; cat "$work/server.log" >&2; exit 2; }
  sleep 0.2
done
curl -fsS -o /dev/null "$base/admin/openapi.json" ||
  { echo "the server did not answer on $base" >&2; cat "$work/server.log" >&2; exit 2; }

status=0
failed=()
for d in "${docs[@]}"; do
  auth=()
  [[ $d == admin ]] && auth=(-H "Authorization: Bearer $token")
  echo "# schemathesis: /$d/openapi.json"
  if ! SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" "$st" run "$base/$d/openapi.json" "${auth[@]}" \
    --checks all --max-examples 10 --seed 1 --no-color --generation-allow-x00 false; then
    status=1
    failed+=("$d")
  fi
done
if [[ $status != 0 ]]; then
  echo "# contract tests: FAILED for ${failed[*]}" >&2
else
  echo "# contract tests: all passed"
fi
exit "$status"
