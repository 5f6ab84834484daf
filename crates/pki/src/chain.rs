//! Submission chain validation for `add-chain` / `add-pre-chain`
//! (RFC 6962 §3.1, §4.1, §4.2) and precertificate TBS reconstruction (§3.2).

use const_oid::db::rfc5280;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use thiserror::Error;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage};

use crate::ct::{self, CtError, SignedCertificateTimestamp, SignedEntry};
use crate::der_util::{self, RawDerError, TAG_CTX_0, TAG_CTX_3, TAG_SEQUENCE};
use crate::oids;
use crate::verify::{VerifyError, verify_signature};

/// Largest certificate accepted, in bytes.
pub const MAX_CERT_LEN: usize = 64 * 1024;
/// Most certificates accepted in a submitted chain (leaf included).
pub const MAX_CHAIN_LEN: usize = 16;

/// Errors of chain validation and root store construction.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChainError {
    /// The submitted chain has no certificate.
    #[error("empty chain")]
    EmptyChain,
    /// The submitted chain has more than [`MAX_CHAIN_LEN`] certificates.
    #[error("chain has {0} certificates, more than {MAX_CHAIN_LEN}")]
    ChainTooLong(usize),
    /// A certificate is larger than [`MAX_CERT_LEN`].
    #[error("certificate {index} is {len} bytes, more than {MAX_CERT_LEN}")]
    CertTooLarge {
        /// Position in the chain.
        index: usize,
        /// Its size.
        len: usize,
    },
    /// A certificate does not parse as DER X.509.
    #[error("certificate {index} is malformed: {reason}")]
    Malformed {
        /// Position in the chain (0 for single-certificate inputs).
        index: usize,
        /// Parser message.
        reason: String,
    },
    /// RFC 6962 §4.1: `add-chain` takes final certificates, which carry no poison.
    #[error("certificate carries the CT poison extension; submit it with add-pre-chain")]
    PoisonOnCertificate,
    /// RFC 6962 §3.1: a precertificate MUST carry the poison extension.
    #[error("precertificate lacks the CT poison extension")]
    MissingPoison,
    /// RFC 6962 §3.1: the poison extension MUST be critical.
    #[error("CT poison extension is not critical")]
    PoisonNotCritical,
    /// RFC 6962 §3.1: the poison's extnValue is ASN.1 NULL (0x05 0x00), present once.
    #[error("CT poison extension is malformed or repeated")]
    PoisonMalformed,
    /// Certificate `index`'s issuer name is not the subject of certificate `index + 1`.
    #[error("issuer of certificate {index} does not match the subject of the next certificate")]
    IssuerMismatch {
        /// Position of the issued certificate.
        index: usize,
    },
    /// Certificate `index` is not validly signed by the next certificate's key.
    #[error("signature on certificate {index} does not verify: {source}")]
    BadSignature {
        /// Position of the issued certificate.
        index: usize,
        /// Why.
        source: VerifyError,
    },
    /// RFC 5280 §4.1.1.2: signatureAlgorithm must equal tbsCertificate.signature.
    #[error("certificate {index}: signatureAlgorithm differs from tbsCertificate.signature")]
    SignatureAlgorithmMismatch {
        /// Position.
        index: usize,
    },
    /// An issuer is not a CA (basicConstraints cA=TRUE missing).
    #[error("issuer certificate {index} is not a CA")]
    NotCa {
        /// Position in the full chain.
        index: usize,
    },
    /// An intermediate is expired at the submission time.
    #[error("intermediate certificate {index} has expired")]
    IntermediateExpired {
        /// Position.
        index: usize,
    },
    /// An intermediate is not yet valid at the submission time.
    #[error("intermediate certificate {index} is not yet valid")]
    IntermediateNotYetValid {
        /// Position.
        index: usize,
    },
    /// The accepted root is expired at the submission time.
    #[error("root certificate has expired")]
    RootExpired,
    /// The accepted root is not yet valid at the submission time.
    #[error("root certificate is not yet valid")]
    RootNotYetValid,
    /// The chain does not end at, or is not issued by, an accepted root.
    #[error("chain does not lead to an accepted root")]
    NoPathToRoot,
    /// A precertificate must be submitted with its issuer (RFC 6962 §4.2).
    #[error("precertificate submitted without its issuer")]
    MissingIssuer,
    /// A Precertificate Signing Certificate must be followed by the real issuer (RFC 6962 §3.1).
    #[error("precertificate signing certificate is not followed by its issuing CA")]
    MissingRealIssuer,
    /// Root store: PEM text is malformed.
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// The certificate has no embedded SCT list extension.
    #[error("certificate has no embedded SCT list")]
    NoSctList,
    /// The embedded SCT list does not decode.
    #[error("embedded SCT list: {0}")]
    Sct(#[from] CtError),
}

