//! Certificate Transparency logs (RFC 6962 with the c2sp.org/static-ct-api read path).
//!
//! A [`Log`] accepts chains, validates them against its roots and hands them to its
//! sequencer thread, which every `sequence_interval` integrates the waiting batch:
//! assigns indexes, signs SCTs, extends the Merkle tree and its tiles, signs one tree
//! head, and commits all of it in one durable storage transaction. Only then are the
//! SCTs released, so an SCT is always a promise the storage already keeps.
//!
//! Reads (proofs, entries, tiles) come straight from storage through a bounded cache
//! of expanded hash tiles; nothing in memory grows with the log.

mod http;
mod reads;
mod sequencer;
mod shared_mode;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use clock::{Clock, SystemClock};
use pki::chain::{ChainError, RootStore, SubmissionKind, validate_chain};
use pki::ct::{DigitallySigned, SignedCertificateTimestamp, SignedEntry, TimestampedEntry};
use pki::ct_api::GetSthResponse;
use pki::keys::EcdsaP256Signer;
use pki::tls::Codec;
use sha2::{Digest, Sha256};
use store::{LogStore, StoreError, StoredTreeHead};

pub use http::{ApiError, router};
pub use reads::{EntryWithChain, ReadError};

/// Largest number of entries one `get-entries` call returns (RFC 6962 §4.6 lets the
/// log return fewer than asked; clients page on). One data tile's worth.
pub const MAX_GET_ENTRIES: u64 = 256;

/// Default number of submissions that may wait for the next batch before the log
/// answers 503; bounds memory under overload.
pub const DEFAULT_POOL_SIZE: usize = 32 * 1024;

/// Default number of expanded hash tiles kept for proofs (about 16 KiB each, so at
/// most 128 MiB): every tile of a log of two million entries, so random proofs
/// never re-read and re-hash a tile.
pub const DEFAULT_TILE_CACHE: usize = 8192;

/// Recently sequenced entries whose leaf hash → index is kept in memory for
/// `get-proof-by-hash` (about 60 bytes each).
pub const RECENT_LEAVES: usize = 256 * 1024;

/// Everything that defines one log.
pub struct LogConfig {
    /// Short name, used in URLs (`/logs/{name}/`).
    pub name: String,
    /// Checkpoint origin and note key name, e.g. `ct.example.com/logs/a`
    /// (static-ct-api: the submission prefix without the scheme).
    pub origin: String,
    pub signer: EcdsaP256Signer,
    pub roots: RootStore,
    pub sequence_interval: Duration,
    pub pool_size: usize,
    pub tile_cache_tiles: usize,
    pub clock: Arc<dyn Clock>,
}

impl LogConfig {
    /// A config with the defaults for everything but identity and roots.
    pub fn new(
        name: impl Into<String>,
        origin: impl Into<String>,
        signer: EcdsaP256Signer,
        roots: RootStore,
    ) -> Self {
        Self {
            name: name.into(),
            origin: origin.into(),
            signer,
            roots,
            sequence_interval: Duration::from_secs(1),
            pool_size: DEFAULT_POOL_SIZE,
            tile_cache_tiles: DEFAULT_TILE_CACHE,
            clock: Arc::new(SystemClock),
        }
    }
}

/// Why a submission got no SCT.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The pool is full: the client should retry later (503).
    #[error("the log is overloaded; retry later")]
    Overloaded,
    #[error("the log is shutting down")]
    ShuttingDown,
    /// Storage failed; nothing of the batch was kept (503: retrying is safe, and a
    /// full disk or a database that failed for a moment heals without a restart).
    #[error("storage failure; the submission was not logged; retry later")]
    Storage,
    #[error("entry cannot be encoded: {0}")]
    Encoding(String),
}

/// Failure to open a log.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored log state is inconsistent: {0}")]
    Corrupt(String),
    #[error(
        "the stored tree head of log {0} is not signed by the configured key; refusing to continue the log under another key"
    )]
    KeyMismatch(String),
    #[error("signing the initial tree head: {0}")]
    Signing(String),
    #[error("starting the sequencer thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// The latest published tree head and its pre-rendered `get-sth` body.
#[derive(Debug)]
pub(crate) struct PublishedHead {
    pub head: StoredTreeHead,
    pub sth_json: bytes::Bytes,
}

