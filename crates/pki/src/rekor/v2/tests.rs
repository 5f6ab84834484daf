//! Tests of the Rekor v2 requests and entries: a rule per test, real keys throughout.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::*;
use crate::keys::EcdsaP256Signer;
use crate::rekor::tests::arb_json;
use crate::verify::VerifyError;

const ARTIFACT: &[u8] = b"an artifact for the v2 log";

/// Signs a message (with the hash its key details name).
type SignFn = Box<dyn Fn(&[u8]) -> Vec<u8>>;

/// A key that signs messages, with its SPKI and key details.
struct Signer {
    sign: SignFn,
    spki: Vec<u8>,
    details: &'static str,
}

fn p256() -> Signer {
    let key = EcdsaP256Signer::generate().unwrap();
    Signer {
        spki: key.spki_der(),
        sign: Box::new(move |m| key.sign(m).unwrap()),
        details: "PKIX_ECDSA_P256_SHA_256",
    }
}

fn ecdsa(alg: &'static EcdsaSigningAlgorithm, details: &'static str) -> Signer {
    let key = EcdsaKeyPair::generate(alg).unwrap();
    Signer {
        spki: key.public_key().as_der().unwrap().as_ref().to_vec(),
        sign: Box::new(move |m| key.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec()),
        details,
    }
}

fn rsa2048() -> Signer {
    let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    Signer {
        spki: key.public_key().as_der().unwrap().as_ref().to_vec(),
        sign: Box::new(move |m| {
            let mut sig = vec![0; key.public_modulus_len()];
            key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), m, &mut sig)
                .unwrap();
            sig
        }),
        details: "PKIX_RSA_PKCS1V15_2048_SHA256",
    }
}

fn ed25519() -> Signer {
    let key = Ed25519KeyPair::generate().unwrap();
    Signer {
        spki: key.public_key().as_der().unwrap().as_ref().to_vec(),
        sign: Box::new(move |m| key.sign(m).as_ref().to_vec()),
        details: "PKIX_ED25519",
    }
}

fn public_key(spki: &[u8], details: &str) -> Value {
    json!({"publicKey": {"rawBytes": STANDARD.encode(spki)}, "keyDetails": details})
}

fn hashedrekord(digest: &[u8], sig: &[u8], verifier: Value) -> Value {
    json!({"hashedRekordRequestV002": {
        "digest": STANDARD.encode(digest),
        "signature": {"content": STANDARD.encode(sig), "verifier": verifier},
    }})
}

fn p256_request() -> (Signer, Value) {
    let signer = p256();
    let request = hashedrekord(
        &Sha256::digest(ARTIFACT),
        &(signer.sign)(ARTIFACT),
        public_key(&signer.spki, signer.details),
    );
    (signer, request)
}

fn parse(value: &Value) -> Result<CreateEntryRequest, RekorError> {
    CreateEntryRequest::from_json(&serde_json::to_vec(value).unwrap())
}

/// Parse, verify, canonicalize: every check a submission goes through.
fn submit(value: &Value) -> Result<Vec<u8>, RekorError> {
    let request = parse(value)?;
    request.verify()?;
    request.canonical_body()
}

/// `value` with the member at `path` replaced (or added).
fn with(value: &Value, path: &[&str], new: Value) -> Value {
    let mut doc = value.clone();
    let (last, parents) = path.split_last().unwrap();
    let mut at = &mut doc;
    for p in parents {
        at = &mut at[*p];
    }
    at[*last] = new;
    doc
}

/// `value` without the member at `path`.
fn without(value: &Value, path: &[&str]) -> Value {
    let mut doc = value.clone();
    let (last, parents) = path.split_last().unwrap();
    let mut at = &mut doc;
    for p in parents {
        at = &mut at[*p];
    }
    at.as_object_mut().unwrap().remove(*last);
    doc
}

fn malformed(result: Result<impl std::fmt::Debug, RekorError>) {
    assert!(
        matches!(result, Err(RekorError::Malformed { .. })),
        "expected Malformed, got {result:?}"
    );
}

