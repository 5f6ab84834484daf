//! Signature verification (aws-lc-rs) for X.509 signatures and RFC 6962
//! `DigitallySigned` values.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::db::{rfc5912, rfc8410};
use der::{Decode, Sequence, Tagged, asn1::UintRef};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoRef};
use thiserror::Error;

use crate::ct::DigitallySigned;

/// Minimum accepted RSA modulus size, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// Errors of signature verification.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// The SubjectPublicKeyInfo does not parse.
    #[error("malformed SubjectPublicKeyInfo: {0}")]
    MalformedKey(String),
    /// Key algorithm (or curve) not supported.
    #[error("unsupported public key algorithm {0}")]
    UnsupportedKey(String),
    /// RSA keys smaller than [`MIN_RSA_BITS`] are rejected.
    #[error("RSA key of {0} bits is too small (minimum {MIN_RSA_BITS})")]
    RsaKeyTooSmall(usize),
    /// Signature algorithm not supported.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// Algorithm parameters are malformed or not the supported profile.
    #[error("bad signature algorithm parameters: {0}")]
    BadParameters(String),
    /// The signature algorithm does not fit the key type.
    #[error("signature algorithm {algorithm} does not match the {key} key")]
    KeyAlgorithmMismatch {
        /// The signature algorithm.
        algorithm: String,
        /// The key type.
        key: &'static str,
    },
    /// The signature is not valid.
    #[error("invalid signature")]
    BadSignature,
}

/// A SHA-2 hash function, as a signature algorithm names it or as the digest a caller
/// hands to [`verify_prehashed`] was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-256 (32-byte digests).
    Sha256,
    /// SHA-384 (48-byte digests).
    Sha384,
    /// SHA-512 (64-byte digests).
    Sha512,
}

impl HashAlgorithm {
    /// Every accepted algorithm.
    pub const ALL: [Self; 3] = [Self::Sha256, Self::Sha384, Self::Sha512];

    /// The digest OID (RFC 5754 §2).
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => rfc5912::ID_SHA_256,
            Self::Sha384 => rfc5912::ID_SHA_384,
            Self::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    /// The algorithm of a digest OID, if accepted.
    pub fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.oid() == oid)
    }

    /// The lower-case name JSON formats use (`"sha256"`, …: sigstore's time-stamp
    /// request, Rekor's `hashedrekord`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// The algorithm of a JSON name, if accepted.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The AlgorithmIdentifier with absent parameters (RFC 5754 §2: "the parameters
    /// field ... SHOULD be omitted" by implementations; either form is accepted).
    pub fn identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }

    /// The aws-lc-rs digest (to hash with, or to import a digest as).
    pub fn digest_algorithm(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            Self::Sha256 => &aws_lc_rs::digest::SHA256,
            Self::Sha384 => &aws_lc_rs::digest::SHA384,
            Self::Sha512 => &aws_lc_rs::digest::SHA512,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SigAlg {
    Ecdsa(HashAlgorithm),
    RsaPkcs1(HashAlgorithm),
    RsaPss(HashAlgorithm),
    Ed25519,
}

enum Key<'a> {
    P256(&'a [u8]),
    P384(&'a [u8]),
    P521(&'a [u8]),
    /// PKCS#1 RSAPublicKey DER.
    Rsa(&'a [u8]),
    Ed25519(&'a [u8]),
}

impl Key<'_> {
    fn name(&self) -> &'static str {
        match self {
            Key::P256(_) => "ECDSA P-256",
            Key::P384(_) => "ECDSA P-384",
            Key::P521(_) => "ECDSA P-521",
            Key::Rsa(_) => "RSA",
            Key::Ed25519(_) => "Ed25519",
        }
    }
}

/// RFC 3279 §2.3.1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    #[allow(dead_code)]
    public_exponent: UintRef<'a>,
}

/// RFC 4055 §3.1.
///
/// ```text
/// RSASSA-PSS-params  ::=  SEQUENCE  {
///     hashAlgorithm      [0] HashAlgorithm DEFAULT sha1Identifier,
///     maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
///     saltLength         [2] INTEGER DEFAULT 20,
///     trailerField       [3] INTEGER DEFAULT 1  }
/// ```
#[derive(Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", optional = "true")]
    trailer_field: Option<u32>,
}

/// The modulus size in bits of a PKCS#1 `RSAPublicKey`.
pub(crate) fn rsa_modulus_bits(pkcs1_der: &[u8]) -> Result<usize, VerifyError> {
    let key =
        RsaPublicKey::from_der(pkcs1_der).map_err(|e| VerifyError::MalformedKey(e.to_string()))?;
    let n = key.modulus.as_bytes();
    Ok(match n.first() {
        Some(first) => n.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    })
}

fn parse_key(spki_der: &[u8]) -> Result<Key<'_>, VerifyError> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| VerifyError::MalformedKey(e.to_string()))?;
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| VerifyError::MalformedKey("public key has unused bits".into()))?;
    let alg = &spki.algorithm;
    match alg.oid {
        rfc5912::ID_EC_PUBLIC_KEY => {
            let curve: ObjectIdentifier = alg
                .parameters
                .as_ref()
                .ok_or_else(|| VerifyError::MalformedKey("EC key without curve".into()))?
                .decode_as()
                .map_err(|e: der::Error| VerifyError::MalformedKey(e.to_string()))?;
            match curve {
                rfc5912::SECP_256_R_1 => Ok(Key::P256(bits)),
                rfc5912::SECP_384_R_1 => Ok(Key::P384(bits)),
                rfc5912::SECP_521_R_1 => Ok(Key::P521(bits)),
                other => Err(VerifyError::UnsupportedKey(format!("EC curve {other}"))),
            }
        }
        rfc5912::RSA_ENCRYPTION | rfc5912::ID_RSASSA_PSS => {
            let size = rsa_modulus_bits(bits)?;
            if size < MIN_RSA_BITS {
                return Err(VerifyError::RsaKeyTooSmall(size));
            }
            Ok(Key::Rsa(bits))
        }
        rfc8410::ID_ED_25519 => Ok(Key::Ed25519(bits)),
        other => Err(VerifyError::UnsupportedKey(other.to_string())),
    }
}

