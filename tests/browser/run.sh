#!/usr/bin/env bash
# Headless-Chromium check of the embeddable account portal (see README.md here).
#
#   bash tests/browser/run.sh
#
# Installs what it needs: Debian's chromium (apt-get, as root) when /usr/bin/chromium is
# missing, playwright-core (pinned in package-lock.json) into tests/browser/node_modules,
# and builds target/debug/surety with `cargo build` unless SURETY_BIN names a binary.
# Env: SURETY_BIN, CHROMIUM, SURETY_HOST / PARTNER_HOST, KEEP_DATA=1 (see portal.mjs).
# Exit status: 0 if every check passed, 1 if one failed, 2 on a setup problem.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 2; }
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2
  else
    echo "no Chromium at $chromium: install Debian's chromium (apt-get install chromium) or set CHROMIUM" >&2
    exit 2
  fi
fi
if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
if [[ -z "${SURETY_BIN:-}" ]]; then
  (cd "$root" && cargo build --quiet) >&2
  export SURETY_BIN="$root/target/debug/surety"
fi
[[ -x "$SURETY_BIN" ]] || { echo "no Surety binary at $SURETY_BIN" >&2; exit 2; }

exec node "$here/portal.mjs"
