//! sigstore-js (npm `sigstore` 4.1.1 with `@sigstore/verify` 3.1.1, unmodified) as a
//! second independent client of the real `serve --dev` binary: it signs with the CA's
//! Fulcio API, the Rekor v1 artifact log and the TSA, and verifies bundles against the
//! TrustedRoot the server publishes; sigstore-python 4.5.1 and sigstore-js each verify
//! the other's bundles. The JavaScript side is `tests/sigstore-js/interop.js`, its
//! pinned packages `tests/sigstore-js/package-lock.json`, installed by `.ci/run`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use der::Decode;
use pki::tsp::TimeStampResp;
use serde_json::Value;
use testkit::sigstore_clients::{require, sigstore_js_modules, sigstore_python_cli};

const EMAIL: &str = "sigstore-js@example.com";

/// sigstore-js: `CERTCENTRAL_SIGSTORE_JS` names the directory whose `node_modules` holds
/// it (`.ci/run` installs it under `target/`), and `node` must be on the PATH.
struct SigstoreJs {
    node_modules: PathBuf,
}

impl SigstoreJs {
    fn find() -> Result<SigstoreJs, String> {
        sigstore_js_modules().map(|node_modules| SigstoreJs { node_modules })
    }

    /// Runs `interop.js` with `args`.
    fn run(&self, args: &[&str]) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigstore-js/interop.js");
        Command::new("node")
            .arg(script)
            .args(args)
            .env("NODE_PATH", &self.node_modules)
            .output()
            .unwrap()
    }

    /// Signs `file` for [`EMAIL`] (Rekor v1; an RFC 3161 timestamp too with `tsa`) and
    /// writes the bundle to `bundle`; returns the script's summary.
    fn sign(&self, server: &Server, file: &Path, bundle: &Path, tsa: bool) -> Value {
        let mut args = vec![
            "sign",
            server.base.as_str(),
            path_str(file),
            path_str(bundle),
            EMAIL,
        ];
        if tsa {
            args.push("--tsa");
        }
        summary(&self.run(&args), "sigstore-js sign")
    }

    /// Verifies `bundle` over `file` for `email` against the server's trusted root.
    fn verify(&self, server: &Server, file: &Path, bundle: &Path, email: &str) -> Output {
        self.run(&[
            "verify",
            server.base.as_str(),
            path_str(file),
            path_str(bundle),
            email,
        ])
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temporary path")
}

/// The JSON summary a successful run printed.
fn summary(out: &Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what} printed no JSON summary ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The server's ClientTrustConfig, written where sigstore-python's `--trust-config` reads it.
fn trust_config(server: &Server, dir: &Path) -> PathBuf {
    let config = get_json(
        &client(),
        &format!("{}/sigstore/client_trust_config.json", server.base),
    );
    let path = dir.join("client_trust_config.json");
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    path
}

/// How many times a signing is repeated for a time-stamp sigstore-js can read.
const SIGN_ATTEMPTS: usize = 8;

/// Whether sigstore-js 4.1.1 can read the genTime of every RFC 3161 token in `bundle`.
/// Its GeneralizedTime parser takes no fraction or exactly three digits
/// (`@sigstore/core` 3.2.1, `dist/asn1/parse.js`, `RE_TIME_LONG_YEAR`), but RFC 3161
/// §2.4.2 and DER make the TSA leave out a fraction's trailing zeros: 12.760 s is
/// written `12.76Z`, which sigstore-js refuses as "invalid time". That is about one
/// token in ten, so signings that ask the TSA are repeated until the time is readable.
fn sigstore_js_reads_gen_times(bundle: &Path) -> bool {
    let bundle: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let tokens = bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    tokens.iter().all(|token| {
        let der = unb64(token["signedTimestamp"].as_str().unwrap());
        let ms = TimeStampResp::from_der(&der)
            .unwrap()
            .tst_info()
            .unwrap()
            .gen_time
            .unix_ms();
        ms % 1000 == 0 || ms % 10 != 0
    })
}

/// Runs `sign` (which writes `bundle`) until sigstore-js can read its time-stamps.
fn sign_for_sigstore_js<T>(bundle: &Path, mut sign: impl FnMut() -> T) -> T {
    for _ in 0..SIGN_ATTEMPTS {
        let signed = sign();
        if sigstore_js_reads_gen_times(bundle) {
            return signed;
        }
        eprintln!("signing again: sigstore-js cannot read this genTime's 1- or 2-digit fraction");
    }
    panic!("{SIGN_ATTEMPTS} time-stamps in a row had a genTime sigstore-js cannot read");
}

fn dev_issuer(server: &Server) -> String {
    format!("{}/dev/oidc", server.base)
}

fn assert_verified_for(summary: &Value, server: &Server) {
    assert_eq!(summary["verified"], true, "{summary}");
    assert_eq!(summary["subjectAlternativeName"], EMAIL, "{summary}");
    assert_eq!(summary["issuer"], dev_issuer(server), "{summary}");
    assert_eq!(summary["tlogEntries"], 1, "{summary}");
}

#[test]
fn sigstore_js_signs_with_rekor_v1_and_verifies_its_bundle_against_the_published_trusted_root() {
    let Some(js) = require(SigstoreJs::find(), "sigstore-js") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::dev(&dir.path().join("data"), &[]);
    let file = dir.path().join("artifact.txt");
    std::fs::write(&file, b"signed by sigstore-js\n").unwrap();
    let bundle = dir.path().join("artifact.sigstore.json");

    let signed = js.sign(&server, &file, &bundle, false);
    assert_eq!(signed["tlogEntries"], 1, "{signed}");
    assert_eq!(signed["kind"]["kind"], "hashedrekord", "{signed}");
    assert_eq!(signed["kind"]["version"], "0.0.1", "{signed}");
    assert_eq!(signed["rfc3161Timestamps"], 0, "{signed}");

    let verified = summary(
        &js.verify(&server, &file, &bundle, EMAIL),
        "sigstore-js verify",
    );
    assert_verified_for(&verified, &server);
    // The only time evidence is the log's integrated time, under its SET.
    assert_eq!(
        verified["timestamps"],
        serde_json::json!(["transparency-log"])
    );
}

