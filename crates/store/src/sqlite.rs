//! The embedded SQLite [`LogStore`]: one file, WAL mode, `synchronous=FULL`.
//!
//! Why these settings: the sequencer hands out SCTs as soon as
//! [`LogStore::commit_batch`] returns, so a commit must be on disk when it returns.
//! In WAL mode `synchronous=FULL` fsyncs the WAL at every commit (`NORMAL` would only
//! fsync at checkpoints and could lose the last commits on power loss — SCTs for
//! entries the log no longer has, which RFC 6962 §3 treats as log misbehaviour).
//! WAL also lets many read-only connections serve `get-proof-by-hash`, tiles and
//! dedup look-ups while the single writer commits.
//!
//! Concurrency: one writer connection behind a [`Mutex`] (SQLite allows one writer
//! anyway; serialising in-process avoids busy-waiting on the file lock) and a small
//! pool of read-only connections that readers borrow and give back.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::columns::{lock, to_i64, to_u64};
use crate::sqlite_damage;

use crate::{
    Batch, DedupRecord, LogStore, NewEntry, Result, StoreError, StoredTile, StoredTreeHead,
    TileWrite,
};

/// Schema migrations. `MIGRATIONS[i]` takes a database from `user_version` `i` to
/// `i + 1`; entries are only ever appended, never edited, because databases in the
/// field were created by the old text.
const MIGRATIONS: &[&str] = &[
    // Version 1: the initial schema.
    //
    // Every tree head ever committed is kept (latest = largest size): the history
    // costs a few hundred bytes per batch and answers "what did we sign at size N"
    // when investigating a monitor's report.
    //
    // Tables keyed by a hash are WITHOUT ROWID: the row lives in the primary-key
    // B-tree, so a look-up is one B-tree descent instead of two (index, then table).
    // Tile tables keep their rowid because their rows hold up to 256 KiB blobs, which
    // SQLite advises against storing in WITHOUT ROWID tables.
    "CREATE TABLE tree_heads (
        tree_size    INTEGER PRIMARY KEY,
        timestamp_ms INTEGER NOT NULL,
        root         BLOB NOT NULL,
        signature    BLOB NOT NULL,
        checkpoint   TEXT NOT NULL
    );
    CREATE TABLE hash_tiles (
        level INTEGER NOT NULL,
        idx   INTEGER NOT NULL,
        width INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    );
    CREATE TABLE data_tiles (
        idx   INTEGER PRIMARY KEY,
        width INTEGER NOT NULL,
        bytes BLOB NOT NULL
    );
    CREATE TABLE issuers (
        fingerprint BLOB PRIMARY KEY,
        der         BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE leaf_hashes (
        hash       BLOB PRIMARY KEY,
        leaf_index INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE dedup (
        key           BLOB PRIMARY KEY,
        leaf_index    INTEGER NOT NULL,
        timestamp_ms  INTEGER NOT NULL,
        sct_signature BLOB NOT NULL
    ) WITHOUT ROWID;",
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// How many idle read-only connections are kept. More concurrent readers than this
/// still work (each opens its own connection); the surplus is closed on return.
const READER_POOL_CAP: usize = 8;

/// How long a connection waits for a lock held by another connection (another
/// process, or a checkpoint) before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Statement cache per connection: the store uses about a dozen distinct statements.
const STATEMENT_CACHE: usize = 32;

/// A CT log's storage in one SQLite file. Cheap to share: wrap it in an `Arc`.
pub struct SqliteLogStore {
    path: PathBuf,
    // Field order is drop order: readers close first, so the writer is the last
    // connection and its close checkpoints and removes the WAL file.
    readers: Mutex<Vec<Connection>>,
    // Held for its `Drop`, which stops the thread before the writer closes.
    _checkpointer: Checkpointer,
    writer: Mutex<Connection>,
}

/// How often the background thread copies committed WAL pages into the database.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Checkpoints the WAL on its own thread and connection.
///
/// Why: the hash-keyed indexes take random keys, so a batch of N entries dirties
/// about N pages per index once the log is large. With SQLite's automatic
/// checkpoints the committing writer would also copy all of those into the
/// database file and fsync it, inside `commit_batch`, where SCTs are waiting.
/// A PASSIVE checkpoint from another connection does the same work concurrently
/// and never blocks the writer or readers; durability is unchanged (a commit is
/// durable once its WAL frames are fsynced).
struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::park_timeout(CHECKPOINT_INTERVAL);
                    // Errors (busy, I/O) are retried next round; the WAL keeps every
                    // committed frame until a checkpoint succeeds.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for SqliteLogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLogStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteLogStore {
    /// Opens (creating it and its parent directories if needed) the database at
    /// `path` and brings its schema up to [`SCHEMA_VERSION`].
    ///
    /// Refuses, with [`StoreError::UnsupportedSchema`], a database written by a newer
    /// build: an old binary would not know the newer invariants it might break.
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = open_wal_writer(path)?;
        writer.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // The index B-trees take random keys (hashes); a larger page cache than the
        // 2 MiB default keeps batch inserts from re-reading pages. Bounded: 64 MiB.
        writer.pragma_update(None, "cache_size", -65_536)?;
        // Checkpoints run on the background thread (see `Checkpointer`); the WAL file
        // is truncated back to this size after each checkpoint that resets it.
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        writer.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        migrate(&mut writer, MIGRATIONS)?;
        check_has_head(&writer, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
            _checkpointer: Checkpointer::start(path)?,
            writer: Mutex::new(writer),
        })
    }

    /// The database file this store was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database's schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32> {
        self.read(|conn| Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?))
    }

    /// Every committed tree head with `tree_size` in `from..=to`, smallest first.
    /// For audits: which heads were signed, not just the latest.
    pub fn tree_head_history(&self, from: u64, to: u64) -> Result<Vec<StoredTreeHead>> {
        let (from, to) = (to_i64(from)?, to_i64(to)?);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT tree_size, timestamp_ms, root, signature, checkpoint
                 FROM tree_heads WHERE tree_size BETWEEN ?1 AND ?2 ORDER BY tree_size",
            )?;
            let rows = stmt.query_map(params![from, to], raw_tree_head)?;
            let mut heads = Vec::new();
            for row in rows {
                heads.push(row?.into_tree_head()?);
            }
            Ok(heads)
        })
    }

    /// Runs `f` on a pooled read-only connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = lock(&self.readers).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => self.open_reader()?,
        };
        let result = f(&conn);
        let mut pool = lock(&self.readers);
        if pool.len() < READER_POOL_CAP {
            pool.push(conn);
        }
        result
    }

    fn open_reader(&self) -> Result<Connection> {
        // Read-only: a reader bug can never write, and SQLite skips write locking.
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }
}

