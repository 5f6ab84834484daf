//! A log served by several processes over one database (see `store::shared`).
//!
//! Each process runs one coordinator thread per log. It
//! - competes for the sequencer lease; the holder resumes the tree from storage
//!   (so a takeover continues exactly where the last commit left the log) and
//!   sequences the shared queue every interval, committing through the lease;
//! - answers this process's waiting submitters from the dedup index, which every
//!   commit fills, whichever process made it;
//! - on non-holders, publishes the newest stored tree head (after checking its
//!   signature) so `get-sth` and proofs follow the log.
//!
//! A holder that loses its lease or fails a commit drops its in-memory tree and
//! competes again: only storage is authoritative, and storage refuses a stale
//! holder's commit (fencing), so the worst a split brain can do is waste a batch.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pki::chain::ValidatedChain;
use pki::ct::{SignedCertificateTimestamp, SignedEntry, TimestampedEntry};
use pki::tls::{Codec, LengthPrefix, Reader, TlsError, put_opaque};
use store::shared::{SequencerLease, SharedSequencing};
use tokio::sync::oneshot;

use crate::sequencer::{self, Pending, SequencerState};
use crate::{LogCore, SubmitError};

/// How often a non-holder tries to take the lease: a dead holder's session ends
/// within seconds, and a takeover then waits at most this long.
const LEASE_RETRY: Duration = Duration::from_millis(500);

/// How often the coordinator wakes: to notice a new tree head (and then answer
/// its waiters at once) and to take over a free lease.
const POLL: Duration = Duration::from_millis(50);

/// Waiters are looked up when the tree grew; otherwise only this often (for
/// resubmissions of logged entries, which grow nothing). Looking up every waiting
/// key on every wake-up would cost the database more than the submissions do.
const IDLE_WAITER_CHECK: Duration = Duration::from_secs(1);

/// Submitters of this process waiting for their SCT, by dedup key.
#[derive(Default)]
pub(crate) struct Waiters {
    by_key: Mutex<HashMap<[u8; 32], Vec<WaitingReply>>>,
}

type WaitingReply = oneshot::Sender<Result<SignedCertificateTimestamp, SubmitError>>;

impl Waiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Vec<WaitingReply>>> {
        self.by_key.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a waiter; `None` when `limit` keys are already waiting.
    pub(crate) fn add(
        &self,
        key: [u8; 32],
        limit: usize,
    ) -> Option<oneshot::Receiver<Result<SignedCertificateTimestamp, SubmitError>>> {
        let mut map = self.lock();
        if map.len() >= limit && !map.contains_key(&key) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        map.entry(key).or_default().push(tx);
        Some(rx)
    }

    /// Forgets waiters whose receivers are gone (timed out or cancelled).
    pub(crate) fn prune(&self, key: &[u8; 32]) {
        let mut map = self.lock();
        if let Some(list) = map.get_mut(key) {
            list.retain(|tx| !tx.is_closed());
            if list.is_empty() {
                map.remove(key);
            }
        }
    }

    fn keys(&self) -> Vec<[u8; 32]> {
        self.lock().keys().copied().collect()
    }

    fn answer(&self, key: &[u8; 32], result: &Result<SignedCertificateTimestamp, SubmitError>) {
        let Some(list) = self.lock().remove(key) else {
            return;
        };
        for tx in list {
            let _ = tx.send(match result {
                Ok(sct) => Ok(sct.clone()),
                Err(_) => Err(SubmitError::Storage),
            });
        }
    }
}

/// Runs the coordinator until `stop`'s sender is dropped (the `Log` is dropped).
pub(crate) fn run(
    core: Arc<LogCore>,
    sequencing: Arc<dyn SharedSequencing>,
    waiters: Arc<Waiters>,
    max_batch: usize,
    stop: Receiver<()>,
) {
    let interval = core.sequence_interval;
    let mut holder: Option<(Box<dyn SequencerLease>, SequencerState)> = None;
    let mut next_lease_try = Instant::now();
    let mut next_batch = Instant::now() + interval;
    let mut answered_size = u64::MAX;
    let mut next_waiter_check = Instant::now();
    loop {
        let wait = if holder.is_some() {
            next_batch
                .saturating_duration_since(Instant::now())
                .min(POLL)
        } else {
            POLL
        };
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                // Stopping: the holder sequences what is queued once more, so this
                // process's waiters get their SCTs; the lease goes with `holder`.
                if let Some((mut lease, mut state)) = holder.take() {
                    sequence_once(&core, lease.as_mut(), &mut state, max_batch);
                }
                answer_waiters(&core, &waiters);
                return;
            }
        }
        if holder.is_none() && Instant::now() >= next_lease_try {
            next_lease_try = Instant::now() + LEASE_RETRY;
            holder = take_lease(&core, sequencing.as_ref());
            next_batch = Instant::now();
        }
        if let Some((lease, state)) = holder.as_mut()
            && Instant::now() >= next_batch
        {
            next_batch = (next_batch + interval).max(Instant::now() + interval / 4);
            if !sequence_once(&core, lease.as_mut(), state, max_batch) {
                tracing::warn!(log = %core.name, "giving up the sequencer lease");
                holder = None;
                next_lease_try = Instant::now() + LEASE_RETRY;
            }
        }
        if holder.is_none() {
            follow_head(&core);
        }
        let size = core.published().head.tree_size;
        if size != answered_size || Instant::now() >= next_waiter_check {
            answered_size = size;
            next_waiter_check = Instant::now() + IDLE_WAITER_CHECK;
            answer_waiters(&core, &waiters);
        }
    }
}

