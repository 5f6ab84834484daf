//! Proof of possession (Fulcio API v2 `CreateSigningCertificate`): the caller proves it
//! holds the private key either by signing the identity token's `sub` with it
//! ([`verify_challenge`]) or by sending a self-signed PKCS#10 CSR ([`parse_csr`],
//! RFC 2986).
//!
//! Accepted subject keys follow Fulcio's default algorithm registry: ECDSA P-256 and
//! P-384, Ed25519, and RSA from 2048 bits. Everything else is refused *before* any
//! signature work, with an error that names what is accepted, because the client
//! (cosign, gitsign, …) shows that message to a person choosing a key type.

use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use const_oid::db::{rfc5912, rfc8410};
use der::asn1::{AnyRef, BitStringRef, UintRef};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoRef};
use thiserror::Error;
use x509_cert::name::Name;
use x509_cert::request::CertReq;

/// The key types [`SubjectKey`] accepts, quoted in every rejection.
pub const ACCEPTED_KEYS: &str = "ECDSA P-256, ECDSA P-384, Ed25519, RSA 2048-8192 bits";
/// Largest SubjectPublicKeyInfo accepted (an RSA-8192 SPKI is about 1.1 KiB).
pub const MAX_PUBLIC_KEY_LEN: usize = 8 * 1024;
/// Largest CSR accepted, PEM or DER.
pub const MAX_CSR_LEN: usize = 64 * 1024;
/// Largest challenge signature accepted (RSA-8192 is 1024 bytes).
pub const MAX_SIGNATURE_LEN: usize = 1024;
/// RSA modulus bounds in bits: 2048 is Fulcio's floor; 8192 is aws-lc's verification ceiling.
pub const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// Errors of proof of possession. Every variant is the caller's fault (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PopError {
    /// Input larger than the stated bound.
    #[error("{what} is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// PEM armour is malformed or carries the wrong label.
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// The public key does not parse.
    #[error("malformed public key: {0}")]
    MalformedKey(String),
    /// The key type, curve or size is not one Fulcio accepts.
    #[error("unsupported public key ({found}); accepted: {ACCEPTED_KEYS}")]
    UnsupportedKey {
        /// What was found.
        found: String,
    },
    /// The CSR does not parse.
    #[error("malformed certificate signing request: {0}")]
    MalformedCsr(String),
    /// The CSR's signature does not verify with its own key.
    #[error("certificate signing request self-signature does not verify: {0}")]
    BadCsrSignature(String),
    /// The challenge signature does not verify.
    #[error("signature over the challenge does not verify with the supplied public key")]
    BadChallengeSignature,
}

/// The kind of a [`SubjectKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// Ed25519 (RFC 8410).
    Ed25519,
    /// RSA with this modulus size in bits.
    Rsa(usize),
}

/// A subject public key that passed the acceptance rules: its SubjectPublicKeyInfo DER is
/// kept verbatim because the certificate embeds it and the SKI hashes its key bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectKey {
    kind: KeyKind,
    spki_der: Vec<u8>,
}

/// RFC 3279 §2.3.1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

