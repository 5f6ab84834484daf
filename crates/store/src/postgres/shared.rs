//! [`SharedSequencing`] on PostgreSQL: the queue is the `ct_queue` table, the lease a
//! session-level advisory lock held by a connection of its own.
//!
//! Why an advisory lock on a dedicated session: PostgreSQL releases it exactly when
//! the session ends — the holder dropped the lease, crashed, or its host vanished
//! (TCP keepalives on both ends notice that within seconds) — so there is no lease
//! expiry to tune against clock skew or pauses. The connection is never pooled and
//! never replaced: a lease is that one session, and once it is gone every call on the
//! lease fails.
//!
//! Fencing: [`SequencerLease::commit`] runs on the lease's session, checks inside its
//! transaction that the session still holds the lock, and commits there. A
//! transaction can only commit while its session lives, and the lock lives exactly as
//! long as the session, so no commit lands after the lease was lost. The commit also
//! takes `ct_logs`' row lock and head checks (it is `commit_batch`'s body), so even a
//! writer outside any lease cannot make two sequencers fork the log.

use std::sync::Mutex;
use std::time::Duration;

use ::postgres::Client;

use super::log::write_batch;
use super::{Finish, Statements, lock, to_hash};
use crate::shared::{QueuedSubmission, SequencerLease, SharedSequencing};
use crate::{Batch, PgLogStore, PgPool, Result, StoreError};

/// Namespace of sequencer lease keys: the advisory-lock key space is shared with
/// everything else that uses advisory locks in the database (migrations use
/// `MIGRATION_LOCK`), so the key is a hash of a namespace, the schema and a name.
const LEASE_KEY_NAMESPACE: &[u8] = b"certcentral-ct-sequencer\0";

/// Idle time after which both ends start probing the lease connection, the probe
/// interval and the count of unanswered probes that end it: a holder on a dead host
/// (or a partitioned one) loses the lease after about 5 + 3 × 1 seconds, and a
/// holder whose database vanished learns it as quickly.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(5);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
const KEEPALIVE_PROBES: u32 = 3;

/// Data sent on the lease connection and not acknowledged for this long ends it
/// (keepalives only cover an idle connection).
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(10);

/// Session settings of the lease connection. `statement_timeout`: a commit that
/// waits this long (on `ct_logs`' row lock, or a sick server) fails instead of
/// stalling the log. `idle_in_transaction_session_timeout`: a holder stuck between
/// the statements of a commit (while holding the row lock every writer of the log
/// needs) loses its session, hence the lease, so another process can take over. The
/// `tcp_*` settings are the server's half of the keepalives above.
const SESSION_SETTINGS: &str = "SET statement_timeout = '30s';
    SET idle_in_transaction_session_timeout = '10s';
    SET tcp_keepalives_idle = 5;
    SET tcp_keepalives_interval = 1;
    SET tcp_keepalives_count = 3;
    SET tcp_user_timeout = 10000;";

/// Whether this session holds the session-level advisory lock `$1`. pg_locks shows
/// a bigint key as its high half in `classid`, its low half in `objid`, and
/// `objsubid = 1`.
pub(crate) const LOCK_HELD: &str = "SELECT EXISTS (SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND objsubid = 1
      AND ((classid::BIGINT << 32) | objid::BIGINT) = $1)";
const ENQUEUE: &str = "INSERT INTO ct_queue (log, dedup_key, payload) VALUES ($1, $2, $3)
    ON CONFLICT (log, dedup_key) DO NOTHING";
const PENDING: &str =
    "SELECT id, dedup_key, payload FROM ct_queue WHERE log = $1 ORDER BY id LIMIT $2";
const DELETE_CONSUMED: &str = "DELETE FROM ct_queue WHERE log = $1 AND id = ANY($2)";

/// The advisory-lock key of the lease `name` in `namespace` (a log's sequencer lease
/// is `log` in [`LEASE_KEY_NAMESPACE`]): FNV-1a 64 over namespace ‖ schema ‖ NUL ‖
/// name, its bits read as a bigint. The schema
/// (the session's `current_schema()`, where the `ct_` tables are) is part of it
/// because advisory locks are per database, not per schema: two deployments in two
/// schemas of one database must not share leases. FNV-1a because it is stable
/// across builds and platforms (unlike `std`'s hasher) and needs no dependency; a
/// collision would only make two logs share one lease (a stall, never a fork).
fn lease_key(namespace: &[u8], schema: &str, name: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for byte in [namespace, schema.as_bytes(), b"\0", name.as_bytes()]
        .into_iter()
        .flatten()
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(PRIME);
    }
    i64::from_be_bytes(hash.to_be_bytes())
}

