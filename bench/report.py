#!/usr/bin/env python3
"""Turns bench/out/raw.jsonl (one JSON object per wrk run) into the Markdown results table."""
import json
import sys

TARGETS = [("embedded", "Surety embedded"), ("pg", "Surety PG+Redis"), ("peer", "peer (oidc-provider)")]
SCENARIOS = [
    ("discovery", "discovery `GET /.well-known/openid-configuration`"),
    ("jwks", "JWKS `GET /jwks`"),
    ("client_credentials", "client_credentials, Basic auth, ES256 JWT access token"),
    ("introspection", "introspection of an access token"),
    ("client_credentials_dpop", "client_credentials with a fresh DPoP proof per request (RFC 9449)"),
    ("jwt_bearer", "jwt-bearer (RFC 7523), a fresh assertion per request"),
    ("jwt_bearer_dpop", "jwt-bearer with a fresh assertion and DPoP proof per request"),
    ("code_flow", "code flow with a session: `GET /authorize` → code → `POST /token`"),
    ("refresh", "refresh (rotation; each token used once)"),
    ("refresh_es256", "refresh, a client with ES256 ID tokens"),
    ("refresh_seeded", "refresh of seeded tokens (bench/scale.sh)"),
    ("login", "password login `POST /login` (argon2id)"),
    ("login_ceiling", "ceiling: argon2id verifications in-process, every core (server idle)"),
    ("passkey_login", "passkey sign-in: login page + `POST /login/passkey`"),
    ("passkey_login_ceiling", "ceiling: WebAuthn assertion checks in-process (webauthn-rs), every core"),
]
# The signature operations each flow cannot avoid (per request; code_flow per flow).
FLOORS = {
    "client_credentials": ["es256_sign"],
    "introspection": ["es256_verify"],
    "client_credentials_dpop": ["es256_verify", "es256_sign"],
    "jwt_bearer": ["es256_verify", "es256_sign"],
    "jwt_bearer_dpop": ["es256_verify", "es256_verify", "es256_sign"],
    "code_flow": ["rs256_sign", "es256_sign"],
    "refresh": ["rs256_sign", "es256_sign"],
    "refresh_seeded": ["rs256_sign", "es256_sign"],
    "refresh_es256": ["es256_sign", "es256_sign"],
}
CEILINGS = [("login", "password logins"), ("passkey_login", "passkey sign-ins")]

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
meta = next((r for r in rows if r.get("_meta")), {})
res = {(r["target"], r["scenario"]): r for r in rows if not r.get("_meta")}
present = [t for t in TARGETS if any(k[0] == t[0] for k in res)]


def fmt_rps(r):
    if r is None:
        return "—"
    if r.get("failed_run"):
        return "run failed"
    return f"{r['rps']:,.0f}"


def cell(r, scenario):
    if r is None:
        return "—", "—"
    v = fmt_rps(r)
    if scenario == "code_flow" and "flows_per_s" in r:
        v = f"{r['flows_per_s']:,.0f} flows/s ({r['rps']:,.0f} req/s)"
    return v, f"{r.get('p99_ms', 0):.2f}"


out = []
out.append(f"# Benchmark results — {meta.get('date', '?')}\n")
out.append(f"Machine: {meta.get('cpus', '?')} CPUs ({meta.get('cpu', '?')}), load at start {meta.get('load', '?')}; "
           f"server and wrk share the CPUs. wrk `-t{meta.get('threads')} -c{meta.get('conns')}`, "
           f"{meta.get('warmup')} s warm-up (discarded) + {meta.get('duration')} s measured per scenario. "
           f"{meta.get('surety', '')}; {meta.get('wrk', '')}.\n")
starts = [(name, res.get((t, "_start"))) for t, name in present]
if any(s for _, s in starts):
    out.append("Load average (1/5/15 min) and cargo/rustc processes when each target started: " + "; ".join(
        f"{name} {s['at']} UTC: {s['load']}, {s['compilers']}" for name, s in starts if s) + ".\n")
head = "| scenario |"
sep = "| --- |"
for _, name in present:
    head += f" {name} req/s | p99 ms |"
    sep += " ---: | ---: |"
ratio_targets = [t for t in ("embedded", "pg") if t in dict(present)] if "peer" in dict(present) else []
for t in ratio_targets:
    head += f" {dict(TARGETS)[t].replace('Surety ', '')} ÷ peer |"
    sep += " ---: |"
