//! [`LogStore`] on PostgreSQL: every CT log of a deployment in one database, keyed by
//! log name, written by whichever process holds a log's sequencer (and, should two
//! ever believe they do, refusing the second one's conflicting writes).
//!
//! Fencing: `commit_batch` first locks the log's row in `ct_logs` (its current tree
//! head) with `FOR UPDATE`, so commits of one log run one at a time across processes
//! and each sees the head the previous one left. A head that shrinks, or has the
//! stored size with another root, fails the whole transaction; so do a tile that does
//! not extend the stored one and an entry whose leaf index or dedup key is stored
//! (`ct_entries` is keyed by `(log, leaf_index)` and unique on `(log, dedup_key)`).
//! Two sequencers racing on the same log therefore cannot both extend it: the second
//! one's batch reuses leaf indexes and fails as a unit.

use ::postgres::Client;

use super::{
    Finish, PgPool, Statements, migrate, stored_version, to_hash, to_i64, to_u64, to_width,
};
use crate::{
    Batch, DedupRecord, LogStore, NewEntry, Result, StoreError, StoredTile, StoredTreeHead,
    TileWrite,
};

/// The `ct_` tables' migrations; `MIGRATIONS[i]` takes version `i` to `i + 1`. Only
/// ever appended: databases in the field were created by the old text.
const MIGRATIONS: &[&str] = &[
    // Version 1: the initial schema.
    //
    // `ct_logs` holds one row per log with its latest tree head: the row that
    // `commit_batch` locks. `ct_tree_heads` keeps every head ever committed, for
    // audits ("what did we sign at size N"). One `ct_entries` row per leaf serves both
    // look-ups (dedup key → SCT, leaf hash → index) and makes leaf indexes unique.
    //
    // Tiles are stored uncompressed (`EXTERNAL`): hash tiles are random bytes, and a
    // data tile is rewritten whole each time it widens, so compressing it again on
    // every commit would cost CPU in the path where SCTs wait, for little disk.
    "CREATE TABLE ct_logs (
        log          TEXT PRIMARY KEY,
        tree_size    BIGINT,
        timestamp_ms BIGINT,
        root         BYTEA,
        signature    BYTEA,
        checkpoint   TEXT,
        CHECK ((tree_size IS NULL) = (root IS NULL))
    );
    CREATE TABLE ct_tree_heads (
        log          TEXT NOT NULL REFERENCES ct_logs (log),
        tree_size    BIGINT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        root         BYTEA NOT NULL,
        signature    BYTEA NOT NULL,
        checkpoint   TEXT NOT NULL,
        PRIMARY KEY (log, tree_size)
    );
    CREATE TABLE ct_hash_tiles (
        log   TEXT NOT NULL,
        level SMALLINT NOT NULL,
        idx   BIGINT NOT NULL,
        width INTEGER NOT NULL,
        bytes BYTEA NOT NULL,
        PRIMARY KEY (log, level, idx)
    );
    ALTER TABLE ct_hash_tiles ALTER COLUMN bytes SET STORAGE EXTERNAL;
    CREATE TABLE ct_data_tiles (
        log   TEXT NOT NULL,
        idx   BIGINT NOT NULL,
        width INTEGER NOT NULL,
        bytes BYTEA NOT NULL,
        PRIMARY KEY (log, idx)
    );
    ALTER TABLE ct_data_tiles ALTER COLUMN bytes SET STORAGE EXTERNAL;
    CREATE TABLE ct_issuers (
        log         TEXT NOT NULL,
        fingerprint BYTEA NOT NULL,
        der         BYTEA NOT NULL,
        PRIMARY KEY (log, fingerprint)
    );
    CREATE TABLE ct_entries (
        log           TEXT NOT NULL,
        leaf_index    BIGINT NOT NULL,
        dedup_key     BYTEA NOT NULL,
        leaf_hash     BYTEA NOT NULL,
        timestamp_ms  BIGINT NOT NULL,
        sct_signature BYTEA NOT NULL,
        PRIMARY KEY (log, leaf_index),
        UNIQUE (log, dedup_key)
    );
    CREATE INDEX ct_entries_leaf_hash ON ct_entries (log, leaf_hash);",
    // Version 2: the submission queue of scale-out sequencing (`crate::shared`).
    //
    // Every process queues what it accepted; the lease holder takes rows oldest
    // first (`id` order) and deletes them in the transaction that commits their
    // entries. `UNIQUE (log, dedup_key)` makes a retried submission a no-op while it
    // waits. `queued_ms` is the server's clock, to watch how long submissions wait.
    "CREATE TABLE ct_queue (
        log       TEXT NOT NULL,
        id        BIGINT GENERATED ALWAYS AS IDENTITY,
        dedup_key BYTEA NOT NULL,
        payload   BYTEA NOT NULL,
        queued_ms BIGINT NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT,
        PRIMARY KEY (log, id),
        UNIQUE (log, dedup_key)
    );",
];

