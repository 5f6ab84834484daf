//! The PostgreSQL backend: [`PgLogStore`], [`PgRegistryStore`] and [`PgMonitorStore`]
//! in one shared database, written by several `certcentral` processes at once.
//!
//! Why PostgreSQL's defaults are enough for the durability contracts: every trait
//! write is one transaction, and with `synchronous_commit=on` (the default) `COMMIT`
//! returns only after the WAL record is flushed — the same promise the SQLite stores
//! get from `synchronous=FULL`.
//!
//! Why row locks instead of SERIALIZABLE: the SQLite stores get their check-then-write
//! safety from a single writer. Here every write that checks state first locks the
//! one row that stands for that state (a log's tree-head row, the registry log's
//! head row, an account's row) with `SELECT … FOR UPDATE` before reading anything, so
//! writers of the same thing queue up in `READ COMMITTED` and each one's later
//! statements see what the previous one committed. No retry loop is needed, locks are
//! always taken in the same order (head row, then the rows it guards), and unique
//! constraints back up every "at most once" rule.
//!
//! Schema: one database holds every CT log (keyed by log name in every `ct_` table),
//! the registry (`registry_` tables) and the monitor (`monitor_` tables). Each
//! component has its own list of migrations, versioned in `schema_migrations`.
//!
//! Scale-out sequencing ([`crate::shared`]): [`PgLogStore`] is also its log's
//! [`crate::shared::SharedSequencing`] — a `ct_queue` table, and a lease that is a
//! session-level advisory lock on a connection of its own (see `shared.rs`).
//!
//! Connections: every one — pooled or a lease's — is made by [`PgConfig::connect`]
//! (`config.rs`: the connection string and libpq's `sslmode`/`sslrootcert`), with TLS
//! over rustls (`tls.rs`).

mod config;
mod log;
mod monitor;
mod registry;
mod shared;
mod tls;

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ::postgres::{Client, GenericClient, Statement};

pub use config::{PgConfig, SslMode};
pub use log::{LOG_SCHEMA_VERSION, PgLogStore};
pub use monitor::{MONITOR_SCHEMA_VERSION, PgMonitorStore};
pub use registry::{PgRegistryStore, REGISTRY_SCHEMA_VERSION};
pub use shared::PgSequencerLease;

pub(crate) use crate::columns::{lock, to_hash, to_i64, to_u64};
use crate::{Result, StoreError};

/// Connections a pool opens at most unless told otherwise: a few per core of a small
/// server; the database's `max_connections` (100 by default) is shared by every
/// process.
pub const DEFAULT_POOL_SIZE: usize = 8;

/// How long a caller waits for a free connection before failing: long enough to ride
/// out a burst, short enough that a wedged database surfaces as errors, not hangs.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection idle for longer than this is pinged before use: the server or a
/// middlebox may have dropped it, and the client only notices when it next talks.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(30);

/// A bounded pool of PostgreSQL connections, shared by every store opened on it.
///
/// Why our own and not `r2d2_postgres`: what the stores need is a handful of lines
/// (a `Mutex<Vec<Client>>`, a `Condvar` for the bound, dropping connections that
/// closed) plus a per-connection prepared-statement cache, which r2d2 would not
/// give us; r2d2 would add two crates and a reaper thread for features we do not use.
///
/// Broken connections: a connection that closed (server restart, network) is dropped
/// when it comes back and a new one is made on the next checkout; an idle one is
/// pinged before reuse; reads that fail because their connection died are retried
/// once on a fresh one (they are idempotent); a write is retried only if its `BEGIN`
/// failed that way, since after that the outcome of a lost `COMMIT` is unknown.
///
/// Cheap to clone (an `Arc`). Connections use TLS as the connection string's
/// `sslmode`/`sslrootcert` say (see [`PgConfig`]).
#[derive(Clone)]
pub struct PgPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    config: PgConfig,
    max_size: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<PgConn>,
    /// Connections in existence: idle plus checked out plus being made.
    open: usize,
}

impl std::fmt::Debug for PgPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately not the config: it holds the password.
        f.debug_struct("PgPool")
            .field("max_size", &self.inner.max_size)
            .finish_non_exhaustive()
    }
}

impl PgPool {
    /// A pool for a `postgres://user[:password]@host[:port]/dbname[?options]` URL (or
    /// a `key=value` connection string, see [`PgConfig::parse`]) with
    /// [`DEFAULT_POOL_SIZE`] connections. One connection is made at once, so a wrong
    /// address or certificate fails here and not at first use.
    pub fn connect(url: &str) -> Result<Self> {
        Self::with_config(PgConfig::parse(url)?, DEFAULT_POOL_SIZE)
    }

