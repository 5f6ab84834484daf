//! [`MonitorStore`] on PostgreSQL, in the deployment's shared database.
//!
//! Fencing: the per-account subscription limit is a count-then-insert, so it first
//! locks the account's row in `monitor_account_locks` (made on demand): two processes
//! adding subscriptions for one account cannot both pass the count. A scan holds share
//! locks on the subscriptions it queues matches for, so a concurrent deletion either
//! comes first (the match is not queued) or waits and then drops the queued match.
//! "Queued at most once, ever" is the unique key on deliveries.
//!
//! Several processes on one database elect the one that follows and delivers with a
//! [`MonitorLease`]: a session advisory lock, like a CT sequencer lease (see
//! `shared.rs`), so a holder that dies or loses its host frees it within seconds.

use super::shared::{LeaseSlot, LockSession};
use super::{Finish, PgPool, migrate, stored_version, to_i64, to_u64};
use crate::Result;
use crate::monitor::{
    DeliveryOutcome, MonitorLease, MonitorStore, NewDelivery, PendingDelivery, StoredAlert,
    Subscription,
};

/// The `monitor_` tables' migrations; `MIGRATIONS[i]` takes version `i` to `i + 1`.
/// Only ever appended.
const MIGRATIONS: &[&str] = &[
    // Version 1: the initial schema, as SQLite's, plus `monitor_account_locks`.
    // `monitor_deliveries` is both the outbox (done_ms NULL) and the record of what
    // was delivered: its UNIQUE key makes a match queued at most once per subscription.
    "CREATE TABLE monitor_subscriptions (
        id         TEXT PRIMARY KEY,
        account_id BIGINT NOT NULL,
        rule       TEXT NOT NULL,
        webhook    TEXT NOT NULL,
        created_ms BIGINT NOT NULL
    );
    CREATE INDEX monitor_subscriptions_account ON monitor_subscriptions (account_id, created_ms);
    CREATE TABLE monitor_account_locks (
        account_id BIGINT PRIMARY KEY
    );
    CREATE TABLE monitor_log_states (
        log   TEXT PRIMARY KEY,
        state TEXT NOT NULL
    );
    CREATE TABLE monitor_deliveries (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subscription_id TEXT NOT NULL,
        log             TEXT NOT NULL,
        leaf_index      BIGINT NOT NULL,
        payload         TEXT NOT NULL,
        created_ms      BIGINT NOT NULL,
        done_ms         BIGINT,
        gave_up         TEXT,
        UNIQUE (subscription_id, log, leaf_index)
    );
    CREATE INDEX monitor_deliveries_pending ON monitor_deliveries (id) WHERE done_ms IS NULL;",
    // Version 2: each subscription's webhook signing key.
    "ALTER TABLE monitor_subscriptions ADD COLUMN secret TEXT;",
    // Version 3: alerts outlive restarts; an open one (cleared_ms NULL) halts its log.
    "CREATE TABLE monitor_alerts (
        id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        log        TEXT NOT NULL,
        kind       TEXT NOT NULL,
        detail     TEXT NOT NULL,
        at_ms      BIGINT NOT NULL,
        cleared_ms BIGINT
    );
    CREATE INDEX monitor_alerts_open ON monitor_alerts (id) WHERE cleared_ms IS NULL;",
    // Version 4: each subscription's queue, for taking its oldest undelivered match.
    "CREATE INDEX monitor_deliveries_queue ON monitor_deliveries (subscription_id, id)
     WHERE done_ms IS NULL;",
];

/// The `monitor_` schema version this build writes and understands.
pub const MONITOR_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

const COMPONENT: &str = "monitor";

/// The monitor's storage in a shared PostgreSQL database. Share it behind an `Arc`.
pub struct PgMonitorStore {
    pool: PgPool,
    lease_slot: LeaseSlot,
}

impl std::fmt::Debug for PgMonitorStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgMonitorStore").finish_non_exhaustive()
    }
}

impl PgMonitorStore {
    /// Opens the monitor's tables in the pool's database, bringing them up to
    /// [`MONITOR_SCHEMA_VERSION`]; refuses a newer schema.
    pub fn open(pool: &PgPool) -> Result<Self> {
        migrate(pool, COMPONENT, MIGRATIONS)?;
        Ok(Self {
            pool: pool.clone(),
            lease_slot: LeaseSlot::default(),
        })
    }

    /// The `monitor_` tables' schema version in the database.
    pub fn schema_version(&self) -> Result<u32> {
        self.pool
            .read(|conn| stored_version(&mut conn.client, COMPONENT))
    }
}

// Ids compare bytewise (`COLLATE "C"`), as in SQLite, whatever the database's locale.
macro_rules! subscription_select {
    () => {
        "SELECT id, account_id, rule, webhook, secret, created_ms FROM monitor_subscriptions"
    };
}

fn subscription_rows(rows: Vec<::postgres::Row>) -> Result<Vec<Subscription>> {
    rows.iter()
        .map(|row| {
            Ok(Subscription {
                id: row.try_get(0)?,
                account_id: row.try_get(1)?,
                rule: row.try_get(2)?,
                webhook: row.try_get(3)?,
                secret: row.try_get(4)?,
                created_ms: to_u64(row.try_get(5)?)?,
            })
        })
        .collect()
}

