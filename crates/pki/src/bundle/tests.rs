use serde_json::{Value, json};

use super::*;

const V1: &[u8] = include_bytes!("../../tests/data/bundle/artifact-v1.sigstore.json");
const V2: &[u8] = include_bytes!("../../tests/data/bundle/artifact-v2.sigstore.json");

fn value(json: &[u8]) -> Value {
    serde_json::from_slice(json).unwrap()
}

fn read(v: &Value) -> Result<Bundle, BundleError> {
    Bundle::from_json(&serde_json::to_vec(v).unwrap())
}

#[test]
fn sigstore_python_bundles_read() {
    let v1 = Bundle::from_json(V1).unwrap();
    assert_eq!(v1.media_type, BundleMediaType::V0_3);
    assert_eq!(v1.tlog_entry.kind_version.version, "0.0.1");
    assert!(v1.tlog_entry.inclusion_promise.is_some());
    assert_eq!(v1.rfc3161_timestamps.as_ref().map(Vec::len), Some(1));
    let v2 = Bundle::from_json(V2).unwrap();
    assert_eq!(v2.tlog_entry.kind_version.version, "0.0.2");
    assert!(v2.tlog_entry.inclusion_promise.is_none());
    assert!(matches!(v2.content, BundleContent::MessageSignature(_)));
}

#[test]
fn written_bundle_reads_back_as_itself() {
    for fixture in [V1, V2] {
        let bundle = Bundle::from_json(fixture).unwrap();
        let again = Bundle::from_json(&bundle.to_json().unwrap()).unwrap();
        assert_eq!(again, bundle);
    }
}

#[test]
fn written_v0_3_bundle_has_sigstore_python_shape() {
    let bundle = Bundle::from_json(V1).unwrap();
    let ours = value(&bundle.to_json().unwrap());
    // sigstore-python writes the same members; field values agree after decoding.
    let theirs = value(V1);
    assert_eq!(ours["mediaType"], theirs["mediaType"]);
    assert_eq!(
        ours["verificationMaterial"]["certificate"],
        theirs["verificationMaterial"]["certificate"]
    );
    assert_eq!(ours["messageSignature"], theirs["messageSignature"]);
    assert_eq!(
        ours["verificationMaterial"]["timestampVerificationData"],
        theirs["verificationMaterial"]["timestampVerificationData"]
    );
}

#[test]
fn unknown_media_type_is_refused() {
    let mut v = value(V1);
    v["mediaType"] = json!("application/vnd.dev.sigstore.bundle.v0.4+json");
    assert!(matches!(
        read(&v),
        Err(BundleError::UnsupportedMediaType(_))
    ));
}

#[test]
fn legacy_v0_3_name_reads() {
    let mut v = value(V1);
    v["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.3");
    assert_eq!(read(&v).unwrap().media_type, BundleMediaType::V0_3Legacy);
}

#[test]
fn v0_3_requires_certificate_not_chain() {
    let mut v = value(V1);
    let cert = v["verificationMaterial"]["certificate"].clone();
    let vm = v["verificationMaterial"].as_object_mut().unwrap();
    vm.remove("certificate");
    vm.insert(
        "x509CertificateChain".into(),
        json!({ "certificates": [cert] }),
    );
    assert_eq!(read(&v), Err(BundleError::ExpectedCertificate));
}

#[test]
fn v0_2_requires_chain_and_reads_it() {
    let mut v = value(V1);
    v["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.2");
    assert_eq!(read(&v), Err(BundleError::ExpectedCertificateChain));
    let cert = v["verificationMaterial"]["certificate"].clone();
    let vm = v["verificationMaterial"].as_object_mut().unwrap();
    vm.remove("certificate");
    vm.insert(
        "x509CertificateChain".into(),
        json!({ "certificates": [cert] }),
    );
    let bundle = read(&v).unwrap();
    assert!(matches!(bundle.certificates, SigningCertificates::Chain(ref c) if c.len() == 1));
    assert_eq!(
        Bundle::from_json(&bundle.to_json().unwrap()).unwrap(),
        bundle
    );
}

#[test]
fn v0_1_requires_inclusion_promise() {
    let mut v = value(V2);
    v["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.1");
    let cert = v["verificationMaterial"]["certificate"].clone();
    let vm = v["verificationMaterial"].as_object_mut().unwrap();
    vm.remove("certificate");
    vm.insert(
        "x509CertificateChain".into(),
        json!({ "certificates": [cert] }),
    );
    assert_eq!(read(&v), Err(BundleError::MissingInclusionPromise));
}

#[test]
fn v2_entry_without_timestamps_has_no_signed_time() {
    let mut v = value(V2);
    v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"] = json!([]);
    assert_eq!(read(&v), Err(BundleError::NoSignedTime));
}

