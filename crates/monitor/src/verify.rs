//! Offline (and optionally online) verification of one certificate.
//!
//! 1. RFC 5280 §6 path validation, simplified to what code-signing and web PKI
//!    verifiers do: build a path from the leaf through the supplied intermediates to a
//!    supplied root (byte-equal root, or a certificate signed by one), verify every
//!    signature, check every certificate's validity at the given time, that issuers are
//!    CAs (basicConstraints cA, pathLenConstraint, keyCertSign when keyUsage is
//!    present), that no critical extension is left unprocessed (§4.2: a verifier "MUST
//!    reject the certificate if it encounters a critical extension it does not
//!    recognize"), and optionally EKU codeSigning on the leaf.
//! 2. Every embedded SCT (RFC 6962 §3.3) against the known log keys: the log signed a
//!    `precert_entry` whose TBSCertificate is the final certificate's TBS without the
//!    SCT list, and whose issuer_key_hash is the hash of the issuer's key (§3.2).
//! 3. The SCT policy: at least N valid SCTs from distinct logs.
//! 4. With [`check_inclusion`]: an inclusion proof from each log for that entry,
//!    against a tree head whose signature verified.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clock::format_time_ms;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280;
use der::{Decode, Encode};
use pki::ct::{merkle_tree_leaf, sct_signed_data};
use pki::ct_api::{GetProofByHashResponse, GetSthResponse};
use pki::{SignedCertificateTimestamp, SignedEntry, TimestampedEntry};
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};

use crate::client::{Client, log_base, query_value};
use crate::identity::{Identity, identity_of};
use crate::loglist::LogKeys;

/// Longest path built (leaf and root included): real paths have 2–4 certificates.
pub const MAX_PATH_LEN: usize = 8;
/// Most certificates accepted as intermediates or roots.
pub const MAX_CANDIDATES: usize = 1024;

/// What to require.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The time of verification, ms since the epoch.
    pub at_ms: u64,
    /// Valid SCTs from distinct logs required.
    pub min_scts: usize,
    /// Require EKU id-kp-codeSigning on the leaf.
    pub require_code_signing: bool,
}

/// One certificate of the validated path, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct PathCert {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
}

/// Outcome for one embedded SCT.
#[derive(Debug, Clone, Serialize)]
pub struct SctReport {
    /// Base64 `LogID`.
    pub log_id: String,
    /// The log's description from the list, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    pub timestamp: String,
    /// `valid`, or why not.
    pub status: String,
    #[serde(skip)]
    pub valid: bool,
    /// With `--online`: `included at index N of tree size M`, or why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<String>,
    #[serde(skip)]
    entry: Option<TimestampedEntry>,
    #[serde(skip)]
    raw_log_id: [u8; 32],
}

/// The whole verdict. `failures` empty means the certificate passed.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub identity: Identity,
    pub path: Vec<PathCert>,
    pub scts: Vec<SctReport>,
    /// Valid SCTs from distinct logs.
    pub distinct_valid_scts: usize,
    pub min_scts: usize,
    pub failures: Vec<String>,
}

impl Report {
    fn fail(&mut self, why: impl Into<String>) {
        self.failures.push(why.into());
        self.ok = false;
    }

    /// Human-readable output, one fact per line.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let ids: Vec<String> = self
            .identity
            .emails
            .iter()
            .map(|e| format!("email:{e}"))
            .chain(self.identity.uris.iter().map(|u| format!("uri:{u}")))
            .chain(self.identity.dns_names.iter().map(|d| format!("dns:{d}")))
            .collect();
        out.push_str(&format!("identity   {}\n", ids.join(", ")));
        if let Some(iss) = &self.identity.oidc_issuer {
            out.push_str(&format!("issuer     {iss}\n"));
        }
        for (i, c) in self.path.iter().enumerate() {
            let subject = if c.subject.is_empty() {
                "(empty subject)"
            } else {
                &c.subject
            };
            out.push_str(&format!(
                "path[{i}]    {subject}  valid {} .. {}\n",
                c.not_before, c.not_after
            ));
        }
        for s in &self.scts {
            out.push_str(&format!(
                "SCT        {} at {}: {}{}\n",
                s.log.as_deref().unwrap_or(&s.log_id),
                s.timestamp,
                s.status,
                s.inclusion
                    .as_deref()
                    .map(|i| format!("; {i}"))
                    .unwrap_or_default()
            ));
        }
        out.push_str(&format!(
            "SCT policy {} valid from distinct logs, {} required\n",
            self.distinct_valid_scts, self.min_scts
        ));
        if self.ok {
            out.push_str("result     OK\n");
        } else {
            for f in &self.failures {
                out.push_str(&format!("FAILED     {f}\n"));
            }
        }
        out
    }
}

