//! `ccc trust-root fetch`, `ccc sign` and `ccc verify-blob` against the real
//! `certcentral serve --dev`, judged by the unmodified sigstore clients: bundles `ccc`
//! writes (keyless, Rekor v1 and v2, with the TSA) verify with sigstore-python's
//! `sigstore verify identity` and with sigstore-js, and bundles they write verify with
//! `ccc verify-blob`. The registry story runs end to end (push, sign with the developer
//! certificate, trust, verify by registry user, revoke), and hostile bundles are each
//! refused by the check that names their fault, without a panic.
//!
//! sigstore-python and sigstore-js are found as the server's interop tests find them
//! (`CERTCENTRAL_SIGSTORE_PYTHON`, `CERTCENTRAL_SIGSTORE_JS`); without them those parts
//! are skipped loudly, and fail under `CI`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::Decode;
use pki::tsp::TimeStampResp;
use serde_json::{Value, json};
use testkit::dev_server::{Server, certcentral};
use testkit::sigstore_clients::{require, sigstore_js_modules, sigstore_python_cli};

const EMAIL: &str = "release@example.com";

/// One client: its config dir (trust config, registry state, trusted certificates) and
/// a working directory for files.
struct Client {
    config: PathBuf,
    dir: PathBuf,
}

impl Client {
    fn new(tmp: &Path, name: &str) -> Client {
        let client = Client {
            config: tmp.join(name).join("config"),
            dir: tmp.join(name).join("work"),
        };
        std::fs::create_dir_all(&client.dir).unwrap();
        client
    }