fn dedup_row(conn: &Connection, key: &[u8; 32]) -> Result<Option<DedupRecord>> {
    let raw = conn
        .prepare_cached("SELECT leaf_index, timestamp_ms, sct_signature FROM dedup WHERE key = ?1")?
        .query_row(params![&key[..]], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Vec<u8>>(2)?,
            ))
        })
        .optional()?;
    raw.map(|(leaf_index, timestamp_ms, sct_signature)| {
        Ok(DedupRecord {
            leaf_index: to_u64(leaf_index)?,
            timestamp_ms: to_u64(timestamp_ms)?,
            sct_signature,
        })
    })
    .transpose()
}

/// Column `i` of `row` as an unsigned integer: SQLite stores it signed, and a
/// negative value means a corrupt row.
pub(crate) fn get_u64(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(i)?;
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, value))
}

/// Mode of the directories the stores create.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of database files and of their `-wal` and `-shm` companions.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents, each with [`PRIVATE_DIR_MODE`] (existing
/// ones are left as they are).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, PRIVATE_DIR_MODE);
    builder.create(dir)
}

/// Gives `path`, if it exists, [`PRIVATE_FILE_MODE`] when it is open to group or others.
fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(PRIVATE_FILE_MODE))
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// The database file and its WAL-mode companions.
fn database_files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

/// Opens (creating its parent directories) a database for writing, in WAL mode with
/// `synchronous=FULL`: what every SQLite store here needs for durable commits.
///
/// The files are private — they hold API-key hashes, account identities and webhook
/// signing secrets: directories are created [`PRIVATE_DIR_MODE`], the database file
/// [`PRIVATE_FILE_MODE`] before SQLite opens it (SQLite gives the `-wal` and `-shm`
/// files it creates the database file's mode), and files an older version left
/// readable by others are tightened.
pub(crate) fn open_wal_writer(path: &Path) -> Result<Connection> {
    // Before anything can create the file: a lost or damaged database is refused,
    // never replaced (see `sqlite_damage`).
    sqlite_damage::check_files(path)?;
    open_checked_writer(path).map_err(|e| sqlite_damage::classify(path, e))
}

