#!/usr/bin/env python3
"""sigstore-python's own Rekor clients and log-entry verification against certcentral.

  rekor_interop.py SERVER_URL V2_LOG_SPKI_HEX

For each artifact log of `serve --dev` (v1 at /rekor/dev-v1, v2 at /rekor/dev-v2):
sigstore-python builds a hashedrekord request for a self-signed P-256 certificate
exactly as `sigstore sign` does, submits it with its own client (RekorClient or
RekorV2Client), and checks the answer with its own verifier (`TransparencyLogEntry._verify`:
Merkle inclusion proof, checkpoint signature matched by key ID, and for v1 the SET),
the v1 log's key from its public-key endpoint, the v2 log's given as SPKI hex (the v2
API has no such endpoint; clients take it from the trusted root). Then the v1 reads:
the log info and entries by UUID and by index, through sigstore's client.
Prints a JSON summary; any failure raises.
"""
import base64
import datetime
import hashlib
import json
import sys
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sigstore._internal.rekor.client import RekorClient
from sigstore._internal.rekor.client_v2 import RekorV2Client
from sigstore._internal.trust import Keyring, RekorKeyring
from sigstore.hashes import Hashed
from sigstore_models.common import v1 as common_v1


def self_signed():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rekor interop")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(minutes=10))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def keyring(spki_der):
    return RekorKeyring(Keyring([common_v1.PublicKey(
        raw_bytes=base64.b64encode(spki_der),
        key_details=common_v1.PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
    )]))


def log_key(url):
    pem = urllib.request.urlopen(f"{url}/api/v1/log/publicKey").read()
    return serialization.load_pem_public_key(pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(key, artifact):
    digest = hashlib.sha256(artifact).digest()
    hashed = Hashed(algorithm=common_v1.HashAlgorithm.SHA2_256, digest=digest)
    signature = key.sign(artifact, ec.ECDSA(hashes.SHA256()))
    return hashed, signature


def main():
    base = sys.argv[1].rstrip("/")
    v1_url, v2_url = f"{base}/rekor/dev-v1", f"{base}/rekor/dev-v2"
    key, cert = self_signed()
    summary = {}

    v1_ring = keyring(log_key(v1_url))
    v1 = RekorClient(v1_url)
    hashed, signature = sign(key, b"artifact for rekor v1")
    entry = v1.create_entry(v1._build_hashed_rekord_request(hashed, signature, cert))
    entry._verify(v1_ring)
    assert entry._inner.inclusion_promise is not None, "v1 entries carry a SET"
    info = v1.log.get()
    assert info.tree_size >= entry._inner.inclusion_proof.tree_size
    body = entry._inner.canonicalized_body
    if isinstance(body, str):
        body = base64.b64decode(body)
    uuid = hashlib.sha256(b"\x00" + body).hexdigest()
    by_uuid = v1.log.entries.get(uuid=uuid)
    by_uuid._verify(v1_ring)
    assert by_uuid._inner.log_index == entry._inner.log_index
    # sigstore's client cannot ask for index 0 (it tests the index for truth).
    hashed, signature = sign(key, b"a second v1 artifact")
    second = v1.create_entry(v1._build_hashed_rekord_request(hashed, signature, cert))
    by_index = v1.log.entries.get(log_index=second._inner.log_index)
    by_index._verify(v1_ring)
    summary["v1"] = {
        "log_index": entry._inner.log_index,
        "tree_size": info.tree_size,
        "kind": entry._inner.kind_version.kind,
        "version": entry._inner.kind_version.version,
        "verified": True,
    }

    v2_key = bytes.fromhex(sys.argv[2])
    v2 = RekorV2Client(v2_url)
    hashed, signature = sign(key, b"artifact for rekor v2")
    entry = v2.create_entry(v2._build_hashed_rekord_request(hashed, signature, cert))
    entry._verify(keyring(v2_key))
    assert entry._inner.inclusion_promise is None, "v2 entries carry no SET"
    assert not entry._inner.integrated_time, "v2 entries carry no integrated time"
    summary["v2"] = {
        "log_index": entry._inner.log_index,
        "kind": entry._inner.kind_version.kind,
        "version": entry._inner.kind_version.version,
        "verified": True,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