#[test]
fn sigstore_python_verifies_a_sigstore_js_bundle_with_a_tsa_timestamp() {
    let Some(js) = require(SigstoreJs::find(), "sigstore-js") else {
        return;
    };
    let Some(python) = require(sigstore_python_cli(), "sigstore-python") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::dev(&dir.path().join("data"), &[]);
    let file = dir.path().join("artifact.bin");
    std::fs::write(&file, [0u8, 1, 2, 0xfe, 0xff]).unwrap();
    let bundle = dir.path().join("artifact.sigstore.json");
    // sigstore-js writes bundles in proto3 JSON, which leaves out zero values: for the
    // log's first entry (index 0, a proof with no hashes) `logIndex` and `hashes` are
    // absent, and sigstore-python 4.5.1's bundle model refuses them as missing fields.
    // That is between the two clients; an entry logged first puts ours further on.
    let first = dir.path().join("first.txt");
    std::fs::write(&first, b"the log's first entry\n").unwrap();
    js.sign(
        &server,
        &first,
        &dir.path().join("first.sigstore.json"),
        false,
    );

    let signed = sign_for_sigstore_js(&bundle, || js.sign(&server, &file, &bundle, true));
    assert!(signed["logIndex"].as_str().is_some(), "{signed}");
    assert_eq!(signed["rfc3161Timestamps"], 1, "{signed}");
    // sigstore-js checks both time sources itself: the SET and the TSA's token.
    let verified = summary(
        &js.verify(&server, &file, &bundle, EMAIL),
        "sigstore-js verify",
    );
    assert_verified_for(&verified, &server);
    assert_eq!(
        verified["timestamps"],
        serde_json::json!(["transparency-log", "timestamp-authority"])
    );

    let trust = trust_config(&server, dir.path());
    let out = Command::new(&python)
        .arg("--trust-config")
        .arg(&trust)
        .args(["verify", "identity", "--cert-identity", EMAIL])
        .args(["--cert-oidc-issuer", &dev_issuer(&server)])
        .arg("--bundle")
        .arg(&bundle)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sigstore-python refused sigstore-js's bundle:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("OK:"),
        "{out:?}"
    );
}

#[test]
fn sigstore_js_verifies_a_sigstore_python_bundle() {
    let Some(js) = require(SigstoreJs::find(), "sigstore-js") else {
        return;
    };
    let Some(python) = require(sigstore_python_cli(), "sigstore-python") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::dev(&dir.path().join("data"), &[]);
    let trust = trust_config(&server, dir.path());
    let file = dir.path().join("artifact.txt");
    std::fs::write(&file, b"signed by sigstore-python\n").unwrap();
    let bundle = dir.path().join("artifact.sigstore.json");
    // The signing config names the TSA, so sigstore-python's bundle carries a token too.
    sign_for_sigstore_js(&bundle, || {
        let token = dev_token(&client(), &server, EMAIL);
        let out = Command::new(&python)
            .arg("--trust-config")
            .arg(&trust)
            .args(["sign", "--rekor-version", "1", "--identity-token", &token])
            .arg("--overwrite")
            .arg("--bundle")
            .arg(&bundle)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sigstore-python sign failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });

    let verified = summary(
        &js.verify(&server, &file, &bundle, EMAIL),
        "sigstore-js verify",
    );
    assert_verified_for(&verified, &server);
    assert_eq!(
        verified["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json",
        "{verified}"
    );
    assert_eq!(
        verified["timestamps"],
        serde_json::json!(["transparency-log", "timestamp-authority"])
    );
}

#[test]
fn sigstore_js_refuses_a_bundle_over_a_file_with_one_byte_changed() {
    let Some(js) = require(SigstoreJs::find(), "sigstore-js") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::dev(&dir.path().join("data"), &[]);
    let file = dir.path().join("artifact.txt");
    let content = b"one byte of this will change\n".to_vec();
    std::fs::write(&file, &content).unwrap();
    let bundle = dir.path().join("artifact.sigstore.json");
    js.sign(&server, &file, &bundle, false);
    // The untouched file verifies, so the refusal below is the changed byte's doing.
    assert_verified_for(
        &summary(
            &js.verify(&server, &file, &bundle, EMAIL),
            "sigstore-js verify",
        ),
        &server,
    );

    let mut changed = content;
    changed[0] ^= 0x01;
    let changed_file = dir.path().join("changed.txt");
    std::fs::write(&changed_file, &changed).unwrap();
    let out = js.verify(&server, &changed_file, &bundle, EMAIL);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a changed file verified: {stderr}");
    assert!(stderr.contains("SIGNATURE_ERROR"), "{stderr}");
}

#[test]
fn sigstore_js_refuses_a_bundle_for_another_identity() {
    let Some(js) = require(SigstoreJs::find(), "sigstore-js") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::dev(&dir.path().join("data"), &[]);
    let file = dir.path().join("artifact.txt");
    std::fs::write(&file, b"whose signature?\n").unwrap();
    let bundle = dir.path().join("artifact.sigstore.json");
    js.sign(&server, &file, &bundle, false);

    let out = js.verify(&server, &file, &bundle, "someone-else@example.com");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "another identity verified: {stderr}");
    assert!(stderr.contains("UNTRUSTED_SIGNER_ERROR"), "{stderr}");
}
