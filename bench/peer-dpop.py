#!/usr/bin/env python3
"""Patches a copy of ../shared/bench-peer/oidc-provider.mjs for the *_dpop scenarios of
bench/run.sh: turns on oidc-provider's DPoP (features.dPoP, RFC 9449; no server nonces, as
on Surety for a client that does not require DPoP) and makes the peer's custom jwt-bearer
grant bind its access token to the proof's key the way oidc-provider's own grants do
(validateDpop + applyDpopBinding, which also marks the proof's jti used). Fails loudly if
the peer's source no longer has the lines it patches.

    python3 bench/peer-dpop.py COPY/oidc-provider.mjs
"""
import sys

path = sys.argv[1]
src = open(path).read()
patches = [
    ("  features: {\n", "  features: {\n    dPoP: { enabled: true },\n"),
    (
        "const jose = await load('jose');\n",
        "const jose = await load('jose');\n"
        "const opLib = path.dirname(req.resolve('oidc-provider'));\n"
        "const { default: validateDpop } = await import(pathToFileURL(path.join(opLib, 'helpers/validate_dpop.js')).href);\n"
        "const { applyDpopBinding } = await import(pathToFileURL(path.join(opLib, 'helpers/grant_common.js')).href);\n",
    ),
    (
        "  at.scope = apiScopes.join(' ') || undefined;\n",
        "  at.scope = apiScopes.join(' ') || undefined;\n"
        "  await applyDpopBinding(provider, ctx, await validateDpop(provider, ctx), at);\n",
    ),
]
for old, new in patches:
    if src.count(old) != 1:
        sys.exit(f"peer-dpop.py: expected exactly one {old.strip()!r} in {path}")
    src = src.replace(old, new)
open(path, "w").write(src)
