//! Offline verification of a sigstore bundle over an artifact, step for step what
//! sigstore-python 4.5.1's `Verifier.verify_artifact` does (and in its order):
//!
//! ```text
//! (0) verified times: each RFC 3161 token signed by a trusted TSA over the bundle's
//!     signature, and a v1 entry's integratedTime when it carries a SET;
//! (1) the signing certificate chains to a trusted CA at each verified time;
//! (2) its one embedded SCT is signed by a trusted CT log;
//! (3) keyUsage digitalSignature, extendedKeyUsage codeSigning, the identity policy;
//! (4) the entry's inclusion proof and its checkpoint, signed by a trusted log key;
//! (5) the entry's SET, when it has one;
//! (6) every verified time inside the certificate's validity;
//! (7) the signature over the artifact's digest with the certificate's key;
//! (8) the logged body is the one these materials make (hashedrekord 0.0.1 or 0.0.2).
//! ```
//!
//! Each step is a function with its own [`VerifyFailure`] variant, so a caller can say
//! which check refused a bundle. Pure: the trusted root, the artifact's digest and the
//! time of verification come in as values.

use std::collections::BTreeSet;

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5280, rfc5911, rfc5912};
use der::asn1::OctetString;
use der::{Decode, Encode};
use merkle::checkpoint::Checkpoint;
use merkle::note::SignedNote;
use sha2::{Digest, Sha256};
use thiserror::Error;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

use crate::bundle::{Bundle, BundleContent, MAX_TIMESTAMPS};
use crate::ct::{SignedEntry, TimestampedEntry, sct_signed_data};
use crate::rekor::entry::HashedRekord;
use crate::rekor::jcs;
use crate::rekor::log_entry::set_payload;
use crate::rekor::tle::TransparencyLogEntry;
use crate::rekor::v2::HashedRekordRequest;
use crate::sigstore_trust::{CertificateAuthority, PublicKeyDetails, TrustedRoot};
use crate::tsp::{TimeStampResp, TstInfo};
use crate::verify::{HashAlgorithm, verify_by_key, verify_prehashed, verify_signature};

/// A value a certificate field must have: exactly this text, or a match of a regular
/// expression (RE2 syntax, unanchored, as cosign's `--certificate-identity-regexp`:
/// write `^…$` to match the whole value).
#[derive(Debug, Clone)]
pub enum Expected {
    /// Equal, byte for byte.
    Exact(String),
    /// Matching somewhere in the value.
    Pattern(regex::Regex),
}

impl Expected {
    /// A pattern, compiled (at most 64 KiB of compiled program: a policy is a short
    /// expression, not a way to exhaust the verifier's memory).
    pub fn pattern(expression: &str) -> Result<Self, regex::Error> {
        regex::RegexBuilder::new(expression)
            .size_limit(1 << 16)
            .build()
            .map(Self::Pattern)
    }

    /// Whether `value` satisfies it.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(text) => text == value,
            Self::Pattern(regex) => regex.is_match(value),
        }
    }

    /// The text a failure names: the value itself, or `/pattern/`.
    pub fn describe(&self) -> String {
        match self {
            Self::Exact(text) => text.clone(),
            Self::Pattern(regex) => format!("/{}/", regex.as_str()),
        }
    }
}

impl PartialEq for Expected {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Exact(a), Self::Exact(b)) => a == b,
            (Self::Pattern(a), Self::Pattern(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Eq for Expected {}

/// The identity a keyless signature must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// A SAN of the signing certificate: an email, a URI, or a Fulcio username
    /// (otherName 1.3.6.1.4.1.57264.1.7).
    pub san: Expected,
    /// The OIDC issuer, the certificate's extension 1.3.6.1.4.1.57264.1.1.
    pub issuer: Expected,
}

impl Identity {
    /// Both compared exactly, as `sigstore verify identity` does.
    pub fn exact(san: impl Into<String>, issuer: impl Into<String>) -> Self {
        Self {
            san: Expected::Exact(san.into()),
            issuer: Expected::Exact(issuer.into()),
        }
    }
}

/// Who may have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerPolicy {
    /// A short-lived certificate from a CA of the trusted root, chaining to it at every
    /// verified time, with one SCT from a trusted CT log, for this identity.
    Keyless(Identity),
    /// A certificate trusted out of band — a developer certificate proven published in
    /// the registry, or one the user trusted: the bundle's signing certificate must be
    /// one of these (DER, byte for byte). No CA, SCT or OIDC identity is asked of it;
    /// everything else (log entry, times within its validity, code-signing usage, the
    /// signature) is checked as for a keyless one.
    Pinned(Vec<Vec<u8>>),
}

/// The artifact as the verifier knows it: its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDigest {
    /// The hash it was made with.
    pub algorithm: HashAlgorithm,
    /// The digest.
    pub digest: Vec<u8>,
}

