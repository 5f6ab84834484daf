//! The data directory is private: it holds log and registry keys, API-key hashes and
//! webhook signing secrets. A fresh one — from `serve --dev --data-dir` or from a
//! config file's `data_dir` — is 0700 with every directory below it 0700, and every
//! SQLite database with its `-wal` and `-shm` files 0600.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{Server, answer, client, registry_token};
use serde_json::json;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every directory and file under `dir`, `dir` included.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(tree(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Asserts the modes of everything under `data`; returns the database files seen.
/// The monitor opens its database after the server starts listening: waited for.
fn assert_private(data: &Path) -> Vec<PathBuf> {
    let monitor = data.join("monitor").join("monitor.db");
    for _ in 0..100 {
        if monitor.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut databases = Vec::new();
    for path in tree(data) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            assert_eq!(mode(&path), 0o700, "directory {}", path.display());
        } else if [".db", ".db-wal", ".db-shm"]
            .iter()
            .any(|s| name.ends_with(s))
        {
            assert_eq!(mode(&path), 0o600, "database file {}", path.display());
            databases.push(path);
        } else if path.starts_with(data.join("keys")) {
            assert_eq!(mode(&path), 0o600, "key file {}", path.display());
        }
    }
    databases
}

#[test]
fn a_fresh_dev_data_dir_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh").join("data");
    let server = Server::spawn(
        &[
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &dir.path().join("run"),
    );
    // Writes to the registry and the monitor, so their WAL files exist.
    let http = client();
    let token = registry_token(&http, &server, "modes@example.com");
    let (status, body) = answer(
        http.post(format!("{}/api/v1/accounts", server.base))
            .bearer_auth(&token)
            .json(&json!({ "username": "modes" }))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{body}");
    let databases = assert_private(&data);
    for expected in [
        "registry/registry.db",
        "registry/registry.db-wal",
        "registry/registry.db-shm",
        "monitor/monitor.db",
        "logs/dev-a/log.db",
    ] {
        assert!(
            databases.contains(&data.join(expected)),
            "{expected} not among {databases:?}"
        );
    }
}

#[test]
fn a_fresh_configured_data_dir_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("configured");
    let config = dir.path().join("certcentral.toml");
    std::fs::write(
        &config,
        format!(
            r#"
listen = "127.0.0.1:0"
data_dir = "{}"

[[logs]]
name = "a"
key_file = "ephemeral"

[registry]
[[registry.oidc_issuers]]
issuer_url = "https://accounts.example.com"
client_id = "certcentral-registry"
type = "email"

[monitor]
"#,
            data.display()
        ),
    )
    .unwrap();
    let _server = Server::spawn(
        &["--config", config.to_str().unwrap()],
        &dir.path().join("run"),
    );
    let databases = assert_private(&data);
    for expected in [
        "registry/registry.db",
        "monitor/monitor.db",
        "logs/a/log.db",
    ] {
        assert!(
            databases.contains(&data.join(expected)),
            "{expected} not among {databases:?}"
        );
    }
}