/// Whether the submission is `add-chain` or `add-pre-chain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionKind {
    /// RFC 6962 §4.1 `add-chain`: a final certificate.
    Certificate,
    /// RFC 6962 §4.2 `add-pre-chain`: a precertificate.
    Precertificate,
}

/// A chain accepted for logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedChain {
    /// What goes in the `TimestampedEntry`.
    pub entry: SignedEntry,
    /// The submitted leaf (certificate or precertificate) DER.
    pub leaf_der: Vec<u8>,
    /// The issuers after the leaf, up to and including the accepted root.
    pub chain_der: Vec<Vec<u8>>,
}

/// A certificate parsed once, with raw DER slices of the fields compared byte-for-byte.
struct ParsedCert<'a> {
    der: &'a [u8],
    cert: Certificate,
    tbs_raw: &'a [u8],
    issuer_raw: &'a [u8],
    subject_raw: &'a [u8],
    spki_raw: &'a [u8],
}

fn malformed(index: usize) -> impl Fn(String) -> ChainError {
    move |reason| ChainError::Malformed { index, reason }
}

fn parse_cert(der: &[u8], index: usize) -> Result<ParsedCert<'_>, ChainError> {
    if der.len() > MAX_CERT_LEN {
        return Err(ChainError::CertTooLarge {
            index,
            len: der.len(),
        });
    }
    let m = malformed(index);
    let cert = Certificate::from_der(der).map_err(|e| m(e.to_string()))?;
    let raw = |e: RawDerError| m(e.to_string());
    let outer = der_util::read_single(der, TAG_SEQUENCE).map_err(raw)?;
    let (tbs, _) = der_util::read_tlv(outer.content).map_err(raw)?;
    let f = TbsFields::split(tbs.raw).map_err(raw)?;
    let field = |i: usize| {
        f.elems
            .get(f.base + i)
            .map(|t| t.raw)
            .ok_or_else(|| m("short TBSCertificate".into()))
    };
    Ok(ParsedCert {
        der,
        tbs_raw: tbs.raw,
        issuer_raw: field(2)?,
        subject_raw: field(4)?,
        spki_raw: field(5)?,
        cert,
    })
}

/// The TBSCertificate's top-level elements; `base` skips the optional `[0] version`.
struct TbsFields<'a> {
    elems: Vec<der_util::Tlv<'a>>,
    base: usize,
}

impl<'a> TbsFields<'a> {
    fn split(tbs_raw: &'a [u8]) -> Result<Self, RawDerError> {
        let tbs = der_util::read_single(tbs_raw, TAG_SEQUENCE)?;
        let elems = der_util::elements(tbs.content)?;
        let base = usize::from(elems.first().is_some_and(|e| e.tag == TAG_CTX_0));
        Ok(Self { elems, base })
    }
}

impl ParsedCert<'_> {
    fn extensions(&self) -> &[Extension] {
        self.cert
            .tbs_certificate()
            .extensions()
            .map(|v| v.as_slice())
            .unwrap_or(&[])
    }

    fn find_extensions(&self, oid: der::oid::ObjectIdentifier) -> impl Iterator<Item = &Extension> {
        self.extensions().iter().filter(move |e| e.extn_id == oid)
    }

    fn is_ca(&self) -> bool {
        matches!(
            self.cert
                .tbs_certificate()
                .get_extension::<BasicConstraints>(),
            Ok(Some((_, BasicConstraints { ca: true, .. })))
        )
    }

    fn has_precert_signing_eku(&self) -> bool {
        matches!(
            self.cert.tbs_certificate().get_extension::<ExtendedKeyUsage>(),
            Ok(Some((_, eku))) if eku.0.contains(&oids::CT_PRECERT_SIGNING_EKU)
        )
    }

    /// -1: not yet valid, 0: valid, 1: expired.
    fn validity_at(&self, now_unix_ms: u64) -> std::cmp::Ordering {
        let v = self.cert.tbs_certificate().validity();
        let now = u128::from(now_unix_ms);
        if now < v.not_before.to_unix_duration().as_millis() {
            std::cmp::Ordering::Less
        } else if now > v.not_after.to_unix_duration().as_millis() {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    }

    /// Verifies that `self` is signed by `issuer_spki` (RFC 5280 §4.1.1.2, §4.1.1.3).
    fn verify_signed_by(&self, issuer_spki: &[u8], index: usize) -> Result<(), ChainError> {
        let alg = self.cert.signature_algorithm();
        if alg != self.cert.tbs_certificate().signature() {
            return Err(ChainError::SignatureAlgorithmMismatch { index });
        }
        let sig = self
            .cert
            .signature()
            .as_bytes()
            .ok_or(ChainError::BadSignature {
                index,
                source: VerifyError::BadSignature,
            })?;
        verify_signature(issuer_spki, alg, self.tbs_raw, sig)
            .map_err(|source| ChainError::BadSignature { index, source })
    }
}

