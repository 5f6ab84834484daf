//! Code-signing certificates in Fulcio's profile: a precertificate carrying the CT
//! poison (RFC 6962 §3.1) and, once the logs answered, the final certificate carrying
//! their SCTs (RFC 6962 §3.3).
//!
//! Why the TBSCertificate is declared here rather than built with
//! `x509_cert::builder`: the builder owns the signing step (it wants `signature`-crate
//! signer traits and adds its own profile extensions in its own order), while RFC 6962
//! §3.2 requires the final certificate's TBS to equal the precertificate's TBS
//! byte-for-byte once the poison and the SCT list are removed. Declaring the structure
//! once (`TbsCertificate` below) and encoding both certificates from the same
//! [`CertificateTemplate`] through one function (`tbs_der`) makes that equality hold
//! by construction: the only input that differs is the last extension. The issuer name
//! and subject key are copied as raw DER, never re-encoded, so they match the issuer
//! certificate and the request exactly.

use const_oid::db::rfc5912;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use const_oid::AssociatedOid;
use der::asn1::{AnyRef, BitString, Ia5String, OctetString, Utf8StringRef};
use der::{Decode, Encode, Reader, Sequence, SliceReader};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoRef};
use thiserror::Error;
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use pki::tls::Codec as _;
use pki::{EcdsaP256Signer, FulcioExtensions, SignedCertificateTimestamp, oids};

use crate::pop::SubjectKey;

/// Largest issuer certificate accepted, in bytes.
pub const MAX_ISSUER_CERT_LEN: usize = 64 * 1024;

/// Errors of certificate building.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertError {
    /// The issuer certificate is too large or does not parse.
    #[error("issuer certificate: {0}")]
    Issuer(String),
    /// A template field cannot be encoded (non-ASCII SAN, zero serial, bad validity…).
    #[error("invalid certificate template: {0}")]
    Template(String),
    /// DER or TLS encoding failed.
    #[error("encoding failed: {0}")]
    Encode(String),
    /// The CA signer failed.
    #[error("CA signing failed: {0}")]
    Sign(String),
    /// The system random generator failed.
    #[error("random number generator failed")]
    Random,
}

fn encode_err(e: impl std::fmt::Display) -> CertError {
    CertError::Encode(e.to_string())
}

/// The CA's signing key, whatever holds it (memory, file, PKCS#11).
///
/// The contract: `sign` returns a signature over `tbs_der` that verifies with
/// `spki_der()` under `algorithm()`, encoded as X.509 expects for that algorithm (a DER
/// `ECDSA-Sig-Value` for ECDSA). `algorithm()` is written into both
/// `TBSCertificate.signature` and `Certificate.signatureAlgorithm`, which RFC 5280
/// §4.1.1.2 requires to be equal.
pub trait CaSigner: Send + Sync {
    /// The signature algorithm, e.g. ecdsa-with-SHA256 with absent parameters.
    fn algorithm(&self) -> AlgorithmIdentifierOwned;
    /// Signs the DER TBSCertificate.
    fn sign(&self, tbs_der: &[u8]) -> Result<Vec<u8>, CertError>;
    /// The CA public key as SubjectPublicKeyInfo DER.
    fn spki_der(&self) -> Vec<u8>;
}

/// [`CaSigner`] over an in-memory ECDSA P-256 key (ecdsa-with-SHA256, RFC 5758 §3.2:
/// parameters absent).
#[derive(Debug)]
pub struct EcdsaP256CaSigner {
    key: EcdsaP256Signer,
}

impl EcdsaP256CaSigner {
    /// Wraps a P-256 key.
    pub fn new(key: EcdsaP256Signer) -> Self {
        Self { key }
    }

    /// The wrapped key.
    pub fn key(&self) -> &EcdsaP256Signer {
        &self.key
    }
}

impl From<EcdsaP256Signer> for EcdsaP256CaSigner {
    fn from(key: EcdsaP256Signer) -> Self {
        Self::new(key)
    }
}