impl PublishedHead {
    fn new(head: StoredTreeHead) -> Self {
        let sth_json = serde_json::to_vec(&GetSthResponse {
            tree_size: head.tree_size,
            timestamp: head.timestamp_ms,
            sha256_root_hash: head.root,
            tree_head_signature: head.signature.clone(),
        })
        .expect("JSON of plain values");
        Self {
            head,
            sth_json: sth_json.into(),
        }
    }
}

/// The state of one log inside this process, held by its HTTP handlers and its
/// sequencer thread. (`shared` here and in `store::shared` means several processes
/// sharing one database.)
pub(crate) struct LogCore {
    pub name: String,
    pub origin: String,
    pub signer: EcdsaP256Signer,
    pub log_id: [u8; 32],
    pub spki_der: Vec<u8>,
    pub roots: RootStore,
    pub clock: Arc<dyn Clock>,
    pub store: Arc<dyn LogStore>,
    pub head: RwLock<Arc<PublishedHead>>,
    pub tiles: store::log_reads::TileCache,
    pub recent: store::log_reads::RecentLeaves,
    pub issuers: reads::IssuerCache,
    pub sequence_interval: Duration,
    /// Whether this process knows if it may sequence: always for a log of its own; on
    /// a shared database once its first ask for the lease was answered.
    pub lease_known: AtomicBool,
}

/// One running CT log. Dropping it stops its sequencer after the pending batch.
pub struct Log {
    core: Arc<LogCore>,
    intake: Intake,
    /// Stops the sequencer (or coordinator) thread; taken by [`Log::close`].
    stop: Mutex<Option<SyncSender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Set when the server gives up waiting at shutdown: every submitter still
    /// waiting is answered 503 at once.
    abandon: tokio::sync::watch::Sender<bool>,
}

/// Where submissions go.
enum Intake {
    /// The in-process sequencer: this process alone writes the log.
    Local(SyncSender<sequencer::Pending>),
    /// A database queue shared by every process serving the log; whichever holds
    /// the sequencer lease integrates it (see `shared_mode`).
    Shared {
        sequencing: Arc<dyn store::shared::SharedSequencing>,
        waiters: Arc<shared_mode::Waiters>,
        max_waiting: usize,
    },
}

/// How long a submission to a shared log waits for a sequencer before the client is
/// told to retry (503): long enough for a takeover after a crash.
const SHARED_SUBMIT_TIMEOUT: Duration = Duration::from_secs(30);

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("name", &self.core.name)
            .field("origin", &self.core.origin)
            .finish_non_exhaustive()
    }
}

impl Log {
    /// Opens (or creates) a log over `store`: resumes the tree from the stored tiles,
    /// checks it against the stored head, and starts the sequencer thread.
    pub fn open(config: LogConfig, store: Arc<dyn LogStore>) -> Result<Self, OpenError> {
        let pool_size = config.pool_size.max(1);
        let core = Self::new_core(config, store);
        let (state, head) = sequencer::SequencerState::resume(&core)?;
        core.publish(head);
        let running = sequencer::spawn(core.clone(), state, pool_size)?;
        core.lease_known.store(true, Ordering::Relaxed);
        Ok(Self::running(
            core,
            Intake::Local(running.pool),
            running.stop,
            running.thread,
        ))
    }

    /// Opens a log that several processes serve over one database: submissions are
    /// queued in `sequencing`, and this process sequences them only while it holds
    /// the log's lease (taking over within about a second of a holder's death).
    pub fn open_shared(
        config: LogConfig,
        store: Arc<dyn LogStore>,
        sequencing: Arc<dyn store::shared::SharedSequencing>,
    ) -> Result<Self, OpenError> {
        let max_waiting = config.pool_size.max(1);
        let core = Self::new_core(config, store);
        if let Some(head) = core.store.tree_head()? {
            sequencer::check_head_signature(&core, &head)?;
            core.publish(head);
        }
        let waiters = Arc::new(shared_mode::Waiters::default());
        let (stop, stopped) = std::sync::mpsc::sync_channel(1);
        let thread = {
            let (core, sequencing, waiters) = (core.clone(), sequencing.clone(), waiters.clone());
            std::thread::Builder::new()
                .name(format!("coordinator-{}", core.name))
                .spawn(move || shared_mode::run(core, sequencing, waiters, max_waiting, stopped))?
        };
        let intake = Intake::Shared {
            sequencing,
            waiters,
            max_waiting,
        };
        Ok(Self::running(core, intake, stop, thread))
    }

