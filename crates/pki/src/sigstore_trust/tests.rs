use super::*;
use crate::EcdsaP256Signer;
use der::Encode;
use serde_json::{Value, json};

fn p256() -> Vec<u8> {
    EcdsaP256Signer::generate().unwrap().spki_der()
}

fn log(base_url: &str, spki: Vec<u8>, valid_for: Option<TimeRange>) -> TransparencyLogInstance {
    TransparencyLogInstance {
        base_url: base_url.into(),
        hash_algorithm: HashAlgorithm::Sha256,
        log_id: crate::ct::log_id(&spki),
        public_key: PublicKey {
            key_details: PublicKeyDetails::of_spki(&spki).unwrap(),
            raw_bytes: spki,
            valid_for,
        },
        checkpoint_key_id: None,
        operator: Some("op".into()),
    }
}

fn authority(chain: Vec<Vec<u8>>) -> CertificateAuthority {
    CertificateAuthority {
        subject: DistinguishedName {
            organization: "certcentral".into(),
            common_name: "root".into(),
        },
        uri: Some("http://127.0.0.1:8080".into()),
        cert_chain: chain,
        valid_for: TimeRange::since(1_795_459_309_000),
        operator: None,
    }
}

fn service(url: &str, version: u32) -> Service {
    Service {
        url: url.into(),
        major_api_version: version,
        valid_for: Some(TimeRange::since(1_700_000_000_000)),
        operator: "op".into(),
    }
}

fn sample_root() -> TrustedRoot {
    TrustedRoot::new(
        vec![log(
            "http://127.0.0.1:8080/rekor/a",
            p256(),
            Some(TimeRange::since(1_795_459_309_250)),
        )],
        vec![authority(vec![vec![0x30, 0x00], vec![0x30, 0x01, 0x00]])],
        vec![
            log(
                "http://127.0.0.1:8080/logs/old",
                p256(),
                Some(TimeRange {
                    start_ms: 1_600_000_000_000,
                    end_ms: Some(1_700_000_000_000),
                }),
            ),
            log("http://127.0.0.1:8080/logs/dev-a", p256(), None),
        ],
        vec![authority(vec![vec![1, 2, 3]])],
    )
}

fn sample_config() -> SigningConfig {
    SigningConfig {
        media_type: SigningConfigMediaType,
        ca_urls: vec![service("http://127.0.0.1:8080", 1)],
        oidc_urls: vec![service("http://127.0.0.1:8080/dev/oidc", 1)],
        rekor_tlog_urls: vec![
            service("http://127.0.0.1:8080/rekor/a", 1),
            service("http://127.0.0.1:8080/rekor/b", 2),
        ],
        rekor_tlog_config: Some(ServiceConfiguration {
            selector: ServiceSelector::Any,
            count: None,
        }),
        tsa_urls: vec![service("http://127.0.0.1:8080/api/v1/timestamp", 1)],
        tsa_config: Some(ServiceConfiguration {
            selector: ServiceSelector::Exact,
            count: Some(1),
        }),
    }
}

/// A named change to a document that must make it refused.
type Mutation = (&'static str, Box<dyn Fn(&mut Value)>);

fn to_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn documents_round_trip() {
    let root = sample_root();
    assert_eq!(
        TrustedRoot::from_json(&root.to_json().unwrap()).unwrap(),
        root
    );
    let config = sample_config();
    assert_eq!(
        SigningConfig::from_json(&config.to_json().unwrap()).unwrap(),
        config
    );
    let both = ClientTrustConfig::new(root, config);
    assert_eq!(
        ClientTrustConfig::from_json(&both.to_json().unwrap()).unwrap(),
        both
    );
}

#[test]
fn written_in_the_protobuf_json_shape() {
    let spki = p256();
    let root = TrustedRoot::new(
        vec![],
        vec![CertificateAuthority {
            operator: None,
            ..authority(vec![vec![0x30, 0x00]])
        }],
        vec![TransparencyLogInstance {
            operator: None,
            ..log("https://ct.example/logs/a", spki.clone(), None)
        }],
        vec![],
    );
    let expected = json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        // Required by sigstore-python even when empty.
        "tlogs": [],
        "certificateAuthorities": [{
            "subject": {"organization": "certcentral", "commonName": "root"},
            "uri": "http://127.0.0.1:8080",
            "certChain": {"certificates": [{"rawBytes": "MAA="}]},
            "validFor": {"start": "2026-11-23T18:41:49Z"},
        }],
        "ctlogs": [{
            "baseUrl": "https://ct.example/logs/a",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64::encode(&spki),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            },
            "logId": {"keyId": b64::encode(crate::ct::log_id(&spki))},
        }],
        "timestampAuthorities": [],
    });
    let written = root.to_json().unwrap();
    assert_eq!(to_value(&written), expected);
    // Keys in proto field order, as protobuf encoders write them.
    let text = String::from_utf8(written).unwrap();
    let order = [
        "\"mediaType\"",
        "\"tlogs\"",
        "\"certificateAuthorities\"",
        "\"ctlogs\"",
        "\"timestampAuthorities\"",
    ];
    let positions: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    let log_order = [
        "\"baseUrl\"",
        "\"hashAlgorithm\"",
        "\"publicKey\"",
        "\"logId\"",
    ];
    let positions: Vec<usize> = log_order.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");

    let config = sample_config().to_json().unwrap();
    let config = to_value(&config);
    assert_eq!(
        config["mediaType"],
        "application/vnd.dev.sigstore.signingconfig.v0.2+json"
    );
    assert_eq!(
        config["rekorTlogUrls"][1],
        json!({
            "url": "http://127.0.0.1:8080/rekor/b",
            "majorApiVersion": 2,
            "validFor": {"start": "2023-11-14T22:13:20Z"},
            "operator": "op",
        })
    );
    assert_eq!(config["rekorTlogConfig"], json!({"selector": "ANY"}));
    assert_eq!(
        config["tsaConfig"],
        json!({"selector": "EXACT", "count": 1})
    );
}

