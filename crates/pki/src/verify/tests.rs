use super::*;
use crate::keys::EcdsaP256Signer;
use const_oid::db::{rfc5912, rfc8410};
use der::Encode;

fn alg(oid: ObjectIdentifier, params: Option<der::Any>) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: params,
    }
}

#[test]
fn ecdsa_p256_sha256_verifies_and_rejects_tampering() {
    let s = EcdsaP256Signer::generate().unwrap();
    let sig = s.sign(b"msg").unwrap();
    let a = alg(rfc5912::ECDSA_WITH_SHA_256, None);
    verify_signature(&s.spki_der(), &a, b"msg", &sig).unwrap();
    assert_eq!(
        verify_signature(&s.spki_der(), &a, b"msG", &sig).unwrap_err(),
        VerifyError::BadSignature
    );
    // ecdsa-with-SHA384 over the same key and signature must fail (different hash)
    assert_eq!(
        verify_signature(
            &s.spki_der(),
            &alg(rfc5912::ECDSA_WITH_SHA_384, None),
            b"msg",
            &sig
        )
        .unwrap_err(),
        VerifyError::BadSignature
    );
}

#[test]
fn key_algorithm_mismatch_is_reported() {
    let s = EcdsaP256Signer::generate().unwrap();
    let sig = s.sign(b"m").unwrap();
    let null = der::Any::new(der::Tag::Null, Vec::<u8>::new()).unwrap();
    assert!(matches!(
        verify_signature(
            &s.spki_der(),
            &alg(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, Some(null)),
            b"m",
            &sig
        ),
        Err(VerifyError::KeyAlgorithmMismatch { .. })
    ));
    assert!(matches!(
        verify_signature(&s.spki_der(), &alg(rfc8410::ID_ED_25519, None), b"m", &sig),
        Err(VerifyError::KeyAlgorithmMismatch { .. })
    ));
}

#[test]
fn ecdsa_params_must_be_absent() {
    let s = EcdsaP256Signer::generate().unwrap();
    let null = der::Any::new(der::Tag::Null, Vec::<u8>::new()).unwrap();
    assert!(matches!(
        verify_signature(
            &s.spki_der(),
            &alg(rfc5912::ECDSA_WITH_SHA_256, Some(null)),
            b"m",
            b""
        ),
        Err(VerifyError::BadParameters(_))
    ));
}

#[test]
fn unsupported_algorithm_and_garbage_key() {
    let s = EcdsaP256Signer::generate().unwrap();
    let md5rsa = rfc5912::MD_5_WITH_RSA_ENCRYPTION;
    assert!(matches!(
        verify_signature(&s.spki_der(), &alg(md5rsa, None), b"m", b""),
        Err(VerifyError::UnsupportedAlgorithm(_))
    ));
    assert!(matches!(
        verify_signature(
            b"\x30\x03\x02\x01\x00",
            &alg(rfc5912::ECDSA_WITH_SHA_256, None),
            b"m",
            b""
        ),
        Err(VerifyError::MalformedKey(_))
    ));
}

