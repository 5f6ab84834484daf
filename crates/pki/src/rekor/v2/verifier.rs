//! The verifier of a Rekor v2 signature: a public key or a certificate, and the
//! `PublicKeyDetails` naming the algorithm it signs with.
//!
//! ```text
//! message Verifier {                          // rekor-tiles api/proto/rekor/v2/verifier.proto
//!     oneof verifier {
//!         PublicKey public_key = 1;           // { bytes raw_bytes = 1; }  SPKI DER
//!         dev.sigstore.common.v1.X509Certificate x509_certificate = 2;
//!                                             // { bytes raw_bytes = 1; }  certificate DER
//!     }
//!     dev.sigstore.common.v1.PublicKeyDetails key_details = 3;
//! }
//! ```
//!
//! rekor-tiles logs the verifier exactly as submitted (its raw bytes are not
//! re-encoded), so this type keeps them; it checks what rekor-tiles checks — the bytes
//! parse as Go's `x509.ParsePKIXPublicKey` / `x509.ParseCertificate` would take them and
//! `key_details` is an algorithm of its allowed set for this key — and, beyond it, that
//! the key is exactly the kind (curve, RSA modulus size) `key_details` names.

use const_oid::db::{rfc5912, rfc8410};
use der::{Decode, Encode, Tag, Tagged};
use serde_json::{Value, json};
use spki::SubjectPublicKeyInfoRef;
use x509_cert::Certificate;

use super::MAX_VERIFIER_DER_BYTES;
use crate::ct_api::b64;
use crate::rekor::RekorError;
use crate::rekor::entry::bounded;
use crate::verify::{HashAlgorithm, PublicKeyKind, public_key_kind, verify_by_key};

/// The `PublicKeyDetails` this log verifies with: rekor-tiles' default
/// `AllowedClientSigningAlgorithms` (sigstore's algorithm registry) less Ed25519ph, plus
/// pure Ed25519 for DSSE envelopes, whose whole message the log has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyDetails {
    /// `PKIX_RSA_PKCS1V15_2048_SHA256`.
    RsaPkcs1v15_2048Sha256,
    /// `PKIX_RSA_PKCS1V15_3072_SHA256`.
    RsaPkcs1v15_3072Sha256,
    /// `PKIX_RSA_PKCS1V15_4096_SHA256`.
    RsaPkcs1v15_4096Sha256,
    /// `PKIX_ECDSA_P256_SHA_256`.
    EcdsaP256Sha256,
    /// `PKIX_ECDSA_P384_SHA_384`.
    EcdsaP384Sha384,
    /// `PKIX_ECDSA_P521_SHA_512`.
    EcdsaP521Sha512,
    /// `PKIX_ED25519`: pure Ed25519, which signs a whole message (DSSE only).
    Ed25519,
}

/// `PublicKeyDetails` names that exist (protobuf-specs `sigstore_common.proto`) but that
/// this log refuses, with the reason given to the client.
const REFUSED_KEY_DETAILS: &[(&str, &str)] = &[
    (
        "PKIX_ED25519_PH",
        "Ed25519ph (pre-hashed Ed25519) is not offered by aws-lc-rs, so this log cannot verify it",
    ),
    ("PKIX_RSA_PSS_2048_SHA256", RSA_PSS_REFUSED),
    ("PKIX_RSA_PSS_3072_SHA256", RSA_PSS_REFUSED),
    ("PKIX_RSA_PSS_4096_SHA256", RSA_PSS_REFUSED),
    ("PKCS1_RSA_PKCS1V5", DEPRECATED),
    ("PKCS1_RSA_PSS", DEPRECATED),
    ("PKIX_RSA_PKCS1V5", DEPRECATED),
    ("PKIX_RSA_PSS", DEPRECATED),
    ("PKIX_ECDSA_P256_HMAC_SHA_256", DEPRECATED),
    ("PKIX_ECDSA_P384_SHA_256", DEPRECATED),
    ("PKIX_ECDSA_P521_SHA_256", DEPRECATED),
    ("LMS_SHA256", DEPRECATED),
    ("LMOTS_SHA256", DEPRECATED),
    ("ML_DSA_65", NOT_ALLOWED),
    ("ML_DSA_87", NOT_ALLOWED),
];
const RSA_PSS_REFUSED: &str =
    "RSASSA-PSS is not among rekor-tiles' allowed client signing algorithms";
const DEPRECATED: &str = "deprecated in sigstore's algorithm registry";
const NOT_ALLOWED: &str = "not among rekor-tiles' allowed client signing algorithms";

