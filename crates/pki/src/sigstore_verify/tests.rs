//! The bundles sigstore-python made against `serve --dev` (tests/data/bundle) verify;
//! hostile variants of them are refused by the check that names their fault.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use merkle::checkpoint::Checkpoint as Cp;
use merkle::note::SignedNote;
use serde_json::{Value, json};

use super::*;
use crate::keys::EcdsaP256Signer;
use crate::rekor::checkpoint::EcdsaNoteSigner;

const ROOT: &[u8] = include_bytes!("../../tests/data/bundle/trusted_root.json");
const V1: &[u8] = include_bytes!("../../tests/data/bundle/artifact-v1.sigstore.json");
const V1_ARTIFACT: &[u8] = include_bytes!("../../tests/data/bundle/artifact-v1.txt");
const V2: &[u8] = include_bytes!("../../tests/data/bundle/artifact-v2.sigstore.json");
const V2_ARTIFACT: &[u8] = include_bytes!("../../tests/data/bundle/artifact-v2.txt");
/// 2030-01-01: after the fixtures were made.
const NOW_MS: u64 = 1_893_456_000_000;

fn root() -> TrustedRoot {
    TrustedRoot::from_json(ROOT).unwrap()
}

fn identity() -> Identity {
    Identity::exact("fixture@example.com", "http://127.0.0.1:18437/dev/oidc")
}

fn keyless() -> SignerPolicy {
    SignerPolicy::Keyless(identity())
}

fn value(json: &[u8]) -> Value {
    serde_json::from_slice(json).unwrap()
}

fn check(v: &Value, artifact: &[u8]) -> Result<Verified, VerifyFailure> {
    check_with(v, artifact, &root())
}

fn check_with(v: &Value, artifact: &[u8], root: &TrustedRoot) -> Result<Verified, VerifyFailure> {
    let bundle = Bundle::from_json(&serde_json::to_vec(v).unwrap()).unwrap();
    verify_bundle(
        &bundle,
        &ArtifactDigest::sha256(artifact),
        root,
        &keyless(),
        NOW_MS,
    )
}

fn entry(v: &mut Value) -> &mut Value {
    &mut v["verificationMaterial"]["tlogEntries"][0]
}

fn b64(bytes: &[u8]) -> Value {
    json!(STANDARD.encode(bytes))
}

fn unb64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn v1_bundle_from_sigstore_python_verifies() {
    let verified = check(&value(V1), V1_ARTIFACT).unwrap();
    let sources: Vec<_> = verified.times.iter().map(|t| t.source).collect();
    assert!(sources.contains(&TimeSource::TimestampAuthority));
    assert!(sources.contains(&TimeSource::TransparencyLog));
}

#[test]
fn v2_bundle_from_sigstore_python_verifies() {
    let verified = check(&value(V2), V2_ARTIFACT).unwrap();
    assert_eq!(verified.times.len(), 1);
    assert_eq!(verified.times[0].source, TimeSource::TimestampAuthority);
}

#[test]
fn wrong_artifact_is_refused() {
    assert_eq!(
        check(&value(V1), b"another artifact"),
        Err(VerifyFailure::DigestMismatch)
    );
}

#[test]
fn wrong_artifact_without_stated_digest_fails_the_signature() {
    let mut v = value(V1);
    v["messageSignature"]
        .as_object_mut()
        .unwrap()
        .remove("messageDigest");
    assert!(matches!(
        check(&v, b"another artifact"),
        Err(VerifyFailure::Signature(_))
    ));
}

#[test]
fn signature_of_another_artifact_is_refused() {
    let mut v = value(V1);
    v["messageSignature"] = value(V2)["messageSignature"].clone();
    v["messageSignature"]["messageDigest"] = value(V1)["messageSignature"]["messageDigest"].clone();
    // The TSA token is over the v1 signature, so it no longer counts; the SET does.
    assert!(matches!(
        check(&v, V1_ARTIFACT),
        Err(VerifyFailure::Signature(_))
    ));
}

#[test]
fn swapped_certificate_is_refused() {
    let mut v = value(V1);
    v["verificationMaterial"]["certificate"] =
        value(V2)["verificationMaterial"]["certificate"].clone();
    // The v2 certificate was valid minutes later: the v1 entry's times fall outside
    // it, or its key does not verify the v1 signature.
    let err = check(&v, V1_ARTIFACT).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyFailure::Chain { .. }
                | VerifyFailure::OutsideValidity { .. }
                | VerifyFailure::Signature(_)
        ),
        "{err}"
    );
}

