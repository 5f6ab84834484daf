//! [`RegistryStore`] on PostgreSQL, shared by every `certcentral` process of a
//! deployment.
//!
//! Fencing: pushes and revocations append to the one registry log, so they first lock
//! its head row (`registry_log_head … FOR UPDATE`) and then run exactly the checks the
//! SQLite store runs under its writer mutex — the challenge is consumed by a
//! conditional `UPDATE` (of two racing pushes, the second finds it used), the
//! duplicate-certificate check and the append index see every earlier push. API-key
//! rotation locks the account row, so two rotations cannot leave two live keys.
//! Account creation relies on the unique constraints (`ON CONFLICT DO NOTHING`), so
//! two processes creating the same username get one account and one `UsernameTaken`.

use ::postgres::Client;

use super::{
    Finish, PgPool, Statements, migrate, stored_version, to_hash, to_i64, to_u64, to_width,
};
use crate::registry::{
    Account, CertRecord, Challenge, ChallengeOutcome, CommitOutcome, CreateAccount, LogAppend,
    NewAccount, Page, Push, RegistryStore, Revoke, StoredCheckpoint,
};
use crate::{Result, StoreError, StoredTile, TileWrite};

/// The `registry_` tables' migrations; `MIGRATIONS[i]` takes version `i` to `i + 1`.
/// Only ever appended.
const MIGRATIONS: &[&str] = &[
    // Version 1: the initial schema, as SQLite's, plus `registry_log_head`: the one row
    // every log append locks (and whose `size` it checks and bumps).
    "CREATE TABLE registry_accounts (
        id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        issuer     TEXT NOT NULL,
        subject    TEXT NOT NULL,
        username   TEXT NOT NULL UNIQUE,
        created_ms BIGINT NOT NULL,
        UNIQUE (issuer, subject)
    );
    CREATE TABLE registry_api_keys (
        hash       BYTEA PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES registry_accounts (id),
        created_ms BIGINT NOT NULL,
        revoked_ms BIGINT
    );
    CREATE INDEX registry_api_keys_account ON registry_api_keys (account_id);
    CREATE TABLE registry_challenges (
        id         TEXT PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES registry_accounts (id),
        nonce      BYTEA NOT NULL,
        expires_ms BIGINT NOT NULL,
        used       BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE TABLE registry_certificates (
        storage_key      TEXT PRIMARY KEY,
        account_id       BIGINT NOT NULL REFERENCES registry_accounts (id),
        der              BYTEA NOT NULL,
        thumbprint       TEXT NOT NULL,
        sha256           TEXT NOT NULL UNIQUE,
        subject          TEXT NOT NULL,
        not_before_ms    BIGINT NOT NULL,
        not_after_ms     BIGINT NOT NULL,
        pushed_ms        BIGINT NOT NULL,
        log_index        BIGINT NOT NULL,
        revoked          BOOLEAN NOT NULL DEFAULT FALSE,
        revoke_log_index BIGINT
    );
    CREATE INDEX registry_certificates_account ON registry_certificates (account_id, log_index);
    CREATE INDEX registry_certificates_thumbprint ON registry_certificates (thumbprint);
    CREATE TABLE registry_log_leaves (
        idx  BIGINT PRIMARY KEY,
        leaf BYTEA NOT NULL
    );
    CREATE TABLE registry_log_hash_tiles (
        level SMALLINT NOT NULL,
        idx   BIGINT NOT NULL,
        width INTEGER NOT NULL,
        bytes BYTEA NOT NULL,
        PRIMARY KEY (level, idx)
    );
    CREATE TABLE registry_log_checkpoints (
        size BIGINT PRIMARY KEY,
        root BYTEA NOT NULL,
        note TEXT NOT NULL
    );
    CREATE TABLE registry_log_head (
        only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
        size     BIGINT NOT NULL
    );
    INSERT INTO registry_log_head (size) VALUES (0);",
    // Version 2: `getusercert` looks up (owner, thumbprint) in one index probe.
    "CREATE INDEX registry_certificates_account_thumbprint
        ON registry_certificates (account_id, thumbprint);",
    // Version 3: expired challenges are deleted and open ones counted per account; OIDC
    // tokens used for registration or key rotation are remembered until they expire.
    "CREATE INDEX registry_challenges_expiry ON registry_challenges (expires_ms);
    CREATE INDEX registry_challenges_account
        ON registry_challenges (account_id, used, expires_ms);
    CREATE TABLE registry_used_tokens (
        token_id          BYTEA PRIMARY KEY,
        remember_until_ms BIGINT NOT NULL
    );
    CREATE INDEX registry_used_tokens_expiry ON registry_used_tokens (remember_until_ms);",
];