/// What a SubjectPublicKeyInfo holds, as far as choosing a signature algorithm goes: a
/// format that names the algorithm beside the key (sigstore's `PublicKeyDetails`)
/// checks the two agree with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKeyKind {
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// ECDSA on NIST P-521.
    EcdsaP521,
    /// An rsaEncryption key with a modulus of `bits` bits.
    Rsa {
        /// The modulus length.
        bits: usize,
    },
    /// An id-RSASSA-PSS key (RFC 4055 §1.2: usable for PSS signatures only).
    RsaPss {
        /// The modulus length.
        bits: usize,
    },
    /// Ed25519 (RFC 8410).
    Ed25519,
}

/// The kind of key in `spki_der`, for the keys this module verifies with. The key
/// itself is parsed by aws-lc-rs (an EC point must lie on its curve), so a malformed
/// key is reported here rather than as a failed signature later.
pub fn public_key_kind(spki_der: &[u8]) -> Result<PublicKeyKind, VerifyError> {
    let key = parse_key(spki_der)?;
    let (kind, algorithm, key_bytes): (_, &'static dyn VerificationAlgorithm, _) = match key {
        Key::P256(k) => (
            PublicKeyKind::EcdsaP256,
            &signature::ECDSA_P256_SHA256_ASN1,
            k,
        ),
        Key::P384(k) => (
            PublicKeyKind::EcdsaP384,
            &signature::ECDSA_P384_SHA384_ASN1,
            k,
        ),
        Key::P521(k) => (
            PublicKeyKind::EcdsaP521,
            &signature::ECDSA_P521_SHA512_ASN1,
            k,
        ),
        Key::Rsa(k) => {
            let bits = rsa_modulus_bits(k)?;
            let kind = if spki_is_pss(spki_der) {
                PublicKeyKind::RsaPss { bits }
            } else {
                PublicKeyKind::Rsa { bits }
            };
            (kind, &signature::RSA_PKCS1_2048_8192_SHA256, k)
        }
        Key::Ed25519(k) => (PublicKeyKind::Ed25519, &signature::ED25519, k),
    };
    signature::ParsedPublicKey::new(algorithm, key_bytes)
        .map_err(|e| VerifyError::MalformedKey(format!("{}: {e}", key.name())))?;
    Ok(kind)
}

