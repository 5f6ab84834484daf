//! Sequencing a CT log from several processes over one database (scale-out).
//!
//! Every process accepts submissions: it validates them and queues them in the
//! database ([`SharedSequencing::enqueue`]). Exactly one process at a time holds the
//! log's sequencer lease ([`SharedSequencing::try_acquire_lease`]); it takes queued
//! submissions, integrates them and commits through the lease, which removes them
//! from the queue in the same transaction. Submitters learn their SCT from the
//! dedup index (`LogStore::dedup_many`), which the commit fills.
//!
//! Fencing: a lease commit fails, and changes nothing, once the lease is lost (its
//! holder's database session ended, so another process may hold it now); and, like
//! every `commit_batch`, it cannot shrink the tree or publish a second root for a
//! stored size. So two sequencers can never both extend the log: no fork, no index
//! used twice.

use crate::{Batch, Result};

/// A queued submission as the sequencer takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedSubmission {
    /// Queue position; passed back to [`SequencerLease::commit`] as consumed.
    pub id: i64,
    pub dedup_key: [u8; 32],
    /// The validated submission, encoded by the log service (opaque to storage).
    pub payload: Vec<u8>,
}

/// The shared queue and lease of one log.
pub trait SharedSequencing: Send + Sync + 'static {
    /// Queues a submission. Queuing the same `dedup_key` again while it waits is a
    /// no-op (the first payload stays), so retries cost nothing.
    fn enqueue(&self, dedup_key: &[u8; 32], payload: &[u8]) -> Result<()>;

    /// Takes the sequencer lease if no live process holds it. `None`: someone does.
    fn try_acquire_lease(&self) -> Result<Option<Box<dyn SequencerLease>>>;
}

/// The right to sequence one log, held until dropped or until the holder's
/// database session ends (a crashed holder loses it within seconds).
pub trait SequencerLease: Send {
    /// Whether the lease is still held (a round trip to the database).
    fn is_held(&mut self) -> bool;

    /// Up to `max` queued submissions, oldest first.
    fn pending(&mut self, max: usize) -> Result<Vec<QueuedSubmission>>;

    /// Commits `batch` as [`crate::LogStore::commit_batch`] does and deletes the queue
    /// rows `consumed`, in one transaction that fails unless the lease is still held.
    /// A failure changes nothing.
    fn commit(&mut self, batch: &Batch, consumed: &[i64]) -> Result<()>;
}
