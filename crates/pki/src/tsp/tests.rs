use super::*;
use const_oid::db::rfc5912;
use proptest::prelude::*;

fn request(nonce: Option<u64>, cert_req: bool) -> TimeStampReq {
    JsonTimeStampRequest {
        artifact_hash: base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            [7u8; 32],
        ),
        hash_algorithm: "sha256".into(),
        nonce,
        certificates: cert_req,
        tsa_policy_oid: None,
    }
    .to_request()
    .unwrap()
}

#[test]
fn request_round_trips_byte_identically() {
    for (nonce, cert_req) in [(None, false), (Some(0x1234_5678_9abc_def0), true)] {
        let req = request(nonce, cert_req);
        let der = req.to_der().unwrap();
        assert_eq!(TimeStampReq::from_der_canonical(&der).unwrap(), req);
        assert_eq!(TimeStampReq::from_der(&der).unwrap().to_der().unwrap(), der);
    }
}

#[test]
fn cert_req_false_is_omitted_as_der_default() {
    // X.690 §11.5: a DEFAULT value is not encoded.
    let der = request(None, false).to_der().unwrap();
    assert!(!der.windows(3).any(|w| w == [0x01, 0x01, 0x00]));
}

#[test]
fn decodes_what_openssl_ts_query_writes() {
    let dir = std::env::temp_dir().join(format!("pki-tsp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let query = dir.join("query.tsq");
    std::fs::write(&data, b"hello").unwrap();
    let status = std::process::Command::new("openssl")
        .args(["ts", "-query", "-sha384", "-cert", "-data"])
        .arg(&data)
        .arg("-out")
        .arg(&query)
        .status();
    let Ok(status) = status else {
        eprintln!("openssl not installed; skipping");
        return;
    };
    assert!(status.success());
    let der = std::fs::read(&query).unwrap();
    let req = TimeStampReq::from_der_canonical(&der).unwrap();
    assert_eq!(req.version, 1);
    assert!(req.cert_req);
    assert!(req.nonce.is_some());
    assert_eq!(
        HashAlgorithm::from_oid(req.message_imprint.hash_algorithm.oid),
        Some(HashAlgorithm::Sha384)
    );
    assert_eq!(req.to_der().unwrap(), der);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn gen_time_fraction_has_no_trailing_zeros_rfc3161() {
    for (ms, text) in [
        (1_700_000_000_000, "20231114221320Z"),
        (1_700_000_000_100, "20231114221320.1Z"),
        (1_700_000_000_120, "20231114221320.12Z"),
        (1_700_000_000_123, "20231114221320.123Z"),
        (1_700_000_000_003, "20231114221320.003Z"),
    ] {
        let t = GenTime::from_unix_ms(ms).unwrap();
        let der = t.to_der().unwrap();
        assert_eq!(&der[2..], text.as_bytes());
        assert_eq!(GenTime::from_der(&der).unwrap(), t);
    }
}

#[test]
fn gen_time_refuses_non_canonical_forms() {
    for text in [
        "20231114221320.10Z",
        "20231114221320.Z",
        "20231114221320.1234Z",
        "20231114221320",
        "20231114221320+0100",
        "2023111422132Z",
        "20231314221320Z",
        "2023111422132aZ",
    ] {
        let mut der = vec![0x18, u8::try_from(text.len()).unwrap()];
        der.extend_from_slice(text.as_bytes());
        assert!(GenTime::from_der(&der).is_err(), "{text}");
    }
}

#[test]
fn failure_info_bits_are_der_named_bit_lists() {
    assert_eq!(
        PkiFailureInfo::BadAlg
            .to_bit_string()
            .unwrap()
            .to_der()
            .unwrap(),
        [0x03, 0x02, 0x07, 0x80]
    );
    assert_eq!(
        PkiFailureInfo::BadDataFormat
            .to_bit_string()
            .unwrap()
            .to_der()
            .unwrap(),
        [0x03, 0x02, 0x02, 0x04]
    );
    assert_eq!(
        PkiFailureInfo::UnacceptedPolicy
            .to_bit_string()
            .unwrap()
            .to_der()
            .unwrap(),
        [0x03, 0x03, 0x00, 0x00, 0x01]
    );
    assert_eq!(
        PkiFailureInfo::UnacceptedExtension
            .to_bit_string()
            .unwrap()
            .to_der()
            .unwrap(),
        [0x03, 0x04, 0x07, 0x00, 0x00, 0x80]
    );
    for f in PkiFailureInfo::ALL {
        assert_eq!(
            PkiFailureInfo::from_bit_string(&f.to_bit_string().unwrap()),
            [f]
        );
    }
}

#[test]
fn rejection_round_trips() {
    let resp = TimeStampResp::rejection(PkiFailureInfo::BadAlg, "unsupported hash");
    let der = resp.to_der().unwrap();
    let back = TimeStampResp::from_der(&der).unwrap();
    assert_eq!(back, resp);
    assert_eq!(
        PkiStatus::from_value(back.status.status),
        Some(PkiStatus::Rejection)
    );
    assert_eq!(back.tst_info(), Err(TspError::NoToken));
}

#[test]
fn tst_info_round_trips() {
    let info = TstInfo {
        version: 1,
        policy: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2"),
        message_imprint: request(None, false).message_imprint,
        serial_number: Uint::new(&[0x7f; 20]).unwrap(),
        gen_time: GenTime::from_unix_ms(1_700_000_000_123).unwrap(),
        accuracy: Accuracy::from_millis(1500),
        ordering: false,
        nonce: request(Some(42), false).nonce,
        tsa: None,
        extensions: None,
    };
    let der = info.to_der().unwrap();
    assert_eq!(TstInfo::from_der(&der).unwrap(), info);
}

#[test]
fn accuracy_leaves_out_zero_fields() {
    assert_eq!(Accuracy::from_millis(0), None);
    let a = Accuracy::from_millis(1000).unwrap();
    assert_eq!((a.seconds, a.millis), (Some(1), None));
    let a = Accuracy::from_millis(7).unwrap();
    assert_eq!((a.seconds, a.millis), (None, Some(7)));
}

#[test]
fn trailing_bytes_are_refused() {
    let mut der = request(Some(1), true).to_der().unwrap();
    der.push(0);
    assert!(TimeStampReq::from_der_canonical(&der).is_err());
}

#[test]
fn explicit_default_cert_req_false_is_refused() {
    // A BOOLEAN FALSE written out is BER, not DER.
    let req = request(None, false);
    let mut inner = req.message_imprint.to_der().unwrap();
    inner.splice(0..0, [0x02, 0x01, 0x01]);
    inner.extend_from_slice(&[0x01, 0x01, 0x00]);
    let mut der = vec![0x30, u8::try_from(inner.len()).unwrap()];
    der.extend_from_slice(&inner);
    assert!(TimeStampReq::from_der_canonical(&der).is_err());
}

#[test]
fn json_request_maps_names_and_errors() {
    let mut json: JsonTimeStampRequest = serde_json::from_str(
        r#"{"artifactHash":"AAAA","hashAlgorithm":"sha512","nonce":5,"certificates":true}"#,
    )
    .unwrap();
    let req = json.to_request().unwrap();
    assert_eq!(req.message_imprint.hash_algorithm.oid, rfc5912::ID_SHA_512);
    assert!(req.cert_req);
    json.hash_algorithm = "md5".into();
    assert_eq!(
        json.to_request().unwrap_err().failure_info(),
        PkiFailureInfo::BadAlg
    );
    json.hash_algorithm = "sha256".into();
    json.artifact_hash = "!!".into();
    assert_eq!(
        json.to_request().unwrap_err().failure_info(),
        PkiFailureInfo::BadDataFormat
    );
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = TimeStampReq::from_der_canonical(&bytes);
        let _ = TimeStampResp::from_der(&bytes).map(|r| r.tst_info());
        let _ = TstInfo::from_der(&bytes);
        let _ = GenTime::from_der(&bytes);
        let _ = SigningCertificateV2::from_der(&bytes);
    }

    #[test]
    fn mutated_requests_never_panic(flip in 0usize..80, value in any::<u8>(), cut in 0usize..80) {
        let mut der = request(Some(99), true).to_der().unwrap();
        let at = flip % der.len();
        der[at] = value;
        der.truncate(der.len() - cut % der.len());
        let _ = TimeStampReq::from_der_canonical(&der);
    }

    #[test]
    fn gen_time_round_trips(ms in 0u64..253_402_300_799_000) {
        let t = GenTime::from_unix_ms(ms).unwrap();
        prop_assert_eq!(GenTime::from_der(&t.to_der().unwrap()).unwrap(), t);
    }
}