impl SubjectKey {
    /// Parses a `-----BEGIN PUBLIC KEY-----` PEM or a DER SubjectPublicKeyInfo
    /// (RFC 5280 §4.1.2.7), the two forms Fulcio's `publicKey.content` carries.
    pub fn parse(pem_or_der: &[u8]) -> Result<Self, PopError> {
        let der = pem_or_der_bytes(
            pem_or_der,
            &["PUBLIC KEY"],
            "public key",
            MAX_PUBLIC_KEY_LEN,
        )?;
        Self::from_spki_der(&der)
    }

    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, PopError> {
        if der.len() > MAX_PUBLIC_KEY_LEN {
            return Err(PopError::TooLarge {
                what: "public key",
                len: der.len(),
                max: MAX_PUBLIC_KEY_LEN,
            });
        }
        let malformed = |e: der::Error| PopError::MalformedKey(e.to_string());
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(malformed)?;
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| PopError::MalformedKey("key BIT STRING has unused bits".into()))?;
        let alg = &spki.algorithm;
        let kind = match alg.oid {
            rfc5912::ID_EC_PUBLIC_KEY => {
                // RFC 5480 §2.1.1: namedCurve only; explicit curve parameters are refused
                // here (they would not decode as an OID).
                let curve: ObjectIdentifier = alg
                    .parameters
                    .as_ref()
                    .ok_or_else(|| PopError::MalformedKey("EC key without a named curve".into()))?
                    .decode_as()
                    .map_err(|_| PopError::UnsupportedKey {
                        found: "EC key with explicit curve parameters".into(),
                    })?;
                match curve {
                    rfc5912::SECP_256_R_1 => KeyKind::EcdsaP256,
                    rfc5912::SECP_384_R_1 => KeyKind::EcdsaP384,
                    other => {
                        return Err(PopError::UnsupportedKey {
                            found: format!("EC curve {}", curve_name(&other)),
                        });
                    }
                }
            }
            rfc5912::RSA_ENCRYPTION => {
                let key = RsaPublicKey::from_der(bits).map_err(malformed)?;
                let n = key.modulus.as_bytes();
                let size = match n.first() {
                    Some(first) => n.len() * 8 - first.leading_zeros() as usize,
                    None => 0,
                };
                if key.public_exponent.as_bytes().is_empty() {
                    return Err(PopError::MalformedKey("RSA public exponent is zero".into()));
                }
                if !RSA_BITS.contains(&size) {
                    return Err(PopError::UnsupportedKey {
                        found: format!("RSA {size} bits"),
                    });
                }
                KeyKind::Rsa(size)
            }
            rfc8410::ID_ED_25519 => {
                if alg.parameters.is_some() {
                    // RFC 8410 §3: "the parameters MUST be absent".
                    return Err(PopError::MalformedKey("Ed25519 key with parameters".into()));
                }
                KeyKind::Ed25519
            }
            other => {
                return Err(PopError::UnsupportedKey {
                    found: algorithm_name(&other),
                });
            }
        };
        // Let aws-lc check the point is on the curve / the key is well formed now, so a
        // bad key is reported as such rather than as a failed signature later.
        ParsedPublicKey::new(primary_algorithm(kind), bits)
            .map_err(|e| PopError::MalformedKey(format!("{kind:?} key rejected: {e}")))?;
        Ok(Self {
            kind,
            spki_der: der.to_vec(),
        })
    }

    /// The key type.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The SubjectPublicKeyInfo DER, exactly as received.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The `subjectPublicKey` BIT STRING contents (what RFC 5280 §4.2.1.2 method 1
    /// hashes for the key identifier).
    pub fn public_key_bits(&self) -> &[u8] {
        SubjectPublicKeyInfoRef::from_der(&self.spki_der)
            .ok()
            .and_then(|s| s.subject_public_key.as_bytes())
            // Unreachable: `from_spki_der` checked both; an empty slice is a safe default.
            .unwrap_or_default()
    }

    fn verification_algorithms(&self) -> &'static [&'static dyn VerificationAlgorithm] {
        match self.kind {
            KeyKind::EcdsaP256 => &[&signature::ECDSA_P256_SHA256_ASN1],
            // The curve's own hash first, then SHA-256 as Fulcio also accepts.
            KeyKind::EcdsaP384 => &[
                &signature::ECDSA_P384_SHA384_ASN1,
                &signature::ECDSA_P384_SHA256_ASN1,
            ],
            KeyKind::Ed25519 => &[&signature::ED25519],
            KeyKind::Rsa(_) => &[
                &signature::RSA_PKCS1_2048_8192_SHA256,
                &signature::RSA_PSS_2048_8192_SHA256,
            ],
        }
    }
}

fn primary_algorithm(kind: KeyKind) -> &'static dyn VerificationAlgorithm {
    match kind {
        KeyKind::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1,
        KeyKind::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1,
        KeyKind::Ed25519 => &signature::ED25519,
        KeyKind::Rsa(_) => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

fn curve_name(oid: &ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.3.132.0.35" => "P-521 (1.3.132.0.35)".into(),
        "1.3.132.0.10" => "secp256k1 (1.3.132.0.10)".into(),
        other => other.into(),
    }
}

fn algorithm_name(oid: &ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.10040.4.1" => "DSA (1.2.840.10040.4.1)".into(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS key (1.2.840.113549.1.1.10)".into(),
        "1.3.101.113" => "Ed448 (1.3.101.113)".into(),
        "1.3.101.110" | "1.3.101.111" => format!("X25519/X448 key agreement key ({oid})"),
        other => format!("key algorithm {other}"),
    }
}

