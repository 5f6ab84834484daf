//! The sequencer: one OS thread per artifact log that turns the waiting pool into
//! durable batches. It is the only writer of its log.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use merkle::LogEdge;
use merkle::appender::partial_bundle;
use merkle::checkpoint::Checkpoint;
use merkle::note::SignedNote;
use pki::entry_bundle::EntryBundle;
use pki::rekor::checkpoint::EcdsaNoteSigner;
use store::log_reads::StoredHashTiles;
use store::{Batch, DedupRecord, NewEntry, StoreError, StoredTreeHead, TileWrite};
use tokio::sync::oneshot;

use crate::{ApiVersion, Integrated, LogCore, OpenError, SubmitError};

/// A canonical body waiting for the next batch.
pub(crate) struct Pending {
    pub leaf_hash: [u8; 32],
    pub body: Vec<u8>,
    pub reply: oneshot::Sender<Result<Integrated, SubmitError>>,
}

/// The sequencer's view of the tree's right edge and the head it was committed with.
#[derive(Clone)]
pub(crate) struct SequencerState {
    edge: LogEdge,
    head: StoredTreeHead,
}

impl SequencerState {
    pub(crate) fn head(&self) -> &StoredTreeHead {
        &self.head
    }

    /// Loads the right edge of the stored tree and checks it against the stored,
    /// signature-checked checkpoint; a fresh log gets a signed empty checkpoint.
    pub(crate) fn resume(core: &LogCore) -> Result<Self, OpenError> {
        let store = core.store.as_ref();
        let Some(head) = store.tree_head()? else {
            let head = sign_checkpoint(core, core.clock.now_ms(), 0, merkle::EMPTY_ROOT)
                .map_err(OpenError::Signing)?;
            store.commit_batch(&Batch {
                tree_head: Some(head.clone()),
                ..Batch::default()
            })?;
            return Ok(Self {
                edge: LogEdge::empty(true),
                head,
            });
        };
        check_checkpoint(core, &head)?;
        let bundle = match partial_bundle(head.tree_size) {
            None => (Vec::new(), 0),
            Some(id) => {
                let stored = store.data_tile(id.index)?.ok_or_else(|| {
                    OpenError::Corrupt(format!("entry bundle {} is missing", id.index))
                })?;
                let len = EntryBundle::prefix_len(&stored.bytes, usize::from(id.width))
                    .ok_or_else(|| {
                        OpenError::Corrupt(format!(
                            "entry bundle {} holds fewer than {} entries",
                            id.index, id.width
                        ))
                    })?;
                (stored.bytes[..len].to_vec(), u64::from(id.width))
            }
        };
        let edge = LogEdge::resume(
            head.tree_size,
            &head.root,
            StoredHashTiles(store),
            Some(bundle),
        )
        .map_err(|e| OpenError::Corrupt(e.to_string()))?;
        Ok(Self { edge, head })
    }
}

/// A stored checkpoint must verify under the configured key: a log restarted with
/// another key would hand out promises nobody can reconcile with its history. Its
/// origin may differ (a development server on another port); the key may not.
fn check_checkpoint(core: &LogCore, head: &StoredTreeHead) -> Result<(), OpenError> {
    let note = SignedNote::parse(&head.checkpoint)
        .map_err(|e| OpenError::Corrupt(format!("stored checkpoint: {e}")))?;
    pki::verify::verify_by_key(
        &core.spki_der,
        pki::verify::HashAlgorithm::Sha256,
        note.text.as_bytes(),
        &head.signature,
    )
    .map_err(|_| OpenError::KeyMismatch(core.name.clone()))?;
    let checkpoint = Checkpoint::parse(&note.text)
        .map_err(|e| OpenError::Corrupt(format!("stored checkpoint: {e}")))?;
    if checkpoint.size != head.tree_size || checkpoint.root != head.root {
        return Err(OpenError::Corrupt(
            "the stored checkpoint disagrees with the stored tree head".into(),
        ));
    }
    Ok(())
}

/// Signs the checkpoint of a tree. The stored head keeps the note (what clients get)
/// and, as `signature`, the raw ECDSA signature in it.
fn sign_checkpoint(
    core: &LogCore,
    timestamp_ms: u64,
    tree_size: u64,
    root: merkle::Hash,
) -> Result<StoredTreeHead, String> {
    let signer = EcdsaNoteSigner::new(&core.origin, &core.signer).map_err(|e| e.to_string())?;
    let mut note = SignedNote::new(Checkpoint::new(core.origin.clone(), tree_size, root).to_text())
        .map_err(|e| e.to_string())?;
    note.sign(&signer).map_err(|e| e.to_string())?;
    let signature = note
        .signatures
        .last()
        .map(|s| s.signature.clone())
        .unwrap_or_default();
    Ok(StoredTreeHead {
        tree_size,
        timestamp_ms,
        root,
        signature,
        checkpoint: note.encode(),
    })
}