/// An accepted root.
#[derive(Debug, Clone)]
struct Root {
    der: Vec<u8>,
}

/// The set of accepted roots (RFC 6962 §4.7 `get-roots`), deduplicated by DER and
/// indexed by subject name DER.
#[derive(Debug, Clone, Default)]
pub struct RootStore {
    roots: Vec<Root>,
    by_fingerprint: HashMap<[u8; 32], usize>,
    by_subject: HashMap<Vec<u8>, Vec<usize>>,
    verified_links: Arc<VerifiedLinks>,
}

/// Most issuer→CA signature checks remembered by [`VerifiedLinks`].
pub const VERIFIED_LINK_CACHE: usize = 4096;

/// Signatures already verified on CA certificates (not leaves): a log sees the same
/// few intermediates in almost every submission, and an ECDSA verification costs about
/// 60 µs against 1 µs for the hash that identifies the link. Only successes are
/// remembered; the key covers the whole certificate DER and the issuer's key, so a
/// remembered link is exactly the bytes that verified. Bounded: when full, it starts
/// over (a flood of distinct intermediates costs verifications, never memory).
#[derive(Debug, Default)]
struct VerifiedLinks(Mutex<HashSet<[u8; 32]>>);

impl VerifiedLinks {
    fn key(cert_der: &[u8], issuer_spki: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update((cert_der.len() as u64).to_be_bytes());
        h.update(cert_der);
        h.update(issuer_spki);
        h.finalize().into()
    }

    fn contains(&self, key: &[u8; 32]) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(key)
    }

    fn insert(&self, key: [u8; 32]) {
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if set.len() >= VERIFIED_LINK_CACHE {
            set.clear();
        }
        set.insert(key);
    }
}

/// The DER of every `CERTIFICATE` block of a PEM bundle, in order; other blocks
/// (keys, CRLs) are skipped, malformed armour is an error.
pub fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, ChainError> {
    const BEGIN: &str = "-----BEGIN ";
    let mut rest = pem;
    let mut out = Vec::new();
    while let Some(start) = rest.find(BEGIN) {
        let block = &rest[start..];
        let label_end = block[BEGIN.len()..]
            .find("-----")
            .ok_or_else(|| ChainError::Pem("unterminated BEGIN line".into()))?;
        let label = &block[BEGIN.len()..BEGIN.len() + label_end];
        let end_marker = format!("-----END {label}-----");
        let end = block
            .find(&end_marker)
            .ok_or_else(|| ChainError::Pem(format!("no END line for {label}")))?
            + end_marker.len();
        if label == "CERTIFICATE" {
            let (_, der) = der::pem::decode_vec(&block.as_bytes()[..end])
                .map_err(|e| ChainError::Pem(e.to_string()))?;
            out.push(der);
        }
        rest = &block[end..];
    }
    Ok(out)
}

