//! sigstore's `Bundle`: a signature with everything needed to verify it offline — the
//! signing certificate, the transparency log entry with its inclusion proof, and RFC
//! 3161 timestamps. Protobuf JSON, `dev.sigstore.bundle.v1`.
//!
//! ```text
//! message Bundle {                                  // protobuf-specs sigstore_bundle.proto
//!     string media_type = 1;
//!     VerificationMaterial verification_material = 2;
//!     oneof content {
//!         dev.sigstore.common.v1.MessageSignature message_signature = 3;
//!         io.intoto.Envelope dsse_envelope = 4;
//!     }
//! }
//! message VerificationMaterial {
//!     oneof content {
//!         dev.sigstore.common.v1.PublicKeyIdentifier public_key = 1;       // { string hint = 1; }
//!         dev.sigstore.common.v1.X509CertificateChain x509_certificate_chain = 2;
//!         dev.sigstore.common.v1.X509Certificate certificate = 5;         // { bytes raw_bytes = 1; }
//!     }
//!     repeated dev.sigstore.rekor.v1.TransparencyLogEntry tlog_entries = 3;
//!     TimestampVerificationData timestamp_verification_data = 4;
//! }
//! message TimestampVerificationData {
//!     repeated dev.sigstore.common.v1.RFC3161SignedTimestamp rfc3161_timestamps = 1;
//! }                                                 // { bytes signed_timestamp = 1; }
//! message MessageSignature {                        // sigstore_common.proto
//!     HashOutput message_digest = 1;                // { HashAlgorithm algorithm = 1; bytes digest = 2; }
//!     bytes signature = 2;
//! }
//! message Envelope {                                // in-toto / DSSE envelope.proto
//!     bytes payload = 1; string payloadType = 2; repeated Signature signatures = 3;
//! }                                                 // Signature { bytes sig = 1; string keyid = 2; }
//! ```
//!
//! Read as sigstore-python 4.5.1 reads a bundle (`sigstore_models` with
//! `extra="forbid"`, then `Bundle._verify`): the four media types it knows; exactly one
//! verification material and one content; a v0.3 bundle carries the signing
//! `certificate`, an older one an `x509CertificateChain` whose first certificate is a
//! leaf; exactly one log entry, of kind version 0.0.1 or 0.0.2, with an inclusion proof
//! and checkpoint; a v0.1 bundle an inclusion promise, a later one an inclusion promise
//! or at least one RFC 3161 timestamp; each timestamp a DER `TimeStampResp`. A bundle
//! that names its signer by a `publicKey` hint is refused, as there: nothing in the
//! bundle binds the key, and sigstore's verifiers take certificates only.
//!
//! Written as v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`) by signers; a
//! bundle read in another version is written back in its own.

use der::Decode;
use thiserror::Error;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

use crate::rekor::RekorError;
use crate::rekor::tle::TransparencyLogEntry;
use crate::tsp::TimeStampResp;
use crate::verify::HashAlgorithm;

/// The largest bundle read, in bytes of JSON. A hashedrekord bundle is a few KiB; DSSE
/// envelopes carry attestations, which sigstore's own services cap well below this.
pub const MAX_BUNDLE_BYTES: usize = 16 << 20;
/// The most certificates in a v0.1/v0.2 `x509CertificateChain`.
pub const MAX_CHAIN_CERTIFICATES: usize = 16;
/// The most RFC 3161 timestamps read (sigstore-python and sigstore-go refuse more than
/// 32 at verification; a reader has no use for more either).
pub const MAX_TIMESTAMPS: usize = 32;
/// The most DSSE signatures in an envelope.
pub const MAX_DSSE_SIGNATURES: usize = 16;

