use super::*;

const T0: u64 = 1_700_000_000_000;
const GIVE_UP: Duration = Duration::from_secs(600);

fn delivery(id: i64, account_id: i64, subscription: &str, webhook: &str) -> PendingDelivery {
    PendingDelivery {
        id,
        subscription_id: subscription.into(),
        account_id,
        webhook: webhook.into(),
        secret: None,
        payload: "{}".into(),
        created_ms: T0,
    }
}

fn ids(ps: &[PendingDelivery]) -> Vec<i64> {
    ps.iter().map(|p| p.id).collect()
}

#[test]
fn one_delivery_per_subscription_is_in_flight() {
    let mut s = Scheduler::new(GIVE_UP);
    let plan = s.plan(
        vec![
            delivery(1, 1, "s1", "http://h/1"),
            delivery(2, 1, "s1", "http://h/1"),
            delivery(3, 1, "s2", "http://h/2"),
        ],
        T0,
    );
    assert_eq!(ids(&plan.start), [1, 3]);
    // Still running: offered again, not started again.
    let again = s.plan(vec![delivery(1, 1, "s1", "http://h/1")], T0);
    assert!(again.start.is_empty());
}

#[test]
fn one_account_gets_a_bounded_share_of_the_slots() {
    let mut s = Scheduler::new(GIVE_UP);
    let mut candidates: Vec<_> = (0..50)
        .map(|i| delivery(i, 1, &format!("a{i}"), "http://hole/"))
        .collect();
    candidates.push(delivery(100, 2, "b", "http://victim/"));
    let plan = s.plan(candidates, T0);
    let mine: Vec<_> = plan.start.iter().filter(|p| p.account_id == 1).collect();
    assert_eq!(mine.len(), MAX_IN_FLIGHT_PER_ACCOUNT);
    assert!(
        plan.start.iter().any(|p| p.id == 100),
        "the other account starts"
    );
}

#[test]
fn the_slots_are_bounded_in_all() {
    let mut s = Scheduler::new(GIVE_UP);
    let candidates: Vec<_> = (0..100)
        .map(|i| delivery(i, i, &format!("s{i}"), "http://h/"))
        .collect();
    let plan = s.plan(candidates, T0);
    assert_eq!(plan.start.len(), MAX_IN_FLIGHT);
    assert_eq!(s.free(), 0);
    let first = plan.start[0].clone();
    s.done(&first, true);
    assert_eq!(s.free(), 1);
}

#[test]
fn a_finished_delivery_is_not_sent_again_from_a_stale_read() {
    let mut s = Scheduler::new(GIVE_UP);
    let p = delivery(1, 1, "s1", "http://h/");
    let plan = s.plan(vec![p.clone()], T0);
    assert_eq!(ids(&plan.start), [1]);
    assert!(matches!(
        s.attempted(&p, Attempt::Delivered, T0),
        Some(DeliveryOutcome::Delivered)
    ));
    s.done(&p, true);
    assert!(s.plan(vec![p.clone()], T0).start.is_empty(), "stale read");
    s.begin_read();
    assert_eq!(ids(&s.plan(vec![p], T0).start), [1]);
}

/// Each failure pauses the endpoint (doubling), and a failed attempt releases its slot
/// at once instead of holding it through the pause.
#[test]
fn a_failing_endpoint_pauses_with_backoff_and_frees_its_slot() {
    let mut s = Scheduler::new(GIVE_UP);
    let p = delivery(1, 1, "s1", "http://h/");
    let mut now = T0;
    let mut expected_pause = RETRY_FIRST.as_millis() as u64;
    for _ in 1..BREAKER_FAILURES {
        assert_eq!(ids(&s.plan(vec![p.clone()], now).start), [1]);
        assert!(
            s.attempted(&p, Attempt::Failed("HTTP 500".into()), now)
                .is_none()
        );
        s.done(&p, false);
        assert_eq!(s.free(), MAX_IN_FLIGHT);
        assert!(
            s.plan(vec![p.clone()], now + expected_pause - 1)
                .start
                .is_empty()
        );
        now += expected_pause;
        expected_pause = (expected_pause * 2).min(RETRY_MAX.as_millis() as u64);
    }
}