impl ArtifactDigest {
    /// SHA-256 of `artifact`, as `sigstore verify` computes it.
    pub fn sha256(artifact: &[u8]) -> Self {
        Self {
            algorithm: HashAlgorithm::Sha256,
            digest: Sha256::digest(artifact).to_vec(),
        }
    }
}

/// Where a verified time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// An RFC 3161 token's genTime.
    TimestampAuthority,
    /// A Rekor v1 entry's integratedTime, bound by its SET.
    TransparencyLog,
}

/// A verified time of the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedTime {
    /// Where it came from.
    pub source: TimeSource,
    /// Milliseconds since the epoch.
    pub unix_ms: u64,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The verified times of the signature, earliest first.
    pub times: Vec<VerifiedTime>,
    /// The signing certificate, DER.
    pub certificate: Vec<u8>,
    /// The entry's index in its log.
    pub log_index: u64,
}

/// The check that refused a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyFailure {
    /// The bundle carries a DSSE envelope: verify it as an attestation, not an artifact.
    #[error("the bundle carries a DSSE envelope, not a message signature")]
    NotAMessageSignature,
    /// The bundle carries timestamps, but the trusted root names no TSA.
    #[error("the bundle has signed timestamps but the trusted root has no timestamp authority")]
    NoTimestampAuthorities,
    /// More timestamps than sigstore verifies.
    #[error("{0} signed timestamps, more than {MAX_TIMESTAMPS}")]
    TooManyTimestamps(usize),
    /// The same timestamp twice.
    #[error("duplicate signed timestamp")]
    DuplicateTimestamp,
    /// An integratedTime with a SET on an entry other than dsse/hashedrekord 0.0.1.
    #[error("integrated time is only defined for dsse/hashedrekord 0.0.1 entries, not {0}")]
    IntegratedTimeKind(String),
    /// No verified time: no valid timestamp and no SET-bound integration time.
    #[error("no source of verified time (no valid RFC 3161 timestamp, no SET)")]
    NoVerifiedTime,
    /// A verified time later than the time of verification.
    #[error("verified time {time_ms} ms is later than now ({now_ms} ms)")]
    TimeInFuture {
        /// The verified time.
        time_ms: u64,
        /// Now.
        now_ms: u64,
    },
    /// The signing certificate does not parse.
    #[error("signing certificate: {0}")]
    Certificate(String),
    /// No path from the signing certificate to a trusted CA at a verified time.
    #[error("certificate chain at {time_ms} ms: {reason}")]
    Chain {
        /// The verified time.
        time_ms: u64,
        /// Why.
        reason: String,
    },
    /// The embedded SCT does not verify.
    #[error("SCT: {0}")]
    Sct(String),
    /// keyUsage without digitalSignature (or none).
    #[error("key usage is not digitalSignature")]
    KeyUsage,
    /// extendedKeyUsage without codeSigning (or none).
    #[error("extended key usage does not contain codeSigning")]
    ExtendedKeyUsage,
    /// The signing certificate is none of the pinned certificates.
    #[error("the signing certificate is not one of the trusted certificates")]
    NotPinned,
    /// The OIDC issuer extension is absent or another issuer.
    #[error("OIDC issuer: expected {expected:?}, found {found:?}")]
    Issuer {
        /// The policy's.
        expected: String,
        /// The certificate's.
        found: Option<String>,
    },
    /// No SAN satisfies the policy's identity.
    #[error("no subject alternative name is {expected:?} (found {found:?})")]
    San {
        /// The policy's.
        expected: String,
        /// The certificate's.
        found: Vec<String>,
    },
    /// The inclusion proof does not lead from the body to the root hash.
    #[error("inclusion proof: {0}")]
    InclusionProof(String),
    /// The checkpoint is malformed, not for the proof's tree, or not signed by a
    /// trusted log key.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The SET does not verify.
    #[error("SET: {0}")]
    Set(String),
    /// A verified time outside the certificate's validity.
    #[error(
        "verified time {time_ms} ms is outside the certificate's validity [{not_before_ms}, {not_after_ms}]"
    )]
    OutsideValidity {
        /// The verified time.
        time_ms: u64,
        /// notBefore.
        not_before_ms: u64,
        /// notAfter.
        not_after_ms: u64,
    },
    /// The bundle's messageDigest is not the artifact's.
    #[error("the bundle's message digest is not the artifact's")]
    DigestMismatch,
    /// The signature does not verify over the artifact's digest.
    #[error("signature over the artifact: {0}")]
    Signature(String),
    /// The logged body is not the one the bundle's materials make.
    #[error("log entry: {0}")]
    EntryMismatch(String),
}