struct Parsed {
    cert: Certificate,
    tbs_der: Vec<u8>,
    spki_der: Vec<u8>,
    is_root: bool,
}

impl Parsed {
    fn new(der: &[u8], is_root: bool) -> Result<Self, String> {
        if der.len() > pki::chain::MAX_CERT_LEN {
            return Err(format!("certificate of {} bytes is too large", der.len()));
        }
        let cert = Certificate::from_der(der).map_err(|e| e.to_string())?;
        let tbs_der = cert.tbs_certificate().to_der().map_err(|e| e.to_string())?;
        let spki_der = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            cert,
            tbs_der,
            spki_der,
            is_root,
        })
    }

    fn name(&self) -> String {
        let s = self.cert.tbs_certificate().subject().to_string();
        if s.is_empty() { "the leaf".into() } else { s }
    }

    /// RFC 5280 §4.1.1.2 (the two algorithm fields agree) and §6.1.3 (a)(1).
    fn signed_by(&self, issuer: &Parsed) -> Result<(), String> {
        let alg = self.cert.signature_algorithm();
        if alg != self.cert.tbs_certificate().signature() {
            return Err("signatureAlgorithm differs from tbsCertificate.signature".into());
        }
        let sig = self
            .cert
            .signature()
            .as_bytes()
            .ok_or("signature BIT STRING has unused bits")?;
        pki::verify_signature(&issuer.spki_der, alg, &self.tbs_der, sig).map_err(|e| e.to_string())
    }

    fn extensions(&self) -> &[x509_cert::ext::Extension] {
        self.cert
            .tbs_certificate()
            .extensions()
            .map(|e| e.as_slice())
            .unwrap_or(&[])
    }

    fn validity_ms(&self) -> (u64, u64) {
        let v = self.cert.tbs_certificate().validity();
        let ms = |t: &x509_cert::time::Time| {
            u64::try_from(t.to_unix_duration().as_millis()).unwrap_or(u64::MAX)
        };
        (ms(&v.not_before), ms(&v.not_after))
    }
}

/// Critical extensions this verifier processes (RFC 5280 §4.2); any other critical
/// extension fails the path.
const UNDERSTOOD_CRITICAL: &[ObjectIdentifier] = &[
    rfc5280::ID_CE_BASIC_CONSTRAINTS,
    rfc5280::ID_CE_KEY_USAGE,
    rfc5280::ID_CE_EXT_KEY_USAGE,
    rfc5280::ID_CE_SUBJECT_ALT_NAME,
];

/// Builds the path leaf → … → root by issuer name and signature; `Err` says why there
/// is none.
fn build_path(leaf: Parsed, mut pool: Vec<Parsed>) -> Result<Vec<Parsed>, String> {
    let mut path = vec![leaf];
    loop {
        let Some(cur) = path.last() else {
            return Err("empty path".into());
        };
        if cur.is_root {
            return Ok(path);
        }
        if path.len() >= MAX_PATH_LEN {
            return Err(format!("no root within {MAX_PATH_LEN} certificates"));
        }
        // Roots first: the shortest path to a trust anchor wins.
        let mut order: Vec<usize> = (0..pool.len()).collect();
        order.sort_by_key(|&i| !pool[i].is_root);
        let mut rejected = None;
        let mut found = None;
        for i in order {
            let cand = &pool[i];
            if cand.cert.tbs_certificate().subject() != cur.cert.tbs_certificate().issuer() {
                continue;
            }
            match cur.signed_by(cand) {
                Ok(()) => {
                    found = Some(i);
                    break;
                }
                Err(e) => rejected = Some((cand.name(), e)),
            }
        }
        match (found, rejected) {
            (Some(i), _) => {
                let next = pool.swap_remove(i);
                path.push(next);
            }
            (None, Some((by, e))) => {
                return Err(format!(
                    "broken chain: the signature on {} does not verify with the key of {by}: {e}",
                    cur.name()
                ));
            }
            (None, None) => {
                return Err(format!(
                    "broken chain: no issuer for {} (issuer {}) among the given chain and roots",
                    cur.name(),
                    cur.cert.tbs_certificate().issuer()
                ));
            }
        }
    }
}

