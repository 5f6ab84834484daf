#!/usr/bin/env python3
"""Independent JWS/JWKS producer for crates/ca/tests/oidc.rs.

Builds signed ID tokens with Python `cryptography` only (no JWT library), so the
Rust verifier is checked against a second implementation of RFC 7515/7518/8037.

usage: make_tokens.py ISSUER AUDIENCE NOW_UNIX
prints: {"jwks": {...}, "tokens": {"RS256": "...", "PS256": "...", "ES256": "...", "EdDSA": "..."}}
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def uint(n: int, length: int = 0) -> bytes:
    length = length or (n.bit_length() + 7) // 8
    return n.to_bytes(length, "big")


def jws(alg: str, kid: str, claims: dict, sign) -> str:
    header = b64u(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode())
    payload = b64u(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    return f"{header}.{payload}.{b64u(sign(signing_input))}"


def main() -> None:
    iss, aud, now = sys.argv[1], sys.argv[2], int(sys.argv[3])
    claims = {
        "iss": iss,
        "aud": aud,
        "sub": "python-subject",
        "email": "py@example.com",
        "email_verified": True,
        "iat": now,
        "exp": now + 600,
    }

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_pub = rsa_key.public_key().public_numbers()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pub = ec_key.public_key().public_numbers()
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ed_pub = ed_key.public_key().public_bytes_raw()

    def es256(msg: bytes) -> bytes:
        # RFC 7518 §3.4: JWS wants fixed-size R || S, not the DER that sign() returns.
        r, s = decode_dss_signature(ec_key.sign(msg, ec.ECDSA(hashes.SHA256())))
        return uint(r, 32) + uint(s, 32)

    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    tokens = {
        "RS256": jws("RS256", "py-rsa", claims,
                     lambda m: rsa_key.sign(m, padding.PKCS1v15(), hashes.SHA256())),
        "PS256": jws("PS256", "py-rsa", claims, lambda m: rsa_key.sign(m, pss, hashes.SHA256())),
        "ES256": jws("ES256", "py-ec", claims, es256),
        "EdDSA": jws("EdDSA", "py-ed", claims, ed_key.sign),
    }
    jwks = {"keys": [
        {"kty": "RSA", "kid": "py-rsa", "use": "sig",
         "n": b64u(uint(rsa_pub.n)), "e": b64u(uint(rsa_pub.e))},
        {"kty": "EC", "kid": "py-ec", "use": "sig", "crv": "P-256", "alg": "ES256",
         "x": b64u(uint(ec_pub.x, 32)), "y": b64u(uint(ec_pub.y, 32))},
        {"kty": "OKP", "kid": "py-ed", "crv": "Ed25519", "x": b64u(ed_pub)},
    ]}
    print(json.dumps({"jwks": jwks, "tokens": tokens}))


if __name__ == "__main__":
    main()
