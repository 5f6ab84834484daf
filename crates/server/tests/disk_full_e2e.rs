//! The data directory's filesystem fills up under load: submitters are told to retry
//! (503), every entry that got an SCT is in the log (also after a restart), and the
//! log takes entries again by itself once space is freed. Needs root, to mount a
//! small tmpfs as the data directory; skipped, loudly, otherwise.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The tmpfs: room for the log's first entries, small enough to fill in a moment.
const TMPFS_SIZE: &str = "size=24m";

/// Concurrent submitters.
const SUBMITTERS: usize = 8;

/// How long the log may take to take entries again once space is freed.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

/// A mounted tmpfs, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` (with the reason printed) when this process may not mount.
    fn mount(at: &Path) -> Option<Tmpfs> {
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            eprintln!("SKIPPED disk_full_e2e: needs root to mount a tmpfs");
            return None;
        }
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("{TMPFS_SIZE},mode=700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .unwrap();
        if !status.success() {
            eprintln!("SKIPPED disk_full_e2e: mount -t tmpfs failed ({status}): no CAP_SYS_ADMIN?");
            return None;
        }
        Some(Tmpfs(at.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem of `dir` with `dir/filler` until it is full.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0x5a; 4096];
    loop {
        match file.write_all(&chunk) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    let _ = file.sync_all();
    path
}

/// One submission's answer: its status and body.
fn submit_one(
    client: &reqwest::blocking::Client,
    server: &Server,
    chain: &[Vec<u8>],
) -> (u16, Value) {
    post_chain(client, &server.log_url("ct/v1/add-chain"), chain)
}

#[test]
fn full_disk_answers_503_loses_nothing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tmpfs) = Tmpfs::mount(&dir.path().join("mnt")) else {
        return;
    };
    let data = tmpfs.0.join("data");
    let harness = dir.path().join("harness");
    std::fs::create_dir_all(&harness).unwrap();
    let root = root("Full Root", 2020, 2045);
    let roots_pem = harness.join("roots.pem");
    write_roots(&roots_pem, &[&root]);
    let config = harness.join("certcentral.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n\n[[logs]]\nname = \"test\"\nkey_file = \"ephemeral\"\nroots_pem = \"{}\"\nsequence_interval = \"20ms\"\n",
            data.display(),
            roots_pem.display()
        ),
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let mut server = Server::spawn(&args, &harness);
    let root_der = root.der().to_vec();
    let chain = |i: usize| {
        vec![
            leaf(&format!("full{i}.test"), &root, false),
            root_der.clone(),
        ]
    };

    // Load from several submitters; the filesystem fills up in the middle of it.
    // Every answer must be an SCT or a 503 (retry), nothing else.
    let acknowledged: Mutex<Vec<(Vec<u8>, Value)>> = Mutex::new(Vec::new());
    let refused: Mutex<Vec<Vec<Vec<u8>>>> = Mutex::new(Vec::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut filler = None;
    std::thread::scope(|s| {
        for _ in 0..SUBMITTERS {
            s.spawn(|| {
                let client = client();
                while !stop.load(Ordering::Relaxed) {
                    let c = chain(next.fetch_add(1, Ordering::Relaxed));
                    match submit_one(&client, &server, &c) {
                        (200, body) => acknowledged.lock().unwrap().push((c[0].clone(), body)),
                        (503, _) => refused.lock().unwrap().push(c),
                        (status, body) => failures.lock().unwrap().push(format!("{status} {body}")),
                    }
                }
            });
        }
        let started = Instant::now();
        while acknowledged.lock().unwrap().len() < 50 {
            std::thread::sleep(Duration::from_millis(10));
        }
        filler = Some(fill(&tmpfs.0));
        while refused.lock().unwrap().len() < 20
            && failures.lock().unwrap().is_empty()
            && started.elapsed() < Duration::from_secs(120)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "answers other than SCT or 503: {failures:?}"
    );
    let mut acknowledged = acknowledged.into_inner().unwrap();
    let refused = refused.into_inner().unwrap();
    assert!(
        refused.len() >= 20,
        "only {} 503s on a full disk",
        refused.len()
    );
    println!(
        "full disk: {} entries acknowledged, {} answered 503",
        acknowledged.len(),
        refused.len()
    );

    // Space freed: the refused entries go in on retry, without a restart.
    let client = client();
    std::fs::remove_file(filler.unwrap()).unwrap();
    let freed = Instant::now();
    for c in refused {
        loop {
            match submit_one(&client, &server, &c) {
                (200, body) => {
                    acknowledged.push((c[0].clone(), body));
                    break;
                }
                (503, body) => assert!(
                    freed.elapsed() < RECOVERY_LIMIT,
                    "still 503 {:?} after space was freed: {body}",
                    freed.elapsed()
                ),
                (status, body) => panic!("after freeing space: {status} {body}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    println!(
        "{} entries acknowledged; took entries again {:?} after space was freed",
        acknowledged.len(),
        freed.elapsed()
    );

    let check = |server: &Server| {
        let sth = get_json(&client, &server.log_url("ct/v1/get-sth"));
        let head = size_and_root(&sth);
        for (cert, sct) in &acknowledged {
            assert_included(&client, server, cert, sct, head);
        }
    };
    check(&server);
    // And after a restart: what was acknowledged is on disk, not only in memory.
    let (status, _) = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    let server = Server::spawn(&args, &harness);
    check(&server);
}
