//! CMS proof-of-possession checks against messages made by the `openssl cms` CLI (an
//! independent implementation), for every accepted key type, and the refusals.

use std::path::Path;

use registry::cert::{CertError, check_code_signing};
use registry::cms::{CmsError, verify_signed_nonce};
use testkit::openssl::{SelfSigned, cms_sign, self_signed};

const NONCE: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

/// `testkit`'s OpenSSL self-signed certificate: subject `CN=<name>`, valid 2 days.
fn make_signer(dir: &Path, name: &str, key_args: &[&str], extra: &[&str]) -> SelfSigned {
    self_signed(dir, name, &format!("/CN={name}"), 2, key_args, extra)
}

/// The codeSigning EKU on an end entity (`req -x509` otherwise writes CA:TRUE).
const EKU: &[&str] = &[
    "-addext",
    "extendedKeyUsage=codeSigning",
    "-addext",
    "basicConstraints=CA:FALSE",
];

/// RSA PKCS#1 v1.5 and PSS, ECDSA P-256 and P-384. (OpenSSL 3.0, the version on
/// the CI machines, cannot make Ed25519 CMS signatures — "no default digest" — so the
/// Ed25519 path is exercised by `ed25519_signed_data_verifies` below.)
#[test]
fn every_accepted_key_type_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("rsa-pkcs1", &["-newkey", "rsa:2048"], &[]),
        (
            "rsa-pss",
            &["-newkey", "rsa:3072"],
            // Salt length = hash length: the profile pki (aws-lc) verifies, and what
            // RFC 8017 recommends; OpenSSL's default ("max") is refused with a clear
            // message.
            &[
                "-keyopt",
                "rsa_padding_mode:pss",
                "-keyopt",
                "rsa_pss_saltlen:digest",
                "-md",
                "sha384",
            ],
        ),
        (
            "p256",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            &[],
        ),
        (
            "p384",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            &["-md", "sha384"],
        ),
    ];
    for (name, key_args, sign_args) in cases {
        let signer = make_signer(dir.path(), name, key_args, EKU);
        let mut args = vec!["-nodetach"];
        args.extend_from_slice(sign_args);
        let cms = cms_sign(dir.path(), NONCE, &signer, &args);
        let verified = verify_signed_nonce(&cms, NONCE).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.certificate_der, signer.der, "{name}");
        let facts = check_code_signing(&verified.certificate_der, now_ms()).unwrap();
        assert_eq!(facts.subject, format!("CN={name}"));
        assert_eq!(facts.thumbprint.len(), 40);
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn refusals_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let signer = make_signer(
        dir.path(),
        "p256",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        EKU,
    );
    let other_nonce = [0u8; 32];
    let cms = cms_sign(dir.path(), NONCE, &signer, &["-nodetach"]);
    assert_eq!(
        verify_signed_nonce(&cms, &other_nonce),
        Err(CmsError::WrongContent)
    );
    let detached = cms_sign(dir.path(), NONCE, &signer, &[]);
    assert_eq!(
        verify_signed_nonce(&detached, NONCE),
        Err(CmsError::NoContent)
    );
    let no_attrs = cms_sign(dir.path(), NONCE, &signer, &["-nodetach", "-noattr"]);
    assert_eq!(
        verify_signed_nonce(&no_attrs, NONCE),
        Err(CmsError::NoSignedAttributes)
    );
    let no_certs = cms_sign(dir.path(), NONCE, &signer, &["-nodetach", "-nocerts"]);
    assert_eq!(
        verify_signed_nonce(&no_certs, NONCE),
        Err(CmsError::NoCertificate)
    );
    // The signature is the last field: flipping its final byte breaks it.
    let mut tampered = cms.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    assert!(matches!(
        verify_signed_nonce(&tampered, NONCE),
        Err(CmsError::BadSignature(_) | CmsError::Malformed(_))
    ));
    assert!(matches!(
        verify_signed_nonce(b"\x30\x80garbage", NONCE),
        Err(CmsError::Malformed(_))
    ));
    assert!(matches!(
        verify_signed_nonce(&vec![0x30; 300 * 1024], NONCE),
        Err(CmsError::TooLarge(_))
    ));

    let plain = make_signer(
        dir.path(),
        "plain",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        &[],
    );
    assert_eq!(
        check_code_signing(&plain.der, now_ms()),
        Err(CertError::NotCodeSigning)
    );
    let key_agreement = make_signer(
        dir.path(),
        "ka",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        &[
            "-addext",
            "extendedKeyUsage=codeSigning",
            "-addext",
            "keyUsage=keyAgreement",
            "-addext",
            "basicConstraints=CA:FALSE",
        ],
    );
    assert_eq!(
        check_code_signing(&key_agreement.der, now_ms()),
        Err(CertError::KeyUsageForbidsSigning)
    );
    let far_future = now_ms() + 10 * 24 * 3600 * 1000;
    assert!(check_code_signing(&signer.der, now_ms()).is_ok());
    assert!(matches!(
        check_code_signing(&signer.der, far_future),
        Err(CertError::Expired(_))
    ));
    assert!(matches!(
        check_code_signing(&signer.der, 0),
        Err(CertError::NotYetValid(_))
    ));
}

