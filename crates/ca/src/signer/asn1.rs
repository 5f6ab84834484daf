//! The two ASN.1 structures the PKCS#11 backend builds itself: the X.509 form of an
//! ECDSA signature and an EC `SubjectPublicKeyInfo`.

use der::asn1::{AnyRef, BitStringRef, UintRef};
use der::{Encode, Sequence};
use spki::AlgorithmIdentifierRef;

use const_oid::db::rfc5912;

use super::{EcCurve, SignerError};

/// RFC 3279 §2.2.3 `Ecdsa-Sig-Value`, the X.509 encoding of an ECDSA signature.
///
/// ```text
/// Ecdsa-Sig-Value  ::=  SEQUENCE  {
///      r     INTEGER,
///      s     INTEGER  }
/// ```
#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Converts a PKCS#11 `CKM_ECDSA` signature (r ‖ s, each as long as the field, PKCS#11
/// v2.40 §2.3.1) into DER.
pub(super) fn raw_ecdsa_to_der(curve: EcCurve, raw: &[u8]) -> Result<Vec<u8>, SignerError> {
    let n = curve.field_len();
    if raw.len() != 2 * n {
        return Err(SignerError::Sign(format!(
            "{curve} CKM_ECDSA signature is {} bytes, expected {}",
            raw.len(),
            2 * n
        )));
    }
    let (r, s) = raw.split_at(n);
    let der_err = |e: der::Error| SignerError::Sign(format!("encoding ECDSA-Sig-Value: {e}"));
    EcdsaSigValue {
        r: UintRef::new(r).map_err(der_err)?,
        s: UintRef::new(s).map_err(der_err)?,
    }
    .to_der()
    .map_err(der_err)
}

/// RFC 5480 §2 `SubjectPublicKeyInfo` for an EC key, with the point as raw bytes.
///
/// ```text
/// SubjectPublicKeyInfo  ::=  SEQUENCE  {
///   algorithm         AlgorithmIdentifier,   -- id-ecPublicKey, namedCurve
///   subjectPublicKey  BIT STRING  }          -- ECPoint, uncompressed
/// ```
pub(super) fn ec_spki_der(curve: EcCurve, point: &[u8]) -> Result<Vec<u8>, SignerError> {
    let curve_oid = curve.oid();
    let spki = spki::SubjectPublicKeyInfo::<AnyRef<'_>, BitStringRef<'_>> {
        algorithm: AlgorithmIdentifierRef {
            oid: rfc5912::ID_EC_PUBLIC_KEY,
            parameters: Some(AnyRef::from(&curve_oid)),
        },
        subject_public_key: BitStringRef::from_bytes(point)
            .map_err(|e| SignerError::InvalidKey(format!("EC point: {e}")))?,
    };
    spki.to_der()
        .map_err(|e| SignerError::InvalidKey(format!("SubjectPublicKeyInfo: {e}")))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};

    use super::*;

    #[test]
    fn raw_signature_becomes_ecdsa_sig_value_with_minimal_integers() {
        // r has a leading zero byte (dropped), s has its top bit set (gets a 0x00 pad).
        let mut raw = vec![0u8; 64];
        raw[1] = 0x01;
        raw[32] = 0x80;
        let der = raw_ecdsa_to_der(EcCurve::P256, &raw).unwrap();
        assert_eq!(&der[..2], &[0x30, 2 + 31 + 2 + 33]);
        assert_eq!(&der[2..4], &[0x02, 31]);
        assert_eq!(der[4], 0x01);
        assert_eq!(&der[35..38], &[0x02, 33, 0x00]);
        assert_eq!(der[38], 0x80);
    }

    #[test]
    fn raw_signature_of_wrong_length_is_refused() {
        assert!(raw_ecdsa_to_der(EcCurve::P384, &[1u8; 64]).is_err());
    }

    #[test]
    fn raw_signature_converts_to_what_aws_lc_verifies() {
        let rng = SystemRandom::new();
        for curve in [EcCurve::P256, EcCurve::P384] {
            let fixed = match curve {
                EcCurve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                EcCurve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            };
            let key = EcdsaKeyPair::generate(fixed).unwrap();
            let raw = key.sign(&rng, b"tbs").unwrap();
            let der = raw_ecdsa_to_der(curve, raw.as_ref()).unwrap();
            UnparsedPublicKey::new(curve.verification(), key.public_key().as_ref())
                .verify(b"tbs", &der)
                .unwrap();
        }
    }
}
