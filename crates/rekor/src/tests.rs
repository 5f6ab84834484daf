//! The engine against real SQLite storage, and the v1 routes through the router.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt;
use merkle::checkpoint::Checkpoint;
use merkle::note::SignedNote;
use pki::keys::EcdsaP256Signer;
use pki::rekor::checkpoint::EcdsaNoteVerifier;
use pki::rekor::{ArtifactHash, HashedRekord, LogEntry, LogEntryAnswer, Verifier, verify_set};
use pki::tls::Codec;
use store::SqliteLogStore;
use tower::ServiceExt;

use super::*;

const ORIGIN: &str = "rekor.test/rekor/t";

fn open_log(dir: &std::path::Path, key: &EcdsaP256Signer, api: ApiVersion) -> ArtifactLog {
    let store = Arc::new(SqliteLogStore::open(&dir.join("log.db")).unwrap());
    let signer = EcdsaP256Signer::from_pkcs8_pem(&key.to_pkcs8_pem().unwrap()).unwrap();
    let mut config = ArtifactLogConfig::new("t", ORIGIN, signer, api);
    config.sequence_interval = Duration::from_millis(5);
    ArtifactLog::open(config, store).unwrap()
}

/// The checkpoint verifies under the log key and states `head`'s size and root.
fn check_head(log: &ArtifactLog, head: &StoredTreeHead) {
    let note = SignedNote::parse(&head.checkpoint).unwrap();
    let verifier = EcdsaNoteVerifier::new(ORIGIN, log.public_key_der()).unwrap();
    note.verify(&[&verifier]).unwrap();
    let checkpoint = Checkpoint::parse(&note.text).unwrap();
    assert_eq!(
        (checkpoint.size, checkpoint.root),
        (head.tree_size, head.root)
    );
}

fn check_included(log: &ArtifactLog, body: &[u8], integrated: &Integrated) {
    check_head(log, &integrated.head);
    let proof = log
        .inclusion_proof(integrated.index, integrated.head.tree_size)
        .unwrap();
    merkle::verify_inclusion(
        &merkle::leaf_hash(body),
        integrated.index,
        integrated.head.tree_size,
        &proof,
        &integrated.head.root,
    )
    .unwrap();
}

#[tokio::test]
async fn every_answer_is_included_in_the_checkpoint_it_comes_with() {
    let dir = tempfile::tempdir().unwrap();
    let key = EcdsaP256Signer::generate().unwrap();
    let log = Arc::new(open_log(dir.path(), &key, ApiVersion::V1));
    let mut tasks = Vec::new();
    for i in 0..300u32 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let body = format!("{{\"entry\":{i}}}").into_bytes();
            let integrated = log.submit(body.clone()).await.unwrap();
            (body, integrated)
        }));
    }
    let mut indexes = Vec::new();
    for task in tasks {
        let (body, integrated) = task.await.unwrap();
        assert!(!integrated.duplicate);
        check_included(&log, &body, &integrated);
        // The SET signs exactly what the v1 answer states.
        let entry = LogEntry {
            body: body.clone(),
            integrated_time: integrated.integrated_ms / 1000,
            log_id: log.log_id(),
            log_index: integrated.index,
            verification: pki::rekor::Verification {
                inclusion_proof: pki::rekor::InclusionProof {
                    checkpoint: String::new(),
                    hashes: Vec::new(),
                    log_index: integrated.index,
                    root_hash: [0; 32],
                    tree_size: 0,
                },
                signed_entry_timestamp: integrated.set.clone(),
            },
        };
        verify_set(log.public_key_der(), &entry).unwrap();
        assert_eq!(log.entry_at(integrated.index).unwrap().body, body);
        indexes.push(integrated.index);
    }
    indexes.sort_unstable();
    assert_eq!(indexes, (0..300).collect::<Vec<u64>>());
    assert_eq!(log.tree_head().tree_size, 300);
}