/// Checks every certificate of a built path (validity, CA constraints, critical
/// extensions, EKU).
fn check_path(path: &[Parsed], opts: &VerifyOptions, report: &mut Report) {
    for (i, c) in path.iter().enumerate() {
        let (nb, na) = c.validity_ms();
        let what = if i == 0 {
            "certificate".to_owned()
        } else {
            c.name()
        };
        if opts.at_ms < nb {
            report.fail(format!(
                "{what} is not valid yet at {} (notBefore {})",
                format_time_ms(opts.at_ms),
                format_time_ms(nb)
            ));
        } else if opts.at_ms > na {
            report.fail(format!(
                "{what} has expired at {} (notAfter {})",
                format_time_ms(opts.at_ms),
                format_time_ms(na)
            ));
        }
        for ext in c.extensions() {
            if ext.critical && !UNDERSTOOD_CRITICAL.contains(&ext.extn_id) {
                if ext.extn_id == pki::oids::CT_POISON && i == 0 {
                    report.fail("certificate is a precertificate (CT poison extension)");
                } else {
                    report.fail(format!(
                        "{what} has an unsupported critical extension {}",
                        ext.extn_id
                    ));
                }
            }
        }
        let tbs = c.cert.tbs_certificate();
        if i > 0 {
            match tbs.get_extension::<BasicConstraints>() {
                Ok(Some((_, bc))) if bc.ca => {
                    // pathLenConstraint counts the non-leaf certificates below.
                    if let Some(max) = bc.path_len_constraint
                        && i - 1 > usize::from(max)
                    {
                        report.fail(format!(
                            "{what}: pathLenConstraint {max} exceeded by {} intermediates below it",
                            i - 1
                        ));
                    }
                }
                Ok(_) => report.fail(format!("{what} issues certificates but is not a CA")),
                Err(e) => report.fail(format!("{what}: malformed basicConstraints: {e}")),
            }
            match tbs.get_extension::<KeyUsage>() {
                Ok(Some((_, ku))) if !ku.key_cert_sign() => {
                    report.fail(format!("{what}: keyUsage lacks keyCertSign"));
                }
                Err(e) => report.fail(format!("{what}: malformed keyUsage: {e}")),
                _ => {}
            }
        } else if opts.require_code_signing {
            match tbs.get_extension::<ExtendedKeyUsage>() {
                Ok(Some((_, eku))) if eku.0.contains(&rfc5280::ID_KP_CODE_SIGNING) => {}
                Ok(_) => report.fail("certificate has no codeSigning extended key usage"),
                Err(e) => report.fail(format!("malformed extendedKeyUsage: {e}")),
            }
        }
    }
}

