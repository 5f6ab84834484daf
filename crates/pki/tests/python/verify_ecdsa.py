"""argv: SPKI DER hex, message hex, DER ECDSA signature hex. Verifies ECDSA-SHA256 with
Python `cryptography`; prints "ok" or exits non-zero."""
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

key = load_der_public_key(bytes.fromhex(sys.argv[1]))
assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1", key
key.verify(bytes.fromhex(sys.argv[3]), bytes.fromhex(sys.argv[2]), ec.ECDSA(hashes.SHA256()))
print("ok")
