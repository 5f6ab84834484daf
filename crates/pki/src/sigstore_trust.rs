//! sigstore's trust distribution documents, `dev.sigstore.trustroot.v1` in the
//! protobuf JSON mapping: the `TrustedRoot` (every key and certificate a verifier
//! trusts), the `SigningConfig` (which services a signer calls) and the
//! `ClientTrustConfig` that carries both, as certcentral publishes them under
//! `/sigstore/` and as `sigstore --trust-config FILE` reads them.
//!
//! One definition serves the server that writes the documents and every reader. The
//! decoder is as strict as sigstore-python 4.5.1 (pydantic models of `sigstore_models`
//! with `extra="forbid"`): unknown fields, a missing required field, an unknown enum
//! name or an unsupported `mediaType` are refused, so a document this module accepts is
//! one sigstore-python accepts too. Where protobuf's own JSON mapping is more lenient
//! (URL-safe base64, non-`Z` offsets, snake_case names) this module reads only the form
//! every sigstore producer writes. Lists the pydantic models require are written even
//! when empty (protobuf's JSON encoders leave empty lists out, and sigstore-python
//! would then refuse the document).
//!
//! Field order on output follows the proto field numbers, as protobuf encoders write.
//!
//! <https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_trustroot.proto>,
//! <https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_common.proto>

use const_oid::db::{rfc5912, rfc8410};
use der::Decode;
use serde::{Deserialize, Serialize};
use spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use thiserror::Error;
use x509_cert::Certificate;

use crate::ct_api::b64;
use crate::verify::HashAlgorithm;

/// `TrustedRoot.media_type`: the one version sigstore-python's `TrustedRoot` accepts.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// `SigningConfig.media_type`: v0.2, the version with per-service API versions.
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";
/// `ClientTrustConfig.media_type`.
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// Largest document decoded. sigstore's public-good trusted root is about 7 KiB; a
/// megabyte leaves room for hundreds of keys and chains without letting a peer make a
/// reader buffer more.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// The latest instant a protobuf `Timestamp` can hold, 9999-12-31T23:59:59.999Z, in
/// milliseconds since the epoch.
pub const MAX_TIME_MS: u64 = 253_402_300_799_999;

/// Why a document was refused, or could not be written.
#[derive(Debug, Error)]
pub enum TrustError {
    /// Over [`MAX_DOCUMENT_BYTES`].
    #[error("document of {0} bytes exceeds the {MAX_DOCUMENT_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not JSON of the document's shape: a missing or unknown field, a wrong type, an
    /// unknown enum name, bad base64, a time that is not RFC 3339 UTC, another
    /// `mediaType`.
    #[error("{0}")]
    Json(serde_json::Error),
    /// A certificate authority or time-stamp authority without a certificate.
    #[error("certificate authority {0:?} has an empty certChain")]
    EmptyChain(String),
    /// A validity period that ends before it starts.
    #[error("validFor ends before it starts ({start_ms} > {end_ms} ms)")]
    InvertedTimeRange {
        /// `start`, milliseconds since the epoch.
        start_ms: u64,
        /// `end`, milliseconds since the epoch.
        end_ms: u64,
    },
    /// A certificate given to [`CertificateAuthority::from_chain`] does not parse.
    #[error("certificate {index} of the chain: {reason}")]
    Certificate {
        /// Position in the chain.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A key given to [`PublicKeyDetails::of_spki`] has no `PublicKeyDetails` name.
    #[error("public key: {0}")]
    Key(String),
}

/// Defines a zero-sized `mediaType` field: written as its constant, and refused on
/// input unless it is that constant.
macro_rules! media_type {
    ($(#[$doc:meta])* $name:ident, $value:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl $name {
            /// The media type string.
            pub const VALUE: &'static str = $value;
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($value)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let found = String::deserialize(d)?;
                if found == $value {
                    Ok($name)
                } else {
                    Err(serde::de::Error::custom(format_args!(
                        "unsupported mediaType {found:?}: expected {:?}",
                        $value
                    )))
                }
            }
        }
    };
}

