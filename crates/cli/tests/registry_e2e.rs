//! `ccc register/push/revoke/rotate-api-key/search/get/trust` against the real
//! `certcentral serve --dev`: certificates made by `openssl req -x509` with the
//! codeSigning EKU (ECDSA, RSA PKCS#1 and PSS, Ed25519, and a PKCS#12 from
//! `openssl pkcs12 -export`), pushed with the client's own CMS, downloaded
//! byte-identical and trusted after the registry log's proofs; two registries keep
//! their own histories in one client, and a registry that rewrote the history this
//! client saw is refused.
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
    ccc_env(config, args, &[])
}

/// [`ccc`] with extra environment variables.
fn ccc_env(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ccc"))
        .env("CCC_CONFIG_DIR", config)
        .env_remove("CERTCENTRAL_SYSTEM_CA_DIR")
        .env_remove("CERTCENTRAL_UPDATE_CA_COMMAND")
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap()
}

/// `registries.json`: the client's per-registry state.
fn state(config: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(config.join("registries.json")).unwrap()).unwrap()
}

fn fails_with(o: Output, needle: &str) -> String {
    let all = text(&o);
    assert!(!o.status.success(), "{all}");
    assert!(all.contains(needle), "expected {needle:?} in:\n{all}");
    all
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
    let saved = config.join("registries.json");
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
    let saved = &state(&config)["registries"][server.base.as_str()];
    assert!(saved["log_key"].is_string(), "{saved}");
    assert!(saved["checkpoint"].is_string(), "{saved}");

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
    let url = a.base.clone();
    drop(a);

    // History B: the same log (origin and key) at the same URL with a different leaf
    // 0 — what an operator who rewrote its log would serve. (The client keeps history
    // per registry URL, so the rewrite must come from the URL it saw history from.)
    let data_b = tmp.path().join("b");
    std::fs::create_dir_all(data_b.join("keys")).unwrap();
    std::fs::copy(
        data_a.join("keys").join("registry.ed25519"),
        data_b.join("keys").join("registry.ed25519"),
    )
    .unwrap();
    let listen = url.strip_prefix("http://").unwrap();
    let b = Server::start_at(&bin, &data_b, Some(ORIGIN_OVERLAY), listen);
    assert_eq!(b.base, url);
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

/// `openssl pkcs12 -export` with OpenSSL's default algorithms (3.0: PBES2 with
/// AES-256-CBC and PBKDF2-SHA256, SHA-256 MAC).
fn openssl_p12(dir: &Path, cert: &Path, key: &Path, password: &str) -> PathBuf {
    let path = dir.join("bundle.p12");
    let out = Command::new("openssl")
        .args(["pkcs12", "-export", "-in"])
        .arg(cert)
        .arg("-inkey")
        .arg(key)
        .arg("-out")
        .arg(&path)
        .args(["-passout", &format!("pass:{password}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// `openssl genpkey` + `openssl req -x509 -key` (for Ed25519 and RSA-PSS keys).
fn openssl_genpkey_cert(dir: &Path, name: &str, genpkey: &[&str]) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let out = Command::new("openssl")
        .arg("genpkey")
        .args(genpkey)
        .arg("-out")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("openssl")
        .args(["req", "-x509", "-days", "30", "-key"])
        .arg(&key)
        .args(["-subj", &format!("/CN={name}/O=Example Developers")])
        .args(["-addext", "extendedKeyUsage=codeSigning", "-out"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

#[test]
fn push_finds_candidates_in_the_store_and_p12_and_signs_with_pss_and_ed25519() {
    let Some(bin) = certcentral() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&bin, None);
    let config = tmp.path().join("config");
    register(&config, &server.base, "carol");

    // The store: an ECDSA and an Ed25519 code-signing certificate with their keys, and
    // a TLS certificate that is not a candidate.
    let store = config.join("certs");
    std::fs::create_dir_all(&store).unwrap();
    openssl_cert(&store, "carol-ec", EC);
    openssl_genpkey_cert(&store, "carol-ed", &["-algorithm", "ED25519"]);
    let o = Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "1"])
        .args(EC)
        .args([
            "-subj",
            "/CN=tls",
            "-addext",
            "extendedKeyUsage=serverAuth",
            "-keyout",
        ])
        .arg(store.join("tls.key"))
        .arg("-out")
        .arg(store.join("tls.pem"))
        .output()
        .unwrap();
    assert!(o.status.success());
    // No terminal (stdin is not one here) and two candidates: an error listing both.
    let all = fails_with(ccc(&config, &["push"]), "--thumbprint");
    assert!(
        all.contains("CN=carol-ec") && all.contains("CN=carol-ed"),
        "{all}"
    );
    assert!(all.contains("skipped") && all.contains("tls.pem"), "{all}");
    let listed = |subject: &str| {
        all.lines()
            .find(|l| l.contains(subject) && !l.contains("skipped"))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("{subject} not listed:\n{all}"))
            .to_owned()
    };
    let (ec_thumb, ed_thumb) = (listed("CN=carol-ec"), listed("CN=carol-ed"));

    // --thumbprint chooses: the Ed25519 one, signed per RFC 8419, accepted.
    let out = ok(ccc(&config, &["push", "--thumbprint", &ed_thumb]));
    assert_eq!(field(&out, "thumbprint"), ed_thumb);
    let out = ok(ccc(&config, &["push", "--thumbprint", &ec_thumb]));
    assert_eq!(field(&out, "thumbprint"), ec_thumb);
    fails_with(
        ccc(&config, &["push", "--thumbprint", &"AB".repeat(20)]),
        "no candidate has thumbprint",
    );

    // RSA with --rsa-pss, and an RSA-PSS key (PSS by itself), given by name.
    let (rsa_cert, rsa_key) = openssl_cert(tmp.path(), "carol-rsa", &["-newkey", "rsa:2048"]);
    let out = ccc(
        &config,
        &[
            "push",
            "--cert",
            rsa_cert.to_str().unwrap(),
            "--key",
            rsa_key.to_str().unwrap(),
            "--rsa-pss",
        ],
    );
    assert!(
        text(&out).contains("signing with RSA-PSS"),
        "{}",
        text(&out)
    );
    ok(out);
    let (pss_cert, pss_key) = openssl_genpkey_cert(
        tmp.path(),
        "carol-pss",
        &["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    let out = ccc(
        &config,
        &[
            "push",
            "--cert",
            pss_cert.to_str().unwrap(),
            "--key",
            pss_key.to_str().unwrap(),
        ],
    );
    assert!(
        text(&out).contains("signing with RSA-PSS"),
        "{}",
        text(&out)
    );
    ok(out);

    // PKCS#12 from `openssl pkcs12 -export`: a wrong password is named as such, with
    // the file and without the password; the right one pushes.
    let (p12_cert, p12_key) = openssl_cert(tmp.path(), "carol-p12", EC);
    let p12 = openssl_p12(tmp.path(), &p12_cert, &p12_key, "correct horse");
    let p12 = p12.to_str().unwrap();
    let all = fails_with(
        ccc_env(
            &config,
            &["push", "--p12", p12, "--p12-password-env", "P12_PW"],
            &[("P12_PW", "battery staple")],
        ),
        "wrong password",
    );
    assert!(
        all.contains("bundle.p12") && !all.contains("battery staple"),
        "{all}"
    );
    fails_with(ccc(&config, &["push", "--p12", p12]), "--p12-password-env");
    let out = ok(ccc_env(
        &config,
        &["push", "--p12", p12, "--p12-password-env", "P12_PW"],
        &[("P12_PW", "correct horse")],
    ));
    let p12_thumb = field(&out, "thumbprint");
    let found = ok(ccc(&config, &["search", "carol"]));
    for t in [&ec_thumb, &ed_thumb, &p12_thumb] {
        assert!(found.contains(t.as_str()), "{t} not in {found}");
    }
    // And trust works for an Ed25519 certificate too.
    ok(ccc(&config, &["trust", "-u", "carol", "-t", &ed_thumb]));
}

#[test]
fn revoke_and_rotate_api_key() {
    let Some(bin) = certcentral() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&bin, None);
    let config = tmp.path().join("config");
    register(&config, &server.base, "dave");
    let (cert, key) = openssl_cert(tmp.path(), "dave-ec", EC);
    let thumbprint = push(&config, &cert, &key);

    let out = ok(ccc(&config, &["revoke", "-t", &thumbprint]));
    assert_eq!(field(&out, "revoked"), thumbprint);
    let found = ok(ccc(&config, &["search", &thumbprint]));
    assert!(found.contains("REVOKED"), "{found}");
    fails_with(
        ccc(&config, &["trust", "-u", "dave", "-t", &thumbprint]),
        "revoked",
    );
    // Nobody else's key can revoke: a second account gets a clear refusal.
    let other = tmp.path().join("other");
    register(&other, &server.base, "erin");
    let (cert2, key2) = openssl_cert(tmp.path(), "dave-ec2", EC);
    let thumbprint2 = push(&config, &cert2, &key2);
    let o = ccc(&other, &["revoke", "-t", &thumbprint2]);
    assert!(!o.status.success(), "{}", text(&o));

    // Rotation: a new key is saved (0600), the old one stops working.
    let old_key = state(&config)["registries"][server.base.as_str()]["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = ok(ccc(&config, &["rotate-api-key"]));
    let new_key = field(&out, "api key");
    assert_ne!(new_key, old_key);
    assert_eq!(
        state(&config)["registries"][server.base.as_str()]["api_key"],
        new_key.as_str()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config.join("registries.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (cert3, key3) = openssl_cert(tmp.path(), "dave-ec3", EC);
    push(&config, &cert3, &key3);
    let stale = tmp.path().join("stale");
    ok(ccc(
        &stale,
        &["login", "--url", &server.base, "--api-key", &old_key],
    ));
    let o = ccc(
        &stale,
        &[
            "push",
            "--cert",
            cert3.to_str().unwrap(),
            "--key",
            key3.to_str().unwrap(),
        ],
    );
    let all = text(&o);
    assert!(!o.status.success(), "the old key still works:\n{all}");
    assert!(all.contains("401"), "{all}");
}

#[test]
fn trust_system_installs_into_the_ca_store_and_trusted_remove_takes_it_out() {
    let Some(bin) = certcentral() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&bin, None);
    let config = tmp.path().join("config");
    register(&config, &server.base, "frank");
    let (cert, key) = openssl_cert(tmp.path(), "frank-ec", EC);
    let thumbprint = push(&config, &cert, &key);

    let ca_dir = tmp.path().join("ca-certificates").join("certcentral");
    let calls = tmp.path().join("calls.txt");
    let script = tmp.path().join("update-ca-certificates");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"called $*\" >> {}\n", calls.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let command = format!("{} --verbose", script.display());
    let env = [
        ("CERTCENTRAL_SYSTEM_CA_DIR", ca_dir.to_str().unwrap()),
        ("CERTCENTRAL_UPDATE_CA_COMMAND", command.as_str()),
    ];
    let out = ok(ccc_env(
        &config,
        &["trust", "-u", "frank", "-t", &thumbprint, "--system"],
        &env,
    ));
    let installed = ca_dir.join(format!("frank-{thumbprint}.crt"));
    assert!(out.contains(&installed.display().to_string()), "{out}");
    let pem = std::fs::read_to_string(&installed).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "called --verbose\n"
    );
    let listed = ok(ccc_env(&config, &["trusted", "list"], &env));
    assert!(listed.contains("system CA store"), "{listed}");

    ok(ccc_env(&config, &["trusted", "remove", &thumbprint], &env));
    assert!(!installed.exists());
    assert!(
        !config
            .join("trusted")
            .join(format!("{thumbprint}.pem"))
            .exists()
    );
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "called --verbose\ncalled --verbose\n"
    );
    // A refresh command that fails is reported, naming it.
    let env_fail = [
        ("CERTCENTRAL_SYSTEM_CA_DIR", ca_dir.to_str().unwrap()),
        ("CERTCENTRAL_UPDATE_CA_COMMAND", "false"),
    ];
    fails_with(
        ccc_env(
            &config,
            &["trust", "-u", "frank", "-t", &thumbprint, "--system"],
            &env_fail,
        ),
        "false failed",
    );
}

#[test]
fn two_registries_keep_their_own_history_in_one_client() {
    let Some(bin) = certcentral() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let a = Server::start(&bin, None);
    let b = Server::start(&bin, None);
    let config = tmp.path().join("config");
    register(&config, &a.base, "gina");
    register(&config, &b.base, "gina"); // b is now the default registry

    let push_to = |base: &str, name: &str| {
        let (cert, key) = openssl_cert(tmp.path(), name, EC);
        let out = ok(ccc(
            &config,
            &[
                "push",
                "--url",
                base,
                "--cert",
                cert.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
            ],
        ));
        field(&out, "thumbprint")
    };
    let trust_from = |base: &str, thumbprint: &str| {
        ok(ccc(
            &config,
            &["trust", "--url", base, "-u", "gina", "-t", thumbprint],
        ))
    };
    // Each registry gets a different number of leaves, so their trees differ.
    let a1 = push_to(&a.base, "a1");
    let a2 = push_to(&a.base, "a2");
    let b1 = push_to(&b.base, "b1");
    trust_from(&a.base, &a2);
    trust_from(&b.base, &b1);
    // Back and forth: each is checked against its own last checkpoint, no alarm.
    let a3 = push_to(&a.base, "a3");
    trust_from(&a.base, &a1);
    let out = trust_from(&a.base, &a3);
    assert!(out.contains("checkpoint size 3"), "{out}");
    let b2 = push_to(&b.base, "b2");
    let out = trust_from(&b.base, &b2);
    assert!(out.contains("checkpoint size 2"), "{out}");

    let saved = state(&config);
    let (sa, sb) = (
        &saved["registries"][a.base.as_str()],
        &saved["registries"][b.base.as_str()],
    );
    assert_eq!(saved["default"], b.base.as_str());
    assert_ne!(
        sa["log_key"], sb["log_key"],
        "each registry pins its own log key"
    );
    let size = |s: &serde_json::Value| {
        s["checkpoint"]
            .as_str()
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    assert_eq!(size(sa), "3");
    assert_eq!(size(sb), "2");
    assert_ne!(sa["api_key"], sb["api_key"]);
}
