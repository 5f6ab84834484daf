//! Precertificates and final certificates, checked against OpenSSL, Python
//! `cryptography` and certcentral's own CT code (the SCT verification path clients use).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use ca::cert::{
    CaSigner, CertError, CertificateTemplate, EcdsaP256CaSigner, San, build_final_certificate,
    build_precertificate, issuer_key_hash, precert_tbs, self_signed_ca, serial_from_random,
};
use ca::pop::SubjectKey;
use der::{Decode, Encode};
use pki::ct::{SignedEntry, TimestampedEntry, sct_signed_data};
use pki::oids::{FULCIO_ISSUER_V1, FULCIO_ISSUER_V2};
use pki::{
    EcdsaP256Signer, FulcioExtensions, RootStore, SignedCertificateTimestamp, SubmissionKind,
    embedded_scts, precert_tbs_from_certificate, validate_chain, verify_digitally_signed,
    verify_signature,
};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};

const ISSUER_URL: &str = "https://accounts.example.com";
const EMAIL: &str = "alice@example.com";

/// 2026-01-01T00:00:00Z.
fn jan_2026() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

fn years(n: u64) -> Duration {
    Duration::from_secs(n * 365 * 86_400)
}

/// Runs `openssl` in `dir`; panics clearly if it is missing. Returns (success, stdout+stderr).
fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("the openssl CLI is required for this test: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `openssl verify -purpose any` of `cert` against `root.pem` in `dir`, at `attime`
/// (Unix seconds) when given, with `-x509_strict` when `strict`.
fn openssl_verify(dir: &Path, cert: &str, attime: Option<&str>, strict: bool) -> (bool, String) {
    let mut args = vec!["verify"];
    if strict {
        args.push("-x509_strict");
    }
    args.extend(["-purpose", "any"]);
    if let Some(t) = attime {
        args.extend(["-attime", t]);
    }
    args.extend(["-CAfile", "root.pem", cert]);
    openssl(dir, &args)
}

fn pem(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap()
}

struct Ca {
    signer: EcdsaP256CaSigner,
    cert: Vec<u8>,
}

fn ca() -> Ca {
    let signer = EcdsaP256CaSigner::new(EcdsaP256Signer::generate().unwrap());
    let cert = self_signed_ca(
        "certcentral test CA",
        serial_from_random([0x42; 20]),
        jan_2026() - years(1),
        jan_2026() + years(10),
        &signer,
    )
    .unwrap();
    Ca { signer, cert }
}

fn p256_subject() -> SubjectKey {
    let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let der: PublicKeyX509Der<'static> = kp.public_key().as_der().unwrap();
    SubjectKey::from_spki_der(der.as_ref()).unwrap()
}

fn template(subject_key: SubjectKey, san: San) -> CertificateTemplate {
    CertificateTemplate {
        serial: serial_from_random([0xa5; 20]),
        not_before: jan_2026(),
        not_after: jan_2026() + Duration::from_secs(600),
        subject_key,
        san,
        fulcio: FulcioExtensions {
            issuer: Some(ISSUER_URL.into()),
            ..FulcioExtensions::default()
        },
    }
}

/// An SCT from a test log over the precertificate entry, as RFC 6962 §3.2 defines it.
fn sct_for(log: &EcdsaP256Signer, tbs: &[u8], issuer_cert: &[u8]) -> SignedCertificateTimestamp {
    let entry = TimestampedEntry {
        timestamp: 1_767_225_601_000,
        entry: SignedEntry::Precert {
            issuer_key_hash: issuer_key_hash(issuer_cert).unwrap(),
            tbs_certificate: tbs.to_vec(),
        },
        extensions: vec![],
    };
    SignedCertificateTimestamp {
        log_id: log.log_id(),
        timestamp: entry.timestamp,
        extensions: vec![],
        signature: log.sign_digitally_signed(&sct_signed_data(&entry)).unwrap(),
    }
}

/// Issues precert + final certificate with one SCT; returns (precert, final, precert TBS).
fn issue(ca: &Ca, t: &CertificateTemplate, log: &EcdsaP256Signer) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let precert = build_precertificate(t, &ca.cert, &ca.signer).unwrap();
    let tbs = precert_tbs_from_certificate(&precert).unwrap();
    let sct = sct_for(log, &tbs, &ca.cert);
    let cert = build_final_certificate(t, &ca.cert, &ca.signer, &[sct]).unwrap();
    (precert, cert, tbs)
}