#[test]
fn certificate_from_an_untrusted_ca_is_refused() {
    let mut root = root();
    root.certificate_authorities.clear();
    let err = check_with(&value(V1), V1_ARTIFACT, &root).unwrap_err();
    assert!(matches!(err, VerifyFailure::Chain { .. }), "{err}");
}

#[test]
fn sct_from_an_unknown_log_is_refused() {
    let mut root = root();
    root.ctlogs.clear();
    let err = check_with(&value(V1), V1_ARTIFACT, &root).unwrap_err();
    assert!(
        matches!(err, VerifyFailure::Sct(ref m) if m.contains("unknown log")),
        "{err}"
    );
}

#[test]
fn sct_verified_with_another_logs_key_is_refused() {
    let mut root = root();
    let other = root.ctlogs[1].public_key.clone();
    root.ctlogs[0].public_key = other;
    root.ctlogs.truncate(1);
    let err = check_with(&value(V1), V1_ARTIFACT, &root).unwrap_err();
    assert!(matches!(err, VerifyFailure::Sct(_)), "{err}");
}

#[test]
fn other_identity_is_refused() {
    let mut who = identity();
    who.san = Expected::Exact("mallory@example.com".into());
    let err = verify_v1_with(&SignerPolicy::Keyless(who)).unwrap_err();
    assert!(matches!(err, VerifyFailure::San { .. }), "{err}");
}

#[test]
fn other_issuer_is_refused() {
    let mut who = identity();
    who.issuer = Expected::Exact("https://accounts.example.com".into());
    let err = verify_v1_with(&SignerPolicy::Keyless(who)).unwrap_err();
    assert!(matches!(err, VerifyFailure::Issuer { .. }), "{err}");
}

#[test]
fn inclusion_proof_for_another_leaf_is_refused() {
    let mut v = value(V1);
    let other_body = entry(&mut value(V2))["canonicalizedBody"].clone();
    entry(&mut v)["canonicalizedBody"] = other_body;
    let err = check(&v, V1_ARTIFACT).unwrap_err();
    assert!(matches!(err, VerifyFailure::InclusionProof(_)), "{err}");
}

#[test]
fn inclusion_proof_for_another_index_is_refused() {
    // The fixture's entry is the only leaf; claim it is the second of two.
    let mut v = value(V2);
    let proof = &mut entry(&mut v)["inclusionProof"];
    proof["logIndex"] = json!("1");
    proof["treeSize"] = json!("2");
    let err = check(&v, V2_ARTIFACT).unwrap_err();
    assert!(matches!(err, VerifyFailure::InclusionProof(_)), "{err}");
}

