//! Tests of the Rekor wire formats: RFC 8785 vectors, entry round trips and hostile input.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha384};

use super::entry::{MAX_PROPOSED_ENTRY_BYTES, pae};
use super::jcs::{self, ecmascript_number};
use super::*;
use crate::keys::EcdsaP256Signer;

fn canon(v: &Value) -> String {
    String::from_utf8(canonicalize(v).expect("canonical")).expect("utf-8")
}

// ---- RFC 8785 -------------------------------------------------------------------------

/// RFC 8785 Appendix B: IEEE 754 bit patterns and the text each MUST become.
#[test]
fn jcs_numbers_follow_rfc8785_appendix_b() {
    let vectors: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    for (bits, expected) in vectors {
        let x = f64::from_bits(*bits);
        assert_eq!(ecmascript_number(x).unwrap(), *expected, "{bits:016x}");
        if let Some(n) = serde_json::Number::from_f64(x) {
            assert_eq!(canon(&Value::Number(n)), *expected, "{bits:016x}");
        }
    }
}

/// RFC 8785 Appendix B: NaN and Infinity MUST cause an error.
#[test]
fn jcs_non_finite_numbers_are_errors() {
    for bits in [
        0x7fffffffffffffff_u64,
        0x7ff0000000000000,
        0xfff0000000000000,
    ] {
        assert!(matches!(
            ecmascript_number(f64::from_bits(bits)),
            Err(JcsError::NonFinite(_))
        ));
    }
}

/// RFC 8785 §3.2.2 (the example of the whole transformation) with §3.2.2.2's string
/// escaping and §3.2.2.3's numbers.
#[test]
fn jcs_rfc8785_section_3_2_2_example() {
    let input = r#"{
        "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
        "literals": [null, true, false]
    }"#;
    let value: Value = serde_json::from_str(input).unwrap();
    assert_eq!(
        canon(&value),
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    );
}

/// RFC 8785 §3.2.3: members sort by their names' UTF-16 code units (the RFC's example).
#[test]
fn jcs_rfc8785_section_3_2_3_sorting() {
    let input = "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\
        \"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\",\
        \"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\",\
        \"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}";
    let value: Value = serde_json::from_str(input).unwrap();
    let values: Vec<String> = canon(&value)
        .split("\":\"")
        .skip(1)
        .map(|part| part.split('"').next().unwrap().to_string())
        .collect();
    assert_eq!(
        values,
        [
            "Carriage Return",
            "One",
            "Control",
            "Latin Small Letter O With Diaeresis",
            "Euro Sign",
            "Emoji: Grinning Face",
            "Hebrew Letter Dalet With Dagesh",
        ]
    );
}

#[test]
fn jcs_escapes_only_what_json_stringify_escapes() {
    let value = json!("\u{8}\t\n\u{c}\r\u{1}\u{1f}\u{7f}\u{2028}é\"\\/");
    assert_eq!(
        canon(&value),
        "\"\\b\\t\\n\\f\\r\\u0001\\u001f\u{7f}\u{2028}é\\\"\\\\/\""
    );
}

#[test]
fn jcs_integers_are_doubles() {
    assert_eq!(canon(&json!(1_772_216_383_u64)), "1772216383");
    assert_eq!(canon(&json!(-42)), "-42");
    // Beyond 2^53 an integer becomes the nearest double, as JSON.parse makes it.
    assert_eq!(canon(&json!(u64::MAX)), "18446744073709552000");
    assert_eq!(canon(&json!(1e21)), "1e+21");
}

/// Numbers are parsed correctly rounded (serde_json's `float_roundtrip`): a number that
/// reads back one ULP off would be signed as another number (found by proptest).
#[test]
fn jcs_parsed_numbers_keep_their_double() {
    for text in ["1.6617662752780477e+249", "333333333.3333333", "5e-324"] {
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(canon(&value), text);
    }
}

