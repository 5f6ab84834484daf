use super::*;
use pki::EcdsaP256Signer;
use pki::sigstore_trust::ClientTrustConfig;

const BASE: &str = "http://127.0.0.1:8080";

fn spki() -> Vec<u8> {
    EcdsaP256Signer::generate().unwrap().spki_der()
}

/// `[leaf, root]`, DER, the root named O=certcentral, CN=`root_cn`.
fn chain(root_cn: &str) -> Vec<Vec<u8>> {
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
    let leaf = CertificateParams::default()
        .signed_by(&leaf_key, &rcgen::Issuer::new(root_params, root_key))
        .unwrap();
    vec![leaf.der().to_vec(), root.der().to_vec()]
}

/// The trusted root and signing config as served, decoded.
fn decoded(documents: &TrustDocuments) -> (TrustedRoot, SigningConfig) {
    (
        TrustedRoot::from_json(&documents.trusted_root_json).unwrap(),
        SigningConfig::from_json(&documents.signing_config_json).unwrap(),
    )
}

fn bodies(documents: &TrustDocuments) -> [Bytes; 3] {
    [
        documents.trusted_root_json.clone(),
        documents.signing_config_json.clone(),
        documents.client_trust_config_json.clone(),
    ]
}

/// With nothing but CT logs (no CA, TSA or artifact log yet) the documents still
/// render, with the lists sigstore-python requires present and empty.
#[test]
fn documents_render_without_a_ca_or_an_artifact_log() {
    let key = spki();
    let instance = InstanceTrust {
        public_url: format!("{BASE}/"),
        operator: "op".into(),
        ct_logs: vec![CtLogTrust {
            base_url: format!("{BASE}/logs/a/"),
            keys: vec![LogKeyPeriod::current_sha256(key.clone(), 5_000)],
        }],
        ..InstanceTrust::default()
    };
    let documents = instance.documents().unwrap();
    let [root, config, both] = bodies(&documents);
    let root = TrustedRoot::from_json(&root).unwrap();
    assert!(root.tlogs.is_empty() && root.certificate_authorities.is_empty());
    assert_eq!(root.ctlogs[0].base_url, format!("{BASE}/logs/a"));
    assert_eq!(root.ctlogs[0].log_id, pki::ct::log_id(&key));
    assert_eq!(
        root.ctlogs[0].public_key.valid_for,
        Some(TimeRange::since(5_000))
    );
    let config = SigningConfig::from_json(&config).unwrap();
    assert!(config.ca_urls.is_empty() && config.rekor_tlog_urls.is_empty());
    let both = ClientTrustConfig::from_json(&both).unwrap();
    assert_eq!(both.trusted_root, root);
    assert_eq!(both.signing_config, config);
}