/// Takes the lease if free and resumes the tree from storage.
fn take_lease(
    core: &LogCore,
    sequencing: &dyn SharedSequencing,
) -> Option<(Box<dyn SequencerLease>, SequencerState)> {
    let answer = sequencing.try_acquire_lease();
    if answer.is_ok() {
        core.lease_known
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let lease = match answer {
        Ok(Some(lease)) => lease,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(log = %core.name, error = %e, "cannot ask for the sequencer lease");
            return None;
        }
    };
    match SequencerState::resume(core) {
        Ok((state, head)) => {
            tracing::info!(
                log = %core.name,
                tree_size = head.tree_size,
                "holding the sequencer lease"
            );
            core.publish(head);
            Some((lease, state))
        }
        Err(e) => {
            tracing::error!(log = %core.name, error = %e, "cannot resume the log; lease released");
            None
        }
    }
}

/// One batch from the shared queue. `false`: the lease is lost or the state is
/// doubtful, and the caller must drop both.
fn sequence_once(
    core: &LogCore,
    lease: &mut dyn SequencerLease,
    state: &mut SequencerState,
    max_batch: usize,
) -> bool {
    let queued = match lease.pending(max_batch) {
        Ok(queued) => queued,
        Err(e) => {
            tracing::warn!(log = %core.name, error = %e, "reading the submission queue");
            return lease.is_held();
        }
    };
    let consumed: Vec<i64> = queued.iter().map(|q| q.id).collect();
    let batch: Vec<Pending> = queued
        .into_iter()
        .filter_map(|q| match QueuedSubmission::read_bytes(&q.payload) {
            Ok(QueuedSubmission { validated }) => Some(Pending {
                dedup_key: q.dedup_key,
                validated,
                reply: None,
            }),
            Err(e) => {
                tracing::error!(log = %core.name, queue_id = q.id, error = %e, "undecodable queued submission dropped");
                None
            }
        })
        .collect();
    let refresh = core.clock.now_ms()
        >= state
            .head()
            .timestamp_ms
            .saturating_add(sequencer::IDLE_HEAD_REFRESH_MS);
    if consumed.is_empty() && !refresh {
        return lease.is_held();
    }
    let started = Instant::now();
    let count = batch.len();
    let commit = &mut |writes: &store::Batch| lease.commit(writes, &consumed);
    match sequencer::integrate(core, state, batch, refresh, commit) {
        Ok((next, _replies)) => {
            *state = next;
            core.publish(state.head().clone());
            tracing::debug!(
                log = %core.name,
                entries = count,
                tree_size = state.head().tree_size,
                millis = started.elapsed().as_millis() as u64,
                "core batch sequenced"
            );
            true
        }
        Err(e) => {
            tracing::error!(log = %core.name, error = %e, "core batch not sequenced");
            false
        }
    }
}

/// Publishes the newest stored head, if it is newer and signed by this log's key.
fn follow_head(core: &LogCore) {
    let stored = match core.store.tree_head() {
        Ok(Some(head)) => head,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(log = %core.name, error = %e, "reading the tree head");
            return;
        }
    };
    let current = core.published();
    let newer = stored.tree_size > current.head.tree_size
        || (stored.tree_size == current.head.tree_size
            && stored.timestamp_ms > current.head.timestamp_ms);
    if !newer {
        return;
    }
    if let Err(e) = sequencer::check_head_signature(core, &stored) {
        tracing::error!(log = %core.name, error = %e, "stored tree head refused");
        return;
    }
    core.publish(stored);
}

/// Answers this process's waiting submitters whose entries are now logged.
fn answer_waiters(core: &LogCore, waiters: &Waiters) {
    let keys = waiters.keys();
    if keys.is_empty() {
        return;
    }
    let records = match core.store.dedup_many(&keys) {
        Ok(records) => records,
        Err(e) => {
            tracing::warn!(log = %core.name, error = %e, "looking up waiting submissions");
            return;
        }
    };
    for (key, record) in keys.iter().zip(records) {
        if let Some(record) = record {
            waiters.answer(key, &core.sct_from_record(&record));
        }
    }
}