/// Verifies `bundle` over the artifact known by `artifact`, under `trusted_root`, for
/// the signers `policy` admits, at `now_ms`. See the module documentation for the
/// steps; a [`SignerPolicy::Pinned`] certificate replaces steps (1), (2) and (3b) by
/// [`verify_pinned`].
pub fn verify_bundle(
    bundle: &Bundle,
    artifact: &ArtifactDigest,
    trusted_root: &TrustedRoot,
    policy: &SignerPolicy,
    now_ms: u64,
) -> Result<Verified, VerifyFailure> {
    let BundleContent::MessageSignature(message) = &bundle.content else {
        return Err(VerifyFailure::NotAMessageSignature);
    };
    let leaf_der = bundle.signing_certificate();
    let leaf =
        Certificate::from_der(leaf_der).map_err(|e| VerifyFailure::Certificate(e.to_string()))?;

    let mut times = establish_times(bundle, trusted_root)?;
    if times.is_empty() {
        return Err(VerifyFailure::NoVerifiedTime);
    }
    for t in &times {
        if t.unix_ms > now_ms {
            return Err(VerifyFailure::TimeInFuture {
                time_ms: t.unix_ms,
                now_ms,
            });
        }
    }
    match policy {
        SignerPolicy::Keyless(identity) => {
            let (first, rest) = times.split_first().ok_or(VerifyFailure::NoVerifiedTime)?;
            let mut issuer = verify_chain_at(&leaf, trusted_root, first.unix_ms)?;
            for t in rest {
                // The issuer's signature does not change with the time: only validity
                // is checked again, and the full search only if that issuer has expired.
                let still_valid = verify_chain_validity(&leaf, &issuer, t.unix_ms).is_ok();
                if !still_valid {
                    issuer = verify_chain_at(&leaf, trusted_root, t.unix_ms)?;
                }
            }
            verify_sct(leaf_der, &issuer, trusted_root)?;
            verify_usage(&leaf)?;
            verify_identity(&leaf, identity)?;
        }
        SignerPolicy::Pinned(certificates) => verify_pinned(leaf_der, &leaf, certificates)?,
    }
    verify_inclusion(&bundle.tlog_entry)?;
    verify_checkpoint(&bundle.tlog_entry, trusted_root)?;
    if bundle.tlog_entry.inclusion_promise.is_some() && bundle.tlog_entry.integrated_time.is_some()
    {
        verify_set(&bundle.tlog_entry, trusted_root)?;
    }
    verify_times_in_validity(&leaf, &times)?;
    let spki = spki_der(&leaf)?;
    verify_message_signature(&spki, message, artifact)?;
    verify_entry_body(&bundle.tlog_entry, leaf_der, &message.signature, artifact)?;
    times.sort_by_key(|t| t.unix_ms);
    Ok(Verified {
        times,
        certificate: leaf_der.to_vec(),
        log_index: bundle.tlog_entry.log_index,
    })
}

/// Step (0): the verified times. A token no trusted TSA verifies is left out (as
/// sigstore-python does); the caller requires at least one time in all.
pub fn establish_times(
    bundle: &Bundle,
    trusted_root: &TrustedRoot,
) -> Result<Vec<VerifiedTime>, VerifyFailure> {
    let mut times = Vec::new();
    let tokens = bundle.rfc3161_timestamps.as_deref().unwrap_or(&[]);
    if !tokens.is_empty() {
        if trusted_root.timestamp_authorities.is_empty() {
            return Err(VerifyFailure::NoTimestampAuthorities);
        }
        if tokens.len() > MAX_TIMESTAMPS {
            return Err(VerifyFailure::TooManyTimestamps(tokens.len()));
        }
        if tokens.iter().collect::<BTreeSet<_>>().len() != tokens.len() {
            return Err(VerifyFailure::DuplicateTimestamp);
        }
        for token in tokens {
            let verified = trusted_root
                .timestamp_authorities
                .iter()
                .find_map(|tsa| verify_timestamp(token, bundle.signature(), tsa).ok());
            if let Some(unix_ms) = verified {
                times.push(VerifiedTime {
                    source: TimeSource::TimestampAuthority,
                    unix_ms,
                });
            }
        }
    }
    let entry = &bundle.tlog_entry;
    if let (Some(t), Some(_)) = (entry.integrated_time, &entry.inclusion_promise) {
        let kv = &entry.kind_version;
        if !(matches!(kv.kind.as_str(), "dsse" | "hashedrekord") && kv.version == "0.0.1") {
            return Err(VerifyFailure::IntegratedTimeKind(format!(
                "{}/{}",
                kv.kind, kv.version
            )));
        }
        times.push(VerifiedTime {
            source: TimeSource::TransparencyLog,
            unix_ms: t.saturating_mul(1000),
        });
    }
    Ok(times)
}

/// Why a time-stamp token does not verify under one TSA.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct TimestampFailure(pub String);

