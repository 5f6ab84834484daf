//! The embedded SQLite [`MonitorStore`]: its own file (`monitor.db`), WAL mode,
//! `synchronous=FULL`.
//!
//! Why its own file and not the registry's: the follower commits a scan every few
//! seconds, and a busy registry push should not wait behind it (nor the reverse); the
//! two share nothing that must change in one transaction — a subscription names its
//! account by id only. Why `FULL`: a delivery marked done and then lost on power loss
//! would be delivered again, the one thing the outbox exists to prevent.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::Result;
use crate::columns::{lock, to_i64, to_u64};
use crate::monitor::{
    DeliveryOutcome, MonitorLease, MonitorStore, NewDelivery, PendingDelivery, SoleProcess,
    StoredAlert, Subscription,
};
use crate::sqlite::{get_u64, migrate, open_wal_writer};

/// Schema migrations; `MIGRATIONS[i]` takes `user_version` `i` to `i + 1`. Only ever
/// appended.
const MIGRATIONS: &[&str] = &[
    // Version 1: the initial schema. `deliveries` is both the outbox (done_ms NULL)
    // and the record of what was delivered: its UNIQUE key is what makes a match
    // queued at most once per subscription.
    "CREATE TABLE subscriptions (
        id         TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL,
        rule       TEXT NOT NULL,
        webhook    TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE INDEX subscriptions_account ON subscriptions (account_id, created_ms);
    CREATE TABLE log_states (
        log   TEXT PRIMARY KEY,
        state TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY,
        subscription_id TEXT NOT NULL,
        log             TEXT NOT NULL,
        leaf_index      INTEGER NOT NULL,
        payload         TEXT NOT NULL,
        created_ms      INTEGER NOT NULL,
        done_ms         INTEGER,
        gave_up         TEXT,
        UNIQUE (subscription_id, log, leaf_index)
    );
    CREATE INDEX deliveries_pending ON deliveries (done_ms, id);",
    // Version 2: each subscription's webhook signing key.
    "ALTER TABLE subscriptions ADD COLUMN secret TEXT;",
    // Version 3: alerts outlive restarts; an open one (cleared_ms NULL) halts its log.
    "CREATE TABLE alerts (
        id         INTEGER PRIMARY KEY,
        log        TEXT NOT NULL,
        kind       TEXT NOT NULL,
        detail     TEXT NOT NULL,
        at_ms      INTEGER NOT NULL,
        cleared_ms INTEGER
    );
    CREATE INDEX alerts_open ON alerts (cleared_ms, id);",
    // Version 4: each subscription's queue, for taking its oldest undelivered match.
    "CREATE INDEX deliveries_queue ON deliveries (subscription_id, id) WHERE done_ms IS NULL;",
];

