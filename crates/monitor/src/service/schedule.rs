//! Which outbox deliveries run now. Webhook URLs belong to registry accounts, so one
//! account must not be able to delay everyone else's alerts — e.g. someone mis-issuing
//! in a victim's name, who subscribes a hundred times to a black hole so that the
//! victim's alert waits behind them. Hence:
//!
//! - **Fair across accounts**: the store offers candidates in turns across accounts
//!   ([`store::MonitorStore::next_deliveries`]), and one account has at most
//!   [`MAX_IN_FLIGHT_PER_ACCOUNT`] of the [`MAX_IN_FLIGHT`] deliveries in flight.
//! - **One at a time per subscription**, in the order its matches were queued.
//! - **A circuit breaker per endpoint** (an account's webhook URL): each failed POST
//!   pauses the endpoint, doubling from [`RETRY_FIRST`] to [`RETRY_MAX`]; after
//!   [`BREAKER_FAILURES`] failures in a row it is left alone for
//!   [`BREAKER_COOL_DOWN`], then one probe is sent (one at a time while it is
//!   failing). A delivery whose give-up time has passed while its endpoint's breaker
//!   is open is given up without another attempt; one whose endpoint is merely
//!   pausing waits for its attempt (every delivery gets at least one, also after an
//!   outage of this server: the breaker lives in memory). A success closes the
//!   breaker.
//!
//! A failed attempt releases its slot at once: nobody holds a slot while waiting to
//! retry, and a black hole holds one for at most one request time-out.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use store::monitor::{DeliveryOutcome, PendingDelivery};

/// Deliveries in flight at once, all accounts together.
pub const MAX_IN_FLIGHT: usize = 32;
/// Deliveries of one account in flight at once.
pub const MAX_IN_FLIGHT_PER_ACCOUNT: usize = 4;
/// Pause after an endpoint's first failure; it doubles with each further one…
pub const RETRY_FIRST: Duration = Duration::from_millis(500);
/// …up to this.
pub const RETRY_MAX: Duration = Duration::from_secs(60);
/// Failures in a row that open an endpoint's breaker.
pub const BREAKER_FAILURES: u32 = 5;
/// How long an open breaker keeps an endpoint unattempted before one probe.
pub const BREAKER_COOL_DOWN: Duration = Duration::from_secs(5 * 60);

/// An endpoint: the same URL of two accounts is two endpoints, so that one account's
/// failures never hold back another's deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Endpoint {
    account_id: i64,
    webhook: String,
}

impl Endpoint {
    fn of(p: &PendingDelivery) -> Self {
        Self {
            account_id: p.account_id,
            webhook: p.webhook.clone(),
        }
    }
}

/// A failing endpoint (endpoints that work are not tracked).
#[derive(Debug, Default)]
struct Failing {
    /// Failed attempts in a row.
    failures: u32,
    /// No attempt before this time (ms).
    retry_at_ms: u64,
    /// An attempt is in flight: while failing, an endpoint gets one at a time.
    probing: bool,
}

impl Failing {
    fn open(&self) -> bool {
        self.failures >= BREAKER_FAILURES
    }
}

/// How one POST went.
#[derive(Debug)]
pub enum Attempt {
    /// 2xx.
    Delivered,
    /// The destination policy forbids the webhook: retrying cannot help.
    Refused(String),
    /// Anything else the endpoint is accountable for (status, time-out, connection).
    Failed(String),
    /// This process could not make the request (no look-up thread free): not the
    /// endpoint's fault; tried again on a later round.
    Deferred,
}

/// What to do now with the candidates offered.
#[derive(Debug, Default)]
pub struct Plan {
    /// Attempt these.
    pub start: Vec<PendingDelivery>,
    /// Give these up without another attempt, for the reason given.
    pub give_up: Vec<(PendingDelivery, String)>,
}

/// The delivery loop's bookkeeping. Every delivery it plans (started or given up) is
/// in flight until [`Scheduler::done`].
#[derive(Debug)]
pub struct Scheduler {
    give_up_ms: u64,
    running: HashSet<i64>,
    /// Finished since the current outbox read began — that read may have started
    /// before their completion was committed and still list them, so they are skipped
    /// until the next read instead of being sent again.
    finished: HashSet<i64>,
    busy_subscriptions: HashSet<String>,
    per_account: HashMap<i64, usize>,
    failing: HashMap<Endpoint, Failing>,
}

impl Scheduler {
    /// Deliveries are given up `give_up` after they were queued.
    pub fn new(give_up: Duration) -> Self {
        Self {
            give_up_ms: u64::try_from(give_up.as_millis()).unwrap_or(u64::MAX),
            running: HashSet::new(),
            finished: HashSet::new(),
            busy_subscriptions: HashSet::new(),
            per_account: HashMap::new(),
            failing: HashMap::new(),
        }
    }