fn ext_ids(cert_der: &[u8]) -> Vec<(String, bool)> {
    let cert = Certificate::from_der(cert_der).unwrap();
    cert.tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .map(|e| (e.extn_id.to_string(), e.critical))
        .collect()
}

#[test]
fn final_certificate_tbs_without_scts_equals_precertificate_tbs_without_poison() {
    let ca = ca();
    let log = EcdsaP256Signer::generate().unwrap();
    let t = template(p256_subject(), San::Email(EMAIL.into()));
    let (precert, cert, tbs) = issue(&ca, &t, &log);
    assert_eq!(precert_tbs_from_certificate(&cert).unwrap(), tbs);
    assert_eq!(precert_tbs(&t, &ca.cert, &ca.signer).unwrap(), tbs);
    assert_ne!(precert, cert);

    // Same extensions at the same positions; only the last differs.
    let (p, f) = (ext_ids(&precert), ext_ids(&cert));
    assert_eq!(p.len(), f.len());
    assert_eq!(p[..p.len() - 1], f[..f.len() - 1]);
    assert_eq!(p.last().unwrap(), &("1.3.6.1.4.1.11129.2.4.3".into(), true));
    assert_eq!(
        f.last().unwrap(),
        &("1.3.6.1.4.1.11129.2.4.2".into(), false)
    );
}

#[test]
fn certificates_carry_the_fulcio_profile() {
    let ca = ca();
    let log = EcdsaP256Signer::generate().unwrap();
    let t = template(p256_subject(), San::Email(EMAIL.into()));
    let (precert, cert, _) = issue(&ca, &t, &log);
    for der in [&precert, &cert] {
        let c = Certificate::from_der(der).unwrap();
        let tbs = c.tbs_certificate();
        assert_eq!(tbs.version(), x509_cert::certificate::Version::V3);
        assert!(tbs.subject().is_empty());
        assert_eq!(tbs.serial_number().as_bytes().len(), 20);
        assert_eq!(tbs.serial_number().as_bytes()[0], 0x25);
        assert_eq!(
            tbs.subject_public_key_info().to_der().unwrap(),
            t.subject_key.spki_der()
        );
        let ids = ext_ids(der);
        let critical = |oid: &str| ids.iter().find(|(o, _)| o == oid).map(|(_, c)| *c);
        assert_eq!(critical("2.5.29.15"), Some(true), "keyUsage");
        assert_eq!(critical("2.5.29.37"), Some(false), "extKeyUsage");
        assert_eq!(critical("2.5.29.14"), Some(false), "SKI");
        assert_eq!(critical("2.5.29.35"), Some(false), "AKI");
        assert_eq!(critical("2.5.29.17"), Some(true), "SAN with empty subject");
        let exts = tbs.extensions().unwrap();
        let value = |oid| {
            exts.iter()
                .find(|e| e.extn_id == oid)
                .unwrap()
                .extn_value
                .as_bytes()
        };
        assert_eq!(value(FULCIO_ISSUER_V1), ISSUER_URL.as_bytes());
        let v2 = value(FULCIO_ISSUER_V2);
        assert_eq!(v2[0], 0x0c, "UTF8String");
        assert_eq!(&v2[2..], ISSUER_URL.as_bytes());

        // SKI: SHA-1 of the subject key bits (RFC 5280 §4.2.1.2 method 1).
        let (_, ski) = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .unwrap()
            .unwrap();
        let expected = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            t.subject_key.public_key_bits(),
        );
        assert_eq!(ski.0.as_bytes(), expected.as_ref());
        // AKI: the issuer's SKI.
        let root = Certificate::from_der(&ca.cert).unwrap();
        let (_, root_ski) = root
            .tbs_certificate()
            .get_extension::<SubjectKeyIdentifier>()
            .unwrap()
            .unwrap();
        let (_, aki) = tbs
            .get_extension::<AuthorityKeyIdentifier>()
            .unwrap()
            .unwrap();
        assert_eq!(
            aki.key_identifier.unwrap().as_bytes(),
            root_ski.0.as_bytes()
        );

        // Signed by the CA.
        assert_eq!(tbs.issuer(), root.tbs_certificate().subject());
        verify_signature(
            &ca.signer.spki_der(),
            c.signature_algorithm(),
            &tbs.to_der().unwrap(),
            c.signature().as_bytes().unwrap(),
        )
        .unwrap();
    }
}