#[test]
fn exactly_one_log_entry_is_required() {
    let mut v = value(V1);
    let entry = v["verificationMaterial"]["tlogEntries"][0].clone();
    v["verificationMaterial"]["tlogEntries"] = json!([entry.clone(), entry]);
    assert_eq!(read(&v), Err(BundleError::LogEntryCount(2)));
    v["verificationMaterial"]["tlogEntries"] = json!([]);
    assert_eq!(read(&v), Err(BundleError::LogEntryCount(0)));
}

#[test]
fn entry_version_other_than_0_0_1_or_0_0_2_is_refused() {
    let mut v = value(V1);
    v["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"] = json!("0.0.3");
    assert!(matches!(read(&v), Err(BundleError::IncompatibleEntry(_))));
}

#[test]
fn entry_without_checkpoint_is_refused() {
    let mut v = value(V1);
    v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
        .as_object_mut()
        .unwrap()
        .remove("checkpoint");
    assert!(matches!(read(&v), Err(BundleError::Malformed(_))));
}

#[test]
fn both_contents_or_none_are_refused() {
    let mut v = value(V1);
    v["dsseEnvelope"] = json!({"payload": "", "payloadType": "x", "signatures": [{"sig": ""}]});
    assert_eq!(read(&v), Err(BundleError::ContentOneof));
    let mut v = value(V1);
    v.as_object_mut().unwrap().remove("messageSignature");
    assert_eq!(read(&v), Err(BundleError::ContentOneof));
}

#[test]
fn two_verification_materials_are_refused() {
    let mut v = value(V1);
    v["verificationMaterial"]["publicKey"] = json!({"hint": "k"});
    assert_eq!(read(&v), Err(BundleError::VerificationMaterialOneof));
}

#[test]
fn public_key_material_is_refused() {
    let mut v = value(V1);
    let vm = v["verificationMaterial"].as_object_mut().unwrap();
    vm.remove("certificate");
    vm.insert("publicKey".into(), json!({"hint": "k"}));
    assert_eq!(read(&v), Err(BundleError::PublicKeyMaterial));
}

#[test]
fn unknown_fields_are_refused_at_every_level() {
    for path in [
        &[][..],
        &["verificationMaterial"][..],
        &["messageSignature"][..],
        &["messageSignature", "messageDigest"][..],
        &["verificationMaterial", "certificate"][..],
    ] {
        let mut v = value(V1);
        let mut target = &mut v;
        for key in path {
            target = &mut target[*key];
        }
        target["extra"] = json!(1);
        assert!(
            matches!(read(&v), Err(BundleError::Malformed(ref m)) if m.contains("unknown field")),
            "{path:?}"
        );
    }
}

#[test]
fn certificate_that_does_not_parse_is_refused() {
    let mut v = value(V1);
    v["verificationMaterial"]["certificate"]["rawBytes"] = json!("AAEC");
    assert!(matches!(
        read(&v),
        Err(BundleError::Certificate { index: 0, .. })
    ));
}

#[test]
fn timestamp_that_is_not_a_response_is_refused() {
    let mut v = value(V1);
    v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"] =
        json!("MAA=");
    assert!(matches!(
        read(&v),
        Err(BundleError::Timestamp { index: 0, .. })
    ));
}

#[test]
fn digest_of_wrong_length_is_refused() {
    let mut v = value(V1);
    v["messageSignature"]["messageDigest"]["digest"] = json!("AAEC");
    assert!(matches!(read(&v), Err(BundleError::DigestLength { .. })));
    let mut v = value(V1);
    v["messageSignature"]["messageDigest"]["algorithm"] = json!("SHA3_256");
    assert!(matches!(read(&v), Err(BundleError::Malformed(_))));
}

#[test]
fn truncated_json_is_refused() {
    for len in [0, 1, V1.len() / 2, V1.len() - 1] {
        assert!(matches!(
            Bundle::from_json(&V1[..len]),
            Err(BundleError::Malformed(_))
        ));
    }
}

#[test]
fn oversize_bundle_is_refused_before_parsing() {
    let big = vec![b' '; MAX_BUNDLE_BYTES + 1];
    assert_eq!(
        Bundle::from_json(&big),
        Err(BundleError::TooLarge(MAX_BUNDLE_BYTES + 1))
    );
}

mod prop {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = Bundle::from_json(&bytes);
        }

        #[test]
        fn parser_never_panics_on_mutated_bundles(pos in 0usize..V1.len(), byte in any::<u8>()) {
            let mut mutated = V1.to_vec();
            mutated[pos] = byte;
            let _ = Bundle::from_json(&mutated);
        }
    }
}
