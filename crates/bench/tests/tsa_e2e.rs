//! `certcentral-bench tsa` against the real `certcentral serve --dev`.

use std::process::Command;

use testkit::dev_server::{Server, certcentral};

#[test]
fn bench_tsa_reports_timestamps_against_the_sign_ceiling() {
    let Some(bin) = certcentral() else { return };
    let server = Server::start(&bin, None);
    let out = Command::new(env!("CARGO_BIN_EXE_certcentral-bench"))
        .args([
            "tsa",
            "--url",
            &server.base,
            "--n",
            "50",
            "-c",
            "4",
            "--ceiling-ms",
            "5",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["timestamp"]["ok"], 50, "{report}");
    assert!(report["ceiling"]["timestamps_per_sec"].as_f64().unwrap() > 0.0);
    assert!(report["ceiling_ratio"].as_f64().unwrap() > 0.0);
}
