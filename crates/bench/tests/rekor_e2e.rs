//! `certcentral-bench rekor` against the real `certcentral serve --dev`.

use std::process::Command;

use testkit::dev_server::{Server, certcentral};

fn bench_rekor(server: &Server, log: &str, n: &str) -> serde_json::Value {
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
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{log}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn bench_rekor_v1_creates_every_entry_and_reports_the_ceiling() {
    let Some(bin) = certcentral() else { return };
    let server = Server::start(&bin, None);
    let report = bench_rekor(&server, "dev-v1", "40");
    assert_eq!(report["api"], "v1", "{report}");
    assert_eq!(report["entries"]["ok"], 40, "{report}");
    // The sanity entry was the log's first; the load's 40 follow it.
    assert_eq!(report["sanity"]["log_index"], 0, "{report}");
    assert!(report["ceiling"]["entries_per_sec"].as_f64().unwrap() > 0.0);
    assert!(report["ceiling_ratio"].as_f64().unwrap() > 0.0);

    // A second run sends new entries again: nothing is refused as a duplicate.
    let again = bench_rekor(&server, "dev-v1", "10");
    assert_eq!(again["entries"]["ok"], 10, "{again}");
    assert_eq!(again["sanity"]["log_index"], 41, "{again}");
}
