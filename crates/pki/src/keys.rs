//! The log / CA signing key: ECDSA P-256 with SHA-256 (aws-lc-rs).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use const_oid::db::rfc5912;
use der::Encode;
use der::pem::LineEnding;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::ct::DigitallySigned;

/// Errors of key handling and signing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The PEM wrapping is malformed or not a `PRIVATE KEY` block.
    #[error("malformed PKCS#8 PEM: {0}")]
    Pem(String),
    /// The PKCS#8 document is not an ECDSA P-256 key.
    #[error("not a valid ECDSA P-256 PKCS#8 key")]
    BadKey,
    /// Key generation failed.
    #[error("key generation failed")]
    Generate,
    /// Signing failed.
    #[error("signing failed")]
    Sign,
    /// Encoding failed.
    #[error("encoding failed: {0}")]
    Encode(String),
}

/// An ECDSA P-256 / SHA-256 signing key (`EcdsaKeyPair` with
/// `ECDSA_P256_SHA256_ASN1_SIGNING`) producing DER `ECDSA-Sig-Value` signatures,
/// as RFC 6962 §2.1.4 requires for SCTs and STHs.
///
/// `Send + Sync`; its `Debug` output shows only the public key's log ID.
pub struct EcdsaP256Signer {
    key_pair: EcdsaKeyPair,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for EcdsaP256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcdsaP256Signer")
            .field("log_id", &hex_string(&crate::ct::log_id(&self.spki_der)))
            .finish_non_exhaustive()
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl EcdsaP256Signer {
    /// Generates a fresh key.
    ///
    /// This is the one place the crate draws randomness: it uses aws-lc-rs's
    /// `SystemRandom` (the operating system CSPRNG), because a signing key cannot be
    /// made deterministic without handing key material around. Tests that need a fixed
    /// key load one with [`Self::from_pkcs8_der`].
    pub fn generate() -> Result<Self, KeyError> {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .map_err(|_| KeyError::Generate)?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// Loads a PKCS#8 (RFC 5958) DER ECDSA P-256 private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
            .map_err(|_| KeyError::BadKey)?;
        let spki_der = p256_spki_der(key_pair.public_key().as_ref())?;
        Ok(Self { key_pair, spki_der })
    }

    /// Loads a `-----BEGIN PRIVATE KEY-----` PEM (unencrypted PKCS#8).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| KeyError::Pem(e.to_string()))?;
        let der = Zeroizing::new(der);
        if label != "PRIVATE KEY" {
            return Err(KeyError::Pem(format!("unexpected PEM label {label:?}")));
        }
        Self::from_pkcs8_der(&der)
    }

    /// Exports the private key as unencrypted PKCS#8 PEM (zeroized on drop).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let doc = self.key_pair.to_pkcs8v1().map_err(|_| KeyError::BadKey)?;
        der::pem::encode_string("PRIVATE KEY", LineEnding::LF, doc.as_ref())
            .map(Zeroizing::new)
            .map_err(|e| KeyError::Encode(e.to_string()))
    }

    /// The public key as SubjectPublicKeyInfo DER (id-ecPublicKey, prime256v1).
    pub fn spki_der(&self) -> Vec<u8> {
        self.spki_der.clone()
    }

    /// RFC 6962 `LogID`: SHA-256 of [`Self::spki_der`].
    pub fn log_id(&self) -> [u8; 32] {
        crate::ct::log_id(&self.spki_der)
    }

    /// Signs `msg` (hashed with SHA-256), returning a DER `ECDSA-Sig-Value`.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.key_pair
            .sign(&SystemRandom::new(), msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| KeyError::Sign)
    }

    /// Signs `msg` as an RFC 5246 `DigitallySigned` (sha256, ecdsa).
    pub fn sign_digitally_signed(&self, msg: &[u8]) -> Result<DigitallySigned, KeyError> {
        Ok(DigitallySigned {
            hash: DigitallySigned::HASH_SHA256,
            signature_algorithm: DigitallySigned::SIG_ECDSA,
            signature: self.sign(msg)?,
        })
    }
}

/// RFC 5480 §2: SubjectPublicKeyInfo for an uncompressed P-256 point.
fn p256_spki_der(point: &[u8]) -> Result<Vec<u8>, KeyError> {
    let enc = |e: der::Error| KeyError::Encode(e.to_string());
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: rfc5912::ID_EC_PUBLIC_KEY,
            parameters: Some(der::Any::encode_from(&rfc5912::SECP_256_R_1).map_err(enc)?),
        },
        subject_public_key: der::asn1::BitString::from_bytes(point).map_err(enc)?,
    };
    spki.to_der().map_err(enc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::verify_digitally_signed;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn signer_is_send_and_sync() {
        assert_send_sync::<EcdsaP256Signer>();
    }

    #[test]
    fn spki_is_id_ec_public_key_prime256v1() {
        let s = EcdsaP256Signer::generate().unwrap();
        let spki = s.spki_der();
        // SEQUENCE { SEQUENCE { OID ecPublicKey, OID prime256v1 }, BIT STRING (65-byte point) }
        assert_eq!(
            hex::encode(&spki[..27]),
            "3059301306072a8648ce3d020106082a8648ce3d030107034200 04".replace(' ', "")
        );
        assert_eq!(spki.len(), 91);
    }

    #[test]
    fn pem_round_trip_preserves_key() {
        let s = EcdsaP256Signer::generate().unwrap();
        let pem = s.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = EcdsaP256Signer::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(back.spki_der(), s.spki_der());
        assert!(matches!(
            EcdsaP256Signer::from_pkcs8_pem(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
            ),
            Err(KeyError::Pem(_))
        ));
        assert_eq!(
            EcdsaP256Signer::from_pkcs8_der(b"junk").unwrap_err(),
            KeyError::BadKey
        );
    }

    #[test]
    fn debug_does_not_print_key_material() {
        let s = EcdsaP256Signer::generate().unwrap();
        let dbg = format!("{s:?}");
        let pem = s.to_pkcs8_pem().unwrap();
        let body: String = pem.lines().nth(1).unwrap().chars().take(20).collect();
        assert!(!dbg.contains(&body));
        assert!(dbg.contains(&hex_string(&s.log_id())));
    }

    #[test]
    fn digitally_signed_verifies() {
        let s = EcdsaP256Signer::generate().unwrap();
        let ds = s.sign_digitally_signed(b"hello").unwrap();
        assert_eq!((ds.hash, ds.signature_algorithm), (4, 3));
        verify_digitally_signed(&s.spki_der(), b"hello", &ds).unwrap();
        assert!(verify_digitally_signed(&s.spki_der(), b"hellO", &ds).is_err());
    }
}
