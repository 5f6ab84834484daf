//! End-to-end tests of the CT logs: the real `certcentral` binary on a loopback port,
//! talked to over HTTP, with every signature, proof and encoding checked by an
//! independent Python implementation (`tests/ct_verify.py`).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use merkle::tiles::{TileHashSource, TileSource};
use merkle::{TileId, verify_consistency, verify_inclusion};
use pki::ct::{MerkleTreeLeaf, TileLeaf};
use pki::tls::Codec;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What to submit: the kind (`x509` or `precert`) and the chain, leaf first.
type Item = (&'static str, Vec<Vec<u8>>);

#[derive(Debug)]
struct Submission {
    kind: &'static str,
    chain: Vec<Vec<u8>>,
    sct: Value,
}

fn submit_all(server: &Server, items: Vec<Item>, threads: usize) -> Vec<Submission> {
    let queue = Arc::new(Mutex::new(items));
    let out = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            let queue = queue.clone();
            let out = out.clone();
            s.spawn(move || {
                let client = client();
                loop {
                    let Some((kind, chain)) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let endpoint = if kind == "x509" {
                        "ct/v1/add-chain"
                    } else {
                        "ct/v1/add-pre-chain"
                    };
                    let (status, sct) = post_chain(&client, &server.log_url(endpoint), &chain);
                    assert_eq!(status, 200, "{kind} submission: {sct}");
                    out.lock().unwrap().push(Submission { kind, chain, sct });
                }
            });
        }
    });
    Arc::try_unwrap(out).unwrap().into_inner().unwrap()
}

/// Reads tiles over HTTP, for the merkle crate's tile-only proof machinery.
struct HttpTiles<'a> {
    server: &'a Server,
    client: reqwest::blocking::Client,
}

impl TileSource for HttpTiles<'_> {
    type Error = String;
    fn read_tile(&mut self, tile: TileId) -> Result<Vec<u8>, String> {
        let response = self
            .client
            .get(self.server.log_url(&tile.path()))
            .send()
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{}: {}", tile.path(), response.status()));
        }
        let cache = response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            response.headers()["content-type"],
            "application/octet-stream"
        );
        assert_eq!(
            cache.contains("immutable"),
            tile.is_full(),
            "{}: {cache}",
            tile.path()
        );
        Ok(response.bytes().unwrap().to_vec())
    }
}

