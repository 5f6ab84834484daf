//! Storage of the server's log monitor: watch subscriptions, each followed log's
//! verified state, and the outbox of matches to deliver to webhooks.
//!
//! Why the outbox and the follower state change together: a match must reach each
//! subscription exactly once across restarts. If the new verified state were written
//! before the matches, a crash in between would lose them (the next pass starts after
//! those entries); written after, a crash would find them again and deliver twice.
//! [`MonitorStore::commit_scan`] writes both in one transaction, and a delivery row is
//! marked done once its webhook answered, so a restart resumes exactly where it was.

use crate::Result;

/// A watch subscription: matches of `rule` are POSTed to `webhook`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Opaque random identifier handed to the client.
    pub id: String,
    /// The registry account that owns it.
    pub account_id: i64,
    /// The rule text as the monitor crate parses it (`email:…`, `domain:…`).
    pub rule: String,
    pub webhook: String,
    /// The key deliveries are signed with (HMAC-SHA256), shown to the owner once, at
    /// creation; `None` for subscriptions made before deliveries were signed.
    pub secret: Option<String>,
    pub created_ms: u64,
}

/// One match to deliver, as queued by [`MonitorStore::commit_scan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDelivery {
    pub subscription_id: String,
    /// The followed log's key in [`MonitorStore::log_state`].
    pub log: String,
    pub leaf_index: u64,
    /// The JSON body POSTed to the webhook.
    pub payload: String,
}

/// A queued delivery whose subscription still exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingDelivery {
    pub id: i64,
    pub subscription_id: String,
    /// The account owning the subscription: deliveries are scheduled fairly by it.
    pub account_id: i64,
    pub webhook: String,
    /// The subscription's signing key ([`Subscription::secret`]).
    pub secret: Option<String>,
    pub payload: String,
    pub created_ms: u64,
}

/// Evidence that a followed log misbehaved, kept until an operator clears it: while a
/// log has an open alert the monitor does not follow it (a forked log must not feed
/// matches from its other branch), across restarts and in every process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAlert {
    pub id: i64,
    /// The followed log's key in [`MonitorStore::log_state`].
    pub log: String,
    /// What kind of misbehaviour (`bad-signature`, `fork`, …).
    pub kind: String,
    pub detail: String,
    pub at_ms: u64,
}

/// How a delivery ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The webhook answered 2xx.
    Delivered,
    /// Retried until the give-up time; the reason is kept for the operator.
    GaveUp(String),
}

/// The right to follow logs and deliver webhooks, held by one process at a time among
/// those sharing a store: two deliverers would POST every match twice. Dropping it
/// gives it up.
pub trait MonitorLease: Send {
    /// Whether it is still held (a database round trip for a shared store). Once
    /// `false`, it stays `false`: the holder stops and acquires anew.
    fn is_held(&mut self) -> bool;
}

/// The lease of a store only one process can use: always held.
#[derive(Debug, Default)]
pub struct SoleProcess;

impl MonitorLease for SoleProcess {
    fn is_held(&mut self) -> bool {
        true
    }
}

/// Storage of the server's monitor.
///
/// Contract: when [`MonitorStore::commit_scan`] returns `Ok`, the log's new state and
/// every queued delivery are durable together; on `Err` (or a crash during the call)
/// neither is. A (subscription, log, leaf index) is queued at most once, ever: a second
/// queueing of the same match is ignored, so even a follower state rolled back by an
/// operator does not re-deliver. A delivery finished with
/// [`MonitorStore::finish_delivery`] is never returned by
/// [`MonitorStore::next_deliveries`] again.
pub trait MonitorStore: Send + Sync + 'static {
    /// Adds a subscription; `false` if the account already has `max_per_account`.
    fn add_subscription(&self, sub: &Subscription, max_per_account: u64) -> Result<bool>;

    /// Every subscription, oldest first (the follower matches against all of them).
    fn subscriptions(&self) -> Result<Vec<Subscription>>;

    /// The subscriptions of one account, oldest first.
    fn account_subscriptions(&self, account_id: i64) -> Result<Vec<Subscription>>;

    /// Deletes an account's subscription and its undelivered matches; `false` if the
    /// account has no subscription with that id.
    fn delete_subscription(&self, account_id: i64, id: &str) -> Result<bool>;

    /// Replaces the signing secret of an account's subscription; `false` if the account
    /// has no subscription with that id.
    fn set_subscription_secret(&self, account_id: i64, id: &str, secret: &str) -> Result<bool>;

    /// The serialized follower state of a log, `None` before its first pass.
    fn log_state(&self, log: &str) -> Result<Option<String>>;

    /// Atomically stores a log's new state and queues its matches (see the contract).
    fn commit_scan(
        &self,
        log: &str,
        state: &str,
        deliveries: &[NewDelivery],
        now_ms: u64,
    ) -> Result<()>;

    /// The next delivery of each subscription with unfinished ones — its oldest, so a
    /// subscription's matches go out in order — at most `limit` in all, taken in
    /// turns across accounts: every account's oldest such delivery comes before any
    /// account's second (ties by age). One account's many subscriptions, or its long
    /// backlog, cannot push another account's deliveries out of the answer.
    fn next_deliveries(&self, limit: usize) -> Result<Vec<PendingDelivery>>;

    /// Marks a delivery finished.
    fn finish_delivery(&self, id: i64, outcome: &DeliveryOutcome, now_ms: u64) -> Result<()>;

    /// Records an alert against `log`; it stays open until [`MonitorStore::clear_alerts`].
    fn record_alert(&self, log: &str, kind: &str, detail: &str, at_ms: u64) -> Result<()>;

    /// The open alerts, oldest first, at most `limit`.
    fn open_alerts(&self, limit: usize) -> Result<Vec<StoredAlert>>;

    /// Closes every open alert of `log` (an operator checked the log and resumes
    /// following it); returns how many were open. Closed alerts are kept as history.
    fn clear_alerts(&self, log: &str, at_ms: u64) -> Result<u64>;

    /// The [`MonitorLease`] if no other process holds it, else `None`.
    fn try_acquire_monitor_lease(&self) -> Result<Option<Box<dyn MonitorLease>>>;
}
