//! The embedded SQLite [`RegistryStore`]: one file, WAL mode, `synchronous=FULL`.
//!
//! Why `FULL`: a push answers 201 with a log index and a signed checkpoint; if the
//! commit could be lost on power loss (`NORMAL` only fsyncs the WAL at checkpoints),
//! the registry would have signed a checkpoint for a tree it no longer has — a fork
//! any client that saw it can prove. WAL lets the read side (downloads, search,
//! proofs) run on read-only connections while a push commits.
//!
//! Concurrency: one writer connection behind a mutex, a small pool of read-only
//! connections; every write is an `IMMEDIATE` transaction so its checks and writes
//! see the same database even if another process opened the file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::columns::{lock, to_hash, to_i64, to_u64};
use crate::registry::{
    Account, CertRecord, Challenge, ChallengeOutcome, CommitOutcome, CreateAccount, LogAppend,
    NewAccount, Page, Push, RegistryStore, Revoke, StoredCheckpoint,
};
use crate::sqlite::{migrate, open_wal_writer};
use crate::{Result, StoreError, StoredTile, TileWrite};

/// Schema migrations; `MIGRATIONS[i]` takes `user_version` `i` to `i + 1`. Only ever
/// appended: databases in the field were created by the old text.
const MIGRATIONS: &[&str] = &[
    // Version 1: the initial schema.
    //
    // `certificates.sha256` is unique across accounts: a certificate belongs to the
    // one account that proved possession of its key first. Log tables hold the
    // registry's Merkle log: leaves by index, hash tiles, and every checkpoint.
    "CREATE TABLE accounts (
        id         INTEGER PRIMARY KEY,
        issuer     TEXT NOT NULL,
        subject    TEXT NOT NULL,
        username   TEXT NOT NULL UNIQUE,
        created_ms INTEGER NOT NULL,
        UNIQUE (issuer, subject)
    );
    CREATE TABLE api_keys (
        hash       BLOB PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        created_ms INTEGER NOT NULL,
        revoked_ms INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX api_keys_account ON api_keys (account_id);
    CREATE TABLE challenges (
        id         TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        nonce      BLOB NOT NULL,
        expires_ms INTEGER NOT NULL,
        used       INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE certificates (
        storage_key      TEXT PRIMARY KEY,
        account_id       INTEGER NOT NULL REFERENCES accounts(id),
        der              BLOB NOT NULL,
        thumbprint       TEXT NOT NULL,
        sha256           TEXT NOT NULL UNIQUE,
        subject          TEXT NOT NULL,
        not_before_ms    INTEGER NOT NULL,
        not_after_ms     INTEGER NOT NULL,
        pushed_ms        INTEGER NOT NULL,
        log_index        INTEGER NOT NULL,
        revoked          INTEGER NOT NULL DEFAULT 0,
        revoke_log_index INTEGER
    );
    CREATE INDEX certificates_account ON certificates (account_id, log_index);
    CREATE INDEX certificates_thumbprint ON certificates (thumbprint);
    CREATE TABLE log_leaves (
        idx  INTEGER PRIMARY KEY,
        leaf BLOB NOT NULL
    );
    CREATE TABLE log_hash_tiles (
        level INTEGER NOT NULL,
        idx   INTEGER NOT NULL,
        width INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    );
    CREATE TABLE log_checkpoints (
        size INTEGER PRIMARY KEY,
        root BLOB NOT NULL,
        note TEXT NOT NULL
    );",
    // Version 2: `getusercert` looks up (owner, thumbprint). Without this index the
    // planner walks the owner's `certificates_account` range, reading every row of an
    // owner with thousands of certificates.
    "CREATE INDEX certificates_account_thumbprint ON certificates (account_id, thumbprint);",
    // Version 3: expired challenges are deleted and open ones counted per account; OIDC
    // tokens used for registration or key rotation are remembered until they expire.
    "CREATE INDEX challenges_expiry ON challenges (expires_ms);
    CREATE INDEX challenges_account ON challenges (account_id, used, expires_ms);
    CREATE TABLE used_tokens (
        token_id         BLOB PRIMARY KEY,
        remember_until_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX used_tokens_expiry ON used_tokens (remember_until_ms);",
];

/// The schema version this build writes and understands.
pub const REGISTRY_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

const READER_POOL_CAP: usize = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const STATEMENT_CACHE: usize = 48;

/// The registry's storage in one SQLite file. Share it behind an `Arc`.
pub struct SqliteRegistryStore {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    writer: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteRegistryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteRegistryStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteRegistryStore {
    /// Opens (creating it and its parent directories) the database at `path` and
    /// brings its schema up to [`REGISTRY_SCHEMA_VERSION`]; refuses a newer schema.
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = open_wal_writer(path)?;
        writer.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        writer.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut writer, MIGRATIONS)?;
        Ok(Self {
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
            writer: Mutex::new(writer),
        })
    }

    /// The database's schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32> {
        self.read(|conn| Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?))
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = lock(&self.readers).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(&self.path, flags)?;
                conn.busy_timeout(BUSY_TIMEOUT)?;
                conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                conn
            }
        };
        let result = f(&conn);
        let mut pool = lock(&self.readers);
        if pool.len() < READER_POOL_CAP {
            pool.push(conn);
        }
        result
    }
}

