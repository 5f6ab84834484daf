//! What operators and their tooling rely on, against the real binary: SIGTERM under
//! load answers every submitter (an SCT or entry that the restarted log holds, or a
//! 503) and exits 0 in time; `/healthz` and `/readyz` for load balancers;
//! `check-config` as `serve` reads a file.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use pki::keys::EcdsaP256Signer;
use pki::rekor::{ArtifactHash, HashedRekord, LogEntryAnswer, Verifier};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The shutdown bound the tests hold the server to (the default `shutdown_timeout`).
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);

/// How a load with a SIGTERM in the middle went.
struct Load<I> {
    /// Items answered with a promise (SCT, log entry), with the answer.
    promised: Vec<(I, Value)>,
    /// Promises whose answer arrived after the signal: the last batch.
    promised_after_signal: usize,
    /// Items answered 503 (retry).
    retry: usize,
    /// Anything else: another status, or a transport error on an accepted request.
    failures: Vec<String>,
    exit: std::process::ExitStatus,
    took: Duration,
}

/// Runs `threads` submitters over `items` (each request on a fresh connection, as
/// many independent clients would) against a log whose batches are far apart (20 s),
/// and once the pool holds submitters waiting for the next batch, sends SIGTERM. A refused connection after the signal is
/// not a submitter (the server stopped accepting); every accepted request must get
/// `promise_status` or 503.
fn load_then_sigterm<I: Clone + Send>(
    server: &mut Server,
    items: Vec<I>,
    threads: usize,
    promise_status: u16,
    send: impl Fn(&reqwest::blocking::Client, &I) -> reqwest::Result<reqwest::blocking::Response> + Sync,
) -> Load<I> {
    let queue = Arc::new(Mutex::new(items));
    let promised = Arc::new(Mutex::new(Vec::new()));
    let after = Arc::new(Mutex::new(0usize));
    let retry = Arc::new(Mutex::new(0usize));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let signalled: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let mut outcome = None;
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (queue, promised, after, retry, failures, signalled, send) = (
                &queue, &promised, &after, &retry, &failures, &signalled, &send,
            );
            s.spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .pool_max_idle_per_host(0)
                    .build()
                    .unwrap();
                loop {
                    let Some(item) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    match send(&client, &item) {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let body = response.text().unwrap_or_default();
                            if status == promise_status {
                                let answer = serde_json::from_str(&body).unwrap();
                                if signalled.lock().unwrap().is_some() {
                                    *after.lock().unwrap() += 1;
                                }
                                promised.lock().unwrap().push((item, answer));
                            } else if status == 503 {
                                *retry.lock().unwrap() += 1;
                            } else {
                                failures.lock().unwrap().push(format!("{status}: {body}"));
                            }
                        }
                        Err(e) if e.is_connect() && signalled.lock().unwrap().is_some() => {
                            return;
                        }
                        Err(e) => {
                            failures.lock().unwrap().push(format!("transport: {e:?}"));
                            return;
                        }
                    }
                }
            });
        }
        // The first batch is 20 s away: every submitter waits in the pool.
        std::thread::sleep(Duration::from_secs(1));
        *signalled.lock().unwrap() = Some(Instant::now());
        outcome = Some(server.terminate(SHUTDOWN_LIMIT));
    });
    let (exit, took) = outcome.unwrap();
    let take = |m: Arc<Mutex<usize>>| *m.lock().unwrap();
    Load {
        promised: Arc::try_unwrap(promised)
            .ok()
            .unwrap()
            .into_inner()
            .unwrap(),
        promised_after_signal: take(after),
        retry: take(retry),
        failures: Arc::try_unwrap(failures).unwrap().into_inner().unwrap(),
        exit,
        took,
    }
}

fn assert_orderly<I>(load: &Load<I>) {
    assert!(load.failures.is_empty(), "{:?}", load.failures);
    assert!(load.exit.success(), "exit status {:?}", load.exit);
    assert!(load.took < SHUTDOWN_LIMIT, "took {:?}", load.took);
    // A shutdown that waited for the next scheduled batch would take 20 s.
    assert!(
        load.promised_after_signal > 0,
        "the submitters waiting at the signal got no answer from a last batch"
    );
    eprintln!(
        "{} promised ({} by the last batch), {} told to retry; exit after {:?}",
        load.promised.len(),
        load.promised_after_signal,
        load.retry,
        load.took
    );
}

/// SIGTERM during a CT load: every submitter gets its SCT or a 503 at once (not at
/// the next scheduled batch), the process exits 0 well within the bound, and after a restart on the same
/// data every SCT handed out is in the tree at its index.
#[test]
fn sigterm_under_ct_load_answers_every_submitter_and_keeps_every_sct() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let root = root("Shutdown Root", 2020, 2045);
    let roots_pem = dir.path().join("roots.pem");
    write_roots(&roots_pem, &[&root]);
    let mut server = Server::with_log(&data, &roots_pem, "20s", "127.0.0.1:0");
    let addr = server.addr;
    let url = server.log_url("ct/v1/add-chain");
    let root_der = root.der().to_vec();
    let chains: Vec<Vec<Vec<u8>>> = (0..200)
        .map(|i| {
            vec![
                leaf(&format!("stop{i}.test"), &root, false),
                root_der.clone(),
            ]
        })
        .collect();

    let load = load_then_sigterm(&mut server, chains, 48, 200, |client, chain| {
        client
            .post(&url)
            .json(&json!({"chain": chain.iter().map(|c| b64(c)).collect::<Vec<_>>()}))
            .send()
    });
    assert_orderly(&load);

    let server = Server::with_log(&data, &roots_pem, "20s", &addr.to_string());
    let client = client();
    let tree = size_and_root(&get_json(&client, &server.log_url("ct/v1/get-sth")));
    assert_eq!(
        tree.0,
        load.promised.len() as u64,
        "one batch, every entry answered"
    );
    for (chain, sct) in &load.promised {
        assert_included(&client, &server, &chain[0], sct, tree);
    }
}

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

