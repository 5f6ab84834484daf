//! Running sigstore-python's own code (the virtualenv `.ci/run` installs, named by
//! `CERTCENTRAL_SIGSTORE_PYTHON`) on JSON, for the Rekor cross-checks.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The Python interpreter with sigstore-python, from `CERTCENTRAL_SIGSTORE_PYTHON`;
/// `None` (the test skips, saying why) when unset outside CI.
pub fn sigstore_python() -> Option<String> {
    match std::env::var("CERTCENTRAL_SIGSTORE_PYTHON") {
        Ok(python) => Some(python),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "sigstore-python must be installed in CI (see .ci/run)"
            );
            eprintln!(
                "SKIPPED: CERTCENTRAL_SIGSTORE_PYTHON is not set (a python with sigstore==4.5.1)"
            );
            None
        }
    }
}

/// Runs `tests/python/<script>` with `stdin` as JSON and reads its JSON output.
pub fn run_python(python: &str, script: &str, stdin: &Value) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "python", script]
        .iter()
        .collect();
    let mut child = Command::new(python)
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.to_string().as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("python run");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python output")
}
