//! End-to-end: the server follows its own CT logs and POSTs watch-subscription matches
//! to webhooks — certificates issued for a watched email are reported exactly once
//! each, across a server restart, and nobody else's are; two processes on one
//! PostgreSQL database deliver each match once between them, and the survivor takes
//! over when the active one dies; webhooks to private addresses are refused.

mod common;
#[path = "../../store/tests/common/postgres.rs"]
mod pg;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Server, answer, dev_token};
use reqwest::blocking::Client;
use serde_json::{Value, json};

/// `serve --dev` over `dir/data` with a fast monitor.
fn dev_server(dir: &Path) -> Server {
    dev_server_with(dir, "")
}

/// [`dev_server`] with more `[monitor]` settings.
fn dev_server_with(dir: &Path, monitor_settings: &str) -> Server {
    dev_server_on(dir, monitor_settings, &[])
}

/// [`dev_server_with`] plus more command-line arguments.
fn dev_server_on(dir: &Path, monitor_settings: &str, more: &[&str]) -> Server {
    let overlay = dir.join("overlay.toml");
    std::fs::write(
        &overlay,
        // Each certificate's precertificate goes to both dev logs (`--dev` alone
        // asks dev-a only), so that the monitor follows two busy logs.
        format!(
            "[ca]\nct_logs = [\"dev-a\", \"dev-b\"]\n[monitor]\ninterval = \"200ms\"\n{monitor_settings}"
        ),
    )
    .unwrap();
    let mut args = vec!["--config", overlay.to_str().unwrap()];
    args.extend_from_slice(more);
    Server::dev(&dir.join("data"), &args)
}

/// One POST a webhook received: its headers (names in lower case) and body.
#[derive(Clone, Debug)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A webhook receiver: every POST, in arrival order.
struct Webhook {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Webhook {
    /// A receiver that accepts every delivery (200).
    fn start() -> Webhook {
        Self::answering("200 OK")
    }