/// Verifies an RFC 3161 `TimeStampResp` over `message` with one trusted TSA, as
/// rfc3161-client's `Verifier.verify_message` does with the TSA's chain (the TSA
/// certificate first, the root last): status granted; one SignerInfo whose certificate
/// is the TSA's; its critical extendedKeyUsage has timeStamping; the CMS signature
/// over the signed attributes verifies, their messageDigest is the TSTInfo's hash;
/// the chain verifies and is valid at genTime; the messageImprint is the hash of
/// `message`; genTime is inside the TSA's validFor. Returns genTime in milliseconds.
pub fn verify_timestamp(
    response_der: &[u8],
    message: &[u8],
    tsa: &CertificateAuthority,
) -> Result<u64, TimestampFailure> {
    let fail = |m: String| TimestampFailure(m);
    if tsa.cert_chain.len() < 2 {
        return Err(fail("the TSA chain is incomplete".into()));
    }
    let response = TimeStampResp::from_der(response_der).map_err(|e| fail(e.to_string()))?;
    if response.status.status != 0 {
        return Err(fail("PKIStatus is not granted".into()));
    }
    let token = response
        .time_stamp_token
        .as_ref()
        .ok_or_else(|| fail("no token".into()))?;
    if token.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(fail("the token is not SignedData".into()));
    }
    let signed: cms::signed_data::SignedData = token
        .content
        .decode_as()
        .map_err(|e: der::Error| fail(e.to_string()))?;
    let tst: TstInfo = response.tst_info().map_err(|e| fail(e.to_string()))?;
    let econtent = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| fail("no eContent".into()))?;
    let econtent: OctetString = econtent
        .decode_as()
        .map_err(|e: der::Error| fail(e.to_string()))?;

    let infos: Vec<_> = signed.signer_infos.0.iter().collect();
    let [info] = infos.as_slice() else {
        return Err(fail(format!("{} SignerInfos, not one", infos.len())));
    };
    let tsa_leaf_der = &tsa.cert_chain[0];
    let tsa_leaf = Certificate::from_der(tsa_leaf_der).map_err(|e| fail(e.to_string()))?;
    // The certificate the SignerInfo names, if the token carries certificates, must
    // be the trusted root's TSA certificate.
    if let Some(certs) = &signed.certificates {
        let cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(sid) = &info.sid else {
            return Err(fail("SignerInfo names its certificate by key id".into()));
        };
        let mut named = None;
        for choice in certs.0.iter() {
            if let cms::cert::CertificateChoices::Certificate(c) = choice
                && c.tbs_certificate().issuer() == &sid.issuer
                && c.tbs_certificate().serial_number() == &sid.serial_number
            {
                named = Some(c);
            }
        }
        let named = named.ok_or_else(|| fail("no certificate matches the SignerInfo".into()))?;
        if *named != tsa_leaf {
            return Err(fail(
                "the token's certificate is not the trusted TSA's".into(),
            ));
        }
    }
    match tsa_leaf
        .tbs_certificate()
        .get_extension::<ExtendedKeyUsage>()
    {
        Ok(Some((true, eku))) if eku.0.contains(&rfc5280::ID_KP_TIME_STAMPING) => {}
        Ok(Some((false, _))) => return Err(fail("the EKU extension is not critical".into())),
        _ => return Err(fail("the TSA certificate lacks EKU timeStamping".into())),
    }

    // CMS (RFC 5652 §5.4): the signature is over the DER SET OF signed attributes, whose
    // message-digest attribute is the hash of the eContent.
    let attrs = info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| fail("no signed attributes".into()))?;
    let digest_alg = HashAlgorithm::from_oid(info.digest_alg.oid)
        .ok_or_else(|| fail(format!("digest algorithm {}", info.digest_alg.oid)))?;
    let mut message_digest = None;
    for attr in attrs.iter() {
        if attr.oid == rfc5911::ID_MESSAGE_DIGEST {
            let value = attr
                .values
                .iter()
                .next()
                .ok_or_else(|| fail("empty message-digest attribute".into()))?;
            let octets: OctetString = value
                .decode_as()
                .map_err(|e: der::Error| fail(e.to_string()))?;
            message_digest = Some(octets.as_bytes().to_vec());
        }
    }
    if message_digest.as_deref() != Some(hash(digest_alg, econtent.as_bytes()).as_slice()) {
        return Err(fail(
            "the message-digest attribute is not the TSTInfo's hash".into(),
        ));
    }
    let attrs_der = attrs.to_der().map_err(|e| fail(e.to_string()))?;
    let tsa_spki = spki_der(&tsa_leaf).map_err(|e| fail(e.to_string()))?;
    let sig = info.signature.as_bytes();
    if info.signature_algorithm.oid == rfc5912::ID_EC_PUBLIC_KEY {
        verify_by_key(&tsa_spki, digest_alg, &attrs_der, sig)
    } else {
        verify_signature(&tsa_spki, &info.signature_algorithm, &attrs_der, sig)
    }
    .map_err(|e| fail(format!("CMS signature: {e}")))?;

    let gen_ms = tst.gen_time.unix_ms();
    // The TSA chain, each certificate signed by the next and valid at genTime.
    let chain: Vec<Certificate> = tsa
        .cert_chain
        .iter()
        .map(|der| Certificate::from_der(der))
        .collect::<Result<_, _>>()
        .map_err(|e| fail(e.to_string()))?;
    // Each certificate is signed by the next; the last is the trust anchor, trusted
    // for being in the trusted root (RFC 5280 §6.1: an anchor's own signature is not
    // part of the path), so its self-signature is not checked per token.
    for (i, cert) in chain.iter().enumerate() {
        check_validity(cert, gen_ms).map_err(fail)?;
        if let Some(issuer) = chain.get(i + 1) {
            signed_by(cert, issuer).map_err(fail)?;
        }
        if i > 0 {
            require_ca(cert).map_err(fail)?;
        }
    }

    let imprint = &tst.message_imprint;
    let imprint_alg = HashAlgorithm::from_oid(imprint.hash_algorithm.oid)
        .ok_or_else(|| fail(format!("imprint hash {}", imprint.hash_algorithm.oid)))?;
    if imprint.hashed_message.as_bytes() != hash(imprint_alg, message).as_slice() {
        return Err(fail(
            "the messageImprint is not the hash of the signature".into(),
        ));
    }
    let valid = &tsa.valid_for;
    if gen_ms < valid.start_ms || valid.end_ms.is_some_and(|end| gen_ms >= end) {
        return Err(fail("genTime is outside the TSA's validity period".into()));
    }
    Ok(gen_ms)
}

