//! sigstore trust documents against the outside world: sigstore's own published
//! documents, and sigstore-python's own code (in the virtualenv `.ci/run` installs,
//! named by `CERTCENTRAL_SIGSTORE_PYTHON`).
//!
//! The fixtures in `tests/data/sigstore/` are the public-good and staging instances'
//! `trusted_root.json` and `signing_config.v0.2.json` as sigstore-python 4.5.1 ships
//! them (`sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/` and
//! `…sigstage.dev/` in its wheel): the TUF targets of sigstore/root-signing and
//! sigstore/root-signing-staging, unmodified.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pki::EcdsaP256Signer;
use pki::sigstore_trust::{
    CertificateAuthority, ClientTrustConfig, PublicKey, PublicKeyDetails, Service,
    ServiceConfiguration, ServiceSelector, SigningConfig, SigningConfigMediaType, TimeRange,
    TransparencyLogInstance, TrustedRoot,
};
use pki::verify::HashAlgorithm;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "data",
        "sigstore",
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ms(rfc3339: &str) -> u64 {
    clock::parse_time_ms(rfc3339).unwrap()
}

/// sigstore's public-good trusted root decodes, and re-encodes to the same JSON.
#[test]
fn public_good_trusted_root_decodes_and_reencodes_unchanged() {
    let text = fixture("public-good-trusted_root.json");
    let root = TrustedRoot::from_json(&text).unwrap();
    assert_eq!(root.tlogs.len(), 2);
    assert_eq!(root.certificate_authorities.len(), 2);
    assert_eq!(root.ctlogs.len(), 2);
    assert_eq!(root.timestamp_authorities.len(), 1);

    let rekor = &root.tlogs[0];
    assert_eq!(rekor.base_url, "https://rekor.sigstore.dev");
    assert_eq!(rekor.hash_algorithm, HashAlgorithm::Sha256);
    assert_eq!(
        rekor.public_key.key_details,
        PublicKeyDetails::PKIX_ECDSA_P256_SHA_256
    );
    // Rekor v1 and CT logs: the log ID is the SHA-256 of the key.
    for log in [&root.tlogs[0], &root.ctlogs[0], &root.ctlogs[1]] {
        assert_eq!(log.log_id, pki::ct::log_id(&log.public_key.raw_bytes));
        assert_eq!(
            PublicKeyDetails::of_spki(&log.public_key.raw_bytes).unwrap(),
            log.public_key.key_details
        );
    }
    let first_ca = &root.certificate_authorities[0];
    assert_eq!(first_ca.subject.organization, "sigstore.dev");
    assert_eq!(
        first_ca.valid_for,
        TimeRange {
            start_ms: ms("2021-03-07T03:20:29Z"),
            end_ms: Some(ms("2022-12-31T23:59:59.999Z")),
        }
    );
    assert_eq!(root.certificate_authorities[1].cert_chain.len(), 2);
    assert_eq!(
        root.timestamp_authorities[0].uri.as_deref(),
        Some("https://timestamp.sigstore.dev/api/v1/timestamp")
    );

    let original: Value = serde_json::from_slice(&text).unwrap();
    let written: Value = serde_json::from_slice(&root.to_json().unwrap()).unwrap();
    assert_eq!(written, original);
}

/// A Rekor v2 log is named in a v0.1 trusted root by its C2SP signed-note key hash:
/// SHA-256 of origin, newline, signature type (0x01, Ed25519) and the raw key — not by
/// the SHA-256 of its SubjectPublicKeyInfo.
#[test]
fn public_good_rekor_v2_log_id_is_its_note_key_hash() {
    let root = TrustedRoot::from_json(&fixture("public-good-trusted_root.json")).unwrap();
    let v2 = &root.tlogs[1];
    assert_eq!(v2.base_url, "https://log2025-1.rekor.sigstore.dev");
    assert_eq!(v2.public_key.key_details, PublicKeyDetails::PKIX_ED25519);
    let raw_key = &v2.public_key.raw_bytes[v2.public_key.raw_bytes.len() - 32..];
    let mut hash = Sha256::new();
    hash.update(b"log2025-1.rekor.sigstore.dev\n\x01");
    hash.update(raw_key);
    assert_eq!(v2.log_id, <[u8; 32]>::from(hash.finalize()));
    assert_ne!(v2.log_id, pki::ct::log_id(&v2.public_key.raw_bytes));
}