/// Verifies the signed challenge: `signature` over `signed_message` (the token's `sub`)
/// by `key`.
///
/// ECDSA signatures are DER `ECDSA-Sig-Value`; P-256 uses SHA-256, P-384 SHA-384 or
/// SHA-256 (Fulcio verifies with SHA-256 whatever the curve, while clients that follow
/// the curve use SHA-384). Ed25519 signatures are the raw 64 bytes (RFC 8032). RSA
/// signatures are PKCS#1 v1.5 or PSS (salt = 32), both with SHA-256.
pub fn verify_challenge(
    key: &SubjectKey,
    signed_message: &[u8],
    signature: &[u8],
) -> Result<(), PopError> {
    if signature.len() > MAX_SIGNATURE_LEN {
        return Err(PopError::TooLarge {
            what: "signature",
            len: signature.len(),
            max: MAX_SIGNATURE_LEN,
        });
    }
    let bits = key.public_key_bits();
    let ok = key.verification_algorithms().iter().any(|alg| {
        signature::UnparsedPublicKey::new(*alg, bits)
            .verify(signed_message, signature)
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PopError::BadChallengeSignature)
    }
}

/// A PKCS#10 certification request whose self-signature verified.
///
/// Only the key is used for issuance; as in Fulcio, the requested subject and
/// extensions are ignored because the identity comes from the OIDC token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csr {
    /// The key to certify.
    pub public_key: SubjectKey,
    /// The subject the requester asked for (informational only).
    pub subject: Name,
    /// The algorithm of the self-signature.
    pub signature_algorithm: AlgorithmIdentifierOwned,
}

/// RFC 2986 §4 `CertificationRequest`, with the `certificationRequestInfo` kept as raw
/// bytes: the signature covers exactly those bytes, so they are verified as received
/// rather than re-encoded.
///
/// ```text
/// CertificationRequest ::= SEQUENCE {
///     certificationRequestInfo CertificationRequestInfo,
///     signatureAlgorithm AlgorithmIdentifier{{ SignatureAlgorithms }},
///     signature          BIT STRING
/// }
/// ```
#[derive(Sequence)]
struct RawCertReq<'a> {
    info: AnyRef<'a>,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitStringRef<'a>,
}

/// Parses a PEM (`CERTIFICATE REQUEST` or the legacy `NEW CERTIFICATE REQUEST`) or DER
/// PKCS#10 request, checks its key against the acceptance rules and verifies its
/// self-signature over the CertificationRequestInfo DER (RFC 2986 §3: "the
/// certification request information is signed by the subject entity").
pub fn parse_csr(pem_or_der: &[u8]) -> Result<Csr, PopError> {
    let der = pem_or_der_bytes(
        pem_or_der,
        &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
        "certificate signing request",
        MAX_CSR_LEN,
    )?;
    let malformed = |e: der::Error| PopError::MalformedCsr(e.to_string());
    let req = CertReq::from_der(&der).map_err(malformed)?;
    let raw = RawCertReq::from_der(&der).map_err(malformed)?;
    let info_der = raw.info.to_der().map_err(malformed)?;
    // The x509-cert parse and the raw view must describe the same bytes; der is strict
    // DER, so a re-encoding mismatch means a non-canonical request we refuse.
    if req.info.to_der().map_err(malformed)? != info_der {
        return Err(PopError::MalformedCsr(
            "CertificationRequestInfo is not canonical DER".into(),
        ));
    }
    let spki_der = req.info.public_key.to_der().map_err(malformed)?;
    let public_key = SubjectKey::from_spki_der(&spki_der)?;
    let sig = raw
        .signature
        .as_bytes()
        .ok_or_else(|| PopError::MalformedCsr("signature BIT STRING has unused bits".into()))?;
    pki::verify_signature(&spki_der, &raw.algorithm, &info_der, sig)
        .map_err(|e| PopError::BadCsrSignature(e.to_string()))?;
    Ok(Csr {
        public_key,
        subject: req.info.subject,
        signature_algorithm: raw.algorithm,
    })
}

/// Accepts DER, or PEM with one of `labels`; enforces `max` on the input first.
fn pem_or_der_bytes(
    input: &[u8],
    labels: &[&str],
    what: &'static str,
    max: usize,
) -> Result<Vec<u8>, PopError> {
    if input.len() > max {
        return Err(PopError::TooLarge {
            what,
            len: input.len(),
            max,
        });
    }
    let trimmed = input.trim_ascii();
    if !trimmed.starts_with(b"-----BEGIN ") {
        return Ok(input.to_vec());
    }
    let (label, der) = der::pem::decode_vec(trimmed).map_err(|e| PopError::Pem(e.to_string()))?;
    if !labels.contains(&label) {
        return Err(PopError::Pem(format!(
            "unexpected PEM label {label:?}, expected {}",
            labels.join(" or ")
        )));
    }
    Ok(der)
}