const SIG: &[&str] = &["hashedRekordRequestV002", "signature"];
const VERIFIER: &[&str] = &["hashedRekordRequestV002", "signature", "verifier"];

fn at(base: &[&'static str], last: &'static str) -> Vec<&'static str> {
    base.iter().copied().chain([last]).collect()
}

// ---- hashedrekord ---------------------------------------------------------------------

/// The body is rekor-tiles' `Entry` through protojson and RFC 8785: members sorted,
/// the request's signature and verifier repeated, the digest's algorithm named.
#[test]
fn hashedrekord_p256_body_is_the_canonical_entry() {
    let (signer, request) = p256_request();
    let parsed = parse(&request).unwrap();
    assert_eq!(parsed.kind(), "hashedrekord");
    parsed.verify().unwrap();
    let body = String::from_utf8(parsed.canonical_body().unwrap()).unwrap();
    let sig = &request["hashedRekordRequestV002"]["signature"]["content"];
    let expected = format!(
        concat!(
            r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"#,
            r#""data":{{"algorithm":"SHA2_256","digest":"{}"}},"#,
            r#""signature":{{"content":{},"verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","#,
            r#""publicKey":{{"rawBytes":"{}"}}}}}}}}}}}}"#
        ),
        STANDARD.encode(Sha256::digest(ARTIFACT)),
        sig,
        STANDARD.encode(&signer.spki),
    );
    assert_eq!(body, expected);
}