    /// A receiver that answers every POST with `status` (e.g. "500 Internal Server
    /// Error"), recording it all the same.
    fn answering(status: &'static str) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = HashMap::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
                    }
                }
                let length = headers
                    .get("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_ok() {
                    sink.lock().unwrap().push(Received { headers, body });
                }
                let _ = stream.write_all(
                    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                );
            }
        });
        Webhook { url, received }
    }

    /// The JSON bodies received.
    fn received(&self) -> Vec<Value> {
        self.raw()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).expect("a JSON body"))
            .collect()
    }

    fn raw(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` matches arrived (panics after 60 s).
    fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "webhook got {} of {n} matches: {got:?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Registers `username` for `email`; returns its API key.
fn account(http: &Client, server: &Server, email: &str, username: &str) -> String {
    let token = common::registry_token(http, server, email);
    let (status, body) = answer(
        http.post(format!("{}/api/v1/accounts", server.base))
            .bearer_auth(&token)
            .json(&json!({ "username": username }))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{body}");
    body["api_key"].as_str().unwrap().to_owned()
}

fn subscribe(http: &Client, server: &Server, key: &str, body: &Value) -> (u16, Value) {
    answer(
        http.post(format!("{}/api/v1/subscriptions", server.base))
            .bearer_auth(key)
            .json(body)
            .send()
            .unwrap(),
    )
}

fn list(http: &Client, server: &Server, key: &str) -> Vec<Value> {
    let (status, body) = answer(
        http.get(format!("{}/api/v1/subscriptions", server.base))
            .bearer_auth(key)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    body["subscriptions"].as_array().unwrap().clone()
}

/// Registers `watcher` and subscribes it to alice's certificates at `hook`: its API
/// key, the subscription id and its signing secret.
fn watch_alice(http: &Client, server: &Server, hook: &Webhook) -> (String, String, String) {
    let key = account(http, server, "watcher@example.com", "watcher");
    let (status, sub) = subscribe(
        http,
        server,
        &key,
        &json!({ "rule": "email:alice@example.com", "webhook": hook.url }),
    );
    assert_eq!(status, 201, "{sub}");
    assert_eq!(sub["signed"], true, "{sub}");
    let secret = sub["secret"].as_str().expect("the secret, once").to_owned();
    (key, sub["id"].as_str().unwrap().to_owned(), secret)
}

/// Checks every delivery's signature header with the `openssl` CLI (an HMAC
/// implementation independent of the server's) and that no delivery id repeats.
fn assert_signed(deliveries: &[Received], secret: &str, dir: &Path) {
    let mut ids = BTreeSet::new();
    for (n, d) in deliveries.iter().enumerate() {
        let id = &d.headers["certcentral-delivery"];
        assert!(ids.insert(id.clone()), "delivery id {id} repeats");
        let header = &d.headers["certcentral-signature"];
        let (t, tag) = header
            .strip_prefix("t=")
            .and_then(|rest| rest.split_once(",v1="))
            .unwrap_or_else(|| panic!("signature header {header:?}"));
        let signed = dir.join(format!("signed-{n}"));
        let mut message = format!("{t}.").into_bytes();
        message.extend_from_slice(&d.body);
        std::fs::write(&signed, message).unwrap();
        let out = Command::new("openssl")
            .args(["dgst", "-sha256", "-hmac", secret, "-r"])
            .arg(&signed)
            .output()
            .expect("openssl CLI");
        assert!(out.status.success());
        let expected = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            expected.split_whitespace().next().unwrap(),
            tag,
            "delivery {id}"
        );
    }
}

/// A certificate for `email` from the CA, with a key and CSR made by `openssl`.
fn issue(http: &Client, server: &Server, dir: &Path, email: &str) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl CLI must be installed (see .ci/run)");
        assert!(out.status.success(), "openssl {args:?}");
    };
    run(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "k.key",
    ]);
    run(&[
        "req", "-new", "-key", "k.key", "-subj", "/CN=x", "-out", "k.csr",
    ]);
    let csr = std::fs::read(dir.join("k.csr")).unwrap();
    let token = dev_token(http, server, email);
    let (status, body) = answer(
        http.post(format!("{}/api/v2/signingCert", server.base))
            .bearer_auth(&token)
            .json(&json!({ "certificateSigningRequest": B64.encode(&csr) }))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{body}");
}

/// Waits until the monitor verified `size` entries of both dev logs.
fn wait_verified(http: &Client, server: &Server, size: u64) {
    wait_status(http, server, |body| {
        assert_eq!(body["alerts"], json!([]), "{body}");
        let logs = body["logs"].as_array().unwrap();
        logs.len() == 2 && logs.iter().all(|l| l["tree_size"] == json!(size))
    });
}

/// (log name, leaf index) of every match, checking each is alice's precertificate.
fn entries(matches: &[Value]) -> BTreeSet<(String, u64)> {
    let mut seen = BTreeSet::new();
    for m in matches {
        assert_eq!(m["rule"], "email:alice@example.com", "{m}");
        assert_eq!(m["matched"], "alice@example.com", "{m}");
        assert_eq!(m["entry_type"], "precert", "{m}");
        assert_eq!(m["identity"]["emails"], json!(["alice@example.com"]), "{m}");
        let key = (
            m["log_name"].as_str().unwrap().to_owned(),
            m["leaf_index"].as_u64().unwrap(),
        );
        assert!(seen.insert(key), "delivered twice: {m}");
    }
    seen
}

#[test]
fn watched_email_matches_are_delivered_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let http = Client::new();
    let hook = Webhook::start();
    let mut server = dev_server(dir.path());
    let (key, sub_id, secret) = watch_alice(&http, &server, &hook);

    // alice, then bob: each certificate's precertificate lands in dev-a and dev-b.
    issue(&http, &server, dir.path(), "alice@example.com");
    issue(&http, &server, dir.path(), "bob@example.com");
    wait_verified(&http, &server, 2);
    let got = hook.wait_for(2);
    let expected: BTreeSet<_> = [("dev-a".to_owned(), 0), ("dev-b".to_owned(), 0)].into();
    assert_eq!(entries(&got), expected, "alice's entries, not bob's");
    assert!(got.iter().all(|m| m["subscription"] == sub_id.as_str()));

    // Restart on the same data directory (SIGKILL: no graceful anything).
    server.kill();
    let server = dev_server(dir.path());
    let subs = list(&http, &server, &key);
    assert_eq!(subs.len(), 1, "subscriptions survive the restart");
    assert_eq!(subs[0]["id"], sub_id.as_str());
    assert_eq!(subs[0]["signed"], true);
    assert!(subs[0].get("secret").is_none(), "the secret is shown once");
    wait_verified(&http, &server, 2);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(hook.received().len(), 2, "nothing is delivered again");

    // A new secret signs what comes next; new matches still arrive, once.
    let (status, rotated) = answer(
        http.post(format!(
            "{}/api/v1/subscriptions/{sub_id}/secret",
            server.base
        ))
        .bearer_auth(&key)
        .send()
        .unwrap(),
    );
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("ccwh_") && new_secret != secret);
    issue(&http, &server, dir.path(), "alice@example.com");
    wait_verified(&http, &server, 3);
    let got = hook.wait_for(4);
    std::thread::sleep(Duration::from_secs(1));
    let got_after = hook.received();
    assert_eq!(got_after.len(), 4, "{got:?}");
    let expected: BTreeSet<_> = [
        ("dev-a".to_owned(), 0),
        ("dev-b".to_owned(), 0),
        ("dev-a".to_owned(), 2),
        ("dev-b".to_owned(), 2),
    ]
    .into();
    assert_eq!(entries(&got_after), expected);
    let raw = hook.raw();
    assert_signed(&raw[..2], &secret, dir.path());
    assert_signed(&raw[2..], new_secret, dir.path());
}

#[test]
fn bad_subscription_requests_are_4xx() {
    let dir = tempfile::tempdir().unwrap();
    let http = Client::new();
    let server = dev_server(dir.path());
    let url = format!("{}/api/v1/subscriptions", server.base);
    let good = json!({ "rule": "domain:*.example.com", "webhook": "https://hooks.example/x" });

    // No key, a malformed key, an unknown key: 401, like the registry's own routes.
    let (status, body) = answer(http.post(&url).json(&good).send().unwrap());
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "invalid_api_key");
    for bad in ["nonsense", "cck_0000000000000000000000000000000000000000"] {
        let (status, body) = subscribe(&http, &server, bad, &good);
        assert_eq!(status, 401, "{bad}: {body}");
    }

    let key = account(&http, &server, "carol@example.com", "carol");
    for (body, what) in [
        (
            json!({ "rule": "mail:x@example.com", "webhook": "https://h.example/" }),
            "unknown rule kind",
        ),
        (
            json!({ "rule": "email:", "webhook": "https://h.example/" }),
            "empty rule",
        ),
        (
            json!({ "rule": "san-regex:(", "webhook": "https://h.example/" }),
            "bad regex",
        ),
        (
            json!({ "rule": "x".repeat(5000), "webhook": "https://h.example/" }),
            "long rule",
        ),
        (
            json!({ "rule": "email:a@example.com", "webhook": "ftp://h.example/" }),
            "ftp webhook",
        ),
        (
            json!({ "rule": "email:a@example.com", "webhook": "not a url" }),
            "not a URL",
        ),
        (json!({ "rule": "email:a@example.com" }), "no webhook"),
        (
            json!({ "rule": "email:a@example.com", "webhook": "https://h/", "x": 1 }),
            "unknown field",
        ),
    ] {
        let (status, answer) = subscribe(&http, &server, &key, &body);
        assert_eq!(status, 400, "{what}: {answer}");
        assert!(answer["message"].is_string(), "{what}: {answer}");
    }
    let (status, body) = answer(
        http.post(&url)
            .bearer_auth(&key)
            .body("{not json")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400, "{body}");
    let (status, _) = answer(
        http.post(&url)
            .bearer_auth(&key)
            .body(vec![b' '; 64 * 1024])
            .send()
            .unwrap(),
    );
    assert!(status == 413 || status == 400, "oversized body: {status}");
    assert!(list(&http, &server, &key).is_empty());

    // Deleting: only one's own subscriptions; an unknown id is 404.
    let (status, sub) = subscribe(&http, &server, &key, &good);
    assert_eq!(status, 201, "{sub}");
    assert_eq!(sub["rule"], "domain:*.example.com");
    let id = sub["id"].as_str().unwrap();
    let other = account(&http, &server, "dan@example.com", "dan");
    let delete = |key: &str, id: &str| {
        answer(
            http.delete(format!("{url}/{id}"))
                .bearer_auth(key)
                .send()
                .unwrap(),
        )
        .0
    };
    // Only the owner gets a new secret; others learn nothing of the id.
    let rotate = |key: &str, id: &str| {
        answer(
            http.post(format!("{url}/{id}/secret"))
                .bearer_auth(key)
                .send()
                .unwrap(),
        )
    };
    assert_eq!(rotate(&other, id).0, 404);
    assert_eq!(rotate(&key, "no-such-id").0, 404);
    assert_eq!(rotate("nonsense", id).0, 401);
    let (status, fresh) = rotate(&key, id);
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(fresh["id"], id);
    assert_ne!(fresh["secret"], sub["secret"]);
    assert_eq!(delete(&other, id), 404);
    assert_eq!(delete(&key, "no-such-id"), 404);
    assert_eq!(list(&http, &server, &other).len(), 0);
    assert_eq!(list(&http, &server, &key).len(), 1);
    assert_eq!(delete(&key, id), 204);
    assert!(list(&http, &server, &key).is_empty());

    // A rotated (revoked) key no longer opens the account's subscriptions.
    let (status, rotated) = answer(
        http.post(format!("{}/api/v1/api-keys/rotate", server.base))
            .bearer_auth(&key)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{rotated}");
    let (status, body) = subscribe(&http, &server, &key, &good);
    assert_eq!(status, 401, "{body}");
    let new_key = rotated["api_key"].as_str().unwrap();
    let (status, body) = subscribe(&http, &server, new_key, &good);
    assert_eq!(status, 201, "{body}");
}

/// A "log" whose tree head signature is garbage: 404 for everything but `get-sth`.
fn lying_log() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/logs/liar", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim_end().is_empty() {
                    break;
                }
            }
            let (status, body) = if request_line.contains("/ct/v1/get-sth ") {
                let sth = json!({
                    "tree_size": 5,
                    "timestamp": 1_700_000_000_000u64,
                    "sha256_root_hash": B64.encode([7u8; 32]),
                    "tree_head_signature": B64.encode([4u8, 3, 0, 4, 1, 2, 3, 4]),
                });
                ("200 OK", sth.to_string())
            } else {
                ("404 Not Found", String::new())
            };
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    url
}

#[test]
fn a_remote_log_with_a_bad_tree_head_signature_is_an_alert_until_an_operator_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let http = Client::new();
    let liar = lying_log();
    // Any well-formed P-256 key: the signature cannot verify with it.
    let key = rcgen::KeyPair::generate().unwrap();
    let settings = format!(
        "[[monitor.logs]]\nurl = \"{liar}\"\npublic_key = \"{}\"\n",
        B64.encode(rcgen::PublicKeyData::subject_public_key_info(&key))
    );
    let mut server = dev_server_with(dir.path(), &settings);
    let body = wait_status(&http, &server, |body| {
        body["alerts"].as_array().is_some_and(|a| !a.is_empty())
    });
    let alert = &body["alerts"][0];
    assert_eq!(alert["kind"], "bad-signature", "{body}");
    assert!(
        alert["log"].as_str().unwrap().contains("/logs/liar"),
        "{body}"
    );
    let logs = body["logs"].as_array().unwrap();
    let liar_status = logs.iter().find(|l| l["url"] == alert["log"]).unwrap();
    assert_eq!(liar_status["halted"], true, "{body}");
    // The server's own logs are still followed.
    assert!(
        logs.iter().filter(|l| l["halted"] == false).count() == 2,
        "{body}"
    );
    let first_at = alert["at_ms"].as_u64().unwrap();

    // A restart neither forgets the alert nor follows the liar again: after several
    // passes over the own logs there is still exactly the one alert.
    server.kill();
    let server = dev_server_with(dir.path(), &settings);
    let started = wait_status(&http, &server, |b| b["role"] == "active");
    assert_eq!(started["alerts"].as_array().unwrap().len(), 1, "{started}");
    let passes_from = started["logs"][0]["last_pass_ms"].as_u64().unwrap_or(0) + 1000;
    let later = wait_status(&http, &server, |b| {
        b["logs"][0]["last_pass_ms"].as_u64() >= Some(passes_from)
    });
    let alerts = later["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "the halted log is not read: {later}");
    assert_eq!(alerts[0]["at_ms"], first_at);
    let liar_status = later["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["url"] == alerts[0]["log"]);
    assert_eq!(liar_status.unwrap()["halted"], true, "{later}");

    // The operator's command: list, a log with no alert is an error, then clear.
    let operator = |args: &[&str]| {
        let overlay = dir.path().join("overlay.toml");
        let data = dir.path().join("data");
        let out = Command::new(env!("CARGO_BIN_EXE_certcentral"))
            .arg("alerts")
            .args(args)
            .args(["--dev", "--config", overlay.to_str().unwrap()])
            .args(["--data-dir", data.to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
        (out.status.success(), text)
    };
    let (ok, listed) = operator(&["list"]);
    assert!(
        ok && listed.contains("bad-signature") && listed.contains("1 open alert"),
        "{listed}"
    );
    let (ok, refused) = operator(&["clear", "--log", "dev-a"]);
    assert!(
        !ok && refused.contains("no open alert for \"dev-a\""),
        "{refused}"
    );
    let (ok, cleared) = operator(&["clear", "--log", &liar]);
    assert!(ok && cleared.contains("cleared 1 alert"), "{cleared}");

    // The running server resumes the log within a pass, and it lies again: a new alert.
    let again = wait_status(&http, &server, |b| {
        b["alerts"][0]["at_ms"]
            .as_u64()
            .is_some_and(|at| at > first_at)
    });
    assert_eq!(again["alerts"].as_array().unwrap().len(), 1, "{again}");
    assert_eq!(again["alerts"][0]["kind"], "bad-signature");
}

/// Monitor status, once `done` holds for it (panics after 60 s).
fn wait_status(http: &Client, server: &Server, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = answer(
            http.get(format!("{}/api/v1/monitor/status", server.base))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "monitor status: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn webhooks_to_private_addresses_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let http = Client::new();
    let hook = Webhook::start();

    // Allowed (as in plain `--dev`): a loopback receiver is accepted.
    let mut server = dev_server_with(dir.path(), "allow_private_webhooks = true\n");
    let (key, ..) = watch_alice(&http, &server, &hook);
    server.kill();

    // The operator turns it off: new subscriptions to non-public places are 400s…
    let server = dev_server_with(dir.path(), "allow_private_webhooks = false\n");
    let port = hook
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    for (webhook, reason) in [
        (hook.url.clone(), "loopback"),
        (format!("http://localhost:{port}/hook"), "localhost"),
        (format!("http://[::1]:{port}/hook"), "loopback"),
        (format!("http://2130706433:{port}/hook"), "loopback"),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "link-local",
        ),
        ("https://10.1.2.3/hook".to_owned(), "private"),
        ("https://[fd00::1]/hook".to_owned(), "unique local"),
        ("https://[::ffff:192.168.0.1]/hook".to_owned(), "private"),
    ] {
        let (status, body) = subscribe(
            &http,
            &server,
            &key,
            &json!({ "rule": "email:alice@example.com", "webhook": webhook }),
        );
        assert_eq!(status, 400, "{webhook}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(reason), "{webhook}: {message}");
        assert!(message.contains("allow_private_webhooks"), "{message}");
    }
    // …a public address literal is fine (its rule never matches here: nothing is sent)…
    let (status, body) = subscribe(
        &http,
        &server,
        &key,
        &json!({ "rule": "email:nobody@example.com", "webhook": "https://93.184.215.14/hook" }),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(list(&http, &server, &key).len(), 2);

    // …and the old loopback subscription's match is given up without a request.
    issue(&http, &server, dir.path(), "alice@example.com");
    let status = wait_status(&http, &server, |s| s["deliveries"]["given_up"] == 2);
    assert_eq!(status["deliveries"]["delivered"], 0, "{status}");
    assert!(hook.received().is_empty(), "{:?}", hook.received());
    let log = std::fs::read_to_string(dir.path().join("data/server.log")).unwrap();
    assert!(
        log.contains("webhook delivery refused") && log.contains("loopback"),
        "the refusal is logged with its reason"
    );
}

#[test]
fn two_processes_on_one_database_deliver_each_match_once() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = pg::url_for_fresh_schema();
    let http = Client::new();
    let hook = Webhook::start();
    let spawn = || dev_server_on(dir.path(), "", &["--database-url", &database_url]);
    // One after the other: the first generates the keys the second reads.
    let mut servers = vec![spawn(), spawn()];
    let roles = || -> Vec<String> {
        servers
            .iter()
            .map(|server| {
                wait_status(&http, server, |s| s["role"] != "starting")["role"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let mut sorted = roles();
    sorted.sort();
    assert_eq!(
        sorted,
        ["active", "standby"],
        "exactly one follows and delivers"
    );

    // Subscribed through one process, issued through both.
    let key = account(&http, &servers[0], "watcher@example.com", "watcher");
    let (status, sub) = subscribe(
        &http,
        &servers[1],
        &key,
        &json!({ "rule": "email:alice@example.com", "webhook": hook.url }),
    );
    assert_eq!(status, 201, "{sub}");
    issue(&http, &servers[0], dir.path(), "alice@example.com");
    issue(&http, &servers[1], dir.path(), "alice@example.com");
    hook.wait_for(4);
    std::thread::sleep(Duration::from_secs(2));
    let got = hook.received();
    assert_eq!(entries(&got).len(), 4, "each match once: {got:?}");
    assert_eq!(got.len(), 4, "{got:?}");

    // The active one dies; the other takes over from the committed state.
    let active = roles().iter().position(|r| r == "active").unwrap();
    servers[active].kill();
    let survivor = servers.remove(1 - active);
    wait_status(&http, &survivor, |s| s["role"] == "active");
    issue(&http, &survivor, dir.path(), "alice@example.com");
    hook.wait_for(6);
    std::thread::sleep(Duration::from_secs(2));
    let got = hook.received();
    assert_eq!(entries(&got).len(), 6, "{got:?}");
    assert_eq!(
        got.len(),
        6,
        "nothing delivered twice across the failover: {got:?}"
    );
    assert_signed(&hook.raw(), sub["secret"].as_str().unwrap(), dir.path());
}

/// The give-up time counts from when a match was queued, not from a restart: after an
/// outage longer than it, each pending delivery is tried once more and given up.
#[test]
fn a_failing_webhook_is_given_up_after_its_time_counted_from_the_match() {
    let dir = tempfile::tempdir().unwrap();
    let http = Client::new();
    let hook = Webhook::answering("500 Internal Server Error");
    let settings = "webhook_give_up = \"2s\"\n";
    let mut server = dev_server_with(dir.path(), settings);
    watch_alice(&http, &server, &hook);
    issue(&http, &server, dir.path(), "alice@example.com");
    hook.wait_for(2); // the first attempt at each of the two matches
    server.kill();
    std::thread::sleep(Duration::from_secs(3)); // past the give-up time
    let before_restart = hook.raw().len();

    let server = dev_server_with(dir.path(), settings);
    let status = wait_status(&http, &server, |s| s["deliveries"]["given_up"] == 2);
    assert_eq!(status["deliveries"]["delivered"], 0, "{status}");
    let after_restart = hook.raw().len() - before_restart;
    assert_eq!(
        after_restart, 2,
        "one last attempt per match, not a new retry window"
    );
}

/// A webhook endpoint that accepts connections, reads the request and never answers:
/// it records, per path, how many requests were open at once at most.
struct BlackHole {
    base: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
    most: Arc<Mutex<HashMap<String, usize>>>,
}

impl BlackHole {
    fn start() -> BlackHole {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let open: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let most: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (open_c, most_c) = (open.clone(), most.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (open, most) = (open_c.clone(), most_c.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream);
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("")
                        .to_owned();
                    {
                        let mut open = open.lock().unwrap();
                        let n = open.entry(path.clone()).or_default();
                        *n += 1;
                        let mut most = most.lock().unwrap();
                        let m = most.entry(path.clone()).or_default();
                        *m = (*m).max(*n);
                    }
                    // Until the server gives up on the request and closes it.
                    let mut sink = [0u8; 4096];
                    while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
                    *open.lock().unwrap().get_mut(&path).unwrap() -= 1;
                });
            }
        });
        BlackHole { base, open, most }
    }

    /// Requests ever seen per path, at most at once.
    fn most(&self) -> HashMap<String, usize> {
        self.most.lock().unwrap().clone()
    }

    fn open_now(&self) -> usize {
        self.open.lock().unwrap().values().sum()
    }
}

/// Someone mis-issuing in a victim's name would like the victim's alert to be late:
/// one account subscribes 100 times to the victim's identity with webhooks that never
/// answer. The victim's own delivery still arrives within 5 s of the issuance (the old
/// outbox, oldest first with 32 deliveries in flight server-wide, held it until the
/// attacker's deliveries were given up: 30 s here, 10 min by default).
#[test]
fn one_account_cannot_delay_another_accounts_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let http = Client::new();
    let hole = BlackHole::start();
    let server = dev_server_with(dir.path(), "webhook_give_up = \"30s\"\n");

    let attacker = account(&http, &server, "mallory@example.com", "mallory");
    for i in 0..100 {
        let (status, body) = subscribe(
            &http,
            &server,
            &attacker,
            &json!({ "rule": "email:alice@example.com", "webhook": format!("{}/hole/{i}", hole.base) }),
        );
        assert_eq!(status, 201, "{body}");
    }
    let victim_hook = Webhook::start();
    watch_alice(&http, &server, &victim_hook);

    issue(&http, &server, dir.path(), "alice@example.com");
    let issued = Instant::now();
    victim_hook.wait_for(1);
    let delay = issued.elapsed();
    eprintln!("the victim's alert arrived {delay:?} after the issuance");
    assert!(
        delay < Duration::from_secs(5),
        "the victim's alert took {delay:?}"
    );
    // Both logs' matches arrive, each once.
    assert_eq!(entries(&victim_hook.wait_for(2)).len(), 2);
    // The attacker's black holes hold at most its share of the slots.
    assert!(
        hole.open_now() <= monitor::service::MAX_IN_FLIGHT_PER_ACCOUNT,
        "{} requests open at the black holes",
        hole.open_now()
    );
}

/// A subscription's deliveries go one at a time: four matches queued for a webhook
/// that never answers are not four requests at once.
#[test]
fn a_subscription_has_one_delivery_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let http = Client::new();
    let hole = BlackHole::start();
    let server = dev_server_with(dir.path(), "");
    let key = account(&http, &server, "watcher@example.com", "watcher");
    let (status, body) = subscribe(
        &http,
        &server,
        &key,
        &json!({ "rule": "email:alice@example.com", "webhook": format!("{}/hole/only", hole.base) }),
    );
    assert_eq!(status, 201, "{body}");
    // Two certificates, each logged in both dev logs: four matches.
    issue(&http, &server, dir.path(), "alice@example.com");
    issue(&http, &server, dir.path(), "alice@example.com");
    wait_verified(&http, &server, 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    while hole.open_now() == 0 {
        assert!(Instant::now() < deadline, "no delivery reached the webhook");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Within the first request's 10 s time-out, the others wait.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(hole.most().get("/hole/only"), Some(&1), "{:?}", hole.most());
}