#[test]
fn public_good_and_staging_signing_configs_decode() {
    let config =
        SigningConfig::from_json(&fixture("public-good-signing_config.v0.2.json")).unwrap();
    assert_eq!(config.ca_urls[0].url, "https://fulcio.sigstore.dev");
    assert_eq!(config.ca_urls[0].major_api_version, 1);
    assert_eq!(
        config.ca_urls[0].valid_for,
        Some(TimeRange::since(ms("2022-04-13T20:06:15Z")))
    );
    assert_eq!(
        config.rekor_tlog_config.unwrap().selector,
        ServiceSelector::Any
    );
    assert_eq!(config.tsa_urls.len(), 1);
    assert_eq!(
        SigningConfig::from_json(&config.to_json().unwrap()).unwrap(),
        config
    );

    let staging = SigningConfig::from_json(&fixture("staging-signing_config.v0.2.json")).unwrap();
    let versions: Vec<u32> = staging
        .rekor_tlog_urls
        .iter()
        .map(|s| s.major_api_version)
        .collect();
    assert_eq!(versions, [2, 2, 2, 1]);
    assert_eq!(
        staging.rekor_tlog_urls[1].valid_for.unwrap().end_ms,
        Some(ms("2025-09-22T11:00:00Z"))
    );
}

/// The staging root holds a deprecated key name (a PKCS#1 RSA CT key) and closed key
/// periods; it decodes, and re-encodes unchanged.
#[test]
fn staging_trusted_root_decodes_and_reencodes_unchanged() {
    let text = fixture("staging-trusted_root.json");
    let root = TrustedRoot::from_json(&text).unwrap();
    assert_eq!(
        root.ctlogs[0].public_key.key_details,
        PublicKeyDetails::PKCS1_RSA_PKCS1V5
    );
    assert_eq!(root.tlogs.len(), 4);
    let original: Value = serde_json::from_slice(&text).unwrap();
    let written: Value = serde_json::from_slice(&root.to_json().unwrap()).unwrap();
    assert_eq!(written, original);
}

/// The Python interpreter with sigstore-python, from `CERTCENTRAL_SIGSTORE_PYTHON`.
fn sigstore_python() -> Option<String> {
    match std::env::var("CERTCENTRAL_SIGSTORE_PYTHON") {
        Ok(python) => Some(python),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "sigstore-python must be installed in CI (see .ci/run)"
            );
            eprintln!(
                "SKIPPED: CERTCENTRAL_SIGSTORE_PYTHON is not set (a python with sigstore==4.5.1)"
            );
            None
        }
    }
}

fn run_python(python: &str, script: &str, stdin: &Value) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "python", script]
        .iter()
        .collect();
    let mut child = Command::new(python)
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.to_string().as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("python run");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python output")
}

/// A root and a certificate under it, DER: `[leaf, root]`.
fn chain(root_cn: &str, leaf_cn: &str, leaf_is_ca: bool) -> Vec<Vec<u8>> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let root_key = KeyPair::generate().unwrap();
    let mut root_params = CertificateParams::default();
    root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root_params
        .distinguished_name
        .push(DnType::OrganizationName, "certcentral");
    root_params
        .distinguished_name
        .push(DnType::CommonName, root_cn);
    let root = root_params.self_signed(&root_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::default();
    if leaf_is_ca {
        leaf_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    }
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, leaf_cn);
    let issuer = rcgen::Issuer::new(root_params, root_key);
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    vec![leaf.der().to_vec(), root.der().to_vec()]
}

fn log(base_url: &str, spki: &[u8], valid_for: TimeRange) -> TransparencyLogInstance {
    TransparencyLogInstance {
        base_url: base_url.into(),
        hash_algorithm: HashAlgorithm::Sha256,
        public_key: PublicKey {
            raw_bytes: spki.to_vec(),
            key_details: PublicKeyDetails::of_spki(spki).unwrap(),
            valid_for: Some(valid_for),
        },
        log_id: pki::ct::log_id(spki),
        checkpoint_key_id: None,
        operator: Some(OPERATOR.into()),
    }
}

const OPERATOR: &str = "certcentral-dev";
const BASE: &str = "http://127.0.0.1:8080";

fn service(url: &str, major_api_version: u32, start_ms: u64) -> Service {
    Service {
        url: url.into(),
        major_api_version,
        valid_for: Some(TimeRange::since(start_ms)),
        operator: OPERATOR.into(),
    }
}