media_type!(
    /// `mediaType` of a [`TrustedRoot`]: [`TRUSTED_ROOT_MEDIA_TYPE`].
    TrustedRootMediaType,
    TRUSTED_ROOT_MEDIA_TYPE
);
media_type!(
    /// `mediaType` of a [`SigningConfig`]: [`SIGNING_CONFIG_MEDIA_TYPE`].
    SigningConfigMediaType,
    SIGNING_CONFIG_MEDIA_TYPE
);
media_type!(
    /// `mediaType` of a [`ClientTrustConfig`]: [`CLIENT_TRUST_CONFIG_MEDIA_TYPE`].
    ClientTrustConfigMediaType,
    CLIENT_TRUST_CONFIG_MEDIA_TYPE
);

/// The root of trust of one sigstore instance.
///
/// ```text
/// message TrustedRoot {
///   string media_type = 1;
///   repeated TransparencyLogInstance tlogs = 2;
///   repeated CertificateAuthority certificate_authorities = 3;
///   repeated TransparencyLogInstance ctlogs = 4;
///   repeated CertificateAuthority timestamp_authorities = 5;
/// }
/// ```
///
/// sigstore-python requires `tlogs`, `certificateAuthorities` and `ctlogs` to be
/// present (empty or not); `timestampAuthorities` may be left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedRoot {
    /// Always [`TRUSTED_ROOT_MEDIA_TYPE`].
    pub media_type: TrustedRootMediaType,
    /// Artifact (Rekor) logs.
    pub tlogs: Vec<TransparencyLogInstance>,
    /// Code-signing (Fulcio) CAs.
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// Certificate Transparency logs, whose SCTs signing certificates embed.
    pub ctlogs: Vec<TransparencyLogInstance>,
    /// RFC 3161 time-stamp authorities.
    #[serde(default)]
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

/// One transparency log: an artifact log in `tlogs`, a CT log in `ctlogs`.
///
/// ```text
/// message TransparencyLogInstance {
///   string base_url = 1;
///   HashAlgorithm hash_algorithm = 2;
///   PublicKey public_key = 3;
///   LogId log_id = 4;
///   LogId checkpoint_key_id = 5;
///   optional string operator = 6;
/// }
/// ```
///
/// `log_id` is how a verifier finds the key: for RFC 6962 logs and Rekor v1 the
/// SHA-256 of the key's SubjectPublicKeyInfo, for Rekor v2 the C2SP signed-note key
/// hash of the log's origin and key. `checkpoint_key_id` belongs to trusted root v0.2
/// and is never written by certcentral (it writes v0.1, the version sigstore-python
/// reads); it is read when present, as sigstore-python reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransparencyLogInstance {
    /// Where the log is: clients append `/api/v1/…`, `/api/v2/…` or `/ct/v1/…`.
    pub base_url: String,
    /// The hash of the log's Merkle tree.
    #[serde(with = "hash_algorithm")]
    pub hash_algorithm: HashAlgorithm,
    /// The log's key and the period it signs in.
    pub public_key: PublicKey,
    /// `LogId { key_id }`.
    #[serde(with = "log_id")]
    pub log_id: [u8; 32],
    /// `LogId { key_id }` of the checkpoint key (trusted root v0.2).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_log_id"
    )]
    pub checkpoint_key_id: Option<[u8; 32]>,
    /// Who runs the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// A public key with its algorithm and the period it is trusted for.
///
/// ```text
/// message PublicKey {
///   optional bytes raw_bytes = 1;   // DER SubjectPublicKeyInfo
///   PublicKeyDetails key_details = 2;
///   optional TimeRange valid_for = 3;
/// }
/// ```
///
/// `raw_bytes` is optional in the proto, but a log without a key verifies nothing
/// (sigstore-python drops such a key with a warning), so it is required here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicKey {
    /// DER SubjectPublicKeyInfo.
    #[serde(with = "b64")]
    pub raw_bytes: Vec<u8>,
    /// Key type and signature algorithm.
    pub key_details: PublicKeyDetails,
    /// When signatures by this key are trusted. A rotated-out key keeps its entry with
    /// an `end`, so what it signed still verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for: Option<TimeRange>,
}

