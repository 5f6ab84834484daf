//! Artifact-signature transparency logs: the companion of the code-signing CA that
//! records *signatures*, so that anyone can see every signature an identity made.
//!
//! An [`ArtifactLog`] takes entries that `pki::rekor` has parsed and checked (the
//! signature verifies with the key or certificate in the entry) as canonical bodies,
//! and hands them to its sequencer thread, which every `sequence_interval` integrates
//! the waiting batch: one de-duplication look-up, the leaves appended to the tree
//! (`merkle::LogEdge`, the engine the CT and registry logs use), one Signed Entry
//! Timestamp per entry for the v1 API, one signed checkpoint, and one durable storage
//! transaction (`store::LogStore`, the CT logs' contract). Only then does a submitter
//! get its answer, so every SET and inclusion proof is a promise storage already keeps.
//!
//! A log speaks one API: [`ApiVersion::V1`] (Rekor's `/api/v1`, answered with the
//! entry, its SET and an inclusion proof) or [`ApiVersion::V2`] (rekor-tiles: a
//! `TransparencyLogEntry` and tlog-tiles reads). Both keep each leaf's canonical body
//! in tlog-tiles entry bundles; the leaf hash is the entry's UUID.

pub mod http_v1;
mod http_v2;
mod reads;
mod sequencer;

use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use clock::{Clock, SystemClock};
use pki::keys::EcdsaP256Signer;
use pki::rekor::RekorError;
use store::log_reads::{ReadError, RecentLeaves, TileCache};
use store::{LogStore, StoreError, StoredTreeHead};

pub use reads::StoredEntry;

/// Default number of entries that may wait for the next batch before the log answers
/// 503; bounds memory under overload (a canonical body is at most 64 KiB, typically
/// 1–3 KiB).
pub const DEFAULT_POOL_SIZE: usize = 16 * 1024;

/// Default time between batches. Clients wait for their entry's batch, so this is
/// the floor of a submission's latency; 50 ms keeps it well under a TLS handshake
/// while a batch still amortises its checkpoint signature and fsync over many entries.
pub const DEFAULT_SEQUENCE_INTERVAL: Duration = Duration::from_millis(50);

/// Default number of expanded hash tiles cached for proofs (~16 KiB each).
pub const DEFAULT_TILE_CACHE: usize = 4096;

/// Recently sequenced entries whose UUID → index is kept in memory.
pub const RECENT_LEAVES: usize = 64 * 1024;

/// Largest canonical body a log stores: a tlog-tiles entry is framed by a `uint16`
/// length.
pub const MAX_BODY_BYTES: usize = u16::MAX as usize;

/// Which Rekor API a log serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    /// Rekor's `/api/v1`: entries answered with a SET and an inclusion proof.
    V1,
    /// rekor-tiles' `/api/v2`: a `TransparencyLogEntry`, reads as tlog-tiles.
    V2,
}

impl ApiVersion {
    /// The `majorApiVersion` of the sigstore signing config.
    pub fn major(self) -> u32 {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }
}

/// Everything that defines one artifact log.
pub struct ArtifactLogConfig {
    /// Short name, used in URLs (`/rekor/{name}/`).
    pub name: String,
    /// Checkpoint origin and note key name, e.g. `rekor.example.com/rekor/v1`.
    pub origin: String,
    pub signer: EcdsaP256Signer,
    pub api: ApiVersion,
    pub sequence_interval: Duration,
    pub pool_size: usize,
    pub tile_cache_tiles: usize,
    pub clock: Arc<dyn Clock>,
}

impl ArtifactLogConfig {
    /// A config with the defaults for everything but identity and API.
    pub fn new(
        name: impl Into<String>,
        origin: impl Into<String>,
        signer: EcdsaP256Signer,
        api: ApiVersion,
    ) -> Self {
        Self {
            name: name.into(),
            origin: origin.into(),
            signer,
            api,
            sequence_interval: DEFAULT_SEQUENCE_INTERVAL,
            pool_size: DEFAULT_POOL_SIZE,
            tile_cache_tiles: DEFAULT_TILE_CACHE,
            clock: Arc::new(SystemClock),
        }
    }
}