    /// Free slots.
    pub fn free(&self) -> usize {
        MAX_IN_FLIGHT.saturating_sub(self.running.len())
    }

    /// An outbox read begins: from now on it sees every delivery finished so far.
    pub fn begin_read(&mut self) {
        self.finished.clear();
    }

    fn deadline_ms(&self, p: &PendingDelivery) -> u64 {
        p.created_ms.saturating_add(self.give_up_ms)
    }

    /// Chooses among `candidates` (in the store's fair order) what runs now.
    pub fn plan(&mut self, candidates: Vec<PendingDelivery>, now_ms: u64) -> Plan {
        // Breakers of endpoints nobody has asked for in a long while are forgotten
        // (deleted subscriptions), so the map stays as small as the failing set.
        let forget_before = now_ms.saturating_sub(2 * BREAKER_COOL_DOWN.as_millis() as u64);
        self.failing
            .retain(|_, f| f.probing || f.retry_at_ms >= forget_before);

        let mut plan = Plan::default();
        for p in candidates {
            if self.running.len() >= MAX_IN_FLIGHT {
                break;
            }
            if self.running.contains(&p.id)
                || self.finished.contains(&p.id)
                || self.busy_subscriptions.contains(&p.subscription_id)
                || self.per_account.get(&p.account_id).copied().unwrap_or(0)
                    >= MAX_IN_FLIGHT_PER_ACCOUNT
            {
                continue;
            }
            let deadline = self.deadline_ms(&p);
            if let Some(f) = self.failing.get_mut(&Endpoint::of(&p)) {
                if f.open() && now_ms > deadline {
                    let why = format!(
                        "the webhook failed {} times in a row (circuit open); given up",
                        f.failures
                    );
                    self.take(&p);
                    plan.give_up.push((p, why));
                    continue;
                }
                if f.probing || now_ms < f.retry_at_ms {
                    continue;
                }
                f.probing = true;
            }
            self.take(&p);
            plan.start.push(p);
        }
        plan
    }

    fn take(&mut self, p: &PendingDelivery) {
        self.running.insert(p.id);
        self.busy_subscriptions.insert(p.subscription_id.clone());
        *self.per_account.entry(p.account_id).or_default() += 1;
    }

    /// Records how an attempt at `p` went; the outcome to store if the delivery is
    /// finished, `None` if it is to be tried again.
    pub fn attempted(
        &mut self,
        p: &PendingDelivery,
        attempt: Attempt,
        now_ms: u64,
    ) -> Option<DeliveryOutcome> {
        let endpoint = Endpoint::of(p);
        match attempt {
            Attempt::Delivered => {
                self.failing.remove(&endpoint);
                Some(DeliveryOutcome::Delivered)
            }
            Attempt::Refused(why) => {
                self.release_probe(&endpoint);
                Some(DeliveryOutcome::GaveUp(why))
            }
            Attempt::Deferred => {
                self.release_probe(&endpoint);
                None
            }
            Attempt::Failed(why) => {
                let f = self.failing.entry(endpoint).or_default();
                f.failures = f.failures.saturating_add(1);
                f.probing = false;
                let pause = if f.open() {
                    if f.failures == BREAKER_FAILURES {
                        tracing::warn!(subscription = %p.subscription_id, account = p.account_id, cool_down = ?BREAKER_COOL_DOWN, "monitor: webhook keeps failing; circuit open");
                    }
                    BREAKER_COOL_DOWN
                } else {
                    RETRY_FIRST
                        .saturating_mul(1 << (f.failures - 1).min(16))
                        .min(RETRY_MAX)
                };
                let pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX);
                f.retry_at_ms = now_ms.saturating_add(pause_ms);
                if now_ms.saturating_add(pause_ms) > self.deadline_ms(p) {
                    Some(DeliveryOutcome::GaveUp(why))
                } else {
                    None
                }
            }
        }
    }

    fn release_probe(&mut self, endpoint: &Endpoint) {
        if let Some(f) = self.failing.get_mut(endpoint) {
            f.probing = false;
        }
    }

    /// `p`'s task ended; `finished` if its outcome was stored.
    pub fn done(&mut self, p: &PendingDelivery, finished: bool) {
        self.running.remove(&p.id);
        self.busy_subscriptions.remove(&p.subscription_id);
        if let Some(n) = self.per_account.get_mut(&p.account_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_account.remove(&p.account_id);
            }
        }
        if finished {
            self.finished.insert(p.id);
        }
    }
}

#[cfg(test)]
mod tests;
