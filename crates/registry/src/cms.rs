//! Proof of possession as CMS SignedData (RFC 5652): what
//! `openssl cms -sign -binary -nodetach -outform DER` makes over the challenge nonce.
//!
//! ```text
//! SignedData ::= SEQUENCE {
//!     version CMSVersion,
//!     digestAlgorithms DigestAlgorithmIdentifiers,
//!     encapContentInfo EncapsulatedContentInfo,
//!     certificates [0] IMPLICIT CertificateSet OPTIONAL,
//!     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!     signerInfos SignerInfos }
//!
//! SignerInfo ::= SEQUENCE {
//!     version CMSVersion,
//!     sid SignerIdentifier,
//!     digestAlgorithm DigestAlgorithmIdentifier,
//!     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
//!     signatureAlgorithm SignatureAlgorithmIdentifier,
//!     signature SignatureValue,
//!     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
//! ```
//!
//! What is checked, and why each check matters:
//! - exactly one SignerInfo, whose `sid` names a certificate carried in the message:
//!   the key that signed must be the key of the certificate being registered, or
//!   anyone could register someone else's certificate with their own key;
//! - the encapsulated content is `id-data` and equals the nonce byte for byte, so the
//!   signature is fresh (RFC 5652 §5.2);
//! - signed attributes are present, `contentType` equals the eContentType and
//!   `messageDigest` equals the digest of the content (RFC 5652 §5.3, §11.1, §11.2);
//! - the signature verifies over the DER `SET OF` encoding of the signed attributes
//!   (RFC 5652 §5.4: the `[0] IMPLICIT` tag is replaced by the `SET OF` tag).

use aws_lc_rs::digest;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc6268};
use der::asn1::OctetString;
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

/// Largest CMS message accepted: a certificate chain or two plus a signature. The HTTP
/// body limit is larger; this bounds what the DER parser is handed.
pub const MAX_CMS_BYTES: usize = 256 * 1024;

/// Upper bound on certificates carried in the message we are willing to look at.
const MAX_CERTIFICATES: usize = 16;

/// Why a CMS message is refused. Every message is shown to the pusher.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmsError {
    #[error("CMS message is {0} bytes, more than the {MAX_CMS_BYTES} accepted")]
    TooLarge(usize),
    #[error("CMS message is not valid DER: {0}")]
    Malformed(String),
    #[error("CMS content type is {0}, expected SignedData (1.2.840.113549.1.7.2)")]
    NotSignedData(String),
    #[error("CMS SignedData must have exactly one signer, found {0}")]
    SignerCount(usize),
    #[error("CMS SignedData carries no certificate; sign with -signer so it is included")]
    NoCertificate,
    #[error("CMS SignedData carries more than {MAX_CERTIFICATES} certificates")]
    TooManyCertificates,
    #[error("the CMS signer is not one of the included certificates")]
    SignerNotIncluded,
    #[error(
        "CMS encapsulated content must be id-data with the challenge bytes (sign with -nodetach)"
    )]
    NoContent,
    #[error("the signed content is not the challenge nonce")]
    WrongContent,
    #[error("CMS signer has no signed attributes (contentType and messageDigest are required)")]
    NoSignedAttributes,
    #[error("CMS signed attribute {0} is missing or has not exactly one value")]
    BadAttribute(&'static str),
    #[error("CMS contentType attribute does not match the encapsulated content type")]
    ContentTypeMismatch,
    #[error("CMS messageDigest does not match the digest of the content")]
    DigestMismatch,
    #[error("unsupported CMS digest algorithm {0}; use SHA-256, SHA-384 or SHA-512")]
    UnsupportedDigest(String),
    #[error("unsupported CMS signature algorithm {0}")]
    UnsupportedSignature(String),
    #[error("the CMS signature does not verify with the included certificate's key: {0}")]
    BadSignature(String),
}

/// A verified proof of possession: the signer's certificate (DER, as included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignedData {
    pub certificate_der: Vec<u8>,
}