#[test]
fn jcs_refuses_deep_nesting() {
    let mut deep = json!(0);
    for _ in 0..jcs::MAX_DEPTH {
        deep = json!([deep]);
    }
    assert!(canonicalize(&deep).is_ok());
    let deeper = json!({ "a": deep });
    assert_eq!(canonicalize(&deeper), Err(JcsError::TooDeep));
}

proptest! {
    /// Any finite double prints as text that reads back as the same double.
    #[test]
    fn jcs_numbers_round_trip(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        let text = ecmascript_number(x).unwrap();
        let back: f64 = text.parse().unwrap();
        prop_assert_eq!(back, if x == 0.0 { 0.0 } else { x });
    }

    /// Canonical JSON parses back to the same value and is a fixed point.
    #[test]
    fn jcs_is_idempotent(value in arb_json()) {
        let once = canonicalize(&value).unwrap();
        let parsed: Value = serde_json::from_slice(&once).unwrap();
        prop_assert_eq!(canonicalize(&parsed).unwrap(), once);
    }
}

/// Arbitrary JSON values (shallow), for parsers that must never panic.
pub(super) fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".*", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

// ---- entries --------------------------------------------------------------------------

fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap()
}

fn p256() -> (EcdsaP256Signer, Verifier) {
    let signer = EcdsaP256Signer::generate().unwrap();
    let verifier = Verifier::from_pem(pem("PUBLIC KEY", &signer.spki_der()).as_bytes()).unwrap();
    (signer, verifier)
}

fn hashedrekord_json(sig: &[u8], key_pem: &str, algorithm: &str, value: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {"content": STANDARD.encode(sig), "publicKey": {"content": STANDARD.encode(key_pem)}},
            "data": {"hash": {"algorithm": algorithm, "value": value}},
        },
    }))
    .unwrap()
}

const ARTIFACT: &[u8] = b"an artifact to log";

fn signed_p256_entry() -> (EcdsaP256Signer, Vec<u8>) {
    let (signer, _) = p256();
    let sig = signer.sign(ARTIFACT).unwrap();
    let json = hashedrekord_json(
        &sig,
        &pem("PUBLIC KEY", &signer.spki_der()),
        "sha256",
        &hex::encode(Sha256::digest(ARTIFACT)),
    );
    (signer, json)
}

#[test]
fn hashedrekord_p256_verifies_and_canonicalizes() {
    let (signer, json) = signed_p256_entry();
    let entry = parse_proposed_entry(&json).unwrap();
    entry.verify().unwrap();
    let body = entry.canonical_body().unwrap();
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(
        text.starts_with(r#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":""#),
        "{text}"
    );
    // The body is itself a proposed entry, and a fixed point.
    assert_eq!(
        parse_proposed_entry(&body)
            .unwrap()
            .canonical_body()
            .unwrap(),
        body
    );
    let ProposedEntry::HashedRekord(h) = entry else {
        panic!("not a hashedrekord")
    };
    assert_eq!(h.verifier().spki_der(), signer.spki_der());
    assert_eq!(h.hash().digest(), Sha256::digest(ARTIFACT).as_slice());
}

#[test]
fn hashedrekord_p384_sha384_and_rsa_pkcs1_verify() {
    let rng = SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, &rng).unwrap();
    let p384 = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, doc.as_ref()).unwrap();
    let spki = spki_der(&p384);
    let sig = p384.sign(&rng, ARTIFACT).unwrap();
    let json = hashedrekord_json(
        sig.as_ref(),
        &pem("PUBLIC KEY", &spki),
        "sha384",
        &hex::encode(Sha384::digest(ARTIFACT)),
    );
    parse_proposed_entry(&json)
        .unwrap()
        .canonical_body()
        .unwrap();

    let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let mut sig = vec![0; rsa.public_modulus_len()];
    rsa.sign(&RSA_PKCS1_SHA256, &rng, ARTIFACT, &mut sig)
        .unwrap();
    let spki = spki_der(&rsa);
    let json = hashedrekord_json(
        &sig,
        &pem("PUBLIC KEY", &spki),
        "sha256",
        &hex::encode(Sha256::digest(ARTIFACT)),
    );
    parse_proposed_entry(&json)
        .unwrap()
        .canonical_body()
        .unwrap();
}