fn rsa_spki(modulus_bits: usize) -> Vec<u8> {
    // RSAPublicKey with a modulus of exactly `modulus_bits` bits (top bit set).
    let mut n = vec![0xffu8; modulus_bits / 8];
    n[0] = 0x80;
    let key = RsaPublicKey {
        modulus: UintRef::new(&n).unwrap(),
        public_exponent: UintRef::new(&[1, 0, 1]).unwrap(),
    }
    .to_der()
    .unwrap();
    spki::SubjectPublicKeyInfoOwned {
        algorithm: alg(
            rfc5912::RSA_ENCRYPTION,
            Some(der::Any::new(der::Tag::Null, Vec::<u8>::new()).unwrap()),
        ),
        subject_public_key: der::asn1::BitString::from_bytes(&key).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[test]
fn rsa_keys_below_2048_bits_are_rejected() {
    let a = alg(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, None);
    assert_eq!(
        verify_signature(&rsa_spki(1024), &a, b"m", &[0; 128]).unwrap_err(),
        VerifyError::RsaKeyTooSmall(1024)
    );
    // 2048 bits passes the size check and fails on the (bogus) signature.
    assert_eq!(
        verify_signature(&rsa_spki(2048), &a, b"m", &[0; 256]).unwrap_err(),
        VerifyError::BadSignature
    );
}

fn pss_params(hash: ObjectIdentifier, mgf_hash: ObjectIdentifier, salt: u32) -> der::Any {
    let p = PssParams {
        hash: Some(alg(hash, None)),
        mask_gen: Some(alg(
            rfc5912::ID_MGF_1,
            Some(der::Any::encode_from(&alg(mgf_hash, None)).unwrap()),
        )),
        salt_length: Some(salt),
        trailer_field: None,
    };
    der::Any::encode_from(&p).unwrap()
}

#[test]
fn pss_parameters_are_checked() {
    let spki = rsa_spki(2048);
    let ok = alg(
        rfc5912::ID_RSASSA_PSS,
        Some(pss_params(rfc5912::ID_SHA_256, rfc5912::ID_SHA_256, 32)),
    );
    // Parameters accepted; the bogus signature then fails.
    assert_eq!(
        verify_signature(&spki, &ok, b"m", &[0; 256]).unwrap_err(),
        VerifyError::BadSignature
    );
    for bad in [
        pss_params(rfc5912::ID_SHA_256, rfc5912::ID_SHA_384, 32),
        pss_params(rfc5912::ID_SHA_256, rfc5912::ID_SHA_256, 20),
        pss_params(rfc5912::ID_SHA_384, rfc5912::ID_SHA_384, 32),
    ] {
        assert!(matches!(
            verify_signature(
                &spki,
                &alg(rfc5912::ID_RSASSA_PSS, Some(bad)),
                b"m",
                &[0; 256]
            ),
            Err(VerifyError::BadParameters(_))
        ));
    }
    assert!(matches!(
        verify_signature(&spki, &alg(rfc5912::ID_RSASSA_PSS, None), b"m", &[0; 256]),
        Err(VerifyError::BadParameters(_))
    ));
}

#[test]
fn digitally_signed_requires_sha256() {
    let s = EcdsaP256Signer::generate().unwrap();
    let mut ds = s.sign_digitally_signed(b"x").unwrap();
    verify_digitally_signed(&s.spki_der(), b"x", &ds).unwrap();
    ds.hash = 5;
    assert!(matches!(
        verify_digitally_signed(&s.spki_der(), b"x", &ds),
        Err(VerifyError::UnsupportedAlgorithm(_))
    ));
    ds.hash = 4;
    ds.signature_algorithm = 2;
    assert!(matches!(
        verify_digitally_signed(&s.spki_der(), b"x", &ds),
        Err(VerifyError::UnsupportedAlgorithm(_))
    ));
}

#[test]
fn prehashed_ecdsa_verifies_the_digest_of_the_signed_message() {
    use sha2::{Digest, Sha256};
    let s = EcdsaP256Signer::generate().unwrap();
    let sig = s.sign(b"msg").unwrap();
    let digest = Sha256::digest(b"msg");
    verify_prehashed(&s.spki_der(), HashAlgorithm::Sha256, &digest, &sig).unwrap();
    assert_eq!(
        verify_prehashed(
            &s.spki_der(),
            HashAlgorithm::Sha256,
            &Sha256::digest(b"msG"),
            &sig
        ),
        Err(VerifyError::BadSignature)
    );
    // A 32-byte digest named SHA-384 is refused before any verification.
    assert!(matches!(
        verify_prehashed(&s.spki_der(), HashAlgorithm::Sha384, &digest, &sig),
        Err(VerifyError::BadParameters(_))
    ));
    verify_by_key(&s.spki_der(), HashAlgorithm::Sha256, b"msg", &sig).unwrap();
    assert_eq!(
        verify_by_key(&s.spki_der(), HashAlgorithm::Sha384, b"msg", &sig),
        Err(VerifyError::BadSignature)
    );
}