/// Why a bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BundleError {
    /// Over [`MAX_BUNDLE_BYTES`].
    #[error("bundle of {0} bytes exceeds the {MAX_BUNDLE_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not JSON of the bundle's shape: a missing or unknown field, a wrong type, bad
    /// base64, an unknown enum name.
    #[error("malformed bundle: {0}")]
    Malformed(String),
    /// A `mediaType` none of sigstore's bundle versions.
    #[error("unsupported bundle media type {0:?}")]
    UnsupportedMediaType(String),
    /// Not exactly one of `publicKey`, `x509CertificateChain`, `certificate`.
    #[error("exactly one of publicKey, x509CertificateChain or certificate must be set")]
    VerificationMaterialOneof,
    /// Not exactly one of `messageSignature`, `dsseEnvelope`.
    #[error("exactly one of messageSignature or dsseEnvelope must be set")]
    ContentOneof,
    /// A v0.3 bundle without `certificate`.
    #[error("a v0.3 bundle must carry its signing certificate in `certificate`")]
    ExpectedCertificate,
    /// A v0.1/v0.2 bundle without `x509CertificateChain`, or with an empty one.
    #[error("a v0.1/v0.2 bundle must carry a non-empty x509CertificateChain")]
    ExpectedCertificateChain,
    /// A bundle whose signer is named by a `publicKey` hint.
    #[error("bundles naming a public key instead of a certificate are not supported")]
    PublicKeyMaterial,
    /// More certificates than [`MAX_CHAIN_CERTIFICATES`].
    #[error("x509CertificateChain of {0} certificates, more than {MAX_CHAIN_CERTIFICATES}")]
    ChainTooLong(usize),
    /// A certificate that does not parse.
    #[error("certificate {index} does not parse: {reason}")]
    Certificate {
        /// Position (0 for `certificate`).
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The first certificate of a chain is a CA certificate.
    #[error("the signing certificate is a CA certificate, not a leaf")]
    NotALeaf,
    /// Not exactly one transparency log entry.
    #[error("expected exactly one transparency log entry, found {0}")]
    LogEntryCount(usize),
    /// A log entry of a kind version other than 0.0.1 and 0.0.2.
    #[error("log entry version {0:?} is not 0.0.1 or 0.0.2")]
    IncompatibleEntry(String),
    /// The log entry is malformed.
    #[error("log entry: {0}")]
    LogEntry(RekorError),
    /// A v0.1 bundle without an inclusion promise.
    #[error("a v0.1 bundle must carry an inclusion promise")]
    MissingInclusionPromise,
    /// A v0.2+ bundle with neither an inclusion promise nor a signed timestamp.
    #[error("the bundle must carry an inclusion promise or signed timestamps")]
    NoSignedTime,
    /// More timestamps than [`MAX_TIMESTAMPS`].
    #[error("{0} signed timestamps, more than {MAX_TIMESTAMPS}")]
    TooManyTimestamps(usize),
    /// A `signedTimestamp` that is not a DER `TimeStampResp`.
    #[error("signed timestamp {index} is not a TimeStampResp: {reason}")]
    Timestamp {
        /// Position in `rfc3161Timestamps`.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A DSSE envelope without signatures, or with more than [`MAX_DSSE_SIGNATURES`].
    #[error("DSSE envelope with {0} signatures")]
    DsseSignatureCount(usize),
    /// A `messageDigest` whose length is not that of its algorithm.
    #[error("messageDigest of {len} bytes is not a {algorithm} digest")]
    DigestLength {
        /// The named algorithm.
        algorithm: &'static str,
        /// The digest's length.
        len: usize,
    },
    /// The bundle could not be written.
    #[error("bundle cannot be written: {0}")]
    Write(String),
}

/// The bundle versions sigstore-python reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleMediaType {
    /// `application/vnd.dev.sigstore.bundle+json;version=0.1`.
    V0_1,
    /// `application/vnd.dev.sigstore.bundle+json;version=0.2`.
    V0_2,
    /// `application/vnd.dev.sigstore.bundle+json;version=0.3`, the form v0.3 had
    /// before its media type was renamed.
    V0_3Legacy,
    /// `application/vnd.dev.sigstore.bundle.v0.3+json`.
    V0_3,
}

impl BundleMediaType {
    /// The media type string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_1 => "application/vnd.dev.sigstore.bundle+json;version=0.1",
            Self::V0_2 => "application/vnd.dev.sigstore.bundle+json;version=0.2",
            Self::V0_3Legacy => "application/vnd.dev.sigstore.bundle+json;version=0.3",
            Self::V0_3 => "application/vnd.dev.sigstore.bundle.v0.3+json",
        }
    }

    /// The media type named by `text`, if sigstore has such a bundle version.
    pub fn from_name(text: &str) -> Option<Self> {
        [Self::V0_1, Self::V0_2, Self::V0_3Legacy, Self::V0_3]
            .into_iter()
            .find(|t| t.as_str() == text)
    }

    fn is_v0_3(self) -> bool {
        matches!(self, Self::V0_3 | Self::V0_3Legacy)
    }
}