out.append(head)
out.append(sep)
notes = []
for key, label in SCENARIOS:
    if not any((t, key) in res for t, _ in present):
        continue
    line = f"| {label} |"
    for t, _ in present:
        v, p = cell(res.get((t, key)), key)
        line += f" {v} | {p} |"
    for t in ratio_targets:
        a, b = res.get((t, key)), res.get(("peer", key))
        line += f" {a['rps'] / b['rps']:.1f}× |" if a and b and b.get("rps") and not a.get("failed_run") else " — |"
    out.append(line)
    for t, name in present:
        r = res.get((t, key))
        if not r:
            continue
        sock = sum(r.get(k, 0) for k in ("err_connect", "err_read", "err_write", "err_timeout"))
        bad = []
        if r.get("err_status"):
            bad.append(f"{r['err_status']} responses with status ≥ 400")
        if sock:
            bad.append(f"{sock} socket errors/timeouts")
        if r.get("wrapped"):
            bad.append(f"{r['wrapped']} times a body was sent a second time (ran out of single-use refresh tokens / assertions)")
        if r.get("failures"):
            bad.append(f"{r['failures']} failed steps (last: {r.get('last_failure', '')})")
        if bad:
            notes.append(f"- {name}, {key}: " + "; ".join(bad))

out.append("")
if any("server_cpu_s" in r for r in res.values()):
    out.append("Server CPU over each measured run (user + system time of the server process, all threads; "
               "PostgreSQL and Redis not included): ms of CPU per request, and cores busy on average.\n")
    h, sp = "| scenario |", "| --- |"
    for _, name in present:
        h += f" {name} ms/req | cores |"
        sp += " ---: | ---: |"
    out.append(h)
    out.append(sp)
    for key, label in SCENARIOS:
        if not any((t, key) in res for t, _ in present):
            continue
        line = f"| {key} |"
        for t, _ in present:
            r = res.get((t, key)) or {}
            if "server_cpu_ms_per_req" in r:
                line += f" {r['server_cpu_ms_per_req']:.3f} | {r['server_cores']:.2f} |"
            else:
                line += " — | — |"
        out.append(line)
    out.append("")
floor_lines = []
for t, name in present:
    fl = res.get((t, "_floor"))
    http = (res.get((t, "discovery")) or {}).get("server_cpu_ms_per_req")
    if not fl:
        continue
    ops = fl["ops_ms"]
    for key, label in SCENARIOS:
        r = res.get((t, key))
        if key not in FLOORS or not r or "server_cpu_s" not in r:
            continue
        per = 2 if key == "code_flow" else 1
        count = r.get("flows") if key == "code_flow" else r.get("requests")
        if not count:
            continue
        cpu = 1000 * r["server_cpu_s"] / count
        crypto = sum(ops[o] for o in FLOORS[key])
        floor = crypto + (per * http if http else 0)
        what = " + ".join(FLOORS[key])
        floor_lines.append(f"| {name} | {key}{' (per flow)' if per == 2 else ''} | {cpu:.3f} | {what} = {crypto:.3f} | "
                           + (f"{per * http:.3f} | {floor:.3f} | {cpu / floor:.2f}× |" if http else "— | — | — |"))
if floor_lines:
    fl_any = next(res[(t, "_floor")] for t, _ in present if (t, "_floor") in res)
    out.append("Each flow next to its floor, measured in the same run: the signatures it cannot avoid (one thread of "
               "`bench_driver floor` with the server's own `keys::jws`, the server idle: "
               + ", ".join(f"{k} {v:.3f} ms" for k, v in fl_any["ops_ms"].items())
               + ") and a bare HTTP exchange (the server's CPU per request in the discovery scenario of the run).\n")
    out.append("| server | flow | server CPU ms/req | signatures ms | HTTP ms | floor ms | ÷ floor |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    out.extend(floor_lines)
    out.append("")
ceil_lines = []
for key, what in CEILINGS:
    for t, name in present:
        a, c = res.get((t, key)), res.get((t, key + "_ceiling"))
        if a and c and c.get("rps") and not a.get("failed_run"):
            ceil_lines.append(f"| {name} | {what} | {a['rps']:,.1f} | {c['rps']:,.1f} | {100 * a['rps'] / c['rps']:.0f} % |")
if ceil_lines:
    out.append("Sign-ins next to their crypto ceiling, measured in the same run (the ceiling: the check alone, "
               "in the driver's process on every core while the server idles):\n")
    out.append("| server | sign-ins | per second | ceiling per second | share of the ceiling |")
    out.append("| --- | --- | ---: | ---: | ---: |")
    out.extend(ceil_lines)
    out.append("")
rss = {t: res.get((t, "_rss")) for t, _ in present}
out.append("| server | RSS after the load (MiB) | peak RSS (MiB) |")
out.append("| --- | ---: | ---: |")
for t, name in present:
    r = rss.get(t)
    if r:
        out.append(f"| {name} | {r['rss_kb'] / 1024:.1f} | {r['hwm_kb'] / 1024:.1f} |")
if rss.get("peer"):
    for t in ("embedded", "pg"):
        if rss.get(t):
            out.append(f"\n{dict(TARGETS)[t]} uses {rss[t]['rss_kb'] / rss['peer']['rss_kb']:.2f}× the peer's RSS after the load "
                       f"({rss['peer']['rss_kb'] / rss[t]['rss_kb']:.1f}× less).")
out.append("")
if notes:
    out.append("Errors seen during the measured runs:\n")
    out.extend(notes)
else:
    out.append("No errors: every measured request got a 2xx/3xx answer, no socket errors, no refresh token or assertion reused.")
print("\n".join(out))