impl CaSigner for EcdsaP256CaSigner {
    fn algorithm(&self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: rfc5912::ECDSA_WITH_SHA_256,
            parameters: None,
        }
    }

    fn sign(&self, tbs_der: &[u8]) -> Result<Vec<u8>, CertError> {
        self.key
            .sign(tbs_der)
            .map_err(|e| CertError::Sign(e.to_string()))
    }

    fn spki_der(&self) -> Vec<u8> {
        self.key.spki_der()
    }
}

/// The identity in the Subject Alternative Name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    /// `rfc822Name`: an email identity (Google, GitHub-by-email, …).
    Email(String),
    /// `uniformResourceIdentifier`: SPIFFE IDs and CI workflow identities.
    Uri(String),
    /// Fulcio's username identity, `user!domain`: an `otherName` of type
    /// [`oids::FULCIO_USERNAME`] holding a UTF8String (there is no standard name form for a
    /// bare account name).
    Username(String),
}

/// Everything that goes into one issued certificate except the CT extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateTemplate {
    /// Serial number: 20 random bytes with the top bit cleared ([`serial_from_random`]),
    /// so it is positive and at most 20 octets (RFC 5280 §4.1.2.2).
    pub serial: [u8; 20],
    /// Start of validity (truncated to whole seconds).
    pub not_before: SystemTime,
    /// End of validity (truncated to whole seconds), inclusive per RFC 5280 §4.1.2.5.
    pub not_after: SystemTime,
    /// The key being certified.
    pub subject_key: SubjectKey,
    /// The identity.
    pub san: San,
    /// The Fulcio extensions: the OIDC issuer that vouched for the identity and, for CI
    /// workflows, the build's claims; placed after the standard extensions and before
    /// the CT extension.
    pub fulcio: FulcioExtensions,
}

/// Makes a serial number from 20 random bytes: clears the top bit so the DER INTEGER is
/// positive and fits in 20 octets (RFC 5280 §4.1.2.2). Randomness comes from the caller.
pub fn serial_from_random(mut bytes: [u8; 20]) -> [u8; 20] {
    bytes[0] &= 0x7f;
    bytes
}

/// Draws a serial from the operating system CSPRNG (aws-lc `SystemRandom`).
pub fn random_serial() -> Result<[u8; 20], CertError> {
    let mut bytes = [0u8; 20];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| CertError::Random)?;
    Ok(serial_from_random(bytes))
}

/// Where the CA's certificate serial numbers come from, injected so that tests can
/// issue with fixed serials. The certificate builder clears the top bit again
/// ([`serial_from_random`]), so any 20 bytes make a valid serial except all zeros.
pub trait SerialSource: Send + Sync {
    /// The serial of the next certificate.
    fn next_serial(&self) -> Result<[u8; 20], CertError>;
}

/// Serials from the operating system CSPRNG ([`random_serial`]). CA/Browser Forum
/// practice asks for at least 64 bits of randomness in each serial, so that a
/// certificate's contents cannot be predicted before it is signed; these have 159.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSerials;

impl SerialSource for RandomSerials {
    fn next_serial(&self) -> Result<[u8; 20], CertError> {
        random_serial()
    }
}

/// RFC 5280 §4.1 `TBSCertificate`, in the subset this CA issues.
///
/// ```text
/// TBSCertificate  ::=  SEQUENCE  {
///     version         [0]  EXPLICIT Version DEFAULT v1,
///     serialNumber         CertificateSerialNumber,
///     signature            AlgorithmIdentifier,
///     issuer               Name,
///     validity             Validity,
///     subject              Name,
///     subjectPublicKeyInfo SubjectPublicKeyInfo,
///     issuerUniqueID  [1]  IMPLICIT UniqueIdentifier OPTIONAL,
///     subjectUniqueID [2]  IMPLICIT UniqueIdentifier OPTIONAL,
///     extensions      [3]  EXPLICIT Extensions OPTIONAL }
/// ```
///
/// Always v3 with extensions and without unique IDs; `issuer` and
/// `subjectPublicKeyInfo` are raw DER copied from their sources.
#[derive(Sequence)]
struct TbsCertificate<'a> {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: Version,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: AnyRef<'a>,
    validity: Validity,
    subject: Name,
    subject_public_key_info: AnyRef<'a>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

