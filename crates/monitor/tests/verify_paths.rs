//! Offline verification against rcgen-built chains: an SCT made by a test log over
//! the precertificate entry RFC 6962 §3.2 describes, and each RFC 5280 check failing
//! with its own reason.

use der::{Decode, Encode};
use monitor::loglist::{LogKey, LogKeys};
use monitor::verify::{Report, VerifyOptions, verify_certificate};
use pki::ct::{SignedCertificateTimestampList, sct_signed_data};
use pki::{EcdsaP256Signer, SignedCertificateTimestamp, SignedEntry, TimestampedEntry};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    SanType, SerialNumber, date_time_ymd,
};
use sha2::{Digest, Sha256};
use testkit::Ca;

const JAN_2030_MS: u64 = 1_893_456_000_000;

fn spki_of(der: &[u8]) -> Vec<u8> {
    x509_cert::Certificate::from_der(der)
        .unwrap()
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap()
}

fn leaf_params() -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.subject_alt_names = vec![SanType::Rfc822Name("dev@example.com".try_into().unwrap())];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    p.serial_number = Some(SerialNumber::from(vec![1, 2, 3]));
    p.not_before = date_time_ymd(2025, 1, 1);
    p.not_after = date_time_ymd(2035, 1, 1);
    p
}

/// A leaf issued by `issuer` carrying one SCT by `log` over its precertificate entry.
fn leaf_with_sct(params: CertificateParams, issuer: &Ca, log: &EcdsaP256Signer) -> Vec<u8> {
    let key = KeyPair::generate().unwrap();
    let plain = params.clone().signed_by(&key, issuer).unwrap();
    let entry = TimestampedEntry {
        timestamp: 1_800_000_000_000,
        entry: SignedEntry::Precert {
            issuer_key_hash: Sha256::digest(spki_of(issuer.der())).into(),
            tbs_certificate: pki::precert_tbs_from_certificate(plain.der()).unwrap(),
        },
        extensions: Vec::new(),
    };
    let sct = SignedCertificateTimestamp {
        log_id: log.log_id(),
        timestamp: entry.timestamp,
        extensions: Vec::new(),
        signature: log.sign_digitally_signed(&sct_signed_data(&entry)).unwrap(),
    };
    let mut params = params;
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            testkit::SCT_LIST_OID,
            SignedCertificateTimestampList {
                sct_list: vec![sct],
            }
            .to_extension_value()
            .unwrap(),
        ));
    params.signed_by(&key, issuer).unwrap().der().to_vec()
}

fn keys(log: &EcdsaP256Signer) -> LogKeys {
    let mut keys = LogKeys::default();
    keys.insert(LogKey {
        description: "test log".into(),
        spki_der: log.spki_der(),
        log_id: log.log_id(),
        url: String::new(),
    });
    keys
}

fn opts() -> VerifyOptions {
    VerifyOptions {
        at_ms: JAN_2030_MS,
        min_scts: 1,
        require_code_signing: true,
    }
}

struct World {
    root: Ca,
    inter: Ca,
    log: EcdsaP256Signer,
}

impl World {
    fn new() -> Self {
        let root = testkit::root("Test Root", 2020, 2040);
        let inter = testkit::intermediate("Test Intermediate", &root);
        Self {
            root,
            inter,
            log: EcdsaP256Signer::generate().unwrap(),
        }
    }

    fn verify(&self, leaf: &[u8], opts: &VerifyOptions) -> Report {
        verify_certificate(
            leaf,
            &[self.inter.der().to_vec()],
            &[self.root.der().to_vec()],
            &keys(&self.log),
            opts,
        )
    }
}

fn assert_fails(report: &Report, reason: &str) {
    assert!(!report.ok);
    assert!(
        report.failures.iter().any(|f| f.contains(reason)),
        "expected {reason:?} in {:?}",
        report.failures
    );
}

#[test]
fn a_valid_path_with_a_valid_sct_passes() {
    let w = World::new();
    let leaf = leaf_with_sct(leaf_params(), &w.inter, &w.log);
    let r = w.verify(&leaf, &opts());
    assert!(r.ok, "{:?}", r.failures);
    assert_eq!(r.path.len(), 3);
    assert_eq!(r.distinct_valid_scts, 1);
    assert_eq!(r.identity.emails, vec!["dev@example.com".to_owned()]);
}

#[test]
fn an_sct_from_a_log_not_in_the_list_is_unknown() {
    let w = World::new();
    let leaf = leaf_with_sct(
        leaf_params(),
        &w.inter,
        &EcdsaP256Signer::generate().unwrap(),
    );
    assert_fails(&w.verify(&leaf, &opts()), "unknown log");
}