/// A bundle, with the invariants of sigstore-python's `Bundle._verify` established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The bundle's version.
    pub media_type: BundleMediaType,
    /// The signing certificate (DER), and for v0.1/v0.2 the rest of the pool the signer
    /// sent (`x509CertificateChain`, the leaf first).
    pub certificates: SigningCertificates,
    /// The one transparency log entry.
    pub tlog_entry: TransparencyLogEntry,
    /// `timestampVerificationData.rfc3161Timestamps`: DER `TimeStampResp`s. `None` when
    /// the bundle has no `timestampVerificationData` at all (v0.1/v0.2 producers),
    /// which is written back as absent.
    pub rfc3161_timestamps: Option<Vec<Vec<u8>>>,
    /// What was signed.
    pub content: BundleContent,
}

/// How the bundle carries its signing certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningCertificates {
    /// v0.3: `certificate { rawBytes }`.
    Certificate(Vec<u8>),
    /// v0.1/v0.2: `x509CertificateChain { certificates: [{ rawBytes }] }`, leaf first.
    Chain(Vec<Vec<u8>>),
}

impl SigningCertificates {
    /// The signing (leaf) certificate, DER.
    pub fn leaf(&self) -> &[u8] {
        match self {
            Self::Certificate(der) => der,
            // `Bundle::from_json` refuses an empty chain, and the constructors of a
            // chain keep it non-empty.
            Self::Chain(chain) => chain.first().map(Vec::as_slice).unwrap_or(&[]),
        }
    }
}

/// The bundle's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleContent {
    /// A signature over an artifact's digest (hashedrekord).
    MessageSignature(MessageSignature),
    /// A DSSE envelope (attestations).
    DsseEnvelope(DsseEnvelope),
}

/// `dev.sigstore.common.v1.MessageSignature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSignature {
    /// The artifact's digest, "for artifact identification only": a verifier compares
    /// it with the digest it computed, never trusts it.
    pub message_digest: Option<MessageDigest>,
    /// The signature over the artifact's digest.
    pub signature: Vec<u8>,
}

/// `dev.sigstore.common.v1.HashOutput`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDigest {
    /// `SHA2_256`, `SHA2_384` or `SHA2_512`.
    pub algorithm: HashAlgorithm,
    /// The digest.
    pub digest: Vec<u8>,
}

/// `io.intoto.Envelope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsseEnvelope {
    /// The payload.
    pub payload: Vec<u8>,
    /// Its type (`application/vnd.in-toto+json`).
    pub payload_type: String,
    /// At least one signature.
    pub signatures: Vec<DsseSignature>,
}

/// `io.intoto.Signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsseSignature {
    /// The signature over the PAE of the payload.
    pub sig: Vec<u8>,
    /// An unauthenticated hint.
    pub keyid: Option<String>,
}

impl Bundle {
    /// A v0.3 bundle of a signature over an artifact digest.
    pub fn new_message_signature(
        certificate_der: Vec<u8>,
        tlog_entry: TransparencyLogEntry,
        rfc3161_timestamps: Vec<Vec<u8>>,
        message_digest: MessageDigest,
        signature: Vec<u8>,
    ) -> Self {
        Self {
            media_type: BundleMediaType::V0_3,
            certificates: SigningCertificates::Certificate(certificate_der),
            tlog_entry,
            rfc3161_timestamps: Some(rfc3161_timestamps),
            content: BundleContent::MessageSignature(MessageSignature {
                message_digest: Some(message_digest),
                signature,
            }),
        }
    }

