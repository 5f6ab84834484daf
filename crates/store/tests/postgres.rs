//! The PostgreSQL stores against a real server: the three conformance suites, the
//! two-handle check, and what only a shared database has to get right — several logs
//! in one database, migrations racing at start-up, several processes writing at once,
//! connections that die, and the sequencer lease of scale-out sequencing.
//!
//! Each store gets a schema of its own (see `common::postgres`), so these tests run
//! in parallel. Handles opened on separate pools stand for separate processes.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Instant;

use common::postgres::{fresh_pool, fresh_schema, raw_client};
use store::conformance::{
    assert_batch_absent, assert_batch_stored, hash_of, realistic_batch, sample_batch, sample_entry,
    sample_head,
};
use store::monitor::{MonitorStore, Subscription};
use store::postgres::{
    LOG_SCHEMA_VERSION, MONITOR_SCHEMA_VERSION, PgLogStore, PgMonitorStore, PgPool,
    PgRegistryStore, REGISTRY_SCHEMA_VERSION,
};
use store::registry::{CommitOutcome, CreateAccount, NewAccount, Push, RegistryStore};
use store::shared::{QueuedSubmission, SequencerLease, SharedSequencing};
use store::{Batch, LogStore, StoreError, registry_conformance};

/// Two pools on one fresh schema: two "processes" sharing a database.
fn two_pools() -> (PgPool, PgPool, String) {
    let (config, schema) = fresh_schema();
    let a = PgPool::with_config(config.clone(), 4).expect("pool a");
    let b = PgPool::with_config(config, 4).expect("pool b");
    (a, b, schema)
}

#[test]
fn log_store_conforms_to_the_log_store_contract() {
    store::conformance::run_all(|| PgLogStore::open(&fresh_pool(), "test-log").expect("open"));
}

#[test]
fn second_handle_cannot_shrink_or_fork_the_tree() {
    let (a, b, _) = two_pools();
    let a = PgLogStore::open(&a, "shared").expect("open a");
    let b = PgLogStore::open(&b, "shared").expect("open b");
    store::conformance::second_handle_cannot_shrink_or_fork_the_tree(&a, &b);
}

#[test]
fn registry_store_conforms_to_the_registry_store_contract() {
    registry_conformance::run_all(|| PgRegistryStore::open(&fresh_pool()).expect("open"));
}

#[test]
fn monitor_store_conforms_to_the_monitor_store_contract() {
    store::monitor_conformance::run_all(|| PgMonitorStore::open(&fresh_pool()).expect("open"));
}

/// One database holds every log; each log's rows, tiles and head are its own, and
/// the same leaf indexes, tiles and dedup keys exist in each.
#[test]
fn several_logs_share_one_database_independently() {
    let pool = fresh_pool();
    let a = PgLogStore::open(&pool, "dev-a").expect("open a");
    let b = PgLogStore::open(&pool, "dev-b").expect("open b");
    let batch = realistic_batch(0, 300, 50);
    a.commit_batch(&batch).expect("commit a");
    assert_eq!(b.tree_head().expect("head b"), None);
    assert_eq!(b.data_tile(0).expect("tile b"), None);
    assert_eq!(b.dedup(&sample_entry(3).dedup_key).expect("dedup b"), None);
    b.commit_batch(&batch)
        .expect("the same batch commits in another log");
    let smaller = realistic_batch(0, 100, 50);
    let c = PgLogStore::open(&pool, "dev-c").expect("open c");
    c.commit_batch(&smaller).expect("commit c");
    assert_batch_stored(&a, &batch);
    assert_batch_stored(&b, &batch);
    assert_eq!(c.tree_head().expect("head c"), smaller.tree_head);
    assert_eq!(a.tree_head().expect("head a"), batch.tree_head);
    assert_eq!(a.log_name(), "dev-a");
}

