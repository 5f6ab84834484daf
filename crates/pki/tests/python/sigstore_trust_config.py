"""Loads sigstore trust documents with sigstore-python's own code, as
`sigstore --trust-config FILE` does, and reports what a signer and a verifier take
from them.

stdin: {"client_trust_config": <text>, "trusted_root": <text>, "signing_config": <text>}
stdout: JSON with, for the client trust config: the artifact logs chosen by default
and with force_tlog_version = 1, the CA, OIDC and TSA URLs, the key IDs (hex) of the
Rekor and CT keyrings for signing and for verifying, the Fulcio certificates and the
timestamp authorities' chains (base64 DER); for the stand-alone documents the same
through sigstore-python's TrustedRoot and SigningConfig; and each document as
sigstore_models writes it back (`reencoded`).
"""

import base64
import json
import sys

from cryptography.hazmat.primitives.serialization import Encoding
from sigstore._internal.trust import KeyringPurpose
from sigstore.models import ClientTrustConfig, SigningConfig, TrustedRoot
from sigstore_models.trustroot import v1 as trustroot_v1


def b64(data):
    return base64.b64encode(data).decode()


def tlog_urls(config):
    return [{"type": type(c).__name__, "url": c.url} for c in config.get_tlogs()]


def signer_view(config):
    return {
        "tlogs": tlog_urls(config),
        "fulcio": config.get_fulcio().url,
        "oidc": config.get_oidc_url(),
        "tsas": [c.url for c in config.get_tsas()],
    }


def verifier_view(root):
    def key_ids(keyring):
        return sorted(k.hex() for k in keyring._keyring)

    return {
        "rekor_sign": key_ids(root.rekor_keyring(KeyringPurpose.SIGN)),
        "rekor_verify": key_ids(root.rekor_keyring(KeyringPurpose.VERIFY)),
        "ct_sign": key_ids(root.ct_keyring(KeyringPurpose.SIGN)),
        "ct_verify": key_ids(root.ct_keyring(KeyringPurpose.VERIFY)),
        "fulcio_certs": [b64(c.public_bytes(Encoding.DER)) for c in root.get_fulcio_certs()],
        "timestamp_authorities": [
            [b64(c.public_bytes(Encoding.DER)) for c in ca.certificates(allow_expired=True)]
            for ca in root.get_timestamp_authorities()
        ],
    }


req = json.load(sys.stdin)

client = ClientTrustConfig.from_json(req["client_trust_config"])
default_view = signer_view(client.signing_config)
client.force_tlog_version = 1
v1_view = signer_view(client.signing_config)

root_inner = trustroot_v1.TrustedRoot.from_json(req["trusted_root"])
config_inner = trustroot_v1.SigningConfig.from_json(req["signing_config"])

print(
    json.dumps(
        {
            "client": {
                "default": default_view,
                "v1": v1_view,
                "root": verifier_view(client.trusted_root),
            },
            "trusted_root": verifier_view(TrustedRoot(root_inner)),
            "signing_config": signer_view(SigningConfig(config_inner)),
            "reencoded": {
                "client_trust_config": client._inner.to_json(),
                "trusted_root": root_inner.to_json(),
                "signing_config": config_inner.to_json(),
            },
        }
    )
)