#[test]
fn timestamps_are_rfc3339_utc_with_milliseconds_only_when_present() {
    assert_eq!(timestamp::format(0).unwrap(), "1970-01-01T00:00:00Z");
    assert_eq!(
        timestamp::format(1_672_531_199_999).unwrap(),
        "2022-12-31T23:59:59.999Z"
    );
    assert_eq!(
        timestamp::format(MAX_TIME_MS).unwrap(),
        "9999-12-31T23:59:59.999Z"
    );
    assert_eq!(timestamp::format(MAX_TIME_MS + 1), None);
    // Nanoseconds (protobuf's 9 digits) are truncated to the millisecond.
    assert_eq!(
        timestamp::parse("2022-04-13T20:06:15.123456789Z"),
        Some(1_649_880_375_123)
    );
    assert_eq!(
        timestamp::parse("2022-04-13T20:06:15.000Z"),
        Some(1_649_880_375_000)
    );
    for refused in [
        "@1700000000",
        "2022-04-13T20:06:15+00:00",
        "2022-04-13T20:06:15",
        "2022-04-13",
        "",
    ] {
        assert_eq!(timestamp::parse(refused), None, "{refused:?}");
    }
}

#[test]
fn a_time_past_year_9999_is_not_written() {
    let mut root = sample_root();
    root.certificate_authorities[0].valid_for = TimeRange::since(MAX_TIME_MS + 1);
    assert!(matches!(root.to_json(), Err(TrustError::Json(_))));
}

