//! Harness shared by the client end-to-end tests (`ccc`, `certcentral-bench`): the real
//! `certcentral` binary, built by the `server` crate into the same target directory.
//! When it is missing the tests are skipped loudly (and fail under `CI`, where
//! `cargo test --workspace` builds it).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `certcentral` binary of this target directory, if built: the test runs from
/// `target/<profile>/deps/`, the binaries sit in `target/<profile>/`.
pub fn certcentral() -> Option<PathBuf> {
    let test = std::env::current_exe().ok()?;
    let bin = test.parent()?.parent()?.join("certcentral");
    if bin.exists() {
        return Some(bin);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: build it with `cargo build -p server`",
        bin.display()
    );
    eprintln!(
        "\n!!! SKIPPING: {} not built; run `cargo build -p server` first !!!\n",
        bin.display()
    );
    None
}

/// A running `certcentral serve --dev`; killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// A server over a fresh temporary data directory.
    pub fn start(bin: &Path, config: Option<&str>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut server = Self::start_in(bin, &dir.path().join("data"), config);
        server._dir = Some(dir);
        server
    }

    /// A server over `data_dir`, which the caller owns (to share files between two
    /// servers, or to restart on the same data); `config` is written next to it.
    pub fn start_in(bin: &Path, data_dir: &Path, config: Option<&str>) -> Server {
        Self::start_at(bin, data_dir, config, "127.0.0.1:0")
    }

    /// [`Server::start_in`] listening on `listen` — e.g. the address of a server just
    /// stopped, to serve other data at the same URL.
    pub fn start_at(bin: &Path, data_dir: &Path, config: Option<&str>, listen: &str) -> Server {
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--dev", "--listen", listen, "--data-dir"])
            .arg(data_dir);
        if let Some(text) = config {
            let path = data_dir.with_extension("toml");
            std::fs::write(&path, text).unwrap();
            cmd.arg("--config").arg(path);
        }
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                l.strip_prefix("certcentral listening on ")
                    .map(|a| a.trim().to_owned())
            })
            .expect("server did not print its address");
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            base,
            _dir: None,
        }
    }

    pub fn log_list(&self) -> String {
        format!("{}/logs/log_list.json", self.base)
    }

    pub fn log(&self, name: &str) -> String {
        format!("{}/logs/{name}", self.base)
    }
}
