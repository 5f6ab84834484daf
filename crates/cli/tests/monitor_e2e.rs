//! `ccc verify` and `ccc monitor` against the real `certcentral` server: certificates
//! issued by its CA (configured here with SCTs from dev-a and dev-b, the two-log policy
//! browsers want; `--dev` alone asks dev-a only), checked, tampered with, and
//! watched across monitor restarts; a state file that disagrees with the log must end
//! in the misbehaviour exit code.
//!
//! The server binary is built by the `server` crate into the same target directory;
//! when it is missing these tests are skipped loudly (and fail under `CI`).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use testkit::dev_server::{Server, certcentral};

/// A `--dev` server whose CA embeds an SCT from each dev log.
const TWO_LOGS: &str = "[ca]\nct_logs = [\"dev-a\", \"dev-b\"]\n";

fn http() -> (tokio::runtime::Runtime, reqwest::Client) {
    (
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        reqwest::Client::new(),
    )
}

/// Issues a code-signing certificate for `email` with an OpenSSL-made CSR; returns the
/// chain PEMs (leaf, intermediate, root).
fn issue(server: &Server, email: &str, dir: &Path) -> Vec<String> {
    let key = dir.join("key.pem");
    let csr = dir.join("req.csr");
    let ok = |o: Output| assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ok(Command::new("openssl")
        .args([
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
        ])
        .arg(&key)
        .output()
        .unwrap());
    ok(Command::new("openssl")
        .args(["req", "-new", "-subj", "/CN=ignored", "-key"])
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .output()
        .unwrap());
    let csr_b64 = B64.encode(std::fs::read(&csr).unwrap());
    let (rt, client) = http();
    rt.block_on(async {
        let token: serde_json::Value = client
            .post(format!("{}/dev/oidc/token", server.base))
            .json(&serde_json::json!({ "email": email }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["id_token"].as_str().unwrap().to_owned();
        let resp = client
            .post(format!("{}/api/v2/signingCert", server.base))
            .bearer_auth(token)
            .json(&serde_json::json!({ "certificateSigningRequest": csr_b64 }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let body: serde_json::Value = resp.json().await.unwrap();
        body["signedCertificateEmbeddedSct"]["chain"]["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    })
}

fn ccc(args: &[&str]) -> Output {
    ccc_with_env(args, &[])
}

fn ccc_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ccc"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_str().unwrap().to_owned()
}

fn der_of(pem: &str) -> Vec<u8> {
    pki::pem_certificates(pem).unwrap().remove(0)
}

fn pem_of(der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

#[test]
fn verify_passes_an_issued_certificate_and_fails_each_broken_one_with_the_reason() {
    let Some(bin) = certcentral() else { return };
    let server = Server::start(&bin, Some(TWO_LOGS));
    let dir = tempfile::tempdir().unwrap();
    let chain = issue(&server, "dev@example.com", dir.path());
    assert_eq!(chain.len(), 3);
    let full = write(dir.path(), "chain.pem", &chain.concat());
    let root = write(dir.path(), "root.pem", &chain[2]);
    let list = server.log_list();
    let base = ["--roots", &root, "--log-keys", &list];

    let o = ccc(&[
        &["verify", &full][..],
        &base,
        &["--min-scts", "2", "--online", "--code-signing"],
    ]
    .concat());
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("result     OK"), "{out}");
    assert_eq!(out.matches("included at index").count(), 2, "{out}");

    // JSON for scripts.
    let o = ccc(&[&["verify", &full, "--json"][..], &base].concat());
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["distinct_valid_scts"], 2);
    assert_eq!(json["identity"]["emails"][0], "dev@example.com");

    // Expired at --at.
    let o = ccc(&[
        &["verify", &full, "--at", "2099-01-01T00:00:00Z"][..],
        &base,
    ]
    .concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("certificate has expired at 2099-01-01T00:00:00Z"),
        "{}",
        text(&o)
    );

    // A tampered SCT: flip the last byte of the first SCT's signature inside the
    // certificate. (The CA's signature over the certificate breaks too; both are said.)
    let mut leaf = der_of(&chain[0]);
    let scts = pki::embedded_scts(&leaf).unwrap();
    let sig = &scts[0].signature.signature;
    let at = leaf
        .windows(sig.len())
        .position(|w| w == sig.as_slice())
        .unwrap();
    leaf[at + sig.len() - 1] ^= 0x01;
    let tampered = write(
        dir.path(),
        "tampered.pem",
        &[pem_of(&leaf), chain[1].clone()].concat(),
    );
    let o = ccc(&[&["verify", &tampered][..], &base].concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("SCT from certcentral log dev-a: signature does not verify"),
        "{}",
        text(&o)
    );

    // An unknown log: a list holding only dev-b.
    let (rt, client) = http();
    let mut only_b: serde_json::Value = rt.block_on(async {
        client
            .get(&list)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    only_b["operators"][0]["logs"]
        .as_array_mut()
        .unwrap()
        .retain(|l| l["description"].as_str().unwrap().ends_with("dev-b"));
    let only_b = write(dir.path(), "only-b.json", &only_b.to_string());
    let o = ccc(&["verify", &full, "--roots", &root, "--log-keys", &only_b]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.contains(": unknown log "), "{t}");
    assert!(
        t.contains("SCT policy: 1 valid SCT from distinct logs, 2 required"),
        "{t}"
    );

    // A broken chain: the root of another CA with the same names.
    let other = Server::start(&bin, Some(TWO_LOGS));
    let other_chain = issue(&other, "dev@example.com", dir.path());
    let other_root = write(dir.path(), "other-root.pem", &other_chain[2]);
    let o = ccc(&["verify", &full, "--roots", &other_root, "--log-keys", &list]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("broken chain"), "{}", text(&o));
    // And a leaf without its intermediate.
    let leaf_only = write(dir.path(), "leaf.pem", &chain[0]);
    let o = ccc(&[&["verify", &leaf_only][..], &base].concat());
    assert!(text(&o).contains("broken chain: no issuer"), "{}", text(&o));
}

#[test]
fn verify_refuses_one_sct_when_two_are_required() {
    let Some(bin) = certcentral() else { return };
    let server = Server::start(&bin, Some("[ca]\nct_logs = [\"dev-a\"]\n"));
    let dir = tempfile::tempdir().unwrap();
    let chain = issue(&server, "one@example.com", dir.path());
    let full = write(dir.path(), "chain.pem", &chain.concat());
    let root = write(dir.path(), "root.pem", &chain[2]);
    let list = server.log_list();
    let args = ["verify", &full, "--roots", &root, "--log-keys", &list];
    let o = ccc(&[&args[..], &["--min-scts", "2"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("SCT policy: 1 valid SCT from distinct logs, 2 required"),
        "{}",
        text(&o)
    );
    let o = ccc(&[&args[..], &["--min-scts", "1"]].concat());
    assert!(o.status.success(), "{}", text(&o));
}

/// One POST a webhook received: its body and its signature header, if any.
struct Posted {
    body: Vec<u8>,
    signature: Option<String>,
}

/// Records what is POSTed to it.
fn webhook() -> (String, Arc<Mutex<Vec<Posted>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let mut signature = None;
            let body = loop {
                let Ok(n) = sock.read(&mut chunk) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                signature = head
                    .lines()
                    .find_map(|l| l.strip_prefix("certcentral-signature:"))
                    .map(|v| v.trim().to_owned());
                if buf.len() >= end + 4 + len {
                    break Some(buf[end + 4..end + 4 + len].to_vec());
                }
            };
            if let Some(body) = body {
                store.lock().unwrap().push(Posted { body, signature });
            }
            let _ = sock.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    (url, seen)
}

/// `ccc monitor --once` over both dev logs, watching watched@example.com, with the
/// state file `state`, `--api api` and `extra` arguments.
fn monitor_both(
    server: &Server,
    state: &str,
    api: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let (a, b) = (server.log("dev-a"), server.log("dev-b"));
    let mut args = vec![
        "monitor",
        "--log",
        &a,
        "--log",
        &b,
        "--watch",
        "email:watched@example.com",
        "--state",
        state,
        "--api",
        api,
        "--once",
    ];
    args.extend_from_slice(extra);
    ccc_with_env(&args, env)
}

fn match_lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn monitor_reports_each_watched_certificate_exactly_once_across_restarts() {
    let Some(bin) = certcentral() else { return };
    let server = Server::start(&bin, Some(TWO_LOGS));
    let dir = tempfile::tempdir().unwrap();
    for email in [
        "watched@example.com",
        "other@example.com",
        "watched@example.com",
    ] {
        issue(&server, email, dir.path());
    }
    let state = dir.path().join("state.json");
    let state = state.to_str().unwrap();
    let (hook, delivered) = webhook();
    let secret = "ccwh_test-secret";
    let run = |api: &str| {
        let o = monitor_both(
            &server,
            state,
            api,
            &["--webhook", &hook],
            &[("CCC_WEBHOOK_SECRET", secret)],
        );
        assert!(o.status.success(), "{}", text(&o));
        match_lines(&o)
    };
    let first = run("auto");
    let mut seen: Vec<(String, u64)> = first
        .iter()
        .map(|m| {
            (
                m["log"].as_str().unwrap().to_owned(),
                m["leaf_index"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(first.len(), 4, "2 certificates in 2 logs: {first:?}");
    assert!(first.iter().all(|m| m["entry_type"] == "precert"));
    assert!(first.iter().all(|m| m["matched"] == "watched@example.com"));

    // A restart with nothing new reports nothing.
    assert!(run("auto").is_empty());

    // New certificates; the next run (over RFC 6962 this time) reports only them.
    issue(&server, "watched@example.com", dir.path());
    issue(&server, "other@example.com", dir.path());
    let second = run("rfc6962");
    assert_eq!(second.len(), 2, "{second:?}");
    for m in &second {
        let key = (
            m["log"].as_str().unwrap().to_owned(),
            m["leaf_index"].as_u64().unwrap(),
        );
        assert!(!seen.contains(&key), "{key:?} reported twice");
        seen.push(key);
    }
    assert!(run("tiles").is_empty());
    // Every match also went to the webhook, signed as the server signs.
    let delivered = delivered.lock().unwrap();
    assert_eq!(delivered.len(), 6);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for posted in delivered.iter() {
        let json: serde_json::Value = serde_json::from_slice(&posted.body).unwrap();
        assert_eq!(json["matched"], "watched@example.com");
        let header = posted.signature.as_deref().expect("signed");
        monitor::webhook::verify_signature(secret, header, &posted.body, now, 300)
            .unwrap_or_else(|e| panic!("{e}: {header}"));
    }
}

#[test]
fn monitor_exits_with_the_misbehaviour_code_when_the_log_disagrees_with_the_state() {
    let Some(bin) = certcentral() else { return };
    let server = Server::start(&bin, Some(TWO_LOGS));
    let dir = tempfile::tempdir().unwrap();
    issue(&server, "x@example.com", dir.path());
    issue(&server, "y@example.com", dir.path());
    let log = server.log("dev-a");
    let (rt, client) = http();
    let list: serde_json::Value = rt.block_on(async {
        client
            .get(server.log_list())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let log_id = list["operators"][0]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["description"].as_str().unwrap().ends_with("dev-a"))
        .unwrap()["log_id"]
        .clone();
    // A state that "verified" a tree of `size` leaves with made-up hashes.
    let state_for = |size: u64| {
        let peaks: Vec<merkle::Hash> = (0..size.count_ones()).map(|i| [i as u8 + 1; 32]).collect();
        let root = merkle::tree::fold_peaks(&peaks);
        let json = serde_json::json!({
            "version": 1,
            "logs": { format!("{log}/"): {
                "log_id": log_id, "tree_size": size, "root_hash": B64.encode(root),
                "timestamp": 0, "peaks": peaks.iter().map(|p| B64.encode(p)).collect::<Vec<_>>(),
            }}
        });
        write(dir.path(), &format!("state-{size}.json"), &json.to_string())
    };
    for (size, api, what) in [
        (2, "rfc6962", "two different roots signed for tree size 2"),
        (1, "rfc6962", "is not consistent with the verified head"),
        (1, "tiles", "do not hash to the signed root"),
        (9, "auto", "smaller than the verified size 9"),
    ] {
        let state = state_for(size);
        let o = ccc(&[
            "monitor", "--log", &log, "--state", &state, "--api", api, "--once",
        ]);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
        let t = text(&o);
        assert!(t.contains("!!! ALERT !!!") && t.contains(what), "{t}");
        assert!(t.contains("\"alert\""), "{t}");
    }
}

#[test]
fn monitor_can_start_at_the_head_and_report_only_what_follows() {
    let Some(bin) = certcentral() else { return };
    let server = Server::start(&bin, Some(TWO_LOGS));
    let dir = tempfile::tempdir().unwrap();
    issue(&server, "watched@example.com", dir.path());
    issue(&server, "other@example.com", dir.path());
    let state = dir.path().join("state.json");
    let state = state.to_str().unwrap();
    let run = |api: &str| monitor_both(&server, state, api, &["--start-at-head"], &[]);
    // RFC 6962 logs publish no hash tiles: starting at the head is refused.
    let o = run("rfc6962");
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("needs a log that serves tiles"),
        "{}",
        text(&o)
    );

    let o = run("tiles");
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        match_lines(&o).is_empty(),
        "nothing before the head: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("starts at its current head"),
        "{}",
        text(&o)
    );

    issue(&server, "watched@example.com", dir.path());
    let o = run("tiles");
    assert!(o.status.success(), "{}", text(&o));
    let matches = match_lines(&o);
    let indices: Vec<u64> = matches
        .iter()
        .map(|m| m["leaf_index"].as_u64().unwrap())
        .collect();
    assert_eq!(
        indices,
        [2, 2],
        "the new certificate in each log: {matches:?}"
    );
}
