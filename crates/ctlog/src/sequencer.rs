//! The sequencer: one OS thread per log that turns the waiting pool into durable
//! batches. It is the only writer of its log, which keeps index assignment trivial.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use merkle::LogEdge;
use merkle::appender::partial_bundle;
use merkle::checkpoint::Checkpoint;
use merkle::note::SignedNote;
use pki::chain::ValidatedChain;
use pki::ct::{
    DigitallySigned, SignedCertificateTimestamp, SignedEntry, TileLeaf, TimestampedEntry,
    leaf_index_extension, merkle_tree_leaf, sct_signed_data, tree_head_signed_data,
};
use pki::rfc6962_note::rfc6962_note_signature;
use pki::tls::Codec;
use sha2::{Digest, Sha256};
use store::{Batch, DedupRecord, NewEntry, StoreError, StoredTreeHead, TileWrite};
use tokio::sync::oneshot;

use crate::{LogCore, OpenError, SubmitError};
use store::log_reads::StoredHashTiles;

/// How long a log may go without a fresh tree head when no entries arrive. Keeps
/// `get-sth` recent for monitors (RFC 6962 §3.5 expects periodic STHs) without writing
/// a row every interval.
pub(crate) const IDLE_HEAD_REFRESH_MS: u64 = 60_000;

/// Issuers remembered as already stored; beyond this the set is cleared (re-inserting
/// an issuer is a harmless no-op in storage).
const KNOWN_ISSUERS_LIMIT: usize = 16 * 1024;

/// A validated submission waiting for the next batch.
pub(crate) struct Pending {
    pub dedup_key: [u8; 32],
    pub validated: ValidatedChain,
    /// `None` for a submission taken from a shared queue: its submitter, maybe in
    /// another process, learns the SCT from the dedup index once the batch commits.
    pub reply: ReplyTo,
}

/// The sequencer's in-memory view of the tree's right edge: `O(log n)` hashes plus
/// the partial data tile (encoded `TileLeaf`s), and the head they were committed with.
#[derive(Clone)]
pub(crate) struct SequencerState {
    edge: LogEdge,
    head: StoredTreeHead,
    known_issuers: HashSet<[u8; 32]>,
}

impl SequencerState {
    /// The tree head this state was last committed with.
    pub(crate) fn head(&self) -> &StoredTreeHead {
        &self.head
    }

    /// Loads the right edge of the stored tree and checks that it hashes to the stored
    /// head; a fresh log gets a signed empty head.
    pub fn resume(core: &LogCore) -> Result<(Self, StoredTreeHead), OpenError> {
        let store = core.store.as_ref();
        let Some(head) = store.tree_head()? else {
            let head = sign_head(core, core.clock.now_ms(), 0, merkle::EMPTY_ROOT)
                .map_err(|e| OpenError::Signing(e.to_string()))?;
            store.commit_batch(&Batch {
                tree_head: Some(head.clone()),
                ..Batch::default()
            })?;
            let state = Self {
                edge: LogEdge::empty(true),
                head: head.clone(),
                known_issuers: HashSet::new(),
            };
            return Ok((state, head));
        };
        check_head_signature(core, &head)?;
        let size = head.tree_size;
        let bundle = match partial_bundle(size) {
            None => (Vec::new(), 0),
            Some(id) => (
                core.data_tile_prefix(id.index, id.width)
                    .map_err(|e| OpenError::Corrupt(e.to_string()))?,
                u64::from(id.width),
            ),
        };
        let edge = LogEdge::resume(
            size,
            &head.root,
            StoredHashTiles(core.store.as_ref()),
            Some(bundle),
        )
        .map_err(|e| OpenError::Corrupt(e.to_string()))?;
        let state = Self {
            edge,
            head: head.clone(),
            known_issuers: HashSet::new(),
        };
        Ok((state, head))
    }
}

