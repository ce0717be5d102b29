"""Schemathesis hooks for tests/contracts/run.sh (loaded through SCHEMATHESIS_HOOKS).

Key material cannot be described by a schema: no pattern says "a point on P-256", so a
generated key is refused although it fits the document. Before the documents are used,
this hook narrows, in the test's copy only, every key-set property (`jwks`) and the
public-JWK body of the partner key endpoint (`PublicJwk`) to one real P-256 public key.
Every other field is still generated, every phase (coverage included) sees the same
narrowed schema, and negative tests still mutate these values into invalid ones.

Pairwise subjects cannot be described either: a pairwise client's redirect URIs must
share one host (a schema cannot compare hosts), and a `sector_identifier_uri` must serve,
when registered, a JSON array listing them (a schema cannot fetch). So the client input's
`subject_type` is narrowed to `public` (or null) and `sector_identifier_uri` to null;
negative tests still send other values, which the server refuses.
"""

import schemathesis

# A P-256 public key made for these tests; its private half was never kept.
_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "kid": "contract-key",
    "x": "eKxeH-DgEB-923nSw1CF4_YdMDBejYCpz2ZnRjkfLw0",
    "y": "-CrlCIRPD-a8QtVyB_QclqxD-yQDzJWrCY8Idd_6yXo",
}
_JWKS = {"keys": [_JWK]}


def _narrow(node):
    if isinstance(node, dict):
        props = node.get("properties")
        jwks = props.get("jwks") if isinstance(props, dict) else None
        types = jwks.get("type") if isinstance(jwks, dict) else None
        types = [types] if isinstance(types, str) else (types or [])
        if "object" in types:  # the key set itself, not a rule about its absence
            props["jwks"] = {"enum": [_JWKS, None] if "null" in types else [_JWKS]}
        if isinstance(props, dict) and {"subject_type", "sector_identifier_uri"} <= props.keys():
            props["subject_type"] = {"enum": ["public", None]}
            props["sector_identifier_uri"] = {"enum": [None]}
        for v in node.values():
            _narrow(v)
    elif isinstance(node, list):
        for v in node:
            _narrow(v)


@schemathesis.hook
def before_load_schema(ctx, raw_schema):
    schemas = raw_schema.get("components", {}).get("schemas", {})
    if "PublicJwk" in schemas:
        schemas["PublicJwk"] = {"enum": [_JWK]}
    _narrow(raw_schema)