    fn ccc(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ccc"))
            .env("CCC_CONFIG_DIR", &self.config)
            .env_remove("SIGSTORE_ID_TOKEN")
            .current_dir(&self.dir)
            .args(args)
            .output()
            .unwrap()
    }

    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn trust_config(&self) -> PathBuf {
        self.config.join("sigstore/client_trust_config.json")
    }
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

/// The JSON reports of a `verify-blob --json` run that exited 1 (refused), not 101
/// (panicked) or anything else.
fn refused(o: Output) -> Vec<Value> {
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("panicked"),
        "{}",
        text(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

fn accepted(o: Output) -> Vec<Value> {
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn server() -> Option<Server> {
    Some(Server::start(&certcentral()?, None))
}

fn issuer(server: &Server) -> String {
    format!("{}/dev/oidc", server.base)
}

/// The server's interop script for sigstore-js.
fn interop_js(modules: &Path, args: &[&str]) -> Output {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/sigstore-js/interop.js");
    Command::new("node")
        .arg(script)
        .args(args)
        .env("NODE_PATH", modules)
        .output()
        .unwrap()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
}

/// Whether sigstore-js 4.1.1 reads every time-stamp of the bundle: its GeneralizedTime
/// parser takes no fraction or exactly three digits, and DER drops a fraction's
/// trailing zeros (about one token in ten); see the server's sigstore-js tests.
fn sigstore_js_reads_gen_times(bundle: &Path) -> bool {
    let bundle = read_json(bundle);
    let tokens = bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    tokens.iter().all(|token| {
        let der = STANDARD
            .decode(token["signedTimestamp"].as_str().unwrap())
            .unwrap();
        let ms = TimeStampResp::from_der(&der)
            .unwrap()
            .tst_info()
            .unwrap()
            .gen_time
            .unix_ms();
        ms % 1000 == 0 || ms % 10 != 0
    })
}

fn fetch_trust_root(client: &Client, server: &Server) {
    let out = ok(client.ccc(&["trust-root", "fetch", "--url", &server.base]));
    assert!(out.contains("saved"), "{out}");
}

#[test]
fn keyless_bundles_from_ccc_verify_with_ccc_and_sigstore_python() {
    let Some(server) = server() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let alice = Client::new(tmp.path(), "alice");
    fetch_trust_root(&alice, &server);
    for name in ["a.txt", "b.txt", "c.txt"] {
        alice.file(name, format!("release {name}\n").as_bytes());
    }
    alice.file("d.txt", b"detached\n");
    // Three files share one certificate; v2 is the highest the config offers.
    ok(alice.ccc(&["sign", "a.txt", "b.txt", "c.txt", "--dev-email", EMAIL]));
    ok(alice.ccc(&[
        "sign",
        "d.txt",
        "--dev-email",
        EMAIL,
        "--rekor-version",
        "1",
        "--detached",
    ]));
    let a = read_json(&alice.path("a.txt.sigstore.json"));
    assert_eq!(
        a["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        a["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"],
        "0.0.2"
    );
    let d = read_json(&alice.path("d.txt.sigstore.json"));
    assert_eq!(
        d["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"],
        "0.0.1"
    );
    assert_eq!(
        a["verificationMaterial"]["certificate"],
        read_json(&alice.path("b.txt.sigstore.json"))["verificationMaterial"]["certificate"],
        "one certificate for the files signed together"
    );

    let issuer = issuer(&server);
    let reports = accepted(alice.ccc(&[
        "verify-blob",
        "a.txt",
        "b.txt",
        "c.txt",
        "d.txt",
        "--identity",
        EMAIL,
        "--issuer",
        &issuer,
        "--json",
    ]));
    assert_eq!(reports.len(), 4);
    for r in &reports {
        assert_eq!(r["ok"], true, "{r}");
        assert!(r["signer"].as_str().unwrap().contains(EMAIL), "{r}");
        assert!(!r["signed_at"].as_array().unwrap().is_empty(), "{r}");
    }
    // The v1 entry carries two verified times: the TSA's and the log's.
    assert_eq!(
        reports[3]["signed_at"].as_array().unwrap().len(),
        2,
        "{}",
        reports[3]
    );

    // A pattern, the online check, the human form.
    let out = ok(alice.ccc(&[
        "verify-blob",
        "a.txt",
        "--identity-regexp",
        "^release@example\\.com$",
        "--issuer-regexp",
        "/dev/oidc$",
        "--online",
    ]));
    assert!(out.starts_with("OK      a.txt"), "{out}");
    assert!(out.contains("is a prefix of"), "{out}");
    // Another identity, another issuer: refused by the identity check.
    for policy in [
        [
            "--identity",
            "mallory@example.com",
            "--issuer",
            issuer.as_str(),
        ],
        [
            "--identity",
            EMAIL,
            "--issuer",
            "https://accounts.google.com",
        ],
        [
            "--identity-regexp",
            "^mallory@",
            "--issuer",
            issuer.as_str(),
        ],
    ] {
        let r = refused(alice.ccc(&[&["verify-blob", "a.txt", "--json"], &policy[..]].concat()));
        assert_eq!(r[0]["failure"]["check"], "identity", "{policy:?}: {}", r[0]);
    }
    // The detached pair: looked up in the v1 log, so still proven logged.
    let detached = ["--signature", "d.txt.sig", "--certificate", "d.txt.pem"];
    let r = accepted(
        alice.ccc(
            &[
                &[
                    "verify-blob",
                    "d.txt",
                    "--identity",
                    EMAIL,
                    "--issuer",
                    &issuer,
                    "--json",
                ],
                &detached[..],
            ]
            .concat(),
        ),
    );
    assert_eq!(
        r[0]["log_index"],
        d["verificationMaterial"]["tlogEntries"][0]["logIndex"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    );
    alice.file("other.txt", b"not what was signed\n");
    let r = refused(
        alice.ccc(
            &[
                &[
                    "verify-blob",
                    "other.txt",
                    "--identity",
                    EMAIL,
                    "--issuer",
                    &issuer,
                    "--json",
                ],
                &detached[..],
            ]
            .concat(),
        ),
    );
    assert_eq!(r[0]["failure"]["check"], "signature", "{}", r[0]);

    // sigstore-python reads what ccc wrote: v2 and v1 bundles.
    let Some(sigstore) = require(sigstore_python_cli(), "sigstore-python") else {
        return;
    };
    for file in ["a.txt", "d.txt"] {
        let out = Command::new(&sigstore)
            .arg("--trust-config")
            .arg(alice.trust_config())
            .args([
                "verify",
                "identity",
                file,
                "--cert-identity",
                EMAIL,
                "--cert-oidc-issuer",
                &issuer,
            ])
            .current_dir(&alice.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sigstore-python on {file}: {}",
            text(&out)
        );
    }
}

#[test]
fn bundles_from_sigstore_python_and_sigstore_js_verify_with_ccc_and_back() {
    let Some(server) = server() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bob = Client::new(tmp.path(), "bob");
    fetch_trust_root(&bob, &server);
    let issuer = issuer(&server);
    let verify = |file: &str| {
        accepted(bob.ccc(&[
            "verify-blob",
            file,
            "--identity",
            EMAIL,
            "--issuer",
            &issuer,
            "--json",
        ]))
    };

    if let Some(sigstore) = require(sigstore_python_cli(), "sigstore-python") {
        for version in ["1", "2"] {
            let file = format!("py-v{version}.txt");
            bob.file(
                &file,
                format!("signed by sigstore-python, rekor v{version}\n").as_bytes(),
            );
            let token = dev_token(&server, EMAIL);
            let out = Command::new(&sigstore)
                .arg("--trust-config")
                .arg(bob.trust_config())
                .args([
                    "sign",
                    "--rekor-version",
                    version,
                    "--identity-token",
                    &token,
                    &file,
                ])
                .current_dir(&bob.dir)
                .output()
                .unwrap();
            assert!(out.status.success(), "sigstore sign: {}", text(&out));
            let r = verify(&file);
            assert_eq!(r[0]["ok"], true, "{}", r[0]);
        }
    }

    let Some(modules) = require(sigstore_js_modules(), "sigstore-js") else {
        return;
    };
    // sigstore-js signs (Rekor v1, TSA): ccc verifies.
    let js_file = bob.file("js.txt", b"signed by sigstore-js\n");
    let js_bundle = bob.path("js.txt.sigstore.json");
    let out = interop_js(
        &modules,
        &[
            "sign",
            &server.base,
            s(&js_file),
            s(&js_bundle),
            EMAIL,
            "--tsa",
        ],
    );
    assert!(out.status.success(), "sigstore-js sign: {}", text(&out));
    assert_eq!(verify("js.txt")[0]["ok"], true);
    // ccc signs: sigstore-js verifies (signed again while the TSA's genTime has a
    // fraction sigstore-js cannot parse).
    let file = bob.file("for-js.txt", b"signed by ccc for sigstore-js\n");
    let bundle = bob.path("for-js.txt.sigstore.json");
    for version in ["1", "2"] {
        let mut readable = false;
        for _ in 0..8 {
            ok(bob.ccc(&[
                "sign",
                "for-js.txt",
                "--dev-email",
                EMAIL,
                "--rekor-version",
                version,
            ]));
            if sigstore_js_reads_gen_times(&bundle) {
                readable = true;
                break;
            }
        }
        assert!(readable, "eight genTimes in a row sigstore-js cannot read");
        let out = interop_js(
            &modules,
            &["verify", &server.base, s(&file), s(&bundle), EMAIL],
        );
        assert!(
            out.status.success(),
            "sigstore-js verify (rekor v{version}): {}",
            text(&out)
        );
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["verified"], true, "{summary}");
    }
}

fn dev_token(server: &Server, email: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            &format!("{}/dev/oidc/token", server.base),
        ])
        .args(["-d", &json!({ "email": email }).to_string()])
        .output()
        .unwrap();
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    answer["id_token"].as_str().unwrap().to_owned()
}

/// `openssl req -x509` for a developer: an end-entity code-signing certificate.
fn developer_certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-nodes", "-days", "30", "-newkey", "ec", "-pkeyopt",
        ])
        .args([
            "ec_paramgen_curve:prime256v1",
            "-subj",
            &format!("/CN={name}/O=Example Developers"),
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "keyUsage=critical,digitalSignature"])
        .args(["-addext", "extendedKeyUsage=codeSigning"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    (cert, key)
}

fn field(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"))
        .trim()
        .to_owned()
}

#[test]
fn a_release_signed_with_a_registry_certificate_verifies_by_registry_user() {
    let Some(server) = server() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let alice = Client::new(tmp.path(), "alice");
    let bob = Client::new(tmp.path(), "bob");
    let base = server.base.as_str();
    ok(alice.ccc(&[
        "register",
        "--url",
        base,
        "--username",
        "alice",
        "--dev-email",
        "alice@example.com",
    ]));
    let (cert, key) = developer_certificate(&alice.dir, "alice-release");
    let thumbprint = field(
        &ok(alice.ccc(&["push", "--cert", s(&cert), "--key", s(&key)])),
        "thumbprint",
    );
    fetch_trust_root(&alice, &server);
    alice.file("release.tar", b"alice's release 1.0\n");
    ok(alice.ccc(&["sign", "release.tar", "--cert", s(&cert), "--key", s(&key)]));
    std::fs::copy(alice.path("release.tar"), bob.path("release.tar")).unwrap();
    std::fs::copy(
        alice.path("release.tar.sigstore.json"),
        bob.path("release.tar.sigstore.json"),
    )
    .unwrap();

    fetch_trust_root(&bob, &server);
    ok(bob.ccc(&["trust", "-u", "alice", "-t", &thumbprint, "--url", base]));
    let verify = |bundle: &str, more: &[&str]| {
        bob.ccc(
            &[
                &[
                    "verify-blob",
                    "release.tar",
                    "--bundle",
                    bundle,
                    "--registry-user",
                    "alice",
                    "--url",
                    base,
                    "--json",
                ],
                more,
            ]
            .concat(),
        )
    };
    let r = accepted(verify("release.tar.sigstore.json", &[]));
    assert_eq!(r[0]["ok"], true, "{}", r[0]);
    assert!(
        r[0]["notes"][0]
            .as_str()
            .unwrap()
            .contains("pushed by alice"),
        "{}",
        r[0]
    );
    assert_eq!(
        accepted(bob.ccc(&["verify-blob", "release.tar", "--trusted", "--json"]))[0]["ok"],
        true
    );
    // Two files of one release, one certificate: both proven (the registry asked once).
    alice.file("NOTES.txt", b"release notes\n");
    ok(alice.ccc(&["sign", "NOTES.txt", "--cert", s(&cert), "--key", s(&key)]));
    for name in ["NOTES.txt", "NOTES.txt.sigstore.json"] {
        std::fs::copy(alice.path(name), bob.path(name)).unwrap();
    }
    let r = accepted(bob.ccc(&[
        "verify-blob",
        "release.tar",
        "NOTES.txt",
        "--registry-user",
        "alice",
        "--url",
        base,
        "--json",
    ]));
    assert_eq!(r.len(), 2);
    for report in &r {
        assert_eq!(report["ok"], true, "{report}");
        assert!(
            report["notes"][0]
                .as_str()
                .unwrap()
                .contains("pushed by alice"),
            "{report}"
        );
    }
    // Another registry user does not own it; a keyless policy finds no CA behind it.
    let r = refused(bob.ccc(&[
        "verify-blob",
        "release.tar",
        "--registry-user",
        "mallory",
        "--url",
        base,
        "--json",
    ]));
    assert_eq!(r[0]["failure"]["check"], "registry", "{}", r[0]);
    let r = refused(bob.ccc(&[
        "verify-blob",
        "release.tar",
        "--identity",
        "alice@example.com",
        "--issuer",
        &issuer(&server),
        "--json",
    ]));
    assert_eq!(r[0]["failure"]["check"], "certificate", "{}", r[0]);

    // Alice revokes the certificate: the old signature predates it (reported, fatal
    // with --strict); a new one with it is refused.
    ok(alice.ccc(&["revoke", "-t", &thumbprint]));
    ok(alice.ccc(&[
        "sign",
        "release.tar",
        "--cert",
        s(&cert),
        "--key",
        s(&key),
        "--bundle",
        "after.sigstore.json",
    ]));
    std::fs::copy(
        alice.path("after.sigstore.json"),
        bob.path("after.sigstore.json"),
    )
    .unwrap();
    let r = accepted(verify("release.tar.sigstore.json", &[]));
    let note = r[0]["notes"][0].as_str().unwrap();
    assert!(
        note.contains("revoked this certificate") && note.contains("after this signature"),
        "{}",
        r[0]
    );
    let r = refused(verify("release.tar.sigstore.json", &["--strict"]));
    assert_eq!(r[0]["failure"]["check"], "revocation", "{}", r[0]);
    let r = refused(verify("after.sigstore.json", &[]));
    assert_eq!(r[0]["failure"]["check"], "revocation", "{}", r[0]);
    assert!(
        r[0]["failure"]["reason"]
            .as_str()
            .unwrap()
            .contains("before the signature's time"),
        "{}",
        r[0]
    );
}

/// The parts of a bundle a hostile variant changes.
fn tlog(v: &mut Value) -> &mut Value {
    &mut v["verificationMaterial"]["tlogEntries"][0]
}

fn flip_b64(v: &mut Value) {
    let mut bytes = STANDARD.decode(v.as_str().unwrap()).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    *v = json!(STANDARD.encode(bytes));
}

#[test]
fn hostile_bundles_are_refused_with_their_reason_and_no_panic() {
    let Some(server) = server() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let eve = Client::new(tmp.path(), "eve");
    fetch_trust_root(&eve, &server);
    eve.file("artifact", b"the real artifact\n");
    eve.file("other", b"another artifact\n");
    ok(eve.ccc(&[
        "sign",
        "artifact",
        "--dev-email",
        EMAIL,
        "--rekor-version",
        "1",
    ]));
    ok(eve.ccc(&[
        "sign",
        "artifact",
        "--dev-email",
        EMAIL,
        "--rekor-version",
        "2",
        "--bundle",
        "v2.json",
    ]));
    ok(eve.ccc(&[
        "sign",
        "other",
        "--dev-email",
        EMAIL,
        "--rekor-version",
        "1",
    ]));
    let v1 = read_json(&eve.path("artifact.sigstore.json"));
    let v2 = read_json(&eve.path("v2.json"));
    let other = read_json(&eve.path("other.sigstore.json"));
    let issuer = issuer(&server);
    let trust = eve.trust_config();
    let ca =
        read_json(&trust)["trustedRoot"]["certificateAuthorities"][0]["certChain"]["certificates"]
            [0]["rawBytes"]
            .clone();

    type Mutation<'a> = Box<dyn Fn(&mut Value) + 'a>;
    let mut cases: Vec<(&str, &str, Value, Mutation<'_>)> = Vec::new();
    cases.push((
        "signature over another artifact",
        "signature",
        v1.clone(),
        Box::new(|v| {
            v["messageSignature"]["signature"] = other["messageSignature"]["signature"].clone();
            v["messageSignature"]["messageDigest"] =
                other["messageSignature"]["messageDigest"].clone();
        }),
    ));
    cases.push((
        "flipped signature",
        "signature",
        v1.clone(),
        Box::new(|v| flip_b64(&mut v["messageSignature"]["signature"])),
    ));
    cases.push((
        "stated digest of another artifact",
        "signature",
        v1.clone(),
        Box::new(|v| {
            v["messageSignature"]["messageDigest"] =
                other["messageSignature"]["messageDigest"].clone();
        }),
    ));
    cases.push((
        // The v1 bundle's certificate was issued first, so it is valid at the v2
        // bundle's time: only the signature gives the swap away.
        "swapped certificate",
        "signature",
        v2.clone(),
        Box::new(|v| {
            v["verificationMaterial"]["certificate"] =
                v1["verificationMaterial"]["certificate"].clone();
        }),
    ));
    cases.push((
        "inclusion proof for another leaf",
        "inclusion proof",
        v1.clone(),
        Box::new(|v| {
            tlog(v)["canonicalizedBody"] =
                other["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"].clone();
        }),
    ));
    cases.push((
        "another leaf index",
        "inclusion proof",
        v1.clone(),
        Box::new(|v| {
            let number = |v: &Value| v.as_str().unwrap().parse::<u64>().unwrap();
            let proof = &mut tlog(v)["inclusionProof"];
            let (index, size) = (number(&proof["logIndex"]), number(&proof["treeSize"]));
            proof["logIndex"] = json!((index + 1).to_string());
            proof["treeSize"] = json!((size + 1).to_string());
        }),
    ));
    cases.push((
        "truncated audit path",
        "inclusion proof",
        v1.clone(),
        Box::new(|v| {
            tlog(v)["inclusionProof"]["hashes"] = json!([STANDARD.encode([7u8; 32])]);
        }),
    ));
    cases.push((
        "checkpoint of another tree",
        "checkpoint",
        v1.clone(),
        Box::new(|v| {
            let other_checkpoint =
                other["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
                    .clone();
            tlog(v)["inclusionProof"]["checkpoint"] = other_checkpoint;
        }),
    ));
    cases.push((
        "checkpoint signed by another key",
        "checkpoint",
        v1.clone(),
        Box::new(|v| {
            let envelope = tlog(v)["inclusionProof"]["checkpoint"]["envelope"]
                .as_str()
                .unwrap()
                .to_owned();
            tlog(v)["inclusionProof"]["checkpoint"]["envelope"] =
                json!(resign_checkpoint(&envelope));
        }),
    ));
    cases.push((
        "SET over another body",
        "signed entry timestamp",
        v1.clone(),
        Box::new(|v| {
            tlog(v)["inclusionPromise"] =
                other["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"].clone();
        }),
    ));
    cases.push((
        "flipped SET",
        "signed entry timestamp",
        v1.clone(),
        Box::new(|v| {
            flip_b64(&mut tlog(v)["inclusionPromise"]["signedEntryTimestamp"]);
        }),
    ));
    cases.push((
        "TSA token over another signature",
        "time",
        v2.clone(),
        Box::new(|v| {
            v["verificationMaterial"]["timestampVerificationData"] =
                other["verificationMaterial"]["timestampVerificationData"].clone();
        }),
    ));
    cases.push((
        "the same TSA token twice",
        "time",
        v2.clone(),
        Box::new(|v| {
            let token = v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
                [0]
            .clone();
            v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"] =
                json!([token.clone(), token]);
        }),
    ));
    cases.push((
        "no time at all (v2 entry, no TSA token)",
        "bundle",
        v2.clone(),
        Box::new(|v| {
            v["verificationMaterial"]["timestampVerificationData"] =
                json!({"rfc3161Timestamps": []});
        }),
    ));
    cases.push((
        "integrated time on a v0.0.2 entry",
        "time",
        v2.clone(),
        Box::new(|v| {
            let v1_entry = v1["verificationMaterial"]["tlogEntries"][0].clone();
            tlog(v)["integratedTime"] = v1_entry["integratedTime"].clone();
            tlog(v)["inclusionPromise"] = v1_entry["inclusionPromise"].clone();
        }),
    ));
    cases.push((
        "the CA's certificate as signer",
        "certificate",
        v1.clone(),
        Box::new(move |v| {
            v["verificationMaterial"]["certificate"]["rawBytes"] = ca.clone();
        }),
    ));
    cases.push((
        "logged body of another kind",
        "log entry",
        v1.clone(),
        Box::new(|v| {
            tlog(v)["kindVersion"]["kind"] = json!("dsse");
        }),
    ));
    cases.push((
        "unknown media type",
        "bundle",
        v1.clone(),
        Box::new(|v| {
            v["mediaType"] = json!("application/vnd.dev.sigstore.bundle.v9.9+json");
        }),
    ));
    cases.push((
        "no transparency log entry",
        "bundle",
        v1.clone(),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"] = json!([]);
        }),
    ));
    cases.push((
        "a DSSE envelope instead of a message signature",
        "bundle",
        v1.clone(),
        Box::new(|v| {
            let signature = v["messageSignature"]["signature"].clone();
            v.as_object_mut().unwrap().remove("messageSignature");
            v["dsseEnvelope"] = json!({
                "payload": STANDARD.encode(b"{}"),
                "payloadType": "application/vnd.in-toto+json",
                "signatures": [{"sig": signature, "keyid": ""}],
            });
        }),
    ));
    cases.push((
        "certificate that is not DER",
        "bundle",
        v1.clone(),
        Box::new(|v| {
            v["verificationMaterial"]["certificate"]["rawBytes"] =
                json!(STANDARD.encode(b"not a certificate"));
        }),
    ));

    let mut refusals = 0;
    for (name, check, mut bundle, mutate) in cases {
        mutate(&mut bundle);
        let path = eve.path("hostile.json");
        write_json(&path, &bundle);
        let r = refused(eve.ccc(&[
            "verify-blob",
            "artifact",
            "--bundle",
            "hostile.json",
            "--identity",
            EMAIL,
            "--issuer",
            &issuer,
            "--json",
        ]));
        assert_eq!(r[0]["failure"]["check"], check, "{name}: {}", r[0]);
        if name == "checkpoint signed by another key" {
            let reason = r[0]["failure"]["reason"].as_str().unwrap();
            assert!(reason.contains("trusted log key"), "{name}: {reason}");
        }
        refusals += 1;
    }

    // Files that are no bundle at all.
    let valid = serde_json::to_vec(&v1).unwrap();
    for (name, bytes) in [
        ("truncated JSON", valid[..valid.len() / 2].to_vec()),
        ("empty file", Vec::new()),
        (
            "binary garbage",
            (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        ("nested arrays", "[".repeat(100_000).into_bytes()),
        ("a 9 MiB file", vec![b' '; 9 << 20]),
    ] {
        std::fs::write(eve.path("hostile.json"), &bytes).unwrap();
        let r = refused(eve.ccc(&[
            "verify-blob",
            "artifact",
            "--bundle",
            "hostile.json",
            "--identity",
            EMAIL,
            "--issuer",
            &issuer,
            "--json",
        ]));
        assert_eq!(r[0]["failure"]["check"], "bundle", "{name}: {}", r[0]);
        refusals += 1;
    }

    // A trust config that does not know the CT log, or the artifact log.
    let mut no_ct = read_json(&trust);
    no_ct["trustedRoot"]["ctlogs"] = json!([]);
    let mut no_tlog = read_json(&trust);
    no_tlog["trustedRoot"]["tlogs"] = json!([]);
    for (name, config, check) in [
        ("SCT from an unknown log", no_ct, "sct"),
        ("entry from an unknown log", no_tlog, "checkpoint"),
    ] {
        write_json(&eve.path("trust.json"), &config);
        let r = refused(eve.ccc(&[
            "verify-blob",
            "artifact",
            "--trust-config",
            "trust.json",
            "--identity",
            EMAIL,
            "--issuer",
            &issuer,
            "--json",
        ]));
        assert_eq!(r[0]["failure"]["check"], check, "{name}: {}", r[0]);
        refusals += 1;
    }
    // And the real bundle, after all that, still verifies.
    ok(eve.ccc(&[
        "verify-blob",
        "artifact",
        "--identity",
        EMAIL,
        "--issuer",
        &issuer,
    ]));
    assert!(refusals >= 20, "{refusals}");
}

/// The checkpoint note re-signed by a key the trust config does not know, under the
/// same key name and the real key ID, so only the signature is wrong.
fn resign_checkpoint(envelope: &str) -> String {
    let note = merkle::note::SignedNote::parse(envelope).unwrap();
    let key = pki::EcdsaP256Signer::generate().unwrap();
    let real = &note.signatures[0];
    let forged = key.sign(note.text.as_bytes()).unwrap();
    let mut sig = real.key_id.to_vec();
    sig.extend_from_slice(&forged);
    let forged = format!(
        "{}\n\u{2014} {} {}\n",
        note.text,
        real.key_name,
        STANDARD.encode(sig)
    );
    // Well formed: what fails is the signature, not the note's shape.
    let parsed = merkle::note::SignedNote::parse(&forged).unwrap();
    assert_eq!(parsed.signatures[0].key_id, real.key_id);
    forged
}

#[test]
fn a_fetch_after_a_restart_keeps_the_retired_keys_so_old_bundles_still_verify() {
    let Some(bin) = certcentral() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let carol = Client::new(tmp.path(), "carol");
    carol.file("old.txt", b"signed before the restart\n");
    let old_issuer = {
        let server = Server::start_in(&bin, &data, None);
        fetch_trust_root(&carol, &server);
        ok(carol.ccc(&["sign", "old.txt", "--dev-email", EMAIL]));
        issuer(&server)
    };
    // The dev CA and TSA are made anew at every start: a new trusted root.
    let server = Server::start_in(&bin, &data, None);
    let out = ok(carol.ccc(&["trust-root", "fetch", "--url", &server.base]));
    assert!(out.contains("retired"), "{out}");
    let trust = read_json(&carol.trust_config());
    assert_eq!(
        trust["trustedRoot"]["certificateAuthorities"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "the new CA and the retired one"
    );
    let r = accepted(carol.ccc(&[
        "verify-blob",
        "old.txt",
        "--identity",
        EMAIL,
        "--issuer",
        &old_issuer,
        "--json",
    ]));
    assert_eq!(r[0]["ok"], true, "{}", r[0]);
    // And what is signed now verifies with the new material.
    carol.file("new.txt", b"signed after the restart\n");
    ok(carol.ccc(&["sign", "new.txt", "--dev-email", EMAIL]));
    ok(carol.ccc(&[
        "verify-blob",
        "new.txt",
        "--identity",
        EMAIL,
        "--issuer",
        &issuer(&server),
    ]));
}