/// The schema version this build writes and understands.
pub const MONITOR_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The monitor's storage in one SQLite file. Share it behind an `Arc`. One connection
/// behind a mutex: the monitor's load is a few small transactions per second.
pub struct SqliteMonitorStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteMonitorStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteMonitorStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteMonitorStore {
    /// Opens (creating it and its parent directories) the database at `path` and
    /// brings its schema up to [`MONITOR_SCHEMA_VERSION`]; refuses a newer schema.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = open_wal_writer(path)?;
        migrate(&mut conn, MIGRATIONS)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// The database's schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32> {
        Ok(lock(&self.conn).pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

type RawSubscription = (String, i64, String, String, Option<String>, i64);

fn subscription_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawSubscription> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn into_subscription(raw: RawSubscription) -> Result<Subscription> {
    Ok(Subscription {
        id: raw.0,
        account_id: raw.1,
        rule: raw.2,
        webhook: raw.3,
        secret: raw.4,
        created_ms: to_u64(raw.5)?,
    })
}

const SUBSCRIPTION_COLUMNS: &str = "id, account_id, rule, webhook, secret, created_ms";

impl MonitorStore for SqliteMonitorStore {
    fn add_subscription(&self, sub: &Subscription, max_per_account: u64) -> Result<bool> {
        let mut conn = lock(&self.conn);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let count: i64 = tx.query_row(
            "SELECT COUNT(*) FROM subscriptions WHERE account_id = ?1",
            params![sub.account_id],
            |r| r.get(0),
        )?;
        if to_u64(count)? >= max_per_account {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO subscriptions (id, account_id, rule, webhook, secret, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                sub.id,
                sub.account_id,
                sub.rule,
                sub.webhook,
                sub.secret,
                to_i64(sub.created_ms)?
            ],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn subscriptions(&self) -> Result<Vec<Subscription>> {
        let conn = lock(&self.conn);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY created_ms, id"
        ))?;
        let rows = stmt
            .query_map([], subscription_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(into_subscription).collect()
    }

    fn account_subscriptions(&self, account_id: i64) -> Result<Vec<Subscription>> {
        let conn = lock(&self.conn);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE account_id = ?1
             ORDER BY created_ms, id"
        ))?;
        let rows = stmt
            .query_map(params![account_id], subscription_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(into_subscription).collect()
    }

    fn delete_subscription(&self, account_id: i64, id: &str) -> Result<bool> {
        let mut conn = lock(&self.conn);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let deleted = tx.execute(
            "DELETE FROM subscriptions WHERE id = ?1 AND account_id = ?2",
            params![id, account_id],
        )?;
        if deleted > 0 {
            tx.execute(
                "DELETE FROM deliveries WHERE subscription_id = ?1 AND done_ms IS NULL",
                params![id],
            )?;
        }
        tx.commit()?;
        Ok(deleted > 0)
    }

    fn set_subscription_secret(&self, account_id: i64, id: &str, secret: &str) -> Result<bool> {
        let changed = lock(&self.conn).execute(
            "UPDATE subscriptions SET secret = ?3 WHERE id = ?1 AND account_id = ?2",
            params![id, account_id, secret],
        )?;
        Ok(changed > 0)
    }

    fn log_state(&self, log: &str) -> Result<Option<String>> {
        let conn = lock(&self.conn);
        Ok(conn
            .query_row(
                "SELECT state FROM log_states WHERE log = ?1",
                params![log],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn commit_scan(
        &self,
        log: &str,
        state: &str,
        deliveries: &[NewDelivery],
        now_ms: u64,
    ) -> Result<()> {
        let now = to_i64(now_ms)?;
        let mut conn = lock(&self.conn);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO log_states (log, state) VALUES (?1, ?2)
             ON CONFLICT (log) DO UPDATE SET state = excluded.state",
            params![log, state],
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO deliveries
                 (subscription_id, log, leaf_index, payload, created_ms)
                 SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = ?1)",
            )?;
            for d in deliveries {
                insert.execute(params![
                    d.subscription_id,
                    d.log,
                    to_i64(d.leaf_index)?,
                    d.payload,
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn next_deliveries(&self, limit: usize) -> Result<Vec<PendingDelivery>> {
        let conn = lock(&self.conn);
        // Each subscription's head (through `deliveries_queue`), numbered by age within
        // its account; turn 1 of every account first.
        let mut stmt = conn.prepare_cached(
            "SELECT id, subscription_id, account_id, webhook, secret, payload, created_ms FROM (
                 SELECT d.id, d.subscription_id, s.account_id, s.webhook, s.secret, d.payload,
                        d.created_ms,
                        ROW_NUMBER() OVER (PARTITION BY s.account_id ORDER BY d.id) AS turn
                 FROM subscriptions s
                 JOIN deliveries d ON d.id = (
                     SELECT MIN(q.id) FROM deliveries q
                     WHERE q.subscription_id = s.id AND q.done_ms IS NULL)
             ) ORDER BY turn, id LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![limit], |r| {
            Ok(PendingDelivery {
                id: r.get(0)?,
                subscription_id: r.get(1)?,
                account_id: r.get(2)?,
                webhook: r.get(3)?,
                secret: r.get(4)?,
                payload: r.get(5)?,
                created_ms: get_u64(r, 6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn finish_delivery(&self, id: i64, outcome: &DeliveryOutcome, now_ms: u64) -> Result<()> {
        let gave_up = match outcome {
            DeliveryOutcome::Delivered => None,
            DeliveryOutcome::GaveUp(reason) => Some(reason.as_str()),
        };
        lock(&self.conn).execute(
            "UPDATE deliveries SET done_ms = ?2, gave_up = ?3 WHERE id = ?1 AND done_ms IS NULL",
            params![id, to_i64(now_ms)?, gave_up],
        )?;
        Ok(())
    }

    fn record_alert(&self, log: &str, kind: &str, detail: &str, at_ms: u64) -> Result<()> {
        lock(&self.conn).execute(
            "INSERT INTO alerts (log, kind, detail, at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![log, kind, detail, to_i64(at_ms)?],
        )?;
        Ok(())
    }

    fn open_alerts(&self, limit: usize) -> Result<Vec<StoredAlert>> {
        let conn = lock(&self.conn);
        let mut stmt = conn.prepare_cached(
            "SELECT id, log, kind, detail, at_ms FROM alerts
             WHERE cleared_ms IS NULL ORDER BY id LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![limit], |r| {
            Ok(StoredAlert {
                id: r.get(0)?,
                log: r.get(1)?,
                kind: r.get(2)?,
                detail: r.get(3)?,
                at_ms: get_u64(r, 4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn clear_alerts(&self, log: &str, at_ms: u64) -> Result<u64> {
        let cleared = lock(&self.conn).execute(
            "UPDATE alerts SET cleared_ms = ?2 WHERE log = ?1 AND cleared_ms IS NULL",
            params![log, to_i64(at_ms)?],
        )?;
        Ok(cleared as u64)
    }

    /// A SQLite data directory serves one process (as its logs do).
    fn try_acquire_monitor_lease(&self) -> Result<Option<Box<dyn MonitorLease>>> {
        Ok(Some(Box::new(SoleProcess)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_monitor_store_meets_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let counter = std::cell::Cell::new(0);
        crate::monitor_conformance::run_all(|| {
            counter.set(counter.get() + 1);
            SqliteMonitorStore::open(&dir.path().join(format!("m{}.db", counter.get()))).unwrap()
        });
    }

    #[test]
    fn state_and_deliveries_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("monitor.db");
        {
            let store = SqliteMonitorStore::open(&path).unwrap();
            crate::monitor_conformance::queue_sample(&store);
        }
        let store = SqliteMonitorStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MONITOR_SCHEMA_VERSION);
        assert_eq!(
            store.log_state("log-a").unwrap().as_deref(),
            Some("state-1")
        );
        assert_eq!(store.next_deliveries(10).unwrap().len(), 1);
    }

    /// A version 1 database (before signing keys) opens at the current version with
    /// its subscriptions and outbox intact; they have no key.
    #[test]
    fn a_version_1_database_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("monitor.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                "INSERT INTO subscriptions VALUES ('old', 1, 'email:a@example.com', 'http://h/', 5);
                 INSERT INTO deliveries (subscription_id, log, leaf_index, payload, created_ms)
                 VALUES ('old', 'log-a', 0, '{}', 5);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let store = SqliteMonitorStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MONITOR_SCHEMA_VERSION);
        let subs = store.subscriptions().unwrap();
        assert_eq!(
            (subs[0].id.as_str(), subs[0].secret.as_ref()),
            ("old", None)
        );
        let pending = store.next_deliveries(10).unwrap();
        assert_eq!((pending.len(), pending[0].secret.as_ref()), (1, None));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("monitor.db");
        drop(SqliteMonitorStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", MONITOR_SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        assert!(matches!(
            SqliteMonitorStore::open(&path),
            Err(crate::StoreError::UnsupportedSchema { .. })
        ));
    }
}
