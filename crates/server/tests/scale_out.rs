//! Scale-out: two `certcentral` processes serve one CT log over one PostgreSQL
//! database. Both take submissions; one holds the sequencer lease. The holder is
//! killed (SIGKILL) under load; the survivor must take over, and afterwards every
//! entry that got an SCT — from either process — is in the tree at the index its
//! SCT promised, no index is used twice, and every tree head either process ever
//! published is consistent with the final one.

mod common;
#[path = "../../store/tests/common/postgres.rs"]
mod pg;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use merkle::verify_consistency;
use serde_json::{Value, json};

const LEASE_LINE: &str = "holding the sequencer lease";

fn start(dir: &Path, name: &str, database_url: &str, key: &Path, roots: &Path) -> Server {
    let data = dir.join(name);
    std::fs::create_dir_all(&data).unwrap();
    let config = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\ndatabase_url = \"{database_url}\"\n\n\
         [[logs]]\nname = \"test\"\nkey_file = \"{}\"\nroots_pem = \"{}\"\nsequence_interval = \"100ms\"\n",
        data.display(),
        key.display(),
        roots.display()
    );
    let path = data.join("certcentral.toml");
    std::fs::write(&path, config).unwrap();
    Server::spawn_with_env(
        &["--config", path.to_str().unwrap()],
        &data,
        &[("RUST_LOG", "warn,ctlog=info")],
    )
}

fn holds_lease(server: &Server) -> bool {
    std::fs::read_to_string(server.data_dir.join("server.log"))
        .unwrap_or_default()
        .contains(LEASE_LINE)
}