/// The `registry_` schema version this build writes and understands.
pub const REGISTRY_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

const COMPONENT: &str = "registry";

/// The registry's storage in a shared PostgreSQL database. Share it behind an `Arc`.
pub struct PgRegistryStore {
    pool: PgPool,
}

impl std::fmt::Debug for PgRegistryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRegistryStore").finish_non_exhaustive()
    }
}

macro_rules! account_columns {
    () => {
        "id, issuer, subject, username, created_ms"
    };
}

macro_rules! cert_select {
    () => {
        "SELECT c.storage_key, c.account_id, a.username, c.der, c.thumbprint, c.sha256,
            c.subject, c.not_before_ms, c.not_after_ms, c.pushed_ms, c.log_index, c.revoked,
            c.revoke_log_index
         FROM registry_certificates c JOIN registry_accounts a ON a.id = c.account_id"
    };
}

const ACCOUNT_BY_IDENTITY: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM registry_accounts WHERE issuer = $1 AND subject = $2"
);

fn account_row(row: &::postgres::Row) -> Result<Account> {
    Ok(Account {
        id: row.try_get(0)?,
        issuer: row.try_get(1)?,
        subject: row.try_get(2)?,
        username: row.try_get(3)?,
        created_ms: to_u64(row.try_get(4)?)?,
    })
}

fn cert_row(row: &::postgres::Row) -> Result<CertRecord> {
    Ok(CertRecord {
        storage_key: row.try_get(0)?,
        account_id: row.try_get(1)?,
        username: row.try_get(2)?,
        der: row.try_get(3)?,
        thumbprint: row.try_get(4)?,
        sha256: row.try_get(5)?,
        subject: row.try_get(6)?,
        not_before_ms: to_u64(row.try_get(7)?)?,
        not_after_ms: to_u64(row.try_get(8)?)?,
        pushed_ms: to_u64(row.try_get(9)?)?,
        log_index: to_u64(row.try_get(10)?)?,
        revoked: row.try_get(11)?,
        revoke_log_index: row.try_get::<_, Option<i64>>(12)?.map(to_u64).transpose()?,
    })
}

fn cert_rows(rows: Vec<::postgres::Row>) -> Result<Vec<CertRecord>> {
    rows.iter().map(cert_row).collect()
}

impl PgRegistryStore {
    /// Opens the registry in the pool's database, bringing the `registry_` tables up
    /// to [`REGISTRY_SCHEMA_VERSION`]; refuses a newer schema.
    pub fn open(pool: &PgPool) -> Result<Self> {
        migrate(pool, COMPONENT, MIGRATIONS)?;
        Ok(Self { pool: pool.clone() })
    }

    /// The `registry_` tables' schema version in the database.
    pub fn schema_version(&self) -> Result<u32> {
        self.pool
            .read(|conn| stored_version(&mut conn.client, COMPONENT))
    }
}

/// Locks the registry log's head row and returns the log size: every append holds
/// this lock from its checks to its commit.
fn lock_log(client: &mut Client, st: &mut Statements) -> Result<u64> {
    let stmt = st.get(
        client,
        "SELECT size FROM registry_log_head WHERE only_row FOR UPDATE",
    )?;
    let row = client
        .query_opt(&stmt, &[])?
        .ok_or_else(|| StoreError::Corrupt("registry_log_head has no row".into()))?;
    to_u64(row.try_get(0)?)
}