impl MonitorStore for PgMonitorStore {
    fn add_subscription(&self, sub: &Subscription, max_per_account: u64) -> Result<bool> {
        self.pool.write(|client, st| {
            // Creates and locks the account's row in one statement (DO UPDATE locks
            // the existing row); the count below then cannot race another add.
            let stmt = st.get(
                client,
                "INSERT INTO monitor_account_locks (account_id) VALUES ($1)
                 ON CONFLICT (account_id) DO UPDATE SET account_id = EXCLUDED.account_id",
            )?;
            client.execute(&stmt, &[&sub.account_id])?;
            let stmt = st.get(
                client,
                "SELECT COUNT(*) FROM monitor_subscriptions WHERE account_id = $1",
            )?;
            let count: i64 = client.query_one(&stmt, &[&sub.account_id])?.try_get(0)?;
            if to_u64(count)? >= max_per_account {
                return Ok(Finish::Rollback(false));
            }
            let stmt = st.get(
                client,
                "INSERT INTO monitor_subscriptions (id, account_id, rule, webhook, secret, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )?;
            client.execute(
                &stmt,
                &[
                    &sub.id,
                    &sub.account_id,
                    &sub.rule,
                    &sub.webhook,
                    &sub.secret,
                    &to_i64(sub.created_ms)?,
                ],
            )?;
            Ok(Finish::Commit(true))
        })
    }

    fn subscriptions(&self) -> Result<Vec<Subscription>> {
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(concat!(
                subscription_select!(),
                r#" ORDER BY created_ms, id COLLATE "C""#
            ))?;
            subscription_rows(client.query(&st, &[])?)
        })
    }

    fn account_subscriptions(&self, account_id: i64) -> Result<Vec<Subscription>> {
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(concat!(
                subscription_select!(),
                r#" WHERE account_id = $1 ORDER BY created_ms, id COLLATE "C""#
            ))?;
            subscription_rows(client.query(&st, &[&account_id])?)
        })
    }

    fn delete_subscription(&self, account_id: i64, id: &str) -> Result<bool> {
        self.pool.write(|client, st| {
            let stmt = st.get(
                client,
                "DELETE FROM monitor_subscriptions WHERE id = $1 AND account_id = $2",
            )?;
            let deleted = client.execute(&stmt, &[&id, &account_id])?;
            if deleted > 0 {
                let stmt = st.get(
                    client,
                    "DELETE FROM monitor_deliveries WHERE subscription_id = $1 AND done_ms IS NULL",
                )?;
                client.execute(&stmt, &[&id])?;
            }
            Ok(Finish::Commit(deleted > 0))
        })
    }

    fn set_subscription_secret(&self, account_id: i64, id: &str, secret: &str) -> Result<bool> {
        self.pool.write(|client, st| {
            let stmt = st.get(
                client,
                "UPDATE monitor_subscriptions SET secret = $3 WHERE id = $1 AND account_id = $2",
            )?;
            Ok(Finish::Commit(
                client.execute(&stmt, &[&id, &account_id, &secret])? > 0,
            ))
        })
    }

    fn log_state(&self, log: &str) -> Result<Option<String>> {
        self.pool.read(|conn| {
            let (client, st) =
                conn.prepare("SELECT state FROM monitor_log_states WHERE log = $1")?;
            Ok(client
                .query_opt(&st, &[&log])?
                .map(|row| row.try_get(0))
                .transpose()?)
        })
    }

    fn commit_scan(
        &self,
        log: &str,
        state: &str,
        deliveries: &[NewDelivery],
        now_ms: u64,
    ) -> Result<()> {
        let now = to_i64(now_ms)?;
        let subscription_ids: Vec<&str> = deliveries
            .iter()
            .map(|d| d.subscription_id.as_str())
            .collect();
        let logs: Vec<&str> = deliveries.iter().map(|d| d.log.as_str()).collect();
        let leaf_indexes = deliveries
            .iter()
            .map(|d| to_i64(d.leaf_index))
            .collect::<Result<Vec<_>>>()?;
        let payloads: Vec<&str> = deliveries.iter().map(|d| d.payload.as_str()).collect();
        self.pool.write(|client, st| {
            let stmt = st.get(
                client,
                "INSERT INTO monitor_log_states (log, state) VALUES ($1, $2)
                 ON CONFLICT (log) DO UPDATE SET state = EXCLUDED.state",
            )?;
            client.execute(&stmt, &[&log, &state])?;
            if deliveries.is_empty() {
                return Ok(Finish::Commit(()));
            }
            let stmt = st.get(
                client,
                "SELECT 1 FROM monitor_subscriptions WHERE id = ANY($1) FOR SHARE",
            )?;
            client.execute(&stmt, &[&subscription_ids])?;
            // In the given order, so ids (and "oldest first") follow the scan.
            let stmt = st.get(
                client,
                "INSERT INTO monitor_deliveries
                     (subscription_id, log, leaf_index, payload, created_ms)
                 SELECT d.sub, d.log, d.idx, d.payload, $5
                 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[])
                     WITH ORDINALITY AS d (sub, log, idx, payload, n)
                 WHERE EXISTS (SELECT 1 FROM monitor_subscriptions s WHERE s.id = d.sub)
                 ORDER BY d.n
                 ON CONFLICT (subscription_id, log, leaf_index) DO NOTHING",
            )?;
            client.execute(
                &stmt,
                &[&subscription_ids, &logs, &leaf_indexes, &payloads, &now],
            )?;
            Ok(Finish::Commit(()))
        })
    }

    fn next_deliveries(&self, limit: usize) -> Result<Vec<PendingDelivery>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.pool.read(|conn| {
            // Each subscription's head (through `monitor_deliveries_queue`), numbered
            // by age within its account; turn 1 of every account first.
            let (client, st) = conn.prepare(
                "SELECT id, subscription_id, account_id, webhook, secret, payload, created_ms
                 FROM (
                     SELECT d.id, d.subscription_id, s.account_id, s.webhook, s.secret,
                            d.payload, d.created_ms,
                            ROW_NUMBER() OVER (PARTITION BY s.account_id ORDER BY d.id) AS turn
                     FROM monitor_subscriptions s
                     JOIN monitor_deliveries d ON d.id = (
                         SELECT MIN(q.id) FROM monitor_deliveries q
                         WHERE q.subscription_id = s.id AND q.done_ms IS NULL)
                 ) heads
                 ORDER BY turn, id LIMIT $1",
            )?;
            client
                .query(&st, &[&limit])?
                .iter()
                .map(|row| {
                    Ok(PendingDelivery {
                        id: row.try_get(0)?,
                        subscription_id: row.try_get(1)?,
                        account_id: row.try_get(2)?,
                        webhook: row.try_get(3)?,
                        secret: row.try_get(4)?,
                        payload: row.try_get(5)?,
                        created_ms: to_u64(row.try_get(6)?)?,
                    })
                })
                .collect()
        })
    }

    fn finish_delivery(&self, id: i64, outcome: &DeliveryOutcome, now_ms: u64) -> Result<()> {
        let gave_up = match outcome {
            DeliveryOutcome::Delivered => None,
            DeliveryOutcome::GaveUp(reason) => Some(reason.as_str()),
        };
        let now = to_i64(now_ms)?;
        self.pool.write(|client, st| {
            let stmt = st.get(
                client,
                "UPDATE monitor_deliveries SET done_ms = $2, gave_up = $3
                 WHERE id = $1 AND done_ms IS NULL",
            )?;
            client.execute(&stmt, &[&id, &now, &gave_up])?;
            Ok(Finish::Commit(()))
        })
    }

    fn record_alert(&self, log: &str, kind: &str, detail: &str, at_ms: u64) -> Result<()> {
        let at = to_i64(at_ms)?;
        self.pool.write(|client, st| {
            let stmt = st.get(
                client,
                "INSERT INTO monitor_alerts (log, kind, detail, at_ms) VALUES ($1, $2, $3, $4)",
            )?;
            client.execute(&stmt, &[&log, &kind, &detail, &at])?;
            Ok(Finish::Commit(()))
        })
    }

    fn open_alerts(&self, limit: usize) -> Result<Vec<StoredAlert>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(
                "SELECT id, log, kind, detail, at_ms FROM monitor_alerts
                 WHERE cleared_ms IS NULL ORDER BY id LIMIT $1",
            )?;
            client
                .query(&st, &[&limit])?
                .iter()
                .map(|row| {
                    Ok(StoredAlert {
                        id: row.try_get(0)?,
                        log: row.try_get(1)?,
                        kind: row.try_get(2)?,
                        detail: row.try_get(3)?,
                        at_ms: to_u64(row.try_get(4)?)?,
                    })
                })
                .collect()
        })
    }

    fn clear_alerts(&self, log: &str, at_ms: u64) -> Result<u64> {
        let at = to_i64(at_ms)?;
        self.pool.write(|client, st| {
            let stmt = st.get(
                client,
                "UPDATE monitor_alerts SET cleared_ms = $2 WHERE log = $1 AND cleared_ms IS NULL",
            )?;
            Ok(Finish::Commit(client.execute(&stmt, &[&log, &at])?))
        })
    }

    fn try_acquire_monitor_lease(&self) -> Result<Option<Box<dyn MonitorLease>>> {
        Ok(self
            .lease_slot
            .try_acquire(&self.pool, MONITOR_LEASE_NAMESPACE, "monitor")?
            .map(|session| Box::new(PgMonitorLease(session)) as Box<dyn MonitorLease>))
    }
}

/// Namespace of the monitor lease's advisory-lock key (one lease per schema).
const MONITOR_LEASE_NAMESPACE: &[u8] = b"certcentral-monitor\0";

/// The monitor lease: the session holding its advisory lock; dropping it ends the
/// session and frees the lock at once.
struct PgMonitorLease(LockSession);

impl MonitorLease for PgMonitorLease {
    fn is_held(&mut self) -> bool {
        self.0.is_held()
    }
}
