//! Storage for certcentral. Services talk to traits whose doc comments state the
//! durability contract they rely on; `sqlite` is the embedded default.
//!
//! A CT log's state is small and explicit: the latest signed tree head, the tiles
//! (hash tiles and data tiles, the latter holding every entry), the issuer
//! certificates referenced by data tiles, and two look-up indexes (leaf hash → index
//! for `get-proof-by-hash`, submission → SCT for deduplication).
//!
//! [`postgres`] holds the shared-database backend: every log, the registry and the
//! monitor of several `certcentral` processes in one PostgreSQL database.

mod columns;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod log_reads;
pub mod monitor;
#[cfg(any(test, feature = "conformance"))]
pub mod monitor_conformance;
pub mod postgres;
pub mod registry;
#[cfg(any(test, feature = "conformance"))]
pub mod registry_conformance;
pub mod shared;
pub mod sqlite;
mod sqlite_damage;
pub mod sqlite_monitor;
pub mod sqlite_registry;

pub use self::postgres::{PgConfig, PgLogStore, PgMonitorStore, PgPool, PgRegistryStore};
pub use monitor::MonitorStore;
pub use registry::RegistryStore;
pub use sqlite::SqliteLogStore;
pub use sqlite_monitor::SqliteMonitorStore;
pub use sqlite_registry::SqliteRegistryStore;

/// Storage failures. Callers map these to 5xx responses; they never mean bad input.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// A PostgreSQL failure. The message comes from the server or the client library
    /// and never contains the connection string, so a password cannot reach a log.
    #[error("postgres: {}", postgres_detail(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A connection string or setting that cannot be used (an unknown `sslmode`, an
    /// unreadable `sslrootcert`…). The message names the option, never the password.
    #[error("database settings: {0}")]
    Config(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// A database file that is damaged or lost (truncated, overwritten, emptied,
    /// deleted while its write-ahead log holds commits). Never "fixed" by starting a
    /// new database over it: the operator restores it.
    #[error(
        "database {} is damaged: {problem}; refusing to use it (the file is left as it is: restore it from a backup)",
        path.display()
    )]
    Damaged {
        path: std::path::PathBuf,
        problem: String,
    },
    /// The database was written by a newer build whose schema this one does not know;
    /// opening it could break invariants the newer build relies on.
    #[error(
        "database schema version {found} is newer than the supported version {supported}; upgrade certcentral"
    )]
    UnsupportedSchema { found: u32, supported: u32 },
    /// A sequencer lease commit found the lease gone (its database session ended, so
    /// another process may sequence the log now); nothing of the commit was kept.
    #[error("sequencer lease lost: {0}")]
    LeaseLost(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// `postgres::Error`'s own `Display` says only "db error"; the server's message
/// (severity, SQLSTATE, text) is what an operator needs.
fn postgres_detail(error: &::postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        format!(
            "{error}: {} {}: {}",
            db.severity(),
            db.code().code(),
            db.message()
        )
    } else if let Some(source) = std::error::Error::source(error) {
        format!("{error}: {source}")
    } else {
        error.to_string()
    }
}

/// A signed tree head as persisted: exactly what `get-sth` and the checkpoint serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTreeHead {
    pub tree_size: u64,
    pub timestamp_ms: u64,
    pub root: [u8; 32],
    /// TLS-encoded `DigitallySigned` over the RFC 6962 `TreeHeadSignature`.
    pub signature: Vec<u8>,
    /// The full signed-note checkpoint text served at `/checkpoint`.
    pub checkpoint: String,
}

/// What a deduplicated submission maps to: enough to return the original SCT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DedupRecord {
    pub leaf_index: u64,
    pub timestamp_ms: u64,
    /// TLS-encoded `DigitallySigned` of the SCT that was handed out.
    pub sct_signature: Vec<u8>,
}

/// One sequenced entry's index rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    /// Deduplication key of the submission (see the ctlog crate for its definition).
    pub dedup_key: [u8; 32],
    /// RFC 6962 leaf hash of the `MerkleTreeLeaf`.
    pub leaf_hash: [u8; 32],
    pub record: DedupRecord,
}

/// A tile to write. For hash tiles `level` is the tile level (0..=7); data tiles are
/// kept apart. `bytes` is the full content at `width` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileWrite {
    pub level: u8,
    pub index: u64,
    pub width: u16,
    pub bytes: Vec<u8>,
}

impl From<(merkle::TileId, Vec<u8>)> for TileWrite {
    fn from((id, bytes): (merkle::TileId, Vec<u8>)) -> Self {
        Self {
            level: id.level,
            index: id.index,
            width: id.width,
            bytes,
        }
    }
}

/// Everything one sequencing step produces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub entries: Vec<NewEntry>,
    pub hash_tiles: Vec<TileWrite>,
    /// Data tiles (`level` is ignored).
    pub data_tiles: Vec<TileWrite>,
    /// Issuer certificates by SHA-256 fingerprint; re-inserting one is a no-op.
    pub issuers: Vec<([u8; 32], Vec<u8>)>,
    /// The new tree head; its size equals the previous size plus `entries.len()`.
    pub tree_head: Option<StoredTreeHead>,
}

/// A stored tile: its content at the widest width written so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTile {
    pub width: u16,
    pub bytes: Vec<u8>,
}

/// Storage of one CT log.
///
/// Contract: when [`LogStore::commit_batch`] returns `Ok`, the whole batch is durable
/// (fsynced) and visible to every reader; if it returns `Err` or the process dies
/// during the call, none of it is — there is never a tree head whose tiles or index
/// rows are missing. The sequencer hands out SCTs only after `commit_batch` returned
/// `Ok`, and that is what makes an SCT a promise. Tiles are only ever widened:
/// writing a tile replaces a narrower version of the same tile.
pub trait LogStore: Send + Sync + 'static {
    /// The latest committed tree head, `None` for a log never written.
    fn tree_head(&self) -> Result<Option<StoredTreeHead>>;

    /// Atomically and durably applies a batch (see the trait contract).
    fn commit_batch(&self, batch: &Batch) -> Result<()>;

    /// A hash tile at tile level `level`, at the widest width stored.
    fn hash_tile(&self, level: u8, index: u64) -> Result<Option<StoredTile>>;

    /// A data tile, at the widest width stored.
    fn data_tile(&self, index: u64) -> Result<Option<StoredTile>>;

    /// Deduplication look-up.
    fn dedup(&self, key: &[u8; 32]) -> Result<Option<DedupRecord>>;

    /// Many deduplication look-ups at once (the sequencer checks a whole batch);
    /// results are in the order of `keys`. Backends override this to batch the reads.
    fn dedup_many(&self, keys: &[[u8; 32]]) -> Result<Vec<Option<DedupRecord>>> {
        keys.iter().map(|key| self.dedup(key)).collect()
    }

    /// The index of the entry with this RFC 6962 leaf hash.
    fn leaf_index(&self, leaf_hash: &[u8; 32]) -> Result<Option<u64>>;

    /// An issuer certificate by SHA-256 fingerprint of its DER.
    fn issuer(&self, fingerprint: &[u8; 32]) -> Result<Option<Vec<u8>>>;
}
