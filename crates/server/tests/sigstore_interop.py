#!/usr/bin/env python3
"""sigstore-python, unmodified, against certcentral's CA.

  sigstore_interop.py SERVER_URL LOG_KEY_B64

Gets a dev token, has sigstore-python's own Fulcio client request a certificate (CSR,
token in `Authorization: Bearer`, as it calls sigstore.dev), then has sigstore-python's
own SCT verifier check the embedded SCT against the log key. Prints a JSON summary.
"""
import base64
import json
import sys
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sigstore._internal.fulcio.client import FulcioClient
from sigstore._internal.sct import verify_sct
from sigstore._internal.trust import CTKeyring, Keyring
from sigstore.oidc import IdentityToken
from sigstore_models.common import v1 as common_v1


def main():
    url, log_key_b64 = sys.argv[1], sys.argv[2]
    base64.b64decode(log_key_b64, validate=True)
    request = urllib.request.Request(
        f"{url}/dev/oidc/token",
        data=json.dumps({"email": "sigstore-python@example.com"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    token = json.load(urllib.request.urlopen(request))["id_token"]
    identity = IdentityToken(token)

    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, identity.identity)]))
        .sign(key, hashes.SHA256())
    )
    response = FulcioClient(url).signing_cert.post(csr, identity)
    san = response.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    keyring = CTKeyring(Keyring([common_v1.PublicKey(
        raw_bytes=log_key_b64,  # sigstore-models takes protobuf-JSON base64
        key_details=common_v1.PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
    )]))
    verify_sct(response.cert, response.chain, keyring)
    bundle = FulcioClient(url).trust_bundle.get()
    print(json.dumps({
        "identity": identity.identity,
        "san": [str(n.value) for n in san],
        "chain": len(response.chain),
        "sct_verified": True,
        "trust_bundle_chains": len(bundle.trust_bundle),
    }))


if __name__ == "__main__":
    main()