/// Step (1): a path from the leaf to a certificate of a trusted CA at `time_ms` (every
/// certificate of the trusted root's CAs is an anchor, as sigstore-python's store
/// makes them). Returns the issuing certificate.
pub fn verify_chain_at(
    leaf: &Certificate,
    trusted_root: &TrustedRoot,
    time_ms: u64,
) -> Result<Certificate, VerifyFailure> {
    let fail = |reason: String| VerifyFailure::Chain { time_ms, reason };
    check_validity(leaf, time_ms).map_err(fail)?;
    if matches!(leaf.tbs_certificate().get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
    {
        return Err(fail("the signing certificate is a CA".into()));
    }
    check_critical_extensions(leaf).map_err(fail)?;
    let mut last = "no trusted CA certificate issued it".to_owned();
    for der in trusted_root
        .certificate_authorities
        .iter()
        .flat_map(|ca| ca.cert_chain.iter())
    {
        let Ok(candidate) = Certificate::from_der(der) else {
            continue;
        };
        if candidate.tbs_certificate().subject() != leaf.tbs_certificate().issuer() {
            continue;
        }
        let checked = signed_by(leaf, &candidate)
            .and_then(|()| require_ca(&candidate))
            .and_then(|()| check_validity(&candidate, time_ms));
        match checked {
            Ok(()) => return Ok(candidate),
            Err(e) => last = e,
        }
    }
    Err(fail(last))
}

/// Refuses a critical extension not in [`UNDERSTOOD_CRITICAL`].
fn check_critical_extensions(leaf: &Certificate) -> Result<(), String> {
    for ext in leaf
        .tbs_certificate()
        .extensions()
        .map(|e| e.as_slice())
        .unwrap_or(&[])
    {
        if ext.critical && !UNDERSTOOD_CRITICAL.contains(&ext.extn_id) {
            return Err(format!("unknown critical extension {}", ext.extn_id));
        }
    }
    Ok(())
}

/// Both the leaf and the issuer [`verify_chain_at`] found are valid at `time_ms`.
fn verify_chain_validity(
    leaf: &Certificate,
    issuer: &Certificate,
    time_ms: u64,
) -> Result<(), String> {
    check_validity(leaf, time_ms)?;
    check_validity(issuer, time_ms)
}

/// Critical extensions a signing certificate may carry.
const UNDERSTOOD_CRITICAL: &[ObjectIdentifier] = &[
    rfc5280::ID_CE_BASIC_CONSTRAINTS,
    rfc5280::ID_CE_KEY_USAGE,
    rfc5280::ID_CE_EXT_KEY_USAGE,
    rfc5280::ID_CE_SUBJECT_ALT_NAME,
];

/// Step (2): exactly one embedded SCT, over the precertificate entry (the TBS without
/// the SCT list, the issuer's key hash), signed by a CT log of the trusted root.
pub fn verify_sct(
    leaf_der: &[u8],
    issuer: &Certificate,
    trusted_root: &TrustedRoot,
) -> Result<(), VerifyFailure> {
    let fail = |m: String| VerifyFailure::Sct(m);
    let scts = crate::embedded_scts(leaf_der).map_err(|e| fail(e.to_string()))?;
    let [sct] = scts.as_slice() else {
        return Err(fail(format!("expected one SCT, found {}", scts.len())));
    };
    require_ca(issuer).map_err(fail)?;
    let tbs = crate::precert_tbs_from_certificate(leaf_der).map_err(|e| fail(e.to_string()))?;
    let entry = TimestampedEntry {
        timestamp: sct.timestamp,
        entry: SignedEntry::Precert {
            issuer_key_hash: Sha256::digest(spki_der(issuer)?).into(),
            tbs_certificate: tbs,
        },
        extensions: sct.extensions.clone(),
    };
    let log = trusted_root
        .ctlogs
        .iter()
        .find(|l| crate::ct::log_id(&l.public_key.raw_bytes) == sct.log_id)
        .ok_or_else(|| fail(format!("unknown log {}", hex::encode(sct.log_id))))?;
    crate::verify_digitally_signed(
        &log.public_key.raw_bytes,
        &sct_signed_data(&entry),
        &sct.signature,
    )
    .map_err(|e| fail(e.to_string()))
}

/// Step (3a): the sigstore X.509 profile's key usages.
pub fn verify_usage(leaf: &Certificate) -> Result<(), VerifyFailure> {
    let tbs = leaf.tbs_certificate();
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) if ku.digital_signature() => {}
        _ => return Err(VerifyFailure::KeyUsage),
    }
    match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) if eku.0.contains(&rfc5280::ID_KP_CODE_SIGNING) => Ok(()),
        _ => Err(VerifyFailure::ExtendedKeyUsage),
    }
}

