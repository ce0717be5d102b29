#!/usr/bin/env bash
# Headless-Chromium checks (see README.md here): the embeddable account portal
# (portal.mjs), the consent page for a developer's app (consent.mjs), then the
# verified-entity challenge inside an OpenID Connect login (challenge.mjs), then passkeys
# and one-time codes with a virtual WebAuthn authenticator (passkeys.mjs).
#
#   bash tests/browser/run.sh                # all four
#   bash tests/browser/run.sh consent        # only the named ones (portal, consent, challenge, passkeys)
#
# Installs what it needs: Debian's chromium (apt-get, as root) when /usr/bin/chromium is
# missing, playwright-core (pinned in package-lock.json) into tests/browser/node_modules,
# and builds target/debug/surety with `cargo build` unless SURETY_BIN names a binary.
# Env: SURETY_BIN, CHROMIUM, SURETY_HOST / PARTNER_HOST, KEEP_DATA=1 (see the scripts).
# Exit status: 0 if every check of every script passed, 1 if one failed (each script runs
# even when an earlier one failed), 2 on a setup problem.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

scripts=("$@")
[[ ${#scripts[@]} -gt 0 ]] || scripts=(portal consent challenge passkeys)
for s in "${scripts[@]}"; do
  [[ -f "$here/$s.mjs" ]] || { echo "no browser test $s.mjs in $here" >&2; exit 2; }
done

command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 2; }
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 ||
      { echo "could not install chromium with apt-get" >&2; exit 2; }
  else
    echo "no Chromium at $chromium: install Debian's chromium (apt-get install chromium) or set CHROMIUM" >&2
    exit 2
  fi
fi
if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
    { echo "could not install playwright-core (npm ci)" >&2; exit 2; }
fi
if [[ -z "${SURETY_BIN:-}" ]]; then
  (cd "$root" && cargo build --quiet) >&2
  export SURETY_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/surety"
fi
[[ -x "$SURETY_BIN" ]] || { echo "no Surety binary at $SURETY_BIN" >&2; exit 2; }

status=0
for s in "${scripts[@]}"; do
  echo "# $s.mjs"
  node "$here/$s.mjs" || status=1
done
if [[ $status != 0 ]]; then echo "# browser tests: FAILED" >&2; else echo "# browser tests: all passed"; fi
exit "$status"