    fn running(
        core: Arc<LogCore>,
        intake: Intake,
        stop: SyncSender<()>,
        thread: std::thread::JoinHandle<()>,
    ) -> Self {
        Self {
            core,
            intake,
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(Some(thread)),
            abandon: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Begins an orderly stop: the sequencer integrates what is waiting at once (its
    /// submitters get their SCTs), then ends; later submissions are answered 503. On a
    /// shared database the lease holder sequences the queue once more and gives up the
    /// lease. Returns the thread to wait for (`None` after the first call).
    pub fn close(&self) -> Option<std::thread::JoinHandle<()>> {
        if let Some(stop) = lock(&self.stop).take() {
            let _ = stop.try_send(());
        }
        lock(&self.thread).take()
    }

    /// Answers every submitter still waiting with 503 (retry): for a shutdown that
    /// cannot wait for the batch any longer. Their entries may still be logged; a
    /// retry then gets the same SCT.
    pub fn abandon_waiters(&self) {
        self.abandon.send_replace(true);
    }

    /// Whether the log can take submissions now: its storage answers a read of the
    /// tree head and, on a shared database, this process knows whether it holds the
    /// sequencer lease. Blocking (a storage round trip). `Err` says what is not ready.
    pub fn readiness(&self) -> Result<(), String> {
        if lock(&self.stop).is_none() {
            return Err("shutting down".into());
        }
        self.core
            .store
            .tree_head()
            .map_err(|e| format!("storage: {e}"))?;
        if !self.core.lease_known.load(Ordering::Relaxed) {
            return Err("sequencer lease state not known yet".into());
        }
        Ok(())
    }

    /// Waits for `answer` unless the waiters are abandoned first.
    async fn wait_for<T>(
        &self,
        answer: impl std::future::Future<Output = Result<T, SubmitError>>,
    ) -> Result<T, SubmitError> {
        let mut abandoned = self.abandon.subscribe();
        tokio::select! {
            result = answer => result,
            _ = abandoned.wait_for(|gone| *gone) => Err(SubmitError::ShuttingDown),
        }
    }

    fn new_core(config: LogConfig, store: Arc<dyn LogStore>) -> Arc<LogCore> {
        let spki_der = config.signer.spki_der();
        let log_id = config.signer.log_id();
        let tiles = store::log_reads::TileCache::new(config.tile_cache_tiles);
        Arc::new(LogCore {
            name: config.name,
            origin: config.origin,
            signer: config.signer,
            log_id,
            spki_der,
            roots: config.roots,
            clock: config.clock,
            store,
            head: RwLock::new(Arc::new(PublishedHead::new(StoredTreeHead {
                tree_size: 0,
                timestamp_ms: 0,
                root: merkle::EMPTY_ROOT,
                signature: Vec::new(),
                checkpoint: String::new(),
            }))),
            tiles,
            recent: store::log_reads::RecentLeaves::new(RECENT_LEAVES),
            issuers: reads::IssuerCache::default(),
            sequence_interval: config.sequence_interval,
            lease_known: AtomicBool::new(false),
        })
    }

    pub fn name(&self) -> &str {
        &self.core.name
    }

    pub fn origin(&self) -> &str {
        &self.core.origin
    }

    /// SHA-256 of the log's SubjectPublicKeyInfo (RFC 6962 §3.2 `LogID`).
    pub fn log_id(&self) -> [u8; 32] {
        self.core.log_id
    }

    pub fn public_key_der(&self) -> &[u8] {
        &self.core.spki_der
    }

    pub fn roots(&self) -> &RootStore {
        &self.core.roots
    }

    pub fn sequence_interval(&self) -> Duration {
        self.core.sequence_interval
    }

    /// The latest signed tree head.
    pub fn tree_head(&self) -> StoredTreeHead {
        self.core.published().head.clone()
    }

    /// Validates `chain` and waits for its SCT (after the batch holding it is durable).
    /// An entry logged before gets its original SCT back.
    pub async fn submit(
        &self,
        chain: Vec<Vec<u8>>,
        kind: SubmissionKind,
    ) -> Result<SignedCertificateTimestamp, SubmitError> {
        let now = self.core.clock.now_ms();
        let validated = validate_chain(&chain, &self.core.roots, now, kind)?;
        // Deduplication happens in the sequencer, in one batched look-up: it is the
        // only writer, so its answer is authoritative, and the request path stays free
        // of a random storage read. A resubmission waits for the next batch.
        let dedup_key = dedup_key(&validated.entry)?;
        let submit = match &self.intake {
            Intake::Local(submit) => submit,
            Intake::Shared {
                sequencing,
                waiters,
                max_waiting,
                ..
            } => {
                return self
                    .wait_for(submit_shared(
                        sequencing,
                        waiters,
                        *max_waiting,
                        dedup_key,
                        &validated,
                    ))
                    .await;
            }
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let pending = sequencer::Pending {
            dedup_key,
            validated,
            reply: Some(reply),
        };
        match submit.try_send(pending) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(SubmitError::Overloaded),
            Err(TrySendError::Disconnected(_)) => return Err(SubmitError::ShuttingDown),
        }
        self.wait_for(async { answer.await.unwrap_or(Err(SubmitError::ShuttingDown)) })
            .await
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Queues a validated submission in the shared database and waits until some
/// process's sequencer has logged it.
async fn submit_shared(
    sequencing: &Arc<dyn store::shared::SharedSequencing>,
    waiters: &Arc<shared_mode::Waiters>,
    max_waiting: usize,
    dedup_key: [u8; 32],
    validated: &pki::chain::ValidatedChain,
) -> Result<SignedCertificateTimestamp, SubmitError> {
    let payload = shared_mode::QueuedSubmission {
        validated: validated.clone(),
    }
    .to_bytes()
    .map_err(|e| SubmitError::Encoding(e.to_string()))?;
    // Wait first, then queue: the answer cannot slip past between the two.
    let answer = waiters
        .add(dedup_key, max_waiting)
        .ok_or(SubmitError::Overloaded)?;
    let queue = sequencing.clone();
    let queued = tokio::task::spawn_blocking(move || queue.enqueue(&dedup_key, &payload)).await;
    if !matches!(queued, Ok(Ok(()))) {
        if let Ok(Err(e)) = &queued {
            tracing::warn!(error = %e, "queuing a submission failed");
        }
        drop(answer);
        waiters.prune(&dedup_key);
        return Err(SubmitError::Storage);
    }
    let result = tokio::time::timeout(SHARED_SUBMIT_TIMEOUT, answer).await;
    waiters.prune(&dedup_key);
    match result {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(SubmitError::ShuttingDown),
        Err(_) => Err(SubmitError::Overloaded),
    }
}

impl LogCore {
    pub(crate) fn published(&self) -> Arc<PublishedHead> {
        self.head.read().expect("head lock").clone()
    }

    /// Makes `head` the one `get-sth`, the checkpoint and proofs answer from.
    pub(crate) fn publish(&self, head: StoredTreeHead) {
        *self.head.write().expect("head lock") = Arc::new(PublishedHead::new(head));
    }

    /// Rebuilds the SCT handed out for a deduplicated entry.
    fn sct_from_record(
        &self,
        record: &store::DedupRecord,
    ) -> Result<SignedCertificateTimestamp, SubmitError> {
        let (signature, used) = DigitallySigned::read_prefix(&record.sct_signature)
            .map_err(|e| SubmitError::Encoding(e.to_string()))?;
        if used != record.sct_signature.len() {
            return Err(SubmitError::Encoding(
                "trailing bytes after SCT signature".into(),
            ));
        }
        Ok(SignedCertificateTimestamp {
            log_id: self.log_id,
            timestamp: record.timestamp_ms,
            extensions: pki::ct::leaf_index_extension(record.leaf_index)
                .map_err(|e| SubmitError::Encoding(e.to_string()))?,
            signature,
        })
    }
}

/// The deduplication key: SHA-256 of the entry type and signed entry, i.e. of exactly
/// what an SCT covers besides timestamp and extensions. Two submissions with the same
/// key would log the same thing, so the second gets the first one's SCT.
pub fn dedup_key(entry: &SignedEntry) -> Result<[u8; 32], SubmitError> {
    let probe = TimestampedEntry {
        timestamp: 0,
        entry: entry.clone(),
        extensions: Vec::new(),
    };
    let mut bytes = Vec::new();
    probe
        .encode(&mut bytes)
        .map_err(|e| SubmitError::Encoding(e.to_string()))?;
    // Skip the zero timestamp; what stays is entry_type || signed_entry || 0x0000.
    Ok(Sha256::digest(&bytes[8..]).into())
}

#[cfg(test)]
mod tests;
