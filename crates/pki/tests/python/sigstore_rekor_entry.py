"""Checks a Rekor v1 log entry answer with sigstore-python's own code.

stdin: {"answer": <v1 answer {uuid: entry}>, "log_key_der_b64": <SPKI DER, base64>}
Parses the answer as sigstore-python does when Rekor answers a submission
(TransparencyLogEntry._from_v1_response, which also reads the body as a Rekor entry
kind), verifies the Signed Entry Timestamp with a keyring holding the log key, and
prints {"canonical_set_payload_b64": ..., "kind": ...}.
"""

import base64
import json
import sys

from sigstore._internal.trust import Keyring
from sigstore.models import TransparencyLogEntry
from sigstore_models.common.v1 import PublicKey, PublicKeyDetails

req = json.load(sys.stdin)
entry = TransparencyLogEntry._from_v1_response(req["answer"])
key = PublicKey(
    raw_bytes=req["log_key_der_b64"],
    key_details=PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
)
entry._verify_set(Keyring([key]))
print(
    json.dumps(
        {
            "canonical_set_payload_b64": base64.b64encode(entry._encode_canonical()).decode(),
            "kind": entry._inner.kind_version.kind,
        }
    )
)