/// The running sequencer thread: its pool, the sender that stops it, and its handle.
pub(crate) struct Running {
    pub pool: SyncSender<Pending>,
    pub stop: SyncSender<()>,
    pub thread: std::thread::JoinHandle<()>,
}

/// Starts the sequencer thread.
pub(crate) fn spawn(
    core: Arc<LogCore>,
    state: SequencerState,
    pool_size: usize,
) -> std::io::Result<Running> {
    let (pool, rx) = std::sync::mpsc::sync_channel(pool_size);
    let (stop, stopped) = std::sync::mpsc::sync_channel(1);
    let thread = std::thread::Builder::new()
        .name(format!("rekor-{}", core.name))
        .spawn(move || run(core, state, rx, stopped, pool_size))?;
    Ok(Running { pool, stop, thread })
}

/// Sequences the pool every interval until told to stop (or the log is dropped):
/// then at once integrates everything already waiting, so those submitters get their
/// entries, and returns. Submissions that arrive after that find the pool closed (503).
fn run(
    core: Arc<LogCore>,
    mut state: SequencerState,
    pool: Receiver<Pending>,
    stop: Receiver<()>,
    max: usize,
) {
    let interval = core.sequence_interval;
    let mut next_tick = Instant::now() + interval;
    let mut stopping = false;
    loop {
        let now = Instant::now();
        if !stopping && next_tick > now {
            match stop.recv_timeout(next_tick - now) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => stopping = true,
            }
        }
        // A slow batch must not cause a burst of catch-up ticks.
        next_tick = (next_tick + interval).max(Instant::now() + interval / 4);

        let mut batch = Vec::new();
        let mut closed = false;
        while batch.len() < max {
            match pool.try_recv() {
                Ok(p) => batch.push(p),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        let full = batch.len() == max;
        if !batch.is_empty() {
            let started = Instant::now();
            let count = batch.len();
            match integrate(&core, &state, batch) {
                Ok((next, replies)) => {
                    state = next;
                    let head = Arc::new(state.head.clone());
                    core.publish(head.clone());
                    for (reply, mut result) in replies {
                        if let Ok(integrated) = &mut result {
                            integrated.head = head.clone();
                        }
                        let _ = reply.send(result);
                    }
                    tracing::debug!(
                        log = %core.name,
                        entries = count,
                        tree_size = state.head.tree_size,
                        millis = started.elapsed().as_millis() as u64,
                        "batch sequenced"
                    );
                }
                Err(e) => {
                    tracing::error!(log = %core.name, error = %e, "batch not sequenced");
                    if stopping {
                        // Its submitters were told; the rest of the pool is
                        // answered 503 when it is dropped.
                        return;
                    }
                    std::thread::sleep(interval.min(Duration::from_secs(1)));
                }
            }
        }
        // Stopping: another batch at once while the pool gave a full one.
        if closed || (stopping && !full) {
            if stopping {
                tracing::info!(log = %core.name, tree_size = state.head.tree_size, "sequencer stopped");
            }
            return;
        }
    }
}

type Reply = oneshot::Sender<Result<Integrated, SubmitError>>;

/// Submitters and what to tell them once the batch is settled.
type Replies = Vec<(Reply, Result<Integrated, SubmitError>)>;

/// Why a batch failed as a whole; every submitter in it was told.
#[derive(Debug, thiserror::Error)]
enum BatchError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("signing: {0}")]
    Signing(String),
}