/// A certificate authority: a code-signing CA in `certificateAuthorities`, a TSA in
/// `timestampAuthorities`.
///
/// ```text
/// message CertificateAuthority {
///   DistinguishedName subject = 1;
///   string uri = 2;
///   X509CertificateChain cert_chain = 3;  // the issuing certificate first, the root last
///   TimeRange valid_for = 4;
///   optional string operator = 5;
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateAuthority {
    /// The CA's name (by convention its root's organization and common name).
    pub subject: DistinguishedName,
    /// Where it is served: the CA's base URL, the TSA's time-stamp URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// DER certificates, issuing certificate first, root last
    /// (`X509CertificateChain { certificates: [X509Certificate { raw_bytes }] }`).
    #[serde(with = "cert_chain")]
    pub cert_chain: Vec<Vec<u8>>,
    /// When certificates (or time-stamps) from this chain are trusted.
    pub valid_for: TimeRange,
    /// Who runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// ```text
/// message DistinguishedName {
///   string organization = 1;
///   string common_name = 2;
/// }
/// ```
///
/// Both are required by sigstore-python, so both are written, empty or not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DistinguishedName {
    /// O.
    pub organization: String,
    /// CN.
    pub common_name: String,
}

/// A closed period `[start, end]`; without `end`, open-ended.
///
/// ```text
/// message TimeRange {
///   google.protobuf.Timestamp start = 1;
///   optional google.protobuf.Timestamp end = 2;
/// }
/// ```
///
/// Timestamps are RFC 3339 UTC strings (`2021-01-12T11:53:27Z`,
/// `2022-12-31T23:59:59.999Z`), held here to the millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    /// `start`, milliseconds since the epoch.
    #[serde(rename = "start", with = "timestamp")]
    pub start_ms: u64,
    /// `end`, milliseconds since the epoch.
    #[serde(
        rename = "end",
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_timestamp"
    )]
    pub end_ms: Option<u64>,
}

impl TimeRange {
    /// Open-ended from `start_ms`.
    pub fn since(start_ms: u64) -> Self {
        Self {
            start_ms,
            end_ms: None,
        }
    }

    fn check(&self) -> Result<(), TrustError> {
        match self.end_ms {
            Some(end_ms) if end_ms < self.start_ms => Err(TrustError::InvertedTimeRange {
                start_ms: self.start_ms,
                end_ms,
            }),
            _ => Ok(()),
        }
    }
}

/// `PublicKeyDetails`: a key type with the one signature algorithm it is used with.
/// Every name sigstore-python knows, deprecated ones included (they still appear in
/// trusted roots, e.g. `PKCS1_RSA_PKCS1V5` in sigstore's staging root); the proto's
/// `PUBLIC_KEY_DETAILS_UNSPECIFIED` is refused, as there.
#[allow(non_camel_case_types, missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PublicKeyDetails {
    PKCS1_RSA_PKCS1V5,
    PKCS1_RSA_PSS,
    PKIX_RSA_PKCS1V5,
    PKIX_RSA_PSS,
    PKIX_RSA_PKCS1V15_2048_SHA256,
    PKIX_RSA_PKCS1V15_3072_SHA256,
    PKIX_RSA_PKCS1V15_4096_SHA256,
    PKIX_RSA_PSS_2048_SHA256,
    PKIX_RSA_PSS_3072_SHA256,
    PKIX_RSA_PSS_4096_SHA256,
    PKIX_ECDSA_P256_HMAC_SHA_256,
    PKIX_ECDSA_P256_SHA_256,
    PKIX_ECDSA_P384_SHA_384,
    PKIX_ECDSA_P521_SHA_512,
    PKIX_ED25519,
    PKIX_ED25519_PH,
    PKIX_ECDSA_P384_SHA_256,
    PKIX_ECDSA_P521_SHA_256,
    LMS_SHA256,
    LMOTS_SHA256,
    ML_DSA_65,
    ML_DSA_87,
}