/// A stored head must verify under the configured key: a log restarted with another
/// key would hand out SCTs nobody can reconcile with its history.
pub(crate) fn check_head_signature(core: &LogCore, head: &StoredTreeHead) -> Result<(), OpenError> {
    let (signature, used) = pki::ct::DigitallySigned::read_prefix(&head.signature)
        .map_err(|e| OpenError::Corrupt(format!("stored tree head signature: {e}")))?;
    if used != head.signature.len() {
        return Err(OpenError::Corrupt(
            "stored tree head signature has trailing bytes".into(),
        ));
    }
    let signed = tree_head_signed_data(head.timestamp_ms, head.tree_size, &head.root);
    pki::verify::verify_digitally_signed(&core.spki_der, &signed, &signature)
        .map_err(|_| OpenError::KeyMismatch(core.name.clone()))
}

/// Signs a tree head: one ECDSA signature serves `get-sth` and the checkpoint's
/// RFC6962NoteSignature.
fn sign_head(
    core: &LogCore,
    timestamp_ms: u64,
    tree_size: u64,
    root: merkle::Hash,
) -> Result<StoredTreeHead, SubmitError> {
    let signed = tree_head_signed_data(timestamp_ms, tree_size, &root);
    let ds = core
        .signer
        .sign_digitally_signed(&signed)
        .map_err(|e| SubmitError::Encoding(e.to_string()))?;
    let mut signature = Vec::with_capacity(80);
    ds.encode(&mut signature)
        .map_err(|e| SubmitError::Encoding(e.to_string()))?;
    let text = Checkpoint::new(core.origin.clone(), tree_size, root).to_text();
    let mut note = SignedNote::new(text).map_err(|e| SubmitError::Encoding(e.to_string()))?;
    note.signatures.push(
        rfc6962_note_signature(&core.origin, &core.spki_der, timestamp_ms, &ds)
            .map_err(|e| SubmitError::Encoding(e.to_string()))?,
    );
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
        .name(format!("sequencer-{}", core.name))
        .spawn(move || run(core, state, rx, stopped, pool_size))?;
    Ok(Running { pool, stop, thread })
}

