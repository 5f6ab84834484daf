//! What a certificate must be to enter the registry, and the facts the registry keeps
//! about it (thumbprint, SHA-256, subject, validity).

use aws_lc_rs::digest;
use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};

/// Largest certificate accepted. Real code-signing certificates are 1–3 KiB; the bound
/// keeps every registry-log leaf below the 64 KiB that a tlog-tiles entry bundle can
/// frame (its entries carry a 16-bit length).
pub const MAX_CERT_BYTES: usize = 32 * 1024;

/// Why a certificate is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("certificate is {0} bytes, more than the {MAX_CERT_BYTES} accepted")]
    TooLarge(usize),
    #[error("certificate is not valid DER: {0}")]
    Malformed(String),
    #[error("certificate is not valid yet (notBefore {0})")]
    NotYetValid(String),
    #[error("certificate expired (notAfter {0})")]
    Expired(String),
    #[error("certificate has no extended key usage codeSigning (1.3.6.1.5.5.7.3.3)")]
    NotCodeSigning,
    #[error("certificate key usage does not allow digitalSignature")]
    KeyUsageForbidsSigning,
    #[error(
        "certificate is a CA certificate (basicConstraints cA true): the registry publishes end-entity code-signing certificates only"
    )]
    CaCertificate,
    #[error(
        "certificate key usage allows keyCertSign (signing certificates): the registry publishes end-entity code-signing certificates only"
    )]
    CertificateSigner,
    #[error("certificate extensions are malformed: {0}")]
    BadExtension(String),
}

/// The facts kept about an accepted certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    pub der: Vec<u8>,
    /// SHA-1 of the DER, upper-case hex, as Windows shows it.
    pub thumbprint: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// RFC 4514 rendering of the subject.
    pub subject: String,
    pub not_before_ms: u64,
    pub not_after_ms: u64,
}

/// The certificate's name in the registry's URLs (`pki::registry_api`).
pub use pki::registry_api::thumbprint;

/// Checks that `der` is a code-signing certificate valid at `now_ms` and returns its
/// facts: EKU codeSigning present (RFC 5280 §4.2.1.12), KeyUsage, if present, with
/// digitalSignature (§4.2.1.3), `notBefore <= now <= notAfter` (§4.1.2.5).
///
/// An end entity only: not `cA` (§4.2.1.9), no keyCertSign (§4.2.1.3). A published
/// certificate is something people are asked to trust; a CA certificate trusted
/// anywhere as an anchor would vouch for every certificate its key signs — a TLS
/// server certificate for any host, if its EKU also allows serverAuth (or it has
/// none, which RFC 5280 reads as any use).
pub fn check_code_signing(der: &[u8], now_ms: u64) -> Result<CertFacts, CertError> {
    if der.len() > MAX_CERT_BYTES {
        return Err(CertError::TooLarge(der.len()));
    }
    let cert = Certificate::from_der(der).map_err(|e| CertError::Malformed(e.to_string()))?;
    let tbs = cert.tbs_certificate();
    let validity = tbs.validity();
    let not_before = validity.not_before.to_unix_duration();
    let not_after = validity.not_after.to_unix_duration();
    let now = u128::from(now_ms);
    if now < not_before.as_millis() {
        return Err(CertError::NotYetValid(validity.not_before.to_string()));
    }
    if now > not_after.as_millis() {
        return Err(CertError::Expired(validity.not_after.to_string()));
    }
    let bad_ext = |e: der::Error| CertError::BadExtension(e.to_string());
    match tbs.get_extension::<ExtendedKeyUsage>().map_err(bad_ext)? {
        Some((_, eku)) if eku.0.contains(&const_oid::db::rfc5280::ID_KP_CODE_SIGNING) => {}
        _ => return Err(CertError::NotCodeSigning),
    }
    if let Some((_, constraints)) = tbs.get_extension::<BasicConstraints>().map_err(bad_ext)?
        && constraints.ca
    {
        return Err(CertError::CaCertificate);
    }
    if let Some((_, usage)) = tbs.get_extension::<KeyUsage>().map_err(bad_ext)? {
        if usage.0.contains(KeyUsages::KeyCertSign) {
            return Err(CertError::CertificateSigner);
        }
        if !usage.0.contains(KeyUsages::DigitalSignature) {
            return Err(CertError::KeyUsageForbidsSigning);
        }
    }
    let sha256 = hex::encode(digest::digest(&digest::SHA256, der));
    Ok(CertFacts {
        der: der.to_vec(),
        thumbprint: thumbprint(der),
        sha256,
        subject: tbs.subject().to_string(),
        not_before_ms: u64::try_from(not_before.as_millis()).unwrap_or(u64::MAX),
        not_after_ms: u64::try_from(not_after.as_millis()).unwrap_or(u64::MAX),
    })
}

/// PEM armour for a certificate.
pub fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // Base64 output is ASCII.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}
