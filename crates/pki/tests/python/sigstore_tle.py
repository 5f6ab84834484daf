"""Reads TransparencyLogEntry JSON with sigstore_models and sigstore-python.

stdin: {"entries": [<TLE JSON text>...], "v1_answers": [<Rekor v1 answer>...]}
Each entry is read with rekor.v1.TransparencyLogEntry.from_json and from_dict (which
must agree), wrapped in sigstore.models.TransparencyLogEntry (which requires an
inclusion proof with a checkpoint), and its proof of the canonicalized body is
verified (sigstore._internal.merkle.verify_merkle_inclusion); each v1 answer is
turned into an entry by TransparencyLogEntry._from_v1_response. Prints {"entries": [<to_json()>...],
"from_v1": [<to_json()>...]}.
"""

import json
import sys

from sigstore._internal.merkle import verify_merkle_inclusion
from sigstore.models import TransparencyLogEntry
from sigstore_models.rekor.v1 import TransparencyLogEntry as Inner

req = json.load(sys.stdin)
entries = []
for text in req["entries"]:
    inner = Inner.from_json(text)
    assert inner == Inner.from_dict(json.loads(text)), "from_json and from_dict differ"
    entry = TransparencyLogEntry(inner)
    verify_merkle_inclusion(entry)
    entries.append(entry._inner.to_json())
from_v1 = [TransparencyLogEntry._from_v1_response(a)._inner.to_json() for a in req["v1_answers"]]
print(json.dumps({"entries": entries, "from_v1": from_v1}))