impl PgLogStore {
    /// [`SharedSequencing::try_acquire_lease`] with the concrete lease type (which
    /// also tells the backend's pid, for logs and operators).
    pub fn try_acquire_pg_lease(&self) -> Result<Option<PgSequencerLease>> {
        let Some(session) =
            self.lease_slot
                .try_acquire(&self.pool, LEASE_KEY_NAMESPACE, &self.log)?
        else {
            return Ok(None);
        };
        Ok(Some(PgSequencerLease {
            client: session.client,
            statements: Statements::default(),
            log: self.log.clone(),
            key: session.key,
            backend_pid: session.backend_pid,
        }))
    }
}

/// A dedicated session (never pooled, with keepalives and [`SESSION_SETTINGS`])
/// holding the advisory lock `name` in `namespace`: the body of every lease.
pub(crate) struct LockSession {
    pub(crate) client: Client,
    pub(crate) key: i64,
    pub(crate) backend_pid: i32,
}

/// Where a store keeps the session of its last failed lease attempt, so a standby asks
/// again on that connection instead of opening one per attempt (a connection every
/// 500 ms per log, otherwise, from every standby process).
#[derive(Default)]
pub(crate) struct LeaseSlot(Mutex<Option<LockSession>>);

impl LeaseSlot {
    /// The lock `name` in `namespace` (always the same one for a slot), on the waiting
    /// session or a new one; `None` if another session holds it, and the session then
    /// waits here for the next attempt. A session that fails is dropped: the next
    /// attempt connects anew.
    pub(crate) fn try_acquire(
        &self,
        pool: &PgPool,
        namespace: &[u8],
        name: &str,
    ) -> Result<Option<LockSession>> {
        let waiting = lock(&self.0).take().filter(|s| !s.client.is_closed());
        let mut session = match waiting {
            Some(session) => session,
            None => LockSession::connect(pool, namespace, name)?,
        };
        let acquired: bool = session
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&session.key])?
            .try_get(0)?;
        if acquired {
            return Ok(Some(session));
        }
        *lock(&self.0) = Some(session);
        Ok(None)
    }
}

impl LockSession {
    /// A new session for the lock `name` in `namespace`, not holding it yet.
    fn connect(pool: &PgPool, namespace: &[u8], name: &str) -> Result<Self> {
        let mut config = pool.config().clone();
        config
            .settings_mut()
            .keepalives(true)
            .keepalives_idle(KEEPALIVE_IDLE)
            .keepalives_interval(KEEPALIVE_INTERVAL)
            .keepalives_retries(KEEPALIVE_PROBES)
            .tcp_user_timeout(TCP_USER_TIMEOUT);
        let mut client = config.connect()?;
        client.batch_execute(SESSION_SETTINGS)?;
        let row = client.query_one("SELECT current_schema(), pg_backend_pid()", &[])?;
        let schema: Option<String> = row.try_get(0)?;
        let backend_pid: i32 = row.try_get(1)?;
        let key = lease_key(namespace, schema.as_deref().unwrap_or(""), name);
        Ok(Self {
            client,
            key,
            backend_pid,
        })
    }

    /// Whether the session is alive and still holds the lock.
    pub(crate) fn is_held(&mut self) -> bool {
        !self.client.is_closed()
            && self
                .client
                .query_one(LOCK_HELD, &[&self.key])
                .and_then(|row| row.try_get::<_, bool>(0))
                .unwrap_or(false)
    }
}

impl SharedSequencing for PgLogStore {
    fn enqueue(&self, dedup_key: &[u8; 32], payload: &[u8]) -> Result<()> {
        self.pool.write(|client, st| {
            let stmt = st.get(client, ENQUEUE)?;
            client.execute(&stmt, &[&self.log, &&dedup_key[..], &payload])?;
            Ok(Finish::Commit(()))
        })
    }

    fn try_acquire_lease(&self) -> Result<Option<Box<dyn SequencerLease>>> {
        Ok(self
            .try_acquire_pg_lease()?
            .map(|lease| Box::new(lease) as Box<dyn SequencerLease>))
    }
}

/// A held sequencer lease: the database session holding the log's advisory lock.
/// Dropping it closes the connection, which ends the session and so releases the
/// lock at once.
pub struct PgSequencerLease {
    client: Client,
    statements: Statements,
    log: String,
    key: i64,
    backend_pid: i32,
}