#[test]
fn embedded_sct_verifies_against_tbs_reconstructed_from_final_certificate() {
    let ca = ca();
    let log = EcdsaP256Signer::generate().unwrap();
    let t = template(p256_subject(), San::Email(EMAIL.into()));
    let (_, cert, _) = issue(&ca, &t, &log);

    // What a client does: read the SCTs, rebuild the PreCert entry from the certificate
    // and the issuer's key, check the log signature.
    let scts = embedded_scts(&cert).unwrap();
    assert_eq!(scts.len(), 1);
    let root = Certificate::from_der(&ca.cert).unwrap();
    let issuer_spki = root
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    let entry = TimestampedEntry {
        timestamp: scts[0].timestamp,
        entry: SignedEntry::Precert {
            issuer_key_hash: Sha256::digest(&issuer_spki).into(),
            tbs_certificate: precert_tbs_from_certificate(&cert).unwrap(),
        },
        extensions: scts[0].extensions.clone(),
    };
    verify_digitally_signed(
        &log.spki_der(),
        &sct_signed_data(&entry),
        &scts[0].signature,
    )
    .unwrap();

    // A different certificate for the same template must not verify with this SCT.
    let mut other = t.clone();
    other.san = San::Email("mallory@example.com".into());
    let forged = build_final_certificate(&other, &ca.cert, &ca.signer, &scts).unwrap();
    let entry = TimestampedEntry {
        entry: SignedEntry::Precert {
            issuer_key_hash: Sha256::digest(&issuer_spki).into(),
            tbs_certificate: precert_tbs_from_certificate(&forged).unwrap(),
        },
        ..entry
    };
    assert!(
        verify_digitally_signed(
            &log.spki_der(),
            &sct_signed_data(&entry),
            &scts[0].signature
        )
        .is_err()
    );
}

#[test]
fn ct_log_chain_validation_accepts_precertificate_and_final_certificate() {
    let ca = ca();
    let log = EcdsaP256Signer::generate().unwrap();
    let t = template(
        p256_subject(),
        San::Uri("spiffe://example.org/ns/ci".into()),
    );
    let (precert, cert, tbs) = issue(&ca, &t, &log);
    let mut roots = RootStore::new();
    roots.add_der(&ca.cert).unwrap();
    let now_ms = 1_767_225_600_000 + 1_000;
    let pre = validate_chain(
        &[precert, ca.cert.clone()],
        &roots,
        now_ms,
        SubmissionKind::Precertificate,
    )
    .unwrap();
    assert_eq!(
        pre.entry,
        SignedEntry::Precert {
            issuer_key_hash: issuer_key_hash(&ca.cert).unwrap(),
            tbs_certificate: tbs,
        }
    );
    validate_chain(&[cert], &roots, now_ms, SubmissionKind::Certificate).unwrap();
}

fn write_files(dir: &Path, ca: &Ca, cert: &[u8]) -> (PathBuf, PathBuf) {
    let root = dir.join("root.pem");
    let leaf = dir.join("cert.pem");
    std::fs::write(&root, pem(&ca.cert)).unwrap();
    std::fs::write(&leaf, pem(cert)).unwrap();
    (root, leaf)
}