fn open_checked_writer(path: &Path) -> Result<Connection> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        create_private_dir(parent)?;
    }
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, PRIVATE_FILE_MODE);
    drop(create.open(path)?);
    for file in &database_files(path) {
        make_private(file)?;
    }
    let writer = Connection::open(path)?;
    writer.busy_timeout(BUSY_TIMEOUT)?;
    // `journal_mode` answers with the mode actually in effect; a filesystem that
    // cannot do WAL (no shared memory) silently stays in another mode.
    let mode: String =
        writer.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt(format!(
            "{}: could not enable WAL journal mode (got {mode})",
            path.display()
        )));
    }
    // Per connection, not persisted: must be set on every writer connection.
    writer.pragma_update(None, "synchronous", "FULL")?;
    // An existing database's companions were opened, not created, just now.
    for file in &database_files(path) {
        make_private(file)?;
    }
    sqlite_damage::quick_check(&writer, path)?;
    Ok(writer)
}

/// A log's first commit stores its first tree head, and heads are never deleted: a
/// database with entries or tiles but no head lost rows, and resuming it would start
/// a new, empty tree over the old entries.
fn check_has_head(conn: &Connection, path: &Path) -> Result<()> {
    let (heads, contents): (i64, i64) = conn.query_row(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM tree_heads LIMIT 1)),
                (SELECT count(*) FROM (SELECT 1 FROM leaf_hashes LIMIT 1))
              + (SELECT count(*) FROM (SELECT 1 FROM hash_tiles LIMIT 1))
              + (SELECT count(*) FROM (SELECT 1 FROM data_tiles LIMIT 1))",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    if heads == 0 && contents > 0 {
        return Err(StoreError::Damaged {
            path: path.to_path_buf(),
            problem: "it holds log entries but no tree head (rows were deleted)".into(),
        });
    }
    Ok(())
}

/// Applies the `migrations` the database lacks (`migrations[i]` takes `user_version`
/// `i` to `i + 1`), in one transaction together with the version bump, so a crash
/// mid-migration leaves the old version intact and two processes opening the same
/// file cannot both migrate. A database newer than `migrations.len()` is refused.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<()> {
    let supported = migrations.len() as u32;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > supported {
        return Err(StoreError::UnsupportedSchema { found, supported });
    }
    for migration in &migrations[found as usize..] {
        tx.execute_batch(migration)?;
    }
    if found < supported {
        tx.pragma_update(None, "user_version", supported)?;
    }
    tx.commit()?;
    Ok(())
}

impl LogStore for SqliteLogStore {
    fn tree_head(&self) -> Result<Option<StoredTreeHead>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT tree_size, timestamp_ms, root, signature, checkpoint
                 FROM tree_heads ORDER BY tree_size DESC LIMIT 1",
            )?
            .query_row([], raw_tree_head)
            .optional()?
            .map(RawTreeHead::into_tree_head)
            .transpose()
        })
    }

    fn commit_batch(&self, batch: &Batch) -> Result<()> {
        let mut conn = lock(&self.writer);
        // IMMEDIATE takes the write lock up front, so the head check below and the
        // writes that follow see the same database (no other process can slip in).
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Any `?` below drops `tx`, which rolls back: the batch lands whole or not
        // at all (the trait's contract).
        if let Some(head) = &batch.tree_head {
            check_head_monotonic(&tx, head)?;
        }
        for entry in &batch.entries {
            insert_entry(&tx, entry)?;
        }
        for tile in &batch.hash_tiles {
            upsert_hash_tile(&tx, tile)?;
        }
        for tile in &batch.data_tiles {
            upsert_data_tile(&tx, tile)?;
        }
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO issuers (fingerprint, der) VALUES (?1, ?2)",
            )?;
            for (fingerprint, der) in &batch.issuers {
                stmt.execute(params![&fingerprint[..], der])?;
            }
        }
        if let Some(head) = &batch.tree_head {
            // Same size again (a re-signed head with a fresh timestamp, RFC 6962 §3.5)
            // replaces the older signature for that size.
            tx.prepare_cached(
                "INSERT OR REPLACE INTO tree_heads
                 (tree_size, timestamp_ms, root, signature, checkpoint)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                to_i64(head.tree_size)?,
                to_i64(head.timestamp_ms)?,
                &head.root[..],
                head.signature,
                head.checkpoint
            ])?;
        }
        // With `synchronous=FULL` this returns only after the WAL is fsynced.
        tx.commit()?;
        Ok(())
    }

    fn hash_tile(&self, level: u8, index: u64) -> Result<Option<StoredTile>> {
        let index = to_i64(index)?;
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT width, bytes FROM hash_tiles WHERE level = ?1 AND idx = ?2",
            )?
            .query_row(params![level, index], raw_tile)
            .optional()?
            .map(into_tile)
            .transpose()
        })
    }

    fn data_tile(&self, index: u64) -> Result<Option<StoredTile>> {
        let index = to_i64(index)?;
        self.read(|conn| {
            conn.prepare_cached("SELECT width, bytes FROM data_tiles WHERE idx = ?1")?
                .query_row(params![index], raw_tile)
                .optional()?
                .map(into_tile)
                .transpose()
        })
    }

    fn dedup(&self, key: &[u8; 32]) -> Result<Option<DedupRecord>> {
        self.read(|conn| dedup_row(conn, key))
    }

    fn dedup_many(&self, keys: &[[u8; 32]]) -> Result<Vec<Option<DedupRecord>>> {
        // Sorted look-ups walk the B-tree left to right, so neighbouring keys share
        // pages; one read transaction keeps the snapshot (and its locks) for all.
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_unstable_by_key(|&i| keys[i]);
        self.read(|conn| {
            let tx = conn.unchecked_transaction()?;
            let mut out = vec![None; keys.len()];
            for i in order {
                out[i] = dedup_row(&tx, &keys[i])?;
            }
            tx.finish()?;
            Ok(out)
        })
    }

    fn leaf_index(&self, leaf_hash: &[u8; 32]) -> Result<Option<u64>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT leaf_index FROM leaf_hashes WHERE hash = ?1")?
                .query_row(params![&leaf_hash[..]], |row| row.get::<_, i64>(0))
                .optional()?
                .map(to_u64)
                .transpose()
        })
    }

    fn issuer(&self, fingerprint: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT der FROM issuers WHERE fingerprint = ?1")?
                .query_row(params![&fingerprint[..]], |row| row.get(0))
                .optional()?)
        })
    }
}

