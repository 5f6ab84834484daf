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
//! (theirs); this module only chooses the values.

use std::path::Path;

use anyhow::{Context, bail};
use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_SHA256, RsaKeyPair,
};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages};

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_EXTENSION_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ID_EXTENSION_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// id-kp-codeSigning (RFC 5280 §4.2.1.12): the registry only takes certificates for
/// code signing, and checking here saves a challenge round trip for a wrong file.
const ID_KP_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");

/// A private key of a type the registry verifies, matched to its certificate.
enum SignerKey {
    EcdsaP256(EcdsaKeyPair),
    EcdsaP384(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A code-signing certificate and the private key that belongs to it.
pub struct CodeSigner {
    certificate: Certificate,
    der: Vec<u8>,
    key: SignerKey,
}

/// Upper-case hex SHA-1 of the DER: the registry's thumbprint, as Windows shows it.
pub fn thumbprint(der: &[u8]) -> String {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The DER of the first `CERTIFICATE` block of a PEM file (or the file itself if DER).
pub fn read_certificate(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the certificate {}", path.display()))?;
    if bytes.first() == Some(&0x30) {
        return Ok(bytes);
    }
    let text = std::str::from_utf8(&bytes)
        .with_context(|| format!("{} is neither DER nor PEM", path.display()))?;
    pki::chain::pem_certificates(text)
        .ok()
        .and_then(|certs| certs.into_iter().next())
        .with_context(|| format!("{} holds no PEM CERTIFICATE block", path.display()))
}

/// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`, what
/// `openssl ecparam -genkey` writes) or PKCS#1 (`RSA PRIVATE KEY`).
fn read_key_der(path: &Path) -> anyhow::Result<(String, zeroize::Zeroizing<Vec<u8>>)> {
    let text = zeroize::Zeroizing::new(
        std::fs::read(path)
            .with_context(|| format!("reading the private key {}", path.display()))?,
    );
    // Skip anything before the key block, e.g. the `EC PARAMETERS` block
    // `openssl ecparam -genkey` writes without -noout.
    let begin = b"-----BEGIN ";
    let mut start = None;
    let mut at = 0;
    while let Some(pos) = text[at..].windows(begin.len()).position(|w| w == begin) {
        let from = at + pos;
        if !text[from..].starts_with(b"-----BEGIN EC PARAMETERS-----") {
            start = Some(from);
            break;
        }
        at = from + begin.len();
    }
    let start = start.with_context(|| format!("{} holds no PEM private key", path.display()))?;
    let (label, der) = der::pem::decode_vec(&text[start..])
        .map_err(|e| anyhow::anyhow!("{}: malformed PEM: {e}", path.display()))?;
    Ok((label.to_owned(), zeroize::Zeroizing::new(der)))
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
            (EC_PUBLIC_KEY, Some(SECP256R1)) => SignerKey::EcdsaP256(
                EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, key_der)
                    .map_err(|e| anyhow::anyhow!("the key is not a P-256 private key: {e}"))?,
            ),
            (EC_PUBLIC_KEY, Some(SECP384R1)) => SignerKey::EcdsaP384(
                EcdsaKeyPair::from_private_key_der(&ECDSA_P384_SHA384_ASN1_SIGNING, key_der)
                    .map_err(|e| anyhow::anyhow!("the key is not a P-384 private key: {e}"))?,
            ),
            (RSA_ENCRYPTION, _) => SignerKey::Rsa(
                if label == "RSA PRIVATE KEY" {
                    RsaKeyPair::from_der(key_der)
                } else {
                    RsaKeyPair::from_pkcs8(key_der)
                }
                .map_err(|e| anyhow::anyhow!("the key is not an RSA private key: {e}"))?,
            ),
            (oid, _) => bail!(
                "unsupported certificate key {oid}: `ccc push` signs with ECDSA P-256/P-384 or RSA"
            ),
        };
        let key_public = match &key {
            SignerKey::EcdsaP256(k) | SignerKey::EcdsaP384(k) => k.public_key().as_ref(),
            SignerKey::Rsa(k) => k.public_key().as_ref(),
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

    /// The CMS SignedData (DER `ContentInfo`) over `content` with signed attributes
    /// contentType, messageDigest and signingTime.
    pub fn sign_cms(&self, content: &[u8]) -> anyhow::Result<Vec<u8>> {
        let (digest_alg, digest_oid, signature_oid) = match self.key {
            SignerKey::EcdsaP256(_) => (&digest::SHA256, SHA256, ECDSA_WITH_SHA256),
            SignerKey::EcdsaP384(_) => (&digest::SHA384, SHA384, ECDSA_WITH_SHA384),
            SignerKey::Rsa(_) => (&digest::SHA256, SHA256, SHA256_WITH_RSA),
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
            attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?,
            attribute(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(message_digest.as_ref())?)?,
            )?,
            attribute(ID_SIGNING_TIME, Any::encode_from(&now)?)?,
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
                oid: signature_oid,
                // RFC 4055 §5: sha256WithRSAEncryption takes NULL parameters;
                // RFC 5758 §3.2: ECDSA algorithm identifiers take none.
                parameters: matches!(self.key, SignerKey::Rsa(_)).then_some(Any::null()),
            },
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![digest_algorithm])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: Some(Any::encode_from(&OctetString::new(content)?)?),
            },
            certificates: Some(CertificateSet(SetOfVec::try_from(vec![
                CertificateChoices::Certificate(self.certificate.clone()),
            ])?)),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        let content_info = ContentInfo {
            content_type: ID_SIGNED_DATA,
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
            SignerKey::Rsa(k) => {
                let mut signature = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
                Ok(signature)
            }
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
/// §4.2.1.12): EKU codeSigning present, KeyUsage (if any) allowing digitalSignature.
fn check_code_signing(cert: &Certificate) -> anyhow::Result<()> {
    let extensions = cert
        .tbs_certificate()
        .extensions()
        .map_or(&[][..], Vec::as_slice);
    let eku = extensions
        .iter()
        .find(|e| e.extn_id == ID_EXTENSION_EKU)
        .map(|e| ExtendedKeyUsage::from_der(e.extn_value.as_bytes()))
        .transpose()
        .context("the certificate's ExtendedKeyUsage is malformed")?;
    if !eku.is_some_and(|eku| eku.0.contains(&ID_KP_CODE_SIGNING)) {
        bail!(
            "the certificate has no codeSigning extended key usage (1.3.6.1.5.5.7.3.3); \
             the registry only accepts code-signing certificates"
        );
    }
    if let Some(ku) = extensions
        .iter()
        .find(|e| e.extn_id == ID_EXTENSION_KEY_USAGE)
        .map(|e| KeyUsage::from_der(e.extn_value.as_bytes()))
        .transpose()
        .context("the certificate's KeyUsage is malformed")?
        && !ku.0.contains(KeyUsages::DigitalSignature)
    {
        bail!("the certificate's KeyUsage does not allow digitalSignature");
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
        assert_eq!(info.content_type, ID_SIGNED_DATA);
        let sd: SignedData = info.content.decode_as().unwrap();
        assert_eq!(sd.encap_content_info.econtent_type, ID_DATA);
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
            attr(attrs, ID_CONTENT_TYPE)
                .decode_as::<ObjectIdentifier>()
                .unwrap(),
            ID_DATA
        );
        // RFC 5652 §11.2: messageDigest is the digest of the content.
        let md: OctetString = attr(attrs, ID_MESSAGE_DIGEST).decode_as().unwrap();
        assert_eq!(
            md.as_bytes(),
            digest::digest(&digest::SHA256, &nonce).as_ref()
        );
        // RFC 5652 §5.4: signature over the DER SET OF of the attributes.
        let spki = cert.tbs_certificate().subject_public_key_info();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, spki.subject_public_key.raw_bytes())
            .verify(&attrs.to_der().unwrap(), si.signature.as_bytes())
            .expect("signature over the signed attributes verifies");
        assert_eq!(si.signature_algorithm.oid, ECDSA_WITH_SHA256);
    }

