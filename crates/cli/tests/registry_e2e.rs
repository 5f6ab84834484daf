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

use testkit::dev_server::{Server, certcentral};

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

/// `ccc push --cert <cert> --key <key>` plus `more` arguments.
fn push_files(config: &Path, cert: &Path, key: &Path, more: &[&str]) -> Output {
    let files = [
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ];
    ccc(config, &[&["push"], &files[..], more].concat())
}

/// `ccc trust -u <user> -t <thumbprint>`.
fn trust(config: &Path, user: &str, thumbprint: &str) -> Output {
    ccc(config, &["trust", "-u", user, "-t", thumbprint])
}

/// `registries.json`: the client's per-registry state.
fn state(config: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(config.join("registries.json")).unwrap()).unwrap()
}

/// Where `ccc trust` keeps the trusted certificate `thumbprint`.
fn trusted_file(config: &Path, thumbprint: &str) -> PathBuf {
    config.join("trusted").join(format!("{thumbprint}.pem"))
}

/// Asserts that the client's saved state (it holds API keys) is readable only by its
/// owner.
fn assert_state_is_private(config: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config.join("registries.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the API key file must be private");
    }
}

/// Asserts that `ccc` failed; returns all it printed.
fn fails(o: Output) -> String {
    let all = text(&o);
    assert!(!o.status.success(), "{all}");
    all
}

fn fails_with(o: Output, needle: &str) -> String {
    let all = fails(o);
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

/// Runs `cmd` (an `openssl` command), asserting that it succeeds; returns its stdout.
fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("openssl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `openssl req -x509` for `CN=<name>, O=Example Developers` with a new key made by
/// `newkey` and the `addext` extensions: (cert path, key path).
fn openssl_req(dir: &Path, name: &str, newkey: &[&str], addext: &[&str]) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    run(Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "30"])
        .args(newkey)
        .args(["-subj", &format!("/CN={name}/O=Example Developers")])
        .args(addext)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    (cert, key)
}

/// The codeSigning EKU on an end entity (`req -x509` otherwise writes CA:TRUE, which
/// the registry refuses).
const CODE_SIGNING: &[&str] = &[
    "-addext",
    "extendedKeyUsage=codeSigning",
    "-addext",
    "basicConstraints=CA:FALSE",
];

/// `openssl req -x509` with the codeSigning EKU: (cert path, key path).
fn openssl_cert(dir: &Path, name: &str, newkey: &[&str]) -> (PathBuf, PathBuf) {
    openssl_req(dir, name, newkey, CODE_SIGNING)
}

const EC: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
const RSA: &[&str] = &["-newkey", "rsa:2048"];

/// The DER of the PEM certificate at `path`, by `openssl x509`.
fn der(path: &Path) -> Vec<u8> {
    run(Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(path))
}

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
    let out = ok(push_files(config, cert, key, &[]));
    assert!(!field(&out, "storage key").is_empty(), "{out}");
    field(&out, "log index").parse::<u64>().unwrap();
    field(&out, "thumbprint")
}

/// Makes an ECDSA code-signing certificate `name` in `dir` and pushes it; returns its
/// thumbprint.
fn push_new_ec(config: &Path, dir: &Path, name: &str) -> String {
    let (cert, key) = openssl_cert(dir, name, EC);
    push(config, &cert, &key)
}

/// Starts a `--dev` server and registers `user` on it in a fresh client config:
/// (the server, which stops when dropped; the config dir; the temporary dir holding it).
fn registered(bin: &Path, user: &str) -> (Server, PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(bin, None);
    let config = tmp.path().join("config");
    register(&config, &server.base, user);
    (server, config, tmp)
}

