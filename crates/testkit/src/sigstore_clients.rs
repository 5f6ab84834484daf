//! The independent sigstore clients the interop tests run: sigstore-python's CLI (in
//! the virtualenv `CERTCENTRAL_SIGSTORE_PYTHON` names) and sigstore-js (the
//! `node_modules` under `CERTCENTRAL_SIGSTORE_JS`, run with `node`). `.ci/run` installs
//! both; elsewhere a test without them is skipped loudly, and under `CI` it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `Some(found)`, or `None` after a loud skip message outside CI; in CI (where `CI` is
/// set) a missing client fails the test instead, so a broken install cannot pass
/// quietly.
pub fn require<T>(found: Result<T, String>, client: &str) -> Option<T> {
    match found {
        Ok(found) => Some(found),
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{client} must be installed in CI (see .ci/run): {why}"
            );
            eprintln!("SKIPPED: {client} is not installed: {why}");
            None
        }
    }
}

/// sigstore-python's `sigstore` CLI, beside the interpreter `CERTCENTRAL_SIGSTORE_PYTHON`
/// names.
pub fn sigstore_python_cli() -> Result<PathBuf, String> {
    let python = std::env::var_os("CERTCENTRAL_SIGSTORE_PYTHON")
        .ok_or("CERTCENTRAL_SIGSTORE_PYTHON is unset")?;
    let cli = Path::new(&python)
        .parent()
        .map(|bin| bin.join("sigstore"))
        .ok_or("CERTCENTRAL_SIGSTORE_PYTHON has no directory")?;
    if cli.is_file() {
        Ok(cli)
    } else {
        Err(format!("no sigstore CLI at {}", cli.display()))
    }
}

/// The `node_modules` directory holding sigstore-js, once `node` runs.
pub fn sigstore_js_modules() -> Result<PathBuf, String> {
    let dir = std::env::var_os("CERTCENTRAL_SIGSTORE_JS").ok_or(
        "CERTCENTRAL_SIGSTORE_JS is unset (npm ci in a copy of crates/server/tests/sigstore-js, then point it there)",
    )?;
    let node_modules = PathBuf::from(dir).join("node_modules");
    if !node_modules.join("sigstore/package.json").is_file() {
        return Err(format!("no sigstore package in {}", node_modules.display()));
    }
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(node_modules),
        Ok(out) => Err(format!("node --version failed: {out:?}")),
        Err(e) => Err(format!("node: {e}")),
    }
}