#[tokio::test]
async fn a_resubmission_gets_the_original_index_time_and_set() {
    let dir = tempfile::tempdir().unwrap();
    let key = EcdsaP256Signer::generate().unwrap();
    let log = Arc::new(open_log(dir.path(), &key, ApiVersion::V1));
    let first = log.submit(b"same".to_vec()).await.unwrap();
    let again = log.submit(b"same".to_vec()).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(
        (again.index, again.integrated_ms, &again.set),
        (first.index, first.integrated_ms, &first.set)
    );
    // Two copies in one batch: one leaf, the second told it is a duplicate.
    let (a, b) = tokio::join!(log.submit(b"twin".to_vec()), log.submit(b"twin".to_vec()));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.index, b.index);
    assert!(a.duplicate != b.duplicate);
    assert_eq!(log.tree_head().tree_size, 2);
}

#[tokio::test]
async fn a_restarted_log_continues_its_tree_and_refuses_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = EcdsaP256Signer::generate().unwrap();
    let before = {
        let log = open_log(dir.path(), &key, ApiVersion::V2);
        // 300 entries: a full entry bundle and a partial one.
        for i in 0..300u32 {
            log.submit(i.to_be_bytes().to_vec()).await.unwrap();
        }
        log.tree_head()
    };
    let log = open_log(dir.path(), &key, ApiVersion::V2);
    assert_eq!(*log.tree_head(), *before);
    let next = log.submit(b"after restart".to_vec()).await.unwrap();
    assert_eq!(next.index, 300);
    check_included(&log, b"after restart", &next);
    assert_eq!(log.entry_at(299).unwrap().body, 299u32.to_be_bytes());
    // v2 logs sign no SETs.
    assert!(next.set.is_empty());
    let consistency = log.consistency_proof(300, 301).unwrap();
    merkle::verify_consistency(300, 301, &before.root, &next.head.root, &consistency).unwrap();
    drop(log);

    let store = Arc::new(SqliteLogStore::open(&dir.path().join("log.db")).unwrap());
    let other = EcdsaP256Signer::generate().unwrap();
    let config = ArtifactLogConfig::new("t", ORIGIN, other, ApiVersion::V2);
    assert!(matches!(
        ArtifactLog::open(config, store),
        Err(OpenError::KeyMismatch(_))
    ));
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let key = EcdsaP256Signer::generate().unwrap();
    let log = open_log(dir.path(), &key, ApiVersion::V1);
    let err = log
        .submit(vec![b'x'; MAX_BODY_BYTES + 1])
        .await
        .unwrap_err();
    assert!(matches!(err, SubmitError::BodyTooLarge(_)));
    assert_eq!(log.tree_head().tree_size, 0);
}

// ---- the v1 routes ----

fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap()
}

/// A hashedrekord entry signed by a fresh P-256 key over `artifact`.
fn hashedrekord(artifact: &[u8]) -> Vec<u8> {
    let key = EcdsaP256Signer::generate().unwrap();
    let signature = key.sign(artifact).unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, artifact);
    let verifier = Verifier::from_pem(pem("PUBLIC KEY", &key.spki_der()).as_bytes()).unwrap();
    let hash = ArtifactHash::new("sha256", &hex::encode(digest.as_ref())).unwrap();
    HashedRekord::new(signature, verifier, hash)
        .unwrap()
        .to_proposed_json()
        .unwrap()
}