#[test]
fn the_breaker_opens_probes_one_at_a_time_and_closes_on_success() {
    let mut s = Scheduler::new(GIVE_UP);
    let a = delivery(1, 1, "s1", "http://h/");
    let b = delivery(2, 1, "s2", "http://h/"); // same endpoint, other subscription
    let mut now = T0;
    for _ in 0..BREAKER_FAILURES {
        let plan = s.plan(vec![a.clone()], now);
        assert_eq!(ids(&plan.start), [1]);
        assert!(
            s.attempted(&a, Attempt::Failed("timed out".into()), now)
                .is_none()
        );
        s.done(&a, false);
        now += RETRY_MAX.as_millis() as u64;
    }
    // Open: nothing goes to the endpoint during the cool-down, for any subscription.
    let opened = now - RETRY_MAX.as_millis() as u64;
    let cool_down = BREAKER_COOL_DOWN.as_millis() as u64;
    assert!(
        s.plan(vec![a.clone(), b.clone()], opened + cool_down - 1)
            .start
            .is_empty()
    );
    // Then one probe, not two.
    let plan = s.plan(vec![a.clone(), b.clone()], opened + cool_down);
    assert_eq!(ids(&plan.start), [1]);
    assert!(matches!(
        s.attempted(&a, Attempt::Delivered, opened + cool_down),
        Some(DeliveryOutcome::Delivered)
    ));
    s.done(&a, true);
    // Closed: the other subscription's delivery goes at once.
    assert_eq!(ids(&s.plan(vec![b], opened + cool_down).start), [2]);
}

#[test]
fn past_the_give_up_time_an_open_breaker_gives_up_without_an_attempt() {
    let give_up = Duration::from_secs(60);
    let mut s = Scheduler::new(give_up);
    let a = delivery(1, 1, "s1", "http://h/");
    for _ in 0..BREAKER_FAILURES {
        s.plan(vec![a.clone()], T0);
        s.attempted(&a, Attempt::Failed("timed out".into()), T0);
        s.done(&a, false);
        // Backoff pauses are waived here: only the failure count matters.
        s.failing.values_mut().for_each(|f| f.retry_at_ms = T0);
    }
    let later = delivery(2, 1, "s2", "http://h/");
    let past = T0 + give_up.as_millis() as u64 + 1;
    let plan = s.plan(vec![later.clone()], past);
    assert!(plan.start.is_empty());
    assert_eq!(plan.give_up.len(), 1);
    assert!(
        plan.give_up[0].1.contains("circuit open"),
        "{}",
        plan.give_up[0].1
    );
    // In flight until its outcome is recorded.
    assert!(s.plan(vec![later], past).give_up.is_empty());
}

#[test]
fn a_failure_past_the_give_up_time_gives_up() {
    let give_up = Duration::from_secs(2);
    let mut s = Scheduler::new(give_up);
    let p = delivery(1, 1, "s1", "http://h/");
    s.plan(vec![p.clone()], T0);
    assert!(
        s.attempted(&p, Attempt::Failed("HTTP 500".into()), T0)
            .is_none()
    );
    s.done(&p, false);
    // A delivery past its time whose endpoint is only pausing still gets its attempt.
    let late = T0 + 3_000;
    assert_eq!(ids(&s.plan(vec![p.clone()], late).start), [1]);
    assert!(matches!(
        s.attempted(&p, Attempt::Failed("HTTP 500".into()), late),
        Some(DeliveryOutcome::GaveUp(why)) if why == "HTTP 500"
    ));
}

#[test]
fn our_own_saturation_is_not_held_against_the_endpoint() {
    let mut s = Scheduler::new(GIVE_UP);
    let p = delivery(1, 1, "s1", "http://h/");
    s.plan(vec![p.clone()], T0);
    assert!(s.attempted(&p, Attempt::Deferred, T0).is_none());
    s.done(&p, false);
    assert_eq!(ids(&s.plan(vec![p], T0).start), [1], "no pause");
}

#[test]
fn one_accounts_failures_do_not_pause_another_accounts_endpoint() {
    let mut s = Scheduler::new(GIVE_UP);
    let mine = delivery(1, 1, "s1", "https://hooks.example/x");
    let theirs = delivery(2, 2, "s2", "https://hooks.example/x");
    s.plan(vec![mine.clone()], T0);
    s.attempted(&mine, Attempt::Failed("HTTP 404".into()), T0);
    s.done(&mine, false);
    assert_eq!(ids(&s.plan(vec![mine, theirs], T0).start), [2]);
}