/// Leaf indexes are unique per log: a batch that reuses a stored index (what a second
/// sequencer of the same log would send) fails whole, even with fresh dedup keys.
#[test]
fn a_stored_leaf_index_cannot_be_written_again() {
    let store = PgLogStore::open(&fresh_pool(), "log").expect("open");
    store
        .commit_batch(&realistic_batch(0, 5, 20))
        .expect("commit");
    let mut reuse = sample_entry(3);
    reuse.dedup_key = hash_of(9, 3);
    reuse.leaf_hash = hash_of(9, 4);
    let err = store
        .commit_batch(&Batch {
            entries: vec![sample_entry(5), reuse.clone()],
            ..Batch::default()
        })
        .expect_err("a reused leaf index must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(store.dedup(&reuse.dedup_key).expect("dedup"), None);
    assert_eq!(
        store.dedup(&sample_entry(5).dedup_key).expect("dedup"),
        None
    );
}

/// Two sequencers of one log (two processes) race to commit the next batch, with
/// different content: exactly one wins each round and the stored tree is the
/// winner's, whole.
#[test]
fn racing_sequencers_of_one_log_cannot_both_commit() {
    let (pool_a, pool_b, _) = two_pools();
    let stores = [
        Arc::new(PgLogStore::open(&pool_a, "raced").expect("open a")),
        Arc::new(PgLogStore::open(&pool_b, "raced").expect("open b")),
    ];
    let mut size = 0;
    for round in 0..10u64 {
        let barrier = Arc::new(Barrier::new(2));
        let batches: Vec<Batch> = (0..2u8)
            .map(|who| {
                let mut batch = realistic_batch(size, 40, 30);
                for entry in &mut batch.entries {
                    entry.dedup_key = hash_of(10 + who, entry.record.leaf_index);
                    entry.leaf_hash = hash_of(20 + who, entry.record.leaf_index);
                }
                if let Some(head) = &mut batch.tree_head {
                    head.root = hash_of(30 + who, head.tree_size);
                }
                batch
            })
            .collect();
        let results: Vec<_> = stores
            .iter()
            .zip(batches.clone())
            .map(|(store, batch)| {
                let (store, barrier) = (Arc::clone(store), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    store.commit_batch(&batch)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect();
        let winners: Vec<usize> = (0..2).filter(|&i| results[i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let loser = 1 - winners[0];
        assert!(
            matches!(results[loser], Err(StoreError::Corrupt(_))),
            "round {round}: {:?}",
            results[loser]
        );
        let winner = &batches[winners[0]];
        assert_eq!(stores[0].tree_head().expect("head"), winner.tree_head);
        for entry in &batches[loser].entries {
            assert_eq!(stores[1].dedup(&entry.dedup_key).expect("dedup"), None);
        }
        assert_batch_stored(&*stores[1], winner);
        size += 40;
    }
}

/// Opening is idempotent: a second open (same or another pool) applies nothing and
/// finds the data; the version is recorded once per component.
#[test]
fn migrations_applied_twice_are_a_no_op() {
    let (config, schema) = fresh_schema();
    let pool = PgPool::with_config(config.clone(), 2).expect("pool");
    let log = PgLogStore::open(&pool, "log").expect("open");
    let batch = realistic_batch(0, 10, 10);
    log.commit_batch(&batch).expect("commit");
    PgRegistryStore::open(&pool).expect("registry");
    PgMonitorStore::open(&pool).expect("monitor");
    let other = PgPool::with_config(config, 2).expect("pool");
    let again = PgLogStore::open(&other, "log").expect("reopen");
    let registry = PgRegistryStore::open(&other).expect("registry again");
    let monitor = PgMonitorStore::open(&other).expect("monitor again");
    assert_eq!(again.tree_head().expect("head"), batch.tree_head);
    assert_eq!(again.schema_version().expect("version"), LOG_SCHEMA_VERSION);
    assert_eq!(
        registry.schema_version().expect("version"),
        REGISTRY_SCHEMA_VERSION
    );
    assert_eq!(
        monitor.schema_version().expect("version"),
        MONITOR_SCHEMA_VERSION
    );
    let rows: Vec<(String, i32)> = raw_client(&schema)
        .query(
            "SELECT component, version FROM schema_migrations ORDER BY component",
            &[],
        )
        .expect("query")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        [
            ("ct_log".to_owned(), LOG_SCHEMA_VERSION as i32),
            ("monitor".to_owned(), MONITOR_SCHEMA_VERSION as i32),
            ("registry".to_owned(), REGISTRY_SCHEMA_VERSION as i32),
        ]
    );
}

/// Processes starting at once on an empty database: the advisory lock lets one
/// migrate and the others find the work done (none fails on "table exists").
#[test]
fn concurrent_first_opens_all_succeed() {
    let (config, _) = fresh_schema();
    let barrier = Arc::new(Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let (config, barrier) = (config.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let pool = PgPool::with_config(config, 1).expect("pool");
                barrier.wait();
                match i % 3 {
                    0 => PgLogStore::open(&pool, "log").map(drop),
                    1 => PgRegistryStore::open(&pool).map(drop),
                    _ => PgMonitorStore::open(&pool).map(drop),
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread").expect("open");
    }
}

/// A database migrated by a newer build is refused by every component.
#[test]
fn a_newer_schema_is_refused() {
    let (config, schema) = fresh_schema();
    let pool = PgPool::with_config(config, 2).expect("pool");
    PgLogStore::open(&pool, "log").expect("open");
    PgRegistryStore::open(&pool).expect("open");
    PgMonitorStore::open(&pool).expect("open");
    raw_client(&schema)
        .batch_execute("UPDATE schema_migrations SET version = version + 1")
        .expect("bump");
    let expect_refused = |result: Result<(), StoreError>, supported: u32| {
        let err = result.expect_err("a newer schema must be refused");
        assert!(
            matches!(err, StoreError::UnsupportedSchema { found, supported: s }
                if found == supported + 1 && s == supported),
            "{err}"
        );
    };
    expect_refused(PgLogStore::open(&pool, "log").map(drop), LOG_SCHEMA_VERSION);
    expect_refused(
        PgRegistryStore::open(&pool).map(drop),
        REGISTRY_SCHEMA_VERSION,
    );
    expect_refused(
        PgMonitorStore::open(&pool).map(drop),
        MONITOR_SCHEMA_VERSION,
    );
}

/// Two processes push with the same challenge at the same moment: exactly one push
/// lands, the other is told the challenge is unusable, and the log grew by one.
#[test]
fn racing_pushes_with_one_challenge_commit_once() {
    let (pool_a, pool_b, _) = two_pools();
    let stores = [
        Arc::new(PgRegistryStore::open(&pool_a).expect("open a")),
        Arc::new(PgRegistryStore::open(&pool_b).expect("open b")),
    ];
    let account = registry_conformance::sample_account(&*stores[0], 1);
    for round in 0..10u64 {
        let challenge = registry_conformance::sample_challenge(&*stores[0], &account, round as u8);
        let barrier = Arc::new(Barrier::new(2));
        let outcomes: Vec<CommitOutcome> = (0..2u64)
            .map(|who| {
                let store = Arc::clone(&stores[who as usize]);
                let barrier = Arc::clone(&barrier);
                let push = Push {
                    cert: registry_conformance::sample_cert(&account, round * 2 + who),
                    challenge_id: challenge.id.clone(),
                    now_ms: challenge.expires_ms - 1,
                    log: registry_conformance::sample_append(round),
                };
                std::thread::spawn(move || {
                    barrier.wait();
                    store.commit_push(&push).expect("push")
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect();
        let committed = outcomes
            .iter()
            .filter(|o| **o == CommitOutcome::Committed)
            .count();
        assert_eq!(committed, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes.contains(&CommitOutcome::ChallengeUnusable),
            "{outcomes:?}"
        );
        assert_eq!(
            stores[1].log_checkpoint().expect("head").map(|c| c.size),
            Some(round + 1)
        );
    }
}

/// Two processes register the same username at once: one account, one refusal.
#[test]
fn racing_registrations_of_one_username_create_one_account() {
    let (pool_a, pool_b, _) = two_pools();
    let stores = [
        Arc::new(PgRegistryStore::open(&pool_a).expect("open a")),
        Arc::new(PgRegistryStore::open(&pool_b).expect("open b")),
    ];
    for round in 0..10u8 {
        let barrier = Arc::new(Barrier::new(2));
        let outcomes: Vec<CreateAccount> = (0..2u8)
            .map(|who| {
                let store = Arc::clone(&stores[usize::from(who)]);
                let barrier = Arc::clone(&barrier);
                let account = NewAccount {
                    issuer: "https://issuer.example".into(),
                    subject: format!("sub-{round}-{who}"),
                    username: format!("name-{round}"),
                    api_key_hash: [round * 2 + who; 32],
                    created_ms: 1,
                };
                std::thread::spawn(move || {
                    barrier.wait();
                    store.create_account(&account).expect("create")
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect();
        let created = outcomes
            .iter()
            .filter(|o| matches!(o, CreateAccount::Created(_)))
            .count();
        assert_eq!(created, 1, "{outcomes:?}");
        assert!(outcomes.contains(&CreateAccount::UsernameTaken));
    }
}

/// The per-account subscription limit holds with many processes adding at once.
#[test]
fn racing_subscriptions_respect_the_limit() {
    let (pool_a, pool_b, _) = two_pools();
    let stores = [
        Arc::new(PgMonitorStore::open(&pool_a).expect("open a")),
        Arc::new(PgMonitorStore::open(&pool_b).expect("open b")),
    ];
    let barrier = Arc::new(Barrier::new(8));
    let added = (0..8)
        .map(|i| {
            let store = Arc::clone(&stores[i % 2]);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                store
                    .add_subscription(
                        &Subscription {
                            id: format!("s{i}"),
                            account_id: 7,
                            rule: "email:a@example.com".into(),
                            webhook: "http://hook.example/".into(),
                            secret: None,
                            created_ms: 1,
                        },
                        3,
                    )
                    .expect("add")
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .filter(|added| *added)
        .count();
    assert_eq!(added, 3);
    assert_eq!(stores[0].account_subscriptions(7).expect("list").len(), 3);
}

/// A connection the server dropped (restart, idle timeout, an operator's
/// pg_terminate_backend) is replaced: the next read and the next write succeed.
#[test]
fn a_dropped_connection_is_replaced() {
    let (config, schema) = fresh_schema();
    let pool = PgPool::with_config(config, 1).expect("pool");
    let store = PgLogStore::open(&pool, "log").expect("open");
    let batch = realistic_batch(0, 10, 10);
    store.commit_batch(&batch).expect("commit");
    let kill = |schema: &str| {
        let killed: i64 = raw_client(schema)
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE application_name = $1 AND pid <> pg_backend_pid()",
                &[&schema],
            )
            .expect("terminate")
            .get(0);
        assert!(killed >= 1, "no connection of the pool found");
        // Termination is asynchronous; give the backend a moment to go.
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    kill(&schema);
    assert_eq!(store.tree_head().expect("read after kill"), batch.tree_head);
    kill(&schema);
    store
        .commit_batch(&realistic_batch(10, 10, 10))
        .expect("write after kill");
    assert_eq!(
        store.tree_head().expect("head").map(|h| h.tree_size),
        Some(20)
    );
}

/// Readers on other connections, while a writer commits, never see a tree head
/// whose entries or edge tile are missing (the trait contract's atomicity).
#[test]
fn concurrent_readers_see_consistent_state_during_writes() {
    let pool = PgPool::with_config(fresh_schema().0, 6).expect("pool");
    let store = Arc::new(PgLogStore::open(&pool, "log").expect("open"));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut reads = 0u64;
                let mut last_size = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let Some(head) = store.tree_head().expect("tree_head") else {
                        continue;
                    };
                    assert!(head.tree_size >= last_size, "tree head went backwards");
                    last_size = head.tree_size;
                    let last = head.tree_size - 1;
                    let entry = sample_entry(last);
                    assert_eq!(
                        store.leaf_index(&entry.leaf_hash).expect("leaf"),
                        Some(last)
                    );
                    assert_eq!(
                        store.dedup_many(&[entry.dedup_key]).expect("dedup"),
                        vec![Some(entry.record)]
                    );
                    let tile = store
                        .data_tile(last / 256)
                        .expect("data_tile")
                        .expect("edge tile");
                    assert!(u64::from(tile.width) > last % 256);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for i in 0..20 {
        store
            .commit_batch(&realistic_batch(i * 300, 300, 64))
            .expect("commit");
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().expect("reader panicked") > 0);
    }
}

/// Connection failures never carry the connection string: a password in the URL
/// must not reach a log line.
#[test]
fn errors_do_not_reveal_the_password() {
    for url in [
        "postgres://certcentral:s3cret-pw@127.0.0.1:1/certcentral",
        "postgres://certcentral:s3cret-pw@127.0.0.1:notaport/certcentral",
        "host=127.0.0.1 port=1 user=certcentral password=s3cret-pw connect_timeout=nope",
    ] {
        let err = PgPool::connect(url).expect_err("nothing listens there");
        assert!(matches!(err, StoreError::Postgres(_)), "{err:?}");
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("s3cret-pw"), "{text}");
        }
        // Still says what went wrong.
        assert!(err.to_string().len() > "postgres: db error".len(), "{err}");
    }
}

/// Values beyond BIGINT are refused as corrupt, not wrapped.
#[test]
fn out_of_range_values_are_refused() {
    let store = PgLogStore::open(&fresh_pool(), "log").expect("open");
    let err = store
        .commit_batch(&Batch {
            tree_head: Some(sample_head(u64::MAX, 1)),
            ..Batch::default()
        })
        .expect_err("u64::MAX does not fit");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert!(matches!(
        store.hash_tile(0, u64::MAX),
        Err(StoreError::Corrupt(_))
    ));
}

/// The sequencer's steady state, as in tests/sqlite.rs: ~3,000 entries with ~12
/// hash and ~12 ~256 KiB data tiles per batch. Prints the commit times (run with
/// `--nocapture`); no assertion on time.
#[test]
fn commit_time_of_a_three_thousand_entry_batch() {
    let store = PgLogStore::open(&fresh_pool(), "log").expect("open");
    let mut times = Vec::new();
    for i in 0..5 {
        let batch = realistic_batch(100 + i * 3000, 3000, 1024);
        let started = Instant::now();
        store.commit_batch(&batch).expect("commit");
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "PostgreSQL: median commit time of 3000 entries: {:?} (all: {times:?})",
        times[times.len() / 2]
    );
}

/// Only one process at a time holds a log's sequencer lease; dropping it lets the
/// next one take it.
#[test]
fn only_one_handle_holds_the_lease_until_it_is_dropped() {
    let (pool_a, pool_b, _) = two_pools();
    let a = PgLogStore::open(&pool_a, "seq").expect("open a");
    let b = PgLogStore::open(&pool_b, "seq").expect("open b");
    let mut lease = a.try_acquire_lease().expect("acquire").expect("a is first");
    for _ in 0..3 {
        assert!(b.try_acquire_lease().expect("try b").is_none());
        assert!(a.try_acquire_lease().expect("try a again").is_none());
    }
    assert!(lease.is_held());
    drop(lease);
    lease = acquire_within_seconds(&b);
    assert!(lease.is_held());
    assert!(a.try_acquire_lease().expect("try a").is_none());
}

/// A standby asks for the lease on one waiting connection: its first failed attempt
/// leaves one session open, later attempts open and close none, and that session is
/// the one that takes the lease once it is free.
#[test]
fn a_standby_asks_for_the_lease_on_one_connection() {
    let (pool_a, pool_b, schema) = two_pools();
    let a = PgLogStore::open(&pool_a, "seq").expect("open a");
    let b = PgLogStore::open(&pool_b, "seq").expect("open b");
    let lease = a.try_acquire_lease().expect("acquire").expect("free");
    let mut client = raw_client(&schema);
    let mut sessions = || -> std::collections::BTreeSet<i32> {
        client
            .query(
                "SELECT pid FROM pg_stat_activity
                 WHERE application_name = $1 AND pid <> pg_backend_pid()",
                &[&schema],
            )
            .expect("pg_stat_activity")
            .iter()
            .map(|row| row.get(0))
            .collect()
    };
    let before = sessions();
    assert!(b.try_acquire_lease().expect("try").is_none());
    let waiting = sessions();
    let added: Vec<i32> = waiting.difference(&before).copied().collect();
    assert_eq!(
        added.len(),
        1,
        "one waiting session: {before:?} → {waiting:?}"
    );
    for _ in 0..5 {
        assert!(b.try_acquire_lease().expect("try").is_none());
    }
    assert_eq!(sessions(), waiting, "later attempts reuse it");
    drop(lease);
    let taken = acquire_within_seconds(&b);
    let holders: Vec<i32> = raw_client(&schema)
        .query(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1",
            &[&added[0]],
        )
        .expect("pg_locks")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(holders, added, "the waiting session took the lease");
    drop(taken);
}

/// Leases are per log, and per schema (a deployment's tables): holding one log's
/// lease blocks neither another log of the same database nor a log of the same name
/// in another schema.
#[test]
fn a_lease_on_one_log_does_not_block_another() {
    let pool = fresh_pool();
    let a = PgLogStore::open(&pool, "log-a").expect("open a");
    let b = PgLogStore::open(&pool, "log-b").expect("open b");
    let lease_a = a.try_acquire_lease().expect("acquire a").expect("a free");
    let lease_b = b.try_acquire_lease().expect("acquire b").expect("b free");
    let elsewhere = PgLogStore::open(&fresh_pool(), "log-a").expect("open elsewhere");
    let lease_elsewhere = elsewhere
        .try_acquire_lease()
        .expect("acquire elsewhere")
        .expect("another schema's log-a is free");
    drop((lease_a, lease_b, lease_elsewhere));
}

/// A holder whose database session ends (crash, dead host, an operator's
/// pg_terminate_backend) has lost the lease: it says so, its commit fails and
/// changes nothing, and another process takes the lease at once.
#[test]
fn a_lease_whose_session_ended_is_lost() {
    let (pool_a, pool_b, schema) = two_pools();
    let a = PgLogStore::open(&pool_a, "seq").expect("open a");
    let b = PgLogStore::open(&pool_b, "seq").expect("open b");
    enqueue_entries(&a, 0..3);
    let mut lease = a.try_acquire_pg_lease().expect("acquire").expect("free");
    let queued = lease.pending(10).expect("pending");
    assert_eq!(queued.len(), 3);
    terminate_backend(&schema, lease.backend_pid());
    assert!(!lease.is_held());
    let batch = sample_batch(0..3, 1_000);
    let err = lease
        .commit(&batch, &ids(&queued))
        .expect_err("a lost lease must not commit");
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err:?}");
    assert_eq!(a.tree_head().expect("head"), None);
    assert_batch_absent(&a, &batch);
    let mut next = b
        .try_acquire_lease()
        .expect("acquire b")
        .expect("the lease is free as soon as the session is gone");
    assert_eq!(next.pending(10).expect("pending"), queued);
}

/// One process at a time follows logs and delivers webhooks: the monitor lease is
/// exclusive per schema, freed when dropped or when its session ends, and separate
/// from sequencer leases (even of a log named `monitor`).
#[test]
fn only_one_process_holds_the_monitor_lease() {
    let (pool_a, pool_b, schema) = two_pools();
    let a = PgMonitorStore::open(&pool_a).expect("open a");
    let b = PgMonitorStore::open(&pool_b).expect("open b");
    let mut lease = a
        .try_acquire_monitor_lease()
        .expect("acquire")
        .expect("a is first");
    for _ in 0..3 {
        assert!(b.try_acquire_monitor_lease().expect("try b").is_none());
    }
    assert!(lease.is_held());
    let log = PgLogStore::open(&pool_b, "monitor").expect("open log");
    let sequencer = log.try_acquire_lease().expect("acquire sequencer");
    assert!(sequencer.is_some(), "the sequencer lease is another lock");
    drop(sequencer);

    drop(lease);
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    let mut lease = loop {
        if let Some(lease) = b.try_acquire_monitor_lease().expect("try b") {
            break lease;
        }
        assert!(Instant::now() < deadline, "the dropped lease was not freed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(lease.is_held());

    // b's holder "crashes": its session ends, it learns so, and a takes over.
    let mut client = raw_client(&schema);
    let holders: Vec<i32> = client
        .query(
            "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND s.application_name = $1",
            &[&schema],
        )
        .expect("pg_locks")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(holders.len(), 1, "one session holds it: {holders:?}");
    terminate_backend(&schema, holders[0]);
    assert!(!lease.is_held());
    assert!(!lease.is_held(), "lost stays lost");
    let mut taken = a
        .try_acquire_monitor_lease()
        .expect("acquire a")
        .expect("free once the session is gone");
    assert!(taken.is_held());
}

/// Queuing a key again while it waits keeps the first payload; `pending` hands out
/// the oldest first, at most `max`, and only this log's.
#[test]
fn enqueue_is_idempotent_and_pending_is_oldest_first() {
    let pool = fresh_pool();
    let store = PgLogStore::open(&pool, "seq").expect("open");
    let other = PgLogStore::open(&pool, "other").expect("open other");
    enqueue_entries(&other, 100..102);
    enqueue_entries(&store, 0..5);
    store
        .enqueue(&sample_entry(1).dedup_key, b"a retry")
        .expect("enqueue again");
    let mut lease = store.try_acquire_lease().expect("acquire").expect("free");
    let first = lease.pending(3).expect("pending");
    assert_eq!(
        first.iter().map(|q| q.dedup_key).collect::<Vec<_>>(),
        (0..3)
            .map(|i| sample_entry(i).dedup_key)
            .collect::<Vec<_>>()
    );
    assert_eq!(first[1].payload, payload(1));
    assert!(first.windows(2).all(|w| w[0].id < w[1].id));
    let all = lease.pending(100).expect("pending all");
    assert_eq!(all.len(), 5);
    assert_eq!(all[..3], first[..]);
    assert_eq!(lease.pending(0).expect("pending none"), Vec::new());
}

/// A lease commit writes the batch and deletes exactly the consumed queue rows, in
/// one transaction: a batch that fails (here a shrinking head) leaves both the log
/// and the queue as they were.
#[test]
fn lease_commit_writes_the_batch_and_consumes_the_queue_atomically() {
    let pool = fresh_pool();
    let store = PgLogStore::open(&pool, "seq").expect("open");
    let other = PgLogStore::open(&pool, "other").expect("open other");
    enqueue_entries(&store, 0..5);
    enqueue_entries(&other, 0..2);
    let mut lease = store.try_acquire_lease().expect("acquire").expect("free");
    let queued = lease.pending(10).expect("pending");
    let first = sample_batch(0..3, 1_000);
    lease
        .commit(&first, &ids(&queued[..3]))
        .expect("lease commit");
    assert_batch_stored(&store, &first);
    assert_eq!(store.tree_head().expect("head"), first.tree_head);
    assert_eq!(lease.pending(10).expect("pending"), queued[3..]);

    let mut shrinking = sample_batch(3..5, 2_000);
    shrinking.tree_head = Some(sample_head(2, 2_000));
    let err = lease
        .commit(&shrinking, &ids(&queued[3..]))
        .expect_err("a shrinking head must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert!(lease.is_held(), "a refused batch does not cost the lease");
    assert_eq!(lease.pending(10).expect("pending"), queued[3..]);
    assert_eq!(store.tree_head().expect("head"), first.tree_head);
    for entry in &shrinking.entries {
        assert_eq!(store.dedup(&entry.dedup_key).expect("dedup"), None);
    }

    let second = sample_batch(3..5, 3_000);
    lease
        .commit(&second, &ids(&queued[3..]))
        .expect("the corrected batch commits");
    assert_eq!(lease.pending(10).expect("pending"), Vec::new());
    assert_eq!(store.tree_head().expect("head"), second.tree_head);
    let mut other_lease = other.try_acquire_lease().expect("acquire").expect("free");
    assert_eq!(other_lease.pending(10).expect("pending").len(), 2);
}

/// Two sequencers of one log never both commit: while A holds the lease B cannot
/// take it; once A's session is gone B takes it and commits, and A's commit (with
/// another tree of the same size) fails as lost and changes nothing.
#[test]
fn two_lease_holders_can_never_both_commit() {
    let (pool_a, pool_b, schema) = two_pools();
    let a = PgLogStore::open(&pool_a, "seq").expect("open a");
    let b = PgLogStore::open(&pool_b, "seq").expect("open b");
    enqueue_entries(&b, 0..4);
    let mut lease_a = a.try_acquire_pg_lease().expect("acquire a").expect("free");
    assert!(b.try_acquire_lease().expect("try b").is_none());
    let queued_a = lease_a.pending(10).expect("pending a");
    terminate_backend(&schema, lease_a.backend_pid());

    let mut lease_b = b.try_acquire_lease().expect("acquire b").expect("now free");
    let queued_b = lease_b.pending(10).expect("pending b");
    assert_eq!(queued_b, queued_a);
    let batch_b = sample_batch(0..4, 1_000);
    lease_b
        .commit(&batch_b, &ids(&queued_b))
        .expect("b commits");

    let mut batch_a = sample_batch(0..4, 2_000);
    if let Some(head) = &mut batch_a.tree_head {
        head.root = hash_of(9, 4);
    }
    let err = lease_a
        .commit(&batch_a, &ids(&queued_a))
        .expect_err("a lost lease must not commit");
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err:?}");
    assert_eq!(a.tree_head().expect("head"), batch_b.tree_head);
    assert_batch_stored(&a, &batch_b);
    assert_eq!(lease_b.pending(10).expect("pending"), Vec::new());
}

/// The payload queued for sample entry `i`.
fn payload(i: u64) -> Vec<u8> {
    format!("submission {i}").into_bytes()
}

fn enqueue_entries(store: &PgLogStore, range: std::ops::Range<u64>) {
    for i in range {
        store
            .enqueue(&sample_entry(i).dedup_key, &payload(i))
            .expect("enqueue");
    }
}

fn ids(queued: &[QueuedSubmission]) -> Vec<i64> {
    queued.iter().map(|q| q.id).collect()
}

/// A lease taken right after the previous holder dropped it: the server ends the
/// old session asynchronously, so allow it a moment.
fn acquire_within_seconds(store: &PgLogStore) -> Box<dyn SequencerLease> {
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if let Some(lease) = store.try_acquire_lease().expect("try") {
            return lease;
        }
        assert!(
            Instant::now() < deadline,
            "the dropped lease was not released"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Ends the server session `pid` (what a crash of its holder or an operator does)
/// and waits until it and its locks are gone.
fn terminate_backend(schema: &str, pid: i32) {
    let mut client = raw_client(schema);
    let terminated: bool = client
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .expect("terminate")
        .get(0);
    assert!(terminated, "no backend {pid}");
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    while client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)
                 OR EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1)",
            &[&pid],
        )
        .expect("pg_stat_activity")
        .get::<_, bool>(0)
    {
        assert!(Instant::now() < deadline, "backend {pid} did not exit");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The server calls the stores from axum handlers; the sync client must work there
/// (it would panic blocking on its own runtime inside a worker without `off_async`).
#[test]
fn stores_work_from_async_tasks_on_a_multi_thread_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let store = std::sync::Arc::new(PgLogStore::open(&fresh_pool(), "async").expect("open"));
    let task = {
        let store = store.clone();
        runtime.spawn(async move {
            store
                .commit_batch(&store::conformance::sample_batch(0..3, 1))
                .expect("commit from a worker");
            store.tree_head().expect("read from a worker")
        })
    };
    let head = runtime.block_on(task).expect("task");
    assert_eq!(head.map(|h| h.tree_size), Some(3));
}