async fn call(app: &Router, method: &str, uri: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

/// Posts each hostile body to `path`: each is answered with its status and a
/// `{code, message}` error.
async fn assert_refused(app: &Router, path: &str, cases: Vec<(&str, Vec<u8>, StatusCode)>) {
    for (what, body, want) in cases {
        let (status, answer) = call(app, "POST", path, body).await;
        assert_eq!(status, want, "{what}: {}", String::from_utf8_lossy(&answer));
        let error: serde_json::Value =
            serde_json::from_slice(&answer).unwrap_or_else(|_| panic!("{what}: not a JSON error"));
        assert!(
            error["code"].is_string() && error["message"].is_string(),
            "{what}"
        );
    }
}

fn v1_app(dir: &std::path::Path) -> (Router, Arc<ArtifactLog>) {
    let key = EcdsaP256Signer::generate().unwrap();
    let log = Arc::new(open_log(dir, &key, ApiVersion::V1));
    (http_v1::router(log.clone(), "/rekor/t"), log)
}

fn only_entry(answer: &[u8]) -> (String, LogEntry) {
    let answer: LogEntryAnswer = serde_json::from_slice(answer).unwrap();
    assert_eq!(answer.len(), 1);
    answer.into_iter().next().unwrap()
}

#[tokio::test]
async fn v1_create_answers_a_verifiable_entry_and_409_on_resubmission() {
    let dir = tempfile::tempdir().unwrap();
    let (app, log) = v1_app(dir.path());
    let proposed = hashedrekord(b"artifact");
    let (status, body) = call(&app, "POST", "/api/v1/log/entries", proposed.clone()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (uuid, entry) = only_entry(&body);
    assert_eq!(uuid, pki::rekor::entry_uuid(&entry.body));
    verify_set(log.public_key_der(), &entry).unwrap();
    let proof = &entry.verification.inclusion_proof;
    merkle::verify_inclusion(
        &merkle::leaf_hash(&entry.body),
        proof.log_index,
        proof.tree_size,
        &proof.hashes,
        &proof.root_hash,
    )
    .unwrap();
    let body_json: serde_json::Value = serde_json::from_slice(&entry.body).unwrap();
    assert_eq!(body_json["kind"], "hashedrekord");

    let (status, body) = call(&app, "POST", "/api/v1/log/entries", proposed).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(error["message"].as_str().unwrap().contains(&uuid));

    // Reads by UUID, by 80-digit entry ID, by index and by retrieve agree.
    let (status, by_uuid) = call(&app, "GET", &format!("/api/v1/log/entries/{uuid}"), vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(only_entry(&by_uuid).1.body, entry.body);
    let entry_id = format!("{:016x}{uuid}", http_v1::tree_id(&log));
    let (status, _) = call(
        &app,
        "GET",
        &format!("/api/v1/log/entries/{entry_id}"),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, by_index) = call(&app, "GET", "/api/v1/log/entries?logIndex=0", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(only_entry(&by_index).0, uuid);
    let request = serde_json::json!({"entryUUIDs": [uuid], "logIndexes": [0, 7]});
    let (status, found) = call(
        &app,
        "POST",
        "/api/v1/log/entries/retrieve",
        serde_json::to_vec(&request).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let found: Vec<LogEntryAnswer> = serde_json::from_slice(&found).unwrap();
    assert_eq!(found.len(), 2, "index 7 is not in the log");
}

#[tokio::test]
async fn v1_log_info_proofs_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let (app, log) = v1_app(dir.path());
    for artifact in [&b"one"[..], b"two", b"three"] {
        let (status, _) = call(&app, "POST", "/api/v1/log/entries", hashedrekord(artifact)).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, info) = call(&app, "GET", "/api/v1/log", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info["treeSize"], 3);
    assert_eq!(info["rootHash"], hex::encode(log.tree_head().root));
    assert_eq!(info["signedTreeHead"], log.tree_head().checkpoint);

    let (status, proof) = call(
        &app,
        "GET",
        "/api/v1/log/proof?firstSize=1&lastSize=3",
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let proof: serde_json::Value = serde_json::from_slice(&proof).unwrap();
    let hashes: Vec<[u8; 32]> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            hex::decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    let first_root = log.root_at(1).unwrap();
    merkle::verify_consistency(1, 3, &first_root, &log.tree_head().root, &hashes).unwrap();

    let (status, key) = call(&app, "GET", "/api/v1/log/publicKey", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let (label, der) = der::pem::decode_vec(&key).unwrap();
    assert_eq!(
        (label, der.as_slice()),
        ("PUBLIC KEY", log.public_key_der())
    );

    let (status, checkpoint) = call(&app, "GET", "/checkpoint", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(checkpoint, log.tree_head().checkpoint.as_bytes());
    let (status, bundle) = call(&app, "GET", "/tile/entries/000.p/3", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let bundle = pki::entry_bundle::EntryBundle::read_bytes(&bundle).unwrap();
    assert_eq!(bundle.entries.len(), 3);
    let (status, _) = call(&app, "GET", "/tile/entries/000.p/4", vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn v1_hostile_input_is_a_4xx_and_logs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (app, log) = v1_app(dir.path());
    let good: serde_json::Value = serde_json::from_slice(&hashedrekord(b"artifact")).unwrap();
    let mut wrong_digest = good.clone();
    wrong_digest["spec"]["data"]["hash"]["value"] = hex::encode([7u8; 32]).into();
    let mut bad_signature = good.clone();
    bad_signature["spec"]["signature"]["content"] = STANDARD.encode([1u8; 70]).into();
    let mut wrong_kind = good.clone();
    wrong_kind["kind"] = "rekord".into();
    let mut unknown_field = good.clone();
    unknown_field["spec"]["extra"] = 1.into();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        ("empty", vec![], StatusCode::BAD_REQUEST),
        (
            "not json",
            b"\x00\xff garbage".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("deep json", deep.into_bytes(), StatusCode::BAD_REQUEST),
        (
            "wrong digest",
            serde_json::to_vec(&wrong_digest).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad signature",
            serde_json::to_vec(&bad_signature).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong kind",
            serde_json::to_vec(&wrong_kind).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown field",
            serde_json::to_vec(&unknown_field).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "10 MiB",
            vec![b' '; 10 << 20],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    assert_refused(&app, "/api/v1/log/entries", cases).await;
    for uri in [
        "/api/v1/log/entries?logIndex=-1",
        "/api/v1/log/entries?logIndex=abc",
        "/api/v1/log/entries/zz",
        "/api/v1/log/entries/\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}0123456789012345678901234567890123456789012345678901234567890123",
        "/api/v1/log/proof?firstSize=0&lastSize=1",
        "/api/v1/log/proof?firstSize=2&lastSize=1",
        "/api/v1/log/proof?lastSize=99",
    ] {
        let uri = uri.replace('\u{e9}', "%C3%A9");
        let (status, _) = call(&app, "GET", &uri, vec![]).await;
        assert!(status.is_client_error(), "{uri}: {status}");
    }
    let (status, _) = call(&app, "GET", "/api/v1/log/entries?logIndex=0", vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let too_many = serde_json::json!({"logIndexes": (0..11).collect::<Vec<u32>>()});
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/log/entries/retrieve",
        serde_json::to_vec(&too_many).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for path in [
        "/tile/x",
        "/tile/0/000.p/0",
        "/tile/entries/999",
        "/tile/99/000",
    ] {
        let (status, _) = call(&app, "GET", path, vec![]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(log.tree_head().tree_size, 0, "nothing was logged");
}

// ---- the v2 route ----

/// A v2 hashedrekord request signed by a fresh P-256 key over `artifact`.
fn v2_request(artifact: &[u8]) -> Vec<u8> {
    use pki::rekor::v2::{
        CreateEntryRequest, HashedRekordRequest, KeyDetails, Signature, Verifier, VerifierForm,
    };
    let key = EcdsaP256Signer::generate().unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, artifact);
    let verifier = Verifier::new(
        VerifierForm::PublicKey,
        key.spki_der(),
        KeyDetails::EcdsaP256Sha256,
    )
    .unwrap();
    let signature = Signature::new(key.sign(artifact).unwrap(), verifier).unwrap();
    let request = HashedRekordRequest::new(digest.as_ref().to_vec(), signature).unwrap();
    CreateEntryRequest::HashedRekord(request).to_json().unwrap()
}

fn v2_app(dir: &std::path::Path) -> (Router, Arc<ArtifactLog>) {
    let key = EcdsaP256Signer::generate().unwrap();
    let log = Arc::new(open_log(dir, &key, ApiVersion::V2));
    (http_v1::router(log.clone(), "/rekor/t"), log)
}

#[tokio::test]
async fn v2_answers_a_transparency_log_entry_without_promise() {
    use pki::rekor::tle::TransparencyLogEntry;
    let dir = tempfile::tempdir().unwrap();
    let (app, log) = v2_app(dir.path());
    let request = v2_request(b"artifact");
    let (status, body) = call(&app, "POST", "/api/v2/log/entries", request.clone()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let raw: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // Protobuf JSON: int64 as strings, zero index and empty path written, no promise.
    assert_eq!(raw["logIndex"], "0");
    assert_eq!(raw["inclusionProof"]["treeSize"], "1");
    assert_eq!(raw["inclusionProof"]["hashes"], serde_json::json!([]));
    assert!(raw.get("integratedTime").is_none() && raw.get("inclusionPromise").is_none());
    let entry = TransparencyLogEntry::from_json(&body).unwrap();
    assert_eq!(entry.log_id.key_id, log.log_id());
    assert_eq!(
        (
            entry.kind_version.kind.as_str(),
            entry.kind_version.version.as_str()
        ),
        ("hashedrekord", "0.0.2")
    );
    let canonical: serde_json::Value = serde_json::from_slice(&entry.canonicalized_body).unwrap();
    assert!(canonical["spec"]["hashedRekordV002"].is_object());
    let proof = &entry.inclusion_proof;
    check_head(
        &log,
        &StoredTreeHead {
            tree_size: proof.tree_size,
            timestamp_ms: 0,
            root: proof.root_hash,
            signature: Vec::new(),
            checkpoint: proof.checkpoint.envelope.clone(),
        },
    );
    merkle::verify_inclusion(
        &merkle::leaf_hash(&entry.canonicalized_body),
        proof.log_index,
        proof.tree_size,
        &proof.hashes,
        &proof.root_hash,
    )
    .unwrap();

    // A resubmission is answered with the entry already logged.
    let (status, again) = call(&app, "POST", "/api/v2/log/entries", request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        TransparencyLogEntry::from_json(&again).unwrap().log_index,
        0
    );
    // The v1 API is not served by a v2 log.
    let (status, _) = call(&app, "GET", "/api/v1/log", vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(log.tree_head().tree_size, 1);
}

#[tokio::test]
async fn v2_hostile_input_is_a_4xx_and_logs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (app, log) = v2_app(dir.path());
    let good: serde_json::Value = serde_json::from_slice(&v2_request(b"artifact")).unwrap();
    let spec = "hashedRekordRequestV002";
    let mut wrong_digest = good.clone();
    wrong_digest[spec]["digest"] = STANDARD.encode([7u8; 32]).into();
    let mut short_digest = good.clone();
    short_digest[spec]["digest"] = STANDARD.encode([7u8; 20]).into();
    let mut bad_signature = good.clone();
    bad_signature[spec]["signature"]["content"] = STANDARD.encode([1u8; 70]).into();
    let mut wrong_key_details = good.clone();
    wrong_key_details[spec]["signature"]["verifier"]["keyDetails"] =
        "PKIX_RSA_PKCS1V15_2048_SHA256".into();
    let mut both = good.clone();
    both["dsseRequestV002"] = serde_json::json!({});
    let deep = format!("{}{}", "{\"a\":".repeat(5_000), "}".repeat(5_000));
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        ("empty", vec![], StatusCode::BAD_REQUEST),
        ("deep json", deep.into_bytes(), StatusCode::BAD_REQUEST),
        (
            "wrong digest",
            serde_json::to_vec(&wrong_digest).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "short digest",
            serde_json::to_vec(&short_digest).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad signature",
            serde_json::to_vec(&bad_signature).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "key details of another key",
            serde_json::to_vec(&wrong_key_details).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "both oneofs",
            serde_json::to_vec(&both).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "10 MiB",
            vec![b' '; 10 << 20],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    assert_refused(&app, "/api/v2/log/entries", cases).await;
    // A v1 entry is not a v2 request.
    let (status, _) = call(&app, "POST", "/api/v2/log/entries", hashedrekord(b"x")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(log.tree_head().tree_size, 0, "nothing was logged");
}
