//! Rekor wire formats against the outside world: a real entry of the public Rekor log,
//! and sigstore-python's own code (in the virtualenv `.ci/run` installs, named by
//! `CERTCENTRAL_SIGSTORE_PYTHON`).

mod common;

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pki::EcdsaP256Signer;
use pki::rekor::{
    InclusionProof, LogEntry, LogEntryAnswer, Verification, entry_uuid, parse_proposed_entry,
    set_payload, sign_set, verify_set,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use common::sigstore::{run_python, sigstore_python};

fn fixture() -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "data",
        "rekor",
        "hashedrekord_entry.json",
    ]
    .iter()
    .collect();
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("fixture JSON")
}

fn real_entry() -> (Vec<u8>, LogEntry) {
    let f = fixture();
    let pem = f["rekorPublicKey"].as_str().expect("rekorPublicKey");
    let (label, spki) = der::pem::decode_vec(pem.trim().as_bytes()).expect("PEM");
    assert_eq!(label, "PUBLIC KEY");
    let entry: LogEntry = serde_json::from_value(f["entry"].clone()).expect("v1 log entry");
    (spki, entry)
}

/// The SET of a real rekor.sigstore.dev entry verifies with Rekor's public key; any
/// change to what it signs does not.
#[test]
fn real_rekor_set_verifies_with_the_rekor_key() {
    let (key, entry) = real_entry();
    verify_set(&key, &entry).unwrap();
    let mut moved = entry.clone();
    moved.log_index -= 1;
    assert!(verify_set(&key, &moved).is_err());
    let mut later = entry;
    later.integrated_time += 1;
    assert!(verify_set(&key, &later).is_err());
}

/// Our canonicalization of the real entry's body reproduces Rekor's bytes (after the
/// signature over the digest verifies with the certificate's key), and its leaf hash —
/// the entry UUID — is the leaf the real inclusion proof proves.
#[test]
fn real_rekor_body_is_reproduced_and_its_uuid_is_the_proven_leaf() {
    let (_, entry) = real_entry();
    let parsed = parse_proposed_entry(&entry.body).unwrap();
    assert_eq!(parsed.kind(), "hashedrekord");
    assert_eq!(parsed.canonical_body().unwrap(), entry.body);

    let uuid = entry_uuid(&entry.body);
    let mut leaf = [0u8; 32];
    hex::decode_to_slice(&uuid, &mut leaf).unwrap();
    let proof = &entry.verification.inclusion_proof;
    merkle::verify_inclusion(
        &leaf,
        proof.log_index,
        proof.tree_size,
        &proof.hashes,
        &proof.root_hash,
    )
    .unwrap();
    // The answer round-trips through our serde types byte for byte (field order).
    let f = fixture();
    assert_eq!(
        serde_json::to_value(&entry).unwrap(),
        f["entry"],
        "re-encoded entry differs"
    );
}

const ARTIFACT: &[u8] = b"an artifact for sigstore-python";

fn hashedrekord_body() -> Vec<u8> {
    let signer = EcdsaP256Signer::generate().unwrap();
    let key_pem =
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &signer.spki_der())
            .unwrap();
    let proposed = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {
                "content": STANDARD.encode(signer.sign(ARTIFACT).unwrap()),
                "publicKey": {"content": STANDARD.encode(key_pem)},
            },
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(ARTIFACT))}},
        },
    });
    parse_proposed_entry(proposed.to_string().as_bytes())
        .unwrap()
        .canonical_body()
        .unwrap()
}

fn dsse_body() -> Vec<u8> {
    let signer = EcdsaP256Signer::generate().unwrap();
    let payload = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[]}"#;
    let payload_type = "application/vnd.in-toto+json";
    let sig = signer
        .sign(&pki::rekor::entry::pae(payload_type, payload))
        .unwrap();
    let envelope = json!({
        "payload": STANDARD.encode(payload),
        "payloadType": payload_type,
        "signatures": [{"keyid": "", "sig": STANDARD.encode(sig)}],
    });
    let key_pem =
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &signer.spki_der())
            .unwrap();
    let proposed = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": envelope.to_string(),
            "verifiers": [STANDARD.encode(key_pem)],
        }},
    });
    parse_proposed_entry(proposed.to_string().as_bytes())
        .unwrap()
        .canonical_body()
        .unwrap()
}

/// A v1 answer and SET built by us are read and verified by sigstore-python's own code
/// (`TransparencyLogEntry._from_v1_response`, `_verify_set`), and the SET payload it
/// canonicalizes is byte for byte ours.
#[test]
fn sigstore_python_verifies_our_set_and_reads_our_bodies() {
    let Some(python) = sigstore_python() else {
        return;
    };
    let log = EcdsaP256Signer::generate().unwrap();
    for (kind, body) in [("hashedrekord", hashedrekord_body()), ("dsse", dsse_body())] {
        let (integrated_time, log_index) = (1_772_216_383, 1_004_096_275);
        let leaf = merkle::leaf_hash(&body);
        let entry = LogEntry {
            integrated_time,
            log_id: log.log_id(),
            log_index,
            verification: Verification {
                // A one-leaf tree: the leaf is the root.
                inclusion_proof: InclusionProof {
                    checkpoint: format!(
                        "example.com/artifacts\n1\n{}\n\n— example.com/artifacts AAAA\n",
                        STANDARD.encode(leaf)
                    ),
                    hashes: vec![],
                    log_index: 0,
                    root_hash: leaf,
                    tree_size: 1,
                },
                signed_entry_timestamp: sign_set(&log, &body, integrated_time, log_index).unwrap(),
            },
            body: body.clone(),
        };
        let answer: LogEntryAnswer = [(entry_uuid(&body), entry)].into_iter().collect();
        let out = run_python(
            &python,
            "sigstore_rekor_entry.py",
            &json!({"answer": answer, "log_key_der_b64": STANDARD.encode(log.spki_der())}),
        );
        assert_eq!(out["kind"], kind);
        let theirs = STANDARD
            .decode(out["canonical_set_payload_b64"].as_str().unwrap())
            .unwrap();
        let ours = set_payload(&body, integrated_time, &log.log_id(), log_index).unwrap();
        assert_eq!(theirs, ours);
    }
}

/// Our canonical JSON equals the `rfc8785` package's (the one sigstore-python signs and
/// verifies SETs with) on documents that exercise ordering, escaping and numbers.
#[test]
fn canonical_json_matches_python_rfc8785() {
    let Some(python) = sigstore_python() else {
        return;
    };
    let docs = json!([
        {"b": 1, "a": [true, false, null], "\u{20ac}": "euro", "\r": "cr", "\u{1f600}": "emoji", "\u{fb33}": "dalet"},
        {"numbers": [333333333.3333333, 1e30, 4.5, 0.002, 1e-27, -0.0, 9007199254740991_i64, 1e21, 1e-7, 123456789012.5]},
        {"string": "\u{0}\u{8}\t\n\u{c}\r\u{1f}\"\\/\u{7f}\u{2028}é😀"},
        {"nested": {"z": {"y": [{"x": []}, {}]}, "a": ""}},
        {"body": "e30=", "integratedTime": 1772216383, "logID": "c0d2", "logIndex": 1004096275},
    ]);
    let out = run_python(&python, "rfc8785_dumps.py", &docs);
    let theirs = out.as_array().unwrap();
    for (doc, theirs) in docs.as_array().unwrap().iter().zip(theirs) {
        let theirs = STANDARD.decode(theirs.as_str().unwrap()).unwrap();
        let ours = pki::rekor::canonicalize(doc).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }
}