impl PublicKeyDetails {
    /// The name a log or CA key is published under, from its SubjectPublicKeyInfo: the
    /// current (non-deprecated) names of sigstore's algorithm registry — ECDSA with the
    /// curve's own hash, Ed25519, RSA PKCS#1 v1.5 with SHA-256 at 2048, 3072 or 4096
    /// bits. Other keys have no name a client would use, and are refused.
    pub fn of_spki(spki_der: &[u8]) -> Result<Self, TrustError> {
        let key = |m: String| TrustError::Key(m);
        let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| key(e.to_string()))?;
        match spki.algorithm.oid {
            rfc5912::ID_EC_PUBLIC_KEY => {
                let curve: ObjectIdentifier = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .ok_or_else(|| key("EC key without a named curve".into()))?
                    .decode_as()
                    .map_err(|e: der::Error| key(e.to_string()))?;
                match curve {
                    rfc5912::SECP_256_R_1 => Ok(Self::PKIX_ECDSA_P256_SHA_256),
                    rfc5912::SECP_384_R_1 => Ok(Self::PKIX_ECDSA_P384_SHA_384),
                    rfc5912::SECP_521_R_1 => Ok(Self::PKIX_ECDSA_P521_SHA_512),
                    other => Err(key(format!("EC curve {other} has no sigstore name"))),
                }
            }
            rfc8410::ID_ED_25519 => Ok(Self::PKIX_ED25519),
            rfc5912::RSA_ENCRYPTION => {
                let bits = spki
                    .subject_public_key
                    .as_bytes()
                    .ok_or_else(|| key("public key has unused bits".into()))?;
                match crate::verify::rsa_modulus_bits(bits).map_err(|e| key(e.to_string()))? {
                    2048 => Ok(Self::PKIX_RSA_PKCS1V15_2048_SHA256),
                    3072 => Ok(Self::PKIX_RSA_PKCS1V15_3072_SHA256),
                    4096 => Ok(Self::PKIX_RSA_PKCS1V15_4096_SHA256),
                    other => Err(key(format!("RSA-{other} has no sigstore name"))),
                }
            }
            other => Err(key(format!("algorithm {other} has no sigstore name"))),
        }
    }
}

/// What a signer calls, and how many of each.
///
/// ```text
/// message SigningConfig {
///   string media_type = 5;
///   repeated Service ca_urls = 6;
///   repeated Service oidc_urls = 7;
///   repeated Service rekor_tlog_urls = 8;
///   ServiceConfiguration rekor_tlog_config = 9;
///   repeated Service tsa_urls = 10;
///   ServiceConfiguration tsa_config = 11;
/// }
/// ```
///
/// A client takes, per operator, the service with the highest API version it speaks
/// that is valid now, then applies the selector: so one operator string for a whole
/// instance makes a client pick one artifact log per version rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningConfig {
    /// Always [`SIGNING_CONFIG_MEDIA_TYPE`].
    pub media_type: SigningConfigMediaType,
    /// Fulcio-API CAs (API version 1: `/api/v2/signingCert`).
    #[serde(default)]
    pub ca_urls: Vec<Service>,
    /// OIDC issuers for interactive sign-in.
    #[serde(default)]
    pub oidc_urls: Vec<Service>,
    /// Artifact logs: Rekor v1 or v2 (`major_api_version` 1 or 2).
    #[serde(default)]
    pub rekor_tlog_urls: Vec<Service>,
    /// How many artifact logs to write to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekor_tlog_config: Option<ServiceConfiguration>,
    /// RFC 3161 time-stamp authorities (the full time-stamp URL).
    #[serde(default)]
    pub tsa_urls: Vec<Service>,
    /// How many TSAs to ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsa_config: Option<ServiceConfiguration>,
}

/// ```text
/// message Service {
///   string url = 1;
///   uint32 major_api_version = 2;
///   TimeRange valid_for = 3;
///   string operator = 4;
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// The service URL.
    pub url: String,
    /// The API version it speaks.
    pub major_api_version: u32,
    /// When clients may use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for: Option<TimeRange>,
    /// Who runs it.
    pub operator: String,
}