#[test]
fn openssl_verifies_final_certificate_and_shows_its_extensions() {
    let ca = ca();
    let log = EcdsaP256Signer::generate().unwrap();
    let t = template(p256_subject(), San::Email(EMAIL.into()));
    let (precert, cert, _) = issue(&ca, &t, &log);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_files(d, &ca, &cert);
    // 2026-01-01T00:01:00Z, inside the 10-minute validity.
    let attime = "1767225660";
    let (ok, out) = openssl_verify(d, "cert.pem", Some(attime), true);
    assert!(ok && out.contains("cert.pem: OK"), "{out}");

    let (ok, text) = openssl(d, &["x509", "-in", "cert.pem", "-text", "-noout"]);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("email:{EMAIL}")), "{text}");
    assert!(text.contains("Code Signing"), "{text}");
    assert!(text.contains("CT Precertificate SCTs"), "{text}");
    assert!(text.contains("Digital Signature"), "{text}");
    assert!(text.contains("1.3.6.1.4.1.57264.1.8"), "{text}");
    assert!(
        text.contains(&hex::encode_upper(&log.log_id()[..4])[..2]),
        "{text}"
    );

    // The precertificate is refused: its poison is an unhandled critical extension.
    std::fs::write(d.join("pre.pem"), pem(&precert)).unwrap();
    let (ok, out) = openssl_verify(d, "pre.pem", Some(attime), false);
    assert!(!ok, "precertificate must not verify: {out}");
    assert!(out.contains("unhandled critical extension"), "{out}");

    // Outside the validity window it is refused too (the times we encoded are the ones
    // openssl reads).
    let (ok, out) = openssl_verify(d, "cert.pem", Some("1767226300"), false);
    assert!(!ok && out.contains("expired"), "{out}");
}

#[test]
fn openssl_verifies_certificates_for_ed25519_and_uri_identities() {
    let ca = ca();
    let log = EcdsaP256Signer::generate().unwrap();
    let kp = Ed25519KeyPair::generate().unwrap();
    let der: PublicKeyX509Der<'static> = kp.public_key().as_der().unwrap();
    let key = SubjectKey::from_spki_der(der.as_ref()).unwrap();
    let uri = "https://github.com/example/project/.github/workflows/release.yml@refs/heads/main";
    let (_, cert, _) = issue(&ca, &template(key, San::Uri(uri.into())), &log);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_files(d, &ca, &cert);
    let (ok, out) = openssl_verify(d, "cert.pem", Some("1767225660"), true);
    assert!(ok, "{out}");
    let (_, text) = openssl(d, &["x509", "-in", "cert.pem", "-text", "-noout"]);
    assert!(text.contains(&format!("URI:{uri}")), "{text}");
    assert!(text.contains("ED25519"), "{text}");
}

#[test]
fn python_cryptography_reconstructs_the_same_precertificate_tbs() {
    let ca = ca();
    let log = EcdsaP256Signer::generate().unwrap();
    let t = template(p256_subject(), San::Email(EMAIL.into()));
    let (_, cert, tbs) = issue(&ca, &t, &log);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cert.der");
    std::fs::write(&path, &cert).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/cert_tbs_precertificate.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("python3 with `cryptography` is required: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .to_string()
    };
    assert_eq!(field("tbs_precertificate"), hex::encode(&tbs));
    assert_eq!(field("san_critical"), "True");
    assert_eq!(field("emails"), EMAIL);
    assert_eq!(field("code_signing"), "True");
    // The raw extnValue: a DER UTF8String (tag 0x0c, length 28).
    assert_eq!(
        field("fulcio_issuer_v2"),
        format!("0c1c{}", hex::encode(ISSUER_URL))
    );
    assert_eq!(field("sct_log_ids"), hex::encode(log.log_id()));
}