/// Sequences the pool every interval until told to stop (or the `Log` is dropped):
/// then at once integrates everything already waiting, so those submitters get their
/// SCTs, and returns. Submissions that arrive after that find the pool closed (503).
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
        let idle_refresh = !stopping
            && core.clock.now_ms() >= state.head.timestamp_ms.saturating_add(IDLE_HEAD_REFRESH_MS);
        let full = batch.len() == max;
        if !batch.is_empty() || idle_refresh {
            let started = Instant::now();
            let count = batch.len();
            let commit = &mut |writes: &Batch| core.store.commit_batch(writes);
            match integrate(&core, &state, batch, idle_refresh, commit) {
                Ok((new_state, replies)) => {
                    state = new_state;
                    core.publish(state.head.clone());
                    for (reply, result) in replies {
                        answer(reply, result);
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
                    // Give storage a moment before the next attempt.
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

/// Where a submitter waits for its SCT.
pub(crate) type ReplyTo = Option<oneshot::Sender<Result<SignedCertificateTimestamp, SubmitError>>>;

/// Tells a waiting submitter (if it waits in this process) how its submission ended.
pub(crate) fn answer(reply: ReplyTo, result: Result<SignedCertificateTimestamp, SubmitError>) {
    if let Some(reply) = reply {
        let _ = reply.send(result);
    }
}

pub(crate) type Replies = Vec<(ReplyTo, Result<SignedCertificateTimestamp, SubmitError>)>;

/// A submission appended to the tree in this batch, waiting for its SCT signature.
struct Appended {
    pending: Pending,
    /// What the SCT signs (RFC 6962 §3.2).
    signed_data: Vec<u8>,
    /// The SCT's extensions: the static-ct-api leaf index.
    extensions: Vec<u8>,
}

/// Why a batch failed as a whole; every submission in it is answered with an error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BatchError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("signing: {0}")]
    Signing(SubmitError),
}

/// Integrates one batch into a copy of `state` and commits it with `commit` (the
/// store's, or a sequencer lease's). On success returns the new state and the answers
/// to send; on failure the batch's submitters are told and `state` stays as it was
/// (nothing of the batch is stored).
pub(crate) fn integrate(
    core: &LogCore,
    state: &SequencerState,
    batch: Vec<Pending>,
    refresh_head: bool,
    commit: &mut dyn FnMut(&Batch) -> Result<(), StoreError>,
) -> Result<(SequencerState, Replies), BatchError> {
    let started = Instant::now();
    let mut next = state.clone();
    let timestamp = core
        .clock
        .now_ms()
        .max(state.head.timestamp_ms.saturating_add(1));
    let mut writes = Batch::default();
    let mut replies: Replies = Vec::with_capacity(batch.len());
    // Submissions appended in this batch, in order.
    let mut appended: Vec<Appended> = Vec::with_capacity(batch.len());
    // Dedup key → position in `appended`, to answer duplicates inside the batch.
    let mut in_batch: HashMap<[u8; 32], usize> = HashMap::new();
    let mut duplicates = Vec::new();

    // One batched, sorted look-up against storage; the sequencer is the only writer,
    // so what it finds here cannot change before its own commit.
    let keys: Vec<[u8; 32]> = batch.iter().map(|p| p.dedup_key).collect();
    let known = match core.store.dedup_many(&keys) {
        Ok(known) => known,
        Err(e) => {
            fail_all(batch.into_iter().map(|p| p.reply));
            return Err(e.into());
        }
    };
    for (pending, known) in batch.into_iter().zip(known) {
        if let Some(record) = known {
            let answer = core.sct_from_record(&record);
            replies.push((pending.reply, answer));
            continue;
        }
        if in_batch.contains_key(&pending.dedup_key) {
            duplicates.push(pending);
            continue;
        }
        match append_entry(&mut next, &mut writes, timestamp, &pending) {
            Ok((signed_data, extensions)) => {
                in_batch.insert(pending.dedup_key, appended.len());
                appended.push(Appended {
                    pending,
                    signed_data,
                    extensions,
                });
            }
            Err(e) => replies.push((pending.reply, Err(e))),
        }
    }

    if appended.is_empty() && !refresh_head {
        // Only entries already logged (answered from storage) or rejects: nothing
        // to commit, no new tree head.
        debug_assert!(duplicates.is_empty());
        return Ok((next, replies));
    }

    // Signing dominates the batch's CPU time and every submitter is waiting, so it
    // runs on all cores.
    let messages: Vec<&[u8]> = appended.iter().map(|a| a.signed_data.as_slice()).collect();
    let scts = match sign_all(core, &messages).and_then(|signatures| {
        let mut scts = Vec::with_capacity(appended.len());
        for ((entry, a), signature) in writes.entries.iter_mut().zip(&appended).zip(signatures) {
            signature
                .encode(&mut entry.record.sct_signature)
                .map_err(|e| SubmitError::Encoding(e.to_string()))?;
            scts.push(SignedCertificateTimestamp {
                log_id: core.log_id,
                timestamp,
                extensions: a.extensions.clone(),
                signature,
            });
        }
        Ok(scts)
    }) {
        Ok(scts) => scts,
        Err(e) => {
            fail_batch(replies, appended);
            return Err(BatchError::Signing(e));
        }
    };

    let size = next.edge.size();
    let tiles = next.edge.take_writes();
    writes.hash_tiles = tiles.hash_tiles.into_iter().map(TileWrite::from).collect();
    writes.data_tiles = tiles
        .entry_bundles
        .into_iter()
        .map(TileWrite::from)
        .collect();
    let head = match sign_head(core, timestamp, size, next.edge.root()) {
        Ok(head) => head,
        Err(e) => {
            fail_batch(replies, appended);
            return Err(BatchError::Signing(e));
        }
    };
    writes.tree_head = Some(head.clone());
    let prepared = Instant::now();
    if let Err(e) = commit(&writes) {
        fail_batch(replies, appended);
        return Err(e.into());
    }
    tracing::debug!(
        log = %core.name,
        prepare_ms = (prepared - started).as_millis() as u64,
        commit_ms = prepared.elapsed().as_millis() as u64,
        "batch committed"
    );
    core.recent.insert(
        writes
            .entries
            .iter()
            .map(|e| (e.leaf_hash, e.record.leaf_index)),
    );
    for (fingerprint, _) in &writes.issuers {
        if next.known_issuers.len() >= KNOWN_ISSUERS_LIMIT {
            next.known_issuers.clear();
        }
        next.known_issuers.insert(*fingerprint);
    }
    for pending in duplicates {
        let sct = scts[in_batch[&pending.dedup_key]].clone();
        replies.push((pending.reply, Ok(sct)));
    }
    for (a, sct) in appended.into_iter().zip(scts) {
        replies.push((a.pending.reply, Ok(sct)));
    }
    next.head = head;
    Ok((next, replies))
}

/// Signs every message, spread over the machine's cores; order is kept.
fn sign_all(core: &LogCore, messages: &[&[u8]]) -> Result<Vec<DigitallySigned>, SubmitError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(messages.len().div_ceil(64))
        .max(1);
    let sign = |chunk: &[&[u8]]| -> Result<Vec<DigitallySigned>, SubmitError> {
        chunk
            .iter()
            .map(|m| {
                core.signer
                    .sign_digitally_signed(m)
                    .map_err(|e| SubmitError::Encoding(e.to_string()))
            })
            .collect()
    };
    if threads == 1 {
        return sign(messages);
    }
    let chunk = messages.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = messages
            .chunks(chunk)
            .map(|part| scope.spawn(move || sign(part)))
            .collect();
        let mut out = Vec::with_capacity(messages.len());
        for handle in handles {
            out.extend(handle.join().map_err(|_| SubmitError::Storage)??);
        }
        Ok(out)
    })
}