    /// Runs `openssl cms -verify` (signature and attributes; no chain to a root) and
    /// returns the content it extracted.
    fn openssl_verify(der: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("msg.der");
        let output = dir.path().join("content.bin");
        std::fs::write(&input, der).unwrap();
        let out = std::process::Command::new("openssl")
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
            .arg(&output)
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "openssl cms -verify failed: {}",
            String::from_utf8_lossy(&out.stderr)
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
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let out = std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-nodes", "-days", "1", "-newkey", "rsa:2048",
            ])
            .args([
                "-subj",
                "/CN=rsa dev",
                "-addext",
                "extendedKeyUsage=codeSigning",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let signer = CodeSigner::load(&cert, &key).unwrap();
        let nonce = [0xa5u8; 32];
        let der = signer.sign_cms(&nonce).unwrap();
        assert_eq!(openssl_verify(&der), nonce);
        // And the signature checks with the certificate's key, PKCS#1 v1.5 SHA-256.
        let sd: SignedData = ContentInfo::from_der(&der)
            .unwrap()
            .content
            .decode_as()
            .unwrap();
        let si = sd.signer_infos.0.get(0).unwrap();
        let spki = signer
            .certificate
            .tbs_certificate()
            .subject_public_key_info();
        UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            spki.subject_public_key.raw_bytes(),
        )
        .verify(
            &si.signed_attrs.as_ref().unwrap().to_der().unwrap(),
            si.signature.as_bytes(),
        )
        .unwrap();
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

    #[test]
    fn thumbprint_is_upper_case_sha1_hex() {
        assert_eq!(
            thumbprint(b"abc"),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
    }
}