const ACCOUNT_COLUMNS: &str = "id, issuer, subject, username, created_ms";

fn account_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, String, String, i64)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn into_account(raw: (i64, String, String, String, i64)) -> Result<Account> {
    Ok(Account {
        id: raw.0,
        issuer: raw.1,
        subject: raw.2,
        username: raw.3,
        created_ms: to_u64(raw.4)?,
    })
}

const CERT_COLUMNS: &str = "c.storage_key, c.account_id, a.username, c.der, c.thumbprint, c.sha256,
    c.subject, c.not_before_ms, c.not_after_ms, c.pushed_ms, c.log_index, c.revoked,
    c.revoke_log_index";

/// A certificate row before its integers are range-checked.
struct RawCert {
    storage_key: String,
    account_id: i64,
    username: String,
    der: Vec<u8>,
    thumbprint: String,
    sha256: String,
    subject: String,
    not_before_ms: i64,
    not_after_ms: i64,
    pushed_ms: i64,
    log_index: i64,
    revoked: bool,
    revoke_log_index: Option<i64>,
}

fn cert_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawCert> {
    Ok(RawCert {
        storage_key: row.get(0)?,
        account_id: row.get(1)?,
        username: row.get(2)?,
        der: row.get(3)?,
        thumbprint: row.get(4)?,
        sha256: row.get(5)?,
        subject: row.get(6)?,
        not_before_ms: row.get(7)?,
        not_after_ms: row.get(8)?,
        pushed_ms: row.get(9)?,
        log_index: row.get(10)?,
        revoked: row.get(11)?,
        revoke_log_index: row.get(12)?,
    })
}

impl RawCert {
    fn into_record(self) -> Result<CertRecord> {
        Ok(CertRecord {
            storage_key: self.storage_key,
            account_id: self.account_id,
            username: self.username,
            der: self.der,
            thumbprint: self.thumbprint,
            sha256: self.sha256,
            subject: self.subject,
            // Validity may predate 1970 in odd certificates; stored clamped at 0.
            not_before_ms: to_u64(self.not_before_ms)?,
            not_after_ms: to_u64(self.not_after_ms)?,
            pushed_ms: to_u64(self.pushed_ms)?,
            log_index: to_u64(self.log_index)?,
            revoked: self.revoked,
            revoke_log_index: self.revoke_log_index.map(to_u64).transpose()?,
        })
    }
}

fn collect_certs(rows: impl Iterator<Item = rusqlite::Result<RawCert>>) -> Result<Vec<CertRecord>> {
    rows.map(|r| r?.into_record()).collect()
}

/// The current log size inside a write transaction.
fn log_size(tx: &Connection) -> Result<u64> {
    let max: Option<i64> = tx
        .prepare_cached("SELECT MAX(size) FROM log_checkpoints")?
        .query_row([], |row| row.get(0))?;
    max.map_or(Ok(0), to_u64)
}