/// Every way a field can be wrong: first what sigstore-python's pydantic models
/// (`extra="forbid"`, strict) refuse too, then forms no sigstore producer writes, which
/// sigstore-python would accept or misread (URL-safe base64 decodes to garbage there).
#[test]
fn decoder_refuses_malformed_documents() {
    let good = to_value(&sample_root().to_json().unwrap());
    let cases: Vec<Mutation> = vec![
        (
            "unknown top-level field",
            Box::new(|v| v["extra"] = json!(1)),
        ),
        (
            "unknown field in a log",
            Box::new(|v| v["ctlogs"][0]["url"] = json!("x")),
        ),
        (
            "unknown field in a key",
            Box::new(|v| v["ctlogs"][0]["publicKey"]["key"] = json!("x")),
        ),
        (
            "unknown field in a logId",
            Box::new(|v| v["ctlogs"][0]["logId"]["id"] = json!("x")),
        ),
        (
            "unknown field in a certificate",
            Box::new(|v| {
                v["certificateAuthorities"][0]["certChain"]["certificates"][0]["der"] = json!("x")
            }),
        ),
        (
            "unknown field in validFor",
            Box::new(|v| v["certificateAuthorities"][0]["validFor"]["from"] = json!("x")),
        ),
        (
            "snake_case name",
            Box::new(|v| {
                let tlogs = v["tlogs"].take();
                v.as_object_mut().unwrap().remove("tlogs");
                v["t_logs"] = tlogs;
            }),
        ),
        (
            "missing tlogs",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("tlogs");
            }),
        ),
        (
            "missing ctlogs",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("ctlogs");
            }),
        ),
        (
            "missing certificateAuthorities",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("certificateAuthorities");
            }),
        ),
        (
            "missing subject organization",
            Box::new(|v| {
                v["certificateAuthorities"][0]["subject"]
                    .as_object_mut()
                    .unwrap()
                    .remove("organization");
            }),
        ),
        (
            "missing CA validFor",
            Box::new(|v| {
                v["certificateAuthorities"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("validFor");
            }),
        ),
        (
            "other media type",
            Box::new(|v| {
                v["mediaType"] = json!("application/vnd.dev.sigstore.trustedroot.v0.2+json")
            }),
        ),
        (
            "unknown key details",
            Box::new(|v| v["ctlogs"][0]["publicKey"]["keyDetails"] = json!("PKIX_ECDSA_P256")),
        ),
        (
            "unspecified key details",
            Box::new(|v| {
                v["ctlogs"][0]["publicKey"]["keyDetails"] = json!("PUBLIC_KEY_DETAILS_UNSPECIFIED")
            }),
        ),
        // Stricter than sigstore-python from here on.
        (
            "SHA-3 tree hash",
            Box::new(|v| v["ctlogs"][0]["hashAlgorithm"] = json!("SHA3_256")),
        ),
        (
            "URL-safe base64",
            Box::new(|v| v["ctlogs"][0]["publicKey"]["rawBytes"] = json!("-_-_")),
        ),
        (
            "log ID of 31 bytes",
            Box::new(|v| v["ctlogs"][0]["logId"]["keyId"] = json!(b64::encode([0u8; 31]))),
        ),
        (
            "time with an offset",
            Box::new(|v| {
                v["certificateAuthorities"][0]["validFor"]["start"] =
                    json!("2026-11-23T18:41:49+01:00")
            }),
        ),
        (
            "time as a number",
            Box::new(|v| {
                v["certificateAuthorities"][0]["validFor"]["start"] = json!(1_795_459_309)
            }),
        ),
        (
            "null end",
            Box::new(|v| v["certificateAuthorities"][0]["validFor"]["end"] = Value::Null),
        ),
        (
            "empty chain",
            Box::new(|v| v["certificateAuthorities"][0]["certChain"]["certificates"] = json!([])),
        ),
        (
            "validity ending before it starts",
            Box::new(|v| {
                v["certificateAuthorities"][0]["validFor"]["end"] = json!("2000-01-01T00:00:00Z")
            }),
        ),
    ];
    assert!(TrustedRoot::from_json(good.to_string().as_bytes()).is_ok());
    for (name, mutate) in cases {
        let mut doc = good.clone();
        mutate(&mut doc);
        let text = doc.to_string();
        assert!(
            TrustedRoot::from_json(text.as_bytes()).is_err(),
            "accepted with {name}: {text}"
        );
    }
    let duplicate = good
        .to_string()
        .replacen("\"tlogs\":[", "\"tlogs\":[],\"tlogs\":[", 1);
    assert!(
        TrustedRoot::from_json(duplicate.as_bytes()).is_err(),
        "accepted a duplicate field: {duplicate}"
    );
}

#[test]
fn signing_config_decoder_refuses_bad_services() {
    let good = to_value(&sample_config().to_json().unwrap());
    assert!(SigningConfig::from_json(good.to_string().as_bytes()).is_ok());
    let mutations: Vec<Mutation> = vec![
        (
            "service without operator",
            Box::new(|v| {
                v["caUrls"][0].as_object_mut().unwrap().remove("operator");
            }),
        ),
        (
            "API version as a string",
            Box::new(|v| v["rekorTlogUrls"][0]["majorApiVersion"] = json!("1")),
        ),
        (
            "negative API version",
            Box::new(|v| v["rekorTlogUrls"][0]["majorApiVersion"] = json!(-1)),
        ),
        (
            "undefined selector",
            Box::new(|v| v["rekorTlogConfig"]["selector"] = json!("SERVICE_SELECTOR_UNDEFINED")),
        ),
        (
            "v0.1 media type",
            Box::new(|v| {
                v["mediaType"] = json!("application/vnd.dev.sigstore.signingconfig.v0.1+json")
            }),
        ),
        ("unknown field", Box::new(|v| v["tlogUrls"] = json!([]))),
    ];
    for (name, mutate) in mutations {
        let mut doc = good.clone();
        mutate(&mut doc);
        assert!(
            SigningConfig::from_json(doc.to_string().as_bytes()).is_err(),
            "accepted with {name}"
        );
    }
    // Every list may be left out (pydantic defaults them to empty).
    let minimal = json!({"mediaType": SIGNING_CONFIG_MEDIA_TYPE});
    let config = SigningConfig::from_json(minimal.to_string().as_bytes()).unwrap();
    assert!(config.rekor_tlog_urls.is_empty() && config.tsa_config.is_none());
}