/// A CA certificate is never published, whatever EKUs it carries: trusted as an
/// anchor, a `CA:TRUE` certificate allowing codeSigning *and* serverAuth would make
/// every TLS certificate its key signs valid for any host. `openssl req -x509`
/// writes `CA:TRUE` by default, so this is the certificate a developer gets without
/// asking for it.
#[test]
fn ca_certificates_are_refused_whatever_their_eku() {
    let dir = tempfile::tempdir().unwrap();
    let p256 = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let cases: &[(&str, &[&str], CertError)] = &[
        (
            "tls-ca",
            &[
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "extendedKeyUsage=codeSigning,serverAuth",
            ],
            CertError::CaCertificate,
        ),
        (
            "req-default",
            &["-addext", "extendedKeyUsage=codeSigning"],
            CertError::CaCertificate,
        ),
        (
            "cert-signer",
            &[
                "-addext",
                "basicConstraints=CA:FALSE",
                "-addext",
                "keyUsage=digitalSignature,keyCertSign",
                "-addext",
                "extendedKeyUsage=codeSigning",
            ],
            CertError::CertificateSigner,
        ),
    ];
    for (name, extra, want) in cases {
        let ca = make_signer(dir.path(), name, p256, extra);
        assert_eq!(
            check_code_signing(&ca.der, now_ms()).as_ref().err(),
            Some(want),
            "{name}"
        );
    }
    let end_entity = make_signer(
        dir.path(),
        "end-entity",
        p256,
        &[
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature",
            "-addext",
            "extendedKeyUsage=codeSigning",
        ],
    );
    check_code_signing(&end_entity.der, now_ms()).unwrap();
}

/// Hostile input never panics: every truncation and every single-byte corruption of
/// a valid message is refused (or, for bytes the signature does not cover, accepted)
/// without a panic.
#[test]
fn truncated_and_corrupted_messages_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let signer = make_signer(dir.path(), "rsa", &["-newkey", "rsa:2048"], EKU);
    let cms = cms_sign(dir.path(), NONCE, &signer, &["-nodetach"]);
    for cut in 0..cms.len() {
        assert!(
            verify_signed_nonce(&cms[..cut], NONCE).is_err(),
            "cut {cut}"
        );
    }
    for i in 0..cms.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = cms.clone();
            bad[i] ^= flip;
            let _ = verify_signed_nonce(&bad, NONCE);
        }
    }
}

fn pem_body(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// Ed25519 (RFC 8419): an OpenSSL-made SignedData re-signed in Rust with an Ed25519
/// key and certificate made by `openssl req`, SHA-512 messageDigest, the signature
/// over the DER SET OF signed attributes.
#[test]
fn ed25519_signed_data_verifies() {
    use aws_lc_rs::signature::Ed25519KeyPair;
    use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
    use cms::content_info::ContentInfo;
    use cms::signed_data::{CertificateSet, SignedData, SignerIdentifier, SignerInfos};
    use der::asn1::{OctetString, SetOfVec};
    use der::{Any, Decode, Encode};
    use spki::AlgorithmIdentifierOwned;
    use x509_cert::Certificate;
    use x509_cert::attr::Attribute;

    use const_oid::db::rfc5912::ID_SHA_512 as SHA512;
    use const_oid::db::rfc6268::ID_MESSAGE_DIGEST as MESSAGE_DIGEST;
    use const_oid::db::rfc8410::ID_ED_25519 as ED25519;

    let dir = tempfile::tempdir().unwrap();
    let p256 = make_signer(
        dir.path(),
        "template",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        EKU,
    );
    let template = cms_sign(dir.path(), NONCE, &p256, &["-nodetach"]);
    let ed = make_signer(dir.path(), "ed", &["-newkey", "ed25519"], EKU);
    let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pem_body(
        &std::fs::read_to_string(&ed.key).unwrap(),
    ))
    .unwrap();
    let cert = Certificate::from_der(&ed.der).unwrap();

    let info = ContentInfo::from_der(&template).unwrap();
    let mut signed: SignedData = info.content.decode_as().unwrap();
    let sha512 = AlgorithmIdentifierOwned {
        oid: SHA512,
        parameters: None,
    };
    signed.digest_algorithms = SetOfVec::try_from(vec![sha512.clone()]).unwrap();
    signed.certificates = Some(CertificateSet(
        SetOfVec::try_from(vec![CertificateChoices::Certificate(cert.clone())]).unwrap(),
    ));
    let mut signer = signed.signer_infos.0.iter().next().unwrap().clone();
    signer.sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: cert.tbs_certificate().issuer().clone(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    });
    signer.digest_alg = sha512;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, NONCE);
    let attrs: Vec<Attribute> = signer
        .signed_attrs
        .take()
        .unwrap()
        .iter()
        .map(|attr| {
            if attr.oid == MESSAGE_DIGEST {
                let value = Any::encode_from(&OctetString::new(digest.as_ref()).unwrap()).unwrap();
                Attribute {
                    oid: attr.oid,
                    values: SetOfVec::try_from(vec![value]).unwrap(),
                }
            } else {
                attr.clone()
            }
        })
        .collect();
    let attrs = SetOfVec::try_from(attrs).unwrap();
    signer.signature_algorithm = AlgorithmIdentifierOwned {
        oid: ED25519,
        parameters: None,
    };
    signer.signature = OctetString::new(key.sign(&attrs.to_der().unwrap()).as_ref()).unwrap();
    signer.signed_attrs = Some(attrs);
    signed.signer_infos = SignerInfos(SetOfVec::try_from(vec![signer]).unwrap());
    let message = ContentInfo {
        content_type: info.content_type,
        content: Any::encode_from(&signed).unwrap(),
    }
    .to_der()
    .unwrap();

    let verified = verify_signed_nonce(&message, NONCE).unwrap();
    assert_eq!(verified.certificate_der, ed.der);
    assert_eq!(
        verify_signed_nonce(&message, &[1u8; 32]),
        Err(CmsError::WrongContent)
    );
}
