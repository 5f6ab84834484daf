#!/usr/bin/env python3
"""Independent checks of certcentral's CA output with Python `cryptography`.

  ca_verify.py csr OUTDIR    writes OUTDIR/py-key.pem and OUTDIR/py-csr.pem (P-256)
  ca_verify.py scts          reads JSON {"chain": [PEM...], "logs": [{"key": b64 SPKI}]}
                             and verifies every embedded SCT of chain[0]

SCT verification rebuilds the RFC 6962 §3.2 signed data itself: the precertificate
TBS comes from `cryptography`'s own removal of the SCT list extension
(`tbs_precertificate_bytes`), the issuer key hash from the issuer's SPKI, and the
digitally-signed struct is assembled here byte by byte.
"""
import base64
import datetime
import hashlib
import json
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_csr(outdir):
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ignored by the CA")]))
        .sign(key, hashes.SHA256())
    )
    with open(f"{outdir}/py-key.pem", "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(f"{outdir}/py-csr.pem", "wb") as f:
        f.write(csr.public_bytes(serialization.Encoding.PEM))
    print(json.dumps({"ok": True}))


def u24(n):
    return struct.pack(">I", n)[1:]


def verify_scts(request):
    chain = [x509.load_pem_x509_certificate(p.encode()) for p in request["chain"]]
    leaf, issuer = chain[0], chain[1]
    keys = {}
    for log in request["logs"]:
        der = base64.b64decode(log["key"])
        keys[hashlib.sha256(der).digest()] = serialization.load_der_public_key(der)
    scts = leaf.extensions.get_extension_for_class(
        x509.PrecertificateSignedCertificateTimestamps).value
    issuer_key_hash = hashlib.sha256(issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
    tbs = leaf.tbs_precertificate_bytes
    verified = []
    now = datetime.datetime.now(datetime.timezone.utc)
    for sct in scts:
        if sct.log_id not in keys:
            raise SystemExit(f"SCT from an unknown log {sct.log_id.hex()}")
        ts = sct.timestamp.replace(tzinfo=datetime.timezone.utc)
        if ts > now + datetime.timedelta(seconds=5):
            raise SystemExit("SCT timestamp in the future")
        ms = (ts - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(milliseconds=1)
        signed = (
            b"\x00"  # sct_version v1
            + b"\x00"  # signature_type certificate_timestamp
            + struct.pack(">Q", ms)
            + b"\x00\x01"  # entry_type precert_entry
            + issuer_key_hash
            + u24(len(tbs)) + tbs
            + struct.pack(">H", len(sct.extension_bytes)) + sct.extension_bytes
        )
        keys[sct.log_id].verify(sct.signature, signed, ec.ECDSA(hashes.SHA256()))
        verified.append(base64.b64encode(sct.log_id).decode())
    print(json.dumps({"verified": len(verified), "log_ids": verified}))


def main():
    if sys.argv[1] == "csr":
        make_csr(sys.argv[2])
    elif sys.argv[1] == "scts":
        verify_scts(json.load(sys.stdin))
    else:
        raise SystemExit(f"unknown command {sys.argv[1]}")


if __name__ == "__main__":
    main()
