//! Wire formats checked against an independent implementation: Python `cryptography`.
//! These tests FAIL (not skip) when python3 or the module is missing.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;
use pki::chain::{SubmissionKind, validate_chain};
use pki::ct::{self, SignedCertificateTimestamp, TimestampedEntry};
use pki::{EcdsaP256Signer, SignedEntry, embedded_scts, precert_tbs_from_certificate};
use rcgen::KeyPair;
use serde_json::Value;

fn python(script: &str, args: &[&str], stdin: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "python", script]
        .iter()
        .collect();
    let mut child = Command::new("python3")
        .arg(&path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 is required for this cross-check test: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("python3 run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "Python package `cryptography` is required for this cross-check test: {stderr}"
    );
    assert!(out.status.success(), "{script} failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    if stdout.trim() == "ok" {
        return Value::String("ok".into());
    }
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{script} output {stdout:?}: {e}"))
}

fn hex_field(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(v[k].as_str().unwrap_or_else(|| panic!("missing {k}"))).unwrap()
}

#[test]
fn embedded_sct_list_matches_python_cryptography() {
    let root = root("Root", 2020, 2030);
    let int = intermediate("Int", &root);
    let key = KeyPair::generate().unwrap();
    let roots = store(&[&root]);

    // Log two SCTs for the precertificate, as a CT log would.
    let precert = leaf(&key, &int, vec![poison(true)]);
    let v = validate_chain(
        &[precert, der(&int)],
        &roots,
        NOW_MS,
        SubmissionKind::Precertificate,
    )
    .unwrap();
    let logs = [
        EcdsaP256Signer::generate().unwrap(),
        EcdsaP256Signer::generate().unwrap(),
    ];
    let scts: Vec<SignedCertificateTimestamp> = logs
        .iter()
        .enumerate()
        .map(|(i, log)| {
            let entry = TimestampedEntry {
                timestamp: NOW_MS + i as u64,
                entry: v.entry.clone(),
                extensions: ct::leaf_index_extension(1000 + i as u64).unwrap(),
            };
            SignedCertificateTimestamp {
                log_id: log.log_id(),
                timestamp: entry.timestamp,
                extensions: entry.extensions.clone(),
                signature: log
                    .sign_digitally_signed(&ct::sct_signed_data(&entry))
                    .unwrap(),
            }
        })
        .collect();

    // Issue the final certificate with the SCT list embedded.
    let final_cert = leaf(
        &key,
        &int,
        vec![sct_list_ext(
            ct::SignedCertificateTimestampList {
                sct_list: scts.clone(),
            }
            .to_extension_value()
            .unwrap(),
        )],
    );
    assert_eq!(embedded_scts(&final_cert).unwrap(), scts);

    let py = python("parse_sct_cert.py", &[], &hex::encode(&final_cert));
    let py_scts = py["scts"].as_array().unwrap();
    assert_eq!(py_scts.len(), scts.len());
    for (ours, theirs) in scts.iter().zip(py_scts) {
        assert_eq!(theirs["version"], 0);
        assert_eq!(
            theirs["entry_type"], 1,
            "embedded SCTs are for precert entries"
        );
        assert_eq!(hex_field(theirs, "log_id"), ours.log_id);
        assert_eq!(theirs["timestamp_ms"].as_u64().unwrap(), ours.timestamp);
        assert_eq!(hex_field(theirs, "extensions"), ours.extensions);
        assert_eq!(hex_field(theirs, "signature"), ours.signature.signature);
    }
    // Python's reconstruction of the precertificate TBS equals ours, and equals the TBS
    // the log signed.
    let ours_tbs = precert_tbs_from_certificate(&final_cert).unwrap();
    assert_eq!(hex_field(&py, "tbs_precertificate"), ours_tbs);
    let SignedEntry::Precert {
        tbs_certificate, ..
    } = &v.entry
    else {
        panic!()
    };
    assert_eq!(tbs_certificate, &ours_tbs);
    // And each SCT verifies against the reconstructed entry.
    for (sct, log) in scts.iter().zip(&logs) {
        let entry = TimestampedEntry {
            timestamp: sct.timestamp,
            entry: v.entry.clone(),
            extensions: sct.extensions.clone(),
        };
        pki::verify_digitally_signed(
            &log.spki_der(),
            &ct::sct_signed_data(&entry),
            &sct.signature,
        )
        .unwrap();
    }
}

#[test]
fn python_built_precertificate_validates_and_tbs_matches_final() {
    let py = python("make_precert.py", &[], "");
    let root = hex_field(&py, "root");
    let precert = hex_field(&py, "precert");
    let mut roots = pki::RootStore::new();
    roots.add_der(&root).unwrap();
    let v = validate_chain(
        std::slice::from_ref(&precert),
        &roots,
        NOW_MS,
        SubmissionKind::Precertificate,
    )
    .unwrap();
    assert_eq!(v.chain_der, vec![root]);
    let SignedEntry::Precert {
        issuer_key_hash,
        tbs_certificate,
    } = v.entry
    else {
        panic!()
    };
    assert_eq!(issuer_key_hash, ct::log_id(&hex_field(&py, "root_spki")));
    assert_eq!(tbs_certificate, hex_field(&py, "final_tbs"));
    // Submitted as a final certificate, it must be refused.
    assert!(validate_chain(&[precert], &roots, NOW_MS, SubmissionKind::Certificate).is_err());
}

#[test]
fn ecdsa_digitally_signed_verifies_with_python_cryptography() {
    let signer = EcdsaP256Signer::generate().unwrap();
    let msg = ct::tree_head_signed_data(NOW_MS, 42, &[7; 32]);
    let ds = signer.sign_digitally_signed(&msg).unwrap();
    let ok = python(
        "verify_ecdsa.py",
        &[
            &hex::encode(signer.spki_der()),
            &hex::encode(&msg),
            &hex::encode(&ds.signature),
        ],
        "",
    );
    assert_eq!(ok, "ok");
    // And a PEM round trip keeps the same key for Python, too.
    let again = EcdsaP256Signer::from_pkcs8_pem(&signer.to_pkcs8_pem().unwrap()).unwrap();
    let ds2 = again.sign_digitally_signed(&msg).unwrap();
    let ok = python(
        "verify_ecdsa.py",
        &[
            &hex::encode(signer.spki_der()),
            &hex::encode(&msg),
            &hex::encode(&ds2.signature),
        ],
        "",
    );
    assert_eq!(ok, "ok");
}