#[test]
fn register_push_search_get_and_trust_with_log_proofs() {
    let Some(bin) = certcentral() else { return };
    let (server, config, tmp) = registered(&bin, "alice");
    assert_state_is_private(&config);

    // A certificate without the EKU is refused before anything is sent.
    let (plain_cert, plain_key) = openssl_req(tmp.path(), "plain", EC, &[]);
    let all = fails(push_files(&config, &plain_cert, &plain_key, &[]));
    assert!(all.contains("codeSigning"), "{all}");

    let (cert, key) = openssl_cert(tmp.path(), "alice-ec", EC);
    let thumbprint = push(&config, &cert, &key);
    let (rsa_cert, rsa_key) = openssl_cert(tmp.path(), "alice-rsa", RSA);
    let rsa_thumbprint = push(&config, &rsa_cert, &rsa_key);

    let found = ok(ccc(&config, &["search", "alice"]));
    assert!(found.contains(&thumbprint), "{found}");
    assert!(found.contains(&rsa_thumbprint), "{found}");

    let got = tmp.path().join("got.pem");
    let got_arg = got.to_str().unwrap();
    ok(ccc(
        &config,
        &["get", "-u", "alice", "-t", &thumbprint, "-o", got_arg],
    ));
    assert_eq!(der(&got), der(&cert), "downloaded certificate differs");

    let out = ok(trust(&config, "alice", &thumbprint));
    assert!(out.contains("included in checkpoint"), "{out}");
    assert_eq!(der(&trusted_file(&config, &thumbprint)), der(&cert));
    let saved = &state(&config)["registries"][server.base.as_str()];
    assert!(saved["log_key"].is_string(), "{saved}");
    assert!(saved["checkpoint"].is_string(), "{saved}");

    // A second trust checks consistency with the saved checkpoint, then succeeds.
    ok(trust(&config, "alice", &rsa_thumbprint));
    let listed = ok(ccc(&config, &["trusted", "list"]));
    assert!(listed.contains(&thumbprint) && listed.contains(&rsa_thumbprint));
    ok(ccc(&config, &["trusted", "remove", &rsa_thumbprint]));
    let listed = ok(ccc(&config, &["trusted", "list"]));
    assert!(!listed.contains(&rsa_thumbprint), "{listed}");

    // alice's certificate is not bob's: the download under bob's name fails.
    fails(trust(&config, "bob", &thumbprint));
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
    let thumb_a = push_new_ec(&config, tmp.path(), "first");
    ok(trust(&config, "alice", &thumb_a));
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
    let thumb_b = push_new_ec(&config, tmp.path(), "second");
    let o = trust(&config, "alice", &thumb_b);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let all = fails(o);
    assert!(stderr.contains("REWRITTEN HISTORY"), "{all}");
    assert!(
        !trusted_file(&config, &thumb_b).exists(),
        "nothing may be trusted from a rewritten log"
    );
}

/// `openssl pkcs12 -export` with OpenSSL's default algorithms (3.0: PBES2 with
/// AES-256-CBC and PBKDF2-SHA256, SHA-256 MAC).
fn openssl_p12(dir: &Path, cert: &Path, key: &Path, password: &str) -> PathBuf {
    let path = dir.join("bundle.p12");
    run(Command::new("openssl")
        .args(["pkcs12", "-export", "-in"])
        .arg(cert)
        .arg("-inkey")
        .arg(key)
        .arg("-out")
        .arg(&path)
        .args(["-passout", &format!("pass:{password}")]));
    path
}

/// `openssl genpkey` + `openssl req -x509 -key` (for Ed25519 and RSA-PSS keys).
fn openssl_genpkey_cert(dir: &Path, name: &str, genpkey: &[&str]) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    run(Command::new("openssl")
        .arg("genpkey")
        .args(genpkey)
        .arg("-out")
        .arg(&key));
    run(Command::new("openssl")
        .args(["req", "-x509", "-days", "30", "-key"])
        .arg(&key)
        .args(["-subj", &format!("/CN={name}/O=Example Developers")])
        .args(CODE_SIGNING)
        .arg("-out")
        .arg(&cert));
    (cert, key)
}

/// Asserts that `ccc` succeeded after saying it signs with RSA-PSS.
fn assert_signs_with_pss(o: Output) {
    let all = text(&o);
    assert!(all.contains("signing with RSA-PSS"), "{all}");
    ok(o);
}