impl RootStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every `CERTIFICATE` block of a PEM bundle (other block types are skipped).
    /// Returns how many new roots were added (identical roots are kept once).
    pub fn add_pem_bundle(&mut self, pem: &str) -> Result<usize, ChainError> {
        let mut added = 0;
        for der in pem_certificates(pem)? {
            if self.add_der(&der)? {
                added += 1;
            }
        }
        Ok(added)
    }

    /// Adds one DER root. Returns `false` if it was already present.
    /// Roots must be CA certificates (basicConstraints cA=TRUE).
    pub fn add_der(&mut self, der: &[u8]) -> Result<bool, ChainError> {
        let fp: [u8; 32] = Sha256::digest(der).into();
        if self.by_fingerprint.contains_key(&fp) {
            return Ok(false);
        }
        let parsed = parse_cert(der, 0)?;
        if !parsed.is_ca() {
            return Err(ChainError::NotCa { index: 0 });
        }
        let idx = self.roots.len();
        self.by_subject
            .entry(parsed.subject_raw.to_vec())
            .or_default()
            .push(idx);
        self.roots.push(Root { der: der.to_vec() });
        self.by_fingerprint.insert(fp, idx);
        Ok(true)
    }

    /// Number of distinct roots.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// The roots' DER, in insertion order (for `get-roots`).
    pub fn roots_der(&self) -> impl Iterator<Item = &[u8]> {
        self.roots.iter().map(|r| r.der.as_slice())
    }

    /// Whether `der` is byte-for-byte an accepted root.
    pub fn contains_der(&self, der: &[u8]) -> bool {
        let fp: [u8; 32] = Sha256::digest(der).into();
        self.by_fingerprint.contains_key(&fp)
    }

    fn by_subject(&self, subject_raw: &[u8]) -> impl Iterator<Item = &[u8]> {
        self.by_subject
            .get(subject_raw)
            .into_iter()
            .flatten()
            .filter_map(|i| self.roots.get(*i))
            .map(|r| r.der.as_slice())
    }
}

/// Validates a submitted chain (leaf first) for `add-chain` / `add-pre-chain`.
///
/// Checks, in order: bounds ([`MAX_CHAIN_LEN`], [`MAX_CERT_LEN`]); every certificate
/// parses; the leaf's poison extension matches `kind` (RFC 6962 §3.1: absent for
/// certificates; present, critical and NULL for precertificates); each certificate's
/// issuer name equals the next one's subject (byte-equal DER) and its signature verifies
/// with the next one's key; the last certificate is an accepted root (byte-equal) or is
/// signed by one, which is then appended; every issuer is a CA, except a Precertificate
/// Signing Certificate; every issuer is valid at `now_unix_ms`.
///
/// The leaf's own validity period is deliberately not checked: a CT log records what a
/// CA issued, and an expired or not-yet-valid certificate is still evidence worth
/// logging (RFC 6962 §4.1 only requires the chain to lead to an accepted root).
pub fn validate_chain(
    chain: &[Vec<u8>],
    roots: &RootStore,
    now_unix_ms: u64,
    kind: SubmissionKind,
) -> Result<ValidatedChain, ChainError> {
    if chain.is_empty() {
        return Err(ChainError::EmptyChain);
    }
    if chain.len() > MAX_CHAIN_LEN {
        return Err(ChainError::ChainTooLong(chain.len()));
    }
    // Size bounds for all before parsing any.
    for (index, der) in chain.iter().enumerate() {
        if der.len() > MAX_CERT_LEN {
            return Err(ChainError::CertTooLarge {
                index,
                len: der.len(),
            });
        }
    }
    let mut full: Vec<ParsedCert<'_>> = chain
        .iter()
        .enumerate()
        .map(|(i, der)| parse_cert(der, i))
        .collect::<Result<_, _>>()?;

    let leaf = &full[0];
    check_poison(leaf, kind)?;

    for i in 0..full.len() - 1 {
        let (cert, issuer) = (&full[i], &full[i + 1]);
        if cert.issuer_raw != issuer.subject_raw {
            return Err(ChainError::IssuerMismatch { index: i });
        }
        if i == 0 {
            // Leaves are new every time: nothing to gain from remembering them.
            cert.verify_signed_by(issuer.spki_raw, i)?;
            continue;
        }
        let key = VerifiedLinks::key(cert.der, issuer.spki_raw);
        if !roots.verified_links.contains(&key) {
            cert.verify_signed_by(issuer.spki_raw, i)?;
            roots.verified_links.insert(key);
        }
    }

    // Anchor the chain at an accepted root.
    let last_index = full.len() - 1;
    let last = &full[last_index];
    if !roots.contains_der(last.der) {
        let mut anchor = None;
        for root_der in roots.by_subject(last.issuer_raw) {
            let root = parse_cert(root_der, last_index + 1)?;
            if last.verify_signed_by(root.spki_raw, last_index).is_ok() {
                anchor = Some(root);
                break;
            }
        }
        full.push(anchor.ok_or(ChainError::NoPathToRoot)?);
    }

    let precert_signing = kind == SubmissionKind::Precertificate
        && full.len() > 1
        && full[1].has_precert_signing_eku();

    let root_index = full.len() - 1;
    for (index, cert) in full.iter().enumerate().skip(1) {
        let exempt = index == 1 && precert_signing;
        if !exempt && !cert.is_ca() {
            return Err(ChainError::NotCa { index });
        }
        match (cert.validity_at(now_unix_ms), index == root_index) {
            (std::cmp::Ordering::Equal, _) => {}
            (std::cmp::Ordering::Less, true) => return Err(ChainError::RootNotYetValid),
            (std::cmp::Ordering::Greater, true) => return Err(ChainError::RootExpired),
            (std::cmp::Ordering::Less, false) => {
                return Err(ChainError::IntermediateNotYetValid { index });
            }
            (std::cmp::Ordering::Greater, false) => {
                return Err(ChainError::IntermediateExpired { index });
            }
        }
    }

    let entry = match kind {
        SubmissionKind::Certificate => SignedEntry::X509(chain[0].clone()),
        SubmissionKind::Precertificate => precert_entry(&full, precert_signing)?,
    };
    Ok(ValidatedChain {
        entry,
        leaf_der: chain[0].clone(),
        chain_der: full[1..].iter().map(|c| c.der.to_vec()).collect(),
    })
}

