"""Canonicalizes JSON documents with the `rfc8785` package sigstore-python signs with.

stdin: a JSON array of documents; stdout: a JSON array of their canonical forms, base64.
"""

import base64
import json
import sys

import rfc8785

docs = json.load(sys.stdin)
print(json.dumps([base64.b64encode(rfc8785.dumps(d)).decode() for d in docs]))
