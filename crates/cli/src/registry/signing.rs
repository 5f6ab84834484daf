//! The registry's proof of possession, client side: a CMS SignedData (RFC 5652) over
//! the challenge nonce, signed by the certificate's private key and carrying that
//! certificate — the structure `openssl cms -sign -binary -nodetach -outform DER`
//! makes, which is what the server parses.
//!
//! ```text
//! ContentInfo ::= SEQUENCE {
//!     contentType ContentType,              -- id-signedData
//!     content [0] EXPLICIT ANY DEFINED BY contentType }
//!
//! SignedData ::= SEQUENCE {
//!     version CMSVersion,                   -- 1: issuerAndSerialNumber, id-data
//!     digestAlgorithms DigestAlgorithmIdentifiers,
//!     encapContentInfo EncapsulatedContentInfo,
//!     certificates [0] IMPLICIT CertificateSet OPTIONAL,
//!     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!     signerInfos SignerInfos }
//! ```
//!
//! Built from the `cms` crate's declared types, so the encoding lives in one place
//! (theirs); this module only chooses the values:
//!
//! | key           | digestAlgorithm | signatureAlgorithm                              |
//! |---------------|-----------------|-------------------------------------------------|
//! | ECDSA P-256   | SHA-256         | ecdsa-with-SHA256 (RFC 5753)                    |
//! | ECDSA P-384   | SHA-384         | ecdsa-with-SHA384                               |
//! | RSA           | SHA-256         | sha256WithRSAEncryption (RFC 3370 §3.2)         |
//! | RSA, `--rsa-pss` or an id-RSASSA-PSS key | SHA-256 | id-RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 (RFC 4056) |
//! | Ed25519       | SHA-512         | id-Ed25519 (RFC 8419 §3)                        |

use std::path::Path;

use anyhow::{Context, bail};
use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair,
};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5280, rfc5912, rfc6268, rfc8410};
use der::asn1::{Any, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode, Sequence};
use pki::verify::HashAlgorithm;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};

// OIDs come from `const_oid::db`. Of those:
// - id-RSASSA-PSS (RFC 4055 §3.1) is both the signature algorithm and, for keys
//   restricted to PSS (`openssl genpkey -algorithm RSA-PSS`), the public key algorithm;
// - id-Ed25519 (RFC 8410 §3) is key and signature algorithm, no parameters;
// - id-kp-codeSigning (RFC 5280 §4.2.1.12) is checked because the registry only takes
//   certificates for code signing, and checking here saves a challenge round trip for
//   a wrong file.

/// A private key of a type the registry verifies, matched to its certificate.
enum SignerKey {
    EcdsaP256(EcdsaKeyPair),
    EcdsaP384(EcdsaKeyPair),
    /// `pss`: RSASSA-PSS instead of PKCS#1 v1.5 (forced for id-RSASSA-PSS keys).
    Rsa {
        key: RsaKeyPair,
        pss: bool,
    },
    Ed25519(Ed25519KeyPair),
}

/// RFC 4055 §3.1, in the module's EXPLICIT tagging; the `DEFAULT`s (SHA-1) are never
/// what we sign with, so every field is written.
///
/// ```text
/// RSASSA-PSS-params  ::=  SEQUENCE  {
///     hashAlgorithm      [0] HashAlgorithm DEFAULT sha1Identifier,
///     maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
///     saltLength         [2] INTEGER DEFAULT 20,
///     trailerField       [3] INTEGER DEFAULT 1  }
/// ```
#[derive(Sequence)]
struct RsaPssParams {
    #[asn1(context_specific = "0")]
    hash: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "1")]
    mask_gen: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "2")]
    salt_length: u32,
}

/// The PSS parameters `aws-lc-rs`' `RSA_PSS_SHA256` signs with: SHA-256, MGF1 with
/// SHA-256, salt length 32 = the hash length (the only salt length the registry
/// accepts, and what RFC 4055 §3.1 recommends).
fn rsa_pss_sha256_parameters() -> anyhow::Result<Any> {
    let sha256 = AlgorithmIdentifierOwned {
        oid: rfc5912::ID_SHA_256,
        parameters: None,
    };
    Ok(Any::encode_from(&RsaPssParams {
        hash: sha256.clone(),
        mask_gen: AlgorithmIdentifierOwned {
            oid: rfc5912::ID_MGF_1,
            parameters: Some(Any::encode_from(&sha256)?),
        },
        salt_length: 32,
    })?)
}

