#!/usr/bin/env python3
"""Turns bench/scale.sh's raw.jsonl into Markdown: each scenario on the small and on the large
database (req/s, server CPU per request, p99, the ratio), the seeding, and the upkeep passes."""
import json
import sys

SCENARIOS = [
    ("introspection", "introspection of an access token"),
    ("code_flow", "code flow with a session (flows/s; 2 requests each)"),
    ("refresh", "refresh, tokens minted by the code flow"),
    ("refresh_seeded", "refresh, seeded tokens spread over the table, each its own client"),
    ("login", "password login `POST /login` (argon2id)"),
    ("client_credentials", "client_credentials"),
    ("jwt_bearer", "jwt-bearer"),
]
AIM = 0.90

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
meta = next((r for r in rows if r.get("_meta")), {})
res = {}
for r in rows:
    if not r.get("_meta"):
        res.setdefault((r["target"], r["scenario"]), []).append(r)
one = {k: v[-1] for k, v in res.items()}
phases = [t for t in ("pg-small", "pg-scale") if any(k[0] == t for k in one)]


def rate(r, scenario):
    if r is None or r.get("failed_run"):
        return None
    return r["flows_per_s"] if scenario == "code_flow" and "flows_per_s" in r else r["rps"]


def rows_of(p):
    s = one.get((p, "_seed"))
    return s["rows"] if s else {}


out = [f"# Scale benchmark — {meta.get('date', '?')}\n"]
out.append(f"Machine: {meta.get('cpus', '?')} CPUs ({meta.get('cpu', '?')}); server, PostgreSQL, Redis and wrk share them. "
           f"wrk `-t{meta.get('threads')} -c{meta.get('conns')}`, {meta.get('warmup')} s warm-up + "
           f"{meta.get('duration')} s measured. {meta.get('surety', '')}; {meta.get('wrk', '')}.\n")
out.append("| database | users | clients | grants | refresh tokens | consents | sessions | revoked jtis | size | seeded in | server restart |")
out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for p in phases:
    n = rows_of(p)
    rs = one.get((p, "_restart"), {})
    seed = one.get((p, "_seed"), {})
    out.append(f"| {p} | {n.get('users', 0):,} | {n.get('clients', 0):,} | {n.get('grants', 0):,} | {n.get('refresh_tokens', 0):,} | "
               f"{n.get('consents', 0):,} | {n.get('browser_sessions', 0):,} | {n.get('revoked_jtis', 0):,} | "
               f"{n.get('db_bytes', 0) / 2**20:,.0f} MiB | {seed.get('seconds', '?')} s | {rs.get('seconds', '?')} s |")
starts = [(p, one.get((p, "_start"))) for p in phases]
out.append("\nLoad average and cargo/rustc processes as each phase started: " + "; ".join(
    f"{p} {s['at']} UTC: {s['load']}, {s['compilers']}" for p, s in starts if s) + ".\n")

out.append(f"| scenario | small req/s | large req/s | large ÷ small | ≥ {AIM:.0%}? | server ms CPU/req small → large | PostgreSQL ms CPU/req small → large | PostgreSQL blocks/req (from the OS) small → large | p99 ms small → large | machine busy cores small → large |")
out.append("| --- | ---: | ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: |")
notes = []
for key, label in SCENARIOS:
    a, b = one.get(("pg-small", key)), one.get(("pg-scale", key))
    if a is None and b is None:
        continue
    ra, rb = rate(a, key), rate(b, key)
    ratio = rb / ra if ra and rb else None
    cpu = lambda r, k="server_cpu_ms_per_req": f"{r[k]:.3f}" if r and k in r else "—"
    p99 = lambda r: f"{r['p99_ms']:.1f}" if r else "—"
    fmt = lambda v: f"{v:,.0f}" if v else "—"
    ok = "—" if ratio is None else ("yes" if ratio >= AIM else "**no**")
    pg = "pg_cpu_ms_per_req"
    blk = lambda r: f"{r['pg_blocks_per_req']:.0f} ({r['pg_blocks_read_per_req']:.1f})" if r and "pg_blocks_per_req" in r else "—"
    busy = lambda r: f"{r['machine_busy_cores']:.2f}" if r and "machine_busy_cores" in r else "—"
    out.append(f"| {label} | {fmt(ra)} | {fmt(rb)} | {f'{ratio:.2f}' if ratio else '—'} | {ok} | {cpu(a)} → {cpu(b)} | "
               f"{cpu(a, pg)} → {cpu(b, pg)} | {blk(a)} → {blk(b)} | {p99(a)} → {p99(b)} | {busy(a)} → {busy(b)} |")
    for p, r in (("small", a), ("large", b)):
        if not r:
            continue
        bad = []
        if r.get("err_status"):
            bad.append(f"{r['err_status']} answers ≥ 400")
        sock = sum(r.get(k, 0) for k in ("err_connect", "err_read", "err_write", "err_timeout"))
        if sock:
            bad.append(f"{sock} socket errors/time-outs")
        if r.get("wrapped"):
            bad.append(f"{r['wrapped']} bodies sent twice")
        if r.get("failures"):
            bad.append(f"{r['failures']} failed steps ({r.get('last_failure', '')})")
        if bad:
            notes.append(f"- {key}, {p}: " + "; ".join(bad))

out.append("\nUpkeep (`surety upkeep`, one pass; the server idle):\n")
out.append("| database | pass | rows deleted | ms | grants before → after | refresh tokens before → after | sessions before → after | revoked jtis before → after |")
out.append("| --- | ---: | ---: | ---: | --- | --- | --- | --- |")
for p in phases:
    for u in res.get((p, "_upkeep"), []):
        b, a = u["before"], u["after"]
        out.append(f"| {p} | {u['pass']} | {u['result']['rows_deleted']:,} | {u['result']['ms']:,.0f} | "
                   f"{b['grants']:,} → {a['grants']:,} | {b['refresh_tokens']:,} → {a['refresh_tokens']:,} | {b['browser_sessions']:,} → {a['browser_sessions']:,} | "
                   f"{b['revoked_jtis']:,} → {a['revoked_jtis']:,} |")
rss = [(p, one.get((p, "_rss"))) for p in phases]
out.append("\nRSS after the load: " + "; ".join(f"{p} {r['rss_kb'] / 1024:.1f} MiB" for p, r in rss if r) + ".\n")
out.append("Errors during the measured runs:\n" + "\n".join(notes) if notes else
           "No errors: every measured request answered 2xx/3xx, no socket errors, no single-use body sent twice.")
print("\n".join(out))
