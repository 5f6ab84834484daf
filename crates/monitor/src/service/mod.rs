//! The server-side monitor: follows the server's own CT logs and the remote
//! `[[monitor.logs]]` with the monitor crate's follower, matches every new entry
//! against the watch subscriptions of registry accounts, and POSTs each match to the
//! subscription's webhook.
//!
//! Exactly-once delivery across restarts rests on one store transaction
//! ([`MonitorStore::commit_scan`]): a log's newly verified state and the matches found
//! on the way to it are written together, as an outbox; a separate worker drains the
//! outbox and marks each delivery done. A crash before the commit re-reads the same
//! entries (nothing was queued); after it, the queued matches survive and the next pass
//! starts after them.
//!
//! Routes (subscriptions are owned by the registry account whose API key created them):
//! - `POST /api/v1/subscriptions` `{"rule","webhook"}` → 201 the subscription
//! - `GET /api/v1/subscriptions` → the caller's subscriptions
//! - `DELETE /api/v1/subscriptions/{id}` → 204
//! - `POST /api/v1/subscriptions/{id}/secret` → a new signing secret
//! - `GET /api/v1/monitor/status` → followed logs, their verified sizes, alerts and
//!   webhook delivery counts
//!
//! Several processes on one PostgreSQL database run one monitor between them: the
//! holder of the store's [`MonitorLease`] follows and delivers, the others serve the
//! subscription routes and stand by, taking over (from the committed follower state
//! and outbox) when the holder's database session ends. A delivery in flight at that
//! moment may be sent again: delivery is exactly-once in steady state, at-least-once
//! across a crash or failover.
//!
//! Webhooks must reach public addresses unless `[monitor] allow_private_webhooks`
//! (see [`crate::webhook`] for why and how). Deliveries are scheduled so that no
//! account can delay another's alerts: in turns across accounts, one at a time per
//! subscription, and with a circuit breaker per failing endpoint (`schedule`).
//!
//! Built with the `service` feature only: the server links it, `ccc` does not. Who a
//! subscriber is comes from the server through [`SubscriberAuth`] (the registry's
//! accounts), and time from an injected [`Clock`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::HeaderMap;
use clock::Clock;
use serde::Serialize;
use store::MonitorStore;
use store::monitor::{MonitorLease, NewDelivery};
use webapi::ApiError;

use crate::client::{Client, HttpError};
use crate::follow::{LogTarget, follow_once};
use crate::webhook::{self, Destinations, Resolver};
use crate::{Alert, FollowError, LogApi, LogKey, LogState, Match, WatchRule};

mod delivery;
mod followed_log;
mod routes;
mod schedule;

pub use followed_log::{FollowedLog, FollowedLogError};
pub use routes::router;
pub use schedule::{
    BREAKER_COOL_DOWN, BREAKER_FAILURES, MAX_IN_FLIGHT, MAX_IN_FLIGHT_PER_ACCOUNT, RETRY_FIRST,
    RETRY_MAX,
};

/// Open alerts read for the status page and the follower (more would mean a
/// catastrophe the log lines record anyway).
const MAX_ALERTS: usize = 100;
/// How often the lease holder checks it still holds it, and a standby tries to get it.
const LEASE_CHECK: Duration = Duration::from_secs(1);
const LEASE_RETRY: Duration = Duration::from_secs(2);

/// The distinct watch rules of all subscriptions, and the subscription ids of each
/// rule's canonical text.
type RuleSet = (Vec<WatchRule>, HashMap<String, Vec<String>>);

/// The registry account a subscription request comes from, as the server decides it.
/// Implemented by the server over the registry's accounts (`monitor_wiring`), so the
/// monitor does not depend on the registry.
pub trait SubscriberAuth: Send + Sync {
    /// The id of the account whose credentials `headers` carry. The error is the answer
    /// to send: 401 for a missing, unknown or revoked key, exactly as the registry's own
    /// routes answer. Called on the blocking pool (it may read the database).
    fn subscriber(&self, headers: &HeaderMap) -> Result<i64, ApiError>;
}

