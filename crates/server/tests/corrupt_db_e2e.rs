//! A damaged log database must stop the server, never be replaced: for each kind of
//! damage to a CT log's SQLite file the real binary exits non-zero within seconds,
//! names the file and what is wrong, and leaves the file exactly as it found it. A
//! log that silently started over an empty database would sign a new tree that
//! contradicts every SCT and tree head it handed out before.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// How long a refusing server may take to exit.
const REFUSAL_LIMIT: Duration = Duration::from_secs(20);

/// A data directory holding one log `test` with `entries` acknowledged entries,
/// stopped cleanly (its WAL checkpointed and removed).
struct Fixture {
    _dir: tempfile::TempDir,
    pristine: PathBuf,
    roots_pem: PathBuf,
    root: Ca,
    tree_size: u64,
}

impl Fixture {
    fn new(entries: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let pristine = dir.path().join("pristine");
        let root = root("Damage Root", 2020, 2045);
        let roots_pem = dir.path().join("roots.pem");
        write_roots(&roots_pem, &[&root]);
        let mut server = Server::with_log(&pristine, &roots_pem, "20ms", "127.0.0.1:0");
        submit(&server, &root, "pristine", entries);
        let sth = get_json(&client(), &server.log_url("ct/v1/get-sth"));
        let (status, _) = server.terminate(Duration::from_secs(10));
        assert!(status.success(), "clean stop: {status}");
        let tree_size = sth["tree_size"].as_u64().unwrap();
        assert!(tree_size >= entries as u64, "{sth}");
        Fixture {
            _dir: dir,
            pristine,
            roots_pem,
            root,
            tree_size,
        }
    }

    /// A copy of the pristine data directory under `name`, with its own config.
    fn copy(&self, name: &str) -> PathBuf {
        let data = self.pristine.with_file_name(name);
        let status = Command::new("cp")
            .arg("-a")
            .arg(&self.pristine)
            .arg(&data)
            .status()
            .unwrap();
        assert!(status.success());
        write_config(&data, &self.roots_pem);
        data
    }
}

/// The same config `Server::with_log` writes, for a copied data directory.
fn write_config(data: &Path, roots_pem: &Path) {
    let config = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n\n[[logs]]\nname = \"test\"\nkey_file = \"ephemeral\"\nroots_pem = \"{}\"\nsequence_interval = \"20ms\"\n",
        data.display(),
        roots_pem.display()
    );
    std::fs::write(data.join("certcentral.toml"), config).unwrap();
}

/// Submits `count` certificates and asserts each got an SCT.
fn submit(server: &Server, root: &Ca, tag: &str, count: usize) {
    let client = client();
    let root_der = root.der().to_vec();
    for i in 0..count {
        let chain = vec![
            leaf(&format!("{tag}{i}.test"), root, false),
            root_der.clone(),
        ];
        let (status, body) = post_chain(&client, &server.log_url("ct/v1/add-chain"), &chain);
        assert_eq!(status, 200, "{body}");
    }
}

fn db(data: &Path) -> PathBuf {
    data.join("logs").join("test").join("log.db")
}

fn wal(data: &Path) -> PathBuf {
    data.join("logs").join("test").join("log.db-wal")
}

/// Every file of the log's database (absent ones as `None`), to compare before/after.
fn snapshot(data: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    ["log.db", "log.db-wal", "log.db-shm"]
        .iter()
        .map(|name| {
            let path = data.join("logs").join("test").join(name);
            let bytes = std::fs::read(&path).ok();
            (path, bytes)
        })
        .collect()
}

/// Starts `serve` on `data` and expects a refusal: a non-zero exit within
/// [`REFUSAL_LIMIT`]. Returns what it wrote to stderr.
fn expect_refusal(data: &Path) -> Result<String, String> {
    expect_refusal_of(&["--config", data.join("certcentral.toml").to_str().unwrap()])
}