/// The same for an artifact log (Rekor v1): every entry answered 201 is in the log
/// after the restart, at the index it was given.
#[test]
fn sigterm_under_artifact_log_load_answers_every_submitter_and_keeps_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let overlay = dir.path().join("slow.toml");
    std::fs::write(
        &overlay,
        "[[artifact_logs]]\nname = \"dev-v1\"\napi_version = 1\nkey_file = \"ephemeral\"\nsequence_interval = \"20s\"\n",
    )
    .unwrap();
    let config = ["--config", overlay.to_str().unwrap()];
    let mut server = Server::dev(&data, &config);
    let url = format!("{}/rekor/dev-v1/api/v1/log/entries", server.base);
    let key = EcdsaP256Signer::generate().unwrap();
    let entries: Vec<Vec<u8>> = (0..200)
        .map(|i| hashedrekord(&key, format!("artifact {i}").as_bytes()))
        .collect();

    let load = load_then_sigterm(&mut server, entries, 48, 201, |client, entry| {
        client.post(&url).body(entry.clone()).send()
    });
    assert_orderly(&load);

    let server = Server::dev(&data, &config);
    let client = client();
    for (_, answer) in &load.promised {
        let answer: LogEntryAnswer = serde_json::from_value(answer.clone()).unwrap();
        let (uuid, promised) = answer.into_iter().next().unwrap();
        let stored: LogEntryAnswer = serde_json::from_value(get_json(
            &client,
            &format!("{}/rekor/dev-v1/api/v1/log/entries/{uuid}", server.base),
        ))
        .unwrap();
        let stored = stored.into_values().next().unwrap();
        assert_eq!(stored.log_index, promised.log_index);
        assert_eq!(stored.integrated_time, promised.integrated_time);
    }
}

/// `/healthz` stays what the load generator reads (`peak_rss_kib`); `/readyz` names
/// every component it checked.
#[test]
fn healthz_and_readyz_answer_for_load_balancers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::dev(&dir.path().join("data"), &[]);
    let client = client();
    let health = get_json(&client, &format!("{}/healthz", server.base));
    assert_eq!(health["status"], "ok");
    assert!(health["peak_rss_kib"].as_u64().unwrap() > 0, "{health}");

    let ready = get_json(&client, &format!("{}/readyz", server.base));
    assert_eq!(ready["ready"], true, "{ready}");
    let components: Vec<&str> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|c| assert_eq!(c["ready"], true, "{c}"))
        .map(|c| c["component"].as_str().unwrap())
        .collect();
    for expected in [
        "server",
        "log dev-a",
        "log dev-b",
        "artifact log dev-v1",
        "artifact log dev-v2",
        "registry",
    ] {
        assert!(components.contains(&expected), "{expected}: {ready}");
    }
}

fn check_config(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_certcentral"))
        .arg("check-config")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A good file passes with a one-line summary, and nothing is created: not the data
/// directory, not a key.
#[test]
fn check_config_accepts_a_good_file_and_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("never-created");
    let file = dir.path().join("good.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:1\"\ndata_dir = \"{}\"\nshutdown_timeout = \"20s\"\n[[logs]]\nname = \"a\"\nkey_file = \"ephemeral\"\n[registry]\n",
            data.display()
        ),
    )
    .unwrap();
    let (ok, stdout, stderr) = check_config(&[file.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("1 CT log(s)") && stdout.contains("registry"),
        "{stdout}"
    );
    assert!(!data.exists(), "check-config created the data directory");
}

/// A bad file fails with every problem listed, not only the first.
#[test]
fn check_config_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "shutdown_timeout = \"0s\"\npublic_url = \"ftp://x\"\n[[logs]]\nname = \"A b\"\nkey_file = \"ephemeral\"\n[ca]\nct_logs = [\"nope\"]\n[registry]\nchallenge_ttl = \"2h\"\n",
    )
    .unwrap();
    let (ok, _, stderr) = check_config(&[file.to_str().unwrap()]);
    assert!(!ok);
    for problem in [
        "5 problem(s)",
        "shutdown_timeout",
        "public_url",
        "log name \"A b\"",
        "\"nope\"",
        "challenge_ttl",
    ] {
        assert!(stderr.contains(problem), "{problem} missing in:\n{stderr}");
    }
    // Syntax and unknown keys fail too.
    std::fs::write(&file, "listen_addr = \"x\"\n").unwrap();
    let (ok, _, stderr) = check_config(&[file.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("listen_addr"), "{stderr}");
    // A file meant for `--dev` is checked over the dev defaults.
    std::fs::write(&file, "[ca]\nct_logs = [\"dev-a\", \"dev-b\"]\n").unwrap();
    assert!(!check_config(&[file.to_str().unwrap()]).0);
    let (ok, _, stderr) = check_config(&["--dev", file.to_str().unwrap()]);
    assert!(ok, "{stderr}");
}

/// A SIGTERM as soon as the server says it is listening is an orderly stop (exit 0),
/// not the default kill: the handler is in place before that line.
#[test]
fn sigterm_right_after_the_listening_line_is_an_orderly_stop() {
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let mut server = Server::dev(dir.path(), &[]);
        let (exit, _) = server.terminate(SHUTDOWN_LIMIT);
        assert_eq!(exit.code(), Some(0), "{exit:?}");
    }
}