/// How the monitor runs (the server's `[monitor]` table).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Pause between two passes over every followed log.
    pub interval: Duration,
    /// How long a webhook delivery is retried before it is given up.
    pub webhook_give_up: Duration,
    /// Let webhooks reach non-public addresses (see [`crate::webhook`]).
    pub allow_private_webhooks: bool,
}

/// A log of another operator to follow: its URL and its key (DER SPKI).
pub struct RemoteLog {
    pub url: String,
    pub spki_der: Vec<u8>,
}

/// Why the monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("the monitor's HTTP client")]
    LogClient(#[source] HttpError),
    #[error("the webhook HTTP client")]
    WebhookClient(#[source] reqwest::Error),
}

/// A store call that failed, or whose task on the blocking pool did.
#[derive(Debug, thiserror::Error)]
enum StoreCallError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
}

/// One log the monitor follows.
struct Followed {
    /// Name shown in matches and the status page.
    name: String,
    /// Key of its state in the store.
    key: FollowedLog,
    target: LogTarget,
}

/// What the status page shows about one log.
#[derive(Clone, Serialize)]
struct LogStatus {
    name: String,
    url: String,
    api: LogApi,
    /// Size of the last tree head verified (and persisted).
    tree_size: Option<u64>,
    last_pass_ms: Option<u64>,
    /// The last failure to read the log (not evidence against it).
    last_error: Option<String>,
    /// While the log has an open alert it is not read, so a forked log cannot feed
    /// matches from its other branch; `certcentral alerts clear` resumes it.
    halted: bool,
}

/// An open alert as the status page shows it: the log by its URL.
#[derive(Clone, Serialize)]
struct AlertView {
    at_ms: u64,
    log: String,
    kind: String,
    detail: String,
}

/// Whether this process is the one following and delivering.
#[derive(Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Role {
    /// Not yet asked for the lease.
    #[default]
    Starting,
    /// Holds the monitor lease: follows the logs and delivers.
    Active,
    /// Another process holds it; the log figures shown are from this process's last
    /// time as the active one, if any.
    Standby,
}

#[derive(Default)]
struct StatusBoard {
    role: Role,
    logs: Vec<LogStatus>,
    deliveries: DeliveryCounts,
}

/// Webhook deliveries finished since the server started.
#[derive(Clone, Copy, Default, Serialize)]
struct DeliveryCounts {
    delivered: u64,
    given_up: u64,
}