/// The `ct_` schema version this build writes and understands.
pub const LOG_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

const COMPONENT: &str = "ct_log";

/// One CT log's storage in a shared PostgreSQL database. Cheap to share behind an
/// `Arc`; several handles (in one process or many) may name the same log. It is also
/// the log's [`crate::shared::SharedSequencing`], so one `Arc<PgLogStore>` serves as
/// both the `LogStore` and the queue and lease of the log.
pub struct PgLogStore {
    pub(super) pool: PgPool,
    pub(super) log: String,
    pub(super) lease_slot: super::shared::LeaseSlot,
}

impl std::fmt::Debug for PgLogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLogStore")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

const SELECT_HEAD: &str =
    "SELECT tree_size, timestamp_ms, root, signature, checkpoint FROM ct_logs WHERE log = $1";
const LOCK_HEAD: &str = "SELECT tree_size, root FROM ct_logs WHERE log = $1 FOR UPDATE";
const INSERT_ENTRIES: &str = "INSERT INTO ct_entries
        (log, leaf_index, dedup_key, leaf_hash, timestamp_ms, sct_signature)
    SELECT $1, * FROM UNNEST($2::BIGINT[], $3::BYTEA[], $4::BYTEA[], $5::BIGINT[], $6::BYTEA[])
    ON CONFLICT DO NOTHING";
const UPSERT_HASH_TILE: &str = "INSERT INTO ct_hash_tiles AS t (log, level, idx, width, bytes)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (log, level, idx) DO UPDATE SET width = EXCLUDED.width, bytes = EXCLUDED.bytes
    WHERE EXCLUDED.width >= t.width
      AND substring(EXCLUDED.bytes FROM 1 FOR length(t.bytes)) = t.bytes";
const HASH_TILE_WIDTH: &str =
    "SELECT width FROM ct_hash_tiles WHERE log = $1 AND level = $2 AND idx = $3";
const UPSERT_DATA_TILE: &str = "INSERT INTO ct_data_tiles AS t (log, idx, width, bytes)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (log, idx) DO UPDATE SET width = EXCLUDED.width, bytes = EXCLUDED.bytes
    WHERE EXCLUDED.width >= t.width
      AND substring(EXCLUDED.bytes FROM 1 FOR length(t.bytes)) = t.bytes";
const DATA_TILE_WIDTH: &str = "SELECT width FROM ct_data_tiles WHERE log = $1 AND idx = $2";
const INSERT_ISSUERS: &str = "INSERT INTO ct_issuers (log, fingerprint, der)
    SELECT $1, * FROM UNNEST($2::BYTEA[], $3::BYTEA[])
    ON CONFLICT DO NOTHING";
const UPDATE_HEAD: &str = "UPDATE ct_logs
    SET tree_size = $2, timestamp_ms = $3, root = $4, signature = $5, checkpoint = $6
    WHERE log = $1";
