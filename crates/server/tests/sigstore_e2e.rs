//! The unmodified sigstore-python CLI signs and verifies files against `serve --dev`
//! with nothing but the client trust config the server publishes: Rekor v1 with and
//! without the time-stamp authority, Rekor v2 with it. A changed byte in the file, the
//! bundle's signature, its inclusion proof, its checkpoint or its timestamp makes
//! verification fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use serde_json::Value;
use testkit::sigstore_clients::{require, sigstore_python_cli};

const EMAIL: &str = "signer@example.com";

struct Session {
    cli: PathBuf,
    server: Server,
    dir: PathBuf,
    issuer: String,
}

impl Session {
    fn run(&self, trust: &Path, args: &[&str]) -> Output {
        Command::new(&self.cli)
            .arg("--trust-config")
            .arg(trust)
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }

    /// Signs `files` with a fresh dev token, forcing the Rekor API version.
    fn sign(&self, trust: &Path, rekor_version: &str, files: &[&str]) {
        let token = dev_token(&client(), &self.server, EMAIL);
        let mut args = vec![
            "sign",
            "--rekor-version",
            rekor_version,
            "--identity-token",
            &token,
            "--overwrite",
        ];
        args.extend_from_slice(files);
        let out = self.run(trust, &args);
        assert!(
            out.status.success(),
            "sigstore sign (rekor v{rekor_version}) failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn verify(&self, trust: &Path, file: &str, bundle: &str) -> Output {
        self.run(
            trust,
            &[
                "verify",
                "identity",
                "--cert-identity",
                EMAIL,
                "--cert-oidc-issuer",
                &self.issuer,
                "--bundle",
                bundle,
                file,
            ],
        )
    }

    fn assert_verifies(&self, trust: &Path, file: &str, bundle: &str) {
        let out = self.verify(trust, file, bundle);
        assert!(
            out.status.success(),
            "sigstore verify {file} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn assert_refused(&self, trust: &Path, file: &str, bundle: &str, what: &str) {
        let out = self.verify(trust, file, bundle);
        assert!(
            !out.status.success(),
            "sigstore verify accepted {what}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir.join(name), bytes).unwrap();
    }

    fn bundle(&self, name: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.dir.join(name)).unwrap()).unwrap()
    }
}

/// Flips the last byte of a base64 field's value.
fn flip_b64(value: &mut Value) {
    let mut bytes = B64.decode(value.as_str().unwrap()).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    *value = B64.encode(bytes).into();
}

/// Bundles with one part changed each, which must all be refused.
fn tampered(session: &Session, trust: &Path, file: &str, bundle: &str) {
    let original = session.bundle(bundle);
    let entry = "/verificationMaterial/tlogEntries/0";
    let mut cases: Vec<(&str, Value)> = Vec::new();

    let mut signature = original.clone();
    flip_b64(
        signature
            .pointer_mut("/messageSignature/signature")
            .unwrap(),
    );
    cases.push(("a changed signature", signature));

    let mut proof = original.clone();
    let hashes = format!("{entry}/inclusionProof/hashes");
    if proof
        .pointer(&hashes)
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty()
    {
        flip_b64(
            proof
                .pointer_mut(&format!("{entry}/inclusionProof/rootHash"))
                .unwrap(),
        );
    } else {
        flip_b64(proof.pointer_mut(&format!("{hashes}/0")).unwrap());
    }
    cases.push(("a changed inclusion proof", proof));

    let mut checkpoint = original.clone();
    let envelope = checkpoint
        .pointer_mut(&format!("{entry}/inclusionProof/checkpoint/envelope"))
        .unwrap();
    let text = envelope.as_str().unwrap().to_owned();
    // Another tree size in the signed text: the note signature no longer verifies.
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let size: u64 = lines[1].parse().unwrap();
    lines[1] = (size + 1).to_string();
    *envelope = lines.join("\n").into();
    cases.push(("a changed checkpoint", checkpoint));

    let timestamps = "/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0";
    if original.pointer(timestamps).is_some() {
        let mut timestamp = original.clone();
        flip_b64(
            timestamp
                .pointer_mut(&format!("{timestamps}/signedTimestamp"))
                .unwrap(),
        );
        // A v1 entry's SET vouches for its integrated time, which is a time source of
        // its own: sigstore verifiers drop a timestamp that does not verify and go on.
        // Without the SET the changed timestamp is the only time left, and it fails.
        let promise = format!("{entry}/inclusionPromise");
        if timestamp.pointer(&promise).is_some() {
            timestamp
                .pointer_mut(entry)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .remove("inclusionPromise");
        }
        cases.push(("a changed timestamp", timestamp));
    }

    for (what, bundle) in cases {
        let name = format!("tampered-{}.sigstore.json", what.replace(' ', "-"));
        session.write(&name, &serde_json::to_vec(&bundle).unwrap());
        session.assert_refused(trust, file, &name, what);
    }
    let changed = format!("changed-{file}");
    let mut bytes = std::fs::read(session.dir.join(file)).unwrap();
    bytes[0] ^= 1;
    session.write(&changed, &bytes);
    session.assert_refused(trust, &changed, bundle, "a changed file");
}

#[test]
fn sigstore_python_signs_and_verifies_with_rekor_v1_and_v2() {
    let Some(cli) = require(sigstore_python_cli(), "sigstore-python") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::dev(&dir.path().join("data"), &[]);
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let session = Session {
        cli,
        issuer: format!("{}/dev/oidc", server.base),
        server,
        dir: work.clone(),
    };

    // The trust config, as a user would fetch it; and a copy without the TSA.
    let config = get_json(
        &client(),
        &format!("{}/sigstore/client_trust_config.json", session.server.base),
    );
    let trust = work.join("trust.json");
    std::fs::write(&trust, serde_json::to_vec(&config).unwrap()).unwrap();
    let mut no_tsa = config.clone();
    no_tsa["signingConfig"]["tsaUrls"] = Value::Array(Vec::new());
    let trust_no_tsa = work.join("trust-no-tsa.json");
    std::fs::write(&trust_no_tsa, serde_json::to_vec(&no_tsa).unwrap()).unwrap();

    // Rekor v1, timestamped: two files, so the proof has a path.
    session.write("a.txt", b"first artifact\n");
    session.write("b.txt", b"second artifact\n");
    session.sign(&trust, "1", &["a.txt", "b.txt"]);
    session.assert_verifies(&trust, "a.txt", "a.txt.sigstore.json");
    session.assert_verifies(&trust, "b.txt", "b.txt.sigstore.json");
    let bundle = session.bundle("b.txt.sigstore.json");
    let kind = &bundle["verificationMaterial"]["tlogEntries"][0]["kindVersion"];
    assert_eq!(
        (kind["kind"].as_str(), kind["version"].as_str()),
        (Some("hashedrekord"), Some("0.0.1"))
    );
    tampered(&session, &trust, "b.txt", "b.txt.sigstore.json");

    // Rekor v1 without a TSA: the log's integrated time is the signing time.
    session.write("c.txt", b"third artifact\n");
    session.sign(&trust_no_tsa, "1", &["c.txt"]);
    let bundle = session.bundle("c.txt.sigstore.json");
    assert!(
        bundle
            .pointer("/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0")
            .is_none()
    );
    session.assert_verifies(&trust_no_tsa, "c.txt", "c.txt.sigstore.json");

    // Rekor v2 with the TSA (a v2 entry carries no time of its own).
    session.write("d.txt", b"fourth artifact\n");
    session.write("e.txt", b"fifth artifact\n");
    session.sign(&trust, "2", &["d.txt", "e.txt"]);
    let bundle = session.bundle("e.txt.sigstore.json");
    let kind = &bundle["verificationMaterial"]["tlogEntries"][0]["kindVersion"];
    assert_eq!(kind["version"], "0.0.2");
    session.assert_verifies(&trust, "d.txt", "d.txt.sigstore.json");
    session.assert_verifies(&trust, "e.txt", "e.txt.sigstore.json");
    tampered(&session, &trust, "e.txt", "e.txt.sigstore.json");
}