    /// Reads a bundle and checks it as sigstore-python does before verifying.
    pub fn from_json(json: &[u8]) -> Result<Self, BundleError> {
        if json.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge(json.len()));
        }
        let wire: wire::Bundle =
            serde_json::from_slice(json).map_err(|e| BundleError::Malformed(e.to_string()))?;
        Self::from_wire(wire)
    }

    /// The protobuf JSON of the bundle, in its own version.
    pub fn to_json(&self) -> Result<Vec<u8>, BundleError> {
        serde_json::to_vec(&self.to_wire()).map_err(|e| BundleError::Write(e.to_string()))
    }

    /// The signing certificate, DER.
    pub fn signing_certificate(&self) -> &[u8] {
        self.certificates.leaf()
    }

    /// The signature bytes: the message signature, or the DSSE envelope's first
    /// signature (as sigstore-python's `Bundle.signature`). RFC 3161 timestamps in a
    /// bundle are over these bytes.
    pub fn signature(&self) -> &[u8] {
        match &self.content {
            BundleContent::MessageSignature(m) => &m.signature,
            BundleContent::DsseEnvelope(e) => e.signatures.first().map_or(&[], |s| &s.sig),
        }
    }

    fn from_wire(wire: wire::Bundle) -> Result<Self, BundleError> {
        let media_type = BundleMediaType::from_name(&wire.media_type)
            .ok_or_else(|| BundleError::UnsupportedMediaType(wire.media_type.clone()))?;
        let material = wire.verification_material;
        let set = [
            material.public_key.is_some(),
            material.x509_certificate_chain.is_some(),
            material.certificate.is_some(),
        ];
        if set.iter().filter(|s| **s).count() != 1 {
            return Err(BundleError::VerificationMaterialOneof);
        }
        let content = match (wire.message_signature, wire.dsse_envelope) {
            (Some(m), None) => BundleContent::MessageSignature(m.into_model()?),
            (None, Some(e)) => BundleContent::DsseEnvelope(e.into_model()?),
            _ => return Err(BundleError::ContentOneof),
        };
        if material.public_key.is_some() {
            return Err(BundleError::PublicKeyMaterial);
        }
        let certificates = if media_type.is_v0_3() {
            let cert = material
                .certificate
                .ok_or(BundleError::ExpectedCertificate)?;
            parse_certificate(0, &cert.raw_bytes)?;
            SigningCertificates::Certificate(cert.raw_bytes)
        } else {
            let chain = material
                .x509_certificate_chain
                .ok_or(BundleError::ExpectedCertificateChain)?;
            if chain.certificates.is_empty() {
                return Err(BundleError::ExpectedCertificateChain);
            }
            if chain.certificates.len() > MAX_CHAIN_CERTIFICATES {
                return Err(BundleError::ChainTooLong(chain.certificates.len()));
            }
            let ders: Vec<Vec<u8>> = chain
                .certificates
                .into_iter()
                .map(|c| c.raw_bytes)
                .collect();
            for (index, der) in ders.iter().enumerate() {
                let cert = parse_certificate(index, der)?;
                if index == 0 && !is_leaf(&cert) {
                    return Err(BundleError::NotALeaf);
                }
            }
            SigningCertificates::Chain(ders)
        };

        if material.tlog_entries.len() != 1 {
            return Err(BundleError::LogEntryCount(material.tlog_entries.len()));
        }
        let tlog_entry = material
            .tlog_entries
            .into_iter()
            .next()
            .ok_or(BundleError::LogEntryCount(0))?
            .checked()
            .map_err(BundleError::LogEntry)?;
        let version = &tlog_entry.kind_version.version;
        if version != "0.0.1" && version != "0.0.2" {
            return Err(BundleError::IncompatibleEntry(version.clone()));
        }

        let rfc3161_timestamps = match material.timestamp_verification_data {
            None => None,
            Some(data) => {
                if data.rfc3161_timestamps.len() > MAX_TIMESTAMPS {
                    return Err(BundleError::TooManyTimestamps(
                        data.rfc3161_timestamps.len(),
                    ));
                }
                let mut tokens = Vec::with_capacity(data.rfc3161_timestamps.len());
                for (index, ts) in data.rfc3161_timestamps.into_iter().enumerate() {
                    TimeStampResp::from_der(&ts.signed_timestamp).map_err(|e| {
                        BundleError::Timestamp {
                            index,
                            reason: e.to_string(),
                        }
                    })?;
                    tokens.push(ts.signed_timestamp);
                }
                Some(tokens)
            }
        };
        let has_timestamps = rfc3161_timestamps.as_ref().is_some_and(|t| !t.is_empty());

        // The proof and its checkpoint are required by TransparencyLogEntry's own
        // checks, for every version.
        if media_type == BundleMediaType::V0_1 {
            if tlog_entry.inclusion_promise.is_none() {
                return Err(BundleError::MissingInclusionPromise);
            }
        } else if tlog_entry.inclusion_promise.is_none() && !has_timestamps {
            return Err(BundleError::NoSignedTime);
        }

        Ok(Self {
            media_type,
            certificates,
            tlog_entry,
            rfc3161_timestamps,
            content,
        })
    }

    fn to_wire(&self) -> wire::Bundle {
        let raw = |der: &Vec<u8>| wire::X509Certificate {
            raw_bytes: der.clone(),
        };
        let (certificate, x509_certificate_chain) = match &self.certificates {
            SigningCertificates::Certificate(der) => (Some(raw(der)), None),
            SigningCertificates::Chain(chain) => (
                None,
                Some(wire::X509CertificateChain {
                    certificates: chain.iter().map(raw).collect(),
                }),
            ),
        };
        let (message_signature, dsse_envelope) = match &self.content {
            BundleContent::MessageSignature(m) => (
                Some(wire::MessageSignature {
                    message_digest: m.message_digest.as_ref().map(|d| wire::HashOutput {
                        algorithm: d.algorithm,
                        digest: d.digest.clone(),
                    }),
                    signature: m.signature.clone(),
                }),
                None,
            ),
            BundleContent::DsseEnvelope(e) => (
                None,
                Some(wire::Envelope {
                    payload: e.payload.clone(),
                    payload_type: e.payload_type.clone(),
                    signatures: e
                        .signatures
                        .iter()
                        .map(|s| wire::Signature {
                            sig: s.sig.clone(),
                            keyid: s.keyid.clone(),
                        })
                        .collect(),
                }),
            ),
        };
        wire::Bundle {
            media_type: self.media_type.as_str().to_owned(),
            verification_material: wire::VerificationMaterial {
                public_key: None,
                x509_certificate_chain,
                certificate,
                tlog_entries: vec![self.tlog_entry.clone()],
                timestamp_verification_data: self.rfc3161_timestamps.as_ref().map(|tokens| {
                    wire::TimestampVerificationData {
                        rfc3161_timestamps: tokens
                            .iter()
                            .map(|t| wire::Rfc3161SignedTimestamp {
                                signed_timestamp: t.clone(),
                            })
                            .collect(),
                    }
                }),
            },
            message_signature,
            dsse_envelope,
        }
    }
}