/// RFC 5280 §4.1 `Certificate`, with the TBSCertificate as the exact bytes signed.
///
/// ```text
/// Certificate  ::=  SEQUENCE  {
///     tbsCertificate       TBSCertificate,
///     signatureAlgorithm   AlgorithmIdentifier,
///     signatureValue       BIT STRING  }
/// ```
#[derive(Sequence)]
struct SignedCertificate<'a> {
    tbs_certificate: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature_value: BitString,
}

/// What the issuer certificate contributes: its subject name (raw DER, becomes our
/// issuer name) and its key identifier (becomes our AKI).
struct IssuerInfo<'a> {
    subject_raw: &'a [u8],
    key_id: Vec<u8>,
}

fn issuer_info(issuer_cert_der: &[u8]) -> Result<IssuerInfo<'_>, CertError> {
    if issuer_cert_der.len() > MAX_ISSUER_CERT_LEN {
        return Err(CertError::Issuer(format!(
            "{} bytes, more than {MAX_ISSUER_CERT_LEN}",
            issuer_cert_der.len()
        )));
    }
    let bad = |e: der::Error| CertError::Issuer(e.to_string());
    let cert = Certificate::from_der(issuer_cert_der).map_err(bad)?;
    let tbs = cert.tbs_certificate();
    // RFC 5280 §4.2.1.1: the AKI keyIdentifier is the issuer's SKI when it has one…
    let key_id = match tbs
        .get_extension::<SubjectKeyIdentifier>()
        .map_err(|e| CertError::Issuer(format!("subjectKeyIdentifier: {e}")))?
    {
        Some((_, ski)) => ski.0.as_bytes().to_vec(),
        // …and otherwise what the issuer would have used: SHA-1 of its key bits.
        None => {
            let bits = tbs
                .subject_public_key_info()
                .subject_public_key
                .as_bytes()
                .ok_or_else(|| CertError::Issuer("key BIT STRING has unused bits".into()))?;
            sha1_key_id(bits)
        }
    };
    Ok(IssuerInfo {
        subject_raw: raw_tbs_field(issuer_cert_der, TBS_SUBJECT).map_err(bad)?,
        key_id,
    })
}

/// Position of `subject` among the TBSCertificate fields after the optional version.
const TBS_SUBJECT: usize = 4;
/// Position of `subjectPublicKeyInfo`.
const TBS_SPKI: usize = 5;

/// A TBSCertificate field of a certificate exactly as encoded (for byte-equal issuer
/// names and key hashes). `index` counts from `serialNumber` (0).
fn raw_tbs_field(cert_der: &[u8], index: usize) -> Result<&[u8], der::Error> {
    let outer = AnyRef::from_der(cert_der)?;
    let mut r = SliceReader::new(outer.value())?;
    let tbs = AnyRef::decode(&mut r)?;
    let mut r = SliceReader::new(tbs.value())?;
    let mut fields = Vec::with_capacity(10);
    while !r.is_finished() {
        fields.push(r.tlv_bytes()?);
    }
    // Skip the optional `[0] EXPLICIT version` (tag 0xa0).
    let base = usize::from(fields.first().is_some_and(|f| f.first() == Some(&0xa0)));
    fields
        .get(base + index)
        .copied()
        .ok_or_else(|| der::Tag::Sequence.value_error().into())
}

/// RFC 5280 §4.2.1.2 method (1): SHA-1 of the `subjectPublicKey` BIT STRING contents.
/// SHA-1 is what the RFC specifies and what every client expects; it is an identifier,
/// not a security function here.
fn sha1_key_id(public_key_bits: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, public_key_bits)
        .as_ref()
        .to_vec()
}