/// RSA PKCS#1 v1.5 algorithm identifiers carry NULL or absent parameters (RFC 4055 §5).
fn require_null_or_absent(alg: &AlgorithmIdentifierOwned) -> Result<(), VerifyError> {
    match &alg.parameters {
        None => Ok(()),
        Some(p) if p.tag() == der::Tag::Null && p.value().is_empty() => Ok(()),
        Some(_) => Err(VerifyError::BadParameters(format!(
            "{} must have NULL or absent parameters",
            alg.oid
        ))),
    }
}

fn require_absent(alg: &AlgorithmIdentifierOwned) -> Result<(), VerifyError> {
    match alg.parameters {
        None => Ok(()),
        Some(_) => Err(VerifyError::BadParameters(format!(
            "{} must have absent parameters",
            alg.oid
        ))),
    }
}

fn parse_pss(alg: &AlgorithmIdentifierOwned) -> Result<HashAlgorithm, VerifyError> {
    let bad = |m: &str| VerifyError::BadParameters(format!("RSASSA-PSS: {m}"));
    let params: PssParams = alg
        .parameters
        .as_ref()
        .ok_or_else(|| bad("parameters required"))?
        .decode_as()
        .map_err(|e: der::Error| bad(&e.to_string()))?;
    // The SHA-1 defaults are not supported: hashAlgorithm must be explicit.
    let hash_alg = params.hash.ok_or_else(|| bad("SHA-1 is not supported"))?;
    let hash = HashAlgorithm::from_oid(hash_alg.oid).ok_or_else(|| bad("unsupported hash"))?;
    let mgf = params
        .mask_gen
        .ok_or_else(|| bad("MGF1-SHA1 is not supported"))?;
    if mgf.oid != rfc5912::ID_MGF_1 {
        return Err(bad("mask generation function must be MGF1"));
    }
    let mgf_hash: AlgorithmIdentifierOwned = mgf
        .parameters
        .as_ref()
        .ok_or_else(|| bad("MGF1 without hash"))?
        .decode_as()
        .map_err(|e: der::Error| bad(&e.to_string()))?;
    if HashAlgorithm::from_oid(mgf_hash.oid) != Some(hash) {
        return Err(bad("MGF1 hash must equal the message hash"));
    }
    if params.salt_length.map(|l| l as usize) != Some(hash.digest_len()) {
        return Err(bad("salt length must equal the hash length"));
    }
    if params.trailer_field.unwrap_or(1) != 1 {
        return Err(bad("trailerField must be 1"));
    }
    Ok(hash)
}

fn parse_sig_alg(alg: &AlgorithmIdentifierOwned) -> Result<SigAlg, VerifyError> {
    Ok(match alg.oid {
        rfc5912::ECDSA_WITH_SHA_256 | rfc5912::ECDSA_WITH_SHA_384 | rfc5912::ECDSA_WITH_SHA_512 => {
            require_absent(alg)?;
            SigAlg::Ecdsa(match alg.oid {
                rfc5912::ECDSA_WITH_SHA_256 => HashAlgorithm::Sha256,
                rfc5912::ECDSA_WITH_SHA_384 => HashAlgorithm::Sha384,
                _ => HashAlgorithm::Sha512,
            })
        }
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION
        | rfc5912::SHA_384_WITH_RSA_ENCRYPTION
        | rfc5912::SHA_512_WITH_RSA_ENCRYPTION => {
            require_null_or_absent(alg)?;
            SigAlg::RsaPkcs1(match alg.oid {
                rfc5912::SHA_256_WITH_RSA_ENCRYPTION => HashAlgorithm::Sha256,
                rfc5912::SHA_384_WITH_RSA_ENCRYPTION => HashAlgorithm::Sha384,
                _ => HashAlgorithm::Sha512,
            })
        }
        rfc5912::ID_RSASSA_PSS => SigAlg::RsaPss(parse_pss(alg)?),
        rfc8410::ID_ED_25519 => {
            require_absent(alg)?;
            SigAlg::Ed25519
        }
        other => return Err(VerifyError::UnsupportedAlgorithm(other.to_string())),
    })
}