/// Step (3b): sigstore-python's `Identity` policy — the OIDC issuer extension (.1.1)
/// and one SAN (email, URI, or Fulcio username otherName) exactly.
pub fn verify_identity(leaf: &Certificate, identity: &Identity) -> Result<(), VerifyFailure> {
    let tbs = leaf.tbs_certificate();
    let issuer = tbs
        .extensions()
        .map(|e| e.as_slice())
        .unwrap_or(&[])
        .iter()
        .find(|e| e.extn_id == crate::oids::FULCIO_ISSUER_V1)
        .and_then(|e| String::from_utf8(e.extn_value.as_bytes().to_vec()).ok());
    if !issuer
        .as_deref()
        .is_some_and(|i| identity.issuer.matches(i))
    {
        return Err(VerifyFailure::Issuer {
            expected: identity.issuer.describe(),
            found: issuer,
        });
    }
    let mut sans = Vec::new();
    if let Ok(Some((_, SubjectAltName(names)))) = tbs.get_extension::<SubjectAltName>() {
        for name in names {
            match name {
                GeneralName::Rfc822Name(s) => sans.push(s.as_str().to_owned()),
                GeneralName::UniformResourceIdentifier(s) => sans.push(s.as_str().to_owned()),
                GeneralName::OtherName(other) if other.type_id == crate::oids::FULCIO_USERNAME => {
                    if let Ok(s) = other.value.decode_as::<der::asn1::Utf8StringRef>() {
                        sans.push(s.as_str().to_owned());
                    }
                }
                _ => {}
            }
        }
    }
    if sans.iter().any(|s| identity.san.matches(s)) {
        Ok(())
    } else {
        Err(VerifyFailure::San {
            expected: identity.san.describe(),
            found: sans,
        })
    }
}

/// Steps (1)–(3) for a [`SignerPolicy::Pinned`] signer: the certificate is one of the
/// pinned ones; it is an end-entity certificate (a CA certificate signs certificates,
/// not software) with no critical extension this verifier does not understand; its
/// extendedKeyUsage has codeSigning, and its keyUsage, if it has one, digitalSignature
/// (developer certificates from other CAs often carry no keyUsage at all).
pub fn verify_pinned(
    leaf_der: &[u8],
    leaf: &Certificate,
    pinned: &[Vec<u8>],
) -> Result<(), VerifyFailure> {
    if !pinned.iter().any(|p| p.as_slice() == leaf_der) {
        return Err(VerifyFailure::NotPinned);
    }
    let tbs = leaf.tbs_certificate();
    let is_ca = matches!(tbs.get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca);
    let signs_certificates =
        matches!(tbs.get_extension::<KeyUsage>(), Ok(Some((_, ku))) if ku.key_cert_sign());
    if is_ca || signs_certificates {
        return Err(VerifyFailure::Certificate(
            "a CA certificate cannot sign artifacts".into(),
        ));
    }
    check_critical_extensions(leaf).map_err(VerifyFailure::Certificate)?;
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) if !ku.digital_signature() => return Err(VerifyFailure::KeyUsage),
        Err(_) => return Err(VerifyFailure::KeyUsage),
        _ => {}
    }
    match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) if eku.0.contains(&rfc5280::ID_KP_CODE_SIGNING) => Ok(()),
        _ => Err(VerifyFailure::ExtendedKeyUsage),
    }
}