/// ```text
/// message ServiceConfiguration {
///   ServiceSelector selector = 1;
///   uint32 count = 2;
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfiguration {
    /// Which services to use.
    pub selector: ServiceSelector,
    /// For `EXACT`: how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// `ServiceSelector`; the proto's `SERVICE_SELECTOR_UNDEFINED` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ServiceSelector {
    /// Every service (one per operator).
    All,
    /// One of them.
    Any,
    /// Exactly `count` of them.
    Exact,
}

/// The trusted root and signing configuration of one instance, in one document.
///
/// ```text
/// message ClientTrustConfig {
///   string media_type = 1;
///   TrustedRoot trusted_root = 2;
///   SigningConfig signing_config = 3;
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientTrustConfig {
    /// Always [`CLIENT_TRUST_CONFIG_MEDIA_TYPE`].
    pub media_type: ClientTrustConfigMediaType,
    /// Keys and certificates.
    pub trusted_root: TrustedRoot,
    /// Services.
    pub signing_config: SigningConfig,
}

/// Parses a document: size bound, strict shape, then the checks serde cannot make.
fn decode<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, TrustError> {
    if json.len() > MAX_DOCUMENT_BYTES {
        return Err(TrustError::TooLarge(json.len()));
    }
    serde_json::from_slice(json).map_err(TrustError::Json)
}

/// Writes a document as pretty JSON (two-space indent, as sigstore publishes them).
/// Fails only on a time past [`MAX_TIME_MS`].
fn encode<T: Serialize>(document: &T) -> Result<Vec<u8>, TrustError> {
    let mut json = serde_json::to_vec_pretty(document).map_err(TrustError::Json)?;
    json.push(b'\n');
    Ok(json)
}

impl TrustedRoot {
    /// A trusted root of these parts.
    pub fn new(
        tlogs: Vec<TransparencyLogInstance>,
        certificate_authorities: Vec<CertificateAuthority>,
        ctlogs: Vec<TransparencyLogInstance>,
        timestamp_authorities: Vec<CertificateAuthority>,
    ) -> Self {
        Self {
            media_type: TrustedRootMediaType,
            tlogs,
            certificate_authorities,
            ctlogs,
            timestamp_authorities,
        }
    }

    /// Decodes a trusted root, strictly.
    pub fn from_json(json: &[u8]) -> Result<Self, TrustError> {
        let root: Self = decode(json)?;
        root.check()?;
        Ok(root)
    }

    /// Encodes the trusted root.
    pub fn to_json(&self) -> Result<Vec<u8>, TrustError> {
        encode(self)
    }

    /// Folds `previous`, an older root of the same instance, into this one: every log
    /// key and every CA or TSA chain that `previous` trusted and this root no longer
    /// lists is kept, its validity closed at `retired_at_ms` (or at its own earlier
    /// end), so what it signed while it was trusted still verifies — and nothing it
    /// signs from now on does. Returns how many entries were kept.
    pub fn keep_retired(&mut self, previous: &TrustedRoot, retired_at_ms: u64) -> usize {
        let close = |range: TimeRange| TimeRange {
            start_ms: range.start_ms.min(retired_at_ms),
            end_ms: Some(range.end_ms.map_or(retired_at_ms, |e| e.min(retired_at_ms))),
        };
        let mut kept = 0;
        for (old_logs, new_logs) in [
            (&previous.tlogs, &mut self.tlogs),
            (&previous.ctlogs, &mut self.ctlogs),
        ] {
            for old in old_logs {
                if new_logs
                    .iter()
                    .any(|l| l.public_key.raw_bytes == old.public_key.raw_bytes)
                {
                    continue;
                }
                let mut retired = old.clone();
                retired.public_key.valid_for = Some(close(
                    old.public_key.valid_for.unwrap_or(TimeRange::since(0)),
                ));
                new_logs.push(retired);
                kept += 1;
            }
        }
        for (old_cas, new_cas) in [
            (
                &previous.certificate_authorities,
                &mut self.certificate_authorities,
            ),
            (
                &previous.timestamp_authorities,
                &mut self.timestamp_authorities,
            ),
        ] {
            for old in old_cas {
                if new_cas.iter().any(|c| c.cert_chain == old.cert_chain) {
                    continue;
                }
                let mut retired = old.clone();
                retired.valid_for = close(old.valid_for);
                new_cas.push(retired);
                kept += 1;
            }
        }
        kept
    }

