//! Rekor v2 wire formats against sigstore-python 4.5.1's own code (in the virtualenv
//! `.ci/run` installs, named by `CERTCENTRAL_SIGSTORE_PYTHON`): the requests its client
//! builds, the entry bodies its verifier expects, and the `TransparencyLogEntry` its
//! models read.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pki::EcdsaP256Signer;
use pki::rekor::tle::{Checkpoint, InclusionProof, KindVersion, LogId, TransparencyLogEntry};
use pki::rekor::v2::{API_VERSION, CreateEntryRequest};
use pki::rekor::{self, LogEntry, Verification, sign_set};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use common::sigstore::{run_python, sigstore_python};

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn check_bodies(python: &str, cases: Vec<Value>) -> Vec<Value> {
    let out = run_python(python, "rekor_v2_check_bodies.py", &json!({"cases": cases}));
    out["results"].as_array().expect("results").clone()
}

/// (a) Requests built by sigstore-python's `RekorV2Client` (P-256, P-384, P-521 and
/// RSA-2048 certificates, and a DSSE envelope uploaded as a hashedrekord over its PAE)
/// parse and verify here; (b) the bodies made from them are what sigstore-python's
/// verifier expects (`_validate_hashedrekord_v002_entry_body`,
/// `_validate_hashedrekord_v002_dsse_entry_body`) and what sigstore_models writes back
/// after reading them. A body paired with another signature's materials is refused, so
/// the check is not vacuous.
#[test]
fn sigstore_python_requests_verify_and_make_the_bodies_it_expects() {
    let Some(python) = sigstore_python() else {
        return;
    };
    let built = run_python(&python, "rekor_v2_requests.py", &json!({}));
    let built = built["cases"].as_array().expect("cases");
    assert_eq!(built.len(), 5);
    let mut cases = Vec::new();
    let mut bodies = Vec::new();
    for case in built {
        let request = serde_json::to_vec(&case["request"]).unwrap();
        let parsed = CreateEntryRequest::from_json(&request)
            .unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
        assert_eq!(parsed.kind(), "hashedrekord");
        parsed
            .verify()
            .unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
        let body = parsed.canonical_body().unwrap();
        let mut check = case.clone();
        let check_map = check.as_object_mut().unwrap();
        check_map.remove("request");
        check_map.insert("body_b64".into(), json!(b64(&body)));
        cases.push(check);
        bodies.push(body);
    }
    // The control: the P-384 body with the P-256 materials.
    let mut control = cases[0].clone();
    control["body_b64"] = json!(b64(&bodies[1]));
    cases.push(control);

    let results = check_bodies(&python, cases);
    for ((case, body), result) in built.iter().zip(&bodies).zip(&results) {
        assert_eq!(result["ok"], true, "{}: {}", case["name"], result["error"]);
        let ours: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(result["entry"], ours, "{}", case["name"]);
    }
    let control = results.last().unwrap();
    assert_eq!(control["ok"], false, "a mismatched body was accepted");
    assert!(
        control["error"].as_str().unwrap().contains("inconsistent"),
        "{}",
        control["error"]
    );
}

/// A `dsse` 0.0.2 body (the kind rekor-tiles took before it dropped DSSE) is read by
/// sigstore_models' `v2.entry.Entry` and written back unchanged.
#[test]
fn sigstore_models_reads_our_dsse_body() {
    let Some(python) = sigstore_python() else {
        return;
    };
    let signer = EcdsaP256Signer::generate().unwrap();
    let payload = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[]}"#;
    let payload_type = "application/vnd.in-toto+json";
    let sig = signer
        .sign(&rekor::entry::pae(payload_type, payload))
        .unwrap();
    let request = json!({"dsseRequestV002": {
        "envelope": {"payload": b64(payload), "payloadType": payload_type,
                     "signatures": [{"sig": b64(&sig), "keyid": ""}]},
        "verifiers": [{"publicKey": {"rawBytes": b64(&signer.spki_der())},
                       "keyDetails": "PKIX_ECDSA_P256_SHA_256"}],
    }});
    let body = CreateEntryRequest::from_json(request.to_string().as_bytes())
        .unwrap()
        .canonical_body()
        .unwrap();
    let results = check_bodies(
        &python,
        vec![json!({"kind": "dsse", "body_b64": b64(&body)})],
    );
    assert_eq!(results[0]["ok"], true, "{}", results[0]["error"]);
    let ours: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(results[0]["entry"], ours);
    assert_eq!(ours["apiVersion"], API_VERSION);
    assert_eq!(
        ours["spec"]["dsseV002"]["payloadHash"]["digest"],
        b64(&Sha256::digest(payload))
    );
}

/// A hashedrekord 0.0.2 body made here, from a P-256 key.
fn v2_body() -> Vec<u8> {
    let signer = EcdsaP256Signer::generate().unwrap();
    let artifact = b"an artifact for a v2 entry";
    let request = json!({"hashedRekordRequestV002": {
        "digest": b64(&Sha256::digest(artifact)),
        "signature": {
            "content": b64(&signer.sign(artifact).unwrap()),
            "verifier": {"publicKey": {"rawBytes": b64(&signer.spki_der())},
                         "keyDetails": "PKIX_ECDSA_P256_SHA_256"},
        },
    }});
    CreateEntryRequest::from_json(request.to_string().as_bytes())
        .unwrap()
        .canonical_body()
        .unwrap()
}