impl KeyDetails {
    /// Every supported value.
    pub const ALL: [Self; 7] = [
        Self::RsaPkcs1v15_2048Sha256,
        Self::RsaPkcs1v15_3072Sha256,
        Self::RsaPkcs1v15_4096Sha256,
        Self::EcdsaP256Sha256,
        Self::EcdsaP384Sha384,
        Self::EcdsaP521Sha512,
        Self::Ed25519,
    ];

    /// The protobuf enum value name, as protobuf JSON writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::RsaPkcs1v15_2048Sha256 => "PKIX_RSA_PKCS1V15_2048_SHA256",
            Self::RsaPkcs1v15_3072Sha256 => "PKIX_RSA_PKCS1V15_3072_SHA256",
            Self::RsaPkcs1v15_4096Sha256 => "PKIX_RSA_PKCS1V15_4096_SHA256",
            Self::EcdsaP256Sha256 => "PKIX_ECDSA_P256_SHA_256",
            Self::EcdsaP384Sha384 => "PKIX_ECDSA_P384_SHA_384",
            Self::EcdsaP521Sha512 => "PKIX_ECDSA_P521_SHA_512",
            Self::Ed25519 => "PKIX_ED25519",
        }
    }

    /// Reads an enum value name. A known value this log does not verify with is
    /// [`RekorError::UnsupportedKeyDetails`] with the reason; anything else (the
    /// `UNSPECIFIED` zero value, an unknown name) is malformed.
    pub fn from_name(name: &str) -> Result<Self, RekorError> {
        if let Some(details) = Self::ALL.into_iter().find(|d| d.name() == name) {
            return Ok(details);
        }
        if let Some((_, reason)) = REFUSED_KEY_DETAILS.iter().find(|(n, _)| *n == name) {
            return Err(RekorError::UnsupportedKeyDetails {
                key_details: name.to_string(),
                reason,
            });
        }
        Err(RekorError::Malformed {
            what: "verifier keyDetails",
            detail: format!("{name:?} is not a PublicKeyDetails value this log knows"),
        })
    }

    /// The algorithm a key of this kind signs with: the one `KeyDetails` per key kind
    /// (RSA keys sign PKCS#1 v1.5 with SHA-256, as sigstore's clients do). A key of a
    /// kind this log does not verify (RSA of another size, say) is
    /// [`RekorError::BadPublicKey`].
    pub fn of_spki(spki_der: &[u8]) -> Result<Self, RekorError> {
        let kind =
            public_key_kind(spki_der).map_err(|e| RekorError::BadPublicKey(e.to_string()))?;
        Self::ALL
            .into_iter()
            .find(|d| d.key_kind() == kind)
            .ok_or_else(|| RekorError::BadPublicKey(format!("no algorithm for {}", describe(kind))))
    }

    /// The hash the algorithm applies to the message before signing: what a
    /// hashedrekord's digest must be made with. `None` for pure Ed25519, which hashes
    /// inside the signature scheme.
    pub fn prehash(self) -> Option<HashAlgorithm> {
        match self {
            Self::RsaPkcs1v15_2048Sha256
            | Self::RsaPkcs1v15_3072Sha256
            | Self::RsaPkcs1v15_4096Sha256
            | Self::EcdsaP256Sha256 => Some(HashAlgorithm::Sha256),
            Self::EcdsaP384Sha384 => Some(HashAlgorithm::Sha384),
            Self::EcdsaP521Sha512 => Some(HashAlgorithm::Sha512),
            Self::Ed25519 => None,
        }
    }

    /// The one kind of key the algorithm signs with.
    fn key_kind(self) -> PublicKeyKind {
        match self {
            Self::RsaPkcs1v15_2048Sha256 => PublicKeyKind::Rsa { bits: 2048 },
            Self::RsaPkcs1v15_3072Sha256 => PublicKeyKind::Rsa { bits: 3072 },
            Self::RsaPkcs1v15_4096Sha256 => PublicKeyKind::Rsa { bits: 4096 },
            Self::EcdsaP256Sha256 => PublicKeyKind::EcdsaP256,
            Self::EcdsaP384Sha384 => PublicKeyKind::EcdsaP384,
            Self::EcdsaP521Sha512 => PublicKeyKind::EcdsaP521,
            Self::Ed25519 => PublicKeyKind::Ed25519,
        }
    }
}

/// Which member of the `verifier` oneof carries the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifierForm {
    /// `publicKey`: a SubjectPublicKeyInfo.
    PublicKey,
    /// `x509Certificate`: a certificate, whose key is used as is (rekor-tiles checks no
    /// validity period or chain).
    X509Certificate,
}