    fn check(&self) -> Result<(), TrustError> {
        for log in self.tlogs.iter().chain(&self.ctlogs) {
            if let Some(range) = &log.public_key.valid_for {
                range.check()?;
            }
        }
        for ca in self
            .certificate_authorities
            .iter()
            .chain(&self.timestamp_authorities)
        {
            // sigstore-python refuses such an authority only when it is used; refusing
            // the document says what is wrong at once.
            if ca.cert_chain.is_empty() {
                return Err(TrustError::EmptyChain(ca.subject.common_name.clone()));
            }
            ca.valid_for.check()?;
        }
        Ok(())
    }
}

impl SigningConfig {
    /// Decodes a signing config, strictly.
    pub fn from_json(json: &[u8]) -> Result<Self, TrustError> {
        let config: Self = decode(json)?;
        config.check()?;
        Ok(config)
    }

    /// Encodes the signing config.
    pub fn to_json(&self) -> Result<Vec<u8>, TrustError> {
        encode(self)
    }

    fn check(&self) -> Result<(), TrustError> {
        let services = self
            .ca_urls
            .iter()
            .chain(&self.oidc_urls)
            .chain(&self.rekor_tlog_urls)
            .chain(&self.tsa_urls);
        for range in services.filter_map(|s| s.valid_for.as_ref()) {
            range.check()?;
        }
        Ok(())
    }
}

impl ClientTrustConfig {
    /// The two documents in one.
    pub fn new(trusted_root: TrustedRoot, signing_config: SigningConfig) -> Self {
        Self {
            media_type: ClientTrustConfigMediaType,
            trusted_root,
            signing_config,
        }
    }

    /// Decodes a client trust config, strictly.
    pub fn from_json(json: &[u8]) -> Result<Self, TrustError> {
        let config: Self = decode(json)?;
        config.trusted_root.check()?;
        config.signing_config.check()?;
        Ok(config)
    }

    /// Encodes the client trust config.
    pub fn to_json(&self) -> Result<Vec<u8>, TrustError> {
        encode(self)
    }
}

impl CertificateAuthority {
    /// The entry of a CA (or TSA) whose chain is `chain` (DER, issuing certificate
    /// first, root last): named after its root's organization and common name (empty
    /// when the root has none), trusted from its issuing certificate's notBefore on.
    pub fn from_chain(
        chain: Vec<Vec<u8>>,
        uri: Option<String>,
        operator: Option<String>,
    ) -> Result<Self, TrustError> {
        let parse = |index: usize, der: &[u8]| {
            Certificate::from_der(der).map_err(|e| TrustError::Certificate {
                index,
                reason: e.to_string(),
            })
        };
        let (issuing, root) = match (chain.first(), chain.last()) {
            (Some(first), Some(last)) => (parse(0, first)?, parse(chain.len() - 1, last)?),
            _ => return Err(TrustError::EmptyChain(String::new())),
        };
        let name = root.tbs_certificate().subject();
        let text = |value: der::Result<Option<x509_cert::ext::pkix::name::DirectoryString>>| {
            value
                .map_err(|e| TrustError::Certificate {
                    index: chain.len() - 1,
                    reason: format!("subject: {e}"),
                })
                .map(|v| v.map(String::from).unwrap_or_default())
        };
        let subject = DistinguishedName {
            organization: text(name.organization())?,
            common_name: text(name.common_name())?,
        };
        let not_before = issuing.tbs_certificate().validity().not_before;
        let start_ms = u64::try_from(not_before.to_unix_duration().as_millis()).unwrap_or(u64::MAX);
        Ok(Self {
            subject,
            uri,
            cert_chain: chain,
            valid_for: TimeRange::since(start_ms),
            operator,
        })
    }
}

