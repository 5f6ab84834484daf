//! The [`MonitorStore`] contract as executable checks, shared by every backend
//! (SQLite today; a PostgreSQL backend runs the same [`run_all`] with its factory).

use crate::monitor::{DeliveryOutcome, MonitorStore, NewDelivery, Subscription};

/// Runs every contract check, each on a fresh store from `make`.
pub fn run_all<S: MonitorStore>(make: impl Fn() -> S) {
    subscriptions_are_per_account_and_bounded(&make());
    a_scan_commits_state_and_deliveries_together(&make());
    a_match_is_queued_once_per_subscription(&make());
    finished_deliveries_are_not_pending(&make());
    each_subscription_offers_its_oldest_delivery(&make());
    accounts_take_turns(&make());
    deleting_a_subscription_drops_its_undelivered_matches(&make());
    a_free_monitor_lease_is_granted_and_held(&make());
    alerts_stay_open_until_cleared(&make());
}

const T0: u64 = 1_700_000_000_000;

fn sub(id: &str, account_id: i64) -> Subscription {
    Subscription {
        id: id.into(),
        account_id,
        rule: "email:alice@example.com".into(),
        webhook: format!("http://hook.example/{id}"),
        secret: Some(format!("secret-{id}")),
        created_ms: T0,
    }
}

fn delivery(sub: &str, index: u64) -> NewDelivery {
    NewDelivery {
        subscription_id: sub.into(),
        log: "log-a".into(),
        leaf_index: index,
        payload: format!("{{\"leaf_index\":{index}}}"),
    }
}

/// Subscription `s1` of account 1, and one scan of `log-a` to state `state-1` that
/// queued match 0 for it.
pub fn queue_sample<S: MonitorStore>(store: &S) {
    assert!(store.add_subscription(&sub("s1", 1), 10).unwrap());
    store
        .commit_scan("log-a", "state-1", &[delivery("s1", 0)], T0)
        .unwrap();
}

fn subscriptions_are_per_account_and_bounded<S: MonitorStore>(store: &S) {
    assert!(store.add_subscription(&sub("s1", 1), 2).unwrap());
    assert!(store.add_subscription(&sub("s2", 1), 2).unwrap());
    assert!(
        !store.add_subscription(&sub("s3", 1), 2).unwrap(),
        "an account at its limit gets no more subscriptions"
    );
    assert!(store.add_subscription(&sub("s4", 2), 2).unwrap());
    assert_eq!(store.subscriptions().unwrap().len(), 3);
    let own: Vec<_> = store
        .account_subscriptions(1)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(own, ["s1", "s2"]);
    assert_eq!(store.account_subscriptions(2).unwrap(), [sub("s4", 2)]);
    let unsigned = Subscription {
        secret: None,
        ..sub("s5", 3)
    };
    assert!(store.add_subscription(&unsigned, 2).unwrap());
    assert_eq!(store.account_subscriptions(3).unwrap(), [unsigned]);
    assert!(
        !store.set_subscription_secret(1, "s5", "k").unwrap(),
        "only the owner sets a subscription's secret"
    );
    assert!(store.set_subscription_secret(3, "s5", "k").unwrap());
    assert_eq!(
        store.account_subscriptions(3).unwrap()[0].secret.as_deref(),
        Some("k")
    );
    assert!(store.delete_subscription(3, "s5").unwrap());
    assert!(!store.set_subscription_secret(3, "s5", "k").unwrap());
    assert!(
        !store.delete_subscription(2, "s1").unwrap(),
        "an account cannot delete another account's subscription"
    );
    assert!(store.delete_subscription(1, "s1").unwrap());
    assert!(!store.delete_subscription(1, "s1").unwrap());
    assert_eq!(store.subscriptions().unwrap().len(), 2);
}

fn a_scan_commits_state_and_deliveries_together<S: MonitorStore>(store: &S) {
    assert_eq!(store.log_state("log-a").unwrap(), None);
    queue_sample(store);
    assert_eq!(
        store.log_state("log-a").unwrap().as_deref(),
        Some("state-1")
    );
    let pending = store.next_deliveries(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].subscription_id, "s1");
    assert_eq!(pending[0].webhook, "http://hook.example/s1");
    assert_eq!(pending[0].secret.as_deref(), Some("secret-s1"));
    assert_eq!(pending[0].payload, "{\"leaf_index\":0}");
    store.commit_scan("log-a", "state-2", &[], T0).unwrap();
    assert_eq!(
        store.log_state("log-a").unwrap().as_deref(),
        Some("state-2")
    );
    assert_eq!(store.log_state("log-b").unwrap(), None);
}

fn a_match_is_queued_once_per_subscription<S: MonitorStore>(store: &S) {
    queue_sample(store);
    assert!(store.add_subscription(&sub("s2", 2), 10).unwrap());
    let first = store.next_deliveries(10).unwrap();
    store
        .finish_delivery(first[0].id, &DeliveryOutcome::Delivered, T0)
        .unwrap();
    // The same match again (a rolled-back state) and the same entry for another
    // subscription: only the latter is new.
    store
        .commit_scan(
            "log-a",
            "state-1",
            &[delivery("s1", 0), delivery("s2", 0)],
            T0,
        )
        .unwrap();
    let pending = store.next_deliveries(10).unwrap();
    assert_eq!(
        pending.len(),
        1,
        "a delivered match must not be queued again"
    );
    assert_eq!(pending[0].subscription_id, "s2");
    // A match for a subscription that no longer exists is not queued.
    store
        .commit_scan("log-a", "state-3", &[delivery("gone", 5)], T0)
        .unwrap();
    assert_eq!(store.next_deliveries(10).unwrap().len(), 1);
}