/// Writes a log append after checking it extends the log (of `size`, read under the
/// lock) by exactly one leaf; the conflicting size if it does not.
fn append_log(
    client: &mut Client,
    st: &mut Statements,
    size: u64,
    append: &LogAppend,
) -> Result<Option<u64>> {
    if append.index != size || append.checkpoint.size != size + 1 {
        return Ok(Some(size));
    }
    let stmt = st.get(
        client,
        "INSERT INTO registry_log_leaves (idx, leaf) VALUES ($1, $2)",
    )?;
    client.execute(&stmt, &[&to_i64(append.index)?, &append.leaf])?;
    for tile in &append.hash_tiles {
        upsert_tile(client, st, tile)?;
    }
    let stmt = st.get(
        client,
        "INSERT INTO registry_log_checkpoints (size, root, note) VALUES ($1, $2, $3)",
    )?;
    let new_size = to_i64(append.checkpoint.size)?;
    client.execute(
        &stmt,
        &[
            &new_size,
            &&append.checkpoint.root[..],
            &append.checkpoint.note,
        ],
    )?;
    let stmt = st.get(
        client,
        "UPDATE registry_log_head SET size = $1 WHERE only_row",
    )?;
    client.execute(&stmt, &[&new_size])?;
    Ok(None)
}

/// Tiles only widen, and a wider tile must extend the stored one: anything else
/// would publish a different tree than before (a fork), so the transaction fails.
fn upsert_tile(client: &mut Client, st: &mut Statements, tile: &TileWrite) -> Result<()> {
    let stmt = st.get(
        client,
        "INSERT INTO registry_log_hash_tiles AS t (level, idx, width, bytes)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (level, idx) DO UPDATE SET width = EXCLUDED.width, bytes = EXCLUDED.bytes
         WHERE EXCLUDED.width >= t.width
           AND substring(EXCLUDED.bytes FROM 1 FOR length(t.bytes)) = t.bytes",
    )?;
    let changed = client.execute(
        &stmt,
        &[
            &i16::from(tile.level),
            &to_i64(tile.index)?,
            &i32::from(tile.width),
            &tile.bytes,
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::Corrupt(format!(
            "registry log hash tile {}/{}: width {} does not extend the stored tile",
            tile.level, tile.index, tile.width
        )));
    }
    Ok(())
}

impl RegistryStore for PgRegistryStore {
    fn create_account(&self, account: &NewAccount) -> Result<CreateAccount> {
        self.pool.write(|client, st| {
            let by_identity = st.get(client, ACCOUNT_BY_IDENTITY)?;
            if let Some(row) =
                client.query_opt(&by_identity, &[&account.issuer, &account.subject])?
            {
                return Ok(Finish::Rollback(CreateAccount::IdentityHasAccount(
                    account_row(&row)?,
                )));
            }
            let created = to_i64(account.created_ms)?;
            // Either unique constraint (identity, username) makes this a no-op; a
            // concurrent insert of the same key is waited for, then seen below.
            let stmt = st.get(
                client,
                "INSERT INTO registry_accounts (issuer, subject, username, created_ms)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
            )?;
            let Some(row) = client.query_opt(
                &stmt,
                &[
                    &account.issuer,
                    &account.subject,
                    &account.username,
                    &created,
                ],
            )?
            else {
                let existing =
                    client.query_opt(&by_identity, &[&account.issuer, &account.subject])?;
                return Ok(Finish::Rollback(match existing {
                    Some(row) => CreateAccount::IdentityHasAccount(account_row(&row)?),
                    None => CreateAccount::UsernameTaken,
                }));
            };
            let id: i64 = row.try_get(0)?;
            let stmt = st.get(
                client,
                "INSERT INTO registry_api_keys (hash, account_id, created_ms) VALUES ($1, $2, $3)",
            )?;
            client.execute(&stmt, &[&&account.api_key_hash[..], &id, &created])?;
            Ok(Finish::Commit(CreateAccount::Created(
                account.stored_as(id),
            )))
        })
    }

