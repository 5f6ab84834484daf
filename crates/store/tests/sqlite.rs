//! SQLite-specific behaviour: persistence across reopen, schema versioning, bulk
//! load, concurrent readers, and the commit time of a realistic batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use store::conformance::{assert_batch_stored, realistic_batch};
use store::sqlite::SCHEMA_VERSION;
use store::{Batch, LogStore, SqliteLogStore, StoreError};

/// Two handles on one file, as two processes would open it: neither can shrink or
/// fork the tree the other committed.
#[test]
fn second_handle_cannot_shrink_or_fork_the_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.db");
    let a = SqliteLogStore::open(&path).expect("open a");
    let b = SqliteLogStore::open(&path).expect("open b");
    store::conformance::second_handle_cannot_shrink_or_fork_the_tree(&a, &b);
}

#[test]
fn reopen_after_drop_sees_committed_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/dirs/log.db");
    let batch = realistic_batch(0, 300, 100);
    {
        let store = SqliteLogStore::open(&path).expect("open creates parent directories");
        store.commit_batch(&batch).expect("commit");
    }
    let store = SqliteLogStore::open(&path).expect("reopen");
    assert_eq!(store.tree_head().expect("tree_head"), batch.tree_head);
    assert_batch_stored(&store, &batch);
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
}

#[test]
fn database_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.db");
    drop(SqliteLogStore::open(&path).expect("open"));
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .expect("bump version");
    drop(conn);
    let err = SqliteLogStore::open(&path).expect_err("newer schema must be refused");
    assert!(
        matches!(err, StoreError::UnsupportedSchema { found, supported }
            if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn database_is_in_wal_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.db");
    let _store = SqliteLogStore::open(&path).expect("open");
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("mode");
    assert_eq!(mode.to_ascii_lowercase(), "wal");
}

#[test]
fn tree_head_history_keeps_every_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteLogStore::open(&dir.path().join("log.db")).expect("open");
    for i in 0..5 {
        store
            .commit_batch(&realistic_batch(i * 10, 10, 50))
            .expect("commit");
    }
    let sizes: Vec<u64> = store
        .tree_head_history(15, 1000)
        .expect("history")
        .iter()
        .map(|h| h.tree_size)
        .collect();
    assert_eq!(sizes, [20, 30, 40, 50]);
}

/// 50 batches of 1,000 entries, then every look-up of every batch.
#[test]
fn fifty_batches_of_a_thousand_entries_all_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteLogStore::open(&dir.path().join("log.db")).expect("open");
    let batches: Vec<Batch> = (0..50)
        .map(|i| realistic_batch(i * 1000, 1000, 64))
        .collect();
    for batch in &batches {
        store.commit_batch(batch).expect("commit");
    }
    assert_eq!(
        store.tree_head().expect("tree_head").map(|h| h.tree_size),
        Some(50_000)
    );
    for batch in &batches {
        assert_batch_stored(&store, batch);
    }
    let started = Instant::now();
    for index in 0..50_000 {
        let hash = store::conformance::sample_entry(index).leaf_hash;
        assert_eq!(store.leaf_index(&hash).expect("leaf_index"), Some(index));
    }
    let elapsed = started.elapsed();
    println!(
        "50000 leaf_index look-ups on one thread: {elapsed:?} ({:.0}/s)",
        50_000.0 / elapsed.as_secs_f64()
    );
    // Every full tile is at full width.
    for tile in 0..50_000 / 256 {
        assert_eq!(
            store
                .hash_tile(0, tile)
                .expect("hash_tile")
                .map(|t| t.width),
            Some(256)
        );
        assert_eq!(
            store.data_tile(tile).expect("data_tile").map(|t| t.width),
            Some(256)
        );
    }
}