fn spki_der(
    key: &impl KeyPair<
        PublicKey: aws_lc_rs::encoding::AsDer<aws_lc_rs::encoding::PublicKeyX509Der<'static>>,
    >,
) -> Vec<u8> {
    use aws_lc_rs::encoding::AsDer;
    key.public_key().as_der().unwrap().as_ref().to_vec()
}

#[test]
fn hashedrekord_with_certificate_stores_the_certificate_pem() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["signer.example".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let signer = EcdsaP256Signer::from_pkcs8_der(&key.serialize_der()).unwrap();
    let sig = signer.sign(ARTIFACT).unwrap();
    let cert_pem = pem("CERTIFICATE", cert.der());
    let json = hashedrekord_json(
        &sig,
        &cert_pem,
        "sha256",
        &hex::encode(Sha256::digest(ARTIFACT)),
    );
    let body: Value = serde_json::from_slice(
        &parse_proposed_entry(&json)
            .unwrap()
            .canonical_body()
            .unwrap(),
    )
    .unwrap();
    let stored = STANDARD
        .decode(
            body["spec"]["signature"]["publicKey"]["content"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(stored, cert_pem.as_bytes());
}

/// Rekor re-encodes a bare key as Go's `MarshalPKIXPublicKey` does: RSA gets NULL
/// parameters even when the submitted SPKI has none.
#[test]
fn rsa_key_without_null_parameters_is_stored_with_them() {
    let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let spki = spki_der(&rsa);
    let mut parsed = <spki::SubjectPublicKeyInfoOwned as der::Decode>::from_der(&spki).unwrap();
    parsed.algorithm.parameters = None;
    let stripped = der::Encode::to_der(&parsed).unwrap();
    assert_ne!(stripped, spki);
    let v = Verifier::from_pem(pem("PUBLIC KEY", &stripped).as_bytes()).unwrap();
    assert_eq!(v.spki_der(), spki);
    assert_eq!(v.canonical_pem().unwrap(), pem("PUBLIC KEY", &spki));
}

#[test]
fn hashedrekord_hostile_input_is_a_typed_error() {
    let (signer, good) = signed_p256_entry();
    let good: Value = serde_json::from_slice(&good).unwrap();
    let with = |path: &[&str], v: Value| {
        let mut doc = good.clone();
        let mut at = &mut doc;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = v;
        serde_json::to_vec(&doc).unwrap()
    };
    let check = |json: &[u8]| parse_proposed_entry(json).and_then(|e| e.canonical_body());

    assert!(matches!(
        check(&with(&["kind"], json!("rekord"))),
        Err(RekorError::UnsupportedKind { .. })
    ));
    assert!(matches!(
        check(&with(&["apiVersion"], json!("0.0.2"))),
        Err(RekorError::UnsupportedKind { .. })
    ));
    assert!(matches!(
        check(&with(
            &["spec", "signature", "content"],
            json!("not base64!")
        )),
        Err(RekorError::Malformed { .. })
    ));
    assert!(matches!(
        check(&with(
            &["spec", "signature", "publicKey", "content"],
            json!("%%%")
        )),
        Err(RekorError::Malformed { .. })
    ));
    assert!(matches!(
        check(&with(
            &["spec", "signature", "publicKey", "content"],
            json!(STANDARD.encode("no pem"))
        )),
        Err(RekorError::BadPublicKey(_))
    ));
    assert!(matches!(
        check(&with(
            &["spec", "data", "hash", "value"],
            json!("zz".repeat(32))
        )),
        Err(RekorError::BadHashValue { .. })
    ));
    // A SHA-256 digest that claims to be SHA-384.
    assert!(matches!(
        check(&with(
            &["spec", "data", "hash", "algorithm"],
            json!("sha384")
        )),
        Err(RekorError::BadHashValue { .. })
    ));
    assert!(matches!(
        check(&with(&["spec", "data", "hash", "algorithm"], json!("md5"))),
        Err(RekorError::UnsupportedHash(_))
    ));
    // The digest of another artifact.
    let other = hex::encode(Sha256::digest(b"another artifact"));
    assert!(matches!(
        check(&with(&["spec", "data", "hash", "value"], json!(other))),
        Err(RekorError::Signature(crate::VerifyError::BadSignature))
    ));
    // A signature by another key.
    let (other_signer, _) = p256();
    let sig = STANDARD.encode(other_signer.sign(ARTIFACT).unwrap());
    assert!(matches!(
        check(&with(&["spec", "signature", "content"], json!(sig))),
        Err(RekorError::Signature(_))
    ));
    assert!(matches!(
        check(&with(&["spec", "extra"], json!(1))),
        Err(RekorError::Malformed { .. })
    ));
    assert!(matches!(
        check(&with(&["spec", "data"], json!(null))),
        Err(RekorError::Malformed { .. })
    ));
    let huge = STANDARD.encode(vec![0u8; 4096]);
    assert!(matches!(
        check(&with(&["spec", "signature", "content"], json!(huge))),
        Err(RekorError::TooLarge { .. })
    ));
    let oversized = vec![b' '; MAX_PROPOSED_ENTRY_BYTES + 1];
    assert!(matches!(
        check(&oversized),
        Err(RekorError::TooLarge { .. })
    ));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(
        check(deep.as_bytes()),
        Err(RekorError::Malformed { .. })
    ));
    assert!(matches!(
        check(b"{\"apiVersion\":1e400}"),
        Err(RekorError::Malformed { .. })
    ));
    drop(signer);
}

/// Rekor's hashedrekord verifies Ed25519 as Ed25519ph, which aws-lc-rs does not offer:
/// such an entry is refused with a typed error, not logged unverified.
#[test]
fn hashedrekord_ed25519_is_refused() {
    let rng = SystemRandom::new();
    let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let key = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
    let sig = key.sign(ARTIFACT);
    let spki = spki_der(&key);
    let json = hashedrekord_json(
        sig.as_ref(),
        &pem("PUBLIC KEY", &spki),
        "sha512",
        &hex::encode(sha2::Sha512::digest(ARTIFACT)),
    );
    assert!(matches!(
        parse_proposed_entry(&json).unwrap().canonical_body(),
        Err(RekorError::Signature(
            crate::VerifyError::UnsupportedAlgorithm(_)
        ))
    ));
}

proptest! {
    #[test]
    fn proposed_entry_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_proposed_entry(&bytes).and_then(|e| e.canonical_body());
    }

    #[test]
    fn proposed_entry_parser_never_panics_on_json(value in arb_json()) {
        let doc = json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": value});
        let _ = parse_proposed_entry(&serde_json::to_vec(&doc).unwrap()).and_then(|e| e.canonical_body());
        let doc = json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {"proposedContent": value}});
        let _ = parse_proposed_entry(&serde_json::to_vec(&doc).unwrap()).and_then(|e| e.canonical_body());
    }
}