/// The last extension: the only part where precertificate and certificate differ.
enum CtExtension<'a> {
    /// RFC 6962 §3.1: critical, `extnValue` = ASN.1 NULL.
    Poison,
    /// RFC 6962 §3.3: non-critical, `extnValue` = OCTET STRING of the TLS SCT list.
    Scts(&'a [SignedCertificateTimestamp]),
}

impl CtExtension<'_> {
    fn to_extension(&self) -> Result<Extension, CertError> {
        Ok(match self {
            Self::Poison => Extension {
                extn_id: oids::CT_POISON,
                critical: true,
                extn_value: OctetString::new([0x05, 0x00]).map_err(encode_err)?,
            },
            Self::Scts(scts) => {
                if scts.is_empty() {
                    return Err(CertError::Template("no SCTs to embed".into()));
                }
                // The TLS list from pki's encoder, wrapped in a DER OCTET STRING: the
                // same bytes as `SignedCertificateTimestampList::to_extension_value`;
                // an oversized list is an error, not a panic.
                let list = pki::ct::SignedCertificateTimestampList {
                    sct_list: scts.to_vec(),
                }
                .to_bytes()
                .map_err(encode_err)?;
                let value = OctetString::new(list)
                    .and_then(|o| o.to_der())
                    .map_err(encode_err)?;
                Extension {
                    extn_id: oids::CT_SCT_LIST,
                    critical: false,
                    extn_value: OctetString::new(value).map_err(encode_err)?,
                }
            }
        })
    }
}

fn extension<T: Encode>(
    extn_id: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, CertError> {
    Ok(Extension {
        extn_id,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(encode_err)?).map_err(encode_err)?,
    })
}

fn time(t: SystemTime) -> Result<Time, CertError> {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| CertError::Template("time before 1970".into()))?
        .as_secs();
    // `From<DateTime>` picks UTCTime through 2049 and GeneralizedTime after, as RFC 5280
    // §4.1.2.5 requires.
    der::DateTime::from_unix_duration(Duration::from_secs(secs))
        .map(Time::from)
        .map_err(|e| CertError::Template(format!("time out of range: {e}")))
}

/// The extensions in Fulcio's order (Go's `x509.CreateCertificate` order, then the
/// Fulcio claims, then the CT extension last).
fn extensions(
    template: &CertificateTemplate,
    issuer_key_id: &[u8],
    ct: &CtExtension<'_>,
) -> Result<Vec<Extension>, CertError> {
    let ia5 = |s: &str, what: &str| {
        Ia5String::new(s).map_err(|_| CertError::Template(format!("{what} must be ASCII: {s:?}")))
    };
    let san = match &template.san {
        San::Email(email) => GeneralName::Rfc822Name(ia5(email, "email SAN")?),
        San::Uri(uri) => GeneralName::UniformResourceIdentifier(ia5(uri, "URI SAN")?),
        San::Username(name) => {
            let value = Utf8StringRef::new(name)
                .and_then(|s| s.to_der())
                .and_then(|der| der::Any::from_der(&der))
                .map_err(encode_err)?;
            GeneralName::OtherName(x509_cert::ext::pkix::name::OtherName {
                type_id: oids::FULCIO_USERNAME,
                value,
            })
        }
    };
    let subject_key_id = sha1_key_id(template.subject_key.public_key_bits());
    let mut exts = vec![
        // RFC 5280 §4.2.1.3: "conforming CAs SHOULD mark this extension as critical".
        extension(
            KeyUsage::OID,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?,
        extension(
            ExtendedKeyUsage::OID,
            false,
            &ExtendedKeyUsage(vec![const_oid::db::rfc5280::ID_KP_CODE_SIGNING]),
        )?,
        extension(
            SubjectKeyIdentifier::OID,
            false,
            &SubjectKeyIdentifier(OctetString::new(subject_key_id).map_err(encode_err)?),
        )?,
        extension(
            AuthorityKeyIdentifier::OID,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(issuer_key_id).map_err(encode_err)?),
                ..Default::default()
            },
        )?,
        // RFC 5280 §4.2.1.6: with an empty subject, "the subjectAltName extension MUST
        // be marked as critical".
        extension(SubjectAltName::OID, true, &SubjectAltName(vec![san]))?,
    ];
    exts.extend(template.fulcio.render().map_err(encode_err)?);
    exts.push(ct.to_extension()?);
    Ok(exts)
}