#[test]
fn aki_reads_the_issuer_ski_of_a_foreign_ca_certificate() {
    // An rcgen CA: its SKI is not our SHA-1 method, so the AKI must be copied from it.
    let key = testkit::new_key();
    let signer =
        EcdsaP256CaSigner::new(EcdsaP256Signer::from_pkcs8_der(&key.serialize_der()).unwrap());
    let root = testkit::Ca::self_signed(testkit::ca_params("rcgen root", 2025, 2035), key).unwrap();
    let root_der = root.der().to_vec();
    let ca = Ca {
        signer,
        cert: root_der.clone(),
    };
    let log = EcdsaP256Signer::generate().unwrap();
    let (precert, cert, _) = issue(
        &ca,
        &template(p256_subject(), San::Email(EMAIL.into())),
        &log,
    );
    let root_cert = Certificate::from_der(&root_der).unwrap();
    let (_, root_ski) = root_cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap();
    for der in [precert, cert.clone()] {
        let c = Certificate::from_der(&der).unwrap();
        let (_, aki) = c
            .tbs_certificate()
            .get_extension::<AuthorityKeyIdentifier>()
            .unwrap()
            .unwrap();
        assert_eq!(
            aki.key_identifier.unwrap().as_bytes(),
            root_ski.0.as_bytes()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &ca, &cert);
    // Not -x509_strict: rcgen's CA certificate has no keyUsage, which strict mode demands.
    let (ok, out) = openssl_verify(dir.path(), "cert.pem", Some("1767225660"), false);
    assert!(ok, "{out}");
}

#[test]
fn serial_is_positive_and_twenty_octets() {
    assert_eq!(serial_from_random([0xff; 20])[0], 0x7f);
    assert_eq!(serial_from_random([0x01; 20]), [0x01; 20]);
    let ca = ca();
    let mut t = template(p256_subject(), San::Email(EMAIL.into()));
    t.serial = [0xff; 20];
    let pre = build_precertificate(&t, &ca.cert, &ca.signer).unwrap();
    let c = Certificate::from_der(&pre).unwrap();
    assert_eq!(c.tbs_certificate().serial_number().as_bytes()[0], 0x7f);
    assert_eq!(c.tbs_certificate().serial_number().as_bytes().len(), 20);
    for zero in [[0; 20], {
        let mut s = [0; 20];
        s[0] = 0x80;
        s
    }] {
        t.serial = zero;
        assert!(matches!(
            build_precertificate(&t, &ca.cert, &ca.signer),
            Err(CertError::Template(_))
        ));
    }
}

#[test]
fn bad_templates_and_issuers_are_errors_not_panics() {
    let ca = ca();
    let t = template(p256_subject(), San::Email(EMAIL.into()));

    let mut bad = t.clone();
    bad.san = San::Email("ålice@example.com".into());
    assert!(matches!(
        build_precertificate(&bad, &ca.cert, &ca.signer),
        Err(CertError::Template(_))
    ));

    let mut bad = t.clone();
    bad.not_after = bad.not_before;
    assert!(matches!(
        build_precertificate(&bad, &ca.cert, &ca.signer),
        Err(CertError::Template(_))
    ));

    for issuer in [&b""[..], b"junk", &ca.cert[..ca.cert.len() - 1]] {
        assert!(matches!(
            build_precertificate(&t, issuer, &ca.signer),
            Err(CertError::Issuer(_))
        ));
    }
    assert!(matches!(
        build_precertificate(&t, &vec![0x30; 70_000], &ca.signer),
        Err(CertError::Issuer(_))
    ));
    assert!(matches!(
        build_final_certificate(&t, &ca.cert, &ca.signer, &[]),
        Err(CertError::Template(_))
    ));
}

#[test]
fn fulcio_claims_sit_before_the_ct_extension_in_both_certificates() {
    let ca = ca();
    let log = EcdsaP256Signer::generate().unwrap();
    let mut t = template(p256_subject(), San::Email(EMAIL.into()));
    // 1.3.6.1.4.1.57264.1.12 (source repository URI) as a DER UTF8String.
    t.fulcio.source_repository_uri = Some("https://github.com/example/project".into());
    let (precert, cert, tbs) = issue(&ca, &t, &log);
    assert_eq!(precert_tbs_from_certificate(&cert).unwrap(), tbs);
    for der in [precert, cert] {
        let ids = ext_ids(&der);
        assert_eq!(ids[ids.len() - 2].0, "1.3.6.1.4.1.57264.1.12");
        let value = der::asn1::Utf8StringRef::new("https://github.com/example/project")
            .unwrap()
            .to_der()
            .unwrap();
        let cert = Certificate::from_der(&der).unwrap();
        let exts = cert.tbs_certificate().extensions().unwrap();
        assert_eq!(exts[exts.len() - 2].extn_value.as_bytes(), value);
    }
}

#[test]
fn fulcio_extensions_parse_back_from_an_issued_certificate() {
    let ca = ca();
    let log = EcdsaP256Signer::generate().unwrap();
    let mut t = template(
        p256_subject(),
        San::Uri(
            "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main".into(),
        ),
    );
    let server = |path: &str| Some(format!("https://github.com/{path}"));
    t.fulcio = FulcioExtensions {
        issuer: Some("https://token.actions.githubusercontent.com".into()),
        github_workflow_trigger: Some("push".into()),
        github_workflow_sha: Some("abc".into()),
        github_workflow_name: Some("release".into()),
        github_workflow_repository: Some("octo/app".into()),
        github_workflow_ref: Some("refs/heads/main".into()),
        build_signer_uri: server("octo/app/.github/workflows/release.yml@refs/heads/main"),
        build_signer_digest: Some("abc".into()),
        runner_environment: Some("github-hosted".into()),
        source_repository_uri: server("octo/app"),
        source_repository_digest: Some("abc".into()),
        source_repository_ref: Some("refs/heads/main".into()),
        source_repository_identifier: Some("42".into()),
        source_repository_owner_uri: server("octo"),
        source_repository_owner_identifier: Some("7".into()),
        build_config_uri: server("octo/app/.github/workflows/release.yml@refs/heads/main"),
        build_config_digest: Some("abc".into()),
        build_trigger: Some("push".into()),
        run_invocation_uri: server("octo/app/actions/runs/1/attempts/1"),
        source_repository_visibility_at_signing: Some("public".into()),
    };
    let (precert, cert, _) = issue(&ca, &t, &log);
    for der in [precert, cert] {
        let cert = Certificate::from_der(&der).unwrap();
        let exts = cert.tbs_certificate().extensions().unwrap();
        assert_eq!(FulcioExtensions::parse(exts).unwrap(), t.fulcio);
    }
}

#[test]
fn aki_falls_back_to_sha1_of_issuer_key_when_issuer_has_no_ski() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = EcdsaP256Signer::generate().unwrap();
    std::fs::write(d.join("ca.key"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    std::fs::write(
        d.join("ca.cnf"),
        "[req]\ndistinguished_name = dn\nx509_extensions = v3\n[dn]\n\
         [v3]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign\n\
         subjectKeyIdentifier = none\nauthorityKeyIdentifier = none\n",
    )
    .unwrap();
    let (ok, out) = openssl(
        d,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=No SKI CA",
            "-config",
            "ca.cnf",
            "-days",
            "36500",
            "-outform",
            "DER",
            "-out",
            "ca.der",
        ],
    );
    assert!(ok, "{out}");
    let ca_der = std::fs::read(d.join("ca.der")).unwrap();
    let ca_cert = Certificate::from_der(&ca_der).unwrap();
    assert!(
        ca_cert
            .tbs_certificate()
            .get_extension::<SubjectKeyIdentifier>()
            .unwrap()
            .is_none(),
        "fixture must lack an SKI"
    );
    let ca = Ca {
        signer: EcdsaP256CaSigner::new(key),
        cert: ca_der,
    };
    let mut t = template(p256_subject(), San::Email(EMAIL.into()));
    t.not_before = SystemTime::now() - Duration::from_secs(60);
    t.not_after = SystemTime::now() + Duration::from_secs(600);
    let log = EcdsaP256Signer::generate().unwrap();
    let (_, cert, _) = issue(&ca, &t, &log);
    let c = Certificate::from_der(&cert).unwrap();
    let (_, aki) = c
        .tbs_certificate()
        .get_extension::<AuthorityKeyIdentifier>()
        .unwrap()
        .unwrap();
    let bits = ca_cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .as_bytes()
        .unwrap();
    let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bits);
    assert_eq!(aki.key_identifier.unwrap().as_bytes(), expected.as_ref());
    write_files(d, &ca, &cert);
    let (ok, out) = openssl_verify(d, "cert.pem", None, false);
    assert!(ok, "{out}");
}