impl std::fmt::Debug for PgSequencerLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSequencerLease")
            .field("log", &self.log)
            .field("backend_pid", &self.backend_pid)
            .finish_non_exhaustive()
    }
}

impl PgSequencerLease {
    /// The server process of the lease's session (`pg_stat_activity.pid`).
    pub fn backend_pid(&self) -> i32 {
        self.backend_pid
    }

    fn check_held(&mut self) -> Result<bool> {
        let stmt = self.statements.get(&mut self.client, LOCK_HELD)?;
        Ok(self.client.query_one(&stmt, &[&self.key])?.try_get(0)?)
    }

    fn lost(&self, why: &str) -> StoreError {
        StoreError::LeaseLost(format!("log {}: {why}", self.log))
    }

    /// Everything of a commit up to, not including, `COMMIT`, in the open transaction.
    fn stage(&mut self, batch: &Batch, consumed: &[i64]) -> Result<()> {
        if !self.check_held()? {
            return Err(self.lost("this session no longer holds the advisory lock"));
        }
        write_batch(&self.log, &mut self.client, &mut self.statements, batch)?;
        if !consumed.is_empty() {
            let stmt = self.statements.get(&mut self.client, DELETE_CONSUMED)?;
            self.client.execute(&stmt, &[&self.log, &consumed])?;
        }
        Ok(())
    }

    /// What a failure before `COMMIT` means: if the session no longer holds the lock
    /// (in particular, if it ended), the lease is lost, whatever the statement said.
    fn explain(&mut self, error: StoreError) -> StoreError {
        if matches!(error, StoreError::LeaseLost(_)) || self.is_held() {
            return error;
        }
        self.lost(&format!("the database session ended ({error})"))
    }
}

impl SequencerLease for PgSequencerLease {
    fn is_held(&mut self) -> bool {
        !self.client.is_closed() && self.check_held().unwrap_or(false)
    }

    fn pending(&mut self, max: usize) -> Result<Vec<QueuedSubmission>> {
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let stmt = self.statements.get(&mut self.client, PENDING)?;
        self.client
            .query(&stmt, &[&self.log, &limit])?
            .iter()
            .map(|row| {
                let key: Vec<u8> = row.try_get(1)?;
                Ok(QueuedSubmission {
                    id: row.try_get(0)?,
                    dedup_key: to_hash(&key, "queued dedup key")?,
                    payload: row.try_get(2)?,
                })
            })
            .collect()
    }

    /// Never retried, never on another connection: only this session's transaction
    /// is fenced by the lock. A `COMMIT` whose reply is lost (the connection broke
    /// while it ran) fails with an outcome the caller cannot know, as for
    /// `commit_batch`; that is safe, because SCTs are handed out only after `Ok` and
    /// submitters learn theirs from the dedup index, which the next holder reads.
    fn commit(&mut self, batch: &Batch, consumed: &[i64]) -> Result<()> {
        if let Err(e) = self.client.batch_execute("BEGIN") {
            return Err(self.explain(e.into()));
        }
        match self.stage(batch, consumed) {
            Ok(()) => {
                // COMMIT returns once the WAL is flushed (synchronous_commit=on).
                self.client.batch_execute("COMMIT")?;
                Ok(())
            }
            Err(e) => {
                // Best effort: if the session is gone, the server rolled back.
                let _ = self.client.batch_execute("ROLLBACK");
                Err(self.explain(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LEASE_KEY_NAMESPACE, lease_key};

    fn sequencer(schema: &str, log: &str) -> i64 {
        lease_key(LEASE_KEY_NAMESPACE, schema, log)
    }

    /// The key is part of the deployment's wire contract (every process of every
    /// build must compute the same one): pin it.
    #[test]
    fn lease_key_is_stable_and_separates_logs_schemas_and_namespaces() {
        assert_eq!(sequencer("public", "dev-a"), sequencer("public", "dev-a"));
        assert_ne!(sequencer("public", "dev-a"), sequencer("public", "dev-b"));
        assert_ne!(sequencer("a", "bc"), sequencer("ab", "c"));
        assert_ne!(
            sequencer("public", "monitor"),
            lease_key(b"certcentral-monitor\0", "public", "monitor")
        );
        assert_eq!(sequencer("public", "dev-a"), PINNED);
    }

    /// FNV-1a 64 of "certcentral-ct-sequencer\0public\0dev-a", checked with an independent
    /// implementation.
    const PINNED: i64 = 4_258_228_983_379_721_928;
}
