#!/usr/bin/env bash
# Connection-flood fault script (issue 10, item 2): Surety under `ulimit -n 1024`
# (systemd's default), 1,100 idle sockets from 127.0.0.1, then /healthz and a
# client_credentials /token from 127.0.0.2 must answer within 2 s; sockets past the
# per-address cap must read a 503. Also: a half-sent header is closed within the
# header timeout.
#
#   SURETY_BIN=target/debug/surety bash bench/flood.sh
#
# Exit status: 0 if it held, 1 if not, 2 on a setup problem.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${SURETY_BIN:-$root/target/debug/surety}"
[[ -x "$bin" ]] || { echo "no binary at $bin (cargo build, or set SURETY_BIN)" >&2; exit 2; }
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
data="$(mktemp -d /tmp/surety-flood.XXXXXX)"
token="flood-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
(
  ulimit -n 1024
  SURETY_DATA_DIR="$data" SURETY_LISTEN="127.0.0.1:$port" SURETY_ADMIN_TOKEN="$token" \
    RUST_LOG="${RUST_LOG:-warn}" exec "$bin" serve
) >"$data/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
PORT="$port" TOKEN="$token" python3 - <<'PY'
import json, os, socket, sys, time, urllib.request, base64
port, token = int(os.environ["PORT"]), os.environ["TOKEN"]
base = f"http://127.0.0.1:{port}"
req = urllib.request.Request(base + "/admin/clients", method="POST",
    data=json.dumps({"grant_types": ["client_credentials"], "scope": "read"}).encode(),
    headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
client = json.load(urllib.request.urlopen(req))
flood = []
for _ in range(1100):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.connect(("127.0.0.1", port)); flood.append(s)
time.sleep(0.5)

def timed(path, body=None, headers=None):
    s = socket.socket(); s.settimeout(5); s.bind(("127.0.0.2", 0)); s.connect(("127.0.0.1", port))
    head = f"{'POST' if body else 'GET'} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    for k, v in (headers or {}).items(): head += f"{k}: {v}\r\n"
    if body: head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
    t = time.monotonic(); s.sendall((head + "\r\n" + (body or "")).encode())
    got = b""
    while chunk := s.recv(65536): got += chunk
    return time.monotonic() - t, got.split(b"\r\n", 1)[0].decode()

ok = True
t, status = timed("/healthz")
print(f"/healthz from 127.0.0.2 during the flood: {status} in {t*1000:.0f} ms"); ok &= status.endswith("200 OK") and t < 2
basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
t, status = timed("/token", "grant_type=client_credentials", {"Authorization": f"Basic {basic}"})
print(f"/token from 127.0.0.2 during the flood: {status} in {t*1000:.0f} ms"); ok &= status.endswith("200 OK") and t < 2
last = flood[-1]; last.settimeout(5)
try:
    last.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); first = last.recv(64).split(b"\r\n")[0].decode()
except OSError as e:
    first = f"closed ({e.__class__.__name__})"
print(f"the 1,100th flood socket reads: {first}"); ok &= first.startswith("HTTP/1.1 503")
for s in flood: s.close()
slow = socket.socket(); slow.settimeout(30); slow.connect(("127.0.0.1", port)); slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
t = time.monotonic(); slow.recv(1); t = time.monotonic() - t
print(f"a half-sent header is closed after {t:.1f} s (SURETY_HEADER_TIMEOUT default 10 s)"); ok &= t < 12
sys.exit(0 if ok else 1)
PY