// ---- dsse -----------------------------------------------------------------------------

fn envelope(payload: &[u8], sigs: &[Vec<u8>]) -> String {
    serde_json::to_string(&json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": STANDARD.encode(payload),
        "signatures": sigs.iter().map(|s| json!({"keyid": "", "sig": STANDARD.encode(s)})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

fn dsse_json(envelope: &str, verifiers: &[String]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": envelope,
            "verifiers": verifiers.iter().map(|p| STANDARD.encode(p)).collect::<Vec<_>>(),
        }},
    }))
    .unwrap()
}

#[test]
fn dsse_pae_is_the_dsse_v1_encoding() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
}

#[test]
fn dsse_entry_verifies_and_canonicalizes() {
    let payload = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
    let pae = pae("application/vnd.in-toto+json", payload);
    let (p256, _) = p256();
    let rng = SystemRandom::new();
    let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let ed = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
    let sigs = vec![p256.sign(&pae).unwrap(), ed.sign(&pae).as_ref().to_vec()];
    let env = envelope(payload, &sigs);
    let verifiers = [
        pem("PUBLIC KEY", &spki_der(&ed)),
        pem("PUBLIC KEY", &p256.spki_der()),
    ];
    let entry = parse_proposed_entry(&dsse_json(&env, &verifiers)).unwrap();
    let body: Value = serde_json::from_slice(&entry.canonical_body().unwrap()).unwrap();
    assert_eq!(body["kind"], "dsse");
    assert_eq!(
        body["spec"]["envelopeHash"]["value"],
        hex::encode(Sha256::digest(env.as_bytes()))
    );
    assert_eq!(
        body["spec"]["payloadHash"]["value"],
        hex::encode(Sha256::digest(payload))
    );
    let signatures = body["spec"]["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2);
    // Sorted by signature text, each with the verifier that verified it.
    let texts: Vec<&str> = signatures
        .iter()
        .map(|s| s["signature"].as_str().unwrap())
        .collect();
    let mut sorted = texts.clone();
    sorted.sort();
    assert_eq!(texts, sorted);
    for s in signatures {
        let text = s["signature"].as_str().unwrap();
        let expected = if text == STANDARD.encode(&sigs[0]) {
            &verifiers[1]
        } else {
            &verifiers[0]
        };
        assert_eq!(s["verifier"], STANDARD.encode(expected));
    }
}

#[test]
fn dsse_signature_without_its_verifier_is_refused() {
    let payload = b"{}";
    let (a, _) = p256();
    let (b, _) = p256();
    let sig = a
        .sign(&pae("application/vnd.in-toto+json", payload))
        .unwrap();
    let env = envelope(payload, &[sig]);
    let json = dsse_json(&env, &[pem("PUBLIC KEY", &b.spki_der())]);
    assert_eq!(
        parse_proposed_entry(&json).unwrap().canonical_body(),
        Err(RekorError::UnverifiedDsseSignature(0))
    );
    // The signature is over the PAE, not the bare payload.
    let bare = a.sign(payload).unwrap();
    let json = dsse_json(
        &envelope(payload, &[bare]),
        &[pem("PUBLIC KEY", &a.spki_der())],
    );
    assert_eq!(
        parse_proposed_entry(&json).unwrap().canonical_body(),
        Err(RekorError::UnverifiedDsseSignature(0))
    );
    let json = dsse_json(&envelope(payload, &[]), &[pem("PUBLIC KEY", &a.spki_der())]);
    assert!(matches!(
        parse_proposed_entry(&json),
        Err(RekorError::Invalid(_))
    ));
    let json = dsse_json("{not json", &[pem("PUBLIC KEY", &a.spki_der())]);
    assert!(matches!(
        parse_proposed_entry(&json),
        Err(RekorError::Malformed { .. })
    ));
}

// ---- log entries and the SET ----------------------------------------------------------

fn sample_entry(signer: &EcdsaP256Signer) -> (String, LogEntry) {
    let (_, json) = signed_p256_entry();
    let body = parse_proposed_entry(&json)
        .unwrap()
        .canonical_body()
        .unwrap();
    let sig = sign_set(signer, &body, 1_700_000_000, 41).unwrap();
    let entry = LogEntry {
        integrated_time: 1_700_000_000,
        log_id: signer.log_id(),
        log_index: 41,
        verification: Verification {
            inclusion_proof: InclusionProof {
                checkpoint: "example.com/log\n42\nAAAA\n\n— example.com/log AAAA\n".into(),
                hashes: vec![[7; 32], [9; 32]],
                log_index: 41,
                root_hash: [1; 32],
                tree_size: 42,
            },
            signed_entry_timestamp: sig,
        },
        body: body.clone(),
    };
    (entry_uuid(&body), entry)
}

#[test]
fn entry_uuid_is_the_rfc6962_leaf_hash() {
    let uuid = entry_uuid(b"body");
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(b"body");
    assert_eq!(uuid, hex::encode(h.finalize()));
    assert_eq!(uuid.len(), 64);
}

#[test]
fn log_entry_answer_round_trips_in_rekor_field_order() {
    let log = EcdsaP256Signer::generate().unwrap();
    let (uuid, entry) = sample_entry(&log);
    let answer: LogEntryAnswer = [(uuid.clone(), entry)].into_iter().collect();
    let text = serde_json::to_string(&answer).unwrap();
    let keys: Vec<&str> = [
        "\"body\"",
        "\"integratedTime\"",
        "\"logID\"",
        "\"logIndex\"",
        "\"verification\"",
        "\"inclusionProof\"",
        "\"checkpoint\"",
        "\"hashes\"",
        "\"rootHash\"",
        "\"treeSize\"",
        "\"signedEntryTimestamp\"",
    ]
    .to_vec();
    let positions: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    let back: LogEntryAnswer = serde_json::from_str(&text).unwrap();
    assert_eq!(back, answer);
    verify_set(&log.spki_der(), &back[&uuid]).unwrap();
}

#[test]
fn set_verification_refuses_any_change() {
    let log = EcdsaP256Signer::generate().unwrap();
    let (_, entry) = sample_entry(&log);
    verify_set(&log.spki_der(), &entry).unwrap();
    let mut e = entry.clone();
    e.log_index += 1;
    assert!(matches!(
        verify_set(&log.spki_der(), &e),
        Err(RekorError::Signature(_))
    ));
    let mut e = entry.clone();
    e.integrated_time += 1;
    assert!(matches!(
        verify_set(&log.spki_der(), &e),
        Err(RekorError::Signature(_))
    ));
    let mut e = entry.clone();
    e.body.push(b' ');
    assert!(matches!(
        verify_set(&log.spki_der(), &e),
        Err(RekorError::Signature(_))
    ));
    let other = EcdsaP256Signer::generate().unwrap();
    assert!(matches!(
        verify_set(&other.spki_der(), &entry),
        Err(RekorError::Invalid(_))
    ));
    let mut e = entry.clone();
    e.log_index = 1 << 60;
    assert!(matches!(
        verify_set(&log.spki_der(), &e),
        Err(RekorError::Invalid(_))
    ));
}

#[test]
fn set_payload_is_the_canonical_json_of_four_fields() {
    let payload = set_payload(b"{}", 5, &[0xab; 32], 7).unwrap();
    assert_eq!(
        String::from_utf8(payload).unwrap(),
        format!(
            r#"{{"body":"e30=","integratedTime":5,"logID":"{}","logIndex":7}}"#,
            "ab".repeat(32)
        )
    );
}

#[test]
fn log_entry_hostile_input_is_a_typed_error() {
    let log = EcdsaP256Signer::generate().unwrap();
    let (_, entry) = sample_entry(&log);
    let good = serde_json::to_value(&entry).unwrap();
    for (field, bad) in [
        ("logID", json!("zz")),
        ("logID", json!("ab")),
        ("body", json!("!!")),
        ("logIndex", json!(-1)),
        ("logIndex", json!(1.5)),
        ("integratedTime", json!("now")),
        ("extra", json!(0)),
    ] {
        let mut doc = good.clone();
        doc[field] = bad;
        assert!(serde_json::from_value::<LogEntry>(doc).is_err(), "{field}");
    }
    assert!(serde_json::from_str::<LogEntry>(r#"{"integratedTime":1e400}"#).is_err());
}

proptest! {
    #[test]
    fn log_entry_parser_never_panics(value in arb_json()) {
        let _ = serde_json::from_value::<LogEntryAnswer>(value);
    }
}

proptest! {
    #[test]
    fn set_payload_is_the_canonical_json_of_its_four_fields(
        body in prop::collection::vec(any::<u8>(), 0..300),
        integrated_time in 0u64..=log_entry::MAX_JSON_INTEGER,
        log_id in any::<[u8; 32]>(),
        log_index in 0u64..=log_entry::MAX_JSON_INTEGER,
    ) {
        prop_assert_eq!(
            set_payload(&body, integrated_time, &log_id, log_index).unwrap(),
            log_entry::set_payload_via_jcs(&body, integrated_time, &log_id, log_index).unwrap()
        );
    }
}