/// A Fulcio-style request: the verifier is a certificate, logged as its DER.
#[test]
fn hashedrekord_with_certificate_logs_the_certificate_der() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["signer.example".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let signer = EcdsaP256Signer::from_pkcs8_der(&key.serialize_der()).unwrap();
    let request = hashedrekord(
        &Sha256::digest(ARTIFACT),
        &signer.sign(ARTIFACT).unwrap(),
        json!({"x509Certificate": {"rawBytes": STANDARD.encode(cert.der())},
               "keyDetails": "PKIX_ECDSA_P256_SHA_256"}),
    );
    let parsed = parse(&request).unwrap();
    let CreateEntryRequest::HashedRekord(h) = &parsed else {
        panic!("not a hashedrekord");
    };
    assert_eq!(
        h.signature().verifier().form(),
        VerifierForm::X509Certificate
    );
    assert_eq!(h.signature().verifier().spki_der(), signer.spki_der());
    let body: Value = serde_json::from_slice(&parsed.canonical_body().unwrap()).unwrap();
    let verifier = &body["spec"]["hashedRekordV002"]["signature"]["verifier"];
    assert_eq!(
        verifier,
        &json!({"keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "x509Certificate": {"rawBytes": STANDARD.encode(cert.der())}})
    );
}

/// P-384 signs a SHA-384 digest, P-521 a SHA-512 one, RSA PKCS#1 v1.5 2048 a SHA-256
/// one: the hash the key details name.
#[test]
fn hashedrekord_digest_follows_the_key_details() {
    let cases: [(Signer, Vec<u8>, &str); 3] = [
        (
            ecdsa(&ECDSA_P384_SHA384_ASN1_SIGNING, "PKIX_ECDSA_P384_SHA_384"),
            Sha384::digest(ARTIFACT).to_vec(),
            "SHA2_384",
        ),
        (
            ecdsa(&ECDSA_P521_SHA512_ASN1_SIGNING, "PKIX_ECDSA_P521_SHA_512"),
            Sha512::digest(ARTIFACT).to_vec(),
            "SHA2_512",
        ),
        (rsa2048(), Sha256::digest(ARTIFACT).to_vec(), "SHA2_256"),
    ];
    for (signer, digest, algorithm) in cases {
        let request = hashedrekord(
            &digest,
            &(signer.sign)(ARTIFACT),
            public_key(&signer.spki, signer.details),
        );
        let body: Value = serde_json::from_slice(&submit(&request).unwrap()).unwrap();
        assert_eq!(
            body["spec"]["hashedRekordV002"]["data"]["algorithm"], algorithm,
            "{}",
            signer.details
        );
    }
}

/// rekor-tiles: "digest length (%d) does not match expected size (%d) for algorithm".
#[test]
fn digest_length_must_be_the_key_details_hash_length() {
    let (signer, request) = p256_request();
    let sha384 = with(
        &request,
        &["hashedRekordRequestV002", "digest"],
        json!(STANDARD.encode(Sha384::digest(ARTIFACT))),
    );
    assert_eq!(
        parse(&sha384),
        Err(RekorError::DigestLength {
            key_details: "PKIX_ECDSA_P256_SHA_256",
            algorithm: "SHA2_256",
            expected: 32,
            len: 48,
        })
    );
    let short = with(
        &request,
        &["hashedRekordRequestV002", "digest"],
        json!(STANDARD.encode([7u8; 31])),
    );
    assert!(matches!(
        parse(&short),
        Err(RekorError::DigestLength { len: 31, .. })
    ));
    drop(signer);
}

#[test]
fn key_type_must_match_the_key_details() {
    let (signer, request) = p256_request();
    for details in [
        "PKIX_ECDSA_P384_SHA_384",
        "PKIX_ECDSA_P521_SHA_512",
        "PKIX_RSA_PKCS1V15_2048_SHA256",
    ] {
        let wrong = with(&request, &at(VERIFIER, "keyDetails"), json!(details));
        assert_eq!(
            parse(&wrong),
            Err(RekorError::KeyDetailsMismatch {
                key_details: KeyDetails::from_name(details).unwrap().name(),
                key: "ECDSA P-256".into(),
            })
        );
    }
    // An RSA key's size is part of its key details.
    let rsa = rsa2048();
    let request = hashedrekord(
        &Sha256::digest(ARTIFACT),
        &(rsa.sign)(ARTIFACT),
        public_key(&rsa.spki, "PKIX_RSA_PKCS1V15_3072_SHA256"),
    );
    assert!(matches!(
        parse(&request),
        Err(RekorError::KeyDetailsMismatch { key, .. }) if key == "RSA 2048-bit"
    ));
    drop(signer);
}

#[test]
fn signature_over_another_digest_is_refused() {
    let (signer, request) = p256_request();
    let other = with(
        &request,
        &["hashedRekordRequestV002", "digest"],
        json!(STANDARD.encode(Sha256::digest(b"another artifact"))),
    );
    let parsed = parse(&other).unwrap();
    assert_eq!(
        parsed.verify(),
        Err(RekorError::Signature(VerifyError::BadSignature))
    );
    assert_eq!(
        parsed.canonical_body(),
        Err(RekorError::Signature(VerifyError::BadSignature))
    );
    // And a signature by another key over the right digest.
    let stranger = p256();
    let foreign = with(
        &request,
        &at(SIG, "content"),
        json!(STANDARD.encode((stranger.sign)(ARTIFACT))),
    );
    assert_eq!(
        submit(&foreign),
        Err(RekorError::Signature(VerifyError::BadSignature))
    );
    drop(signer);
}

/// Pure Ed25519 signs the artifact itself, which a hashedrekord does not carry; its
/// pre-hashed form needs Ed25519ph, which aws-lc-rs does not offer. Both are refused
/// by name, before any signature is tried.
#[test]
fn ed25519_hashedrekord_is_refused_with_the_reason() {
    let signer = ed25519();
    let sig = (signer.sign)(ARTIFACT);
    let pure = hashedrekord(
        &Sha512::digest(ARTIFACT),
        &sig,
        public_key(&signer.spki, "PKIX_ED25519"),
    );
    assert!(matches!(
        parse(&pure),
        Err(RekorError::UnsupportedKeyDetails { ref key_details, reason })
            if key_details == "PKIX_ED25519" && reason.contains("whole artifact")
    ));
    let ph = hashedrekord(
        &Sha512::digest(ARTIFACT),
        &sig,
        public_key(&signer.spki, "PKIX_ED25519_PH"),
    );
    let err = parse(&ph).unwrap_err();
    assert!(
        err.to_string().contains("Ed25519ph") && err.to_string().contains("aws-lc-rs"),
        "{err}"
    );
}

#[test]
fn key_details_outside_the_allowed_set_are_refused() {
    let (_, request) = p256_request();
    for details in [
        "PKIX_ECDSA_P384_SHA_256",
        "PKIX_RSA_PSS_2048_SHA256",
        "ML_DSA_65",
    ] {
        let refused = with(&request, &at(VERIFIER, "keyDetails"), json!(details));
        assert!(
            matches!(
                parse(&refused),
                Err(RekorError::UnsupportedKeyDetails { .. })
            ),
            "{details}"
        );
    }
    for unknown in [
        json!("PUBLIC_KEY_DETAILS_UNSPECIFIED"),
        json!("P256"),
        // Enum numbers are protobuf JSON, but no client writes them.
        json!(5),
    ] {
        malformed(parse(&with(&request, &at(VERIFIER, "keyDetails"), unknown)));
    }
    malformed(parse(&without(&request, &at(VERIFIER, "keyDetails"))));
}

/// Protobuf JSON parsers "accept both the lowerCamelCase name ... and the original
/// proto field name".
#[test]
fn snake_case_field_names_are_accepted() {
    let (signer, request) = p256_request();
    let inner = &request["hashedRekordRequestV002"];
    let snake = json!({"hashed_rekord_request_v002": {
        "digest": inner["digest"],
        "signature": {
            "content": inner["signature"]["content"],
            "verifier": {
                "public_key": {"raw_bytes": STANDARD.encode(&signer.spki)},
                "key_details": "PKIX_ECDSA_P256_SHA_256",
            },
        },
    }});
    assert_eq!(parse(&snake).unwrap(), parse(&request).unwrap());
    let cert = json!({"x509_certificate": {"raw_bytes": "AA=="}, "keyDetails": "PKIX_ED25519"});
    // Read as a certificate (and refused as one), not as an unknown field.
    assert!(matches!(
        parse(&with(&request, VERIFIER, cert)),
        Err(RekorError::BadPublicKey(_))
    ));
}

/// One field under both its names is one field given twice.
#[test]
fn a_field_under_both_names_is_refused() {
    let (_, request) = p256_request();
    let twice = with(
        &request,
        &at(VERIFIER, "key_details"),
        json!("PKIX_ECDSA_P256_SHA_256"),
    );
    malformed(parse(&twice));
}

#[test]
fn both_members_of_a_oneof_are_refused() {
    let (signer, request) = p256_request();
    let both = with(
        &request,
        &["dsseRequestV002"],
        json!({"envelope": {"payload": "e30=", "payloadType": "t", "signatures": [{"sig": "AA=="}]},
               "verifiers": [public_key(&signer.spki, signer.details)]}),
    );
    let err = parse(&both).unwrap_err();
    assert!(err.to_string().contains("both"), "{err}");
    malformed(parse(&json!({})));
    let two_keys = with(
        &request,
        &at(VERIFIER, "x509Certificate"),
        json!({"rawBytes": STANDARD.encode(&signer.spki)}),
    );
    let err = parse(&two_keys).unwrap_err();
    assert!(err.to_string().contains("both"), "{err}");
    malformed(parse(&without(&request, &at(VERIFIER, "publicKey"))));
}

/// rekor-tiles' gateway sets `DiscardUnknown: false`.
#[test]
fn unknown_fields_are_refused_at_every_level() {
    let (_, request) = p256_request();
    for parent in [
        &[][..],
        &["hashedRekordRequestV002"][..],
        SIG,
        VERIFIER,
        &[
            "hashedRekordRequestV002",
            "signature",
            "verifier",
            "publicKey",
        ][..],
    ] {
        let mut path: Vec<&str> = parent.to_vec();
        path.push("extra");
        malformed(parse(&with(&request, &path, json!(1))));
    }
    malformed(parse(&json!({"rekordRequestV002": {}})));
}

/// proto3 JSON: "null is accepted for all field types and treated as the default
/// value"; for a oneof member, as not set.
#[test]
fn null_is_an_absent_field() {
    let (_, request) = p256_request();
    let with_null = with(&request, &["dsseRequestV002"], Value::Null);
    assert_eq!(parse(&with_null).unwrap(), parse(&request).unwrap());
    malformed(parse(&with(
        &request,
        &["hashedRekordRequestV002"],
        Value::Null,
    )));
    malformed(parse(&with(&request, &at(SIG, "content"), Value::Null)));
}

#[test]
fn missing_or_empty_bytes_are_refused() {
    let (_, request) = p256_request();
    for path in [
        vec!["hashedRekordRequestV002", "digest"],
        at(SIG, "content"),
        vec![
            "hashedRekordRequestV002",
            "signature",
            "verifier",
            "publicKey",
            "rawBytes",
        ],
    ] {
        malformed(parse(&without(&request, &path)));
        malformed(parse(&with(&request, &path, json!(""))));
    }
    malformed(parse(&without(&request, &at(SIG, "verifier"))));
    malformed(parse(&without(&request, SIG)));
}

/// Clients write standard base64 with padding; other alphabets and garbage are refused.
#[test]
fn bytes_are_standard_padded_base64() {
    let (_, request) = p256_request();
    let digest = Sha256::digest(ARTIFACT);
    for text in [
        STANDARD_NO_PAD.encode(digest),
        URL_SAFE.encode([0xfb_u8; 32]),
        "not base64!".into(),
    ] {
        malformed(parse(&with(
            &request,
            &["hashedRekordRequestV002", "digest"],
            json!(text),
        )));
    }
}

#[test]
fn oversized_inputs_are_refused_before_work() {
    let (_, request) = p256_request();
    let too_large = |result: Result<CreateEntryRequest, RekorError>| {
        assert!(
            matches!(result, Err(RekorError::TooLarge { .. })),
            "{result:?}"
        );
    };
    let mut huge = serde_json::to_vec(&request).unwrap();
    huge.resize(MAX_REQUEST_BYTES + 1, b' ');
    too_large(CreateEntryRequest::from_json(&huge));
    too_large(parse(&with(
        &request,
        &at(SIG, "content"),
        json!(STANDARD.encode(vec![1u8; MAX_SIGNATURE_BYTES + 1])),
    )));
    too_large(parse(&with(
        &request,
        &["hashedRekordRequestV002", "digest"],
        json!(STANDARD.encode([1u8; 65])),
    )));
    too_large(parse(&with(
        &request,
        &[
            "hashedRekordRequestV002",
            "signature",
            "verifier",
            "publicKey",
            "rawBytes",
        ],
        json!(STANDARD.encode(vec![1u8; MAX_VERIFIER_DER_BYTES + 1])),
    )));
    // Exactly the bound is not too large.
    let at_bound = with(
        &request,
        &at(SIG, "content"),
        json!(STANDARD.encode(vec![1u8; MAX_SIGNATURE_BYTES])),
    );
    assert!(matches!(submit(&at_bound), Err(RekorError::Signature(_))));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    malformed(CreateEntryRequest::from_json(deep.as_bytes()));
}

#[test]
fn garbage_keys_and_certificates_are_bad_public_keys() {
    let (_, request) = p256_request();
    let garbage = json!(STANDARD.encode(b"not DER"));
    assert!(matches!(
        parse(&with(
            &request,
            &[
                "hashedRekordRequestV002",
                "signature",
                "verifier",
                "publicKey",
                "rawBytes"
            ],
            garbage.clone()
        )),
        Err(RekorError::BadPublicKey(_))
    ));
    let as_cert = with(
        &request,
        VERIFIER,
        json!({"x509Certificate": {"rawBytes": garbage}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"}),
    );
    assert!(matches!(parse(&as_cert), Err(RekorError::BadPublicKey(_))));
}

/// What a client writes is what the log reads.
#[test]
fn request_json_round_trips() {
    let (_, request) = p256_request();
    let parsed = parse(&request).unwrap();
    let written = parsed.to_json().unwrap();
    assert_eq!(CreateEntryRequest::from_json(&written).unwrap(), parsed);
    let dsse = dsse_request(&[p256()], b"{}");
    let parsed = parse(&dsse).unwrap();
    assert_eq!(
        CreateEntryRequest::from_json(&parsed.to_json().unwrap()).unwrap(),
        parsed
    );
}

// ---- dsse ------------------------------------------------------------------------------

const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// An envelope over `payload` signed by each of `signers`, with them as verifiers.
fn dsse_request(signers: &[Signer], payload: &[u8]) -> Value {
    let pae = pae(PAYLOAD_TYPE, payload);
    json!({"dsseRequestV002": {
        "envelope": {
            "payload": STANDARD.encode(payload),
            "payloadType": PAYLOAD_TYPE,
            "signatures": signers.iter().map(|s| json!({"sig": STANDARD.encode((s.sign)(&pae)), "keyid": ""})).collect::<Vec<_>>(),
        },
        "verifiers": signers.iter().map(|s| public_key(&s.spki, s.details)).collect::<Vec<_>>(),
    }})
}

/// rekor-tiles' `dsse` 0.0.2: the payload's SHA-256 and the verified signatures,
/// sorted by their bytes, each with the verifier that verified it.
#[test]
fn dsse_body_records_sorted_signatures_with_their_verifiers() {
    let payload = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[]}"#;
    let signers = [
        p256(),
        ed25519(),
        ecdsa(&ECDSA_P384_SHA384_ASN1_SIGNING, "PKIX_ECDSA_P384_SHA_384"),
    ];
    let request = dsse_request(&signers, payload);
    let parsed = parse(&request).unwrap();
    assert_eq!(parsed.kind(), "dsse");
    let body: Value = serde_json::from_slice(&parsed.canonical_body().unwrap()).unwrap();
    assert_eq!(body["apiVersion"], "0.0.2");
    assert_eq!(body["kind"], "dsse");
    let entry = &body["spec"]["dsseV002"];
    assert_eq!(
        entry["payloadHash"],
        json!({"algorithm": "SHA2_256", "digest": STANDARD.encode(Sha256::digest(payload))})
    );
    let recorded = entry["signatures"].as_array().unwrap();
    assert_eq!(recorded.len(), 3);
    let contents: Vec<Vec<u8>> = recorded
        .iter()
        .map(|s| STANDARD.decode(s["content"].as_str().unwrap()).unwrap())
        .collect();
    let mut sorted = contents.clone();
    sorted.sort();
    assert_eq!(contents, sorted);
    let sent = request["dsseRequestV002"]["envelope"]["signatures"]
        .as_array()
        .unwrap();
    for s in recorded {
        let i = sent
            .iter()
            .position(|sent| sent["sig"] == s["content"])
            .unwrap();
        assert_eq!(
            s["verifier"],
            public_key(&signers[i].spki, signers[i].details)
        );
    }
}

#[test]
fn dsse_signature_that_no_verifier_verifies_is_refused() {
    let payload = b"{}";
    let (signer, stranger) = (p256(), p256());
    let mut request = dsse_request(&[signer], payload);
    request["dsseRequestV002"]["verifiers"] = json!([public_key(&stranger.spki, stranger.details)]);
    assert_eq!(
        submit(&request),
        Err(RekorError::UnverifiedDsseSignature(0))
    );
    // A signature over the bare payload, not its pre-authentication encoding.
    let bare = dsse_request(&[stranger], payload);
    let signer = p256();
    let bare = with(
        &bare,
        &["dsseRequestV002", "envelope", "signatures"],
        json!([{"sig": STANDARD.encode((signer.sign)(payload))}]),
    );
    let bare = with(
        &bare,
        &["dsseRequestV002", "verifiers"],
        json!([public_key(&signer.spki, signer.details)]),
    );
    assert_eq!(submit(&bare), Err(RekorError::UnverifiedDsseSignature(0)));
}

/// rekor-tiles checks each verifier against a threshold of one signature.
#[test]
fn dsse_verifier_that_verifies_nothing_is_refused() {
    let payload = b"{}";
    let (signer, idle) = (p256(), p256());
    let mut request = dsse_request(&[signer], payload);
    request["dsseRequestV002"]["verifiers"]
        .as_array_mut()
        .unwrap()
        .push(public_key(&idle.spki, idle.details));
    assert_eq!(submit(&request), Err(RekorError::UnusedDsseVerifier(1)));
}

/// A P-384 verifier checks its signature with SHA-384 over the PAE, its key details'
/// hash (the same signature checked with SHA-256 would fail).
#[test]
fn dsse_signatures_are_checked_with_the_key_details_hash() {
    let payload = b"{}";
    let signer = ecdsa(&ECDSA_P384_SHA384_ASN1_SIGNING, "PKIX_ECDSA_P384_SHA_384");
    let sig = (signer.sign)(&pae(PAYLOAD_TYPE, payload));
    assert!(
        crate::verify::verify_by_key(
            &signer.spki,
            HashAlgorithm::Sha256,
            &pae(PAYLOAD_TYPE, payload),
            &sig
        )
        .is_err()
    );
    submit(&dsse_request(&[signer], payload)).unwrap();
}

#[test]
fn dsse_repeated_signature_is_recorded_once() {
    let payload = b"{}";
    let signer = p256();
    let mut request = dsse_request(&[signer], payload);
    let sigs = request["dsseRequestV002"]["envelope"]["signatures"]
        .as_array_mut()
        .unwrap();
    let first = sigs[0].clone();
    sigs.push(first);
    let body: Value = serde_json::from_slice(&submit(&request).unwrap()).unwrap();
    assert_eq!(
        body["spec"]["dsseV002"]["signatures"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn dsse_limits_are_rekor_tiles_limits() {
    let payload = b"{}";
    let signer = p256();
    let request = dsse_request(&[signer], payload);
    let verifier = request["dsseRequestV002"]["verifiers"][0].clone();
    let sig = request["dsseRequestV002"]["envelope"]["signatures"][0].clone();
    let repeated = with(
        &request,
        &["dsseRequestV002", "verifiers"],
        json!([verifier, verifier]),
    );
    assert!(matches!(parse(&repeated), Err(RekorError::Invalid(_))));
    let many_verifiers = with(
        &request,
        &["dsseRequestV002", "verifiers"],
        json!(vec![verifier.clone(); MAX_DSSE_VERIFIERS + 1]),
    );
    assert!(matches!(
        parse(&many_verifiers),
        Err(RekorError::TooLarge { .. })
    ));
    let many_sigs = with(
        &request,
        &["dsseRequestV002", "envelope", "signatures"],
        json!(vec![sig; MAX_DSSE_SIGNATURES + 1]),
    );
    assert!(matches!(
        parse(&many_sigs),
        Err(RekorError::TooLarge { .. })
    ));
    for path in [
        &["dsseRequestV002", "verifiers"][..],
        &["dsseRequestV002", "envelope", "signatures"][..],
    ] {
        malformed(parse(&with(&request, path, json!([]))));
        malformed(parse(&without(&request, path)));
    }
    malformed(parse(&without(&request, &["dsseRequestV002", "envelope"])));
    malformed(parse(&with(
        &request,
        &["dsseRequestV002", "envelope", "signatures"],
        json!([{"sig": ""}]),
    )));
    // The envelope's field is `payloadType` in the proto itself: no second spelling.
    malformed(parse(&with(
        &request,
        &["dsseRequestV002", "envelope", "payload_type"],
        json!(PAYLOAD_TYPE),
    )));
}

proptest! {
    #[test]
    fn request_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(request) = CreateEntryRequest::from_json(&bytes) {
            let _ = request.canonical_body();
        }
    }

    #[test]
    fn request_parser_never_panics_on_json(value in arb_json()) {
        for doc in [
            json!({"hashedRekordRequestV002": value}),
            json!({"hashedRekordRequestV002": {"digest": "AA==", "signature": value}}),
            json!({"dsseRequestV002": value}),
            json!({"dsseRequestV002": {"envelope": value, "verifiers": []}}),
        ] {
            if let Ok(request) = parse(&doc) {
                let _ = request.canonical_body();
            }
        }
    }
}
