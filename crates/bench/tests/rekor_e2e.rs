//! `certcentral-bench rekor` against the real `certcentral serve --dev`, on its Rekor v1
//! and v2 logs.

use std::path::Path;
use std::process::Command;

use testkit::dev_server::{Server, certcentral};

fn bench_rekor(server: &Server, log: &str, n: &str, extra: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_certcentral-bench"))
        .args([
            "rekor",
            "--url",
            &server.base,
            "--log",
            log,
            "--n",
            n,
            "-c",
            "8",
            "--ceiling-ms",
            "5",
            "--json",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{log}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The key file `serve --dev` generated for `log`.
fn key_file(data: &Path, log: &str) -> String {
    data.join(format!("keys/rekor-{log}.pem"))
        .to_string_lossy()
        .into_owned()
}

#[test]
fn bench_rekor_creates_every_entry_on_both_logs() {
    let Some(bin) = certcentral() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_in(&bin, &data, None);

    let v1 = bench_rekor(&server, "dev-v1", "40", &[]);
    assert_eq!(v1["api"], "v1", "{v1}");
    assert_eq!(v1["entries"]["ok"], 40, "{v1}");
    // The sanity entry was the log's first; the load's 40 follow it.
    assert_eq!(v1["sanity"]["log_index"], 0, "{v1}");
    assert_eq!(v1["sanity"]["checkpoint_signature_verified"], true);
    assert_eq!(v1["ceiling"]["signs_per_entry"], 1);
    assert!(v1["ceiling"]["entries_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v1["ceiling_ratio"].as_f64().unwrap() > 0.0);
    // A second run sends new entries again: nothing is refused as a duplicate. The
    // key file on disk is the key the log publishes.
    let again = bench_rekor(
        &server,
        "dev-v1",
        "10",
        &["--log-key", &key_file(&data, "dev-v1")],
    );
    assert_eq!(again["entries"]["ok"], 10, "{again}");
    assert_eq!(again["sanity"]["log_index"], 41, "{again}");

    // The v2 log is told apart by its missing v1 routes; its checkpoint signature is
    // verified with the key file.
    let v2 = bench_rekor(
        &server,
        "dev-v2",
        "40",
        &["--log-key", &key_file(&data, "dev-v2")],
    );
    assert_eq!(v2["api"], "v2", "{v2}");
    assert_eq!(v2["entries"]["ok"], 40, "{v2}");
    assert_eq!(v2["sanity"]["checkpoint_signature_verified"], true);
    assert_eq!(v2["ceiling"]["signs_per_entry"], 0);
    let unkeyed = bench_rekor(&server, "dev-v2", "5", &["--api", "2"]);
    assert_eq!(unkeyed["entries"]["ok"], 5, "{unkeyed}");
    assert_eq!(unkeyed["sanity"]["checkpoint_signature_verified"], false);
    assert_eq!(unkeyed["sanity"]["log_index"], 41, "{unkeyed}");

    // The wrong key is refused before any load.
    let out = Command::new(env!("CARGO_BIN_EXE_certcentral-bench"))
        .args([
            "rekor",
            "--url",
            &server.base,
            "--log",
            "dev-v2",
            "--n",
            "1",
        ])
        .args(["--log-key", &key_file(&data, "dev-v1")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("log ID is not the log key"), "{stderr}");
}