/// Why an entry was not logged.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The entry does not parse, does not verify, or is not a kind this log takes.
    #[error(transparent)]
    Invalid(#[from] RekorError),
    /// The canonical body does not fit a tlog-tiles entry.
    #[error(
        "the entry's canonical body is {0} bytes, more than the {MAX_BODY_BYTES} a log entry holds"
    )]
    BodyTooLarge(usize),
    /// The pool is full: the client should retry later (503).
    #[error("the log is overloaded; retry later")]
    Overloaded,
    #[error("the log is shutting down")]
    ShuttingDown,
    /// Storage or signing failed; nothing of the batch was kept (503: retrying is
    /// safe, and a full disk heals without a restart).
    #[error("the entry was not logged: storage or signing failed")]
    Storage,
}

/// Failure to open a log.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored log state is inconsistent: {0}")]
    Corrupt(String),
    #[error(
        "the stored checkpoint of artifact log {0} is not signed by the configured key; refusing to continue the log under another key"
    )]
    KeyMismatch(String),
    #[error("signing the initial checkpoint: {0}")]
    Signing(String),
    #[error("starting the sequencer thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// An entry the sequencer integrated (or found integrated before).
#[derive(Clone, Debug)]
pub struct Integrated {
    /// The entry's index in the log.
    pub index: u64,
    /// When the log first integrated it, milliseconds since the Unix epoch.
    pub integrated_ms: u64,
    /// The v1 Signed Entry Timestamp (empty for v2 logs).
    pub set: Vec<u8>,
    /// A checkpoint whose tree contains the entry.
    pub head: Arc<StoredTreeHead>,
    /// The entry was in the log before this submission.
    pub duplicate: bool,
}

/// One log's state inside a process: identity, storage, the published head and the
/// read caches.
pub(crate) struct LogCore {
    pub name: String,
    pub origin: String,
    pub api: ApiVersion,
    pub signer: EcdsaP256Signer,
    pub spki_der: Vec<u8>,
    pub log_id: [u8; 32],
    pub clock: Arc<dyn Clock>,
    pub store: Arc<dyn LogStore>,
    pub head: RwLock<Arc<StoredTreeHead>>,
    pub tiles: TileCache,
    pub recent: RecentLeaves,
    pub sequence_interval: Duration,
}

impl LogCore {
    pub(crate) fn published(&self) -> Arc<StoredTreeHead> {
        self.head
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub(crate) fn publish(&self, head: Arc<StoredTreeHead>) {
        *self
            .head
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = head;
    }
}

/// One artifact-signature log.
pub struct ArtifactLog {
    core: Arc<LogCore>,
    pool: SyncSender<sequencer::Pending>,
    /// Stops the sequencer thread; taken by [`ArtifactLog::close`].
    stop: Mutex<Option<SyncSender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Set when the server gives up waiting at shutdown: every submitter still
    /// waiting is answered 503 at once.
    abandon: tokio::sync::watch::Sender<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl std::fmt::Debug for ArtifactLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactLog")
            .field("name", &self.core.name)
            .field("api", &self.core.api)
            .finish_non_exhaustive()
    }
}