#[test]
fn documents_over_the_size_limit_are_refused_before_parsing() {
    let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(
        TrustedRoot::from_json(&big),
        Err(TrustError::TooLarge(n)) if n == MAX_DOCUMENT_BYTES + 1
    ));
    assert!(matches!(
        ClientTrustConfig::from_json(&big),
        Err(TrustError::TooLarge(_))
    ));
}

#[test]
fn client_trust_config_checks_both_parts() {
    let mut root = sample_root();
    root.timestamp_authorities[0].cert_chain.clear();
    let both = ClientTrustConfig::new(root, sample_config());
    assert!(matches!(
        ClientTrustConfig::from_json(&both.to_json().unwrap()),
        Err(TrustError::EmptyChain(_))
    ));
}

fn rsa_spki(modulus_bits: usize) -> Vec<u8> {
    #[derive(der::Sequence)]
    struct RsaPublicKey<'a> {
        modulus: der::asn1::UintRef<'a>,
        public_exponent: der::asn1::UintRef<'a>,
    }
    let mut n = vec![0xffu8; modulus_bits / 8];
    n[0] = 0x80;
    let key = RsaPublicKey {
        modulus: der::asn1::UintRef::new(&n).unwrap(),
        public_exponent: der::asn1::UintRef::new(&[1, 0, 1]).unwrap(),
    }
    .to_der()
    .unwrap();
    spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: rfc5912::RSA_ENCRYPTION,
            parameters: Some(der::Any::new(der::Tag::Null, Vec::<u8>::new()).unwrap()),
        },
        subject_public_key: der::asn1::BitString::from_bytes(&key).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[test]
fn key_details_follow_the_key() {
    assert_eq!(
        PublicKeyDetails::of_spki(&p256()).unwrap(),
        PublicKeyDetails::PKIX_ECDSA_P256_SHA_256
    );
    let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    assert_eq!(
        PublicKeyDetails::of_spki(&rcgen::PublicKeyData::subject_public_key_info(&p384)).unwrap(),
        PublicKeyDetails::PKIX_ECDSA_P384_SHA_384
    );
    let ed25519 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    assert_eq!(
        PublicKeyDetails::of_spki(&rcgen::PublicKeyData::subject_public_key_info(&ed25519))
            .unwrap(),
        PublicKeyDetails::PKIX_ED25519
    );
    for (bits, details) in [
        (2048, PublicKeyDetails::PKIX_RSA_PKCS1V15_2048_SHA256),
        (3072, PublicKeyDetails::PKIX_RSA_PKCS1V15_3072_SHA256),
        (4096, PublicKeyDetails::PKIX_RSA_PKCS1V15_4096_SHA256),
    ] {
        assert_eq!(PublicKeyDetails::of_spki(&rsa_spki(bits)).unwrap(), details);
    }
    assert!(matches!(
        PublicKeyDetails::of_spki(&rsa_spki(1024)),
        Err(TrustError::Key(_))
    ));
    assert!(matches!(
        PublicKeyDetails::of_spki(b"\x30\x00"),
        Err(TrustError::Key(_))
    ));
}

#[test]
fn key_details_names_are_sigstores() {
    // The names are the proto enum's, verbatim.
    assert_eq!(
        serde_json::to_string(&PublicKeyDetails::PKIX_ECDSA_P256_SHA_256).unwrap(),
        "\"PKIX_ECDSA_P256_SHA_256\""
    );
    let staged: PublicKeyDetails = serde_json::from_str("\"PKCS1_RSA_PKCS1V5\"").unwrap();
    assert_eq!(staged, PublicKeyDetails::PKCS1_RSA_PKCS1V5);
}