/// Verifies that `cms_der` is a SignedData over exactly `nonce`, signed by the key of
/// a certificate it carries, and returns that certificate. Certificate policy (EKU,
/// validity) is the caller's: see [`crate::cert`].
pub fn verify_signed_nonce(cms_der: &[u8], nonce: &[u8]) -> Result<VerifiedSignedData, CmsError> {
    if cms_der.len() > MAX_CMS_BYTES {
        return Err(CmsError::TooLarge(cms_der.len()));
    }
    let malformed = |e: der::Error| CmsError::Malformed(e.to_string());
    let info = ContentInfo::from_der(cms_der).map_err(malformed)?;
    if info.content_type != rfc6268::ID_SIGNED_DATA {
        return Err(CmsError::NotSignedData(info.content_type.to_string()));
    }
    let signed: SignedData = info.content.decode_as().map_err(malformed)?;

    let signers: Vec<&SignerInfo> = signed.signer_infos.0.iter().collect();
    let [signer] = signers.as_slice() else {
        return Err(CmsError::SignerCount(signers.len()));
    };

    let certificates: Vec<&Certificate> = signed
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(cert) => Some(cert),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if certificates.is_empty() {
        return Err(CmsError::NoCertificate);
    }
    if certificates.len() > MAX_CERTIFICATES {
        return Err(CmsError::TooManyCertificates);
    }
    let certificate = certificates
        .iter()
        .find(|cert| identifies(&signer.sid, cert))
        .ok_or(CmsError::SignerNotIncluded)?;

    // The content: id-data, an OCTET STRING equal to the nonce.
    let encap = &signed.encap_content_info;
    if encap.econtent_type != rfc6268::ID_DATA {
        return Err(CmsError::NoContent);
    }
    let content = encap
        .econtent
        .as_ref()
        .ok_or(CmsError::NoContent)?
        .decode_as::<OctetString>()
        .map_err(|_| CmsError::NoContent)?;
    if content.as_bytes() != nonce {
        return Err(CmsError::WrongContent);
    }

    let digest_alg = digest_algorithm(&signer.digest_alg)?;
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or(CmsError::NoSignedAttributes)?;
    let content_type: ObjectIdentifier =
        single_attribute(attrs, rfc6268::ID_CONTENT_TYPE, "contentType")?
            .decode_as()
            .map_err(|_| CmsError::BadAttribute("contentType"))?;
    if content_type != encap.econtent_type {
        return Err(CmsError::ContentTypeMismatch);
    }
    let message_digest: OctetString =
        single_attribute(attrs, rfc6268::ID_MESSAGE_DIGEST, "messageDigest")?
            .decode_as()
            .map_err(|_| CmsError::BadAttribute("messageDigest"))?;
    let actual = digest::digest(digest_alg, nonce);
    if message_digest.as_bytes() != actual.as_ref() {
        return Err(CmsError::DigestMismatch);
    }

    // RFC 5652 §5.4: the signature covers the DER encoding of the SignedAttributes as
    // a SET OF (tag 0x31), not the [0] IMPLICIT form found in the SignerInfo.
    let signed_attrs_der = attrs.to_der().map_err(malformed)?;
    let algorithm = x509_signature_algorithm(&signer.signature_algorithm, &signer.digest_alg)?;
    let spki_der = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(malformed)?;
    pki::verify_signature(
        &spki_der,
        &algorithm,
        &signed_attrs_der,
        signer.signature.as_bytes(),
    )
    .map_err(|e| CmsError::BadSignature(e.to_string()))?;

    Ok(VerifiedSignedData {
        certificate_der: certificate.to_der().map_err(malformed)?,
    })
}

/// Does `sid` name `cert`? RFC 5652 §5.3: by issuer and serial number, or by the
/// subjectKeyIdentifier extension.
fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            isn.issuer == *tbs.issuer() && isn.serial_number == *tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => matches!(
            tbs.get_extension::<SubjectKeyIdentifier>(),
            Ok(Some((_, own))) if own == *ski
        ),
    }
}