/// Documents written here are what sigstore-python reads: a signer picks the v2
/// artifact log by default and the v1 log when forced to v1 (one operator, both
/// versions), calls our CA, OIDC issuer and TSA; a verifier trusts current and
/// rotated-out log keys, signs only with current ones, and gets our CA and TSA chains.
/// What sigstore-python writes back decodes to the same documents.
#[test]
fn sigstore_python_loads_our_documents() {
    let Some(python) = sigstore_python() else {
        return;
    };
    let since = ms("2026-01-01T00:00:00Z");
    let retired = TimeRange {
        start_ms: ms("2024-01-01T00:00:00Z"),
        end_ms: Some(ms("2025-06-30T23:59:59.999Z")),
    };
    let spki = || EcdsaP256Signer::generate().unwrap().spki_der();
    let (rekor_v1, rekor_v1_old, rekor_v2, ct, ct_old) = (spki(), spki(), spki(), spki(), spki());
    let ca_chain = chain("certcentral root", "certcentral intermediate", true);
    let tsa_chain = chain("certcentral TSA root", "certcentral TSA", false);
    let tsa_url = format!("{BASE}/api/v1/timestamp");

    let root = TrustedRoot::new(
        vec![
            log(&format!("{BASE}/rekor/old"), &rekor_v1_old, retired),
            log(
                &format!("{BASE}/rekor/a"),
                &rekor_v1,
                TimeRange::since(since),
            ),
            log(
                &format!("{BASE}/rekor/b"),
                &rekor_v2,
                TimeRange::since(since),
            ),
        ],
        vec![
            CertificateAuthority::from_chain(
                ca_chain.clone(),
                Some(BASE.into()),
                Some(OPERATOR.into()),
            )
            .unwrap(),
        ],
        vec![
            log(&format!("{BASE}/logs/old"), &ct_old, retired),
            log(&format!("{BASE}/logs/dev-a"), &ct, TimeRange::since(since)),
        ],
        vec![
            CertificateAuthority::from_chain(
                tsa_chain.clone(),
                Some(tsa_url.clone()),
                Some(OPERATOR.into()),
            )
            .unwrap(),
        ],
    );
    let config = SigningConfig {
        media_type: SigningConfigMediaType,
        ca_urls: vec![service(BASE, 1, since)],
        oidc_urls: vec![service(&format!("{BASE}/dev/oidc"), 1, since)],
        rekor_tlog_urls: vec![
            service(&format!("{BASE}/rekor/a"), 1, since),
            service(&format!("{BASE}/rekor/b"), 2, since),
        ],
        rekor_tlog_config: Some(ServiceConfiguration {
            selector: ServiceSelector::Any,
            count: None,
        }),
        tsa_urls: vec![service(&tsa_url, 1, since)],
        tsa_config: Some(ServiceConfiguration {
            selector: ServiceSelector::Any,
            count: None,
        }),
    };
    let client = ClientTrustConfig::new(root.clone(), config.clone());
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    let report = run_python(
        &python,
        "sigstore_trust_config.py",
        &json!({
            "client_trust_config": text(client.to_json().unwrap()),
            "trusted_root": text(root.to_json().unwrap()),
            "signing_config": text(config.to_json().unwrap()),
        }),
    );

    let signer = json!({
        "tlogs": [{"type": "RekorV2Client", "url": format!("{BASE}/rekor/b/api/v2")}],
        "fulcio": BASE,
        "oidc": format!("{BASE}/dev/oidc"),
        "tsas": [tsa_url],
    });
    assert_eq!(report["client"]["default"], signer);
    assert_eq!(report["signing_config"], signer);
    assert_eq!(
        report["client"]["v1"]["tlogs"],
        json!([{"type": "RekorClient", "url": format!("{BASE}/rekor/a/api/v1")}])
    );

    let key_ids = |keys: &[&Vec<u8>]| {
        let mut ids: Vec<String> = keys
            .iter()
            .map(|k| hex::encode(pki::ct::log_id(k)))
            .collect();
        ids.sort();
        json!(ids)
    };
    let b64_list =
        |ders: &[Vec<u8>]| json!(ders.iter().map(|d| STANDARD.encode(d)).collect::<Vec<_>>());
    let verifier = json!({
        "rekor_sign": key_ids(&[&rekor_v1, &rekor_v2]),
        "rekor_verify": key_ids(&[&rekor_v1, &rekor_v1_old, &rekor_v2]),
        "ct_sign": key_ids(&[&ct]),
        "ct_verify": key_ids(&[&ct, &ct_old]),
        "fulcio_certs": b64_list(&ca_chain),
        "timestamp_authorities": [b64_list(&tsa_chain)],
    });
    assert_eq!(report["client"]["root"], verifier);
    assert_eq!(report["trusted_root"], verifier);

    // What sigstore_models writes decodes here to what was sent.
    let reencoded = &report["reencoded"];
    let bytes = |k: &str| reencoded[k].as_str().unwrap().as_bytes().to_vec();
    assert_eq!(
        ClientTrustConfig::from_json(&bytes("client_trust_config")).unwrap(),
        client
    );
    assert_eq!(
        TrustedRoot::from_json(&bytes("trusted_root")).unwrap(),
        root
    );
    assert_eq!(
        SigningConfig::from_json(&bytes("signing_config")).unwrap(),
        config
    );
}