/// The DER TBSCertificate shared by [`build_precertificate`] and
/// [`build_final_certificate`]; only `ct` differs between them.
fn tbs_der(
    template: &CertificateTemplate,
    issuer: &IssuerInfo<'_>,
    signer: &dyn CaSigner,
    ct: &CtExtension<'_>,
) -> Result<Vec<u8>, CertError> {
    // The top bit is cleared again here so a caller's serial can never encode as a
    // negative INTEGER or as 21 octets; zero is not a positive serial (RFC 5280 §4.1.2.2).
    let serial_bytes = serial_from_random(template.serial);
    if serial_bytes.iter().all(|b| *b == 0) {
        return Err(CertError::Template("serial number must be positive".into()));
    }
    let serial = SerialNumber::new(&serial_bytes)
        .map_err(|e| CertError::Template(format!("serial: {e}")))?;
    if template.not_after <= template.not_before {
        return Err(CertError::Template(
            "notAfter must be after notBefore".into(),
        ));
    }
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: serial,
        signature: signer.algorithm(),
        issuer: AnyRef::from_der(issuer.subject_raw).map_err(encode_err)?,
        validity: Validity::new(time(template.not_before)?, time(template.not_after)?),
        // Fulcio certificates have an empty subject; the identity is in the SAN.
        subject: Name::default(),
        subject_public_key_info: AnyRef::from_der(template.subject_key.spki_der())
            .map_err(encode_err)?,
        extensions: extensions(template, &issuer.key_id, ct)?,
    };
    tbs.to_der().map_err(encode_err)
}

fn sign_certificate(tbs: &[u8], signer: &dyn CaSigner) -> Result<Vec<u8>, CertError> {
    let signature = signer.sign(tbs)?;
    let cert = SignedCertificate {
        tbs_certificate: AnyRef::from_der(tbs).map_err(encode_err)?,
        signature_algorithm: signer.algorithm(),
        signature_value: BitString::from_bytes(&signature).map_err(encode_err)?,
    };
    cert.to_der().map_err(encode_err)
}

/// Builds and signs the precertificate (RFC 6962 §3.1): the final certificate's TBS
/// with the critical poison extension where the SCT list will go. It is submitted to the
/// logs only; no client may accept it, which the critical poison ensures.
pub fn build_precertificate(
    template: &CertificateTemplate,
    issuer_cert_der: &[u8],
    signer: &dyn CaSigner,
) -> Result<Vec<u8>, CertError> {
    let issuer = issuer_info(issuer_cert_der)?;
    let tbs = tbs_der(template, &issuer, signer, &CtExtension::Poison)?;
    sign_certificate(&tbs, signer)
}

/// The precertificate TBS with the poison removed: the `PreCert.tbs_certificate` that
/// logs sign (RFC 6962 §3.2), computed from the template without a round trip through
/// a signed precertificate.
pub fn precert_tbs(
    template: &CertificateTemplate,
    issuer_cert_der: &[u8],
    signer: &dyn CaSigner,
) -> Result<Vec<u8>, CertError> {
    let issuer = issuer_info(issuer_cert_der)?;
    let tbs = tbs_der(template, &issuer, signer, &CtExtension::Poison)?;
    // Reuse pki's surgery (which drops the poison) on a certificate wrapper, so there
    // is exactly one definition of "TBS without CT extensions".
    let unsigned = SignedCertificate {
        tbs_certificate: AnyRef::from_der(&tbs).map_err(encode_err)?,
        signature_algorithm: signer.algorithm(),
        signature_value: BitString::from_bytes(&[]).map_err(encode_err)?,
    }
    .to_der()
    .map_err(encode_err)?;
    pki::precert_tbs_from_certificate(&unsigned).map_err(encode_err)
}