/// RFC 6962 §3.1 poison rules for the submitted leaf.
fn check_poison(leaf: &ParsedCert<'_>, kind: SubmissionKind) -> Result<(), ChainError> {
    let mut poisons = leaf.find_extensions(oids::CT_POISON);
    let first = poisons.next();
    if poisons.next().is_some() {
        return Err(ChainError::PoisonMalformed);
    }
    match (kind, first) {
        (SubmissionKind::Certificate, None) => Ok(()),
        (SubmissionKind::Certificate, Some(_)) => Err(ChainError::PoisonOnCertificate),
        (SubmissionKind::Precertificate, None) => Err(ChainError::MissingPoison),
        (SubmissionKind::Precertificate, Some(ext)) => {
            if !ext.critical {
                Err(ChainError::PoisonNotCritical)
            } else if ext.extn_value.as_bytes() != [0x05, 0x00] {
                Err(ChainError::PoisonMalformed)
            } else {
                Ok(())
            }
        }
    }
}

/// RFC 6962 §3.2 `PreCert` for a validated precertificate chain.
///
/// "issuer_key_hash" is the HASH of the public key of the CA that will issue the final
/// certificate: the precertificate's issuer, or, when that is a Precertificate Signing
/// Certificate, the CA after it. "tbs_certificate" is the precertificate's TBS with the
/// poison removed and, for a Precertificate Signing Certificate, the issuer changed to
/// that CA and the Authority Key Identifier changed to the signing certificate's one
/// (the final certificate's AKI), removed if it has none.
fn precert_entry(
    full: &[ParsedCert<'_>],
    precert_signing: bool,
) -> Result<SignedEntry, ChainError> {
    let leaf = &full[0];
    let raw = |e: RawDerError| malformed(0)(e.to_string());
    let (issuer, edit) = if precert_signing {
        let signer = &full[1];
        let real_issuer = full.get(2).ok_or(ChainError::MissingRealIssuer)?;
        let aki = signer
            .find_extensions(rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER)
            .next()
            .map(|e| e.extn_value.as_bytes());
        (
            real_issuer,
            TbsEdit {
                new_issuer: Some(signer.issuer_raw),
                aki: Some(aki),
            },
        )
    } else {
        (
            full.get(1).ok_or(ChainError::MissingIssuer)?,
            TbsEdit::default(),
        )
    };
    let tbs_certificate = rewrite_tbs(leaf.tbs_raw, &edit).map_err(raw)?;
    Ok(SignedEntry::Precert {
        issuer_key_hash: Sha256::digest(issuer.spki_raw).into(),
        tbs_certificate,
    })
}

/// Changes applied to a TBSCertificate besides dropping the poison and SCT list.
#[derive(Default)]
struct TbsEdit<'a> {
    /// Replace the issuer Name with this DER.
    new_issuer: Option<&'a [u8]>,
    /// `Some(Some(v))`: set the AKI extnValue to `v` (append if absent);
    /// `Some(None)`: remove the AKI; `None`: leave it.
    aki: Option<Option<&'a [u8]>>,
}