    fn account_by_identity(&self, issuer: &str, subject: &str) -> Result<Option<Account>> {
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(ACCOUNT_BY_IDENTITY)?;
            client
                .query_opt(&st, &[&issuer, &subject])?
                .map(|row| account_row(&row))
                .transpose()
        })
    }

    fn account_by_api_key(&self, key_hash: &[u8; 32]) -> Result<Option<(Account, [u8; 32])>> {
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(
                "SELECT a.id, a.issuer, a.subject, a.username, a.created_ms, k.hash
                 FROM registry_api_keys k JOIN registry_accounts a ON a.id = k.account_id
                 WHERE k.hash = $1 AND k.revoked_ms IS NULL",
            )?;
            let Some(row) = client.query_opt(&st, &[&&key_hash[..]])? else {
                return Ok(None);
            };
            let hash: Vec<u8> = row.try_get(5)?;
            Ok(Some((account_row(&row)?, to_hash(&hash, "API key hash")?)))
        })
    }

    fn rotate_api_key(&self, account_id: i64, new_hash: &[u8; 32], now_ms: u64) -> Result<()> {
        let now = to_i64(now_ms)?;
        self.pool.write(|client, st| {
            // Serialises rotations of one account: without it, two racing rotations
            // could each revoke only the keys they saw and leave both new keys live.
            let stmt = st.get(
                client,
                "SELECT 1 FROM registry_accounts WHERE id = $1 FOR NO KEY UPDATE",
            )?;
            client.execute(&stmt, &[&account_id])?;
            let stmt = st.get(
                client,
                "UPDATE registry_api_keys SET revoked_ms = $2
                 WHERE account_id = $1 AND revoked_ms IS NULL",
            )?;
            client.execute(&stmt, &[&account_id, &now])?;
            let stmt = st.get(
                client,
                "INSERT INTO registry_api_keys (hash, account_id, created_ms) VALUES ($1, $2, $3)",
            )?;
            client.execute(&stmt, &[&&new_hash[..], &account_id, &now])?;
            Ok(Finish::Commit(()))
        })
    }

    fn create_challenge(
        &self,
        challenge: &Challenge,
        now_ms: u64,
        max_open: u32,
    ) -> Result<ChallengeOutcome> {
        let now = to_i64(now_ms)?;
        self.pool.write(|client, st| {
            let stmt = st.get(
                client,
                "DELETE FROM registry_challenges WHERE expires_ms <= $1",
            )?;
            client.execute(&stmt, &[&now])?;
            // Serialises the count-then-insert of one account's challenges across
            // processes, as rotations are.
            let stmt = st.get(
                client,
                "SELECT 1 FROM registry_accounts WHERE id = $1 FOR NO KEY UPDATE",
            )?;
            client.execute(&stmt, &[&challenge.account_id])?;
            let stmt = st.get(
                client,
                "SELECT COUNT(*) FROM registry_challenges
                 WHERE account_id = $1 AND NOT used AND expires_ms > $2",
            )?;
            let open: i64 = client
                .query_one(&stmt, &[&challenge.account_id, &now])?
                .try_get(0)?;
            if open >= i64::from(max_open) {
                return Ok(Finish::Rollback(ChallengeOutcome::TooMany));
            }
            let stmt = st.get(
                client,
                "INSERT INTO registry_challenges (id, account_id, nonce, expires_ms, used)
                 VALUES ($1, $2, $3, $4, $5)",
            )?;
            client.execute(
                &stmt,
                &[
                    &challenge.id,
                    &challenge.account_id,
                    &&challenge.nonce[..],
                    &to_i64(challenge.expires_ms)?,
                    &challenge.used,
                ],
            )?;
            Ok(Finish::Commit(ChallengeOutcome::Created))
        })
    }

    fn consume_token(
        &self,
        token_id: &[u8; 32],
        remember_until_ms: u64,
        now_ms: u64,
    ) -> Result<bool> {
        let (until, now) = (to_i64(remember_until_ms)?, to_i64(now_ms)?);
        self.pool.write(|client, st| {
            let stmt = st.get(
                client,
                "DELETE FROM registry_used_tokens WHERE remember_until_ms <= $1",
            )?;
            client.execute(&stmt, &[&now])?;
            // Of two processes inserting one token, the second waits for the first's
            // commit and then inserts nothing.
            let stmt = st.get(
                client,
                "INSERT INTO registry_used_tokens (token_id, remember_until_ms) VALUES ($1, $2)
                 ON CONFLICT (token_id) DO NOTHING",
            )?;
            let inserted = client.execute(&stmt, &[&&token_id[..], &until])?;
            Ok(Finish::Commit(inserted == 1))
        })
    }

    fn challenge(&self, id: &str) -> Result<Option<Challenge>> {
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(
                "SELECT id, account_id, nonce, expires_ms, used FROM registry_challenges
                 WHERE id = $1",
            )?;
            let Some(row) = client.query_opt(&st, &[&id])? else {
                return Ok(None);
            };
            let nonce: Vec<u8> = row.try_get(2)?;
            Ok(Some(Challenge {
                id: row.try_get(0)?,
                account_id: row.try_get(1)?,
                nonce: to_hash(&nonce, "challenge nonce")?,
                expires_ms: to_u64(row.try_get(3)?)?,
                used: row.try_get(4)?,
            }))
        })
    }

    fn commit_push(&self, push: &Push) -> Result<CommitOutcome> {
        let now = to_i64(push.now_ms)?;
        self.pool.write(|client, st| {
            let size = lock_log(client, st)?;
            // Conditional consumption: of two racing pushes with one challenge, the
            // second waits on the row lock, re-checks `NOT used` and changes nothing.
            let stmt = st.get(
                client,
                "UPDATE registry_challenges SET used = TRUE
                 WHERE id = $1 AND account_id = $2 AND NOT used AND expires_ms > $3",
            )?;
            let consumed =
                client.execute(&stmt, &[&push.challenge_id, &push.cert.account_id, &now])?;
            if consumed == 0 {
                return Ok(Finish::Rollback(CommitOutcome::ChallengeUnusable));
            }
            let stmt = st.get(
                client,
                "SELECT 1 FROM registry_certificates WHERE sha256 = $1",
            )?;
            if client.query_opt(&stmt, &[&push.cert.sha256])?.is_some() {
                // The rollback undoes the challenge consumption too.
                return Ok(Finish::Rollback(CommitOutcome::AlreadyRegistered));
            }
            if let Some(size) = append_log(client, st, size, &push.log)? {
                return Ok(Finish::Rollback(CommitOutcome::LogConflict { size }));
            }
            let c = &push.cert;
            let stmt = st.get(
                client,
                "INSERT INTO registry_certificates (storage_key, account_id, der, thumbprint,
                     sha256, subject, not_before_ms, not_after_ms, pushed_ms, log_index,
                     revoked, revoke_log_index)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, FALSE, NULL)",
            )?;
            client.execute(
                &stmt,
                &[
                    &c.storage_key,
                    &c.account_id,
                    &c.der,
                    &c.thumbprint,
                    &c.sha256,
                    &c.subject,
                    &to_i64(c.not_before_ms)?,
                    &to_i64(c.not_after_ms)?,
                    &to_i64(c.pushed_ms)?,
                    &to_i64(push.log.index)?,
                ],
            )?;
            Ok(Finish::Commit(CommitOutcome::Committed))
        })
    }

    fn commit_revoke(&self, revoke: &Revoke) -> Result<CommitOutcome> {
        self.pool.write(|client, st| {
            let size = lock_log(client, st)?;
            let stmt = st.get(
                client,
                "SELECT revoked FROM registry_certificates
                 WHERE account_id = $1 AND thumbprint = $2 LIMIT 1",
            )?;
            let revoked: Option<bool> = client
                .query_opt(&stmt, &[&revoke.account_id, &revoke.thumbprint])?
                .map(|row| row.try_get(0))
                .transpose()?;
            match revoked {
                None => return Ok(Finish::Rollback(CommitOutcome::NotFound)),
                Some(true) => return Ok(Finish::Rollback(CommitOutcome::AlreadyRevoked)),
                Some(false) => {}
            }
            if let Some(size) = append_log(client, st, size, &revoke.log)? {
                return Ok(Finish::Rollback(CommitOutcome::LogConflict { size }));
            }
            let stmt = st.get(
                client,
                "UPDATE registry_certificates SET revoked = TRUE, revoke_log_index = $3
                 WHERE account_id = $1 AND thumbprint = $2",
            )?;
            client.execute(
                &stmt,
                &[
                    &revoke.account_id,
                    &revoke.thumbprint,
                    &to_i64(revoke.log.index)?,
                ],
            )?;
            Ok(Finish::Commit(CommitOutcome::Committed))
        })
    }

    fn cert_by_thumbprint(&self, username: &str, thumbprint: &str) -> Result<Option<CertRecord>> {
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(concat!(
                cert_select!(),
                " WHERE a.username = $1 AND c.thumbprint = $2 LIMIT 1"
            ))?;
            client
                .query_opt(&st, &[&username, &thumbprint])?
                .map(|row| cert_row(&row))
                .transpose()
        })
    }

    fn cert_by_storage_key(&self, storage_key: &str) -> Result<Option<CertRecord>> {
        self.pool.read(|conn| {
            let (client, st) =
                conn.prepare(concat!(cert_select!(), " WHERE c.storage_key = $1"))?;
            client
                .query_opt(&st, &[&storage_key])?
                .map(|row| cert_row(&row))
                .transpose()
        })
    }

    fn certs_of_user(&self, username: &str, page: Page) -> Result<Vec<CertRecord>> {
        let offset = to_i64(page.offset)?;
        let limit = i64::from(page.limit);
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(concat!(
                cert_select!(),
                " WHERE a.username = $1 ORDER BY c.log_index LIMIT $2 OFFSET $3"
            ))?;
            cert_rows(client.query(&st, &[&username, &limit, &offset])?)
        })
    }

    fn search(&self, query: &str, page: Page) -> Result<Vec<CertRecord>> {
        let offset = to_i64(page.offset)?;
        let limit = i64::from(page.limit);
        // Prefix tests with left() instead of LIKE: no wildcard escaping to get wrong,
        // and `%` or `_` in a query mean themselves.
        let upper = query.to_ascii_uppercase();
        let lower = query.to_ascii_lowercase();
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(concat!(
                cert_select!(),
                " WHERE left(a.username, length($1)) = $1
                    OR strpos(lower(c.subject), lower($1)) > 0
                    OR left(c.thumbprint, length($2)) = $2
                    OR left(c.sha256, length($3)) = $3
                  ORDER BY c.log_index LIMIT $4 OFFSET $5"
            ))?;
            cert_rows(client.query(&st, &[&query, &upper, &lower, &limit, &offset])?)
        })
    }

    fn log_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(
                "SELECT size, root, note FROM registry_log_checkpoints ORDER BY size DESC LIMIT 1",
            )?;
            let Some(row) = client.query_opt(&st, &[])? else {
                return Ok(None);
            };
            let root: Vec<u8> = row.try_get(1)?;
            Ok(Some(StoredCheckpoint {
                size: to_u64(row.try_get(0)?)?,
                root: to_hash(&root, "checkpoint root")?,
                note: row.try_get(2)?,
            }))
        })
    }

    fn log_hash_tile(&self, level: u8, index: u64) -> Result<Option<StoredTile>> {
        let index = to_i64(index)?;
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(
                "SELECT width, bytes FROM registry_log_hash_tiles WHERE level = $1 AND idx = $2",
            )?;
            let Some(row) = client.query_opt(&st, &[&i16::from(level), &index])? else {
                return Ok(None);
            };
            Ok(Some(StoredTile {
                width: to_width(row.try_get(0)?)?,
                bytes: row.try_get(1)?,
            }))
        })
    }

    fn log_leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let (start, end) = (to_i64(start)?, to_i64(end)?);
        self.pool.read(|conn| {
            let (client, st) = conn.prepare(
                "SELECT leaf FROM registry_log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            )?;
            client
                .query(&st, &[&start, &end])?
                .iter()
                .map(|row| Ok(row.try_get(0)?))
                .collect()
        })
    }
}