impl ArtifactLog {
    /// Opens (or creates) the log in `store` and starts its sequencer thread. A stored
    /// checkpoint must verify under the configured key and its tree must fold to the
    /// stored tiles.
    pub fn open(config: ArtifactLogConfig, store: Arc<dyn LogStore>) -> Result<Self, OpenError> {
        let spki_der = config.signer.spki_der();
        let log_id = config.signer.log_id();
        let core = Arc::new(LogCore {
            name: config.name,
            origin: config.origin,
            api: config.api,
            signer: config.signer,
            spki_der,
            log_id,
            clock: config.clock,
            store,
            head: RwLock::new(Arc::new(StoredTreeHead {
                tree_size: 0,
                timestamp_ms: 0,
                root: merkle::EMPTY_ROOT,
                signature: Vec::new(),
                checkpoint: String::new(),
            })),
            tiles: TileCache::new(config.tile_cache_tiles),
            recent: RecentLeaves::new(RECENT_LEAVES),
            sequence_interval: config.sequence_interval,
        });
        let state = sequencer::SequencerState::resume(&core)?;
        core.publish(Arc::new(state.head().clone()));
        let running = sequencer::spawn(core.clone(), state, config.pool_size.max(1))?;
        Ok(Self {
            core,
            pool: running.pool,
            stop: Mutex::new(Some(running.stop)),
            thread: Mutex::new(Some(running.thread)),
            abandon: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Begins an orderly stop: the sequencer integrates what is waiting at once (its
    /// submitters get their entries), then ends; later submissions are answered 503.
    /// Returns the thread to wait for (`None` after the first call).
    pub fn close(&self) -> Option<std::thread::JoinHandle<()>> {
        if let Some(stop) = lock(&self.stop).take() {
            let _ = stop.try_send(());
        }
        lock(&self.thread).take()
    }

    /// Answers every submitter still waiting with 503 (retry): for a shutdown that
    /// cannot wait for the batch any longer. Their entries may still be logged; a
    /// retry then finds them.
    pub fn abandon_waiters(&self) {
        self.abandon.send_replace(true);
    }

    /// Whether the log can take entries now: its storage answers a read of the
    /// checkpoint. Blocking (a storage round trip). `Err` says what is not ready.
    pub fn readiness(&self) -> Result<(), String> {
        if lock(&self.stop).is_none() {
            return Err("shutting down".into());
        }
        self.core
            .store
            .tree_head()
            .map(|_| ())
            .map_err(|e| format!("storage: {e}"))
    }

    pub fn name(&self) -> &str {
        &self.core.name
    }

    pub fn origin(&self) -> &str {
        &self.core.origin
    }

    pub fn api(&self) -> ApiVersion {
        self.core.api
    }

    /// SHA-256 of the log key's SubjectPublicKeyInfo: v1's `logID`, the trust root's
    /// `logId.keyId`.
    pub fn log_id(&self) -> [u8; 32] {
        self.core.log_id
    }

    /// The log key, SubjectPublicKeyInfo DER.
    pub fn public_key_der(&self) -> &[u8] {
        &self.core.spki_der
    }

    /// The latest published checkpoint.
    pub fn tree_head(&self) -> Arc<StoredTreeHead> {
        self.core.published()
    }

    /// Logs a verified entry's canonical body and waits until the batch holding it is
    /// durable. An entry logged before is answered with its original index, time and
    /// SET, `duplicate` set.
    pub async fn submit(&self, canonical_body: Vec<u8>) -> Result<Integrated, SubmitError> {
        if canonical_body.len() > MAX_BODY_BYTES {
            return Err(SubmitError::BodyTooLarge(canonical_body.len()));
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let pending = sequencer::Pending {
            leaf_hash: merkle::leaf_hash(&canonical_body),
            body: canonical_body,
            reply,
        };
        match self.pool.try_send(pending) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(SubmitError::Overloaded),
            Err(TrySendError::Disconnected(_)) => return Err(SubmitError::ShuttingDown),
        }
        let mut abandoned = self.abandon.subscribe();
        tokio::select! {
            answer = answer => answer.map_err(|_| SubmitError::ShuttingDown)?,
            _ = abandoned.wait_for(|gone| *gone) => Err(SubmitError::ShuttingDown),
        }
    }

    /// The inclusion proof of entry `index` in the tree of `tree_size` leaves.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<[u8; 32]>, ReadError> {
        self.core.inclusion_proof(index, tree_size)
    }

    /// The consistency proof between two tree sizes (`first <= second <= published`).
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<[u8; 32]>, ReadError> {
        self.core.consistency_proof(first, second)
    }

    /// The root of the tree of `size` leaves (at most the published size).
    pub fn root_at(&self, size: u64) -> Result<[u8; 32], ReadError> {
        self.core.root_at(size)
    }

    /// The entry at `index`, which must be below the published tree size.
    pub fn entry_at(&self, index: u64) -> Result<StoredEntry, ReadError> {
        self.core.entry_at(index)
    }

    /// The index of the entry with this UUID (RFC 6962 leaf hash of its body).
    pub fn index_of(&self, uuid: &[u8; 32]) -> Result<Option<u64>, ReadError> {
        Ok(self.core.recent.lookup(self.core.store.as_ref(), uuid)?)
    }
}

#[cfg(test)]
mod tests;