/// Integrates one batch into a copy of `state` and commits it. On success returns the
/// new state and the answers to send (their `head` filled in by the caller); on
/// failure every submitter is told and `state` stays as it was.
fn integrate(
    core: &LogCore,
    state: &SequencerState,
    batch: Vec<Pending>,
) -> Result<(SequencerState, Replies), BatchError> {
    let mut next = state.clone();
    // RFC 6962-style monotonic time: an entry is never integrated before the
    // checkpoint that preceded it.
    let timestamp = core
        .clock
        .now_ms()
        .max(state.head.timestamp_ms.saturating_add(1));
    let placeholder = Arc::new(state.head.clone());
    let mut writes = Batch::default();
    let mut replies = Vec::with_capacity(batch.len());
    let mut appended: Vec<Pending> = Vec::with_capacity(batch.len());
    let mut in_batch: HashMap<[u8; 32], usize> = HashMap::new();
    let mut duplicates: Vec<Pending> = Vec::new();

    let keys: Vec<[u8; 32]> = batch.iter().map(|p| p.leaf_hash).collect();
    let known = match core.store.dedup_many(&keys) {
        Ok(known) => known,
        Err(e) => {
            fail_all(batch.into_iter().map(|p| p.reply));
            return Err(e.into());
        }
    };
    for (pending, known) in batch.into_iter().zip(known) {
        if let Some(record) = known {
            let answer = Integrated {
                index: record.leaf_index,
                integrated_ms: record.timestamp_ms,
                set: record.sct_signature,
                head: placeholder.clone(),
                duplicate: true,
            };
            replies.push((pending.reply, Ok(answer)));
            continue;
        }
        if in_batch.contains_key(&pending.leaf_hash) {
            duplicates.push(pending);
            continue;
        }
        let framed = match EntryBundle::frame(&pending.body) {
            Ok(framed) => framed,
            Err(_) => {
                let len = pending.body.len();
                replies.push((pending.reply, Err(SubmitError::BodyTooLarge(len))));
                continue;
            }
        };
        let index = match next.edge.append(pending.leaf_hash, &framed) {
            Ok(index) => index,
            Err(e) => {
                fail_batch(replies, appended, duplicates);
                return Err(BatchError::Signing(e.to_string()));
            }
        };
        in_batch.insert(pending.leaf_hash, appended.len());
        writes.entries.push(NewEntry {
            dedup_key: pending.leaf_hash,
            leaf_hash: pending.leaf_hash,
            record: DedupRecord {
                leaf_index: index,
                timestamp_ms: timestamp,
                sct_signature: Vec::new(),
            },
        });
        appended.push(pending);
    }
    if appended.is_empty() {
        // Only entries logged before: nothing to commit, no new checkpoint.
        return Ok((next, replies));
    }

    if core.api == ApiVersion::V1 {
        // One SET per entry; signing dominates the batch and every submitter waits,
        // so it runs on all cores.
        let signed = sign_sets(core, &appended, &writes.entries, timestamp / 1000);
        match signed {
            Ok(sets) => {
                for (entry, set) in writes.entries.iter_mut().zip(sets) {
                    entry.record.sct_signature = set;
                }
            }
            Err(e) => {
                fail_batch(replies, appended, duplicates);
                return Err(BatchError::Signing(e));
            }
        }
    }

    let size = next.edge.size();
    let tiles = next.edge.take_writes();
    writes.hash_tiles = tiles.hash_tiles.into_iter().map(TileWrite::from).collect();
    writes.data_tiles = tiles
        .entry_bundles
        .into_iter()
        .map(TileWrite::from)
        .collect();
    let head = match sign_checkpoint(core, timestamp, size, next.edge.root()) {
        Ok(head) => head,
        Err(e) => {
            fail_batch(replies, appended, duplicates);
            return Err(BatchError::Signing(e));
        }
    };
    writes.tree_head = Some(head.clone());
    if let Err(e) = core.store.commit_batch(&writes) {
        fail_batch(replies, appended, duplicates);
        return Err(e.into());
    }
    core.recent.insert(
        writes
            .entries
            .iter()
            .map(|e| (e.leaf_hash, e.record.leaf_index)),
    );
    let integrated: Vec<Integrated> = writes
        .entries
        .into_iter()
        .map(|e| Integrated {
            index: e.record.leaf_index,
            integrated_ms: e.record.timestamp_ms,
            set: e.record.sct_signature,
            head: placeholder.clone(),
            duplicate: false,
        })
        .collect();
    for pending in duplicates {
        let mut answer = integrated[in_batch[&pending.leaf_hash]].clone();
        answer.duplicate = true;
        replies.push((pending.reply, Ok(answer)));
    }
    for (pending, answer) in appended.into_iter().zip(integrated) {
        replies.push((pending.reply, Ok(answer)));
    }
    next.head = head;
    Ok((next, replies))
}

/// Signs the SET of every appended entry, spread over the machine's cores; order kept.
fn sign_sets(
    core: &LogCore,
    appended: &[Pending],
    entries: &[NewEntry],
    integrated_time: u64,
) -> Result<Vec<Vec<u8>>, String> {
    let jobs: Vec<(&[u8], u64)> = appended
        .iter()
        .zip(entries)
        .map(|(p, e)| (p.body.as_slice(), e.record.leaf_index))
        .collect();
    let sign = |chunk: &[(&[u8], u64)]| -> Result<Vec<Vec<u8>>, String> {
        chunk
            .iter()
            .map(|(body, index)| {
                pki::rekor::sign_set(&core.signer, body, integrated_time, *index)
                    .map_err(|e| e.to_string())
            })
            .collect()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len().div_ceil(64))
        .max(1);
    if threads == 1 {
        return sign(&jobs);
    }
    let chunk = jobs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| scope.spawn(move || sign(part)))
            .collect();
        let mut out = Vec::with_capacity(jobs.len());
        for handle in handles {
            out.extend(
                handle
                    .join()
                    .map_err(|_| "a signing thread panicked".to_owned())??,
            );
        }
        Ok(out)
    })
}

/// Answers every submitter of a failed batch with a storage error: an earlier answer
/// (a duplicate found in storage) is dropped with the batch, so nobody holds a promise
/// from a batch that was not committed.
fn fail_batch(replies: Replies, appended: Vec<Pending>, duplicates: Vec<Pending>) {
    fail_all(
        replies
            .into_iter()
            .map(|(reply, _)| reply)
            .chain(appended.into_iter().map(|p| p.reply))
            .chain(duplicates.into_iter().map(|p| p.reply)),
    );
}

fn fail_all(waiting: impl IntoIterator<Item = Reply>) {
    for reply in waiting {
        let _ = reply.send(Err(SubmitError::Storage));
    }
}