/// The monitor: its store, who authenticates subscribers, and what it has seen so far.
pub struct MonitorService {
    store: Arc<dyn MonitorStore>,
    auth: Arc<dyn SubscriberAuth>,
    clock: Arc<dyn Clock>,
    logs: Vec<Followed>,
    status: Mutex<StatusBoard>,
    wake_deliveries: tokio::sync::Notify,
    interval: Duration,
    give_up: Duration,
    /// Where webhooks may point; its look-up threads serve the subscription checks
    /// and the deliveries.
    resolver: Resolver,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Returns once `lease` is no longer held, asking every [`LEASE_CHECK`] (on the
/// blocking pool: it is a database round trip).
async fn hold(mut lease: Box<dyn MonitorLease>) {
    loop {
        tokio::time::sleep(LEASE_CHECK).await;
        match tokio::task::spawn_blocking(move || (lease.is_held(), lease)).await {
            Ok((true, back)) => lease = back,
            _ => return,
        }
    }
}

/// A log of this server to follow: its name, the URL it answers on, its key.
pub struct OwnLog {
    pub name: String,
    pub url: String,
    pub spki_der: Vec<u8>,
}

impl MonitorService {
    /// Sets the monitor up; nothing runs until [`MonitorService::spawn`].
    pub fn new(
        config: &ServiceConfig,
        store: Arc<dyn MonitorStore>,
        auth: Arc<dyn SubscriberAuth>,
        own: Vec<OwnLog>,
        remote: Vec<RemoteLog>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let mut logs = Vec::new();
        for l in own {
            let key = LogKey {
                description: format!("certcentral log {}", l.name),
                log_id: pki::ct::log_id(&l.spki_der),
                spki_der: l.spki_der,
                url: l.url.clone(),
            };
            // RFC 6962 reads for our own logs: the checkpoint origin derives from the
            // public URL, which in `--dev` changes with the port at every restart and
            // would look like a different log to a tiles reader.
            logs.push(Followed {
                key: FollowedLog::Local(l.name.clone()),
                target: LogTarget::new(&l.url, key, LogApi::Rfc6962),
                name: l.name,
            });
        }
        for remote in remote {
            let key = LogKey {
                description: remote.url.clone(),
                log_id: pki::ct::log_id(&remote.spki_der),
                spki_der: remote.spki_der,
                url: remote.url.clone(),
            };
            // Remote logs: read through tiles when they serve a checkpoint; decided
            // at the first pass (see `resolve_api`), RFC 6962 until then.
            let target = LogTarget::new(&remote.url, key, LogApi::Rfc6962);
            logs.push(Followed {
                name: target.url.clone(),
                key: FollowedLog::Remote(target.url.clone()),
                target,
            });
        }
        let status = StatusBoard {
            logs: logs
                .iter()
                .map(|l| LogStatus {
                    name: l.name.clone(),
                    url: l.target.url.clone(),
                    api: l.target.api,
                    tree_size: None,
                    last_pass_ms: None,
                    last_error: None,
                    halted: false,
                })
                .collect(),
            role: Role::Starting,
            deliveries: DeliveryCounts::default(),
        };
        Arc::new(Self {
            store,
            auth,
            clock,
            logs,
            status: Mutex::new(status),
            wake_deliveries: tokio::sync::Notify::new(),
            interval: config.interval,
            give_up: config.webhook_give_up,
            resolver: Resolver::new(if config.allow_private_webhooks {
                Destinations::Any
            } else {
                Destinations::PublicOnly
            }),
        })
    }

    /// Starts the monitor on the current runtime: it follows and delivers while this
    /// process holds the monitor lease (always, on SQLite).
    pub fn spawn(self: &Arc<Self>) -> Result<(), ServiceError> {
        let client = Client::new().map_err(ServiceError::LogClient)?;
        let webhooks = webhook::client(&self.resolver).map_err(ServiceError::WebhookClient)?;
        let this = self.clone();
        tokio::spawn(async move { this.lead_loop(client, webhooks).await });
        Ok(())
    }

    /// Competes for the lease; while held, runs the follower and the deliveries, and
    /// stops both as soon as it is lost.
    async fn lead_loop(self: Arc<Self>, client: Client, webhooks: reqwest::Client) {
        loop {
            match self.blocking(|s| s.try_acquire_monitor_lease()).await {
                Ok(Some(lease)) => {
                    tracing::info!("monitor: this process follows the logs and delivers webhooks");
                    lock(&self.status).role = Role::Active;
                    let follow = tokio::spawn(self.clone().follow_loop(client.clone()));
                    let deliver = tokio::spawn(self.clone().delivery_loop(webhooks.clone()));
                    hold(lease).await;
                    follow.abort();
                    deliver.abort();
                    lock(&self.status).role = Role::Standby;
                    tracing::warn!("monitor: lease lost; following and deliveries stopped");
                }
                Ok(None) => {
                    let mut board = lock(&self.status);
                    if board.role != Role::Standby {
                        tracing::info!(
                            "monitor: another process follows the logs and delivers; standing by"
                        );
                        board.role = Role::Standby;
                    }
                }
                Err(e) => tracing::error!(error = %e, "monitor: asking for the lease failed"),
            }
            tokio::time::sleep(LEASE_RETRY).await;
        }
    }

    /// Runs a store call on the blocking pool (SQLite commits fsync).
    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&dyn MonitorStore) -> store::Result<T> + Send + 'static,
    ) -> Result<T, StoreCallError> {
        let this = self.clone();
        Ok(tokio::task::spawn_blocking(move || f(this.store.as_ref())).await??)
    }

