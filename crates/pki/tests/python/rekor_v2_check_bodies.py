"""Checks Rekor v2 entry bodies with sigstore-python's own verifier code.

stdin: {"cases": [{"kind": "hashedrekord" | "dsse-as-hashedrekord" | "dsse",
                   "body_b64", "cert_der_b64"?, "signature_b64"?, "digest_b64"?,
                   "algorithm"?, "envelope_json"?}]}
A hashedrekord body is checked by _validate_hashedrekord_v002_entry_body, a DSSE
envelope logged as a hashedrekord by _validate_hashedrekord_v002_dsse_entry_body: each
builds the Entry it expects from the bundle's materials (here a stand-in holding just
what they read) and compares it with v2.entry.Entry.from_json(body). A dsse body is
read with v2.entry.Entry.from_json. Prints {"results": [{"ok", "error"?, "entry"?}]},
"entry" being the parsed body written back by sigstore_models.
"""

import base64
import json
import sys
from types import SimpleNamespace

from cryptography import x509
from sigstore.dsse import Envelope
from sigstore.hashes import Hashed
from sigstore.verify.verifier import (
    _validate_hashedrekord_v002_dsse_entry_body,
    _validate_hashedrekord_v002_entry_body,
)
from sigstore_models.common.v1 import HashAlgorithm
from sigstore_models.rekor.v2.entry import Entry


def bundle(case, body):
    inner_entry = SimpleNamespace(
        kind_version=SimpleNamespace(kind="hashedrekord", version="0.0.2"),
        canonicalized_body=body,
    )
    signature = base64.b64decode(case.get("signature_b64", ""))
    return SimpleNamespace(
        log_entry=SimpleNamespace(_inner=inner_entry),
        _inner=SimpleNamespace(message_signature=SimpleNamespace(signature=signature)),
        signing_certificate=x509.load_der_x509_certificate(
            base64.b64decode(case["cert_der_b64"])
        ),
        _dsse_envelope=(
            Envelope._from_json(case["envelope_json"]) if "envelope_json" in case else None
        ),
    )


results = []
for case in json.load(sys.stdin)["cases"]:
    body = base64.b64decode(case["body_b64"])
    try:
        if case["kind"] == "hashedrekord":
            hashed = Hashed(
                algorithm=HashAlgorithm(case["algorithm"]),
                digest=base64.b64decode(case["digest_b64"]),
            )
            _validate_hashedrekord_v002_entry_body(bundle(case, body), hashed)
        elif case["kind"] == "dsse-as-hashedrekord":
            _validate_hashedrekord_v002_dsse_entry_body(bundle(case, body))
        elif case["kind"] != "dsse":
            raise ValueError(f"unknown case kind {case['kind']}")
        results.append({"ok": True, "entry": json.loads(Entry.from_json(body).to_json())})
    except Exception as e:  # reported, so the caller sees which case failed and why
        results.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
print(json.dumps({"results": results}))
