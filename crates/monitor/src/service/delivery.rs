//! Draining the outbox: the loop that asks the store for the next deliveries, lets the
//! [`Scheduler`] choose what runs (fair across accounts, one per subscription, a
//! breaker per endpoint), and one task per chosen delivery that makes one POST and
//! records the outcome once the delivery is finished.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::header;
use store::monitor::{DeliveryOutcome, PendingDelivery};

use super::schedule::{Attempt, Scheduler};
use super::{MonitorService, lock};
use crate::webhook;

/// One webhook request may take this long.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Candidates read per round: each is the head of one subscription's queue, in turns
/// across accounts, so this bounds how many accounts a round can serve, not how fair
/// it is.
const CANDIDATES_PER_READ: usize = 1024;

impl MonitorService {
    /// Drains the outbox, woken by new matches, finished deliveries, or once a second
    /// (paused endpoints come due).
    pub(super) async fn delivery_loop(self: Arc<Self>, http: reqwest::Client) {
        let schedule = Arc::new(Mutex::new(Scheduler::new(self.give_up)));
        // Owned here, so that stopping this loop (a lost lease) stops its deliveries.
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            while tasks.try_join_next().is_some() {}
            let free = {
                let mut s = lock(&schedule);
                s.begin_read();
                s.free()
            };
            if free > 0 {
                match self
                    .blocking(|s| s.next_deliveries(CANDIDATES_PER_READ))
                    .await
                {
                    Ok(next) => {
                        let plan = lock(&schedule).plan(next, self.clock.now_ms());
                        for (p, why) in plan.give_up {
                            let (this, schedule) = (self.clone(), schedule.clone());
                            tasks.spawn(async move {
                                tracing::error!(subscription = %p.subscription_id, error = %why, "monitor: webhook delivery given up");
                                let stored = this.finish(&p, DeliveryOutcome::GaveUp(why)).await;
                                lock(&schedule).done(&p, stored);
                                this.wake_deliveries.notify_one();
                            });
                        }
                        for p in plan.start {
                            let (this, schedule) = (self.clone(), schedule.clone());
                            let http = http.clone();
                            tasks.spawn(async move { this.deliver(&http, &schedule, p).await });
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "monitor: reading the outbox failed"),
                }
            }
            let _ =
                tokio::time::timeout(Duration::from_secs(1), self.wake_deliveries.notified()).await;
        }
    }

    /// One attempt at `p`; its outcome stored if that finished it.
    async fn deliver(
        self: &Arc<Self>,
        http: &reqwest::Client,
        schedule: &Mutex<Scheduler>,
        p: PendingDelivery,
    ) {
        let attempt = self.post_once(http, &p).await;
        let refused = match &attempt {
            Attempt::Failed(why) => {
                tracing::warn!(subscription = %p.subscription_id, error = %why, "monitor: webhook delivery failed");
                false
            }
            Attempt::Refused(why) => {
                tracing::error!(subscription = %p.subscription_id, error = %why, "monitor: webhook delivery refused");
                true
            }
            Attempt::Delivered | Attempt::Deferred => false,
        };
        let outcome = lock(schedule).attempted(&p, attempt, self.clock.now_ms());
        let stored = match outcome {
            Some(outcome) => {
                if let (DeliveryOutcome::GaveUp(why), false) = (&outcome, refused) {
                    tracing::error!(subscription = %p.subscription_id, error = %why, "monitor: webhook delivery given up");
                }
                self.finish(&p, outcome).await
            }
            None => false,
        };
        lock(schedule).done(&p, stored);
        self.wake_deliveries.notify_one();
    }

    /// One POST of `p`'s match, signed at this attempt (the timestamp says when it was
    /// sent). A webhook pointing where it may not is refused before any connection.
    async fn post_once(&self, http: &reqwest::Client, p: &PendingDelivery) -> Attempt {
        // The URL's own check; names are checked again at each connect.
        let refused = match reqwest::Url::parse(&p.webhook) {
            Ok(url) => webhook::check_url(&url, self.resolver.destinations()).err(),
            Err(e) => Some(webhook::Refused::Unresolvable {
                host: webhook::loggable(&p.webhook),
                error: e.to_string(),
            }),
        };
        if let Some(why) = refused {
            return Attempt::Refused(why.to_string());
        }
        let mut request = http
            .post(&p.webhook)
            .header(header::CONTENT_TYPE.as_str(), "application/json")
            .header(webhook::DELIVERY_HEADER, p.id.to_string())
            .timeout(WEBHOOK_TIMEOUT);
        if let Some(secret) = &p.secret {
            let signature =
                webhook::signature_header(secret, self.clock.now_ms() / 1000, p.payload.as_bytes());
            request = request.header(webhook::SIGNATURE_HEADER, signature);
        }
        match request.body(p.payload.clone()).send().await {
            Ok(resp) if resp.status().is_success() => Attempt::Delivered,
            Ok(resp) => Attempt::Failed(format!("HTTP {}", resp.status().as_u16())),
            Err(e) => match webhook::refusal(&e) {
                Some(why) => Attempt::Refused(why.to_string()),
                None if egress::saturated(&e) => Attempt::Deferred,
                None => Attempt::Failed(webhook::failure_text(e)),
            },
        }
    }

    /// Stores how `p` ended, so it is never sent again; `false` if that failed (it
    /// stays pending and is delivered again later — the lesser evil than losing it).
    async fn finish(self: &Arc<Self>, p: &PendingDelivery, outcome: DeliveryOutcome) -> bool {
        {
            let counts = &mut lock(&self.status).deliveries;
            match outcome {
                DeliveryOutcome::Delivered => counts.delivered += 1,
                DeliveryOutcome::GaveUp(_) => counts.given_up += 1,
            }
        }
        let id = p.id;
        let now = self.clock.now_ms();
        match self
            .blocking(move |s| s.finish_delivery(id, &outcome, now))
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(delivery = id, error = %e, "monitor: recording a delivery failed");
                false
            }
        }
    }
}
