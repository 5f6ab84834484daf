//! An ECDSA CA key in memory: generated for a throw-away CA, or loaded (the `file`
//! backend decrypts into one).

use std::fmt;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair};
use der::Decode;
use pkcs8::PrivateKeyInfoRef;
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef};

use const_oid::db::{rfc5912, rfc8410};

use super::{EcCurve, SignerError};
use crate::cert::{CaSigner, CertError};

/// Names a key algorithm for an error message: what the operator handed us instead of
/// an accepted ECDSA key.
fn describe_key_algorithm(algorithm: &AlgorithmIdentifierRef<'_>) -> String {
    match algorithm.oid {
        rfc5912::ID_EC_PUBLIC_KEY => match algorithm.parameters_oid() {
            Ok(curve) => format!("ECDSA on curve {curve}"),
            Err(_) => "ECDSA with explicit or missing curve parameters".to_string(),
        },
        rfc5912::RSA_ENCRYPTION | rfc5912::ID_RSASSA_PSS => "RSA".to_string(),
        rfc8410::ID_ED_25519 => "Ed25519".to_string(),
        other => format!("key algorithm {other}"),
    }
}

/// [`CaSigner`] over an in-memory ECDSA key (P-256 or P-384), signing with aws-lc.
pub struct EcdsaCaSigner {
    curve: EcCurve,
    key: EcdsaKeyPair,
    spki: Vec<u8>,
    rng: SystemRandom,
}

impl EcdsaCaSigner {
    /// Generates a fresh key on `curve` (tests, throw-away CAs).
    pub fn generate(curve: EcCurve) -> Result<Self, SignerError> {
        let key = EcdsaKeyPair::generate(curve.signing())
            .map_err(|_| SignerError::InvalidKey("key generation failed".into()))?;
        Self::from_key_pair(curve, key)
    }

    /// Loads an unencrypted PKCS#8 `PrivateKeyInfo` (DER). The file backend calls this
    /// after decryption; keys at rest should go through [`load_encrypted_pkcs8_pem`].
    pub fn from_pkcs8_der(pkcs8_der: &[u8]) -> Result<Self, SignerError> {
        let info = PrivateKeyInfoRef::from_der(pkcs8_der)
            .map_err(|e| SignerError::InvalidKey(format!("not a PKCS#8 PrivateKeyInfo: {e}")))?;
        let curve = match (info.algorithm.oid, info.algorithm.parameters_oid()) {
            (rfc5912::ID_EC_PUBLIC_KEY, Ok(curve)) => EcCurve::from_oid(curve),
            _ => None,
        }
        .ok_or_else(|| SignerError::UnsupportedKey(describe_key_algorithm(&info.algorithm)))?;
        let key = EcdsaKeyPair::from_pkcs8(curve.signing(), pkcs8_der)
            .map_err(|e| SignerError::InvalidKey(format!("{curve} private key: {e}")))?;
        Self::from_key_pair(curve, key)
    }

    fn from_key_pair(curve: EcCurve, key: EcdsaKeyPair) -> Result<Self, SignerError> {
        let spki: PublicKeyX509Der<'static> = key
            .public_key()
            .as_der()
            .map_err(|e| SignerError::InvalidKey(format!("public key encoding: {e}")))?;
        Ok(Self {
            curve,
            key,
            spki: spki.as_ref().to_vec(),
            rng: SystemRandom::new(),
        })
    }

    /// The key's curve.
    pub fn curve(&self) -> EcCurve {
        self.curve
    }
}

impl fmt::Debug for EcdsaCaSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcdsaCaSigner")
            .field("curve", &self.curve)
            .finish_non_exhaustive()
    }
}

impl CaSigner for EcdsaCaSigner {
    fn algorithm(&self) -> AlgorithmIdentifierOwned {
        self.curve.signature_algorithm()
    }

    fn sign(&self, tbs_der: &[u8]) -> Result<Vec<u8>, CertError> {
        self.key
            .sign(&self.rng, tbs_der)
            .map(|sig| sig.as_ref().to_vec())
            .map_err(|_| CertError::Sign(format!("ECDSA {} signing failed", self.curve)))
    }

    fn spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::asn1::ec_spki_der;

    #[test]
    fn spki_built_from_a_point_equals_aws_lc_spki() {
        for curve in [EcCurve::P256, EcCurve::P384] {
            let signer = EcdsaCaSigner::generate(curve).unwrap();
            let point = signer.key.public_key().as_ref().to_vec();
            assert_eq!(ec_spki_der(curve, &point).unwrap(), signer.spki_der());
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let signer = EcdsaCaSigner::generate(EcCurve::P256).unwrap();
        assert_eq!(format!("{signer:?}"), "EcdsaCaSigner { curve: P256, .. }");
    }
}