#[test]
fn push_finds_candidates_in_the_store_and_p12_and_signs_with_pss_and_ed25519() {
    let Some(bin) = certcentral() else { return };
    let (_server, config, tmp) = registered(&bin, "carol");

    // The store: an ECDSA and an Ed25519 code-signing certificate with their keys, and
    // a TLS certificate that is not a candidate.
    let store = config.join("certs");
    std::fs::create_dir_all(&store).unwrap();
    openssl_cert(&store, "carol-ec", EC);
    openssl_genpkey_cert(&store, "carol-ed", &["-algorithm", "ED25519"]);
    openssl_req(
        &store,
        "tls",
        EC,
        &["-addext", "extendedKeyUsage=serverAuth"],
    );
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
    for chosen in [&ed_thumb, &ec_thumb] {
        let out = ok(ccc(&config, &["push", "--thumbprint", chosen]));
        assert_eq!(field(&out, "thumbprint"), *chosen);
    }
    fails_with(
        ccc(&config, &["push", "--thumbprint", &"AB".repeat(20)]),
        "no candidate has thumbprint",
    );

    // RSA with --rsa-pss, and an RSA-PSS key (PSS by itself), given by name.
    let (rsa_cert, rsa_key) = openssl_cert(tmp.path(), "carol-rsa", RSA);
    assert_signs_with_pss(push_files(&config, &rsa_cert, &rsa_key, &["--rsa-pss"]));
    let (pss_cert, pss_key) = openssl_genpkey_cert(
        tmp.path(),
        "carol-pss",
        &["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    assert_signs_with_pss(push_files(&config, &pss_cert, &pss_key, &[]));

    // PKCS#12 from `openssl pkcs12 -export`: a wrong password is named as such, with
    // the file and without the password; the right one pushes.
    let (p12_cert, p12_key) = openssl_cert(tmp.path(), "carol-p12", EC);
    let p12 = openssl_p12(tmp.path(), &p12_cert, &p12_key, "correct horse");
    let p12 = p12.to_str().unwrap();
    let push_p12 = ["push", "--p12", p12, "--p12-password-env", "P12_PW"];
    let all = fails_with(
        ccc_env(&config, &push_p12, &[("P12_PW", "battery staple")]),
        "wrong password",
    );
    assert!(
        all.contains("bundle.p12") && !all.contains("battery staple"),
        "{all}"
    );
    fails_with(ccc(&config, &["push", "--p12", p12]), "--p12-password-env");
    let out = ok(ccc_env(&config, &push_p12, &[("P12_PW", "correct horse")]));
    let p12_thumb = field(&out, "thumbprint");
    let found = ok(ccc(&config, &["search", "carol"]));
    for t in [&ec_thumb, &ed_thumb, &p12_thumb] {
        assert!(found.contains(t.as_str()), "{t} not in {found}");
    }
    // And trust works for an Ed25519 certificate too.
    ok(trust(&config, "carol", &ed_thumb));
}

#[test]
fn revoke_and_rotate_api_key() {
    let Some(bin) = certcentral() else { return };
    let (server, config, tmp) = registered(&bin, "dave");
    let thumbprint = push_new_ec(&config, tmp.path(), "dave-ec");

    let out = ok(ccc(&config, &["revoke", "-t", &thumbprint]));
    assert_eq!(field(&out, "revoked"), thumbprint);
    let found = ok(ccc(&config, &["search", &thumbprint]));
    assert!(found.contains("REVOKED"), "{found}");
    fails_with(trust(&config, "dave", &thumbprint), "revoked");
    // Nobody else's key can revoke: a second account gets a clear refusal.
    let other = tmp.path().join("other");
    register(&other, &server.base, "erin");
    let thumbprint2 = push_new_ec(&config, tmp.path(), "dave-ec2");
    fails(ccc(&other, &["revoke", "-t", &thumbprint2]));

    // Rotation: a new key is saved (0600), the old one stops working.
    let saved_key = || state(&config)["registries"][server.base.as_str()]["api_key"].clone();
    let old_key = saved_key().as_str().unwrap().to_owned();
    let out = ok(ccc(&config, &["rotate-api-key"]));
    let new_key = field(&out, "api key");
    assert_ne!(new_key, old_key);
    assert_eq!(saved_key(), new_key.as_str());
    assert_state_is_private(&config);
    let (cert3, key3) = openssl_cert(tmp.path(), "dave-ec3", EC);
    push(&config, &cert3, &key3);
    let stale = tmp.path().join("stale");
    ok(ccc(
        &stale,
        &["login", "--url", &server.base, "--api-key", &old_key],
    ));
    let o = push_files(&stale, &cert3, &key3, &[]);
    let all = text(&o);
    assert!(!o.status.success(), "the old key still works:\n{all}");
    assert!(all.contains("401"), "{all}");

    // A lost key: the account's identity (a fresh registry token) replaces it, on a
    // machine that never saw the account.
    let fresh = tmp.path().join("fresh");
    let url = ["--url", &server.base];
    let out = ok(ccc(
        &fresh,
        &[
            &["rotate-api-key", "--dev-email", "dave@example.com"],
            &url[..],
        ]
        .concat(),
    ));
    assert_eq!(field(&out, "username"), "dave");
    let recovered = field(&out, "api key");
    assert_eq!(
        state(&fresh)["registries"][server.base.as_str()]["api_key"],
        recovered.as_str()
    );
    let (cert4, key4) = openssl_cert(tmp.path(), "dave-ec4", EC);
    push(&fresh, &cert4, &key4);
    // A token for the CA's audience is not one for the registry.
    fails_with(
        ccc(
            &fresh,
            &[
                &["rotate-api-key", "--dev-email", "dave@example.com"],
                &url[..],
                &["--audience", "sigstore"],
            ]
            .concat(),
        ),
        "audience",
    );
}

/// A fake system CA store in `dir`: the directory `ccc` would have written to and an
/// `update-ca-certificates` stand-in that records its calls, with the environment
/// that points `ccc` at them.
struct FakeSystemStore {
    ca_dir: PathBuf,
    calls: PathBuf,
    command: String,
}

impl FakeSystemStore {
    fn new(dir: &Path) -> Self {
        let ca_dir = dir.join("ca-certificates").join("certcentral");
        let calls = dir.join("calls.txt");
        let script = dir.join("update-ca-certificates");
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
        Self {
            ca_dir,
            calls,
            command: format!("{} --verbose", script.display()),
        }
    }

    fn env(&self) -> [(&'static str, &str); 2] {
        [
            ("CERTCENTRAL_SYSTEM_CA_DIR", self.ca_dir.to_str().unwrap()),
            ("CERTCENTRAL_UPDATE_CA_COMMAND", &self.command),
        ]
    }

    /// Everything in the store, as one PEM bundle at `path` (what
    /// `update-ca-certificates` would fold into TLS clients' roots).
    fn bundle(&self, path: &Path) -> usize {
        let mut pem = String::new();
        let mut count = 0;
        if let Ok(entries) = std::fs::read_dir(&self.ca_dir) {
            for entry in entries {
                pem.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
                count += 1;
            }
        }
        std::fs::write(path, pem).unwrap();
        count
    }
}

/// A TLS server certificate for `host`, issued by `ca` (cert, key).
fn tls_leaf(dir: &Path, ca: (&Path, &Path), host: &str) -> PathBuf {
    let (key, csr, cert, ext) = (
        dir.join("leaf.key"),
        dir.join("leaf.csr"),
        dir.join("leaf.pem"),
        dir.join("leaf.ext"),
    );
    run(Command::new("openssl")
        .args(["req", "-new", "-nodes"])
        .args(EC)
        .arg("-keyout")
        .arg(&key)
        .args(["-subj", &format!("/CN={host}")])
        .arg("-out")
        .arg(&csr));
    std::fs::write(
        &ext,
        format!(
            "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:{host}\n"
        ),
    )
    .unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "1", "-set_serial", "2", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(ca.0)
        .arg("-CAkey")
        .arg(ca.1)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert));
    cert
}

/// The SHA-1 thumbprint of the PEM certificate at `path`.
fn thumbprint_of(path: &Path) -> String {
    use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
    digest(&SHA1_FOR_LEGACY_USE_ONLY, &der(path))
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The attack `trust --system` allowed: a developer publishes a "code-signing"
/// certificate that is a CA also allowing serverAuth (`openssl req -x509` makes CAs by
/// default), a user trusts it system-wide, and a TLS certificate the developer mints
/// for any host then verifies as a web server. Now the push is refused, and no `ccc`
/// command installs anything where TLS clients look.
#[test]
fn no_registry_certificate_becomes_a_tls_trust_anchor() {
    let Some(bin) = certcentral() else { return };
    let (_server, config, tmp) = registered(&bin, "mallory");
    let store = FakeSystemStore::new(tmp.path());
    let (ca_cert, ca_key) = openssl_req(
        tmp.path(),
        "mallory-ca",
        EC,
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "extendedKeyUsage=codeSigning,serverAuth",
        ],
    );
    let leaf = tls_leaf(tmp.path(), (&ca_cert, &ca_key), "bank.example");

    let pushed = push_files(&config, &ca_cert, &ca_key, &[]);
    let thumbprint = thumbprint_of(&ca_cert);
    let trust_system = ["trust", "-u", "mallory", "-t", &thumbprint, "--system"];
    let trusted = ccc_env(&config, &trust_system, &store.env());

    let bundle = tmp.path().join("system-roots.pem");
    let installed = store.bundle(&bundle);
    let verify = Command::new("openssl")
        .args(["verify", "-purpose", "sslserver", "-verify_hostname"])
        .arg("bank.example")
        .arg("-CAfile")
        .arg(&bundle)
        .arg(&leaf)
        .output()
        .unwrap();
    assert!(
        !verify.status.success(),
        "bank.example verifies against what ccc installed:\n{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    assert_eq!(installed, 0, "ccc wrote into the system CA store");
    fails_with(pushed, "CA certificate");
    fails_with(trusted, "--system is gone");
}

/// `trust --system` is refused with an explanation and changes nothing; a copy an
/// older ccc installed is listed and taken out by `trusted remove`.
#[test]
fn trust_system_is_refused_and_older_system_copies_are_removed() {
    let Some(bin) = certcentral() else { return };
    let (_server, config, tmp) = registered(&bin, "frank");
    let thumbprint = push_new_ec(&config, tmp.path(), "frank-ec");
    let store = FakeSystemStore::new(tmp.path());
    let env = store.env();

    let trust_system = ["trust", "-u", "frank", "-t", &thumbprint, "--system"];
    let refused = fails_with(ccc_env(&config, &trust_system, &env), "--system is gone");
    assert!(refused.contains("trusted remove"), "{refused}");
    assert!(!store.ca_dir.exists(), "nothing installed");
    assert!(
        !trusted_file(&config, &thumbprint).exists(),
        "nothing trusted"
    );
    let help = ok(ccc(&config, &["trust", "--help"]));
    assert!(help.contains("There is no --system"), "{help}");

    // What an older `trust --system` left behind.
    std::fs::create_dir_all(&store.ca_dir).unwrap();
    let old_copy = store.ca_dir.join(format!("frank-{thumbprint}.crt"));
    std::fs::copy(tmp.path().join("frank-ec.pem"), &old_copy).unwrap();
    ok(trust(&config, "frank", &thumbprint));
    let listed = ok(ccc_env(&config, &["trusted", "list"], &env));
    assert!(listed.contains("system CA store"), "{listed}");
    ok(ccc_env(&config, &["trusted", "remove", &thumbprint], &env));
    assert!(!old_copy.exists());
    assert!(!trusted_file(&config, &thumbprint).exists());
    assert_eq!(
        std::fs::read_to_string(&store.calls).unwrap(),
        "called --verbose\n"
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
        let out = ok(push_files(&config, &cert, &key, &["--url", base]));
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