/// The aws-lc-rs algorithm for `alg` with `key`, and the key bytes it takes.
fn select<'k>(
    key: &Key<'k>,
    alg: SigAlg,
) -> Result<(&'static dyn VerificationAlgorithm, &'k [u8]), VerifyError> {
    use HashAlgorithm::*;
    Ok(match (key, alg) {
        (Key::P256(k), SigAlg::Ecdsa(Sha256)) => (&signature::ECDSA_P256_SHA256_ASN1, k),
        (Key::P256(k), SigAlg::Ecdsa(Sha384)) => (&signature::ECDSA_P256_SHA384_ASN1, k),
        (Key::P256(k), SigAlg::Ecdsa(Sha512)) => (&signature::ECDSA_P256_SHA512_ASN1, k),
        (Key::P384(k), SigAlg::Ecdsa(Sha256)) => (&signature::ECDSA_P384_SHA256_ASN1, k),
        (Key::P384(k), SigAlg::Ecdsa(Sha384)) => (&signature::ECDSA_P384_SHA384_ASN1, k),
        (Key::P384(k), SigAlg::Ecdsa(Sha512)) => (&signature::ECDSA_P384_SHA512_ASN1, k),
        (Key::P521(k), SigAlg::Ecdsa(Sha256)) => (&signature::ECDSA_P521_SHA256_ASN1, k),
        (Key::P521(k), SigAlg::Ecdsa(Sha384)) => (&signature::ECDSA_P521_SHA384_ASN1, k),
        (Key::P521(k), SigAlg::Ecdsa(Sha512)) => (&signature::ECDSA_P521_SHA512_ASN1, k),
        (Key::Rsa(k), SigAlg::RsaPkcs1(Sha256)) => (&signature::RSA_PKCS1_2048_8192_SHA256, k),
        (Key::Rsa(k), SigAlg::RsaPkcs1(Sha384)) => (&signature::RSA_PKCS1_2048_8192_SHA384, k),
        (Key::Rsa(k), SigAlg::RsaPkcs1(Sha512)) => (&signature::RSA_PKCS1_2048_8192_SHA512, k),
        (Key::Rsa(k), SigAlg::RsaPss(Sha256)) => (&signature::RSA_PSS_2048_8192_SHA256, k),
        (Key::Rsa(k), SigAlg::RsaPss(Sha384)) => (&signature::RSA_PSS_2048_8192_SHA384, k),
        (Key::Rsa(k), SigAlg::RsaPss(Sha512)) => (&signature::RSA_PSS_2048_8192_SHA512, k),
        (Key::Ed25519(k), SigAlg::Ed25519) => (&signature::ED25519, k),
        (key, alg) => {
            return Err(VerifyError::KeyAlgorithmMismatch {
                algorithm: format!("{alg:?}"),
                key: key.name(),
            });
        }
    })
}

fn verify_parsed(
    key: &Key<'_>,
    alg: SigAlg,
    message: &[u8],
    sig: &[u8],
) -> Result<(), VerifyError> {
    let (algorithm, key_bytes) = select(key, alg)?;
    UnparsedPublicKey::new(algorithm, key_bytes)
        .verify(message, sig)
        .map_err(|_| VerifyError::BadSignature)
}

/// How a bare public key signs when no signature algorithm is named beside it (a
/// sigstore verifier loaded from a key alone): ECDSA and RSA PKCS#1 v1.5 with `hash`,
/// Ed25519 as itself. An RSASSA-PSS key (id-RSASSA-PSS SubjectPublicKeyInfo) signs
/// with PSS, MGF1 with `hash` and a salt as long as the hash.
fn key_default(key: &Key<'_>, spki_is_pss: bool, hash: HashAlgorithm) -> SigAlg {
    match key {
        Key::P256(_) | Key::P384(_) | Key::P521(_) => SigAlg::Ecdsa(hash),
        Key::Rsa(_) if spki_is_pss => SigAlg::RsaPss(hash),
        Key::Rsa(_) => SigAlg::RsaPkcs1(hash),
        Key::Ed25519(_) => SigAlg::Ed25519,
    }
}

fn spki_is_pss(spki_der: &[u8]) -> bool {
    SubjectPublicKeyInfoRef::from_der(spki_der)
        .is_ok_and(|spki| spki.algorithm.oid == rfc5912::ID_RSASSA_PSS)
}