#[test]
fn checkpoint_signed_by_another_key_is_refused() {
    let mut v = value(V2);
    let envelope = entry(&mut v)["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_owned();
    let note = SignedNote::parse(&envelope).unwrap();
    let cp = Cp::parse(&note.text).unwrap();
    let key = EcdsaP256Signer::generate().unwrap();
    let mut forged = SignedNote::new(note.text.clone()).unwrap();
    forged
        .sign(&EcdsaNoteSigner::new(&cp.origin, &key).unwrap())
        .unwrap();
    entry(&mut v)["inclusionProof"]["checkpoint"]["envelope"] = json!(forged.encode());
    let err = check(&v, V2_ARTIFACT).unwrap_err();
    assert!(matches!(err, VerifyFailure::Checkpoint(_)), "{err}");
}

#[test]
fn checkpoint_with_forged_signature_under_the_right_key_id_is_refused() {
    let mut v = value(V2);
    let envelope = entry(&mut v)["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_owned();
    // Flip a bit in the signature's last base64 group, keeping the key ID prefix.
    let (text, sig_line) = envelope.trim_end().rsplit_once('\n').unwrap();
    let (head, b64sig) = sig_line.rsplit_once(' ').unwrap();
    let mut raw = STANDARD.decode(b64sig).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    let forged = format!("{text}\n{head} {}\n", STANDARD.encode(raw));
    entry(&mut v)["inclusionProof"]["checkpoint"]["envelope"] = json!(forged);
    let err = check(&v, V2_ARTIFACT).unwrap_err();
    assert!(matches!(err, VerifyFailure::Checkpoint(_)), "{err}");
}

#[test]
fn set_over_another_integrated_time_is_refused() {
    let mut v = value(V1);
    let t: u64 = entry(&mut v)["integratedTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    entry(&mut v)["integratedTime"] = json!((t + 1).to_string());
    let err = check(&v, V1_ARTIFACT).unwrap_err();
    assert!(matches!(err, VerifyFailure::Set(_)), "{err}");
}

#[test]
fn set_from_another_entry_is_refused() {
    let mut v = value(V1);
    let set = unb64(&entry(&mut v)["inclusionPromise"]["signedEntryTimestamp"]);
    let mut other = set.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    entry(&mut v)["inclusionPromise"]["signedEntryTimestamp"] = b64(&other);
    let err = check(&v, V1_ARTIFACT).unwrap_err();
    assert!(matches!(err, VerifyFailure::Set(_)), "{err}");
}

#[test]
fn integrated_time_outside_the_certificate_validity_is_refused() {
    // A signed time cannot be moved without breaking its signature (the SET is step
    // 5, validity step 6), so step (6) is checked on its own.
    let bundle = Bundle::from_json(V1).unwrap();
    let leaf = Certificate::from_der(bundle.signing_certificate()).unwrap();
    let (_, not_after) = validity_ms(&leaf);
    let late = [VerifiedTime {
        source: TimeSource::TimestampAuthority,
        unix_ms: not_after + 1000,
    }];
    assert!(matches!(
        verify_times_in_validity(&leaf, &late),
        Err(VerifyFailure::OutsideValidity { .. })
    ));
}

#[test]
fn chain_at_a_time_after_the_certificate_expired_is_refused() {
    let bundle = Bundle::from_json(V1).unwrap();
    let leaf = Certificate::from_der(bundle.signing_certificate()).unwrap();
    let (_, not_after) = validity_ms(&leaf);
    assert!(matches!(
        verify_chain_at(&leaf, &root(), not_after + 1000),
        Err(VerifyFailure::Chain { .. })
    ));
}

#[test]
fn tsa_token_over_another_signature_is_refused() {
    // The v1 bundle's token in the v2 bundle: it is over the v1 signature, so it is
    // not a verified time, and the v2 entry has no SET.
    let mut v = value(V2);
    v["verificationMaterial"]["timestampVerificationData"] =
        value(V1)["verificationMaterial"]["timestampVerificationData"].clone();
    assert_eq!(check(&v, V2_ARTIFACT), Err(VerifyFailure::NoVerifiedTime));
}

#[test]
fn tsa_token_with_no_trusted_tsa_is_refused() {
    let mut root = root();
    root.timestamp_authorities.clear();
    assert_eq!(
        check_with(&value(V2), V2_ARTIFACT, &root),
        Err(VerifyFailure::NoTimestampAuthorities)
    );
}

#[test]
fn tsa_token_from_an_untrusted_tsa_is_not_a_verified_time() {
    let mut root = root();
    // The CA's chain in the TSA's place: the token's signer is not its first cert.
    root.timestamp_authorities[0].cert_chain = root.certificate_authorities[0].cert_chain.clone();
    assert_eq!(
        check_with(&value(V2), V2_ARTIFACT, &root),
        Err(VerifyFailure::NoVerifiedTime)
    );
}

#[test]
fn tsa_token_outside_the_tsa_validity_is_not_a_verified_time() {
    let mut root = root();
    root.timestamp_authorities[0].valid_for.end_ms = Some(1_000);
    root.timestamp_authorities[0].valid_for.start_ms = 0;
    assert_eq!(
        check_with(&value(V2), V2_ARTIFACT, &root),
        Err(VerifyFailure::NoVerifiedTime)
    );
}

#[test]
fn duplicate_timestamps_are_refused() {
    let mut v = value(V2);
    let ts = v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0].clone();
    v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"] =
        json!([ts.clone(), ts]);
    assert_eq!(
        check(&v, V2_ARTIFACT),
        Err(VerifyFailure::DuplicateTimestamp)
    );
}

#[test]
fn signed_time_in_the_future_is_refused() {
    let bundle = Bundle::from_json(V2).unwrap();
    let err = verify_bundle(
        &bundle,
        &ArtifactDigest::sha256(V2_ARTIFACT),
        &root(),
        &keyless(),
        0,
    )
    .unwrap_err();
    assert!(matches!(err, VerifyFailure::TimeInFuture { .. }), "{err}");
}

#[test]
fn logged_body_of_another_signature_is_refused() {
    // Step (8) alone: the v1 body against the v2 signature.
    let v1 = Bundle::from_json(V1).unwrap();
    let err = verify_entry_body(
        &v1.tlog_entry,
        v1.signing_certificate(),
        b"\x30\x06\x02\x01\x01\x02\x01\x01",
        &ArtifactDigest::sha256(V1_ARTIFACT),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyFailure::EntryMismatch(_)), "{err}");
}

#[test]
fn logged_v2_body_for_another_digest_is_refused() {
    let v2 = Bundle::from_json(V2).unwrap();
    let BundleContent::MessageSignature(m) = &v2.content else {
        panic!("message signature")
    };
    let err = verify_entry_body(
        &v2.tlog_entry,
        v2.signing_certificate(),
        &m.signature,
        &ArtifactDigest::sha256(b"other"),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyFailure::EntryMismatch(_)), "{err}");
}