/// A code-signing certificate and the private key that belongs to it.
pub struct CodeSigner {
    certificate: Certificate,
    der: Vec<u8>,
    key: SignerKey,
}

/// Upper-case hex SHA-1 of the DER: the registry's thumbprint, as Windows shows it.
pub use pki::registry_api::thumbprint;

/// The DER of the first `CERTIFICATE` block of a PEM file (or the file itself if DER).
pub fn read_certificate(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the certificate {}", path.display()))?;
    if bytes.first() == Some(&0x30) {
        return Ok(bytes);
    }
    let text = std::str::from_utf8(&bytes)
        .with_context(|| format!("{} is neither DER nor PEM", path.display()))?;
    match pki::chain::pem_certificates(text)
        .ok()
        .and_then(|certs| certs.into_iter().next())
    {
        Some(der) => Ok(der),
        None if text.contains("-----BEGIN CERTIFICATE-----") => bail!(
            "{}: the PEM CERTIFICATE block is malformed or truncated",
            path.display()
        ),
        None => bail!("{} holds no PEM CERTIFICATE block", path.display()),
    }
}

/// Where the first PEM block whose label ends in `PRIVATE KEY` starts, if any: a key
/// file may carry an `EC PARAMETERS` block first (`openssl ecparam -genkey` without
/// -noout), and a combined file its certificate.
pub fn private_key_block_start(text: &[u8]) -> Option<usize> {
    let begin = b"-----BEGIN ";
    let mut at = 0;
    while let Some(pos) = text[at..].windows(begin.len()).position(|w| w == begin) {
        let from = at + pos;
        let label_start = from + begin.len();
        let label_end = text[label_start..]
            .iter()
            .take(64)
            .position(|&b| b == b'-' || b == b'\n')
            .map(|n| label_start + n)?;
        if text[label_start..label_end].ends_with(b"PRIVATE KEY") {
            return Some(from);
        }
        at = label_start;
    }
    None
}

/// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`, what
/// `openssl ecparam -genkey` writes) or PKCS#1 (`RSA PRIVATE KEY`); the file may hold
/// other blocks (the certificate) too.
pub fn read_key_der(path: &Path) -> anyhow::Result<(String, zeroize::Zeroizing<Vec<u8>>)> {
    let text = zeroize::Zeroizing::new(
        std::fs::read(path)
            .with_context(|| format!("reading the private key {}", path.display()))?,
    );
    let start = private_key_block_start(&text)
        .with_context(|| format!("{} holds no PEM private key", path.display()))?;
    let (label, der) = der::pem::decode_vec(&text[start..])
        .map_err(|e| anyhow::anyhow!("{}: malformed or truncated PEM: {e}", path.display()))?;
    if label == "ENCRYPTED PRIVATE KEY" {
        bail!(
            "{} is an encrypted PKCS#8 key: decrypt it (`openssl pkey -in {} -out plain.key`) \
             or bundle it with its certificate in a PKCS#12 file for --p12",
            path.display(),
            path.display()
        );
    }
    Ok((label.to_owned(), zeroize::Zeroizing::new(der)))
}

/// The RSAPrivateKey (PKCS#1) inside a PKCS#8 PrivateKeyInfo whose algorithm is
/// id-RSASSA-PSS: aws-lc-rs only parses rsaEncryption PKCS#8, and the key material is
/// the same (RFC 4055 §1.2).
fn pss_pkcs8_inner(key_der: &[u8]) -> Option<Vec<u8>> {
    let info = pkcs8::PrivateKeyInfoRef::try_from(key_der).ok()?;
    (info.algorithm.oid == rfc5912::ID_RSASSA_PSS).then(|| info.private_key.as_bytes().to_vec())
}

/// Why an Ed25519 key cannot make a hashedrekord signature: the entry logs a digest,
/// Ed25519 signs whole messages only, and Ed25519ph is not what sigstore verifies.
fn ed25519_cannot_sign_a_digest() -> anyhow::Error {
    anyhow::anyhow!(
        "an Ed25519 key cannot sign an artifact's digest (hashedrekord entries log a \
         digest, and Ed25519ph is not what sigstore verifies): use an ECDSA or RSA \
         certificate"
    )
}

impl CodeSigner {
    /// Loads a certificate and its key, checking locally what the server would refuse:
    /// the codeSigning EKU, a KeyUsage that allows digitalSignature, a supported key
    /// type, and that the key is the certificate's.
    pub fn load(cert_path: &Path, key_path: &Path) -> anyhow::Result<Self> {
        let der = read_certificate(cert_path)?;
        let (label, key_der) = read_key_der(key_path)?;
        Self::new(der, &label, &key_der)
            .with_context(|| format!("using {} with {}", cert_path.display(), key_path.display()))
    }

