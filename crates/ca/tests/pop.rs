//! Proof of possession against independent implementations: keys and signatures from
//! aws-lc-rs, CSRs from the `openssl req` CLI.

use std::path::Path;
use std::process::Command;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair,
};
use ca::pop::{KeyKind, MAX_CSR_LEN, PopError, SubjectKey, parse_csr, verify_challenge};
use der::Encode;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

const SUB: &[u8] = b"repo:example/project:ref:refs/heads/main";

/// Runs `openssl` with `args` in `dir`; panics with a clear message if it is missing or fails.
fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("the openssl CLI is required for this test: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn ec_key(alg: &'static signature::EcdsaSigningAlgorithm) -> (EcdsaKeyPair, SubjectKey) {
    let kp = EcdsaKeyPair::generate(alg).unwrap();
    let der: PublicKeyX509Der<'static> = kp.public_key().as_der().unwrap();
    let key = SubjectKey::from_spki_der(der.as_ref()).unwrap();
    (kp, key)
}

fn unsupported(err: PopError) -> String {
    assert!(
        matches!(err, PopError::UnsupportedKey { .. }),
        "expected UnsupportedKey, got {err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("accepted: ECDSA P-256, ECDSA P-384, Ed25519, RSA"),
        "message must name what is accepted: {msg}"
    );
    msg
}

#[test]
fn p256_challenge_sha256_verifies_and_wrong_message_is_rejected() {
    let (kp, key) = ec_key(&ECDSA_P256_SHA256_ASN1_SIGNING);
    assert_eq!(key.kind(), KeyKind::EcdsaP256);
    let sig = kp.sign(&SystemRandom::new(), SUB).unwrap();
    verify_challenge(&key, SUB, sig.as_ref()).unwrap();
    assert_eq!(
        verify_challenge(&key, b"someone-else", sig.as_ref()),
        Err(PopError::BadChallengeSignature)
    );
}

#[test]
fn p384_challenge_accepts_sha384_and_sha256() {
    let (kp, key) = ec_key(&ECDSA_P384_SHA384_ASN1_SIGNING);
    assert_eq!(key.kind(), KeyKind::EcdsaP384);
    let sig = kp.sign(&SystemRandom::new(), SUB).unwrap();
    verify_challenge(&key, SUB, sig.as_ref()).unwrap();

    // SHA-256 on P-384, as Fulcio's own verifier uses: signed by the openssl CLI.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            "k.pem",
        ],
    );
    std::fs::write(d.join("msg"), SUB).unwrap();
    let spki = openssl(d, &["pkey", "-in", "k.pem", "-pubout", "-outform", "DER"]);
    let key = SubjectKey::from_spki_der(&spki).unwrap();
    for md in ["-sha256", "-sha384"] {
        let sig = openssl(d, &["dgst", md, "-sign", "k.pem", "msg"]);
        verify_challenge(&key, SUB, &sig).unwrap_or_else(|e| panic!("{md}: {e}"));
    }
    let sig256 = openssl(d, &["dgst", "-sha512", "-sign", "k.pem", "msg"]);
    // SHA-512 is not accepted.
    assert!(verify_challenge(&key, SUB, &sig256).is_err());
}

#[test]
fn ed25519_challenge_is_raw_signature() {
    let kp = Ed25519KeyPair::generate().unwrap();
    let der: PublicKeyX509Der<'static> = kp.public_key().as_der().unwrap();
    let key = SubjectKey::parse(der.as_ref()).unwrap();
    assert_eq!(key.kind(), KeyKind::Ed25519);
    let sig = kp.sign(SUB);
    assert_eq!(sig.as_ref().len(), 64);
    verify_challenge(&key, SUB, sig.as_ref()).unwrap();
    assert!(verify_challenge(&key, b"x", sig.as_ref()).is_err());
}