/// Re-encodes a TBSCertificate with the poison and SCT-list extensions removed and the
/// [`TbsEdit`] applied. Untouched fields and extensions are copied byte-for-byte.
fn rewrite_tbs(tbs_raw: &[u8], edit: &TbsEdit<'_>) -> Result<Vec<u8>, RawDerError> {
    let fields = TbsFields::split(tbs_raw)?;
    let issuer_pos = fields.base + 2;
    let mut content = Vec::with_capacity(tbs_raw.len());
    let mut saw_extensions = false;
    for (i, elem) in fields.elems.iter().enumerate() {
        let new_issuer = edit.new_issuer.filter(|_| i == issuer_pos);
        if let Some(issuer) = new_issuer {
            content.extend_from_slice(issuer);
        } else if elem.tag == TAG_CTX_3 {
            saw_extensions = true;
            let seq = der_util::read_single(elem.content, TAG_SEQUENCE)?;
            let exts = rewrite_extensions(seq.content, edit)?;
            put_extensions(&mut content, &exts);
        } else {
            content.extend_from_slice(elem.raw);
        }
    }
    if let (false, Some(Some(aki))) = (saw_extensions, edit.aki) {
        put_extensions(&mut content, &aki_extension(aki, false)?);
    }
    let mut out = Vec::with_capacity(content.len() + 4);
    der_util::put_tlv(&mut out, TAG_SEQUENCE, &content);
    Ok(out)
}

/// `[3] EXPLICIT Extensions`, omitted when empty (`SEQUENCE SIZE (1..MAX)`).
fn put_extensions(out: &mut Vec<u8>, exts: &[u8]) {
    if exts.is_empty() {
        return;
    }
    let mut seq = Vec::with_capacity(exts.len() + 4);
    der_util::put_tlv(&mut seq, TAG_SEQUENCE, exts);
    der_util::put_tlv(out, TAG_CTX_3, &seq);
}

fn aki_extension(value: &[u8], critical: bool) -> Result<Vec<u8>, RawDerError> {
    let ext = Extension {
        extn_id: rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
        critical,
        extn_value: der::asn1::OctetString::new(value).map_err(|_| RawDerError::BadLength)?,
    };
    ext.to_der().map_err(|_| RawDerError::BadLength)
}

fn rewrite_extensions(exts_content: &[u8], edit: &TbsEdit<'_>) -> Result<Vec<u8>, RawDerError> {
    let mut out = Vec::with_capacity(exts_content.len());
    let mut saw_aki = false;
    for ext in der_util::elements(exts_content)? {
        let parsed =
            Extension::from_der(ext.raw).map_err(|_| RawDerError::UnexpectedTag(ext.tag))?;
        match parsed.extn_id {
            oids::CT_POISON | oids::CT_SCT_LIST => {}
            rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER if edit.aki.is_some() => {
                saw_aki = true;
                if let Some(Some(value)) = edit.aki {
                    out.extend_from_slice(&aki_extension(value, parsed.critical)?);
                }
            }
            _ => out.extend_from_slice(ext.raw),
        }
    }
    if let (false, Some(Some(value))) = (saw_aki, edit.aki) {
        out.extend_from_slice(&aki_extension(value, false)?);
    }
    Ok(out)
}

/// The TBSCertificate of a final certificate with its embedded SCT list extension
/// removed: what the log signed as `PreCert.tbs_certificate` (RFC 6962 §3.2), and what
/// a verifier reconstructs to check embedded SCTs.
pub fn precert_tbs_from_certificate(cert_der: &[u8]) -> Result<Vec<u8>, ChainError> {
    let cert = parse_cert(cert_der, 0)?;
    rewrite_tbs(cert.tbs_raw, &TbsEdit::default()).map_err(|e| malformed(0)(e.to_string()))
}

/// The SCTs embedded in a certificate's 1.3.6.1.4.1.11129.2.4.2 extension (RFC 6962 §3.3).
pub fn embedded_scts(cert_der: &[u8]) -> Result<Vec<SignedCertificateTimestamp>, ChainError> {
    let cert = parse_cert(cert_der, 0)?;
    let ext = cert
        .find_extensions(oids::CT_SCT_LIST)
        .next()
        .ok_or(ChainError::NoSctList)?;
    Ok(
        ct::SignedCertificateTimestampList::from_extension_value(ext.extn_value.as_bytes())?
            .sct_list,
    )
}

#[cfg(test)]
mod tests;