    /// A pool of at most `max_size` (at least 1) connections made from `config` (a
    /// [`PgConfig`], or a bare `postgres::Config`, which keeps its own `sslmode`).
    pub fn with_config(config: impl Into<PgConfig>, max_size: usize) -> Result<Self> {
        let pool = Self {
            inner: Arc::new(PoolInner {
                config: config.into(),
                max_size: max_size.max(1),
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                freed: Condvar::new(),
            }),
        };
        off_async(|| pool.get().map(drop))?;
        Ok(pool)
    }

    /// The configuration the pool connects with, for a connection of its own outside
    /// the pool (a sequencer lease lives exactly as long as its session).
    pub(crate) fn config(&self) -> &PgConfig {
        &self.inner.config
    }

    /// Borrows a connection; it goes back to the pool when dropped.
    pub(crate) fn get(&self) -> Result<PooledConn<'_>> {
        let inner = &*self.inner;
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        let mut state = lock(&inner.state);
        loop {
            while let Some(mut conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                if conn.returned.elapsed() >= IDLE_CHECK_AFTER {
                    // Ping outside the lock: it is a network round trip.
                    drop(state);
                    if conn.client.is_valid(Duration::from_secs(5)).is_ok() {
                        return Ok(inner.lend(conn));
                    }
                    drop(conn);
                    state = lock(&inner.state);
                    state.open -= 1;
                    continue;
                }
                return Ok(inner.lend(conn));
            }
            if state.open < inner.max_size {
                state.open += 1;
                drop(state);
                return match inner.config.connect() {
                    Ok(client) => Ok(inner.lend(PgConn::new(client))),
                    Err(e) => {
                        lock(&inner.state).open -= 1;
                        inner.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no PostgreSQL connection became free within {CHECKOUT_TIMEOUT:?} (pool of {})",
                        inner.max_size
                    ),
                )));
            }
            state = inner
                .freed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Runs a read on a pooled connection, once more on a fresh connection if the
    /// first one turned out to be dead (reads are idempotent).
    pub(crate) fn read<T>(&self, mut f: impl FnMut(&mut PgConn) -> Result<T>) -> Result<T> {
        off_async(|| {
            let mut conn = self.get()?;
            match f(&mut conn) {
                Err(StoreError::Postgres(_)) if conn.client.is_closed() => {
                    drop(conn);
                    let mut fresh = self.get()?;
                    f(&mut fresh)
                }
                result => result,
            }
        })
    }

    /// Runs `f` in a transaction and commits it if `f` says so. `BEGIN` is retried
    /// once on a fresh connection if the pooled one was dead (nothing was sent yet);
    /// nothing after it is retried.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Client, &mut Statements) -> Result<Finish<T>>,
    ) -> Result<T> {
        off_async(|| self.write_here(f))
    }

    fn write_here<T>(
        &self,
        f: impl FnOnce(&mut Client, &mut Statements) -> Result<Finish<T>>,
    ) -> Result<T> {
        let mut conn = self.get()?;
        if let Err(e) = conn.client.batch_execute("BEGIN") {
            if !conn.client.is_closed() {
                return Err(e.into());
            }
            drop(conn);
            conn = self.get()?;
            conn.client.batch_execute("BEGIN")?;
        }
        let PgConn {
            client, statements, ..
        } = &mut *conn;
        // Rolls back if `f` returns early or panics, before the connection goes back
        // to the pool.
        let mut tx = OpenTransaction {
            client,
            done: false,
        };
        match f(&mut *tx.client, statements) {
            Ok(Finish::Commit(value)) => {
                tx.finish("COMMIT")?;
                Ok(value)
            }
            Ok(Finish::Rollback(value)) => {
                tx.finish("ROLLBACK")?;
                Ok(value)
            }
            Err(e) => {
                // Best effort: if the connection is gone, the server rolled back.
                let _ = tx.finish("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// Runs blocking client work from any thread. The `postgres` client blocks on a
/// runtime of its own, which panics on a thread that is driving async tasks (an axum
/// handler reading a tile, say); there the worker's tasks are handed to another
/// thread for the duration (`block_in_place`). Elsewhere — plain threads, the
/// blocking pool — `f` just runs. A current-thread runtime cannot do this: the
/// stores must not be called from one.
pub(crate) fn off_async<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// How a write transaction ends.
pub(crate) enum Finish<T> {
    Commit(T),
    /// A refusal reported as a value (e.g. a used challenge): nothing is kept.
    Rollback(T),
}

/// A transaction opened with `BEGIN` on a connection; rolled back on drop unless
/// finished. (Not `postgres::Transaction`: we need to retry the `BEGIN` itself.)
struct OpenTransaction<'a> {
    client: &'a mut Client,
    done: bool,
}

impl OpenTransaction<'_> {
    fn finish(&mut self, command: &str) -> Result<()> {
        self.done = true;
        self.client.batch_execute(command)?;
        Ok(())
    }
}

impl Drop for OpenTransaction<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

/// A pooled connection and its prepared statements.
pub(crate) struct PgConn {
    pub(crate) client: Client,
    pub(crate) statements: Statements,
    returned: Instant,
}

impl PgConn {
    fn new(client: Client) -> Self {
        Self {
            client,
            statements: Statements::default(),
            returned: Instant::now(),
        }
    }

    /// A cached prepared statement and the client to run it on.
    pub(crate) fn prepare(&mut self, sql: &'static str) -> Result<(&mut Client, Statement)> {
        let statement = self.statements.get(&mut self.client, sql)?;
        Ok((&mut self.client, statement))
    }
}

/// Prepared statements of one connection, by SQL text: every statement the stores
/// run is a constant, so each costs one `Parse` round trip per connection, not one
/// per call.
#[derive(Default)]
pub(crate) struct Statements(HashMap<&'static str, Statement>);

impl Statements {
    pub(crate) fn get(
        &mut self,
        client: &mut impl GenericClient,
        sql: &'static str,
    ) -> Result<Statement> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        self.0.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// A connection on loan from a [`PgPool`].
pub(crate) struct PooledConn<'a> {
    pool: &'a PoolInner,
    conn: Option<PgConn>,
}

impl PoolInner {
    fn lend(&self, conn: PgConn) -> PooledConn<'_> {
        PooledConn {
            pool: self,
            conn: Some(conn),
        }
    }
}

impl std::ops::Deref for PooledConn<'_> {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        self.conn.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for PooledConn<'_> {
    fn deref_mut(&mut self) -> &mut PgConn {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for PooledConn<'_> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let mut state = lock(&self.pool.state);
        if conn.client.is_closed() {
            state.open -= 1;
        } else {
            conn.returned = Instant::now();
            state.idle.push(conn);
        }
        drop(state);
        self.pool.freed.notify_one();
    }
}

/// Key of the advisory lock that serialises migrations of every component: two
/// processes starting at once must not both apply a migration. ("ccmigrat" in ASCII.)
const MIGRATION_LOCK: i64 = 0x6363_6d69_6772_6174;

/// Brings `component`'s tables up to `migrations.len()` (`migrations[i]` takes
/// version `i` to `i + 1`; entries are only ever appended), in one transaction that
/// first takes [`MIGRATION_LOCK`], so a crash mid-way changes nothing and a second
/// process waits and then finds the work done. A version newer than this build knows
/// is refused: the newer build may rely on invariants this one would break.
pub(crate) fn migrate(pool: &PgPool, component: &'static str, migrations: &[&str]) -> Result<()> {
    let supported = u32::try_from(migrations.len())
        .map_err(|_| StoreError::Corrupt("too many migrations".into()))?;
    pool.write(|tx, _| {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                component TEXT PRIMARY KEY,
                version   INTEGER NOT NULL
            )",
        )?;
        let found = stored_version(tx, component)?;
        if found > supported {
            return Err(StoreError::UnsupportedSchema { found, supported });
        }
        for migration in &migrations[found as usize..] {
            tx.batch_execute(migration)?;
        }
        if found < supported {
            tx.execute(
                "INSERT INTO schema_migrations (component, version) VALUES ($1, $2)
                 ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
                &[&component, &to_i32(supported)?],
            )?;
        }
        Ok(Finish::Commit(()))
    })
}

/// `component`'s schema version, 0 when never migrated.
pub(crate) fn stored_version(client: &mut impl GenericClient, component: &str) -> Result<u32> {
    let row = client.query_opt(
        "SELECT version FROM schema_migrations WHERE component = $1",
        &[&component],
    )?;
    let Some(row) = row else { return Ok(0) };
    let version: i32 = row.try_get(0)?;
    u32::try_from(version)
        .map_err(|_| StoreError::Corrupt(format!("{component} schema version {version}")))
}

fn to_i32(value: u32) -> Result<i32> {
    i32::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{value} does not fit in an INTEGER")))
}

pub(crate) fn to_width(width: i32) -> Result<u16> {
    u16::try_from(width)
        .map_err(|_| StoreError::Corrupt(format!("stored tile width {width} out of range")))
}