#[test]
fn submissions_proofs_and_static_api_verify_independently() {
    let dir = tempfile::tempdir().unwrap();
    let root = root("E2E Root", 2020, 2045);
    let inter = intermediate("E2E Intermediate", &root);
    let precert_signer = precert_signing_cert(&inter);
    let roots_pem = dir.path().join("roots.pem");
    write_roots(&roots_pem, &[&root]);
    let server = Server::with_log(&dir.path().join("data"), &roots_pem, "100ms", "127.0.0.1:0");
    let client = client();
    let log_list = get_json(&client, &format!("{}/logs/log_list.json", server.base));
    let listed = &log_list["operators"][0]["logs"][0];
    let log_key = unb64(listed["key"].as_str().unwrap());
    assert_eq!(
        unb64(listed["log_id"].as_str().unwrap()),
        Sha256::digest(&log_key).to_vec()
    );
    assert_eq!(listed["url"], server.log_url(""));
    let origin = format!("{}/logs/test", server.addr);

    let root_der = root.der().to_vec();
    let inter_der = inter.der().to_vec();
    let signer_der = precert_signer.der().to_vec();
    // Three rounds, so there are several tree heads to prove consistency between; the
    // first round alone fills a whole tile.
    let mut rounds: Vec<Vec<Item>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for i in 0..262 {
        rounds[0].push((
            "x509",
            vec![
                leaf(&format!("a{i}.test"), &inter, false),
                inter_der.clone(),
                root_der.clone(),
            ],
        ));
    }
    for i in 0..5 {
        // Root omitted: the log appends it.
        rounds[1].push(("x509", vec![leaf(&format!("b{i}.test"), &root, false)]));
        rounds[1].push((
            "precert",
            vec![
                leaf(&format!("p{i}.test"), &inter, true),
                inter_der.clone(),
                root_der.clone(),
            ],
        ));
    }
    for i in 0..3 {
        rounds[2].push((
            "precert",
            vec![
                leaf(&format!("s{i}.test"), &precert_signer, true),
                signer_der.clone(),
                inter_der.clone(),
                root_der.clone(),
            ],
        ));
        rounds[2].push((
            "x509",
            vec![
                leaf(&format!("c{i}.test"), &inter, false),
                inter_der.clone(),
            ],
        ));
    }

    let mut submissions = Vec::new();
    let mut sths = vec![get_json(&client, &server.log_url("ct/v1/get-sth"))];
    let mut checkpoints = Vec::new();
    for round in rounds {
        submissions.extend(submit_all(&server, round, 8));
        sths.push(get_json(&client, &server.log_url("ct/v1/get-sth")));
        checkpoints.push(
            client
                .get(server.log_url("checkpoint"))
                .send()
                .unwrap()
                .text()
                .unwrap(),
        );
    }
    // A resubmission gets the original SCT back, byte for byte.
    let again = submit_all(
        &server,
        vec![(submissions[3].kind, submissions[3].chain.clone())],
        1,
    );
    assert_eq!(again[0].sct, submissions[3].sct);
    submissions.extend(again);

    let head = sths.last().unwrap().clone();
    let size = head["tree_size"].as_u64().unwrap();
    assert_eq!(size, 262 + 10 + 6);
    let mut indexes: Vec<u64> = submissions.iter().map(|s| sct_index(&s.sct)).collect();
    indexes.sort();
    indexes.dedup();
    assert_eq!(indexes, (0..size).collect::<Vec<_>>());

    // All entries, paging as the server caps each answer.
    let mut entries = Vec::new();
    while (entries.len() as u64) < size {
        let start = entries.len();
        let page = get_json(
            &client,
            &server.log_url(&format!("ct/v1/get-entries?start={start}&end={}", size - 1)),
        );
        let page = page["entries"].as_array().unwrap().clone();
        assert!(!page.is_empty() && page.len() <= ctlog::MAX_GET_ENTRIES as usize);
        entries.extend(page);
    }
    let by_index: BTreeMap<u64, &Submission> =
        submissions.iter().map(|s| (sct_index(&s.sct), s)).collect();

    // Inclusion of every entry in the latest tree, and in every earlier tree holding it.
    let mut inclusion = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let leaf_input = unb64(entry["leaf_input"].as_str().unwrap());
        let leaf_hash = merkle::leaf_hash(&leaf_input);
        for sth in &sths[1..] {
            let tree_size = sth["tree_size"].as_u64().unwrap();
            if (index as u64) >= tree_size {
                continue;
            }
            let url = server.log_url(&format!(
                "ct/v1/get-proof-by-hash?hash={}&tree_size={tree_size}",
                urlencode(&b64(&leaf_hash))
            ));
            let proof = get_json(&client, &url);
            assert_eq!(proof["leaf_index"], index as u64);
            inclusion.push(json!({
                "leaf_input": entry["leaf_input"], "leaf_index": index, "tree_size": tree_size,
                "audit_path": proof["audit_path"], "root": sth["sha256_root_hash"],
            }));
        }
    }
    // get-entry-and-proof agrees with get-entries and get-proof-by-hash.
    let eap = get_json(
        &client,
        &server.log_url(&format!(
            "ct/v1/get-entry-and-proof?leaf_index=5&tree_size={size}"
        )),
    );
    assert_eq!(eap["leaf_input"], entries[5]["leaf_input"]);
    assert_eq!(eap["extra_data"], entries[5]["extra_data"]);

    // Consistency between every pair of tree heads seen.
    let mut consistency = Vec::new();
    for (i, a) in sths.iter().enumerate() {
        for b in &sths[i + 1..] {
            let (first, second) = (
                a["tree_size"].as_u64().unwrap(),
                b["tree_size"].as_u64().unwrap(),
            );
            if first == 0 {
                continue;
            }
            let proof = get_json(
                &client,
                &server.log_url(&format!(
                    "ct/v1/get-sth-consistency?first={first}&second={second}"
                )),
            );
            consistency.push(json!({
                "first": first, "second": second, "first_root": a["sha256_root_hash"],
                "second_root": b["sha256_root_hash"], "proof": proof["consistency"],
            }));
        }
    }

    let input = json!({
        "log_key": b64(&log_key),
        "origin": origin,
        "submissions": submissions.iter().map(|s| json!({
            "kind": s.kind, "chain": s.chain.iter().map(|c| b64(c)).collect::<Vec<_>>(), "sct": s.sct,
        })).collect::<Vec<_>>(),
        "sths": sths,
        "inclusion": inclusion,
        "consistency": consistency,
        "checkpoints": checkpoints,
        "entries": entries.iter().enumerate().map(|(i, e)| {
            let s = by_index[&(i as u64)];
            json!({"leaf_input": e["leaf_input"], "extra_data": e["extra_data"], "index": i,
                   "kind": s.kind, "chain": s.chain.iter().map(|c| b64(c)).collect::<Vec<_>>()})
        }).collect::<Vec<_>>(),
    });
    let summary = python_verify(&input);
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["submissions"], submissions.len());
    assert_eq!(summary["inclusion"], inclusion.len());
    assert_eq!(summary["consistency"], consistency.len());
    assert_eq!(summary["checkpoints"], checkpoints.len());
    assert_eq!(summary["entries"], size);

    // Our own verifiers agree, too.
    let root_hash: [u8; 32] = unb64(head["sha256_root_hash"].as_str().unwrap())
        .try_into()
        .unwrap();
    for item in &inclusion {
        let path: Vec<[u8; 32]> = item["audit_path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| unb64(h.as_str().unwrap()).try_into().unwrap())
            .collect();
        let leaf_hash = merkle::leaf_hash(&unb64(item["leaf_input"].as_str().unwrap()));
        let root: [u8; 32] = unb64(item["root"].as_str().unwrap()).try_into().unwrap();
        verify_inclusion(
            &leaf_hash,
            item["leaf_index"].as_u64().unwrap(),
            item["tree_size"].as_u64().unwrap(),
            &path,
            &root,
        )
        .unwrap();
    }
    for item in &consistency {
        let proof: Vec<[u8; 32]> = item["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| unb64(h.as_str().unwrap()).try_into().unwrap())
            .collect();
        let r = |k: &str| -> [u8; 32] { unb64(item[k].as_str().unwrap()).try_into().unwrap() };
        verify_consistency(
            item["first"].as_u64().unwrap(),
            item["second"].as_u64().unwrap(),
            &r("first_root"),
            &r("second_root"),
            &proof,
        )
        .unwrap();
    }

    // static-ct-api: the tree rebuilt from tiles alone has the signed root; data tiles
    // hold the same entries as get-entries; issuers hash to their fingerprints.
    let mut tiles = TileHashSource::new(
        HttpTiles {
            server: &server,
            client: client.clone(),
        },
        size,
    );
    assert_eq!(
        merkle::root_from_source(size, &mut tiles).unwrap(),
        root_hash
    );
    let mut from_tiles = Vec::new();
    for (index, path) in [
        (0u64, "tile/data/000".to_owned()),
        (1, format!("tile/data/001.p/{}", size - 256)),
    ] {
        let response = client.get(server.log_url(&path)).send().unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable"),
            index == 0
        );
        from_tiles.extend(TileLeaf::decode_tile(&response.bytes().unwrap()).unwrap());
    }
    assert_eq!(from_tiles.len() as u64, size);
    for (leaf, entry) in from_tiles.iter().zip(&entries) {
        let logged = MerkleTreeLeaf::read_bytes(&unb64(entry["leaf_input"].as_str().unwrap()))
            .unwrap()
            .timestamped_entry;
        assert_eq!(leaf.entry, logged);
        for fingerprint in &leaf.chain_fingerprints {
            let response = client
                .get(server.log_url(&format!("issuer/{}", hex::encode(fingerprint))))
                .send()
                .unwrap();
            assert_eq!(response.headers()["content-type"], "application/pkix-cert");
            assert_eq!(
                Sha256::digest(response.bytes().unwrap()).as_slice(),
                fingerprint
            );
        }
    }
    // A partial tile wider than the published tree does not exist.
    let beyond = client
        .get(server.log_url(&format!("tile/data/001.p/{}", size - 255)))
        .send()
        .unwrap();
    assert_eq!(beyond.status(), 404);
}