fn parse_certificate(index: usize, der: &[u8]) -> Result<Certificate, BundleError> {
    if der.len() > crate::chain::MAX_CERT_LEN {
        return Err(BundleError::Certificate {
            index,
            reason: format!("{} bytes is too large", der.len()),
        });
    }
    Certificate::from_der(der).map_err(|e| BundleError::Certificate {
        index,
        reason: e.to_string(),
    })
}

/// sigstore-python's `cert_is_leaf`, in what it refuses: a certificate that is a CA
/// (basicConstraints cA) or may sign certificates (keyUsage keyCertSign).
fn is_leaf(cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    let ca = matches!(tbs.get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca);
    let cert_sign =
        matches!(tbs.get_extension::<KeyUsage>(), Ok(Some((_, ku))) if ku.key_cert_sign());
    !ca && !cert_sign
}

/// The protobuf JSON shapes, private: [`Bundle`] is what callers see, with the oneofs
/// resolved and the invariants checked. Either field name is read, as protobuf JSON
/// parsers (and sigstore-python's `validate_by_name`) do; `null` reads as absent.
mod wire {
    use serde::{Deserialize, Serialize};

    use super::{BundleError, MAX_DSSE_SIGNATURES};
    use crate::ct_api::b64;
    use crate::rekor::tle::TransparencyLogEntry;
    use crate::verify::HashAlgorithm;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Bundle {
        #[serde(alias = "media_type")]
        pub media_type: String,
        #[serde(alias = "verification_material")]
        pub verification_material: VerificationMaterial,
        #[serde(
            alias = "message_signature",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        pub message_signature: Option<MessageSignature>,
        #[serde(
            alias = "dsse_envelope",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        pub dsse_envelope: Option<Envelope>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct VerificationMaterial {
        #[serde(alias = "public_key", default, skip_serializing_if = "Option::is_none")]
        pub public_key: Option<PublicKeyIdentifier>,
        #[serde(
            alias = "x509_certificate_chain",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        pub x509_certificate_chain: Option<X509CertificateChain>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub certificate: Option<X509Certificate>,
        #[serde(alias = "tlog_entries")]
        pub tlog_entries: Vec<TransparencyLogEntry>,
        #[serde(
            alias = "timestamp_verification_data",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        pub timestamp_verification_data: Option<TimestampVerificationData>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct PublicKeyIdentifier {
        #[serde(default)]
        pub hint: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct X509CertificateChain {
        pub certificates: Vec<X509Certificate>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct X509Certificate {
        #[serde(alias = "raw_bytes", with = "b64")]
        pub raw_bytes: Vec<u8>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct TimestampVerificationData {
        #[serde(alias = "rfc3161_timestamps", default)]
        pub rfc3161_timestamps: Vec<Rfc3161SignedTimestamp>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Rfc3161SignedTimestamp {
        #[serde(alias = "signed_timestamp", with = "b64")]
        pub signed_timestamp: Vec<u8>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct MessageSignature {
        #[serde(
            alias = "message_digest",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        pub message_digest: Option<HashOutput>,
        #[serde(with = "b64")]
        pub signature: Vec<u8>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct HashOutput {
        #[serde(with = "hash_output_algorithm")]
        pub algorithm: HashAlgorithm,
        #[serde(with = "b64")]
        pub digest: Vec<u8>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Envelope {
        #[serde(with = "b64")]
        pub payload: Vec<u8>,
        // The DSSE proto names this field `payloadType` in proto source too.
        #[serde(rename = "payloadType", alias = "payload_type")]
        pub payload_type: String,
        pub signatures: Vec<Signature>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Signature {
        #[serde(with = "b64")]
        pub sig: Vec<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub keyid: Option<String>,
    }

    impl MessageSignature {
        pub fn into_model(self) -> Result<super::MessageSignature, BundleError> {
            let message_digest = match self.message_digest {
                None => None,
                Some(d) => {
                    if d.digest.len() != d.algorithm.digest_len() {
                        return Err(BundleError::DigestLength {
                            algorithm: d.algorithm.name(),
                            len: d.digest.len(),
                        });
                    }
                    Some(super::MessageDigest {
                        algorithm: d.algorithm,
                        digest: d.digest,
                    })
                }
            };
            Ok(super::MessageSignature {
                message_digest,
                signature: self.signature,
            })
        }
    }

    impl Envelope {
        pub fn into_model(self) -> Result<super::DsseEnvelope, BundleError> {
            let n = self.signatures.len();
            if n == 0 || n > MAX_DSSE_SIGNATURES {
                return Err(BundleError::DsseSignatureCount(n));
            }
            Ok(super::DsseEnvelope {
                payload: self.payload,
                payload_type: self.payload_type,
                signatures: self
                    .signatures
                    .into_iter()
                    .map(|s| super::DsseSignature {
                        sig: s.sig,
                        keyid: s.keyid,
                    })
                    .collect(),
            })
        }
    }

    /// `dev.sigstore.common.v1.HashAlgorithm` names. SHA3 digests, which the enum also
    /// names, are refused: nothing in sigstore signs them and nothing here verifies
    /// them.
    mod hash_output_algorithm {
        use serde::{Deserialize, Deserializer, Serializer};

        use crate::verify::HashAlgorithm;

        pub fn serialize<S: Serializer>(a: &HashAlgorithm, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(match a {
                HashAlgorithm::Sha256 => "SHA2_256",
                HashAlgorithm::Sha384 => "SHA2_384",
                HashAlgorithm::Sha512 => "SHA2_512",
            })
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HashAlgorithm, D::Error> {
            let name = String::deserialize(d)?;
            match name.as_str() {
                "SHA2_256" => Ok(HashAlgorithm::Sha256),
                "SHA2_384" => Ok(HashAlgorithm::Sha384),
                "SHA2_512" => Ok(HashAlgorithm::Sha512),
                other => Err(serde::de::Error::custom(format_args!(
                    "unsupported messageDigest algorithm {other:?}"
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests;