/// A tree never shrinks: a head smaller than the stored one means the sequencer
/// lost state, and publishing it would be a fatal log split (RFC 6962 §5.3
/// consistency proofs could not exist). A head of the stored size must have the
/// stored root: re-signing is allowed, another root at that size is a fork.
fn check_head_monotonic(tx: &Connection, head: &StoredTreeHead) -> Result<()> {
    let current = tx
        .prepare_cached("SELECT tree_size, root FROM tree_heads ORDER BY tree_size DESC LIMIT 1")?
        .query_row([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .optional()?;
    if let Some((current, root)) = current {
        let current = to_u64(current)?;
        if head.tree_size < current {
            return Err(StoreError::Corrupt(format!(
                "tree head would shrink from size {current} to {}",
                head.tree_size
            )));
        }
        if head.tree_size == current && root != head.root {
            return Err(StoreError::Corrupt(format!(
                "a tree head of size {current} with another root is stored (a fork)"
            )));
        }
    }
    Ok(())
}

fn insert_entry(tx: &Connection, entry: &NewEntry) -> Result<()> {
    let leaf_index = to_i64(entry.record.leaf_index)?;
    // Two entries with the same leaf hash cannot occur (the leaf includes the SCT
    // timestamp, and entries differ in content or time); if one ever did, the first
    // index is as good an answer to get-proof-by-hash as the second.
    tx.prepare_cached("INSERT OR IGNORE INTO leaf_hashes (hash, leaf_index) VALUES (?1, ?2)")?
        .execute(params![&entry.leaf_hash[..], leaf_index])?;
    // A second entry under a dedup key means the sequencer logged a submission twice
    // instead of returning the first SCT: a bug, so the batch fails.
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO dedup (key, leaf_index, timestamp_ms, sct_signature)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            &entry.dedup_key[..],
            leaf_index,
            to_i64(entry.record.timestamp_ms)?,
            entry.record.sct_signature
        ])?;
    if inserted == 0 {
        return Err(StoreError::Corrupt(format!(
            "dedup key {} is already stored",
            hex(&entry.dedup_key)
        )));
    }
    Ok(())
}