/// A parsed, checked `Verifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    form: VerifierForm,
    /// The DER as submitted, which the log entry repeats.
    raw_bytes: Vec<u8>,
    spki_der: Vec<u8>,
    key_details: KeyDetails,
}

impl Verifier {
    /// A verifier from its oneof member's raw bytes and its key details.
    pub fn new(
        form: VerifierForm,
        raw_bytes: Vec<u8>,
        key_details: KeyDetails,
    ) -> Result<Self, RekorError> {
        bounded("verifier", raw_bytes.len(), MAX_VERIFIER_DER_BYTES)?;
        let bad = |m: String| RekorError::BadPublicKey(m);
        let spki_der = match form {
            VerifierForm::PublicKey => raw_bytes.clone(),
            VerifierForm::X509Certificate => Certificate::from_der(&raw_bytes)
                .map_err(|e| bad(format!("certificate: {e}")))?
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(|e| bad(e.to_string()))?,
        };
        check_key(&spki_der, key_details)?;
        Ok(Self {
            form,
            raw_bytes,
            spki_der,
            key_details,
        })
    }

    /// Whether the key came bare or in a certificate.
    pub fn form(&self) -> VerifierForm {
        self.form
    }

    /// The DER as submitted (SubjectPublicKeyInfo or certificate).
    pub fn raw_bytes(&self) -> &[u8] {
        &self.raw_bytes
    }

    /// The key's SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The algorithm the key signs with.
    pub fn key_details(&self) -> KeyDetails {
        self.key_details
    }

    /// Verifies `signature` over a whole `message` (a DSSE pre-authentication
    /// encoding), as rekor-tiles does with `signature.LoadVerifier(key, hash of
    /// key_details)`.
    pub(super) fn verify_message(&self, message: &[u8], signature: &[u8]) -> bool {
        // Pure Ed25519 has no prehash: verify_by_key ignores the hash for it.
        let hash = self.key_details.prehash().unwrap_or(HashAlgorithm::Sha512);
        verify_by_key(&self.spki_der, hash, message, signature).is_ok()
    }

    /// The protobuf JSON of the verifier, lowerCamel names.
    pub(super) fn to_json(&self) -> Value {
        let member = match self.form {
            VerifierForm::PublicKey => "publicKey",
            VerifierForm::X509Certificate => "x509Certificate",
        };
        json!({
            (member): {"rawBytes": b64::encode(&self.raw_bytes)},
            "keyDetails": self.key_details.name(),
        })
    }
}

/// The key must be the kind `key_details` names, and be encoded as Go's
/// `x509.ParsePKIXPublicKey` requires: an RSA key with NULL parameters (Go: "RSA key
/// missing NULL parameters"), an Ed25519 key without any (RFC 8410 §3: "the
/// parameters MUST be absent").
fn check_key(spki_der: &[u8], key_details: KeyDetails) -> Result<(), RekorError> {
    let kind = public_key_kind(spki_der).map_err(|e| RekorError::BadPublicKey(e.to_string()))?;
    if kind != key_details.key_kind() {
        return Err(RekorError::KeyDetailsMismatch {
            key_details: key_details.name(),
            key: describe(kind),
        });
    }
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| RekorError::BadPublicKey(e.to_string()))?;
    let parameters = spki.algorithm.parameters.as_ref();
    let well_formed = match spki.algorithm.oid {
        rfc5912::RSA_ENCRYPTION => {
            parameters.is_some_and(|p| p.tag() == Tag::Null && p.value().is_empty())
        }
        rfc8410::ID_ED_25519 => parameters.is_none(),
        _ => true,
    };
    if !well_formed {
        return Err(RekorError::BadPublicKey(format!(
            "{} key with parameters Go's x509 package refuses",
            describe(kind)
        )));
    }
    Ok(())
}

fn describe(kind: PublicKeyKind) -> String {
    match kind {
        PublicKeyKind::EcdsaP256 => "ECDSA P-256".into(),
        PublicKeyKind::EcdsaP384 => "ECDSA P-384".into(),
        PublicKeyKind::EcdsaP521 => "ECDSA P-521".into(),
        PublicKeyKind::Rsa { bits } => format!("RSA {bits}-bit"),
        PublicKeyKind::RsaPss { bits } => format!("RSASSA-PSS {bits}-bit"),
        PublicKeyKind::Ed25519 => "Ed25519".into(),
    }
}