/// Verifies `signature` over `message` by the key in `spki_der`, the algorithm following
/// from the key: ECDSA (P-256, P-384, P-521) or RSA (PKCS#1 v1.5, or PSS for an RSASSA-PSS key)
/// with `hash`, Ed25519 over the message itself (`hash` unused).
///
/// This is how sigstore verifies with a key that comes without an algorithm identifier:
/// a DSSE signature, a Signed Entry Timestamp.
pub fn verify_by_key(
    spki_der: &[u8],
    hash: HashAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let key = parse_key(spki_der)?;
    let alg = key_default(&key, spki_is_pss(spki_der), hash);
    verify_parsed(&key, alg, message, signature)
}

/// Verifies `signature` over a message known only by its `digest` (made with `hash`),
/// by the key in `spki_der`: ECDSA (P-256, P-384, P-521) and RSA (PKCS#1 v1.5, or PSS for an
/// RSASSA-PSS key) sign the digest itself, so no message is needed.
///
/// Ed25519 is refused with [`VerifyError::UnsupportedAlgorithm`]: plain Ed25519 signs
/// the whole message, and its pre-hashed variant (Ed25519ph) is not offered by
/// aws-lc-rs. A digest whose length is not `hash`'s is [`VerifyError::BadParameters`].
pub fn verify_prehashed(
    spki_der: &[u8],
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let key = parse_key(spki_der)?;
    if let Key::Ed25519(_) = key {
        return Err(VerifyError::UnsupportedAlgorithm(
            "Ed25519 over a digest (Ed25519ph)".into(),
        ));
    }
    let digest = aws_lc_rs::digest::Digest::import_less_safe(digest, hash.digest_algorithm())
        .map_err(|_| {
            VerifyError::BadParameters(format!(
                "a {hash:?} digest is {} bytes, not {}",
                hash.digest_len(),
                digest.len()
            ))
        })?;
    let (algorithm, key_bytes) = select(&key, key_default(&key, spki_is_pss(spki_der), hash))?;
    UnparsedPublicKey::new(algorithm, key_bytes)
        .verify_digest(&digest, signature)
        .map_err(|_| VerifyError::BadSignature)
}

/// Verifies `signature` over `message` by the key in `spki_der` under the X.509
/// `algorithm` (a certificate's `signatureAlgorithm`).
///
/// Supported: ecdsa-with-SHA256/384/512 with P-256/P-384/P-521 keys;
/// sha256/384/512WithRSAEncryption; RSASSA-PSS with SHA-256/384/512, MGF1 with the same
/// hash and salt length equal to the hash length; Ed25519. RSA keys below
/// [`MIN_RSA_BITS`] are rejected with [`VerifyError::RsaKeyTooSmall`].
pub fn verify_signature(
    spki_der: &[u8],
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let alg = parse_sig_alg(algorithm)?;
    let key = parse_key(spki_der)?;
    verify_parsed(&key, alg, message, signature)
}

/// Verifies an RFC 6962 `DigitallySigned` (SCT or STH signature): RFC 6962 §2.1.4 allows
/// only ECDSA NIST P-256 with SHA-256 or RSA PKCS#1 v1.5 with SHA-256.
pub fn verify_digitally_signed(
    spki_der: &[u8],
    message: &[u8],
    ds: &DigitallySigned,
) -> Result<(), VerifyError> {
    if ds.hash != DigitallySigned::HASH_SHA256 {
        return Err(VerifyError::UnsupportedAlgorithm(format!(
            "TLS HashAlgorithm {}",
            ds.hash
        )));
    }
    let alg = match ds.signature_algorithm {
        DigitallySigned::SIG_ECDSA => SigAlg::Ecdsa(HashAlgorithm::Sha256),
        DigitallySigned::SIG_RSA => SigAlg::RsaPkcs1(HashAlgorithm::Sha256),
        other => {
            return Err(VerifyError::UnsupportedAlgorithm(format!(
                "TLS SignatureAlgorithm {other}"
            )));
        }
    };
    let key = parse_key(spki_der)?;
    if matches!(alg, SigAlg::Ecdsa(_)) && !matches!(key, Key::P256(_)) {
        return Err(VerifyError::KeyAlgorithmMismatch {
            algorithm: "RFC 6962 ecdsa(3) requires P-256".into(),
            key: key.name(),
        });
    }
    verify_parsed(&key, alg, message, &ds.signature)
}

#[cfg(test)]
mod tests;