/// Writes a log append after checking it extends the log by exactly one leaf.
/// Returns the conflicting size if it does not.
fn append_log(tx: &Connection, append: &LogAppend) -> Result<Option<u64>> {
    let size = log_size(tx)?;
    if append.index != size || append.checkpoint.size != size + 1 {
        return Ok(Some(size));
    }
    tx.prepare_cached("INSERT INTO log_leaves (idx, leaf) VALUES (?1, ?2)")?
        .execute(params![to_i64(append.index)?, append.leaf])?;
    for tile in &append.hash_tiles {
        upsert_tile(tx, tile)?;
    }
    tx.prepare_cached("INSERT INTO log_checkpoints (size, root, note) VALUES (?1, ?2, ?3)")?
        .execute(params![
            to_i64(append.checkpoint.size)?,
            &append.checkpoint.root[..],
            append.checkpoint.note
        ])?;
    Ok(None)
}

/// Tiles only widen, and a wider tile must extend the stored one: anything else
/// would publish a different tree than before (a fork), so the transaction fails.
fn upsert_tile(tx: &Connection, tile: &TileWrite) -> Result<()> {
    let changed = tx
        .prepare_cached(
            "INSERT INTO log_hash_tiles (level, idx, width, bytes) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, bytes = excluded.bytes
             WHERE excluded.width >= log_hash_tiles.width
               AND substr(excluded.bytes, 1, length(log_hash_tiles.bytes)) = log_hash_tiles.bytes",
        )?
        .execute(params![
            tile.level,
            to_i64(tile.index)?,
            tile.width,
            tile.bytes
        ])?;
    if changed == 0 {
        return Err(StoreError::Corrupt(format!(
            "registry log hash tile {}/{}: width {} does not extend the stored tile",
            tile.level, tile.index, tile.width
        )));
    }
    Ok(())
}

/// `getusercert`'s look-up by owner and thumbprint.
fn cert_by_thumbprint_query() -> String {
    format!(
        "SELECT {CERT_COLUMNS} FROM certificates c JOIN accounts a ON a.id = c.account_id
         WHERE a.username = ?1 AND c.thumbprint = ?2"
    )
}

