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

fn aws_spki(key: &impl signature::KeyPair<PublicKey = signature::EcdsaPublicKey>) -> Vec<u8> {
    use aws_lc_rs::encoding::AsDer;
    key.public_key().as_der().unwrap().as_ref().to_vec()
}

fn ecdsa_key(alg: &'static signature::EcdsaSigningAlgorithm) -> signature::EcdsaKeyPair {
    signature::EcdsaKeyPair::generate(alg).unwrap()
}

/// FIPS 186-4 P-521 with SHA-512, the pair sigstore names PKIX_ECDSA_P521_SHA_512:
/// verified over the message and over its digest.
#[test]
fn ecdsa_p521_sha512_verifies_by_key_and_prehashed() {
    use sha2::{Digest, Sha512};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let key = ecdsa_key(&signature::ECDSA_P521_SHA512_ASN1_SIGNING);
    let spki = aws_spki(&key);
    let sig = key.sign(&rng, b"msg").unwrap();
    verify_by_key(&spki, HashAlgorithm::Sha512, b"msg", sig.as_ref()).unwrap();
    verify_prehashed(
        &spki,
        HashAlgorithm::Sha512,
        &Sha512::digest(b"msg"),
        sig.as_ref(),
    )
    .unwrap();
    assert_eq!(
        verify_prehashed(
            &spki,
            HashAlgorithm::Sha512,
            &Sha512::digest(b"msG"),
            sig.as_ref()
        ),
        Err(VerifyError::BadSignature)
    );
    verify_signature(
        &spki,
        &alg(rfc5912::ECDSA_WITH_SHA_512, None),
        b"msg",
        sig.as_ref(),
    )
    .unwrap();
}

/// RFC 6962 §2.1.4: "ECDSA ... over the NIST P-256 curve" — no other curve, P-521
/// included, signs an SCT or a tree head.
#[test]
fn digitally_signed_ecdsa_requires_p256() {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    for alg in [
        &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
    ] {
        let key = ecdsa_key(alg);
        let ds = DigitallySigned {
            hash: DigitallySigned::HASH_SHA256,
            signature_algorithm: DigitallySigned::SIG_ECDSA,
            signature: key.sign(&rng, b"x").unwrap().as_ref().to_vec(),
        };
        assert!(matches!(
            verify_digitally_signed(&aws_spki(&key), b"x", &ds),
            Err(VerifyError::KeyAlgorithmMismatch { .. })
        ));
    }
}

#[test]
fn public_key_kind_names_curve_and_modulus_size() {
    let cases = [
        (
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            PublicKeyKind::EcdsaP256,
        ),
        (
            &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            PublicKeyKind::EcdsaP384,
        ),
        (
            &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
            PublicKeyKind::EcdsaP521,
        ),
    ];
    for (alg, kind) in cases {
        assert_eq!(public_key_kind(&aws_spki(&ecdsa_key(alg))).unwrap(), kind);
    }
    assert_eq!(
        public_key_kind(&rsa_spki(3072)).unwrap(),
        PublicKeyKind::Rsa { bits: 3072 }
    );
    let ed = signature::Ed25519KeyPair::generate().unwrap();
    let ed_spki = {
        use aws_lc_rs::encoding::AsDer;
        signature::KeyPair::public_key(&ed)
            .as_der()
            .unwrap()
            .as_ref()
            .to_vec()
    };
    assert_eq!(public_key_kind(&ed_spki).unwrap(), PublicKeyKind::Ed25519);
}

/// A P-256 point that is not on the curve is a malformed key, found before any
/// signature is tried.
#[test]
fn public_key_kind_refuses_a_point_off_the_curve() {
    let mut spki = EcdsaP256Signer::generate().unwrap().spki_der();
    let last = spki.len() - 1;
    spki[last] ^= 1;
    assert!(matches!(
        public_key_kind(&spki),
        Err(VerifyError::MalformedKey(_))
    ));
}