#[test]
fn the_sct_policy_counts_distinct_logs() {
    let w = World::new();
    let leaf = leaf_with_sct(leaf_params(), &w.inter, &w.log);
    let o = VerifyOptions {
        min_scts: 2,
        ..opts()
    };
    assert_fails(
        &w.verify(&leaf, &o),
        "1 valid SCT from distinct logs, 2 required",
    );
}

#[test]
fn validity_is_checked_at_the_given_time() {
    let w = World::new();
    let leaf = leaf_with_sct(leaf_params(), &w.inter, &w.log);
    let before = VerifyOptions {
        at_ms: 1_700_000_000_000,
        ..opts()
    };
    assert_fails(&w.verify(&leaf, &before), "certificate is not valid yet");
    let after = VerifyOptions {
        at_ms: 2_100_000_000_000,
        ..opts()
    };
    assert_fails(&w.verify(&leaf, &after), "certificate has expired");
}

#[test]
fn an_issuer_that_is_not_a_ca_is_refused() {
    let root = testkit::root("Test Root", 2020, 2040);
    let mut p = testkit::ca_params("Not A CA", 2020, 2040);
    p.is_ca = IsCa::ExplicitNoCa;
    let not_ca: Ca =
        rcgen::CertifiedIssuer::signed_by(p, KeyPair::generate().unwrap(), &root).unwrap();
    let log = EcdsaP256Signer::generate().unwrap();
    let leaf = leaf_with_sct(leaf_params(), &not_ca, &log);
    let r = verify_certificate(
        &leaf,
        &[not_ca.der().to_vec()],
        &[root.der().to_vec()],
        &keys(&log),
        &opts(),
    );
    assert_fails(&r, "issues certificates but is not a CA");
}

#[test]
fn path_length_constraints_are_enforced() {
    let mut p = testkit::ca_params("Root pathlen 0", 2020, 2040);
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let root: Ca = rcgen::CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap();
    let inter = testkit::intermediate("Test Intermediate", &root);
    let log = EcdsaP256Signer::generate().unwrap();
    let leaf = leaf_with_sct(leaf_params(), &inter, &log);
    let r = verify_certificate(
        &leaf,
        &[inter.der().to_vec()],
        &[root.der().to_vec()],
        &keys(&log),
        &opts(),
    );
    assert_fails(&r, "pathLenConstraint 0 exceeded");
}

#[test]
fn code_signing_is_required_only_when_asked() {
    let w = World::new();
    let mut p = leaf_params();
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_with_sct(p, &w.inter, &w.log);
    assert_fails(
        &w.verify(&leaf, &opts()),
        "no codeSigning extended key usage",
    );
    let o = VerifyOptions {
        require_code_signing: false,
        ..opts()
    };
    assert!(w.verify(&leaf, &o).ok);
}

#[test]
fn an_unknown_critical_extension_fails_the_path() {
    let w = World::new();
    let mut p = leaf_params();
    let mut ext =
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
    ext.set_criticality(true);
    p.custom_extensions.push(ext);
    let leaf = leaf_with_sct(p, &w.inter, &w.log);
    assert_fails(
        &w.verify(&leaf, &opts()),
        "unsupported critical extension 1.3.6.1.4.1.99999.1",
    );
}

#[test]
fn without_roots_or_with_a_stranger_root_there_is_no_path() {
    let w = World::new();
    let leaf = leaf_with_sct(leaf_params(), &w.inter, &w.log);
    let r = verify_certificate(
        &leaf,
        &[w.inter.der().to_vec()],
        &[],
        &keys(&w.log),
        &opts(),
    );
    assert_fails(&r, "no trust anchors");
    let stranger = testkit::root("Test Root", 2020, 2040);
    let r = verify_certificate(
        &leaf,
        &[w.inter.der().to_vec()],
        &[stranger.der().to_vec()],
        &keys(&w.log),
        &opts(),
    );
    assert_fails(&r, "broken chain: the signature on CN=Test Intermediate");
    // The SCT is still judged on its own.
    assert_eq!(r.distinct_valid_scts, 1);
}

proptest::proptest! {
    #[test]
    fn hostile_bytes_never_panic(leaf in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
                                 chain in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
        let one = std::slice::from_ref(&chain);
        let r = verify_certificate(&leaf, one, one, &LogKeys::default(), &opts());
        proptest::prop_assert!(!r.ok);
    }
}
