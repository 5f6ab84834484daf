use super::*;
use clock::ManualClock;
use cms::signed_data::SignedData;
use der::asn1::Int;
use pki::tsp::{MessageImprint, PkiStatus, TimeStampResp};

const NOW_MS: u64 = 1_700_000_000_123;

/// Serials that are all 0xff: the top bit must be cleared before use.
struct FixedSerials;

impl SerialSource for FixedSerials {
    fn next_serial(&self) -> Result<[u8; 20], ca::cert::CertError> {
        Ok([0xff; 20])
    }
}

fn tsa() -> TimeStampAuthority {
    let dev = EphemeralTsa::generate(SystemTime::now()).unwrap();
    TimeStampAuthority::new(
        dev.signer,
        dev.chain,
        TsaSettings::default(),
        Arc::new(ManualClock::new(NOW_MS)),
        Arc::new(FixedSerials),
    )
    .unwrap()
}

fn request(algorithm: HashAlgorithm, len: usize) -> TimeStampReq {
    TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: algorithm.identifier(),
            hashed_message: OctetString::new(vec![0xab; len]).unwrap(),
        },
        req_policy: None,
        nonce: Some(Int::new(&[0x01, 0x02, 0x03]).unwrap()),
        cert_req: true,
        extensions: None,
    }
}

fn rejected(tsa: &TimeStampAuthority, der: &[u8]) -> PkiFailureInfo {
    let resp = TimeStampResp::from_der(&tsa.respond_der(der).unwrap()).unwrap();
    assert_eq!(
        PkiStatus::from_value(resp.status.status),
        Some(PkiStatus::Rejection)
    );
    assert!(resp.time_stamp_token.is_none());
    let bits = PkiFailureInfo::from_bit_string(resp.status.fail_info.as_ref().unwrap());
    assert_eq!(bits.len(), 1);
    bits[0]
}

#[test]
fn token_echoes_imprint_and_nonce_at_clock_time() {
    let tsa = tsa();
    for algorithm in HashAlgorithm::ALL {
        let req = request(algorithm, algorithm.digest_len());
        let der = tsa.respond_der(&req.to_der().unwrap()).unwrap();
        let resp = TimeStampResp::from_der(&der).unwrap();
        assert_eq!(
            PkiStatus::from_value(resp.status.status),
            Some(PkiStatus::Granted)
        );
        let info = resp.tst_info().unwrap();
        assert_eq!(info.version, 1);
        assert_eq!(info.policy, DEV_POLICY);
        assert_eq!(info.message_imprint, req.message_imprint);
        assert_eq!(info.nonce, req.nonce);
        assert_eq!(info.gen_time.unix_ms(), NOW_MS);
        assert_eq!(info.accuracy, Accuracy::from_millis(DEFAULT_ACCURACY_MS));
        // RFC 5280-style serial: positive, at most 20 octets.
        assert_eq!(info.serial_number.as_bytes().len(), 20);
        assert_eq!(info.serial_number.as_bytes()[0], 0x7f);
    }
}

fn signed_data(tsa: &TimeStampAuthority, req: &TimeStampReq) -> SignedData {
    let token = tsa.timestamp(req).unwrap();
    assert_eq!(token.content_type, rfc6268::ID_SIGNED_DATA);
    token.content.decode_as().unwrap()
}

#[test]
fn cert_req_decides_whether_the_certificate_is_included_rfc3161() {
    let tsa = tsa();
    let mut req = request(HashAlgorithm::Sha256, 32);
    let with = signed_data(&tsa, &req).certificates.unwrap();
    assert_eq!(with.0.len(), 1);
    req.cert_req = false;
    assert!(signed_data(&tsa, &req).certificates.is_none());
}

#[test]
fn signature_verifies_over_the_signed_attributes_rfc5652() {
    let tsa = tsa();
    let signed = signed_data(&tsa, &request(HashAlgorithm::Sha512, 64));
    assert_eq!(signed.version, CmsVersion::V3);
    let signer = signed.signer_infos.0.get(0).unwrap();
    let attrs = signer.signed_attrs.as_ref().unwrap();
    let content = signed.encap_content_info.econtent.as_ref().unwrap();
    let content = content.decode_as::<OctetString>().unwrap();
    let value = |oid| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.get(0))
            .unwrap()
            .clone()
    };
    assert_eq!(
        value(rfc6268::ID_CONTENT_TYPE)
            .decode_as::<ObjectIdentifier>()
            .unwrap(),
        rfc3161::ID_CT_TST_INFO
    );
    assert_eq!(
        value(rfc6268::ID_MESSAGE_DIGEST)
            .decode_as::<OctetString>()
            .unwrap()
            .as_bytes(),
        digest::digest(&digest::SHA256, content.as_bytes()).as_ref()
    );
    let ess: SigningCertificateV2 = value(rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2)
        .decode_as()
        .unwrap();
    assert_eq!(
        ess.certs[0].cert_hash.as_bytes(),
        digest::digest(&digest::SHA256, &tsa.chain()[0]).as_ref()
    );
    pki::verify_signature(
        &tsa.signer.spki_der(),
        &signer.signature_algorithm,
        &attrs.to_der().unwrap(),
        signer.signature.as_bytes(),
    )
    .unwrap();
}