/// Step (4a): the inclusion proof from the body's leaf hash to the proof's root.
pub fn verify_inclusion(entry: &TransparencyLogEntry) -> Result<(), VerifyFailure> {
    let proof = &entry.inclusion_proof;
    merkle::proof::verify_inclusion(
        &merkle::leaf_hash(&entry.canonicalized_body),
        proof.log_index,
        proof.tree_size,
        &proof.hashes,
        &proof.root_hash,
    )
    .map_err(|e| VerifyFailure::InclusionProof(e.to_string()))
}

/// The trusted root's keys of a log, for an entry's log ID: the one whose log ID (or
/// key hash) is the entry's, else every key (sigstore-python's keyring falls back to
/// trying them all).
fn tlog_keys<'a>(trusted_root: &'a TrustedRoot, log_id: &[u8; 32]) -> Vec<&'a [u8]> {
    let keys: Vec<&[u8]> = trusted_root
        .tlogs
        .iter()
        .filter(|l| &l.log_id == log_id || &crate::ct::log_id(&l.public_key.raw_bytes) == log_id)
        .map(|l| l.public_key.raw_bytes.as_slice())
        .collect();
    if keys.is_empty() {
        trusted_root
            .tlogs
            .iter()
            .map(|l| l.public_key.raw_bytes.as_slice())
            .collect()
    } else {
        keys
    }
}

/// The hash a log key signs checkpoints and SETs with.
fn log_hash(spki: &[u8]) -> HashAlgorithm {
    match PublicKeyDetails::of_spki(spki) {
        Ok(PublicKeyDetails::PKIX_ECDSA_P384_SHA_384) => HashAlgorithm::Sha384,
        Ok(PublicKeyDetails::PKIX_ECDSA_P521_SHA_512) => HashAlgorithm::Sha512,
        _ => HashAlgorithm::Sha256,
    }
}

/// Step (4b): the proof's checkpoint is signed by a trusted log key (the note
/// signature whose key ID is the first four bytes of the entry's log ID) and is for
/// the proof's tree.
pub fn verify_checkpoint(
    entry: &TransparencyLogEntry,
    trusted_root: &TrustedRoot,
) -> Result<(), VerifyFailure> {
    let fail = |m: String| VerifyFailure::Checkpoint(m);
    let proof = &entry.inclusion_proof;
    let note = SignedNote::parse(&proof.checkpoint.envelope).map_err(|e| fail(e.to_string()))?;
    let key_id = &entry.log_id.key_id[..4];
    let signature = note
        .signatures
        .iter()
        .find(|s| s.key_id == key_id)
        .ok_or_else(|| fail("no signature by the entry's log".into()))?;
    let keys = tlog_keys(trusted_root, &entry.log_id.key_id);
    if !keys
        .iter()
        .any(|k| verify_by_key(k, log_hash(k), note.text.as_bytes(), &signature.signature).is_ok())
    {
        return Err(fail(
            "the signature does not verify with a trusted log key".into(),
        ));
    }
    let checkpoint = Checkpoint::parse(&note.text).map_err(|e| fail(e.to_string()))?;
    if checkpoint.root != proof.root_hash {
        return Err(fail("its root hash is not the proof's".into()));
    }
    if checkpoint.size != proof.tree_size {
        return Err(fail("its tree size is not the proof's".into()));
    }
    Ok(())
}

/// Step (5): the SET over `{body, integratedTime, logID, logIndex}`.
pub fn verify_set(
    entry: &TransparencyLogEntry,
    trusted_root: &TrustedRoot,
) -> Result<(), VerifyFailure> {
    let fail = |m: String| VerifyFailure::Set(m);
    let (Some(promise), Some(time)) = (&entry.inclusion_promise, entry.integrated_time) else {
        return Err(fail("missing".into()));
    };
    let payload = set_payload(
        &entry.canonicalized_body,
        time,
        &entry.log_id.key_id,
        entry.log_index,
    )
    .map_err(|e| fail(e.to_string()))?;
    let keys = tlog_keys(trusted_root, &entry.log_id.key_id);
    if keys
        .iter()
        .any(|k| verify_by_key(k, log_hash(k), &payload, &promise.signed_entry_timestamp).is_ok())
    {
        Ok(())
    } else {
        Err(fail(
            "the signature does not verify with a trusted log key".into(),
        ))
    }
}

/// Step (6): each verified time within [notBefore, notAfter].
pub fn verify_times_in_validity(
    leaf: &Certificate,
    times: &[VerifiedTime],
) -> Result<(), VerifyFailure> {
    let (not_before_ms, not_after_ms) = validity_ms(leaf);
    for t in times {
        if t.unix_ms < not_before_ms || t.unix_ms > not_after_ms {
            return Err(VerifyFailure::OutsideValidity {
                time_ms: t.unix_ms,
                not_before_ms,
                not_after_ms,
            });
        }
    }
    Ok(())
}