/// The sequencer's steady state: ~3,000 entries, ~12 full 8 KiB hash tiles and ~12
/// full ~256 KiB data tiles per batch. Prints the commit time (run with
/// `--nocapture`); no assertion, timing depends on the machine.
#[test]
fn commit_time_of_a_three_thousand_entry_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteLogStore::open(&dir.path().join("log.db")).expect("open");
    let mut times = Vec::new();
    for i in 0..5 {
        // Start mid-tile so both edges carry partial tiles, as in production.
        let batch = realistic_batch(100 + i * 3000, 3000, 1024);
        let bytes: usize = batch
            .data_tiles
            .iter()
            .chain(&batch.hash_tiles)
            .map(|t| t.bytes.len())
            .sum();
        let started = Instant::now();
        store.commit_batch(&batch).expect("commit");
        let elapsed = started.elapsed();
        println!(
            "commit of 3000 entries, {} hash tiles, {} data tiles ({:.1} MiB): {:?}",
            batch.hash_tiles.len(),
            batch.data_tiles.len(),
            bytes as f64 / (1024.0 * 1024.0),
            elapsed
        );
        times.push(elapsed);
    }
    times.sort();
    println!("median commit time: {:?}", times[times.len() / 2]);
}

/// Readers on several threads, while a writer commits, must never see a tree head
/// whose entries are missing (the trait contract), and must not fail.
#[test]
fn concurrent_readers_see_consistent_state_during_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteLogStore::open(&dir.path().join("log.db")).expect("open"));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut reads = 0u64;
                let mut last_size = 0;
                while !done.load(Ordering::Relaxed) {
                    let Some(head) = store.tree_head().expect("tree_head") else {
                        continue;
                    };
                    assert!(head.tree_size >= last_size, "tree head went backwards");
                    last_size = head.tree_size;
                    for index in [0, head.tree_size / 2, head.tree_size - 1] {
                        let entry = store::conformance::sample_entry(index);
                        assert_eq!(
                            store.leaf_index(&entry.leaf_hash).expect("leaf"),
                            Some(index)
                        );
                        assert_eq!(
                            store.dedup(&entry.dedup_key).expect("dedup"),
                            Some(entry.record)
                        );
                    }
                    let last_tile = (head.tree_size - 1) / 256;
                    let tile = store
                        .data_tile(last_tile)
                        .expect("data_tile")
                        .expect("edge tile");
                    assert!(u64::from(tile.width) > (head.tree_size - 1) % 256);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for i in 0..40 {
        store
            .commit_batch(&realistic_batch(i * 500, 500, 64))
            .expect("commit");
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        let reads = reader.join().expect("reader panicked");
        assert!(reads > 0);
    }
}

/// The mode bits of `path` (permissions only).
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every SQLite store keeps its files private — the registry's and the monitor's hold
/// API-key hashes and webhook signing secrets: created directories 0700, the database
/// and its `-wal` and `-shm` files 0600.
#[cfg(unix)]
#[test]
fn database_files_and_created_directories_are_private() {
    use store::registry_conformance::push_sample;
    use store::{SqliteMonitorStore, SqliteRegistryStore};
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a").join("b");
    let stores: Vec<std::path::PathBuf> = vec![
        nested.join("registry.db"),
        nested.join("monitor.db"),
        nested.join("log.db"),
    ];
    let registry = SqliteRegistryStore::open(&stores[0]).unwrap();
    push_sample(&registry, 1);
    let monitor = SqliteMonitorStore::open(&stores[1]).unwrap();
    let log = SqliteLogStore::open(&stores[2]).unwrap();
    log.commit_batch(&realistic_batch(0, 2, 1)).unwrap();
    for created in [dir.path().join("a"), nested.clone()] {
        assert_eq!(mode(&created), 0o700, "{}", created.display());
    }
    for db in &stores {
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
    drop((registry, monitor, log));
}

/// Files an older version created readable by others are tightened at open.
#[cfg(unix)]
#[test]
fn loose_database_files_are_tightened_at_open() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    drop(store::SqliteRegistryStore::open(&path).unwrap());
    let wal = dir.path().join("registry.db-wal");
    std::fs::write(&wal, b"").unwrap();
    for file in [&path, &wal] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let _reopened = store::SqliteRegistryStore::open(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&wal), 0o600);
}