#[test]
fn unknown_hash_algorithm_is_bad_alg() {
    let mut req = request(HashAlgorithm::Sha256, 32);
    req.message_imprint.hash_algorithm.oid = rfc5912::ID_SHA_1;
    assert_eq!(
        rejected(&tsa(), &req.to_der().unwrap()),
        PkiFailureInfo::BadAlg
    );
}

#[test]
fn hash_parameters_other_than_null_are_bad_alg() {
    let tsa = tsa();
    let mut req = request(HashAlgorithm::Sha256, 32);
    req.message_imprint.hash_algorithm.parameters = Some(Any::null());
    let der = tsa.respond_der(&req.to_der().unwrap()).unwrap();
    let resp = TimeStampResp::from_der(&der).unwrap();
    assert_eq!(resp.status.status, PkiStatus::Granted as u8);
    req.message_imprint.hash_algorithm.parameters = Some(Any::encode_from(&5u8).unwrap());
    assert_eq!(
        rejected(&tsa, &req.to_der().unwrap()),
        PkiFailureInfo::BadAlg
    );
}

#[test]
fn digest_of_the_wrong_length_is_bad_data_format() {
    let req = request(HashAlgorithm::Sha384, 32);
    assert_eq!(
        rejected(&tsa(), &req.to_der().unwrap()),
        PkiFailureInfo::BadDataFormat
    );
}

#[test]
fn garbage_and_trailing_bytes_are_bad_data_format() {
    let tsa = tsa();
    let mut der = request(HashAlgorithm::Sha256, 32).to_der().unwrap();
    der.push(0);
    for input in [&b""[..], b"\x30\x00", b"not DER at all", &der] {
        assert_eq!(rejected(&tsa, input), PkiFailureInfo::BadDataFormat);
    }
}

#[test]
fn another_policy_is_unaccepted_policy() {
    let mut req = request(HashAlgorithm::Sha256, 32);
    req.req_policy = Some(ObjectIdentifier::new_unwrap("1.2.3.4"));
    assert_eq!(
        rejected(&tsa(), &req.to_der().unwrap()),
        PkiFailureInfo::UnacceptedPolicy
    );
    req.req_policy = Some(DEV_POLICY);
    let tsa = tsa();
    assert!(tsa.timestamp(&req).is_ok());
}

#[test]
fn request_extensions_are_unaccepted_extension() {
    let mut req = request(HashAlgorithm::Sha256, 32);
    req.extensions = Some(vec![x509_cert::ext::Extension {
        extn_id: ObjectIdentifier::new_unwrap("1.2.3.4"),
        critical: false,
        extn_value: OctetString::new(vec![5, 0]).unwrap(),
    }]);
    assert_eq!(
        rejected(&tsa(), &req.to_der().unwrap()),
        PkiFailureInfo::UnacceptedExtension
    );
}

#[test]
fn version_other_than_one_is_bad_request() {
    let mut req = request(HashAlgorithm::Sha256, 32);
    req.version = 2;
    assert_eq!(
        rejected(&tsa(), &req.to_der().unwrap()),
        PkiFailureInfo::BadRequest
    );
}

#[test]
fn tsa_certificate_must_be_for_time_stamping_rfc3161() {
    let dev = EphemeralTsa::generate(SystemTime::now()).unwrap();
    // The root is a CA certificate: no timeStamping EKU.
    let root_only = vec![dev.chain[1].clone()];
    let err = TimeStampAuthority::new(
        dev.signer.clone(),
        root_only,
        TsaSettings::default(),
        Arc::new(ManualClock::new(NOW_MS)),
        Arc::new(FixedSerials),
    )
    .unwrap_err();
    assert!(matches!(err, TsaError::NotTimeStamping(_)), "{err}");
    let other = EphemeralTsa::generate(SystemTime::now()).unwrap();
    let err = TimeStampAuthority::new(
        other.signer,
        dev.chain,
        TsaSettings::default(),
        Arc::new(ManualClock::new(NOW_MS)),
        Arc::new(FixedSerials),
    )
    .unwrap_err();
    assert!(matches!(err, TsaError::KeyMismatch), "{err}");
}

#[test]
fn ephemeral_certificate_has_only_critical_time_stamping_eku() {
    let dev = EphemeralTsa::generate(SystemTime::now()).unwrap();
    let leaf = Certificate::from_der(&dev.chain[0]).unwrap();
    let (critical, eku) = leaf
        .tbs_certificate()
        .get_extension::<ExtendedKeyUsage>()
        .unwrap()
        .unwrap();
    assert!(critical);
    assert_eq!(eku.0, [rfc5280::ID_KP_TIME_STAMPING]);
    let (_, usage) = leaf
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .unwrap()
        .unwrap();
    assert!(usage.digital_signature());
    assert!(!usage.key_cert_sign());
}
