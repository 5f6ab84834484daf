#!/usr/bin/env python3
"""Makes the sigstore bundle fixtures of tests/data/bundle with sigstore-python 4.5.1's
own signer, against a running `certcentral serve --dev`.

  make_bundle_fixtures.py SERVER_URL KEYS_DIR OUT_DIR

Builds the client trust config of the dev server from its public endpoints (the CA's
trust bundle, the CT log list, the TSA chain; the artifact logs' keys from KEYS_DIR,
as the v2 API publishes none), has sigstore-python sign artifacts with a dev OIDC
token — once through the Rekor v1 log, once through the v2 log, both with a TSA
timestamp — checks each bundle with sigstore-python's own Verifier, and writes:

  trusted_root.json, artifact-v1.txt, artifact-v1.sigstore.json,
  artifact-v2.txt, artifact-v2.sigstore.json
"""
import base64
import json
import os
import sys
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sigstore.models import ClientTrustConfig
from sigstore.oidc import IdentityToken
from sigstore.sign import SigningContext
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity

EMAIL = "fixture@example.com"


def get(url):
    return urllib.request.urlopen(url).read()


def b64(data):
    return base64.b64encode(data).decode()


def pem_chain_der(pems):
    return [x509.load_pem_x509_certificate(p.encode()).public_bytes(
        serialization.Encoding.DER) for p in pems]


def spki_of(path):
    key = serialization.load_pem_private_key(open(path, "rb").read(), None)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def log_id(spki):
    import hashlib
    return hashlib.sha256(spki).digest()


def tlog(url, spki, lid=None):
    return {
        "baseUrl": url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": b64(spki),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": {"start": "2020-01-01T00:00:00Z"},
        },
        "logId": {"keyId": b64(lid or log_id(spki))},
    }


def trust_config(base, keys):
    bundle = json.loads(get(f"{base}/api/v2/trustBundle"))
    ca_chain = pem_chain_der(bundle["chains"][0]["certificates"])
    tsa_pem = get(f"{base}/api/v1/timestamp/certchain").decode()
    tsa_chain = [x509.load_pem_x509_certificate(p.encode() + b"-----END CERTIFICATE-----\n")
                 .public_bytes(serialization.Encoding.DER)
                 for p in tsa_pem.split("-----END CERTIFICATE-----") if p.strip()]
    loglist = json.loads(get(f"{base}/logs/log_list.json"))
    ctlogs = [tlog(l["url"], base64.b64decode(l["key"]))
              for op in loglist["operators"] for l in op["logs"]]
    v2_spki = spki_of(os.path.join(keys, "rekor-dev-v2.pem"))
    root = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [
            tlog(f"{base}/rekor/dev-v1", spki_of(os.path.join(keys, "rekor-dev-v1.pem"))),
            tlog(f"{base}/rekor/dev-v2", v2_spki),
        ],
        "certificateAuthorities": [{
            "subject": {"organization": "certcentral", "commonName": "certcentral"},
            "uri": base,
            "certChain": {"certificates": [{"rawBytes": b64(c)} for c in ca_chain]},
            "validFor": {"start": "2020-01-01T00:00:00Z"},
        }],
        "ctlogs": ctlogs,
        "timestampAuthorities": [{
            "subject": {"organization": "certcentral", "commonName": "certcentral TSA"},
            "uri": f"{base}/api/v1/timestamp",
            "certChain": {"certificates": [{"rawBytes": b64(c)} for c in tsa_chain]},
            "validFor": {"start": "2020-01-01T00:00:00Z"},
        }],
    }

    def signing(version, url):
        svc = lambda u, v: {"url": u, "majorApiVersion": v,
                            "validFor": {"start": "2020-01-01T00:00:00Z"},
                            "operator": "certcentral"}
        return {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [svc(base, 1)],
            "oidcUrls": [svc(f"{base}/dev/oidc", 1)],
            "rekorTlogUrls": [svc(url, version)],
            "tsaUrls": [svc(f"{base}/api/v1/timestamp", 1)],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        }

    def config(version, url):
        return ClientTrustConfig.from_json(json.dumps({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": root,
            "signingConfig": signing(version, url),
        }))

    return root, config(1, f"{base}/rekor/dev-v1"), config(2, f"{base}/rekor/dev-v2")


def token(base):
    request = urllib.request.Request(
        f"{base}/dev/oidc/token",
        data=json.dumps({"email": EMAIL}).encode(),
        headers={"Content-Type": "application/json"},
    )
    return IdentityToken(json.load(urllib.request.urlopen(request))["id_token"])


def main():
    base, keys, out = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    root, v1_config, v2_config = trust_config(base, keys)
    with open(os.path.join(out, "trusted_root.json"), "w") as f:
        json.dump(root, f, indent=2)
    identity = token(base)
    issuer = identity.issuer
    summary = {"identity": EMAIL, "issuer": issuer}
    for name, config in (("v1", v1_config), ("v2", v2_config)):
        artifact = f"certcentral bundle fixture signed through the Rekor {name} log\n".encode()
        ctx = SigningContext.from_trust_config(config)
        with ctx.signer(identity, cache=True) as signer:
            bundle = signer.sign_artifact(artifact)
        Verifier(trusted_root=config.trusted_root).verify_artifact(
            artifact, bundle, Identity(identity=EMAIL, issuer=issuer))
        with open(os.path.join(out, f"artifact-{name}.txt"), "wb") as f:
            f.write(artifact)
        with open(os.path.join(out, f"artifact-{name}.sigstore.json"), "w") as f:
            f.write(bundle.to_json())
        summary[name] = "verified by sigstore-python"
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
