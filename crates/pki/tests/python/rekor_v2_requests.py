"""Builds Rekor v2 CreateEntryRequests with sigstore-python's own client code.

stdin: ignored. For ECDSA P-256, P-384, P-521 and RSA-2048 signing certificates (built
with `cryptography`), signs an artifact's digest and builds the request with
RekorV2Client._build_hashed_rekord_request; for P-256 also signs a DSSE envelope
(sigstore.dsse._sign) and builds the request sigstore-python 4.5.1 uploads for it
(_build_dsse_request: a hashedrekord over the envelope's PAE). Prints
{"cases": [{"name", "kind", "request", "cert_der_b64", "signature_b64",
            "digest_b64", "algorithm", "envelope_json"?}]}.
"""

import base64
import hashlib
import json
import sys
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from sigstore import dsse
from sigstore._internal.rekor.client_v2 import RekorV2Client
from sigstore.hashes import Hashed
from sigstore_models.common.v1 import HashAlgorithm

json.load(sys.stdin)
ARTIFACT = b"an artifact signed by sigstore-python"


def certificate(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signer.example")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2025, 1, 1, tzinfo=timezone.utc))
        .not_valid_after(datetime(2026, 1, 1, tzinfo=timezone.utc))
        .sign(key, hashes.SHA256())
    )


def b64(data):
    return base64.b64encode(data).decode()


cases = []
for name, key, algorithm, hash_ in [
    ("p256", ec.generate_private_key(ec.SECP256R1()), HashAlgorithm.SHA2_256, hashes.SHA256()),
    ("p384", ec.generate_private_key(ec.SECP384R1()), HashAlgorithm.SHA2_384, hashes.SHA384()),
    ("p521", ec.generate_private_key(ec.SECP521R1()), HashAlgorithm.SHA2_512, hashes.SHA512()),
    ("rsa2048", rsa.generate_private_key(65537, 2048), HashAlgorithm.SHA2_256, hashes.SHA256()),
]:
    cert = certificate(key)
    h = hashes.Hash(hash_)
    h.update(ARTIFACT)
    digest = h.finalize()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(digest, ec.ECDSA(Prehashed(hash_)))
    else:
        signature = key.sign(digest, padding.PKCS1v15(), Prehashed(hash_))
    request = RekorV2Client._build_hashed_rekord_request(
        Hashed(algorithm=algorithm, digest=digest), signature, cert
    )
    cases.append(
        {
            "name": name,
            "kind": "hashedrekord",
            "request": request,
            "cert_der_b64": b64(cert.public_bytes(Encoding.DER)),
            "signature_b64": b64(signature),
            "digest_b64": b64(digest),
            "algorithm": algorithm.value,
        }
    )

key = ec.generate_private_key(ec.SECP256R1())
cert = certificate(key)
statement = (
    dsse.StatementBuilder()
    .subjects([dsse.Subject(name="artifact", digest={"sha256": hashlib.sha256(ARTIFACT).hexdigest()})])
    .predicate_type("https://example.com/predicate/v1")
    .predicate({"built": True})
    .build()
)
envelope = dsse._sign(key, statement)
cases.append(
    {
        "name": "dsse-p256",
        "kind": "dsse-as-hashedrekord",
        "request": RekorV2Client._build_dsse_request(envelope, cert),
        "cert_der_b64": b64(cert.public_bytes(Encoding.DER)),
        "signature_b64": b64(envelope.signature),
        "digest_b64": b64(hashlib.sha256(envelope.pae()).digest()),
        "algorithm": "SHA2_256",
        "envelope_json": envelope.to_json(),
    }
)
print(json.dumps({"cases": cases}))