const UPSERT_HEAD_HISTORY: &str = "INSERT INTO ct_tree_heads
        (log, tree_size, timestamp_ms, root, signature, checkpoint)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (log, tree_size) DO UPDATE SET timestamp_ms = EXCLUDED.timestamp_ms,
        root = EXCLUDED.root, signature = EXCLUDED.signature, checkpoint = EXCLUDED.checkpoint";

impl PgLogStore {
    /// Opens the log named `log` in the pool's database, bringing the `ct_` tables up
    /// to [`LOG_SCHEMA_VERSION`] and creating the log's row if it is new. Refuses a
    /// newer schema with [`StoreError::UnsupportedSchema`].
    pub fn open(pool: &PgPool, log: &str) -> Result<Self> {
        migrate(pool, COMPONENT, MIGRATIONS)?;
        pool.write(|client, _| {
            client.execute(
                "INSERT INTO ct_logs (log) VALUES ($1) ON CONFLICT (log) DO NOTHING",
                &[&log],
            )?;
            Ok(Finish::Commit(()))
        })?;
        Ok(Self {
            pool: pool.clone(),
            log: log.to_owned(),
            lease_slot: Default::default(),
        })
    }

    /// The log's name, its key in every `ct_` table.
    pub fn log_name(&self) -> &str {
        &self.log
    }

    /// The `ct_` tables' schema version in the database.
    pub fn schema_version(&self) -> Result<u32> {
        self.pool
            .read(|conn| stored_version(&mut conn.client, COMPONENT))
    }

    /// Every committed tree head with `tree_size` in `from..=to`, smallest first.
    pub fn tree_head_history(&self, from: u64, to: u64) -> Result<Vec<StoredTreeHead>> {
        let (from, to) = (to_i64(from)?, to_i64(to)?);
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(
                "SELECT tree_size, timestamp_ms, root, signature, checkpoint
                 FROM ct_tree_heads WHERE log = $1 AND tree_size BETWEEN $2 AND $3
                 ORDER BY tree_size",
            )?;
            let mut heads = Vec::new();
            for row in client.query(&st, &[&self.log, &from, &to])? {
                heads.extend(tree_head_row(&row)?);
            }
            Ok(heads)
        })
    }
}

/// A tree-head row (`tree_size, timestamp_ms, root, signature, checkpoint`); `None`
/// while the log has no head.
fn tree_head_row(row: &::postgres::Row) -> Result<Option<StoredTreeHead>> {
    let Some(tree_size) = row.try_get::<_, Option<i64>>(0)? else {
        return Ok(None);
    };
    let missing = || StoreError::Corrupt(format!("tree head {tree_size}: a column is NULL"));
    let timestamp_ms: i64 = row.try_get::<_, Option<i64>>(1)?.ok_or_else(missing)?;
    let root: Vec<u8> = row.try_get::<_, Option<Vec<u8>>>(2)?.ok_or_else(missing)?;
    let signature: Vec<u8> = row.try_get::<_, Option<Vec<u8>>>(3)?.ok_or_else(missing)?;
    let checkpoint: String = row.try_get::<_, Option<String>>(4)?.ok_or_else(missing)?;
    Ok(Some(StoredTreeHead {
        tree_size: to_u64(tree_size)?,
        timestamp_ms: to_u64(timestamp_ms)?,
        root: to_hash(&root, &format!("tree head {tree_size} root"))?,
        signature,
        checkpoint,
    }))
}

fn tile_row(row: &::postgres::Row) -> Result<StoredTile> {
    Ok(StoredTile {
        width: to_width(row.try_get(0)?)?,
        bytes: row.try_get(1)?,
    })
}

