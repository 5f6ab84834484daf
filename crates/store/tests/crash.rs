//! The durability half of the `LogStore` contract: once `commit_batch` returned `Ok`
//! (and the sequencer could have handed out SCTs), the batch survives the process
//! being killed; a batch interrupted mid-commit leaves nothing behind.
//!
//! The test re-executes this test binary in "child mode", which commits batches in a
//! loop and reports each committed size on stdout, and SIGKILLs it mid-stream.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use store::conformance::{
    assert_batch_stored, sample_data_tile, sample_entries, sample_hash_tile, sample_head,
};
use store::{Batch, LogStore, SqliteLogStore};

/// Selects child mode and names the database the child writes.
const CHILD_ENV: &str = "CERTCENTRAL_STORE_CRASH_CHILD_DB";
const ENTRIES_PER_BATCH: u64 = 400;
const REPORT_PREFIX: &str = "COMMITTED ";

/// Batch `k` of the child: entries `k*E..(k+1)*E`, its full tiles, and a level-1 hash
/// tile widened by every batch, so a lost or torn commit shows up as a missing row,
/// a missing tile or a narrow tile.
fn child_batch(k: u64) -> Batch {
    let (start, end) = (k * ENTRIES_PER_BATCH, (k + 1) * ENTRIES_PER_BATCH);
    let mut hash_tiles = vec![sample_hash_tile(1, 0, (k + 1) as u16)];
    let mut data_tiles = Vec::new();
    for tile in start / 256..end.div_ceil(256) {
        let width = (end - tile * 256).min(256) as u16;
        hash_tiles.push(sample_hash_tile(0, tile, width));
        data_tiles.push(sample_data_tile(tile, width, 1024));
    }
    Batch {
        entries: sample_entries(start..end),
        hash_tiles,
        data_tiles,
        issuers: Vec::new(),
        tree_head: Some(sample_head(end, k)),
    }
}

/// Child mode (does nothing unless `CHILD_ENV` is set): commit forever, reporting
/// each batch only after `commit_batch` returned, as the sequencer hands out SCTs.
#[test]
fn crash_child_commits_until_killed() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = SqliteLogStore::open(Path::new(&path)).expect("child open");
    let mut stdout = std::io::stdout();
    for k in 0..250 {
        store.commit_batch(&child_batch(k)).expect("child commit");
        writeln!(stdout, "{REPORT_PREFIX}{}", (k + 1) * ENTRIES_PER_BATCH).expect("report");
        stdout.flush().expect("flush");
    }
    panic!("the parent should have killed this child");
}

#[test]
fn committed_batches_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.db");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "crash_child_commits_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut last_reported = 0;
    let mut reports = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        if let Some(size) = line.strip_prefix(REPORT_PREFIX) {
            last_reported = size.parse::<u64>().expect("reported size");
            reports += 1;
            if reports == 6 {
                break;
            }
        }
    }
    // SIGKILL while the child is (most likely) inside its next commit.
    child.kill().expect("kill child");
    child.wait().expect("reap child");
    assert_eq!(reports, 6, "child stopped reporting early");

    let store = SqliteLogStore::open(&path).expect("reopen after crash");
    let head = store.tree_head().expect("tree_head").expect("a tree head");
    assert!(
        head.tree_size >= last_reported,
        "lost a committed batch: head {} < reported {last_reported}",
        head.tree_size
    );
    // Every batch up to the stored head is whole: the reported ones, and any batch
    // that committed just before the kill but was not reported yet.
    assert_eq!(head.tree_size % ENTRIES_PER_BATCH, 0, "torn batch");
    let committed = head.tree_size / ENTRIES_PER_BATCH;
    for k in 0..committed {
        assert_batch_stored(&store, &child_batch(k));
    }
    assert_eq!(
        store.tree_head().expect("tree_head"),
        child_batch(committed - 1).tree_head
    );
    // And nothing of the batch that was interrupted.
    let interrupted = child_batch(committed);
    for entry in &interrupted.entries {
        assert_eq!(store.dedup(&entry.dedup_key).expect("dedup"), None);
    }
    assert_eq!(
        store.hash_tile(1, 0).expect("hash_tile").map(|t| t.width),
        Some(committed as u16)
    );
}