#[test]
fn rsa_2048_challenge_pkcs1_and_pss_sha256() {
    let kp = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let der: PublicKeyX509Der<'static> = kp.public_key().as_der().unwrap();
    let key = SubjectKey::from_spki_der(der.as_ref()).unwrap();
    assert_eq!(key.kind(), KeyKind::Rsa(2048));
    let rng = SystemRandom::new();
    for alg in [&signature::RSA_PKCS1_SHA256, &signature::RSA_PSS_SHA256] {
        let mut sig = vec![0; kp.public_modulus_len()];
        kp.sign(alg, &rng, SUB, &mut sig).unwrap();
        verify_challenge(&key, SUB, &sig).unwrap();
        assert!(verify_challenge(&key, b"not the sub", &sig).is_err());
    }
    // SHA-512 is not among the accepted challenge hashes.
    let mut sig = vec![0; kp.public_modulus_len()];
    kp.sign(&signature::RSA_PKCS1_SHA512, &rng, SUB, &mut sig)
        .unwrap();
    assert!(verify_challenge(&key, SUB, &sig).is_err());
}

#[test]
fn signature_of_another_key_is_rejected() {
    let (_, key) = ec_key(&ECDSA_P256_SHA256_ASN1_SIGNING);
    let (other, _) = ec_key(&ECDSA_P256_SHA256_ASN1_SIGNING);
    let sig = other.sign(&SystemRandom::new(), SUB).unwrap();
    assert_eq!(
        verify_challenge(&key, SUB, sig.as_ref()),
        Err(PopError::BadChallengeSignature)
    );
    assert!(matches!(
        verify_challenge(&key, SUB, &[0u8; 5000]),
        Err(PopError::TooLarge { .. })
    ));
}

#[test]
fn pem_public_key_is_accepted() {
    let (kp, key) = ec_key(&ECDSA_P256_SHA256_ASN1_SIGNING);
    let pem =
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, key.spki_der()).unwrap();
    let from_pem = SubjectKey::parse(pem.as_bytes()).unwrap();
    assert_eq!(from_pem, key);
    let sig = kp.sign(&SystemRandom::new(), SUB).unwrap();
    verify_challenge(&from_pem, SUB, sig.as_ref()).unwrap();

    let wrong_label =
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, key.spki_der()).unwrap();
    assert!(matches!(
        SubjectKey::parse(wrong_label.as_bytes()),
        Err(PopError::Pem(_))
    ));
}

#[test]
fn rsa_1024_p521_and_dsa_keys_are_rejected_naming_what_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
            "rsa1024.pem",
        ],
    );
    let pubkey = openssl(d, &["pkey", "-in", "rsa1024.pem", "-pubout"]);
    let msg = unsupported(SubjectKey::parse(&pubkey).unwrap_err());
    assert!(msg.contains("RSA 1024 bits"), "{msg}");

    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
            "-out",
            "p521.pem",
        ],
    );
    let pubkey = openssl(d, &["pkey", "-in", "p521.pem", "-pubout"]);
    let msg = unsupported(SubjectKey::parse(&pubkey).unwrap_err());
    assert!(msg.contains("P-521"), "{msg}");

    // A DSA SubjectPublicKeyInfo (id-dsa, 1.2.840.10040.4.1): refused on the OID alone.
    let dsa = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: "1.2.840.10040.4.1".parse().unwrap(),
            parameters: None,
        },
        subject_public_key: der::asn1::BitString::from_bytes(&[0x02, 0x01, 0x05]).unwrap(),
    }
    .to_der()
    .unwrap();
    let msg = unsupported(SubjectKey::from_spki_der(&dsa).unwrap_err());
    assert!(msg.contains("DSA"), "{msg}");
}

#[test]
fn garbage_keys_are_malformed_not_panics() {
    for input in [&b""[..], b"junk", &[0x30, 0x03, 0x02, 0x01], &[0x30; 100]] {
        assert!(
            matches!(
                SubjectKey::parse(input),
                Err(PopError::MalformedKey(_) | PopError::Pem(_))
            ),
            "{input:?}"
        );
    }
    // A P-256 SPKI whose point is not on the curve.
    let (_, key) = ec_key(&ECDSA_P256_SHA256_ASN1_SIGNING);
    let mut bad = key.spki_der().to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    assert!(matches!(
        SubjectKey::from_spki_der(&bad),
        Err(PopError::MalformedKey(_))
    ));
    assert!(matches!(
        SubjectKey::parse(&vec![0u8; 100_000]),
        Err(PopError::TooLarge { .. })
    ));
}