fn digest_algorithm(
    alg: &AlgorithmIdentifierOwned,
) -> Result<&'static digest::Algorithm, CmsError> {
    match alg.oid {
        rfc5912::ID_SHA_256 => Ok(&digest::SHA256),
        rfc5912::ID_SHA_384 => Ok(&digest::SHA384),
        rfc5912::ID_SHA_512 => Ok(&digest::SHA512),
        other => Err(CmsError::UnsupportedDigest(other.to_string())),
    }
}

/// The one value of attribute `oid` among the signed attributes. RFC 5652 §11.1/§11.2:
/// contentType and messageDigest MUST have a single value and appear once.
fn single_attribute<'a>(
    attrs: &'a cms::signed_data::SignedAttributes,
    oid: ObjectIdentifier,
    name: &'static str,
) -> Result<&'a der::Any, CmsError> {
    let mut matching = attrs.iter().filter(|a| a.oid == oid);
    let attr = matching.next().ok_or(CmsError::BadAttribute(name))?;
    if matching.next().is_some() || attr.values.len() != 1 {
        return Err(CmsError::BadAttribute(name));
    }
    attr.values
        .iter()
        .next()
        .ok_or(CmsError::BadAttribute(name))
}

/// Maps a CMS signatureAlgorithm to the X.509 signature algorithm that
/// [`pki::verify_signature`] understands.
///
/// CMS signers commonly name the key type instead of the signature scheme (OpenSSL
/// writes `rsaEncryption` for PKCS#1 v1.5, RFC 3370 §3.2); the hash then comes from
/// the digestAlgorithm. Where the signature algorithm names a hash itself, it must be
/// the digest algorithm: the signed attributes are hashed with one algorithm only.
fn x509_signature_algorithm(
    signature: &AlgorithmIdentifierOwned,
    digest_alg: &AlgorithmIdentifierOwned,
) -> Result<AlgorithmIdentifierOwned, CmsError> {
    let with = |oid: ObjectIdentifier, parameters: Option<der::Any>| AlgorithmIdentifierOwned {
        oid,
        parameters,
    };
    let digest_oid = digest_alg.oid;
    let by_digest = |sha256, sha384, sha512| match digest_oid {
        rfc5912::ID_SHA_256 => Ok(sha256),
        rfc5912::ID_SHA_384 => Ok(sha384),
        rfc5912::ID_SHA_512 => Ok(sha512),
        other => Err(CmsError::UnsupportedDigest(other.to_string())),
    };
    let mismatch = || {
        CmsError::UnsupportedSignature(format!(
            "{} with digest algorithm {digest_oid}",
            signature.oid
        ))
    };
    match signature.oid {
        rfc5912::RSA_ENCRYPTION => {
            let oid = by_digest(
                rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
                rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
            )?;
            Ok(with(oid, Some(der::asn1::Null.into())))
        }
        rfc5912::ID_EC_PUBLIC_KEY => Ok(with(
            by_digest(
                rfc5912::ECDSA_WITH_SHA_256,
                rfc5912::ECDSA_WITH_SHA_384,
                rfc5912::ECDSA_WITH_SHA_512,
            )?,
            None,
        )),
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION
        | rfc5912::SHA_384_WITH_RSA_ENCRYPTION
        | rfc5912::SHA_512_WITH_RSA_ENCRYPTION => {
            let expected = by_digest(
                rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
                rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
            )?;
            if expected != signature.oid {
                return Err(mismatch());
            }
            Ok(signature.clone())
        }
        rfc5912::ECDSA_WITH_SHA_256 | rfc5912::ECDSA_WITH_SHA_384 | rfc5912::ECDSA_WITH_SHA_512 => {
            let expected = by_digest(
                rfc5912::ECDSA_WITH_SHA_256,
                rfc5912::ECDSA_WITH_SHA_384,
                rfc5912::ECDSA_WITH_SHA_512,
            )?;
            if expected != signature.oid {
                return Err(mismatch());
            }
            Ok(signature.clone())
        }
        // RSASSA-PSS carries its hash in its parameters, which pki checks; Ed25519
        // (RFC 8419) signs the attributes directly whatever the digest algorithm.
        _ => Ok(signature.clone()),
    }
}