    /// `der` is the certificate; `label` and `key_der` the private key's PEM block.
    pub fn new(der: Vec<u8>, label: &str, key_der: &[u8]) -> anyhow::Result<Self> {
        let certificate = Certificate::from_der(&der).context("parsing the certificate")?;
        check_code_signing(&certificate)?;
        let spki = certificate.tbs_certificate().subject_public_key_info();
        let cert_public = spki.subject_public_key.raw_bytes();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        let key = match (spki.algorithm.oid, curve) {
            (rfc5912::ID_EC_PUBLIC_KEY, Some(rfc5912::SECP_256_R_1)) => SignerKey::EcdsaP256(
                EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, key_der)
                    .map_err(|e| anyhow::anyhow!("the key is not a P-256 private key: {e}"))?,
            ),
            (rfc5912::ID_EC_PUBLIC_KEY, Some(rfc5912::SECP_384_R_1)) => SignerKey::EcdsaP384(
                EcdsaKeyPair::from_private_key_der(&ECDSA_P384_SHA384_ASN1_SIGNING, key_der)
                    .map_err(|e| anyhow::anyhow!("the key is not a P-384 private key: {e}"))?,
            ),
            (rfc5912::RSA_ENCRYPTION | rfc5912::ID_RSASSA_PSS, _) => SignerKey::Rsa {
                key: match (label, pss_pkcs8_inner(key_der)) {
                    ("RSA PRIVATE KEY", _) => RsaKeyPair::from_der(key_der),
                    (_, Some(inner)) => RsaKeyPair::from_der(&inner),
                    (_, None) => RsaKeyPair::from_pkcs8(key_der),
                }
                .map_err(|e| anyhow::anyhow!("the key is not an RSA private key: {e}"))?,
                // A key restricted to PSS must never make a PKCS#1 v1.5 signature.
                pss: spki.algorithm.oid == rfc5912::ID_RSASSA_PSS,
            },
            (rfc8410::ID_ED_25519, _) => SignerKey::Ed25519(
                Ed25519KeyPair::from_pkcs8(key_der)
                    .map_err(|e| anyhow::anyhow!("the key is not an Ed25519 private key: {e}"))?,
            ),
            (oid, _) => bail!(
                "unsupported certificate key {oid}: `ccc push` signs with ECDSA P-256/P-384, \
                 RSA or Ed25519"
            ),
        };
        let key_public = match &key {
            SignerKey::EcdsaP256(k) | SignerKey::EcdsaP384(k) => k.public_key().as_ref(),
            SignerKey::Rsa { key, .. } => key.public_key().as_ref(),
            SignerKey::Ed25519(k) => k.public_key().as_ref(),
        };
        if key_public != cert_public {
            bail!("the private key does not belong to this certificate");
        }
        Ok(Self {
            certificate,
            der,
            key,
        })
    }

    /// The certificate DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate's subject, RFC 4514 string form.
    pub fn subject(&self) -> String {
        self.certificate.tbs_certificate().subject().to_string()
    }

    /// The end of the certificate's validity period.
    pub fn not_after(&self) -> String {
        self.certificate
            .tbs_certificate()
            .validity()
            .not_after
            .to_string()
    }

    /// Signs RSA keys with RSASSA-PSS instead of PKCS#1 v1.5; an error for other keys.
    pub fn use_rsa_pss(&mut self) -> anyhow::Result<()> {
        match &mut self.key {
            SignerKey::Rsa { pss, .. } => {
                *pss = true;
                Ok(())
            }
            _ => bail!(
                "--rsa-pss needs an RSA key; this certificate's key is {}",
                self.algorithm()
            ),
        }
    }

    /// The signature scheme `sign_cms` will use, for people.
    pub fn algorithm(&self) -> &'static str {
        match &self.key {
            SignerKey::EcdsaP256(_) => "ECDSA P-256",
            SignerKey::EcdsaP384(_) => "ECDSA P-384",
            SignerKey::Rsa { pss: false, .. } => "RSA PKCS#1 v1.5",
            SignerKey::Rsa { pss: true, .. } => "RSA-PSS",
            SignerKey::Ed25519(_) => "Ed25519",
        }
    }

    /// The hash an artifact is signed over with this key, for a sigstore hashedrekord
    /// entry (whose `KeyDetails` fix it): SHA-384 for P-384, SHA-256 for P-256 and
    /// RSA. Ed25519 signs whole messages only, and a hashedrekord entry logs a digest.
    pub fn artifact_hash(&self) -> anyhow::Result<HashAlgorithm> {
        match &self.key {
            SignerKey::EcdsaP256(_) | SignerKey::Rsa { .. } => Ok(HashAlgorithm::Sha256),
            SignerKey::EcdsaP384(_) => Ok(HashAlgorithm::Sha384),
            SignerKey::Ed25519(_) => Err(ed25519_cannot_sign_a_digest()),
        }
    }

    /// Signs an artifact's digest, made with [`Self::artifact_hash`]: ECDSA (DER
    /// signature) or RSA (PKCS#1 v1.5, or PSS for a key restricted to it).
    pub fn sign_artifact_digest(&self, digest: &[u8]) -> anyhow::Result<Vec<u8>> {
        let algorithm = self.artifact_hash()?.digest_algorithm();
        let digest = digest::Digest::import_less_safe(digest, algorithm)
            .map_err(|_| anyhow::anyhow!("a {algorithm:?} digest of {} bytes", digest.len()))?;
        match &self.key {
            SignerKey::EcdsaP256(k) | SignerKey::EcdsaP384(k) => Ok(k
                .sign_digest(&digest)
                .map_err(|_| anyhow::anyhow!("ECDSA signing failed"))?
                .as_ref()
                .to_vec()),
            SignerKey::Rsa { key, .. } => {
                let restricted_to_pss = self
                    .certificate
                    .tbs_certificate()
                    .subject_public_key_info()
                    .algorithm
                    .oid
                    == rfc5912::ID_RSASSA_PSS;
                let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = if restricted_to_pss {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign_digest(padding, &digest, &mut signature)
                    .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
                Ok(signature)
            }
            SignerKey::Ed25519(_) => Err(ed25519_cannot_sign_a_digest()),
        }
    }

    /// The CMS SignedData (DER `ContentInfo`) over `content` with signed attributes
    /// contentType, messageDigest and signingTime.
    pub fn sign_cms(&self, content: &[u8]) -> anyhow::Result<Vec<u8>> {
        // RFC 5753 §2.1.1 (ECDSA), RFC 3370 §3.2 / RFC 4055 §5 (RSA PKCS#1 v1.5, NULL
        // parameters), RFC 4056 §2 (RSA-PSS, parameters required), RFC 8419 §3 (Ed25519:
        // "SHA-512 MUST be used" as the digest of the content when signed attributes are
        // present, and the signature algorithm takes no parameters).
        let (digest_alg, digest_oid, signature_algorithm) = match self.key {
            SignerKey::EcdsaP256(_) => (
                &digest::SHA256,
                rfc5912::ID_SHA_256,
                (rfc5912::ECDSA_WITH_SHA_256, None),
            ),
            SignerKey::EcdsaP384(_) => (
                &digest::SHA384,
                rfc5912::ID_SHA_384,
                (rfc5912::ECDSA_WITH_SHA_384, None),
            ),
            SignerKey::Rsa { pss: false, .. } => (
                &digest::SHA256,
                rfc5912::ID_SHA_256,
                (rfc5912::SHA_256_WITH_RSA_ENCRYPTION, Some(Any::null())),
            ),
            SignerKey::Rsa { pss: true, .. } => (
                &digest::SHA256,
                rfc5912::ID_SHA_256,
                (rfc5912::ID_RSASSA_PSS, Some(rsa_pss_sha256_parameters()?)),
            ),
            SignerKey::Ed25519(_) => (
                &digest::SHA512,
                rfc5912::ID_SHA_512,
                (rfc8410::ID_ED_25519, None),
            ),
        };
        let message_digest = digest::digest(digest_alg, content);
        // signingTime is UTCTime until 2049 (RFC 5652 §11.3), as OpenSSL writes it.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| der::DateTime::from_unix_duration(d).ok())
            .and_then(|t| UtcTime::from_date_time(t).ok())
            .context("the system clock is outside UTCTime's range")?;
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(
                rfc6268::ID_CONTENT_TYPE,
                Any::encode_from(&rfc6268::ID_DATA)?,
            )?,
            attribute(
                rfc6268::ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(message_digest.as_ref())?)?,
            )?,
            attribute(rfc6268::ID_SIGNING_TIME, Any::encode_from(&now)?)?,
        ])?;
        // RFC 5652 §5.4: the signature covers the DER of the attributes with the
        // `SET OF` tag, not the `[0] IMPLICIT` tag they carry inside SignerInfo.
        let to_sign = signed_attrs.to_der()?;
        let signature = self.sign(&to_sign)?;

        let tbs = self.certificate.tbs_certificate();
        let digest_algorithm = AlgorithmIdentifierOwned {
            oid: digest_oid,
            parameters: None,
        };
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            digest_alg: digest_algorithm.clone(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: signature_algorithm.0,
                parameters: signature_algorithm.1,
            },
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![digest_algorithm])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: rfc6268::ID_DATA,
                econtent: Some(Any::encode_from(&OctetString::new(content)?)?),
            },
            certificates: Some(CertificateSet(SetOfVec::try_from(vec![
                CertificateChoices::Certificate(self.certificate.clone()),
            ])?)),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        let content_info = ContentInfo {
            content_type: rfc6268::ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data)?,
        };
        Ok(content_info.to_der()?)
    }

    fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match &self.key {
            SignerKey::EcdsaP256(k) | SignerKey::EcdsaP384(k) => Ok(k
                .sign(&rng, message)
                .map_err(|_| anyhow::anyhow!("ECDSA signing failed"))?
                .as_ref()
                .to_vec()),
            SignerKey::Rsa { key, pss } => {
                let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = if *pss {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(padding, &rng, message, &mut signature)
                    .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
                Ok(signature)
            }
            // RFC 8419 §3.1: PureEdDSA over the DER signed attributes themselves.
            SignerKey::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> anyhow::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// The registry's certificate rules that can be checked offline (RFC 5280 §4.2.1.3,
/// §4.2.1.9, §4.2.1.12): EKU codeSigning present, KeyUsage (if any) allowing
/// digitalSignature and not keyCertSign, not a CA.
fn check_code_signing(cert: &Certificate) -> anyhow::Result<()> {
    let extensions = cert
        .tbs_certificate()
        .extensions()
        .map_or(&[][..], Vec::as_slice);
    let eku = extensions
        .iter()
        .find(|e| e.extn_id == rfc5280::ID_CE_EXT_KEY_USAGE)
        .map(|e| ExtendedKeyUsage::from_der(e.extn_value.as_bytes()))
        .transpose()
        .context("the certificate's ExtendedKeyUsage is malformed")?;
    if !eku.is_some_and(|eku| eku.0.contains(&rfc5280::ID_KP_CODE_SIGNING)) {
        bail!(
            "the certificate has no codeSigning extended key usage (1.3.6.1.5.5.7.3.3); \
             the registry only accepts code-signing certificates"
        );
    }
    if extensions
        .iter()
        .find(|e| e.extn_id == rfc5280::ID_CE_BASIC_CONSTRAINTS)
        .map(|e| BasicConstraints::from_der(e.extn_value.as_bytes()))
        .transpose()
        .context("the certificate's BasicConstraints is malformed")?
        .is_some_and(|bc| bc.ca)
    {
        bail!(
            "the certificate is a CA certificate (basicConstraints CA:TRUE, which `openssl req -x509` \
             writes unless given -addext basicConstraints=CA:FALSE); the registry only accepts \
             end-entity code-signing certificates"
        );
    }
    if let Some(ku) = extensions
        .iter()
        .find(|e| e.extn_id == rfc5280::ID_CE_KEY_USAGE)
        .map(|e| KeyUsage::from_der(e.extn_value.as_bytes()))
        .transpose()
        .context("the certificate's KeyUsage is malformed")?
    {
        if ku.0.contains(KeyUsages::KeyCertSign) {
            bail!(
                "the certificate's KeyUsage allows keyCertSign; the registry only accepts \
                 end-entity code-signing certificates"
            );
        }
        if !ku.0.contains(KeyUsages::DigitalSignature) {
            bail!("the certificate's KeyUsage does not allow digitalSignature");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
    };
    use cms::signed_data::SignedData;
    use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, KeyPair, PKCS_ECDSA_P256_SHA256};

    /// A self-signed certificate with the given EKUs and its PKCS#8 key.
    fn fixture(ekus: Vec<ExtendedKeyUsagePurpose>) -> (Vec<u8>, Vec<u8>) {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(vec!["dev.example".to_owned()]).unwrap();
        params.extended_key_usages = ekus;
        let cert = params.self_signed(&key).unwrap();
        (cert.der().to_vec(), key.serialize_der())
    }

    fn signer() -> CodeSigner {
        let (der, key) = fixture(vec![ExtendedKeyUsagePurpose::CodeSigning]);
        CodeSigner::new(der, "PRIVATE KEY", &key).unwrap()
    }

    fn attr(attrs: &SetOfVec<Attribute>, oid: ObjectIdentifier) -> &Any {
        let found: Vec<&Attribute> = attrs.iter().filter(|a| a.oid == oid).collect();
        assert_eq!(found.len(), 1, "exactly one {oid} attribute");
        assert_eq!(found[0].values.len(), 1);
        found[0].values.get(0).unwrap()
    }

    #[test]
    fn signed_data_carries_nonce_certificate_and_signed_attributes() {
        let signer = signer();
        let nonce = [0x5au8; 32];
        let der = signer.sign_cms(&nonce).unwrap();
        let info = ContentInfo::from_der(&der).unwrap();
        assert_eq!(info.content_type, rfc6268::ID_SIGNED_DATA);
        let sd: SignedData = info.content.decode_as().unwrap();
        assert_eq!(sd.encap_content_info.econtent_type, rfc6268::ID_DATA);
        let content: OctetString = sd
            .encap_content_info
            .econtent
            .as_ref()
            .unwrap()
            .decode_as()
            .unwrap();
        assert_eq!(content.as_bytes(), nonce);
        let certs = &sd.certificates.as_ref().unwrap().0;
        assert_eq!(certs.len(), 1);
        let Some(CertificateChoices::Certificate(cert)) = certs.get(0) else {
            panic!("not a certificate choice");
        };
        assert_eq!(cert.to_der().unwrap(), signer.certificate_der());

        assert_eq!(sd.signer_infos.0.len(), 1);
        let si = sd.signer_infos.0.get(0).unwrap();
        let attrs = si.signed_attrs.as_ref().unwrap();
        // RFC 5652 §11.1: contentType equals the eContentType.
        assert_eq!(
            attr(attrs, rfc6268::ID_CONTENT_TYPE)
                .decode_as::<ObjectIdentifier>()
                .unwrap(),
            rfc6268::ID_DATA
        );
        // RFC 5652 §11.2: messageDigest is the digest of the content.
        let md: OctetString = attr(attrs, rfc6268::ID_MESSAGE_DIGEST).decode_as().unwrap();
        assert_eq!(
            md.as_bytes(),
            digest::digest(&digest::SHA256, &nonce).as_ref()
        );
        // RFC 5652 §5.4: signature over the DER SET OF of the attributes, with the
        // key of the certificate carried (the signer's, checked above).
        assert_signed_attrs_verify(&signer, si, &ECDSA_P256_SHA256_ASN1);
        assert_eq!(si.signature_algorithm.oid, rfc5912::ECDSA_WITH_SHA_256);
    }

    /// Runs `openssl cms -verify` (signature and attributes; no chain to a root) and
    /// returns the content it extracted.
    fn openssl_verify(der: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("msg.der");
        let output = dir.path().join("content.bin");
        std::fs::write(&input, der).unwrap();
        testkit::openssl::run(
            std::process::Command::new("openssl")
                .args([
                    "cms",
                    "-verify",
                    "-binary",
                    "-noverify",
                    "-inform",
                    "DER",
                    "-in",
                ])
                .arg(&input)
                .arg("-out")
                .arg(&output),
        );
        std::fs::read(output).unwrap()
    }

    #[test]
    fn openssl_cms_verifies_ecdsa_p256_signed_data() {
        let nonce: Vec<u8> = (0u8..32).collect();
        let der = signer().sign_cms(&nonce).unwrap();
        assert_eq!(openssl_verify(&der), nonce);
    }

    #[test]
    fn openssl_cms_verifies_rsa_pkcs1_signed_data() {
        let dir = tempfile::tempdir().unwrap();
        let (_, signer) = openssl_signer(dir.path(), &["-newkey", "rsa:2048"]);
        let nonce = [0xa5u8; 32];
        let der = signer.sign_cms(&nonce).unwrap();
        assert_eq!(openssl_verify(&der), nonce);
        // And the signature checks with the certificate's key, PKCS#1 v1.5 SHA-256.
        assert_signed_attrs_verify(&signer, &signer_info(&der), &RSA_PKCS1_2048_8192_SHA256);
    }

    #[test]
    fn certificate_without_code_signing_eku_is_refused_locally() {
        let (der, key) = fixture(vec![ExtendedKeyUsagePurpose::ServerAuth]);
        let e = CodeSigner::new(der, "PRIVATE KEY", &key).err().unwrap();
        assert!(e.to_string().contains("codeSigning"), "{e}");
        let (der, key) = fixture(vec![]);
        assert!(CodeSigner::new(der, "PRIVATE KEY", &key).is_err());
    }

    #[test]
    fn key_of_another_certificate_is_refused_locally() {
        let (der, _) = fixture(vec![ExtendedKeyUsagePurpose::CodeSigning]);
        let (_, other_key) = fixture(vec![ExtendedKeyUsagePurpose::CodeSigning]);
        let e = CodeSigner::new(der, "PRIVATE KEY", &other_key)
            .err()
            .unwrap();
        assert!(e.to_string().contains("does not belong"), "{e}");
    }

    /// `openssl req -x509` with the codeSigning EKU over a key made by `keygen` (the
    /// `openssl` arguments after `-newkey`, or a `-key FILE` made by `genpkey`).
    fn openssl_signer(dir: &Path, key_args: &[&str]) -> (std::path::PathBuf, CodeSigner) {
        let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
        let mut cmd = std::process::Command::new("openssl");
        cmd.args(["req", "-x509", "-nodes", "-days", "1"]);
        if key_args.first() == Some(&"genpkey") {
            testkit::openssl::run(
                std::process::Command::new("openssl")
                    .args(key_args)
                    .arg("-out")
                    .arg(&key),
            );
            cmd.arg("-key").arg(&key);
        } else {
            cmd.args(key_args).arg("-keyout").arg(&key);
        }
        testkit::openssl::run(
            cmd.args(["-subj", "/CN=dev"])
                .args(["-addext", "extendedKeyUsage=codeSigning"])
                .args(["-addext", "basicConstraints=CA:FALSE"])
                .arg("-out")
                .arg(&cert),
        );
        let signer = CodeSigner::load(&cert, &key).unwrap();
        (cert, signer)
    }

    /// The registry server's own verifier accepts `der` as a proof of possession of
    /// `nonce` by `signer`'s certificate.
    fn registry_accepts(signer: &CodeSigner, der: &[u8], nonce: &[u8]) {
        let verified = registry::cms::verify_signed_nonce(der, nonce)
            .unwrap_or_else(|e| panic!("the registry refuses {}: {e}", signer.algorithm()));
        assert_eq!(verified.certificate_der, signer.certificate_der());
    }

    /// `si`'s signature over its signed attributes verifies with `signer`'s
    /// certificate key under `algorithm` (aws-lc-rs, not the signing code path).
    fn assert_signed_attrs_verify(
        signer: &CodeSigner,
        si: &SignerInfo,
        algorithm: &'static dyn aws_lc_rs::signature::VerificationAlgorithm,
    ) {
        let spki = signer
            .certificate
            .tbs_certificate()
            .subject_public_key_info();
        UnparsedPublicKey::new(algorithm, spki.subject_public_key.raw_bytes())
            .verify(
                &si.signed_attrs.as_ref().unwrap().to_der().unwrap(),
                si.signature.as_bytes(),
            )
            .expect("the signature over the signed attributes verifies");
    }

    fn signer_info(der: &[u8]) -> SignerInfo {
        let sd: SignedData = ContentInfo::from_der(der)
            .unwrap()
            .content
            .decode_as()
            .unwrap();
        sd.signer_infos.0.get(0).unwrap().clone()
    }

    #[test]
    fn registry_verifier_accepts_ecdsa_and_rsa_pkcs1() {
        let nonce = [7u8; 32];
        let ec = signer();
        registry_accepts(&ec, &ec.sign_cms(&nonce).unwrap(), &nonce);
        let dir = tempfile::tempdir().unwrap();
        let (_, rsa) = openssl_signer(dir.path(), &["-newkey", "rsa:2048"]);
        assert_eq!(rsa.algorithm(), "RSA PKCS#1 v1.5");
        registry_accepts(&rsa, &rsa.sign_cms(&nonce).unwrap(), &nonce);
        let dir = tempfile::tempdir().unwrap();
        let (_, p384) = openssl_signer(
            dir.path(),
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1"],
        );
        registry_accepts(&p384, &p384.sign_cms(&nonce).unwrap(), &nonce);
    }

    #[test]
    fn rsa_pss_on_request_is_rfc4056_signed_data_that_openssl_and_the_registry_verify() {
        let dir = tempfile::tempdir().unwrap();
        let (_, mut signer) = openssl_signer(dir.path(), &["-newkey", "rsa:2048"]);
        signer.use_rsa_pss().unwrap();
        assert_eq!(signer.algorithm(), "RSA-PSS");
        let nonce = [0x3cu8; 32];
        let der = signer.sign_cms(&nonce).unwrap();
        let si = signer_info(&der);
        assert_eq!(si.signature_algorithm.oid, rfc5912::ID_RSASSA_PSS);
        // RFC 4056 §2: the parameters are present and name SHA-256 throughout.
        let params: RsaPssParams = si
            .signature_algorithm
            .parameters
            .as_ref()
            .unwrap()
            .decode_as()
            .unwrap();
        assert_eq!(params.hash.oid, rfc5912::ID_SHA_256);
        assert_eq!(params.mask_gen.oid, rfc5912::ID_MGF_1);
        assert_eq!(params.salt_length, 32);
        assert_eq!(si.digest_alg.oid, rfc5912::ID_SHA_256);
        registry_accepts(&signer, &der, &nonce);
        assert_eq!(openssl_verify(&der), nonce);
        // And aws-lc-rs' independent PSS verifier agrees on the signature itself.
        assert_signed_attrs_verify(
            &signer,
            &si,
            &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA256,
        );
    }

    #[test]
    fn rsa_pss_keys_always_sign_with_pss() {
        let dir = tempfile::tempdir().unwrap();
        let (_, signer) = openssl_signer(
            dir.path(),
            &[
                "genpkey",
                "-algorithm",
                "RSA-PSS",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ],
        );
        assert_eq!(signer.algorithm(), "RSA-PSS");
        let nonce = [0x11u8; 32];
        let der = signer.sign_cms(&nonce).unwrap();
        assert_eq!(
            signer_info(&der).signature_algorithm.oid,
            rfc5912::ID_RSASSA_PSS
        );
        registry_accepts(&signer, &der, &nonce);
        assert_eq!(openssl_verify(&der), nonce);
    }

    #[test]
    fn rsa_pss_is_refused_for_other_keys() {
        let mut ec = signer();
        let e = ec.use_rsa_pss().unwrap_err().to_string();
        assert!(e.contains("RSA key") && e.contains("ECDSA P-256"), "{e}");
    }

    #[test]
    fn ed25519_signed_data_follows_rfc8419_and_verifies_independently() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, signer) = openssl_signer(dir.path(), &["genpkey", "-algorithm", "ED25519"]);
        assert_eq!(signer.algorithm(), "Ed25519");
        let nonce: Vec<u8> = (100u8..132).collect();
        let der = signer.sign_cms(&nonce).unwrap();
        let si = signer_info(&der);
        // RFC 8419 §3: id-Ed25519 without parameters; SHA-512 as the digest algorithm
        // and for messageDigest.
        assert_eq!(si.signature_algorithm.oid, rfc8410::ID_ED_25519);
        assert!(si.signature_algorithm.parameters.is_none());
        assert_eq!(si.digest_alg.oid, rfc5912::ID_SHA_512);
        let attrs = si.signed_attrs.as_ref().unwrap();
        let md: OctetString = attr(attrs, rfc6268::ID_MESSAGE_DIGEST).decode_as().unwrap();
        assert_eq!(
            md.as_bytes(),
            digest::digest(&digest::SHA512, &nonce).as_ref()
        );
        registry_accepts(&signer, &der, &nonce);

        // Python `cryptography` (OpenSSL 3.0's CMS cannot verify Ed25519): the
        // signature over the DER signed attributes with the certificate's key.
        let attrs_path = dir.path().join("attrs.der");
        let sig_path = dir.path().join("sig.bin");
        std::fs::write(&attrs_path, attrs.to_der().unwrap()).unwrap();
        std::fs::write(&sig_path, si.signature.as_bytes()).unwrap();
        let script = "import sys\n\
from cryptography import x509\n\
cert = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())\n\
cert.public_key().verify(open(sys.argv[3], 'rb').read(), open(sys.argv[2], 'rb').read())\n\
print('ok')\n";
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .args([&cert, &attrs_path, &sig_path])
            .output()
            .expect("python3 is installed");
        assert!(
            out.status.success() && out.stdout.starts_with(b"ok"),
            "python cryptography refuses the Ed25519 signature: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn thumbprint_is_upper_case_sha1_hex() {
        assert_eq!(
            thumbprint(b"abc"),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
    }
}
