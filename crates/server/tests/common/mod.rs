//! End-to-end harness: runs the real `certcentral` binary on a loopback port over a
//! temporary data directory, and builds certificate fixtures with rcgen.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rcgen::{CertificateParams, DnType, KeyPair, date_time_ymd};
use serde_json::Value;

/// A running server process; killed (SIGKILL) when dropped.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub base: String,
    pub data_dir: PathBuf,
}

impl Server {
    /// Starts `certcentral serve` with `args`, waiting for its listening line.
    pub fn spawn(args: &[&str], data_dir: &Path) -> Server {
        Self::spawn_with_env(args, data_dir, &[])
    }

    /// `serve --dev` on a free loopback port over `data_dir`, plus `more` arguments.
    pub fn dev(data_dir: &Path, more: &[&str]) -> Server {
        let data = data_dir.to_str().expect("UTF-8 data dir");
        let mut args = vec!["--dev", "--listen", "127.0.0.1:0", "--data-dir", data];
        args.extend_from_slice(more);
        Self::spawn(&args, data_dir)
    }

    /// [`Server::spawn`] with extra environment variables (secrets named by configs).
    pub fn spawn_with_env(args: &[&str], data_dir: &Path, env: &[(&str, &str)]) -> Server {
        std::fs::create_dir_all(data_dir).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("server.log"))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_certcentral"))
            .arg("serve")
            .args(args)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start certcentral");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("certcentral listening on http://") {
                addr = Some(rest.trim().parse::<SocketAddr>().unwrap());
                break;
            }
        }
        let Some(addr) = addr else {
            let _ = child.wait();
            panic!(
                "server exited before listening; its log:\n{}",
                std::fs::read_to_string(data_dir.join("server.log")).unwrap_or_default()
            );
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child: Some(child),
            addr,
            base: format!("http://{addr}"),
            data_dir: data_dir.to_owned(),
        }
    }

    /// Starts the server from a config with one log named `test` over `data_dir`.
    pub fn with_log(data_dir: &Path, roots_pem: &Path, interval: &str, listen: &str) -> Server {
        let config = format!(
            "listen = \"{listen}\"\ndata_dir = \"{}\"\n\n[[logs]]\nname = \"test\"\nkey_file = \"ephemeral\"\nroots_pem = \"{}\"\nsequence_interval = \"{interval}\"\n",
            data_dir.display(),
            roots_pem.display()
        );
        std::fs::create_dir_all(data_dir).unwrap();
        let path = data_dir.join("certcentral.toml");
        std::fs::write(&path, config).unwrap();
        Server::spawn(&["--config", path.to_str().unwrap()], data_dir)
    }

    pub fn log_url(&self, path: &str) -> String {
        format!("{}/logs/test/{path}", self.base)
    }

    /// SIGTERM, as a service manager stops it; waits for the exit (at most `limit`)
    /// and returns its status and how long the process took.
    pub fn terminate(&mut self, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let mut child = self.child.take().expect("a running server");
        let sent = std::time::Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status, sent.elapsed());
            }
            if sent.elapsed() > limit {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("the server did not exit within {limit:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn get_json(client: &reqwest::blocking::Client, url: &str) -> Value {
    let response = client.get(url).send().unwrap();
    let status = response.status();
    let body = response.text().unwrap();
    assert!(status.is_success(), "GET {url}: {status} {body}");
    serde_json::from_str(&body).unwrap()
}

/// POSTs a chain; returns (status, JSON body).
pub fn post_chain(
    client: &reqwest::blocking::Client,
    url: &str,
    chain: &[Vec<u8>],
) -> (u16, Value) {
    let body =
        serde_json::json!({ "chain": chain.iter().map(|c| B64.encode(c)).collect::<Vec<_>>() });
    answer(client.post(url).json(&body).send().unwrap())
}

/// (status, JSON body or the text as a JSON string)
pub fn answer(response: reqwest::blocking::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// An ID token for `email` from the `--dev` OIDC issuer, for the CA.
pub fn dev_token(client: &reqwest::blocking::Client, server: &Server, email: &str) -> String {
    dev_token_for(
        client,
        server,
        email,
        &serde_json::json!({ "email": email }),
    )
}

/// An ID token for `email` from the `--dev` OIDC issuer, for the registry (its
/// default audience): single use, at most minutes old.
pub fn registry_token(client: &reqwest::blocking::Client, server: &Server, email: &str) -> String {
    let audience = pki::registry_api::DEFAULT_REGISTRY_AUDIENCE;
    let request = serde_json::json!({ "email": email, "audience": audience });
    dev_token_for(client, server, email, &request)
}

fn dev_token_for(
    client: &reqwest::blocking::Client,
    server: &Server,
    email: &str,
    request: &Value,
) -> String {
    let (status, body) = answer(
        client
            .post(format!("{}/dev/oidc/token", server.base))
            .json(request)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{email}: {body}");
    body["id_token"].as_str().unwrap().to_owned()
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn unb64(s: &str) -> Vec<u8> {
    B64.decode(s).unwrap()
}

#[allow(unused_imports)] // each test binary uses a different subset
pub use testkit::{Ca, intermediate, poison, precert_signing_cert, root};

/// A leaf for `name`, optionally a precertificate (critical poison).
pub fn leaf(name: &str, issuer: &Ca, precert: bool) -> Vec<u8> {
    let mut p = CertificateParams::new(vec![name.to_owned()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.not_before = date_time_ymd(2025, 1, 1);
    p.not_after = date_time_ymd(2035, 1, 1);
    p.use_authority_key_identifier_extension = true;
    if precert {
        p.custom_extensions = vec![poison(true)];
    }
    p.signed_by(&KeyPair::generate().unwrap(), issuer)
        .unwrap()
        .der()
        .to_vec()
}

pub fn write_roots(path: &Path, roots: &[&Ca]) {
    let pem: String = roots.iter().map(|r| r.pem()).collect();
    std::fs::write(path, pem).unwrap();
}

/// Runs the independent Python verifier on `input`; returns its JSON summary.
pub fn python_verify(input: &Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ct_verify.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed (see .ci/run)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(serde_json::to_string(input).unwrap().as_bytes())
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "independent verifier failed:\n{stderr}\n{stdout}"
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

/// The leaf index an SCT promises (static-ct-api `leaf_index` extension).
pub fn sct_index(sct: &Value) -> u64 {
    pki::ct::parse_leaf_index_extension(&unb64(sct["extensions"].as_str().unwrap())).unwrap()
}

/// Base64 made safe for a query string.
pub fn urlencode(s: &str) -> String {
    s.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// A JSON array of base64 hashes.
pub fn hashes(value: &Value) -> Vec<[u8; 32]> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|h| unb64(h.as_str().unwrap()).try_into().unwrap())
        .collect()
}

/// The size and root hash of a `get-sth` answer.
pub fn size_and_root(sth: &Value) -> (u64, [u8; 32]) {
    (
        sth["tree_size"].as_u64().unwrap(),
        unb64(sth["sha256_root_hash"].as_str().unwrap())
            .try_into()
            .unwrap(),
    )
}

/// Asserts that the x509 entry `cert`, logged with `sct`, is in the tree of `size`
/// leaves and root `root` that `server` serves, at the index its SCT promised;
/// returns that index.
pub fn assert_included(
    client: &reqwest::blocking::Client,
    server: &Server,
    cert: &[u8],
    sct: &Value,
    (size, root): (u64, [u8; 32]),
) -> u64 {
    let index = sct_index(sct);
    assert!(
        index < size,
        "acknowledged entry {index} is beyond the tree of size {size}"
    );
    let entry = pki::ct::TimestampedEntry {
        timestamp: sct["timestamp"].as_u64().unwrap(),
        entry: pki::ct::SignedEntry::X509(cert.to_vec()),
        extensions: unb64(sct["extensions"].as_str().unwrap()),
    };
    let leaf_hash = merkle::leaf_hash(&pki::ct::merkle_tree_leaf(&entry));
    let proof = get_json(
        client,
        &server.log_url(&format!(
            "ct/v1/get-proof-by-hash?hash={}&tree_size={size}",
            urlencode(&b64(&leaf_hash))
        )),
    );
    assert_eq!(proof["leaf_index"], index, "entry not where its SCT says");
    merkle::verify_inclusion(
        &leaf_hash,
        index,
        size,
        &hashes(&proof["audit_path"]),
        &root,
    )
    .unwrap();
    index
}

/// Asserts that every non-empty head in `heads` (`get-sth` answers seen earlier) is
/// consistent with the tree of `size` leaves and root `root` that `server` serves,
/// by the server's consistency proofs (for the same size: the same root).
pub fn assert_heads_consistent(
    client: &reqwest::blocking::Client,
    server: &Server,
    heads: &[Value],
    (size, root): (u64, [u8; 32]),
) {
    for old in heads {
        let (first, old_root) = size_and_root(old);
        if first == 0 {
            continue;
        }
        assert!(
            first <= size,
            "a head of size {first} was published, but the tree has only {size}"
        );
        let proof = get_json(
            client,
            &server.log_url(&format!(
                "ct/v1/get-sth-consistency?first={first}&second={size}"
            )),
        );
        merkle::verify_consistency(
            first,
            size,
            &old_root,
            &root,
            &hashes(&proof["consistency"]),
        )
        .unwrap_or_else(|e| panic!("head of size {first} vs {size}: {e}"));
    }
}