#[test]
fn every_service_is_listed_under_one_operator() {
    let (v1, v2_old, v2) = (spki(), spki(), spki());
    let ca_chain = chain("ca root");
    let tsa_chain = chain("tsa root");
    let instance = InstanceTrust {
        public_url: BASE.into(),
        operator: "certcentral-dev".into(),
        ca_chain: Some(ca_chain.clone()),
        oidc_issuers: vec![format!("{BASE}/dev/oidc")],
        ct_logs: vec![],
        artifact_logs: vec![
            ArtifactLogTrust {
                base_url: format!("{BASE}/rekor/a"),
                major_api_version: 1,
                keys: vec![LogKeyPeriod::current_sha256(v1.clone(), 1_000)],
            },
            ArtifactLogTrust {
                base_url: format!("{BASE}/rekor/b"),
                major_api_version: 2,
                keys: vec![
                    LogKeyPeriod {
                        spki_der: v2_old.clone(),
                        log_id: [7; 32],
                        valid_from_ms: 2_000,
                        valid_until_ms: Some(3_000),
                    },
                    LogKeyPeriod {
                        spki_der: v2.clone(),
                        log_id: [8; 32],
                        valid_from_ms: 3_000,
                        valid_until_ms: None,
                    },
                ],
            },
        ],
        tsa_chain: Some(tsa_chain.clone()),
    };
    let (root, config) = decoded(&instance.documents().unwrap());
    assert_eq!(root.certificate_authorities[0].cert_chain, ca_chain);
    assert_eq!(root.certificate_authorities[0].uri.as_deref(), Some(BASE));
    assert_eq!(
        root.certificate_authorities[0].subject.common_name,
        "ca root"
    );
    assert_eq!(root.timestamp_authorities[0].cert_chain, tsa_chain);
    let tsa_url = format!("{BASE}/api/v1/timestamp");
    assert_eq!(
        root.timestamp_authorities[0].uri.as_deref(),
        Some(tsa_url.as_str())
    );
    // The rotated-out key keeps its entry, closed; the log ID is the one given.
    let tlogs: Vec<(&str, [u8; 32], Option<TimeRange>)> = root
        .tlogs
        .iter()
        .map(|t| (t.base_url.as_str(), t.log_id, t.public_key.valid_for))
        .collect();
    assert_eq!(
        tlogs,
        [
            (
                "http://127.0.0.1:8080/rekor/a",
                pki::ct::log_id(&v1),
                Some(TimeRange::since(1_000))
            ),
            (
                "http://127.0.0.1:8080/rekor/b",
                [7; 32],
                Some(TimeRange {
                    start_ms: 2_000,
                    end_ms: Some(3_000)
                })
            ),
            (
                "http://127.0.0.1:8080/rekor/b",
                [8; 32],
                Some(TimeRange::since(3_000))
            ),
        ]
    );

    let services: Vec<(&str, u32, Option<TimeRange>)> = config
        .rekor_tlog_urls
        .iter()
        .map(|s| (s.url.as_str(), s.major_api_version, s.valid_for))
        .collect();
    assert_eq!(
        services,
        [
            (
                "http://127.0.0.1:8080/rekor/a",
                1,
                Some(TimeRange::since(1_000))
            ),
            (
                "http://127.0.0.1:8080/rekor/b",
                2,
                Some(TimeRange::since(2_000))
            ),
        ]
    );
    assert_eq!(config.ca_urls[0].url, BASE);
    assert_eq!(
        config.ca_urls[0].valid_for,
        Some(root.certificate_authorities[0].valid_for)
    );
    assert_eq!(config.oidc_urls[0].url, format!("{BASE}/dev/oidc"));
    assert_eq!(config.tsa_urls[0].url, tsa_url);
    let operators: Vec<&str> = config
        .ca_urls
        .iter()
        .chain(&config.oidc_urls)
        .chain(&config.rekor_tlog_urls)
        .chain(&config.tsa_urls)
        .map(|s| s.operator.as_str())
        .collect();
    assert_eq!(operators, ["certcentral-dev"; 5]);
    assert!(
        root.tlogs
            .iter()
            .all(|t| t.operator.as_deref() == Some("certcentral-dev"))
    );
}

#[test]
fn a_key_sigstore_cannot_name_stops_the_documents() {
    let instance = InstanceTrust {
        public_url: BASE.into(),
        operator: "op".into(),
        ct_logs: vec![CtLogTrust {
            base_url: "https://ct.example/logs/x".into(),
            keys: vec![LogKeyPeriod::current_sha256(b"\x30\x00".to_vec(), 0)],
        }],
        ..InstanceTrust::default()
    };
    let err = instance.documents().unwrap_err();
    assert!(
        format!("{err:#}").contains("https://ct.example/logs/x"),
        "{err:#}"
    );
}

#[test]
fn the_operator_defaults_to_the_public_host() {
    let config = Config::parse("").unwrap();
    assert_eq!(
        operator(&config, "https://ct.example.com/"),
        "ct.example.com"
    );
    let config = Config::parse("operator = \"Example Corp\"").unwrap();
    assert_eq!(operator(&config, "https://ct.example.com"), "Example Corp");
    assert_eq!(operator(&Config::dev(), BASE), "certcentral-dev");
}

#[test]
fn oidc_urls_are_the_dev_issuer_in_dev_and_the_configured_issuers_otherwise() {
    let config = Config::parse(
        r#"
        [ca]
        [[ca.oidc_issuers]]
        issuer_url = "https://accounts.example.com"
        client_id = "sigstore"
        type = "email"
        [[ca.oidc_issuers]]
        issuer_url = "https://oidc.eks.*.amazonaws.com/id/*"
        client_id = "sigstore"
        type = "uri"
        "#,
    )
    .unwrap();
    assert_eq!(
        oidc_issuers(&config, None),
        ["https://accounts.example.com"]
    );
    let dev = oidc::dev::DevIssuer::generate(BASE).unwrap();
    assert_eq!(
        oidc_issuers(&config, Some(&dev)),
        ["http://127.0.0.1:8080/dev/oidc"]
    );
}

#[test]
fn remote_ct_logs_of_the_ca_are_listed_once_with_an_unknown_start() {
    let key = spki();
    let config = Config::parse(&format!(
        "[ca]\nct_logs = [{{ url = \"https://ct.example/logs/x/\", public_key = \"{}\" }}, {{ url = \"https://ct.example/logs/x-again\", public_key = \"{}\" }}]\n",
        BASE64.encode(&key),
        BASE64.encode(&key),
    ))
    .unwrap();
    let logs = ct_logs(&config, &[]).unwrap();
    assert_eq!(
        logs,
        [CtLogTrust {
            base_url: "https://ct.example/logs/x".into(),
            keys: vec![LogKeyPeriod::current_sha256(key, UNKNOWN_KEY_START_MS)],
        }]
    );
}