/// Builds and signs the final certificate: the precertificate's TBS with the poison
/// replaced, at the same position, by the non-critical SCT list extension. Because
/// nothing else changes, `pki::precert_tbs_from_certificate(final)` equals the TBS the
/// logs signed, which is how clients verify the embedded SCTs.
pub fn build_final_certificate(
    template: &CertificateTemplate,
    issuer_cert_der: &[u8],
    signer: &dyn CaSigner,
    scts: &[SignedCertificateTimestamp],
) -> Result<Vec<u8>, CertError> {
    let issuer = issuer_info(issuer_cert_der)?;
    let tbs = tbs_der(template, &issuer, signer, &CtExtension::Scts(scts))?;
    sign_certificate(&tbs, signer)
}

/// SHA-256 of the issuer certificate's SubjectPublicKeyInfo DER: RFC 6962 §3.2
/// `PreCert.issuer_key_hash` for certificates this CA issues directly.
pub fn issuer_key_hash(issuer_cert_der: &[u8]) -> Result<[u8; 32], CertError> {
    let spki = certificate_spki(issuer_cert_der)?;
    let d = digest::digest(&digest::SHA256, &spki);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    Ok(out)
}

/// The SubjectPublicKeyInfo DER of a certificate, exactly as encoded in it (to check
/// that a configured CA key matches its certificate).
pub fn certificate_spki(cert_der: &[u8]) -> Result<Vec<u8>, CertError> {
    if cert_der.len() > MAX_ISSUER_CERT_LEN {
        return Err(CertError::Issuer("too large".into()));
    }
    let bad = |e: der::Error| CertError::Issuer(e.to_string());
    Certificate::from_der(cert_der).map_err(bad)?;
    Ok(raw_tbs_field(cert_der, TBS_SPKI).map_err(bad)?.to_vec())
}

/// Checks that `spki_der` parses as a SubjectPublicKeyInfo (used for self-signed CA
/// certificates in tests and for the signer's key in [`self_signed_ca`]).
fn spki_bits(spki_der: &[u8]) -> Result<Vec<u8>, CertError> {
    SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(encode_err)?
        .subject_public_key
        .as_bytes()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| CertError::Encode("key BIT STRING has unused bits".into()))
}

/// Makes a self-signed CA certificate for `signer` (CN = `common_name`, basicConstraints
/// cA critical with pathLen 1, keyUsage keyCertSign|cRLSign critical, SKI). Meant for
/// `--dev` and tests; production CAs bring their own certificates.
pub fn self_signed_ca(
    common_name: &str,
    serial: [u8; 20],
    not_before: SystemTime,
    not_after: SystemTime,
    signer: &dyn CaSigner,
) -> Result<Vec<u8>, CertError> {
    named_certificate(
        Role::Ca,
        common_name,
        serial,
        (not_before, not_after),
        &signer.spki_der(),
        None,
        signer,
    )
}

/// Makes an intermediate CA certificate for the key `subject_spki_der`, issued by the
/// CA whose certificate is `issuer_cert_der` and whose key is `issuer` (pathLen 0: it
/// issues leaves only; AKI = the issuer's SKI).
pub fn intermediate_ca(
    common_name: &str,
    serial: [u8; 20],
    not_before: SystemTime,
    not_after: SystemTime,
    subject_spki_der: &[u8],
    issuer_cert_der: &[u8],
    issuer: &dyn CaSigner,
) -> Result<Vec<u8>, CertError> {
    named_certificate(
        Role::Ca,
        common_name,
        serial,
        (not_before, not_after),
        subject_spki_der,
        Some(issuer_cert_der),
        issuer,
    )
}

