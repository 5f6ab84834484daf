//! `ccc register/push/search/get/trust` against the real `certcentral serve --dev`:
//! certificates made by `openssl req -x509` with the codeSigning EKU, pushed with the
//! client's own CMS, downloaded byte-identical and trusted after the registry log's
//! proofs; and a registry that rewrote the history this client saw is refused.
//!
//! The server binary is built by the `server` crate into the same target directory;
//! when it is missing these tests are skipped loudly (and fail under `CI`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{Server, certcentral};

/// Both servers of the history test name their registry log alike, as one operator's
/// two histories would.
const ORIGIN_OVERLAY: &str = "[registry]\norigin = \"registry.test.example/log\"\n";

/// Runs `ccc` with its config dir at `config`.
fn ccc(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ccc"))
        .env("CCC_CONFIG_DIR", config)
        .args(args)
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

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// The value after `label` on a `label   value` line of `ccc` output.
fn field(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"))
        .trim()
        .to_owned()
}

/// `openssl req -x509` with the codeSigning EKU: (cert path, key path).
fn openssl_cert(dir: &Path, name: &str, newkey: &[&str]) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "30"])
        .args(newkey)
        .args(["-subj", &format!("/CN={name}/O=Example Developers")])
        .args(["-addext", "extendedKeyUsage=codeSigning"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

const EC: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

fn register(config: &Path, base: &str, user: &str) {
    let out = ok(ccc(
        config,
        &[
            "register",
            "--url",
            base,
            "--username",
            user,
            "--dev-email",
            &format!("{user}@example.com"),
        ],
    ));
    assert!(!field(&out, "api key").is_empty());
}

fn push(config: &Path, cert: &Path, key: &Path) -> String {
    let out = ok(ccc(
        config,
        &[
            "push",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    ));
    assert!(!field(&out, "storage key").is_empty(), "{out}");
    field(&out, "log index").parse::<u64>().unwrap();
    field(&out, "thumbprint")
}

#[test]
fn register_push_search_get_and_trust_with_log_proofs() {
    let Some(bin) = certcentral() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(&bin, &tmp.path().join("data"), None);
    let config = tmp.path().join("config");
    register(&config, &server.base, "alice");
    let saved = config.join("registry.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the API key file must be private");
    }

    // A certificate without the EKU is refused before anything is sent.
    let plain_cert = tmp.path().join("plain.pem");
    let plain_key = tmp.path().join("plain.key");
    let o = Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "1"])
        .args(EC)
        .args(["-subj", "/CN=plain", "-keyout"])
        .arg(&plain_key)
        .arg("-out")
        .arg(&plain_cert)
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = ccc(
        &config,
        &[
            "push",
            "--cert",
            plain_cert.to_str().unwrap(),
            "--key",
            plain_key.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("codeSigning"), "{}", text(&o));

    let (cert, key) = openssl_cert(tmp.path(), "alice-ec", EC);
    let thumbprint = push(&config, &cert, &key);
    let (rsa_cert, rsa_key) = openssl_cert(tmp.path(), "alice-rsa", &["-newkey", "rsa:2048"]);
    let rsa_thumbprint = push(&config, &rsa_cert, &rsa_key);

    let found = ok(ccc(&config, &["search", "alice"]));
    assert!(found.contains(&thumbprint), "{found}");
    assert!(found.contains(&rsa_thumbprint), "{found}");

    let got = tmp.path().join("got.pem");
    ok(ccc(
        &config,
        &[
            "get",
            "-u",
            "alice",
            "-t",
            &thumbprint,
            "-o",
            got.to_str().unwrap(),
        ],
    ));
    let der = |p: &Path| {
        let o = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(p)
            .output()
            .unwrap();
        assert!(o.status.success());
        o.stdout
    };
    assert_eq!(der(&got), der(&cert), "downloaded certificate differs");

    let out = ok(ccc(&config, &["trust", "-u", "alice", "-t", &thumbprint]));
    assert!(out.contains("included in checkpoint"), "{out}");
    let trusted = config.join("trusted").join(format!("{thumbprint}.pem"));
    assert_eq!(der(&trusted), der(&cert));
    assert!(config.join("registry-log.key").exists());
    assert!(config.join("registry-checkpoint").exists());

    // A second trust checks consistency with the saved checkpoint, then succeeds.
    ok(ccc(
        &config,
        &["trust", "-u", "alice", "-t", &rsa_thumbprint],
    ));
    let listed = ok(ccc(&config, &["trusted", "list"]));
    assert!(listed.contains(&thumbprint) && listed.contains(&rsa_thumbprint));
    ok(ccc(&config, &["trusted", "remove", &rsa_thumbprint]));
    let listed = ok(ccc(&config, &["trusted", "list"]));
    assert!(!listed.contains(&rsa_thumbprint), "{listed}");

    // alice's certificate is not bob's: the download under bob's name fails.
    let o = ccc(&config, &["trust", "-u", "bob", "-t", &thumbprint]);
    assert!(!o.status.success(), "{}", text(&o));
}

#[test]
fn trust_refuses_a_checkpoint_inconsistent_with_the_one_seen_before() {
    let Some(bin) = certcentral() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");

    // History A: alice pushes one certificate; the client trusts it and saves A's
    // checkpoint (size 1).
    let data_a = tmp.path().join("a");
    let a = Server::start_in(&bin, &data_a, Some(ORIGIN_OVERLAY));
    register(&config, &a.base, "alice");
    let (cert_a, key_a) = openssl_cert(tmp.path(), "first", EC);
    let thumb_a = push(&config, &cert_a, &key_a);
    ok(ccc(&config, &["trust", "-u", "alice", "-t", &thumb_a]));
    drop(a);

    // History B: the same log (origin and key) with a different leaf 0 — what an
    // operator who rewrote its log would serve.
    let data_b = tmp.path().join("b");
    std::fs::create_dir_all(data_b.join("keys")).unwrap();
    std::fs::copy(
        data_a.join("keys").join("registry.ed25519"),
        data_b.join("keys").join("registry.ed25519"),
    )
    .unwrap();
    let b = Server::start_in(&bin, &data_b, Some(ORIGIN_OVERLAY));
    register(&config, &b.base, "alice");
    let (cert_b, key_b) = openssl_cert(tmp.path(), "second", EC);
    let thumb_b = push(&config, &cert_b, &key_b);
    let o = ccc(&config, &["trust", "-u", "alice", "-t", &thumb_b]);
    assert!(!o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("REWRITTEN HISTORY"), "{}", text(&o));
    assert!(
        !config
            .join("trusted")
            .join(format!("{thumb_b}.pem"))
            .exists(),
        "nothing may be trusted from a rewritten log"
    );
}