/// Answers every submitter of a failed batch, appended or not, with a storage error:
/// an earlier answer (a rejected chain, a dedup hit) is dropped with the batch, so
/// nobody holds an SCT whose batch was not committed.
fn fail_batch(replies: Replies, appended: Vec<Appended>) {
    fail_all(
        replies
            .into_iter()
            .map(|(reply, _)| reply)
            .chain(appended.into_iter().map(|a| a.pending.reply)),
    );
}

fn fail_all(waiting: impl IntoIterator<Item = ReplyTo>) {
    for reply in waiting {
        answer(reply, Err(SubmitError::Storage));
    }
}

/// Appends one entry to the tree, the data tile and the index rows (whose SCT
/// signature is filled in later). Returns the bytes the SCT signs and its extensions.
fn append_entry(
    next: &mut SequencerState,
    writes: &mut Batch,
    timestamp: u64,
    pending: &Pending,
) -> Result<(Vec<u8>, Vec<u8>), SubmitError> {
    let index = next.edge.next_index();
    let extensions =
        leaf_index_extension(index).map_err(|e| SubmitError::Encoding(e.to_string()))?;
    let validated = &pending.validated;
    let entry = TimestampedEntry {
        timestamp,
        entry: validated.entry.clone(),
        extensions,
    };
    let pre_certificate = match validated.entry {
        SignedEntry::Precert { .. } => Some(validated.leaf_der.clone()),
        SignedEntry::X509(_) => None,
    };
    let chain_fingerprints: Vec<[u8; 32]> = validated
        .chain_der
        .iter()
        .map(|der| Sha256::digest(der).into())
        .collect();
    let tile_leaf = TileLeaf {
        entry,
        pre_certificate,
        chain_fingerprints,
    };
    // Encode first: an entry that cannot be encoded must not touch the tree.
    let mut leaf_bytes = Vec::new();
    tile_leaf
        .encode(&mut leaf_bytes)
        .map_err(|e| SubmitError::Encoding(e.to_string()))?;
    let leaf = merkle_tree_leaf(&tile_leaf.entry);
    let signed_data = sct_signed_data(&tile_leaf.entry);

    let leaf_hash = merkle::leaf_hash(&leaf);
    next.edge
        .append(leaf_hash, &leaf_bytes)
        .map_err(|e| SubmitError::Encoding(e.to_string()))?;
    for (der, fingerprint) in validated
        .chain_der
        .iter()
        .zip(&tile_leaf.chain_fingerprints)
    {
        if !next.known_issuers.contains(fingerprint)
            && !writes.issuers.iter().any(|(fp, _)| fp == fingerprint)
        {
            writes.issuers.push((*fingerprint, der.clone()));
        }
    }
    writes.entries.push(NewEntry {
        dedup_key: pending.dedup_key,
        leaf_hash,
        record: DedupRecord {
            leaf_index: index,
            timestamp_ms: timestamp,
            sct_signature: Vec::with_capacity(80),
        },
    });
    Ok((signed_data, tile_leaf.entry.extensions))
}