#[test]
fn dev_mode_runs_two_logs_whose_keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = [
        "--dev",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let keys = |server: &Server| -> Vec<(String, String)> {
        let list = get_json(&client(), &format!("{}/logs/log_list.json", server.base));
        list["operators"][0]["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["url"].as_str().unwrap().to_owned(),
                    l["key"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let mut server = Server::spawn(&args, &data);
    let first = keys(&server);
    assert_eq!(first.len(), 2);
    assert!(first[0].0.ends_with("/logs/dev-a/") && first[1].0.ends_with("/logs/dev-b/"));
    assert_ne!(first[0].1, first[1].1, "each log has its own key");
    let health = get_json(&client(), &format!("{}/healthz", server.base));
    assert_eq!(health["status"], "ok");
    assert!(health["peak_rss_kib"].as_u64().unwrap() > 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("keys/dev-a.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "private keys are owner-only");
    }
    server.kill();
    let server = Server::spawn(&args, &data);
    let second = keys(&server);
    let strip = |v: &[(String, String)]| v.iter().map(|(_, k)| k.clone()).collect::<Vec<_>>();
    assert_eq!(strip(&first), strip(&second));
}

#[test]
fn restart_with_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let root = root("Key Root", 2020, 2045);
    let roots_pem = dir.path().join("roots.pem");
    write_roots(&roots_pem, &[&root]);
    let mut server = Server::with_log(&data, &roots_pem, "20ms", "127.0.0.1:0");
    server.kill();
    std::fs::remove_file(data.join("keys/test.pem")).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_certcentral"))
        .args([
            "serve",
            "--config",
            data.join("certcentral.toml").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not signed by the configured key"),
        "{stderr}"
    );
}

/// SIGKILL in the middle of a load: every entry that got an SCT is in the tree after
/// the restart, the new head is consistent with every head seen before, and the log
/// goes on accepting entries.
#[test]
fn crash_during_load_loses_no_acknowledged_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let root = root("Crash Root", 2020, 2045);
    let roots_pem = dir.path().join("roots.pem");
    write_roots(&roots_pem, &[&root]);
    let mut server = Server::with_log(&data, &roots_pem, "25ms", "127.0.0.1:0");
    let addr = server.addr;
    let root_der = root.der().to_vec();
    let chains: Vec<Vec<Vec<u8>>> = (0..3000)
        .map(|i| {
            vec![
                leaf(&format!("crash{i}.test"), &root, false),
                root_der.clone(),
            ]
        })
        .collect();

    let acknowledged = Arc::new(Mutex::new(Vec::<(Vec<u8>, Value)>::new()));
    let heads = Arc::new(Mutex::new(Vec::<Value>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let queue = Arc::new(Mutex::new(chains));
    let url = server.log_url("ct/v1/add-chain");
    let sth_url = server.log_url("ct/v1/get-sth");
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
                    let Some(chain) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let body = json!({"chain": chain.iter().map(|c| b64(c)).collect::<Vec<_>>()});
                    // Errors are expected once the server is killed: no SCT, no promise.
                    if let Ok(response) = client.post(&url).json(&body).send()
                        && response.status() == 200
                        && let Ok(sct) = response.json::<Value>()
                    {
                        acknowledged.lock().unwrap().push((chain[0].clone(), sct));
                    }
                }
            });
        }
        let (heads, stop2) = (heads.clone(), stop.clone());
        s.spawn(move || {
            let client = client();
            while !stop2.load(Ordering::Relaxed) {
                if let Ok(r) = client.get(&sth_url).send()
                    && let Ok(sth) = r.json::<Value>()
                {
                    heads.lock().unwrap().push(sth);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        // Kill once a good part of the load has been acknowledged.
        while acknowledged.lock().unwrap().len() < 600 {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
        stop.store(true, Ordering::Relaxed);
    });
    let acknowledged = acknowledged.lock().unwrap().clone();
    let heads = heads.lock().unwrap().clone();
    assert!(acknowledged.len() >= 600);

    let server = Server::with_log(&data, &roots_pem, "25ms", &addr.to_string());
    let client = client();
    let tree = size_and_root(&get_json(&client, &server.log_url("ct/v1/get-sth")));
    let size = tree.0;
    for (cert, sct) in &acknowledged {
        assert_included(&client, &server, cert, sct, tree);
    }
    assert_heads_consistent(&client, &server, &heads, tree);
    // The log goes on.
    let (status, sct) = post_chain(
        &client,
        &server.log_url("ct/v1/add-chain"),
        &[leaf("after.test", &root, false)],
    );
    assert_eq!(status, 200, "{sct}");
    assert_eq!(sct_index(&sct), size);
}

/// The independent verifier is only worth something if it rejects bad input: its
/// self-test builds valid CT data with Python `cryptography`, then tampers with every
/// kind of item and expects each to fail.
#[test]
fn independent_verifier_rejects_tampered_data() {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ct_verify_selftest.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