/// Writes a tile unless a wider one is stored. The stored tile must be a prefix of
/// the new one (tiles only grow at their right edge); anything else — a narrower
/// tile, or same-or-wider content that disagrees with what was served — means the
/// sequencer is about to publish a different tree than before, so it is refused.
///
/// One upsert per tile: the `WHERE` clause makes the update a no-op when the
/// invariant fails, and a zero change count tells us to report it.
fn upsert_hash_tile(tx: &Connection, tile: &TileWrite) -> Result<()> {
    let index = to_i64(tile.index)?;
    let changed = tx
        .prepare_cached(
            "INSERT INTO hash_tiles (level, idx, width, bytes) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, bytes = excluded.bytes
             WHERE excluded.width >= hash_tiles.width
               AND substr(excluded.bytes, 1, length(hash_tiles.bytes)) = hash_tiles.bytes",
        )?
        .execute(params![tile.level, index, tile.width, tile.bytes])?;
    if changed == 0 {
        let stored = tx
            .prepare_cached("SELECT width FROM hash_tiles WHERE level = ?1 AND idx = ?2")?
            .query_row(params![tile.level, index], |row| row.get::<_, i64>(0))
            .optional()?;
        return Err(tile_conflict(
            &format!("hash tile {}/{}", tile.level, tile.index),
            tile.width,
            stored,
        ));
    }
    Ok(())
}

/// As [`upsert_hash_tile`], for data tiles.
fn upsert_data_tile(tx: &Connection, tile: &TileWrite) -> Result<()> {
    let index = to_i64(tile.index)?;
    let changed = tx
        .prepare_cached(
            "INSERT INTO data_tiles (idx, width, bytes) VALUES (?1, ?2, ?3)
             ON CONFLICT (idx) DO UPDATE SET width = excluded.width, bytes = excluded.bytes
             WHERE excluded.width >= data_tiles.width
               AND substr(excluded.bytes, 1, length(data_tiles.bytes)) = data_tiles.bytes",
        )?
        .execute(params![index, tile.width, tile.bytes])?;
    if changed == 0 {
        let stored = tx
            .prepare_cached("SELECT width FROM data_tiles WHERE idx = ?1")?
            .query_row(params![index], |row| row.get::<_, i64>(0))
            .optional()?;
        return Err(tile_conflict(
            &format!("data tile {}", tile.index),
            tile.width,
            stored,
        ));
    }
    Ok(())
}

fn tile_conflict(what: &str, new_width: u16, stored_width: Option<i64>) -> StoreError {
    match stored_width {
        Some(stored) if i64::from(new_width) < stored => StoreError::Corrupt(format!(
            "{what}: refusing to narrow from width {stored} to {new_width}"
        )),
        Some(stored) => StoreError::Corrupt(format!(
            "{what}: width {new_width} content does not extend the stored width {stored}"
        )),
        None => StoreError::Corrupt(format!("{what}: upsert changed nothing")),
    }
}

/// A tree-head row before its columns are checked.
struct RawTreeHead {
    tree_size: i64,
    timestamp_ms: i64,
    root: Vec<u8>,
    signature: Vec<u8>,
    checkpoint: String,
}

fn raw_tree_head(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawTreeHead> {
    Ok(RawTreeHead {
        tree_size: row.get(0)?,
        timestamp_ms: row.get(1)?,
        root: row.get(2)?,
        signature: row.get(3)?,
        checkpoint: row.get(4)?,
    })
}

impl RawTreeHead {
    fn into_tree_head(self) -> Result<StoredTreeHead> {
        let root = <[u8; 32]>::try_from(self.root.as_slice()).map_err(|_| {
            StoreError::Corrupt(format!(
                "tree head {}: root is {} bytes, not 32",
                self.tree_size,
                self.root.len()
            ))
        })?;
        Ok(StoredTreeHead {
            tree_size: to_u64(self.tree_size)?,
            timestamp_ms: to_u64(self.timestamp_ms)?,
            root,
            signature: self.signature,
            checkpoint: self.checkpoint,
        })
    }
}

fn raw_tile(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Vec<u8>)> {
    Ok((row.get(0)?, row.get(1)?))
}

fn into_tile((width, bytes): (i64, Vec<u8>)) -> Result<StoredTile> {
    let width = u16::try_from(width)
        .map_err(|_| StoreError::Corrupt(format!("stored tile width {width} out of range")))?;
    Ok(StoredTile { width, bytes })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `LogStore` backend must pass the shared contract checks.
    #[test]
    fn sqlite_store_conforms_to_the_log_store_contract() {
        let dir = tempfile::tempdir().expect("tempdir");
        let counter = std::sync::atomic::AtomicUsize::new(0);
        crate::conformance::run_all(|| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            SqliteLogStore::open(&dir.path().join(format!("log-{n}.db"))).expect("open")
        });
    }

    #[test]
    fn store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<SqliteLogStore>();
    }
}