/// Generates a key with `genpkey_args`, a CSR for it with `openssl req`, and returns
/// (CSR PEM, the key's SPKI DER as openssl writes it).
fn openssl_csr(d: &Path, name: &str, genpkey_args: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let key = format!("{name}.key");
    let mut args = vec!["genpkey"];
    args.extend_from_slice(genpkey_args);
    args.extend_from_slice(&["-out", &key]);
    openssl(d, &args);
    let csr = openssl(d, &["req", "-new", "-key", &key, "-subj", "/CN=pop test"]);
    let spki = openssl(d, &["pkey", "-in", &key, "-pubout", "-outform", "DER"]);
    (csr, spki)
}

#[test]
fn openssl_csrs_verify_for_every_accepted_key_type() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: [(&str, &[&str], KeyKind); 4] = [
        (
            "p256",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            KeyKind::EcdsaP256,
        ),
        (
            "p384",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            KeyKind::EcdsaP384,
        ),
        (
            "rsa",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            KeyKind::Rsa(2048),
        ),
        ("ed25519", &["-algorithm", "ED25519"], KeyKind::Ed25519),
    ];
    for (name, args, kind) in cases {
        let (csr_pem, spki) = openssl_csr(d, name, args);
        let csr = parse_csr(&csr_pem).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(csr.public_key.kind(), kind, "{name}");
        assert_eq!(csr.public_key.spki_der(), &spki[..], "{name}");
        assert_eq!(csr.subject.to_string(), "CN=pop test");

        // DER works too.
        let (_, der) = der::pem::decode_vec(&csr_pem).unwrap();
        assert_eq!(parse_csr(&der).unwrap(), csr);
    }
}

#[test]
fn csr_with_broken_self_signature_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, args) in [
        (
            "p256",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
        ),
        (
            "rsa",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"][..],
        ),
        ("ed25519", &["-algorithm", "ED25519"][..]),
    ] {
        let (csr_pem, _) = openssl_csr(d, name, args);
        let (_, mut der) = der::pem::decode_vec(&csr_pem).unwrap();
        // The signature BIT STRING ends the request; flip its last byte.
        let last = der.len() - 1;
        der[last] ^= 0x01;
        let err = parse_csr(&der).unwrap_err();
        assert!(
            matches!(err, PopError::BadCsrSignature(_)),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn csr_with_a_signed_but_altered_subject_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (csr_pem, _) = openssl_csr(
        dir.path(),
        "p256",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let (_, mut der) = der::pem::decode_vec(&csr_pem).unwrap();
    // Change one letter of "pop test" inside the signed CertificationRequestInfo.
    let pos = der.windows(8).position(|w| w == b"pop test").unwrap();
    der[pos] = b'P';
    assert!(matches!(parse_csr(&der), Err(PopError::BadCsrSignature(_))));
}

#[test]
fn csr_with_rsa_1024_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (csr_pem, _) = openssl_csr(
        dir.path(),
        "rsa1024",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
    );
    unsupported(parse_csr(&csr_pem).unwrap_err());
}

#[test]
fn malformed_and_oversized_csrs_are_rejected() {
    assert!(matches!(parse_csr(b"junk"), Err(PopError::MalformedCsr(_))));
    assert!(matches!(
        parse_csr(b"-----BEGIN CERTIFICATE REQUEST-----\n!!!\n-----END CERTIFICATE REQUEST-----\n"),
        Err(PopError::Pem(_))
    ));
    assert!(matches!(
        parse_csr(&vec![0x30; MAX_CSR_LEN + 1]),
        Err(PopError::TooLarge { .. })
    ));
    let (_, key) = ec_key(&ECDSA_P256_SHA256_ASN1_SIGNING);
    let pem =
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, key.spki_der()).unwrap();
    assert!(matches!(parse_csr(pem.as_bytes()), Err(PopError::Pem(_))));
}