fn dedup_record(row: &::postgres::Row, offset: usize) -> Result<DedupRecord> {
    Ok(DedupRecord {
        leaf_index: to_u64(row.try_get(offset)?)?,
        timestamp_ms: to_u64(row.try_get(offset + 1)?)?,
        sct_signature: row.try_get(offset + 2)?,
    })
}

/// The head check: a tree never shrinks (RFC 6962 §5.3 consistency proofs could
/// not exist — a fatal log split), and a second head of the stored size must have
/// the stored root (re-signing with a fresh timestamp is allowed; another root at
/// the same size is a fork). Runs after the row lock, so it sees the latest head.
fn check_head(log: &str, stored: &::postgres::Row, head: &StoredTreeHead) -> Result<()> {
    let Some(size) = stored.try_get::<_, Option<i64>>(0)? else {
        return Ok(());
    };
    let size = to_u64(size)?;
    if head.tree_size < size {
        return Err(StoreError::Corrupt(format!(
            "log {log}: tree head would shrink from size {size} to {}",
            head.tree_size
        )));
    }
    if head.tree_size == size {
        let root: Option<Vec<u8>> = stored.try_get(1)?;
        if root.as_deref() != Some(&head.root[..]) {
            return Err(StoreError::Corrupt(format!(
                "log {log}: a tree head of size {size} with another root is stored (a fork)"
            )));
        }
    }
    Ok(())
}

fn insert_entries(
    log: &str,
    client: &mut Client,
    st: &mut Statements,
    entries: &[NewEntry],
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    // Repeats inside the batch are named precisely here; repeats of stored rows
    // are caught by the constraints below.
    let mut keys = std::collections::HashSet::with_capacity(entries.len());
    let mut indexes = std::collections::HashSet::with_capacity(entries.len());
    for entry in entries {
        if !keys.insert(entry.dedup_key) {
            return Err(StoreError::Corrupt(format!(
                "log {log}: dedup key {} twice in one batch",
                hex(&entry.dedup_key)
            )));
        }
        if !indexes.insert(entry.record.leaf_index) {
            return Err(StoreError::Corrupt(format!(
                "log {log}: leaf index {} twice in one batch",
                entry.record.leaf_index
            )));
        }
    }
    // One statement for the whole batch (arrays, not one round trip per entry).
    let leaf_indexes = entries
        .iter()
        .map(|e| to_i64(e.record.leaf_index))
        .collect::<Result<Vec<_>>>()?;
    let timestamps = entries
        .iter()
        .map(|e| to_i64(e.record.timestamp_ms))
        .collect::<Result<Vec<_>>>()?;
    let dedup_keys: Vec<&[u8]> = entries.iter().map(|e| &e.dedup_key[..]).collect();
    let leaf_hashes: Vec<&[u8]> = entries.iter().map(|e| &e.leaf_hash[..]).collect();
    let signatures: Vec<&[u8]> = entries
        .iter()
        .map(|e| e.record.sct_signature.as_slice())
        .collect();
    let stmt = st.get(client, INSERT_ENTRIES)?;
    let inserted = client.execute(
        &stmt,
        &[
            &log,
            &leaf_indexes,
            &dedup_keys,
            &leaf_hashes,
            &timestamps,
            &signatures,
        ],
    )?;
    if inserted != entries.len() as u64 {
        // A second entry under a stored dedup key means the sequencer logged a
        // submission twice instead of returning the first SCT; a stored leaf index
        // means another sequencer already extended the log. Either way the batch
        // must not land.
        return Err(StoreError::Corrupt(format!(
            "log {log}: {} of {} entries have a leaf index or dedup key that is already stored",
            entries.len() as u64 - inserted,
            entries.len()
        )));
    }
    Ok(())
}