/// [`expect_refusal`] for `serve` with `args`.
fn expect_refusal_of(args: &[&str]) -> Result<String, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_certcentral"))
        .arg("serve")
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > REFUSAL_LIMIT {
            child.kill().unwrap();
            child.wait().unwrap();
            return Err(format!("still running after {REFUSAL_LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    if status.success() {
        return Err(format!("exited {status}; stderr:\n{stderr}"));
    }
    Ok(stderr)
}

/// Runs one case: `damage` a copy, then the server must refuse with a message naming
/// the database file and containing `what`, and change none of its files. Returns
/// what went wrong, so one run reports every case.
fn refuses(fixture: &Fixture, case: &str, what: &str, damage: impl FnOnce(&Path)) -> Vec<String> {
    let data = fixture.copy(case);
    damage(&data);
    let before = snapshot(&data);
    let mut failures = Vec::new();
    match expect_refusal(&data) {
        Err(e) => failures.push(format!("{case}: {e}")),
        Ok(stderr) => {
            println!("{case}: refused with\n{stderr}");
            let path = db(&data).display().to_string();
            if !stderr.contains(&path) {
                failures.push(format!("{case}: does not name {path}:\n{stderr}"));
            }
            if !stderr.to_lowercase().contains(what) {
                failures.push(format!("{case}: does not say {what:?}:\n{stderr}"));
            }
        }
    }
    if before != snapshot(&data) {
        failures.push(format!("{case}: the damaged database files were changed"));
    }
    failures
}

/// Deterministic garbage (xorshift), so a failure reproduces.
fn garbage(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn damaged_log_database_is_refused_and_left_alone() {
    let fixture = Fixture::new(300);
    let len = std::fs::metadata(db(&fixture.pristine)).unwrap().len();
    assert!(len > 64 * 1024, "a database of several pages: {len} bytes");

    let mut failures = Vec::new();
    failures.extend(refuses(&fixture, "truncated", "truncated", |data| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(db(data))
            .unwrap();
        file.set_len(len / 2).unwrap();
    }));

    failures.extend(refuses(&fixture, "overwritten", "corrupt", |data| {
        let mut bytes = std::fs::read(db(data)).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle..middle + 8192].copy_from_slice(&garbage(8192));
        std::fs::write(db(data), bytes).unwrap();
    }));

    failures.extend(refuses(&fixture, "emptied", "empty", |data| {
        std::fs::write(db(data), b"").unwrap();
    }));

    failures.extend(refuses(&fixture, "tiles-deleted", "inconsistent", |data| {
        let conn = rusqlite::Connection::open(db(data)).unwrap();
        conn.execute_batch("DELETE FROM hash_tiles; DELETE FROM data_tiles;")
            .unwrap();
        drop(conn);
        assert!(!wal(data).exists(), "the edit was checkpointed");
    }));

    failures.extend(refuses(&fixture, "heads-deleted", "no tree head", |data| {
        let conn = rusqlite::Connection::open(db(data)).unwrap();
        conn.execute_batch("DELETE FROM tree_heads;").unwrap();
    }));

    // A crash leaves committed entries in the write-ahead log; the database file
    // then deleted (by hand, by a bad restore) must not become a fresh log that
    // replays whatever the orphaned WAL holds.
    let crashed = fixture.copy("crashed");
    {
        let mut server = Server::spawn(
            &[
                "--config",
                crashed.join("certcentral.toml").to_str().unwrap(),
            ],
            &crashed,
        );
        submit(&server, &fixture.root, "crashed", 5);
        server.kill();
    }
    assert!(wal(&crashed).exists(), "SIGKILL leaves the WAL behind");
    failures.extend(refuses(&fixture, "deleted-with-wal", "missing", |data| {
        std::fs::remove_dir_all(data).unwrap();
        let status = Command::new("cp")
            .arg("-a")
            .arg(&crashed)
            .arg(data)
            .status()
            .unwrap();
        assert!(status.success());
        write_config(data, &fixture.roots_pem);
        std::fs::remove_file(db(data)).unwrap();
    }));

    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // The undamaged copy still starts, with every entry.
    let data = fixture.copy("intact");
    let server = Server::spawn(
        &["--config", data.join("certcentral.toml").to_str().unwrap()],
        &data,
    );
    let sth = get_json(&client(), &server.log_url("ct/v1/get-sth"));
    assert_eq!(sth["tree_size"].as_u64().unwrap(), fixture.tree_size);
}

/// `serve --dev` opens more stores than the CT log (its CT logs, the artifact logs,
/// the registry): each one's emptied database is refused the same way. (The monitor
/// opens its database after the server listens.)
#[test]
fn every_store_of_dev_mode_refuses_an_emptied_database() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("pristine");
    let mut server = Server::dev(&pristine, &[]);
    // Ready: every store is open and the stop handler installed.
    let client = client();
    let started = Instant::now();
    while client
        .get(format!("{}/readyz", server.base))
        .send()
        .map_or(true, |r| r.status() != 200)
    {
        assert!(started.elapsed() < REFUSAL_LIMIT, "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, _) = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "clean stop: {status}");
    let mut databases: Vec<PathBuf> = Vec::new();
    let mut dirs = vec![pristine.clone()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "db") && !path.ends_with("monitor.db") {
                databases.push(path.strip_prefix(&pristine).unwrap().to_owned());
            }
        }
    }
    databases.sort();
    println!("stores checked: {databases:?}");
    for expected in ["registry/registry.db", "logs/dev-a/log.db"] {
        assert!(
            databases.iter().any(|d| d.ends_with(expected)),
            "{databases:?}"
        );
    }
    assert!(
        databases.iter().any(|d| d.starts_with("artifact-logs")),
        "{databases:?}"
    );
    let mut failures = Vec::new();
    for (i, database) in databases.iter().enumerate() {
        let data = dir.path().join(format!("case{i}"));
        let status = Command::new("cp")
            .arg("-a")
            .arg(&pristine)
            .arg(&data)
            .status()
            .unwrap();
        assert!(status.success());
        let file = data.join(database);
        std::fs::write(&file, b"").unwrap();
        let args = [
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ];
        match expect_refusal_of(&args) {
            Err(e) => failures.push(format!("{}: {e}", database.display())),
            Ok(stderr) => {
                let named = file.display().to_string();
                if !(stderr.contains(&named) && stderr.contains("empty")) {
                    failures.push(format!(
                        "{}: unclear refusal:\n{stderr}",
                        database.display()
                    ));
                }
            }
        }
        if std::fs::metadata(&file).unwrap().len() != 0 {
            failures.push(format!(
                "{}: the emptied file was written",
                database.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