fn finished_deliveries_are_not_pending<S: MonitorStore>(store: &S) {
    for i in 1..=5 {
        assert!(
            store
                .add_subscription(&sub(&format!("s{i}"), 1), 10)
                .unwrap()
        );
    }
    let many: Vec<_> = (1..=5).map(|i| delivery(&format!("s{i}"), 0)).collect();
    store.commit_scan("log-a", "s", &many, T0).unwrap();
    let pending = store.next_deliveries(3).unwrap();
    assert_eq!(pending.len(), 3, "the limit bounds the answer");
    assert!(
        pending.windows(2).all(|w| w[0].id < w[1].id),
        "oldest first"
    );
    assert!(pending.iter().all(|p| p.account_id == 1));
    store
        .finish_delivery(pending[0].id, &DeliveryOutcome::Delivered, T0)
        .unwrap();
    store
        .finish_delivery(
            pending[1].id,
            &DeliveryOutcome::GaveUp("HTTP 500".into()),
            T0,
        )
        .unwrap();
    assert_eq!(store.next_deliveries(10).unwrap().len(), 3);
}

/// One delivery per subscription at a time, in the order its matches were queued.
fn each_subscription_offers_its_oldest_delivery<S: MonitorStore>(store: &S) {
    assert!(store.add_subscription(&sub("s1", 1), 10).unwrap());
    assert!(store.add_subscription(&sub("s2", 1), 10).unwrap());
    let queued: Vec<_> = (0..4)
        .flat_map(|i| [delivery("s1", i), delivery("s2", i)])
        .collect();
    store.commit_scan("log-a", "s", &queued, T0).unwrap();
    for expected in 0..4 {
        let next = store.next_deliveries(10).unwrap();
        let subs: Vec<_> = next.iter().map(|p| p.subscription_id.as_str()).collect();
        assert_eq!(subs, ["s1", "s2"], "one per subscription");
        for p in &next {
            assert_eq!(p.payload, format!("{{\"leaf_index\":{expected}}}"));
            store
                .finish_delivery(p.id, &DeliveryOutcome::Delivered, T0)
                .unwrap();
        }
    }
    assert!(store.next_deliveries(10).unwrap().is_empty());
}

/// An account with many subscriptions and an old backlog does not crowd out another
/// account's newer delivery.
fn accounts_take_turns<S: MonitorStore>(store: &S) {
    for i in 0..6 {
        assert!(
            store
                .add_subscription(&sub(&format!("a{i}"), 1), 10)
                .unwrap()
        );
    }
    assert!(store.add_subscription(&sub("b0", 2), 10).unwrap());
    assert!(store.add_subscription(&sub("c0", 3), 10).unwrap());
    let backlog: Vec<_> = (0..6)
        .flat_map(|i| (0..3).map(move |n| delivery(&format!("a{i}"), n)))
        .collect();
    store.commit_scan("log-a", "s1", &backlog, T0).unwrap();
    store
        .commit_scan("log-a", "s2", &[delivery("b0", 9), delivery("c0", 9)], T0)
        .unwrap();
    let next = store.next_deliveries(4).unwrap();
    let order: Vec<_> = next
        .iter()
        .map(|p| (p.account_id, p.subscription_id.as_str()))
        .collect();
    assert_eq!(order, [(1, "a0"), (2, "b0"), (3, "c0"), (1, "a1")]);
}

fn deleting_a_subscription_drops_its_undelivered_matches<S: MonitorStore>(store: &S) {
    queue_sample(store);
    assert!(store.delete_subscription(1, "s1").unwrap());
    assert!(store.next_deliveries(10).unwrap().is_empty());
}

/// With nobody else holding it, the lease is granted and says it is held (whether a
/// second holder is refused is the shared backends' own test).
fn a_free_monitor_lease_is_granted_and_held<S: MonitorStore>(store: &S) {
    let mut lease = store
        .try_acquire_monitor_lease()
        .unwrap()
        .expect("a free lease is granted");
    assert!(lease.is_held());
    assert!(lease.is_held(), "asking twice changes nothing");
}

fn alerts_stay_open_until_cleared<S: MonitorStore>(store: &S) {
    assert!(store.open_alerts(10).unwrap().is_empty());
    store
        .record_alert("log-a", "fork", "two roots for 7", T0)
        .unwrap();
    store
        .record_alert("log-b", "bad-signature", "tree head 9", T0 + 1)
        .unwrap();
    store
        .record_alert("log-a", "bad-entries", "leaf 3", T0 + 2)
        .unwrap();
    let open = store.open_alerts(10).unwrap();
    let summary: Vec<_> = open
        .iter()
        .map(|a| (a.log.as_str(), a.kind.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("log-a", "fork"),
            ("log-b", "bad-signature"),
            ("log-a", "bad-entries")
        ],
        "oldest first"
    );
    assert_eq!(open[0].detail, "two roots for 7");
    assert_eq!(open[1].at_ms, T0 + 1);
    assert_eq!(
        store.open_alerts(1).unwrap().len(),
        1,
        "the limit bounds the answer"
    );
    assert_eq!(store.clear_alerts("log-a", T0 + 3).unwrap(), 2);
    assert_eq!(
        store.clear_alerts("log-a", T0 + 4).unwrap(),
        0,
        "nothing left open"
    );
    let open = store.open_alerts(10).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].log, "log-b");
}