/// Queue payload: what the sequencer needs of a validated chain.
///
/// ```text
/// struct {
///   TimestampedEntry entry;            /* timestamp 0, no extensions */
///   opaque leaf_der<0..2^24-1>;
///   uint8 chain_length;
///   opaque chain_der<0..2^24-1>[chain_length];
/// } QueuedSubmission;
/// ```
///
/// Every process sharing the database reads what the others queued, so the layout
/// is fixed; an x509 entry must be the leaf certificate itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueuedSubmission {
    pub(crate) validated: ValidatedChain,
}

impl Codec for QueuedSubmission {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        let validated = &self.validated;
        TimestampedEntry {
            timestamp: 0,
            entry: validated.entry.clone(),
            extensions: Vec::new(),
        }
        .write(out)?;
        put_opaque(out, LengthPrefix::U24, 0, "leaf_der", &validated.leaf_der)?;
        let count = u8::try_from(validated.chain_der.len()).map_err(|_| TlsError::TooLong {
            field: "chain_der",
            len: validated.chain_der.len(),
            max: usize::from(u8::MAX),
        })?;
        out.push(count);
        for der in &validated.chain_der {
            put_opaque(out, LengthPrefix::U24, 0, "chain_der", der)?;
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, TlsError> {
        let entry = TimestampedEntry::read(r)?;
        let leaf_der = r.opaque(LengthPrefix::U24, 0, "leaf_der")?.to_vec();
        let count = r.u8("chain_length")?;
        let chain_der = (0..count)
            .map(|_| Ok(r.opaque(LengthPrefix::U24, 0, "chain_der")?.to_vec()))
            .collect::<Result<Vec<_>, TlsError>>()?;
        if let SignedEntry::X509(der) = &entry.entry
            && der != &leaf_der
        {
            return Err(TlsError::Inconsistent(
                "an x509 entry must be the leaf certificate",
            ));
        }
        Ok(Self {
            validated: ValidatedChain {
                entry: entry.entry,
                leaf_der,
                chain_der,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode_payload(validated: &ValidatedChain) -> Result<Vec<u8>, TlsError> {
        QueuedSubmission {
            validated: validated.clone(),
        }
        .to_bytes()
    }

    fn decode_payload(input: &[u8]) -> Option<ValidatedChain> {
        QueuedSubmission::read_bytes(input)
            .ok()
            .map(|queued| queued.validated)
    }

    fn sample() -> ValidatedChain {
        ValidatedChain {
            entry: SignedEntry::Precert {
                issuer_key_hash: [7; 32],
                tbs_certificate: vec![0x30, 0x01, 0x00],
            },
            leaf_der: vec![0x30, 0x02, 0x01, 0x02],
            chain_der: vec![vec![0x30, 0x00], vec![0x30, 0x03, 1, 2, 3]],
        }
    }

    #[test]
    fn payload_round_trips() {
        let v = sample();
        let bytes = encode_payload(&v).expect("encode");
        let back = decode_payload(&bytes).expect("decode");
        assert_eq!(back.entry, v.entry);
        assert_eq!(back.leaf_der, v.leaf_der);
        assert_eq!(back.chain_der, v.chain_der);
        let x509 = ValidatedChain {
            entry: SignedEntry::X509(vec![0x30, 0x02, 5, 5]),
            leaf_der: vec![0x30, 0x02, 5, 5],
            chain_der: vec![],
        };
        let back = decode_payload(&encode_payload(&x509).expect("encode")).expect("decode");
        assert_eq!(back.leaf_der, x509.leaf_der);
    }

    #[test]
    fn truncated_or_extended_payloads_are_refused() {
        let bytes = encode_payload(&sample()).expect("encode");
        for cut in 0..bytes.len() {
            assert!(decode_payload(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_payload(&longer).is_none());
    }

    #[test]
    fn x509_entry_must_be_the_leaf() {
        let v = ValidatedChain {
            entry: SignedEntry::X509(vec![0x30, 0x02, 5, 5]),
            leaf_der: vec![0x30, 0x02, 6, 6],
            chain_der: vec![],
        };
        assert!(decode_payload(&encode_payload(&v).expect("encode")).is_none());
    }

    #[test]
    fn waiters_are_bounded_and_answered_once() {
        let waiters = Waiters::default();
        let mut first = waiters.add([1; 32], 2).expect("room");
        let _second = waiters.add([2; 32], 2).expect("room");
        assert!(waiters.add([3; 32], 2).is_none(), "full");
        let mut again = waiters.add([1; 32], 2).expect("same key joins");
        waiters.answer(&[1; 32], &Err(SubmitError::Storage));
        assert!(first.try_recv().expect("answered").is_err());
        assert!(again.try_recv().expect("answered").is_err());
        assert_eq!(waiters.keys(), vec![[2; 32]]);
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_payload(&bytes);
        }
    }
}
