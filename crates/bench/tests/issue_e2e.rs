//! `certcentral-bench issue` against the real `certcentral serve --dev`, in both
//! proof-of-possession modes.

use std::process::{Command, Output};

use testkit::dev_server::{Server, certcentral};

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certcentral-bench"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bench_issue_runs_in_both_modes() {
    let Some(bin) = certcentral() else { return };
    let server = Server::start(&bin, None);
    for mode in [None, Some("--csr")] {
        let mut args = vec![
            "issue",
            "--url",
            &server.base,
            "--n",
            "8",
            "-c",
            "4",
            "--emails",
            "2",
            "--ceiling-ms",
            "5",
            "--json",
        ];
        args.extend(mode);
        let out = bench(&args);
        assert!(out.status.success(), "{mode:?}: {}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{mode:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        let text = report.to_string();
        assert!(text.contains("ceiling"), "{text}");
    }
}