/// Makes an RFC 3161 time-stamping certificate for the key `subject_spki_der`, issued
/// by the CA whose certificate is `issuer_cert_der` and whose key is `issuer`.
///
/// RFC 3161 §2.3: "The corresponding certificate MUST contain only one instance of the
/// extended key usage field extension ... with KeyPurposeID having value:
/// id-kp-timeStamping. The extension MUST be critical." keyUsage is digitalSignature
/// only; no basicConstraints, so the certificate is an end entity (RFC 5280 §4.2.1.9).
pub fn timestamping_certificate(
    common_name: &str,
    serial: [u8; 20],
    not_before: SystemTime,
    not_after: SystemTime,
    subject_spki_der: &[u8],
    issuer_cert_der: &[u8],
    issuer: &dyn CaSigner,
) -> Result<Vec<u8>, CertError> {
    named_certificate(
        Role::TimeStamping,
        common_name,
        serial,
        (not_before, not_after),
        subject_spki_der,
        Some(issuer_cert_der),
        issuer,
    )
}

/// What a certificate with a subject name is for: it decides the leading extensions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A root or intermediate CA.
    Ca,
    /// An RFC 3161 time-stamping authority (an end entity).
    TimeStamping,
}

/// A certificate with a CN subject: self-signed when `issuer_cert_der` is `None`.
fn named_certificate(
    role: Role,
    common_name: &str,
    serial: [u8; 20],
    (not_before, not_after): (SystemTime, SystemTime),
    subject_spki_der: &[u8],
    issuer_cert_der: Option<&[u8]>,
    signer: &dyn CaSigner,
) -> Result<Vec<u8>, CertError> {
    use std::str::FromStr;
    use x509_cert::ext::pkix::BasicConstraints;

    let subject = Name::from_str(&format!("CN={}", escape_rdn(common_name)))
        .map_err(|e| CertError::Template(format!("CA name: {e}")))?;
    let subject_der = subject.to_der().map_err(encode_err)?;
    let key_id = sha1_key_id(&spki_bits(subject_spki_der)?);
    if not_after <= not_before {
        return Err(CertError::Template(
            "notAfter must be after notBefore".into(),
        ));
    }
    let issuer = issuer_cert_der.map(issuer_info).transpose()?;
    let mut extensions = match role {
        Role::Ca => vec![
            extension(
                BasicConstraints::OID,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(if issuer.is_some() { 0 } else { 1 }),
                },
            )?,
            extension(
                KeyUsage::OID,
                true,
                &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            )?,
        ],
        Role::TimeStamping => vec![
            extension(
                KeyUsage::OID,
                true,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            )?,
            extension(
                ExtendedKeyUsage::OID,
                true,
                &ExtendedKeyUsage(vec![const_oid::db::rfc5280::ID_KP_TIME_STAMPING]),
            )?,
        ],
    };
    extensions.push(extension(
        SubjectKeyIdentifier::OID,
        false,
        &SubjectKeyIdentifier(OctetString::new(key_id).map_err(encode_err)?),
    )?);
    if let Some(issuer) = &issuer {
        extensions.push(extension(
            AuthorityKeyIdentifier::OID,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(issuer.key_id.clone()).map_err(encode_err)?),
                ..Default::default()
            },
        )?);
    }
    let issuer_name = issuer
        .as_ref()
        .map_or(subject_der.as_slice(), |i| i.subject_raw);
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial_from_random(serial))
            .map_err(|e| CertError::Template(format!("serial: {e}")))?,
        signature: signer.algorithm(),
        issuer: AnyRef::from_der(issuer_name).map_err(encode_err)?,
        validity: Validity::new(time(not_before)?, time(not_after)?),
        subject,
        subject_public_key_info: AnyRef::from_der(subject_spki_der).map_err(encode_err)?,
        extensions,
    }
    .to_der()
    .map_err(encode_err)?;
    sign_certificate(&tbs, signer)
}

/// RFC 4514 escaping for a CN value.
fn escape_rdn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == value.len() && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