    /// The watch rules of every subscription, grouped by their canonical text (what
    /// [`Match::rule`] carries), each with the subscriptions that asked for it.
    async fn rules(self: &Arc<Self>) -> Result<RuleSet, StoreCallError> {
        let subs = self.blocking(|s| s.subscriptions()).await?;
        let mut rules = Vec::new();
        let mut by_rule: HashMap<String, Vec<String>> = HashMap::new();
        for sub in subs {
            let rule: WatchRule = match sub.rule.parse() {
                Ok(r) => r,
                Err(e) => {
                    // Stored rules were parsed when created; a build with a stricter
                    // parser must not stop the monitor for everyone else.
                    tracing::error!(subscription = %sub.id, error = %e, "stored watch rule no longer parses; skipped");
                    continue;
                }
            };
            let text = rule.to_string();
            let ids = by_rule.entry(text).or_default();
            if ids.is_empty() {
                rules.push(rule);
            }
            ids.push(sub.id);
        }
        Ok((rules, by_rule))
    }

    async fn follow_loop(self: Arc<Self>, client: Client) {
        let mut targets: Vec<LogTarget> = self.logs.iter().map(|l| l.target.clone()).collect();
        let mut api_resolved: Vec<bool> = self
            .logs
            .iter()
            .map(|l| matches!(l.key, FollowedLog::Local(_)))
            .collect();
        loop {
            if let Err(e) = self.refresh_halted().await {
                tracing::error!(error = %e, "monitor: reading the open alerts failed");
            }
            match self.rules().await {
                Ok((rules, by_rule)) => {
                    for (i, target) in targets.iter_mut().enumerate() {
                        if lock(&self.status).logs[i].halted {
                            continue;
                        }
                        if !api_resolved[i] {
                            target.api = crate::follow::detect_api(&client, &target.url).await;
                            api_resolved[i] = true;
                            lock(&self.status).logs[i].api = target.api;
                        }
                        self.pass(&client, i, target, &rules, &by_rule).await;
                    }
                }
                Err(e) => tracing::error!(error = %e, "monitor: reading subscriptions failed"),
            }
            self.wake_deliveries.notify_one();
            tokio::time::sleep(self.interval).await;
        }
    }