#[test]
fn two_frontends_survive_the_sequencer_holders_death() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = pg::url_for_fresh_schema();
    let root = root("Scale-out Root", 2020, 2045);
    let roots = dir.path().join("roots.pem");
    write_roots(&roots, &[&root]);
    // One log identity for both processes.
    let key = dir.path().join("log-key.pem");
    std::fs::write(
        &key,
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .unwrap()
            .serialize_pem(),
    )
    .unwrap();

    let first = start(dir.path(), "a", &database_url, &key, &roots);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !holds_lease(&first) {
        assert!(
            Instant::now() < deadline,
            "the first process never took the lease"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = start(dir.path(), "b", &database_url, &key, &roots);
    let servers = Arc::new(Mutex::new(vec![Some(first), Some(second)]));
    let urls: Vec<String> = servers
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.as_ref().unwrap().log_url(""))
        .collect();
    assert!(!holds_lease(servers.lock().unwrap()[1].as_ref().unwrap()));

    let root_der = root.der().to_vec();
    let chains: Vec<Vec<Vec<u8>>> = (0..1500)
        .map(|i| {
            vec![
                leaf(&format!("scale{i}.test"), &root, false),
                root_der.clone(),
            ]
        })
        .collect();
    let queue = Arc::new(Mutex::new(chains));
    let acknowledged = Arc::new(Mutex::new(Vec::<(Vec<u8>, Value)>::new()));
    let heads = Arc::new(Mutex::new(Vec::<Value>::new()));
    let dead = Arc::new(AtomicBool::new(false));
    let stop_polling = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        for worker in 0..8usize {
            let (queue, acknowledged, dead, urls) = (
                queue.clone(),
                acknowledged.clone(),
                dead.clone(),
                urls.clone(),
            );
            s.spawn(move || {
                let client = client();
                loop {
                    let Some(chain) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    // Half the workers load each process; once the first is dead,
                    // everything goes to the survivor.
                    let target = if dead.load(Ordering::Relaxed) {
                        1
                    } else {
                        worker % 2
                    };
                    let body = json!({"chain": chain.iter().map(|c| b64(c)).collect::<Vec<_>>()});
                    let answer = client
                        .post(format!("{}ct/v1/add-chain", urls[target]))
                        .json(&body)
                        .send();
                    match answer {
                        Ok(r) if r.status() == 200 => {
                            let sct: Value = r.json().unwrap();
                            acknowledged.lock().unwrap().push((chain[0].clone(), sct));
                        }
                        // The killed process: no SCT, no promise. Give the chain to the
                        // survivor.
                        _ if target == 0 => queue.lock().unwrap().push(chain),
                        Ok(r) => panic!(
                            "the survivor refused: {} {}",
                            r.status(),
                            r.text().unwrap_or_default()
                        ),
                        Err(e) => panic!("the survivor failed: {e}"),
                    }
                }
            });
        }
        for url in urls.clone() {
            let (heads, stop) = (heads.clone(), stop_polling.clone());
            s.spawn(move || {
                let client = client();
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(r) = client.get(format!("{url}ct/v1/get-sth")).send()
                        && let Ok(sth) = r.json::<Value>()
                    {
                        heads.lock().unwrap().push(sth);
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
            });
        }
        while acknowledged.lock().unwrap().len() < 400 {
            std::thread::sleep(Duration::from_millis(5));
        }
        // SIGKILL the lease holder mid-load.
        dead.store(true, Ordering::Relaxed);
        servers.lock().unwrap()[0].take().unwrap().kill();
        while !queue.lock().unwrap().is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        stop_polling.store(true, Ordering::Relaxed);
    });

    let survivor = servers.lock().unwrap()[1].take().unwrap();
    assert!(
        holds_lease(&survivor),
        "the survivor never took over the lease"
    );
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert_eq!(
        acknowledged.len(),
        1500,
        "every chain got an SCT in the end"
    );

    // Wait until the survivor's head covers every promise.
    let client = client();
    let max_index = acknowledged
        .iter()
        .map(|(_, sct)| sct_index(sct))
        .max()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let head = loop {
        let head = get_json(&client, &survivor.log_url("ct/v1/get-sth"));
        if head["tree_size"].as_u64().unwrap() > max_index {
            break head;
        }
        assert!(
            Instant::now() < deadline,
            "the tree never covered index {max_index}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let tree = size_and_root(&head);
    let mut seen = HashSet::new();
    for (cert, sct) in &acknowledged {
        let index = assert_included(&client, &survivor, cert, sct, tree);
        assert!(seen.insert(index), "leaf index {index} promised twice");
    }
    assert_eq!(tree.0, 1500, "no entry logged twice, none lost");

    let heads = heads.lock().unwrap().clone();
    assert!(heads.len() > 10);
    assert_heads_consistent(&client, &survivor, &heads, tree);
}

/// Two `--dev` processes on one database and one data directory (shared keys): a
/// push through one, then through the other (whose in-memory registry log is now
/// behind), then through the first again. Each must notice the other's appends
/// (`LogConflict`), reload, and append at the next index — one log, no fork.
#[test]
fn registry_pushes_through_two_frontends_share_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = pg::url_for_fresh_schema();
    let data = dir.path().join("data");
    let spawn = || Server::dev(&data, &["--database-url", &database_url]);
    // One after the other: the first generates the keys the second reads.
    let servers = [spawn(), spawn()];
    let http = client();
    // The account is made through the first process's dev issuer; accounts and API
    // keys live in the shared database, so the key works on both.
    let token: Value = http
        .post(format!("{}/dev/oidc/token", servers[0].base))
        .json(&json!({"email": "dev@example.com", "audience": "certcentral-registry"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let account: Value = http
        .post(format!("{}/api/v1/accounts", servers[0].base))
        .bearer_auth(token["id_token"].as_str().unwrap())
        .json(&json!({"username": "dev"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let key = account["api_key"]
        .as_str()
        .expect("account created")
        .to_owned();

    let mut checkpoints = Vec::new();
    for (n, server) in [0usize, 1, 0, 1].into_iter().enumerate() {
        let server = &servers[server];
        let cert = testkit::openssl::self_signed(
            dir.path(),
            &format!("cs{n}"),
            &format!("/CN=cs{n}"),
            30,
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            &[
                "-addext",
                "extendedKeyUsage=codeSigning",
                "-addext",
                "basicConstraints=CA:FALSE",
            ],
        );
        let challenge: Value = http
            .post(format!("{}/api/v1/challenges", server.base))
            .bearer_auth(&key)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let nonce = unb64(challenge["nonce"].as_str().unwrap());
        let cms = testkit::openssl::cms_sign(dir.path(), &nonce, &cert, &["-nodetach"]);
        let response = http
            .post(format!("{}/api/v1/certs", server.base))
            .bearer_auth(&key)
            .json(&json!({"challenge_id": challenge["challenge_id"], "cms": b64(&cms)}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 201, "push {n}");
        let pushed: Value = response.json().unwrap();
        assert_eq!(
            pushed["log_index"], n as u64,
            "push {n} appended at the next index"
        );
        checkpoints.push(pushed["checkpoint"].as_str().unwrap().to_owned());
    }
    // Both processes serve the same log, and its history is one chain.
    let size_of = |note: &str| note.lines().nth(1).unwrap().parse::<u64>().unwrap();
    let root_of =
        |note: &str| -> [u8; 32] { unb64(note.lines().nth(2).unwrap()).try_into().unwrap() };
    for server in &servers {
        let note = http
            .get(format!("{}/registry/log/checkpoint", server.base))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert_eq!(size_of(&note), 4);
        assert_eq!(
            note, checkpoints[3],
            "both serve the last signed checkpoint"
        );
        for old in 1..4u64 {
            let proof: Value = http
                .get(format!(
                    "{}/registry/log/consistency?old={old}&size=4",
                    server.base
                ))
                .send()
                .unwrap()
                .json()
                .unwrap();
            let old_note = &checkpoints[old as usize - 1];
            verify_consistency(
                old,
                4,
                &root_of(old_note),
                &root_of(&checkpoints[3]),
                &hashes(&proof["proof"]),
            )
            .unwrap_or_else(|e| panic!("checkpoint {old} → 4: {e}"));
        }
    }
    for (n, note) in checkpoints.iter().enumerate() {
        assert_eq!(size_of(note), n as u64 + 1);
    }
}