impl RegistryStore for SqliteRegistryStore {
    fn create_account(&self, account: &NewAccount) -> Result<CreateAccount> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = tx
            .prepare_cached(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE issuer = ?1 AND subject = ?2"
            ))?
            .query_row(params![account.issuer, account.subject], account_row)
            .optional()?;
        if let Some(raw) = existing {
            return Ok(CreateAccount::IdentityHasAccount(into_account(raw)?));
        }
        let taken = tx
            .prepare_cached("SELECT 1 FROM accounts WHERE username = ?1")?
            .query_row(params![account.username], |_| Ok(()))
            .optional()?
            .is_some();
        if taken {
            return Ok(CreateAccount::UsernameTaken);
        }
        let created = to_i64(account.created_ms)?;
        tx.prepare_cached(
            "INSERT INTO accounts (issuer, subject, username, created_ms) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            account.issuer,
            account.subject,
            account.username,
            created
        ])?;
        let id = tx.last_insert_rowid();
        tx.prepare_cached(
            "INSERT INTO api_keys (hash, account_id, created_ms) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![&account.api_key_hash[..], id, created])?;
        tx.commit()?;
        Ok(CreateAccount::Created(account.stored_as(id)))
    }

    fn account_by_identity(&self, issuer: &str, subject: &str) -> Result<Option<Account>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE issuer = ?1 AND subject = ?2"
            ))?
            .query_row(params![issuer, subject], account_row)
            .optional()?
            .map(into_account)
            .transpose()
        })
    }

    fn account_by_api_key(&self, key_hash: &[u8; 32]) -> Result<Option<(Account, [u8; 32])>> {
        self.read(|conn| {
            let raw = conn
                .prepare_cached(
                    "SELECT a.id, a.issuer, a.subject, a.username, a.created_ms, k.hash
                     FROM api_keys k JOIN accounts a ON a.id = k.account_id
                     WHERE k.hash = ?1 AND k.revoked_ms IS NULL",
                )?
                .query_row(params![&key_hash[..]], |row| {
                    Ok((account_row(row)?, row.get::<_, Vec<u8>>(5)?))
                })
                .optional()?;
            raw.map(|(account, hash)| Ok((into_account(account)?, to_hash(&hash, "API key hash")?)))
                .transpose()
        })
    }

    fn rotate_api_key(&self, account_id: i64, new_hash: &[u8; 32], now_ms: u64) -> Result<()> {
        let now = to_i64(now_ms)?;
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "UPDATE api_keys SET revoked_ms = ?2 WHERE account_id = ?1 AND revoked_ms IS NULL",
        )?
        .execute(params![account_id, now])?;
        tx.prepare_cached(
            "INSERT INTO api_keys (hash, account_id, created_ms) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![&new_hash[..], account_id, now])?;
        tx.commit()?;
        Ok(())
    }

    fn create_challenge(
        &self,
        challenge: &Challenge,
        now_ms: u64,
        max_open: u32,
    ) -> Result<ChallengeOutcome> {
        let now = to_i64(now_ms)?;
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("DELETE FROM challenges WHERE expires_ms <= ?1")?
            .execute(params![now])?;
        let open: i64 = tx
            .prepare_cached(
                "SELECT COUNT(*) FROM challenges WHERE account_id = ?1 AND used = 0 AND expires_ms > ?2",
            )?
            .query_row(params![challenge.account_id, now], |row| row.get(0))?;
        if open >= i64::from(max_open) {
            return Ok(ChallengeOutcome::TooMany);
        }
        tx.prepare_cached(
            "INSERT INTO challenges (id, account_id, nonce, expires_ms, used) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            challenge.id,
            challenge.account_id,
            &challenge.nonce[..],
            to_i64(challenge.expires_ms)?,
            challenge.used
        ])?;
        tx.commit()?;
        Ok(ChallengeOutcome::Created)
    }

    fn consume_token(
        &self,
        token_id: &[u8; 32],
        remember_until_ms: u64,
        now_ms: u64,
    ) -> Result<bool> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("DELETE FROM used_tokens WHERE remember_until_ms <= ?1")?
            .execute(params![to_i64(now_ms)?])?;
        let inserted = tx
            .prepare_cached(
                "INSERT INTO used_tokens (token_id, remember_until_ms) VALUES (?1, ?2)
                 ON CONFLICT (token_id) DO NOTHING",
            )?
            .execute(params![&token_id[..], to_i64(remember_until_ms)?])?;
        tx.commit()?;
        Ok(inserted == 1)
    }

    fn challenge(&self, id: &str) -> Result<Option<Challenge>> {
        self.read(|conn| {
            let raw = conn
                .prepare_cached(
                    "SELECT id, account_id, nonce, expires_ms, used FROM challenges WHERE id = ?1",
                )?
                .query_row(params![id], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, bool>(4)?,
                    ))
                })
                .optional()?;
            raw.map(|(id, account_id, nonce, expires, used)| {
                Ok(Challenge {
                    id,
                    account_id,
                    nonce: to_hash(&nonce, "challenge nonce")?,
                    expires_ms: to_u64(expires)?,
                    used,
                })
            })
            .transpose()
        })
    }

    fn commit_push(&self, push: &Push) -> Result<CommitOutcome> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Consuming the challenge first, conditionally: exactly one of two racing
        // pushes with the same challenge sees a changed row.
        let consumed = tx
            .prepare_cached(
                "UPDATE challenges SET used = 1
                 WHERE id = ?1 AND account_id = ?2 AND used = 0 AND expires_ms > ?3",
            )?
            .execute(params![
                push.challenge_id,
                push.cert.account_id,
                to_i64(push.now_ms)?
            ])?;
        if consumed == 0 {
            return Ok(CommitOutcome::ChallengeUnusable);
        }
        let duplicate = tx
            .prepare_cached("SELECT 1 FROM certificates WHERE sha256 = ?1")?
            .query_row(params![push.cert.sha256], |_| Ok(()))
            .optional()?
            .is_some();
        if duplicate {
            // Dropping `tx` rolls back the challenge consumption too.
            return Ok(CommitOutcome::AlreadyRegistered);
        }
        if let Some(size) = append_log(&tx, &push.log)? {
            return Ok(CommitOutcome::LogConflict { size });
        }
        let c = &push.cert;
        tx.prepare_cached(
            "INSERT INTO certificates (storage_key, account_id, der, thumbprint, sha256, subject,
                 not_before_ms, not_after_ms, pushed_ms, log_index, revoked, revoke_log_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, NULL)",
        )?
        .execute(params![
            c.storage_key,
            c.account_id,
            c.der,
            c.thumbprint,
            c.sha256,
            c.subject,
            to_i64(c.not_before_ms)?,
            to_i64(c.not_after_ms)?,
            to_i64(c.pushed_ms)?,
            to_i64(push.log.index)?,
        ])?;
        tx.commit()?;
        Ok(CommitOutcome::Committed)
    }

    fn commit_revoke(&self, revoke: &Revoke) -> Result<CommitOutcome> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let revoked: Option<bool> = tx
            .prepare_cached(
                "SELECT revoked FROM certificates WHERE account_id = ?1 AND thumbprint = ?2",
            )?
            .query_row(params![revoke.account_id, revoke.thumbprint], |row| {
                row.get(0)
            })
            .optional()?;
        match revoked {
            None => return Ok(CommitOutcome::NotFound),
            Some(true) => return Ok(CommitOutcome::AlreadyRevoked),
            Some(false) => {}
        }
        if let Some(size) = append_log(&tx, &revoke.log)? {
            return Ok(CommitOutcome::LogConflict { size });
        }
        tx.prepare_cached(
            "UPDATE certificates SET revoked = 1, revoke_log_index = ?3
             WHERE account_id = ?1 AND thumbprint = ?2",
        )?
        .execute(params![
            revoke.account_id,
            revoke.thumbprint,
            to_i64(revoke.log.index)?
        ])?;
        tx.commit()?;
        Ok(CommitOutcome::Committed)
    }

    fn cert_by_thumbprint(&self, username: &str, thumbprint: &str) -> Result<Option<CertRecord>> {
        self.read(|conn| {
            conn.prepare_cached(&cert_by_thumbprint_query())?
                .query_row(params![username, thumbprint], cert_row)
                .optional()?
                .map(RawCert::into_record)
                .transpose()
        })
    }

    fn cert_by_storage_key(&self, storage_key: &str) -> Result<Option<CertRecord>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {CERT_COLUMNS} FROM certificates c JOIN accounts a ON a.id = c.account_id
                 WHERE c.storage_key = ?1"
            ))?
            .query_row(params![storage_key], cert_row)
            .optional()?
            .map(RawCert::into_record)
            .transpose()
        })
    }

    fn certs_of_user(&self, username: &str, page: Page) -> Result<Vec<CertRecord>> {
        let offset = to_i64(page.offset)?;
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {CERT_COLUMNS} FROM certificates c JOIN accounts a ON a.id = c.account_id
                 WHERE a.username = ?1 ORDER BY c.log_index LIMIT ?2 OFFSET ?3"
            ))?;
            let rows = stmt.query_map(params![username, page.limit, offset], cert_row)?;
            collect_certs(rows)
        })
    }

    fn search(&self, query: &str, page: Page) -> Result<Vec<CertRecord>> {
        let offset = to_i64(page.offset)?;
        // Prefix tests with substr() instead of LIKE: no wildcard escaping to get
        // wrong, and `%` or `_` in a query mean themselves.
        let upper = query.to_ascii_uppercase();
        let lower = query.to_ascii_lowercase();
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {CERT_COLUMNS} FROM certificates c JOIN accounts a ON a.id = c.account_id
                 WHERE substr(a.username, 1, length(?1)) = ?1
                    OR instr(lower(c.subject), lower(?1)) > 0
                    OR substr(c.thumbprint, 1, length(?2)) = ?2
                    OR substr(c.sha256, 1, length(?3)) = ?3
                 ORDER BY c.log_index LIMIT ?4 OFFSET ?5"
            ))?;
            let rows =
                stmt.query_map(params![query, upper, lower, page.limit, offset], cert_row)?;
            collect_certs(rows)
        })
    }

    fn log_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.read(|conn| {
            let raw = conn
                .prepare_cached(
                    "SELECT size, root, note FROM log_checkpoints ORDER BY size DESC LIMIT 1",
                )?
                .query_row([], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Vec<u8>>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .optional()?;
            raw.map(|(size, root, note)| {
                Ok(StoredCheckpoint {
                    size: to_u64(size)?,
                    root: to_hash(&root, "checkpoint root")?,
                    note,
                })
            })
            .transpose()
        })
    }

    fn log_hash_tile(&self, level: u8, index: u64) -> Result<Option<StoredTile>> {
        let index = to_i64(index)?;
        self.read(|conn| {
            let raw = conn
                .prepare_cached(
                    "SELECT width, bytes FROM log_hash_tiles WHERE level = ?1 AND idx = ?2",
                )?
                .query_row(params![level, index], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
                })
                .optional()?;
            raw.map(|(width, bytes)| {
                let width = u16::try_from(width).map_err(|_| {
                    StoreError::Corrupt(format!("stored tile width {width} out of range"))
                })?;
                Ok(StoredTile { width, bytes })
            })
            .transpose()
        })
    }

    fn log_leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let (start, end) = (to_i64(start)?, to_i64(end)?);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT leaf FROM log_leaves WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            )?;
            let rows = stmt.query_map(params![start, end], |row| row.get::<_, Vec<u8>>(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `RegistryStore` backend must pass the shared contract checks.
    #[test]
    fn sqlite_registry_store_conforms_to_the_registry_store_contract() {
        let dir = tempfile::tempdir().expect("tempdir");
        let counter = std::sync::atomic::AtomicUsize::new(0);
        crate::registry_conformance::run_all(|| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            SqliteRegistryStore::open(&dir.path().join(format!("registry-{n}.db"))).expect("open")
        });
    }

    /// `getusercert` is the registry's hot read: it must be one index probe, not a
    /// walk over every certificate of the owner.
    #[test]
    fn owner_and_thumbprint_lookup_uses_the_composite_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.db");
        drop(SqliteRegistryStore::open(&path).expect("open"));
        let conn = Connection::open(&path).expect("raw open");
        let plan: Vec<String> = conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                cert_by_thumbprint_query()
            ))
            .expect("prepare")
            .query_map(params!["alice", "AB"], |row| row.get::<_, String>(3))
            .expect("plan")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert!(
            plan.iter()
                .any(|step| step.contains("certificates_account_thumbprint")),
            "{plan:?}"
        );
    }

    #[test]
    fn reopening_keeps_the_data_and_the_schema_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.db");
        {
            let store = SqliteRegistryStore::open(&path).expect("open");
            crate::registry_conformance::push_sample(&store, 1);
        }
        let store = SqliteRegistryStore::open(&path).expect("reopen");
        assert_eq!(
            store.schema_version().expect("version"),
            REGISTRY_SCHEMA_VERSION
        );
        assert_eq!(
            store.log_checkpoint().expect("head").map(|c| c.size),
            Some(1)
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.db");
        drop(SqliteRegistryStore::open(&path).expect("open"));
        let conn = Connection::open(&path).expect("raw open");
        conn.pragma_update(None, "user_version", REGISTRY_SCHEMA_VERSION + 1)
            .expect("bump");
        drop(conn);
        assert!(matches!(
            SqliteRegistryStore::open(&path),
            Err(StoreError::UnsupportedSchema { .. })
        ));
    }
}