/// A CA's entry names its root and starts when its issuing certificate does.
#[test]
fn an_authority_from_its_chain_names_the_root_and_starts_at_the_issuing_certificate() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, date_time_ymd};
    let root_key = KeyPair::generate().unwrap();
    let mut root_params = CertificateParams::default();
    root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root_params
        .distinguished_name
        .push(DnType::OrganizationName, "sigstore.dev");
    root_params
        .distinguished_name
        .push(DnType::CommonName, "sigstore");
    root_params.not_before = date_time_ymd(2021, 10, 7);
    let root = root_params.self_signed(&root_key).unwrap();
    let issuing_key = KeyPair::generate().unwrap();
    let mut issuing_params = CertificateParams::default();
    issuing_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    issuing_params
        .distinguished_name
        .push(DnType::CommonName, "sigstore-intermediate");
    issuing_params.not_before = date_time_ymd(2022, 4, 13);
    let issuer = rcgen::Issuer::new(root_params, root_key);
    let issuing = issuing_params.signed_by(&issuing_key, &issuer).unwrap();
    let chain = vec![issuing.der().to_vec(), root.der().to_vec()];

    let ca =
        CertificateAuthority::from_chain(chain.clone(), Some("https://ca".into()), None).unwrap();
    assert_eq!(
        ca.subject,
        DistinguishedName {
            organization: "sigstore.dev".into(),
            common_name: "sigstore".into(),
        }
    );
    assert_eq!(ca.valid_for, TimeRange::since(1_649_808_000_000));
    assert_eq!(ca.cert_chain, chain);

    // A root without an organization: written as an empty one (both are required).
    let ca = CertificateAuthority::from_chain(vec![issuing.der().to_vec()], None, None).unwrap();
    assert_eq!(ca.subject.organization, "");
    assert_eq!(ca.subject.common_name, "sigstore-intermediate");

    assert!(matches!(
        CertificateAuthority::from_chain(vec![], None, None),
        Err(TrustError::EmptyChain(_))
    ));
    assert!(matches!(
        CertificateAuthority::from_chain(vec![chain[0].clone(), vec![0x30]], None, None),
        Err(TrustError::Certificate { index: 1, .. })
    ));
}

#[test]
fn a_newer_root_keeps_what_the_older_trusted_closed_at_the_update() {
    let old = sample_root();
    let mut new = sample_root();
    // The instance rotated every key and chain; the CT log "old" had ended already.
    new.tlogs[0] = log("http://127.0.0.1:8080/rekor/a", p256(), None);
    new.ctlogs.truncate(0);
    new.certificate_authorities[0] = authority(vec![vec![0x30, 0x02]]);
    let now = 1_800_000_000_000;
    assert_eq!(new.keep_retired(&old, now), 4);
    assert_eq!(new.tlogs.len(), 2);
    assert_eq!(
        new.tlogs[1].public_key.valid_for,
        Some(TimeRange {
            start_ms: 1_795_459_309_250,
            end_ms: Some(now)
        })
    );
    // An end already in the past stays; an open-ended key is closed now.
    assert_eq!(
        new.ctlogs[0].public_key.valid_for.unwrap().end_ms,
        Some(1_700_000_000_000)
    );
    assert_eq!(
        new.ctlogs[1].public_key.valid_for,
        Some(TimeRange {
            start_ms: 0,
            end_ms: Some(now)
        })
    );
    assert_eq!(
        new.certificate_authorities[1].cert_chain,
        old.certificate_authorities[0].cert_chain
    );
    assert_eq!(new.certificate_authorities[1].valid_for.end_ms, Some(now));
    // The same root again keeps nothing more: what is still listed is not retired.
    let again = new.clone();
    assert_eq!(new.keep_retired(&again, now + 1), 0);
    assert_eq!(new, again);
    // And the merged root is a valid document.
    TrustedRoot::from_json(&new.to_json().unwrap()).unwrap();
}

proptest::proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let _ = TrustedRoot::from_json(&bytes);
        let _ = SigningConfig::from_json(&bytes);
        let _ = ClientTrustConfig::from_json(&bytes);
    }

    #[test]
    fn time_ranges_round_trip(start in 0u64..=MAX_TIME_MS, length in proptest::option::of(0u64..=1_000_000_000_000)) {
        let range = TimeRange {
            start_ms: start,
            end_ms: length.map(|l| start.saturating_add(l).min(MAX_TIME_MS)),
        };
        let mut root = sample_root();
        root.ctlogs[0].public_key.valid_for = Some(range);
        root.certificate_authorities[0].valid_for = range;
        let decoded = TrustedRoot::from_json(&root.to_json().unwrap()).unwrap();
        proptest::prop_assert_eq!(decoded, root);
    }

    #[test]
    fn services_round_trip(url in "[ -~]{0,40}", version in proptest::num::u32::ANY, operator in "\\PC{0,20}", count in proptest::option::of(proptest::num::u32::ANY)) {
        let mut config = sample_config();
        config.rekor_tlog_urls.push(Service { url, major_api_version: version, valid_for: None, operator });
        config.tsa_config = Some(ServiceConfiguration { selector: ServiceSelector::All, count });
        let decoded = SigningConfig::from_json(&config.to_json().unwrap()).unwrap();
        proptest::prop_assert_eq!(decoded, config);
    }
}