/// Verifies `leaf_der` with the candidate intermediates `chain` and trust anchors
/// `roots` (DER), at `opts.at_ms`, and its embedded SCTs against `keys`.
pub fn verify_certificate(
    leaf_der: &[u8],
    chain: &[Vec<u8>],
    roots: &[Vec<u8>],
    keys: &LogKeys,
    opts: &VerifyOptions,
) -> Report {
    let mut report = Report {
        ok: true,
        identity: Identity::default(),
        path: Vec::new(),
        scts: Vec::new(),
        distinct_valid_scts: 0,
        min_scts: opts.min_scts,
        failures: Vec::new(),
    };
    let leaf = match Parsed::new(leaf_der, false) {
        Ok(l) => l,
        Err(e) => {
            report.fail(format!("certificate does not parse: {e}"));
            return report;
        }
    };
    report.identity = identity_of(leaf.cert.tbs_certificate());
    if roots.is_empty() {
        report.fail("no trust anchors: give the roots to verify against");
    }
    if chain.len() + roots.len() > MAX_CANDIDATES {
        report.fail(format!(
            "more than {MAX_CANDIDATES} chain and root certificates"
        ));
        return report;
    }
    let mut pool = Vec::new();
    for (der, is_root) in roots
        .iter()
        .map(|r| (r, true))
        .chain(chain.iter().map(|c| (c, false)))
    {
        // The leaf repeated in a bundle, or a root also listed in the chain, is not a
        // candidate issuer of itself.
        if der.as_slice() == leaf_der || (!is_root && roots.contains(der)) {
            continue;
        }
        match Parsed::new(der, is_root) {
            Ok(p) => pool.push(p),
            Err(e) => report.fail(format!(
                "a {} certificate does not parse: {e}",
                if is_root { "root" } else { "chain" }
            )),
        }
    }
    // The SCTs are checked even when the path is not: they only need the issuer's key,
    // and saying which of the two is broken is the point of the report.
    let named_issuer = pool
        .iter()
        .find(|c| c.cert.tbs_certificate().subject() == leaf.cert.tbs_certificate().issuer())
        .map(|c| c.spki_der.clone());
    let issuer_spki = match build_path(leaf, pool) {
        Ok(path) => {
            check_path(&path, opts, &mut report);
            report.path = path
                .iter()
                .map(|c| {
                    let (nb, na) = c.validity_ms();
                    PathCert {
                        subject: c.cert.tbs_certificate().subject().to_string(),
                        issuer: c.cert.tbs_certificate().issuer().to_string(),
                        not_before: format_time_ms(nb),
                        not_after: format_time_ms(na),
                    }
                })
                .collect();
            path.get(1).map(|p| p.spki_der.clone())
        }
        Err(e) => {
            report.fail(e);
            named_issuer
        }
    };
    check_scts(leaf_der, issuer_spki.as_deref(), keys, opts, &mut report);
    report
}

/// Verifies each embedded SCT and applies the policy.
fn check_scts(
    leaf_der: &[u8],
    issuer_spki: Option<&[u8]>,
    keys: &LogKeys,
    opts: &VerifyOptions,
    report: &mut Report,
) {
    let scts = match pki::embedded_scts(leaf_der) {
        Ok(s) => s,
        Err(pki::ChainError::NoSctList) => Vec::new(),
        Err(e) => {
            report.fail(format!("embedded SCT list: {e}"));
            Vec::new()
        }
    };
    let tbs = pki::precert_tbs_from_certificate(leaf_der);
    let mut distinct = BTreeSet::new();
    for sct in &scts {
        let mut r = SctReport {
            log_id: B64.encode(sct.log_id),
            log: None,
            timestamp: format_time_ms(sct.timestamp),
            status: String::new(),
            valid: false,
            inclusion: None,
            entry: None,
            raw_log_id: sct.log_id,
        };
        r.status = match (keys.get(&sct.log_id), issuer_spki, &tbs) {
            (None, _, _) => format!("unknown log {}", r.log_id),
            (Some(key), Some(issuer), Ok(tbs)) => {
                r.log = Some(key.description.clone());
                let entry = precert_entry(sct, issuer, tbs);
                match pki::verify_digitally_signed(
                    &key.spki_der,
                    &sct_signed_data(&entry),
                    &sct.signature,
                ) {
                    Err(e) => format!("signature does not verify: {e}"),
                    Ok(()) if sct.timestamp > opts.at_ms => {
                        "SCT timestamp is later than the verification time".into()
                    }
                    Ok(()) => {
                        r.valid = true;
                        r.entry = Some(entry);
                        distinct.insert(sct.log_id);
                        "valid".into()
                    }
                }
            }
            (Some(key), None, _) => {
                r.log = Some(key.description.clone());
                "cannot be checked without the issuer's key".into()
            }
            (Some(key), _, Err(e)) => {
                r.log = Some(key.description.clone());
                format!("cannot rebuild the precertificate TBS: {e}")
            }
        };
        if !r.valid {
            let who = r.log.clone().unwrap_or_else(|| r.log_id.clone());
            report.fail(format!("SCT from {who}: {}", r.status));
        }
        report.scts.push(r);
    }
    report.distinct_valid_scts = distinct.len();
    if distinct.len() < opts.min_scts {
        report.fail(format!(
            "SCT policy: {} valid SCT{} from distinct logs, {} required",
            distinct.len(),
            if distinct.len() == 1 { "" } else { "s" },
            opts.min_scts
        ));
    }
}