/// `HashAlgorithm` names (`SHA2_256`, …). The SHA-3 names of the proto enum are
/// refused: no sigstore log hashes its tree with them, and `pki` verifies none.
mod hash_algorithm {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::verify::HashAlgorithm;

    fn name(algorithm: HashAlgorithm) -> &'static str {
        match algorithm {
            HashAlgorithm::Sha256 => "SHA2_256",
            HashAlgorithm::Sha384 => "SHA2_384",
            HashAlgorithm::Sha512 => "SHA2_512",
        }
    }

    pub fn serialize<S: Serializer>(algorithm: &HashAlgorithm, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(name(*algorithm))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HashAlgorithm, D::Error> {
        let text = String::deserialize(d)?;
        HashAlgorithm::ALL
            .into_iter()
            .find(|a| name(*a) == text)
            .ok_or_else(|| {
                serde::de::Error::custom(format_args!(
                    "hashAlgorithm {text:?}: expected SHA2_256, SHA2_384 or SHA2_512"
                ))
            })
    }
}

/// `LogId { key_id }`: 32 bytes, base64.
mod log_id {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::ct_api::b64;

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub(super) struct LogId {
        #[serde(with = "b64")]
        pub(super) key_id: [u8; 32],
    }

    pub fn serialize<S: Serializer>(key_id: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        LogId { key_id: *key_id }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        Ok(LogId::deserialize(d)?.key_id)
    }
}

/// An optional `LogId`.
mod optional_log_id {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key_id: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match key_id {
            Some(key_id) => super::log_id::serialize(key_id, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        Ok(Some(super::log_id::LogId::deserialize(d)?.key_id))
    }
}

/// `X509CertificateChain { certificates: [X509Certificate { raw_bytes }] }`.
mod cert_chain {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::ct_api::b64;

    #[derive(Serialize)]
    struct ChainOut<'a> {
        certificates: Vec<CertificateOut<'a>>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct CertificateOut<'a> {
        #[serde(with = "b64")]
        raw_bytes: &'a [u8],
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ChainIn {
        certificates: Vec<CertificateIn>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct CertificateIn {
        #[serde(with = "b64")]
        raw_bytes: Vec<u8>,
    }

    pub fn serialize<S: Serializer>(chain: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        ChainOut {
            certificates: chain
                .iter()
                .map(|der| CertificateOut { raw_bytes: der })
                .collect(),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Ok(ChainIn::deserialize(d)?
            .certificates
            .into_iter()
            .map(|c| c.raw_bytes)
            .collect())
    }
}

/// `google.protobuf.Timestamp` as RFC 3339 UTC: whole seconds when the milliseconds
/// are zero, else three fractional digits (protobuf's JSON mapping writes 0, 3, 6 or 9
/// digits). Read: `YYYY-MM-DDTHH:MM:SS[.fraction]Z` only, the fraction truncated to
/// milliseconds.
mod timestamp {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::MAX_TIME_MS;

    pub fn format(ms: u64) -> Option<String> {
        if ms > MAX_TIME_MS {
            None
        } else if ms.is_multiple_of(1000) {
            Some(clock::format_time_ms(ms))
        } else {
            Some(clock::format_time_ms_millis(ms))
        }
    }

    pub fn parse(text: &str) -> Option<u64> {
        // `clock`'s parser also takes `@<unix seconds>` (a command-line form): not a
        // protobuf Timestamp.
        if text.starts_with('@') {
            return None;
        }
        clock::parse_time_ms(text).ok()
    }

    pub fn serialize<S: Serializer>(ms: &u64, s: S) -> Result<S::Ok, S::Error> {
        let text = format(*ms).ok_or_else(|| {
            serde::ser::Error::custom(format_args!("time {ms} ms is past year 9999"))
        })?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "time {text:?}: expected RFC 3339 UTC, YYYY-MM-DDTHH:MM:SS[.fff]Z"
            ))
        })
    }
}

/// An optional Timestamp.
mod optional_timestamp {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => super::timestamp::serialize(ms, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        super::timestamp::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests;