/// Step (7): the bundle's digest, if it states one, is the artifact's; the signature
/// verifies over the artifact's digest with the certificate's key.
pub fn verify_message_signature(
    spki: &[u8],
    message: &crate::bundle::MessageSignature,
    artifact: &ArtifactDigest,
) -> Result<(), VerifyFailure> {
    if let Some(stated) = &message.message_digest
        && stated.digest != artifact.digest
    {
        return Err(VerifyFailure::DigestMismatch);
    }
    verify_prehashed(
        spki,
        artifact.algorithm,
        &artifact.digest,
        &message.signature,
    )
    .map_err(|e| VerifyFailure::Signature(e.to_string()))
}

/// Step (8): the logged body is the hashedrekord these materials make — 0.0.1 with
/// the certificate as PEM and the digest as hex, 0.0.2 with the certificate as DER and
/// its key details — compared as canonical JSON. The signature itself is step (7)'s
/// business: the body is rebuilt without verifying it again.
pub fn verify_entry_body(
    entry: &TransparencyLogEntry,
    leaf_der: &[u8],
    signature: &[u8],
    artifact: &ArtifactDigest,
) -> Result<(), VerifyFailure> {
    let fail = |m: String| VerifyFailure::EntryMismatch(m);
    let kv = &entry.kind_version;
    if kv.kind != "hashedrekord" {
        return Err(fail(format!(
            "expected a hashedrekord entry, found {}",
            kv.kind
        )));
    }
    let expected = match kv.version.as_str() {
        "0.0.1" => HashedRekord::for_certificate(
            leaf_der,
            signature.to_vec(),
            artifact.algorithm,
            &artifact.digest,
        )
        .and_then(|r| r.canonical_body_of_verified())
        .map_err(|e| fail(e.to_string()))?,
        "0.0.2" => HashedRekordRequest::for_certificate(
            leaf_der,
            signature.to_vec(),
            artifact.digest.clone(),
        )
        .and_then(|r| r.canonical_body_of_verified())
        .map_err(|e| fail(e.to_string()))?,
        other => return Err(fail(format!("unsupported hashedrekord version {other}"))),
    };
    let logged: serde_json::Value = serde_json::from_slice(&entry.canonicalized_body)
        .map_err(|e| fail(format!("the body is not JSON: {e}")))?;
    let logged = jcs::canonicalize(&logged).map_err(|e| fail(e.to_string()))?;
    if logged != expected {
        return Err(fail(
            "the transparency log entry is inconsistent with the bundle".into(),
        ));
    }
    Ok(())
}

fn hash(algorithm: HashAlgorithm, data: &[u8]) -> Vec<u8> {
    match algorithm {
        HashAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
        HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
        HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
    }
}

fn spki_der(cert: &Certificate) -> Result<Vec<u8>, VerifyFailure> {
    cert.tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| VerifyFailure::Certificate(e.to_string()))
}

fn validity_ms(cert: &Certificate) -> (u64, u64) {
    let v = cert.tbs_certificate().validity();
    let ms = |t: &x509_cert::time::Time| {
        u64::try_from(t.to_unix_duration().as_millis()).unwrap_or(u64::MAX)
    };
    (ms(&v.not_before), ms(&v.not_after))
}

fn check_validity(cert: &Certificate, time_ms: u64) -> Result<(), String> {
    let (nb, na) = validity_ms(cert);
    if time_ms < nb || time_ms > na {
        return Err(format!(
            "{} is not valid at {time_ms} ms (valid {nb}..{na})",
            cert.tbs_certificate().subject()
        ));
    }
    Ok(())
}

fn require_ca(cert: &Certificate) -> Result<(), String> {
    let tbs = cert.tbs_certificate();
    match tbs.get_extension::<BasicConstraints>() {
        Ok(Some((_, bc))) if bc.ca => {}
        _ => return Err(format!("{} is not a CA", tbs.subject())),
    }
    if let Ok(Some((_, ku))) = tbs.get_extension::<KeyUsage>()
        && !ku.key_cert_sign()
    {
        return Err(format!("{} lacks keyCertSign", tbs.subject()));
    }
    Ok(())
}

fn signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), String> {
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return Err(format!(
            "{} is not the issuer of {}",
            issuer.tbs_certificate().subject(),
            cert.tbs_certificate().subject()
        ));
    }
    let tbs = cert.tbs_certificate().to_der().map_err(|e| e.to_string())?;
    let sig = cert
        .signature()
        .as_bytes()
        .ok_or("signature BIT STRING has unused bits")?;
    let spki = spki_der(issuer).map_err(|e| e.to_string())?;
    verify_signature(&spki, cert.signature_algorithm(), &tbs, sig)
        .map_err(|e| format!("signature on {}: {e}", cert.tbs_certificate().subject()))
}

#[cfg(test)]
mod tests;