#[test]
fn dsse_bundle_is_not_an_artifact_signature() {
    let mut v = value(V1);
    v.as_object_mut().unwrap().remove("messageSignature");
    v["dsseEnvelope"] = json!({"payload": "e30=", "payloadType": "application/vnd.in-toto+json",
        "signatures": [{"sig": "AAAA"}]});
    assert_eq!(
        check(&v, V1_ARTIFACT),
        Err(VerifyFailure::NotAMessageSignature)
    );
}

#[test]
fn hostile_mutations_never_panic() {
    let root = root();
    for fixture in [V1, V2] {
        for pos in (0..fixture.len()).step_by(97) {
            let mut bytes = fixture.to_vec();
            bytes[pos] = bytes[pos].wrapping_add(1);
            if let Ok(bundle) = Bundle::from_json(&bytes) {
                let _ = verify_bundle(
                    &bundle,
                    &ArtifactDigest::sha256(V1_ARTIFACT),
                    &root,
                    &keyless(),
                    NOW_MS,
                );
            }
        }
    }
}

fn verify_v1_with(policy: &SignerPolicy) -> Result<Verified, VerifyFailure> {
    let bundle = Bundle::from_json(V1).unwrap();
    verify_bundle(
        &bundle,
        &ArtifactDigest::sha256(V1_ARTIFACT),
        &root(),
        policy,
        NOW_MS,
    )
}

#[test]
fn identity_patterns_match_as_cosign_does() {
    let policy = |san: &str, issuer: &str| {
        SignerPolicy::Keyless(Identity {
            san: Expected::pattern(san).unwrap(),
            issuer: Expected::pattern(issuer).unwrap(),
        })
    };
    verify_v1_with(&policy(
        r"^fixture@example\.com$",
        r"^http://127\.0\.0\.1:\d+/dev/oidc$",
    ))
    .unwrap();
    // Unanchored: a part of the value is enough.
    verify_v1_with(&policy("@example.com", "dev/oidc")).unwrap();
    let err = verify_v1_with(&policy(r"^mallory@", "dev/oidc")).unwrap_err();
    assert!(
        matches!(&err, VerifyFailure::San { expected, .. } if expected == "/^mallory@/"),
        "{err}"
    );
    let err = verify_v1_with(&policy("fixture", r"^https://")).unwrap_err();
    assert!(matches!(err, VerifyFailure::Issuer { .. }), "{err}");
}

#[test]
fn oversized_identity_patterns_are_refused_at_compile_time() {
    assert!(Expected::pattern(r"(\w{100}){100}").is_err());
    assert!(Expected::pattern("(").is_err());
}

#[test]
fn a_pinned_certificate_verifies_without_the_identity() {
    let bundle = Bundle::from_json(V1).unwrap();
    let pinned = SignerPolicy::Pinned(vec![bundle.signing_certificate().to_vec()]);
    let verified = verify_v1_with(&pinned).unwrap();
    assert_eq!(verified.certificate, bundle.signing_certificate());
}

#[test]
fn a_certificate_that_is_not_pinned_is_refused() {
    let other = Bundle::from_json(V2).unwrap();
    let pinned = SignerPolicy::Pinned(vec![other.signing_certificate().to_vec()]);
    assert_eq!(
        verify_v1_with(&pinned).unwrap_err(),
        VerifyFailure::NotPinned
    );
    assert_eq!(
        verify_v1_with(&SignerPolicy::Pinned(Vec::new())).unwrap_err(),
        VerifyFailure::NotPinned
    );
}

#[test]
fn a_pinned_ca_certificate_cannot_sign() {
    let root = root();
    let ca_der = root.certificate_authorities[0].cert_chain[0].clone();
    let ca = Certificate::from_der(&ca_der).unwrap();
    let err = verify_pinned(&ca_der, &ca, std::slice::from_ref(&ca_der)).unwrap_err();
    assert!(
        matches!(err, VerifyFailure::Certificate(ref m) if m.contains("CA")),
        "{err}"
    );
}
