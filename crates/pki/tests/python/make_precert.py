"""Builds, with Python `cryptography`, a root CA, a precertificate carrying the
critical PrecertPoison, and the matching final certificate (same fields, no poison).
Prints hex DER / TBS as JSON."""
import json
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ca_key = ec.generate_private_key(ec.SECP256R1())
leaf_key = ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Python Test Root")])
t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
t1 = datetime(2030, 1, 1, tzinfo=timezone.utc)

root = (
    x509.CertificateBuilder()
    .subject_name(ca_name)
    .issuer_name(ca_name)
    .public_key(ca_key.public_key())
    .serial_number(1)
    .not_valid_before(t0)
    .not_valid_after(t1)
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
    .sign(ca_key, hashes.SHA256())
)


def leaf(poison):
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "py.example")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(0x1234567890)
        .not_valid_before(t0)
        .not_valid_after(t1)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("py.example")]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if poison:
        b = b.add_extension(x509.PrecertPoison(), critical=True)
    return b.sign(ca_key, hashes.SHA256())


precert = leaf(True)
final = leaf(False)
print(
    json.dumps(
        {
            "root": root.public_bytes(serialization.Encoding.DER).hex(),
            "root_spki": root.public_key()
            .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            .hex(),
            "precert": precert.public_bytes(serialization.Encoding.DER).hex(),
            "final_tbs": final.tbs_certificate_bytes.hex(),
        }
    )
)