/// Writes a tile unless the stored one is wider or is not a prefix of it (tiles
/// only grow at their right edge; anything else would publish a different tree).
/// The upsert's `WHERE` makes it a no-op when the invariant fails, and a zero row
/// count tells us to report it.
fn upsert_tile(
    log: &str,
    client: &mut Client,
    st: &mut Statements,
    tile: &TileWrite,
    hash_level: Option<u8>,
) -> Result<()> {
    let index = to_i64(tile.index)?;
    let width = i32::from(tile.width);
    let changed = match hash_level {
        Some(level) => {
            let stmt = st.get(client, UPSERT_HASH_TILE)?;
            client.execute(
                &stmt,
                &[&log, &i16::from(level), &index, &width, &tile.bytes],
            )?
        }
        None => {
            let stmt = st.get(client, UPSERT_DATA_TILE)?;
            client.execute(&stmt, &[&log, &index, &width, &tile.bytes])?
        }
    };
    if changed == 1 {
        return Ok(());
    }
    let (what, stored) = match hash_level {
        Some(level) => {
            let stmt = st.get(client, HASH_TILE_WIDTH)?;
            let row = client.query_opt(&stmt, &[&log, &i16::from(level), &index])?;
            (format!("hash tile {level}/{}", tile.index), row)
        }
        None => {
            let stmt = st.get(client, DATA_TILE_WIDTH)?;
            let row = client.query_opt(&stmt, &[&log, &index])?;
            (format!("data tile {}", tile.index), row)
        }
    };
    let stored: Option<i32> = stored.map(|row| row.try_get(0)).transpose()?;
    Err(match stored {
        Some(stored) if width < stored => StoreError::Corrupt(format!(
            "log {log}: {what}: refusing to narrow from width {stored} to {width}"
        )),
        Some(stored) => StoreError::Corrupt(format!(
            "log {log}: {what}: width {width} content does not extend the stored width {stored}"
        )),
        None => StoreError::Corrupt(format!("log {log}: {what}: upsert changed nothing")),
    })
}

impl LogStore for PgLogStore {
    fn tree_head(&self) -> Result<Option<StoredTreeHead>> {
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(SELECT_HEAD)?;
            match client.query_opt(&st, &[&self.log])? {
                Some(row) => tree_head_row(&row),
                None => Ok(None),
            }
        })
    }

    fn commit_batch(&self, batch: &Batch) -> Result<()> {
        self.pool.write(|client, st| {
            write_batch(&self.log, client, st, batch)?;
            // COMMIT returns once the WAL is flushed (synchronous_commit=on).
            Ok(Finish::Commit(()))
        })
    }

    fn hash_tile(&self, level: u8, index: u64) -> Result<Option<StoredTile>> {
        let index = to_i64(index)?;
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(
                "SELECT width, bytes FROM ct_hash_tiles WHERE log = $1 AND level = $2 AND idx = $3",
            )?;
            client
                .query_opt(&st, &[&self.log, &i16::from(level), &index])?
                .map(|row| tile_row(&row))
                .transpose()
        })
    }

    fn data_tile(&self, index: u64) -> Result<Option<StoredTile>> {
        let index = to_i64(index)?;
        self.pool.read(|conn| {
            let (client, st) =
                conn.prepare("SELECT width, bytes FROM ct_data_tiles WHERE log = $1 AND idx = $2")?;
            client
                .query_opt(&st, &[&self.log, &index])?
                .map(|row| tile_row(&row))
                .transpose()
        })
    }

    fn dedup(&self, key: &[u8; 32]) -> Result<Option<DedupRecord>> {
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(
                "SELECT leaf_index, timestamp_ms, sct_signature FROM ct_entries
                 WHERE log = $1 AND dedup_key = $2",
            )?;
            client
                .query_opt(&st, &[&self.log, &&key[..]])?
                .map(|row| dedup_record(&row, 0))
                .transpose()
        })
    }

    fn dedup_many(&self, keys: &[[u8; 32]]) -> Result<Vec<Option<DedupRecord>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One round trip for the whole batch, answers mapped back by key.
        let wanted: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let found = self.pool.read(|conn| {
            let (client, st) = conn.prepare(
                "SELECT dedup_key, leaf_index, timestamp_ms, sct_signature FROM ct_entries
                 WHERE log = $1 AND dedup_key = ANY($2)",
            )?;
            let mut found = std::collections::HashMap::new();
            for row in client.query(&st, &[&self.log, &wanted])? {
                let key: Vec<u8> = row.try_get(0)?;
                found.insert(to_hash(&key, "dedup key")?, dedup_record(&row, 1)?);
            }
            Ok(found)
        })?;
        Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
    }

    fn leaf_index(&self, leaf_hash: &[u8; 32]) -> Result<Option<u64>> {
        self.pool.read(|conn| {
            // Two entries with one leaf hash cannot occur (the leaf includes the SCT
            // timestamp); if one ever did, the first index answers get-proof-by-hash.
            let (client, st) = conn.prepare(
                "SELECT leaf_index FROM ct_entries WHERE log = $1 AND leaf_hash = $2
                 ORDER BY leaf_index LIMIT 1",
            )?;
            client
                .query_opt(&st, &[&self.log, &&leaf_hash[..]])?
                .map(|row| to_u64(row.try_get(0)?))
                .transpose()
        })
    }

    fn issuer(&self, fingerprint: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        self.pool.read(|conn| {
            let (client, st) =
                conn.prepare("SELECT der FROM ct_issuers WHERE log = $1 AND fingerprint = $2")?;
            Ok(client
                .query_opt(&st, &[&self.log, &&fingerprint[..]])?
                .map(|row| row.try_get(0))
                .transpose()?)
        })
    }
}