/// RFC 6962 §3.2: the `precert_entry` a log signed for an embedded SCT.
fn precert_entry(
    sct: &SignedCertificateTimestamp,
    issuer_spki: &[u8],
    tbs: &[u8],
) -> TimestampedEntry {
    TimestampedEntry {
        timestamp: sct.timestamp,
        entry: SignedEntry::Precert {
            issuer_key_hash: Sha256::digest(issuer_spki).into(),
            tbs_certificate: tbs.to_vec(),
        },
        extensions: sct.extensions.clone(),
    }
}

/// For every valid SCT, fetches the log's tree head (verifying its signature) and an
/// inclusion proof for the SCT's entry, and verifies it (RFC 9162 §2.1.3.2). Each
/// failure is recorded in the report.
pub async fn check_inclusion(report: &mut Report, keys: &LogKeys, client: &Client) {
    let mut failures = Vec::new();
    for sct in report.scts.iter_mut().filter(|s| s.valid) {
        let Some(entry) = &sct.entry else { continue };
        let Some(key) = keys.get(&sct.raw_log_id) else {
            continue;
        };
        let outcome = inclusion_one(entry, key, client).await;
        let who = sct.log.clone().unwrap_or_else(|| sct.log_id.clone());
        match outcome {
            Ok(msg) => sct.inclusion = Some(msg),
            Err(e) => {
                failures.push(format!("inclusion in {who}: {e}"));
                sct.inclusion = Some(e);
            }
        }
    }
    for f in failures {
        report.fail(f);
    }
}

async fn inclusion_one(
    entry: &TimestampedEntry,
    key: &crate::loglist::LogKey,
    client: &Client,
) -> Result<String, String> {
    if key.url.is_empty() {
        return Err("the log list gives no URL for this log".into());
    }
    let base = log_base(&key.url);
    let sth = client
        .get_ct_json::<GetSthResponse>(&format!("{base}ct/v1/get-sth"))
        .await
        .map_err(|e| e.to_string())?
        .ok()
        .and_then(|sth| sth.into_tree_head().ok())
        .ok_or("get-sth answer is malformed")?;
    sth.verify(&key.spki_der)
        .map_err(|e| format!("tree head signature does not verify: {e}"))?;
    if sth.tree_size == 0 || sth.timestamp < entry.timestamp {
        return Err(format!(
            "not incorporated yet: the latest tree head ({}) predates the SCT",
            format_time_ms(sth.timestamp)
        ));
    }
    let leaf_hash = merkle::leaf_hash(&merkle_tree_leaf(entry));
    let url = format!(
        "{base}ct/v1/get-proof-by-hash?hash={}&tree_size={}",
        query_value(&B64.encode(leaf_hash)),
        sth.tree_size
    );
    let proof = client
        .get_ct_json::<GetProofByHashResponse>(&url)
        .await
        .map_err(|e| match e.status() {
            Some(404) => "the log has no entry for this SCT in its signed tree".to_owned(),
            _ => e.to_string(),
        })?
        .map_err(|_| "audit_path is not a list of base64 hashes")?;
    let path = proof.audit_path;
    merkle::verify_inclusion(
        &leaf_hash,
        proof.leaf_index,
        sth.tree_size,
        &path,
        &sth.root_hash,
    )
    .map_err(|e| format!("inclusion proof does not verify: {e}"))?;
    Ok(format!(
        "included at index {} of tree size {}",
        proof.leaf_index, sth.tree_size
    ))
}