    /// One pass over log `i`: follow, queue matches with the new state, record status.
    async fn pass(
        self: &Arc<Self>,
        client: &Client,
        i: usize,
        target: &LogTarget,
        rules: &[WatchRule],
        by_rule: &HashMap<String, Vec<String>>,
    ) {
        let log = &self.logs[i];
        let key = log.key.to_string();
        let prev = match self.blocking(move |s| s.log_state(&key)).await {
            Ok(Some(json)) => match serde_json::from_str::<LogState>(&json) {
                Ok(state) => match state.tree() {
                    Ok(_) => Some(state),
                    Err(e) => {
                        self.fail(i, format!("stored state is damaged: {e}"));
                        return;
                    }
                },
                Err(e) => {
                    self.fail(i, format!("stored state is damaged: {e}"));
                    return;
                }
            },
            Ok(None) => None,
            Err(e) => {
                self.fail(i, format!("reading the stored state: {e}"));
                return;
            }
        };
        let result = follow_once(client, target, prev.as_ref(), rules, &mut |_, _| {}).await;
        match result {
            Ok(scan) => {
                let deliveries: Vec<NewDelivery> = scan
                    .matches
                    .iter()
                    .flat_map(|m| {
                        by_rule
                            .get(&m.rule)
                            .into_iter()
                            .flatten()
                            .map(move |sub| (sub, m))
                    })
                    .filter_map(|(sub, m)| {
                        let payload = serde_json::to_string(&WebhookPayload {
                            subscription: sub,
                            log_name: &log.name,
                            found: m,
                        })
                        .ok()?;
                        Some(NewDelivery {
                            subscription_id: sub.clone(),
                            log: log.key.to_string(),
                            leaf_index: m.leaf_index,
                            payload,
                        })
                    })
                    .collect();
                let state = match serde_json::to_string(&scan.state) {
                    Ok(s) => s,
                    Err(e) => {
                        self.fail(i, format!("serializing the state: {e}"));
                        return;
                    }
                };
                let key = log.key.to_string();
                let queued = deliveries.len();
                let now = self.clock.now_ms();
                match self
                    .blocking(move |s| s.commit_scan(&key, &state, &deliveries, now))
                    .await
                {
                    Ok(()) => {
                        if scan.entries > 0 {
                            tracing::info!(log = %log.name, entries = scan.entries, tree_size = scan.state.tree_size, queued, "monitor: verified new entries");
                        }
                        let mut board = lock(&self.status);
                        let st = &mut board.logs[i];
                        st.tree_size = Some(scan.state.tree_size);
                        st.last_pass_ms = Some(self.clock.now_ms());
                        st.last_error = None;
                        if queued > 0 {
                            self.wake_deliveries.notify_one();
                        }
                    }
                    Err(e) => self.fail(i, format!("storing the scan: {e}")),
                }
            }
            Err(FollowError::Misbehaviour(alert)) => {
                tracing::error!(log = %log.name, kind = ?alert.kind, detail = %alert.detail, "!!! ALERT !!! log misbehaved; no longer followed");
                {
                    let mut board = lock(&self.status);
                    board.logs[i].halted = true;
                    board.logs[i].last_error = Some(alert.to_string());
                }
                let key = log.key.to_string();
                let kind = alert_kind(&alert);
                let detail = alert.detail.clone();
                let now = self.clock.now_ms();
                if let Err(e) = self
                    .blocking(move |s| s.record_alert(&key, &kind, &detail, now))
                    .await
                {
                    // Halted in this process all the same; the log line keeps the alert.
                    tracing::error!(error = %e, "monitor: storing the alert failed");
                }
            }
            Err(e) => self.fail(i, e.to_string()),
        }
    }

    /// Halts the logs with open alerts and resumes those an operator cleared, in
    /// whichever process follows (alerts live in the store).
    async fn refresh_halted(self: &Arc<Self>) -> Result<(), StoreCallError> {
        let open = self.blocking(|s| s.open_alerts(MAX_ALERTS)).await?;
        let mut board = lock(&self.status);
        for (log, status) in self.logs.iter().zip(board.logs.iter_mut()) {
            let halted = open.iter().any(|a| log.key.is(&a.log));
            if status.halted && !halted {
                tracing::warn!(log = %log.name, "monitor: alerts cleared; following the log again");
            }
            status.halted = halted;
        }
        Ok(())
    }

    /// A pass that failed for a reason that is not the log's fault: retried next time.
    fn fail(&self, i: usize, error: String) {
        tracing::warn!(log = %self.logs[i].name, %error, "monitor pass failed; retrying");
        let mut board = lock(&self.status);
        board.logs[i].last_error = Some(error);
        board.logs[i].last_pass_ms = Some(self.clock.now_ms());
    }
}

/// The JSON body POSTed to a webhook: the match, and which subscription and log it is for.
#[derive(Serialize)]
struct WebhookPayload<'a> {
    subscription: &'a str,
    log_name: &'a str,
    #[serde(flatten)]
    found: &'a Match,
}

/// The kind's wire name (`bad-signature`, `fork`, …), as the status page shows it.
fn alert_kind(alert: &Alert) -> String {
    serde_json::to_value(alert.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", alert.kind))
}