/// A v1 answer for a hashedrekord 0.0.1 body, with a real SET.
fn v1_entry(log: &EcdsaP256Signer) -> LogEntry {
    let signer = EcdsaP256Signer::generate().unwrap();
    let artifact = b"an artifact for a v1 entry";
    let key_pem =
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &signer.spki_der())
            .unwrap();
    let proposed = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {"content": b64(&signer.sign(artifact).unwrap()),
                          "publicKey": {"content": b64(key_pem.as_bytes())}},
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(artifact))}},
        },
    });
    let body = rekor::parse_proposed_entry(proposed.to_string().as_bytes())
        .unwrap()
        .canonical_body()
        .unwrap();
    let leaf = merkle::leaf_hash(&body);
    let (integrated_time, log_index) = (1_772_216_383, 1_004_096_275);
    LogEntry {
        integrated_time,
        log_id: log.log_id(),
        log_index,
        verification: Verification {
            inclusion_proof: rekor::InclusionProof {
                checkpoint: format!(
                    "rekor.example - 1\n1\n{}\n\n— rekor.example AAAA\n",
                    b64(&leaf)
                ),
                hashes: vec![],
                log_index: 0,
                root_hash: leaf,
                tree_size: 1,
            },
            signed_entry_timestamp: sign_set(log, &body, integrated_time, log_index).unwrap(),
        },
        body,
    }
}

/// (c) Entries written here are read by sigstore_models (`from_json` and `from_dict`
/// agree) and accepted by sigstore-python's `TransparencyLogEntry`, and what they
/// write back reads here as the same entry, its inclusion proof verified there: a v2
/// entry at index 0 with an empty proof,
/// one inside a three-leaf tree with a real audit path, and one made from a v1 answer.
/// And a v1 answer turned into an entry by sigstore-python's `_from_v1_response` is the
/// entry `from_v1` makes.
#[test]
fn sigstore_models_reads_our_transparency_log_entries() {
    let Some(python) = sigstore_python() else {
        return;
    };
    let body = v2_body();
    let leaf = merkle::leaf_hash(&body);
    let checkpoint = |size: u64, root: &[u8; 32]| Checkpoint {
        envelope: format!(
            "artifacts.example\n{size}\n{}\n\n— artifacts.example AAAA\n",
            b64(root)
        ),
    };
    let first = TransparencyLogEntry {
        log_index: 0,
        log_id: LogId { key_id: [5; 32] },
        kind_version: KindVersion {
            kind: "hashedrekord".into(),
            version: API_VERSION.into(),
        },
        integrated_time: None,
        inclusion_promise: None,
        inclusion_proof: InclusionProof {
            log_index: 0,
            root_hash: leaf,
            tree_size: 1,
            hashes: vec![],
            checkpoint: checkpoint(1, &leaf),
        },
        canonicalized_body: body.clone(),
    };
    // Leaf 0 of three: the path is its sibling, then the right subtree.
    let (l1, l2) = (merkle::leaf_hash(b"one"), merkle::leaf_hash(b"two"));
    let root = merkle::node_hash(&merkle::node_hash(&leaf, &l1), &l2);
    let mut inside = first.clone();
    inside.log_index = 2_000_000;
    inside.inclusion_proof = InclusionProof {
        log_index: 0,
        root_hash: root,
        tree_size: 3,
        hashes: vec![l1, l2],
        checkpoint: checkpoint(3, &root),
    };
    merkle::verify_inclusion(&leaf, 0, 3, &inside.inclusion_proof.hashes, &root).unwrap();
    let log = EcdsaP256Signer::generate().unwrap();
    let v1 = v1_entry(&log);
    let from_v1 = TransparencyLogEntry::from_v1(&v1).unwrap();

    let ours = [first, inside, from_v1.clone()];
    let texts: Vec<String> = ours
        .iter()
        .map(|e| String::from_utf8(e.to_json().unwrap()).unwrap())
        .collect();
    let answer: rekor::LogEntryAnswer = [(rekor::entry_uuid(&v1.body), v1)].into_iter().collect();
    let out = run_python(
        &python,
        "sigstore_tle.py",
        &json!({"entries": texts, "v1_answers": [answer]}),
    );
    let theirs = out["entries"].as_array().unwrap();
    assert_eq!(theirs.len(), ours.len());
    for (entry, text) in ours.iter().zip(theirs) {
        let back = TransparencyLogEntry::from_json(text.as_str().unwrap().as_bytes())
            .unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(&back, entry);
    }
    let theirs_v1 = out["from_v1"][0].as_str().unwrap();
    assert_eq!(
        TransparencyLogEntry::from_json(theirs_v1.as_bytes()).unwrap(),
        from_v1
    );
}