/// The body of [`LogStore::commit_batch`], inside a transaction the caller opened on
/// `client` and commits: through the pool for `commit_batch`, on the lease's own
/// connection for a [`crate::shared::SequencerLease::commit`].
pub(super) fn write_batch(
    log: &str,
    client: &mut Client,
    st: &mut Statements,
    batch: &Batch,
) -> Result<()> {
    // The lock first: from here on no other writer of this log runs, and every
    // statement below (READ COMMITTED) sees what the previous writer committed.
    let stmt = st.get(client, LOCK_HEAD)?;
    let stored = client
        .query_opt(&stmt, &[&log])?
        .ok_or_else(|| StoreError::Corrupt(format!("log {log} has no row in ct_logs")))?;
    if let Some(head) = &batch.tree_head {
        check_head(log, &stored, head)?;
    }
    insert_entries(log, client, st, &batch.entries)?;
    for tile in &batch.hash_tiles {
        upsert_tile(log, client, st, tile, Some(tile.level))?;
    }
    for tile in &batch.data_tiles {
        upsert_tile(log, client, st, tile, None)?;
    }
    if !batch.issuers.is_empty() {
        let fingerprints: Vec<&[u8]> = batch.issuers.iter().map(|(fp, _)| &fp[..]).collect();
        let ders: Vec<&[u8]> = batch.issuers.iter().map(|(_, der)| &der[..]).collect();
        let stmt = st.get(client, INSERT_ISSUERS)?;
        client.execute(&stmt, &[&log, &fingerprints, &ders])?;
    }
    if let Some(head) = &batch.tree_head {
        let size = to_i64(head.tree_size)?;
        let timestamp = to_i64(head.timestamp_ms)?;
        let root = &head.root[..];
        let params: [&(dyn ::postgres::types::ToSql + Sync); 6] = [
            &log,
            &size,
            &timestamp,
            &root,
            &head.signature,
            &head.checkpoint,
        ];
        let stmt = st.get(client, UPDATE_HEAD)?;
        client.execute(&stmt, &params)?;
        // Same size again (a re-signed head with a fresh timestamp, RFC 6962
        // §3.5) replaces the older signature for that size.
        let stmt = st.get(client, UPSERT_HEAD_HISTORY)?;
        client.execute(&stmt, &params)?;
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
