//! The artifact logs of `serve --dev` over HTTP: entries answered with a SET and an
//! inclusion proof that verify with the published key, reads that agree, and a
//! SIGKILL under load that loses no acknowledged entry.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use merkle::checkpoint::Checkpoint;
use merkle::note::SignedNote;
use pki::keys::EcdsaP256Signer;
use pki::rekor::checkpoint::EcdsaNoteVerifier;
use pki::rekor::{ArtifactHash, HashedRekord, LogEntry, LogEntryAnswer, Verifier, verify_set};
use serde_json::Value;
use sha2::{Digest, Sha256};

const V1: &str = "/rekor/dev-v1";

/// A hashedrekord proposed entry: `key`'s signature over `artifact`.
fn hashedrekord(key: &EcdsaP256Signer, artifact: &[u8]) -> Vec<u8> {
    let pem =
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &key.spki_der()).unwrap();
    let verifier = Verifier::from_pem(pem.as_bytes()).unwrap();
    let hash = ArtifactHash::new("sha256", &hex::encode(Sha256::digest(artifact))).unwrap();
    HashedRekord::new(key.sign(artifact).unwrap(), verifier, hash)
        .unwrap()
        .to_proposed_json()
        .unwrap()
}

fn log_key(client: &reqwest::blocking::Client, server: &Server) -> Vec<u8> {
    let pem = client
        .get(format!("{}{V1}/api/v1/log/publicKey", server.base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    der::pem::decode_vec(pem.as_bytes()).unwrap().1
}

fn only_entry(answer: LogEntryAnswer) -> (String, LogEntry) {
    assert_eq!(answer.len(), 1);
    answer.into_iter().next().unwrap()
}

/// The SET, the checkpoint signature and the inclusion proof of `entry` all verify.
/// The checkpoint's origin is `<host:port>/rekor/dev-v1`; a restarted development
/// server may have another port, so the origin is read, and the key checked.
fn assert_entry_verifies(spki: &[u8], entry: &LogEntry) {
    verify_set(spki, entry).unwrap();
    let proof = &entry.verification.inclusion_proof;
    let note = SignedNote::parse(&proof.checkpoint).unwrap();
    let origin = note.text.lines().next().unwrap();
    assert!(origin.ends_with(V1), "{origin}");
    note.verify(&[&EcdsaNoteVerifier::new(origin, spki).unwrap()])
        .unwrap();
    let checkpoint = Checkpoint::parse(&note.text).unwrap();
    assert_eq!(
        (checkpoint.size, checkpoint.root),
        (proof.tree_size, proof.root_hash)
    );
    merkle::verify_inclusion(
        &merkle::leaf_hash(&entry.body),
        proof.log_index,
        proof.tree_size,
        &proof.hashes,
        &proof.root_hash,
    )
    .unwrap();
    assert_eq!(proof.log_index, entry.log_index);
}

#[test]
fn v1_entries_verify_with_the_published_key_and_reads_agree() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::dev(&dir.path().join("data"), &[]);
    let client = client();
    let spki = log_key(&client, &server);
    let key = EcdsaP256Signer::generate().unwrap();
    let url = format!("{}{V1}/api/v1/log/entries", server.base);

    let response = client
        .post(&url)
        .header("content-type", "application/json")
        .body(hashedrekord(&key, b"release.tar.gz"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (uuid, entry) = only_entry(response.json().unwrap());
    assert_eq!(location, format!("{V1}/api/v1/log/entries/{uuid}"));
    assert_entry_verifies(&spki, &entry);

    let again = client
        .post(&url)
        .body(hashedrekord(&key, b"release.tar.gz"))
        .send()
        .unwrap();
    // ECDSA signatures are randomised: the same artifact signed again is a new entry.
    assert_eq!(again.status(), 201);
    let body = entry.body.clone();
    let proposed: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(proposed["kind"], "hashedrekord");

    let by_uuid: LogEntryAnswer = client
        .get(format!("{}{location}", server.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let (_, read) = only_entry(by_uuid);
    assert_eq!(
        (read.body, read.log_index, read.integrated_time),
        (entry.body, entry.log_index, entry.integrated_time)
    );
    assert_entry_verifies(
        &spki,
        &only_entry(
            client
                .get(format!("{url}?logIndex=1"))
                .send()
                .unwrap()
                .json()
                .unwrap(),
        )
        .1,
    );

    // The v2 log serves no v1 routes; both serve tiles.
    let status = client
        .get(format!("{}/rekor/dev-v2/api/v1/log", server.base))
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 404);
    let checkpoint = client
        .get(format!("{}/rekor/dev-v2/checkpoint", server.base))
        .send()
        .unwrap();
    assert_eq!(checkpoint.status(), 200);
    assert!(checkpoint.text().unwrap().contains("/rekor/dev-v2\n0\n"));
}

/// SIGKILL in the middle of a load: every acknowledged entry is in the log after the
/// restart at the index it was promised, with the same SET, and every checkpoint seen
/// before is consistent with the new one.
#[test]
fn crash_during_load_loses_no_acknowledged_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::dev(&data, &[]);
    let key = EcdsaP256Signer::generate().unwrap();
    let entries: Vec<Vec<u8>> = (0..3000)
        .map(|i| hashedrekord(&key, format!("artifact {i}").as_bytes()))
        .collect();
    let url = format!("{}{V1}/api/v1/log/entries", server.base);
    let info_url = format!("{}{V1}/api/v1/log", server.base);
    let acknowledged = Arc::new(Mutex::new(Vec::<LogEntry>::new()));
    let heads = Arc::new(Mutex::new(Vec::<(u64, String)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let queue = Arc::new(Mutex::new(entries));
    std::thread::scope(|s| {
        for _ in 0..6 {
            let (queue, acknowledged, stop, url) = (
                queue.clone(),
                acknowledged.clone(),
                stop.clone(),
                url.clone(),
            );
            s.spawn(move || {
                let client = client();
                while !stop.load(Ordering::Relaxed) {
                    let Some(entry) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    // Errors are expected once the server is killed: no answer, no promise.
                    if let Ok(response) = client.post(&url).body(entry).send()
                        && response.status() == 201
                        && let Ok(answer) = response.json::<LogEntryAnswer>()
                    {
                        acknowledged.lock().unwrap().push(only_entry(answer).1);
                    }
                }
            });
        }
        let (heads, stop2) = (heads.clone(), stop.clone());
        s.spawn(move || {
            let client = client();
            while !stop2.load(Ordering::Relaxed) {
                if let Ok(r) = client.get(&info_url).send()
                    && let Ok(info) = r.json::<Value>()
                {
                    let size = info["treeSize"].as_u64().unwrap();
                    let root = info["rootHash"].as_str().unwrap().to_owned();
                    heads.lock().unwrap().push((size, root));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        while acknowledged.lock().unwrap().len() < 500 {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
        stop.store(true, Ordering::Relaxed);
    });
    let acknowledged = acknowledged.lock().unwrap().clone();
    let heads = heads.lock().unwrap().clone();
    assert!(acknowledged.len() >= 500);

    let server = Server::dev(&data, &[]);
    let client = client();
    let spki = log_key(&client, &server);
    let info = get_json(&client, &format!("{}{V1}/api/v1/log", server.base));
    let size = info["treeSize"].as_u64().unwrap();
    assert!(size >= acknowledged.len() as u64);
    for promised in &acknowledged {
        let uuid = pki::rekor::entry_uuid(&promised.body);
        let (_, stored) = only_entry(
            client
                .get(format!("{}{V1}/api/v1/log/entries/{uuid}", server.base))
                .send()
                .unwrap()
                .json()
                .unwrap(),
        );
        assert_eq!(stored.log_index, promised.log_index);
        assert_eq!(stored.integrated_time, promised.integrated_time);
        assert_eq!(
            stored.verification.signed_entry_timestamp,
            promised.verification.signed_entry_timestamp
        );
        assert_entry_verifies(&spki, &stored);
    }
    for (old_size, old_root) in heads.iter().filter(|(size, _)| *size > 0) {
        let proof = get_json(
            &client,
            &format!(
                "{}{V1}/api/v1/log/proof?firstSize={old_size}&lastSize={size}",
                server.base
            ),
        );
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
        let old: [u8; 32] = hex::decode(old_root).unwrap().try_into().unwrap();
        let new: [u8; 32] = hex::decode(info["rootHash"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        merkle::verify_consistency(*old_size, size, &old, &new, &hashes).unwrap();
    }
    // The log goes on.
    let response = client
        .post(format!("{}{V1}/api/v1/log/entries", server.base))
        .body(hashedrekord(&key, b"after the crash"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(only_entry(response.json().unwrap()).1.log_index, size);
}

/// sigstore-python's own Rekor clients submit to both logs and its own verifier
/// accepts the answers (inclusion proof, checkpoint signature by key ID, and for v1
/// the SET); its v1 client reads entries back by UUID and index.
#[test]
fn sigstore_python_submits_and_verifies_on_both_apis() {
    let python = std::env::var("CERTCENTRAL_SIGSTORE_PYTHON").ok();
    let Some(python) = python else {
        assert!(
            std::env::var_os("CI").is_none(),
            "sigstore-python must be installed in CI (see .ci/run)"
        );
        eprintln!("SKIPPED: set CERTCENTRAL_SIGSTORE_PYTHON to a python with sigstore 4.5.1");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::dev(&data, &[]);
    // The v2 API has no key endpoint (clients take keys from the trusted root): the
    // generated key file is the source here.
    let pem = std::fs::read_to_string(data.join("keys/rekor-dev-v2.pem")).unwrap();
    let v2_spki = EcdsaP256Signer::from_pkcs8_pem(&pem).unwrap().spki_der();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rekor_interop.py");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .args([server.base.as_str(), &hex::encode(v2_spki)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sigstore-python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["v1"]["verified"], true);
    assert_eq!(summary["v1"]["version"], "0.0.1");
    assert_eq!(summary["v2"]["verified"], true);
    assert_eq!(summary["v2"]["version"], "0.0.2");
}
