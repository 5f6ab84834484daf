//! Storage of the developer-certificate registry: accounts, API keys, challenges,
//! certificates, and the registry's own transparency log (hash tiles, leaves and
//! signed checkpoints).
//!
//! Why one store for all of it: a push must change three things together — the
//! certificate row, the consumed challenge and the new log leaf with its tiles and
//! checkpoint. If they lived in separate stores a crash between two writes would
//! leave a certificate that the log never saw (the operator could serve it without
//! anyone being able to audit it) or a log leaf without a row. One transaction makes
//! each push all-or-nothing, which is the [`RegistryStore`] contract.

use crate::{Result, StoredTile, TileWrite};

/// An account as stored. The `(issuer, subject)` pair is the OIDC identity that
/// registered it; `username` is the public name certificates are listed under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub issuer: String,
    pub subject: String,
    pub username: String,
    pub created_ms: u64,
}

/// What [`RegistryStore::create_account`] is given: the account and its first API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccount {
    pub issuer: String,
    pub subject: String,
    pub username: String,
    /// SHA-256 of the API key; the key itself is never stored.
    pub api_key_hash: [u8; 32],
    pub created_ms: u64,
}

impl NewAccount {
    /// The account as stored under `id`.
    pub fn stored_as(&self, id: i64) -> Account {
        Account {
            id,
            issuer: self.issuer.clone(),
            subject: self.subject.clone(),
            username: self.username.clone(),
            created_ms: self.created_ms,
        }
    }
}

/// Outcome of [`RegistryStore::create_account`]: both conflicts are the client's to
/// resolve (pick another username; use the existing account), so they are values, not
/// errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateAccount {
    Created(Account),
    UsernameTaken,
    /// The OIDC identity already owns an account (one account per identity).
    IdentityHasAccount(Account),
}

/// A proof-of-possession challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Opaque identifier handed to the client.
    pub id: String,
    pub account_id: i64,
    /// The bytes the client must sign.
    pub nonce: [u8; 32],
    pub expires_ms: u64,
    pub used: bool,
}

/// Outcome of [`RegistryStore::create_challenge`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeOutcome {
    Created,
    /// The account already has the most open (unused, unexpired) challenges allowed;
    /// nothing was stored.
    TooMany,
}

/// A stored certificate with everything the read side serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertRecord {
    /// Opaque primary key, random, unrelated to any key material.
    pub storage_key: String,
    pub account_id: i64,
    pub username: String,
    pub der: Vec<u8>,
    /// SHA-1 of the DER, upper-case hex (the Windows "thumbprint").
    pub thumbprint: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// RFC 4514 rendering of the subject name.
    pub subject: String,
    pub not_before_ms: u64,
    pub not_after_ms: u64,
    pub pushed_ms: u64,
    /// Index of the push leaf in the registry log.
    pub log_index: u64,
    pub revoked: bool,
    /// Index of the revoke leaf, once revoked.
    pub revoke_log_index: Option<u64>,
}

/// A signed checkpoint of the registry log as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: [u8; 32],
    /// The signed note, exactly as served at `/registry/log/checkpoint`.
    pub note: String,
}

/// One leaf appended to the registry log, with the tiles and checkpoint it produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogAppend {
    /// Must equal the current log size: appends never skip or overwrite.
    pub index: u64,
    /// The encoded leaf (the registry crate defines its format).
    pub leaf: Vec<u8>,
    /// Hash tiles that changed, at their new widths.
    pub hash_tiles: Vec<TileWrite>,
    /// The checkpoint of the tree including this leaf (`size == index + 1`).
    pub checkpoint: StoredCheckpoint,
}

/// A push: the certificate, the challenge it consumes and its log leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    pub cert: CertRecord,
    pub challenge_id: String,
    /// The challenge must be unexpired at this time.
    pub now_ms: u64,
    pub log: LogAppend,
}

/// Outcome of a push or revocation commit. Anything but `Committed` wrote nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// The challenge is unknown, used, expired or belongs to another account.
    ChallengeUnusable,
    /// The certificate (same SHA-256) is already registered.
    AlreadyRegistered,
    /// Revocation: no such certificate of this account.
    NotFound,
    /// Revocation: already revoked.
    AlreadyRevoked,
    /// The log moved on since the caller built the append (another writer).
    LogConflict {
        size: u64,
    },
}

/// A revocation: the flag on the certificate and its log leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoke {
    pub account_id: i64,
    pub thumbprint: String,
    pub log: LogAppend,
}

/// Paging of list and search results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub limit: u32,
}

/// Storage of the registry.
///
/// Contract: every method that writes is one durable (fsynced) transaction — when it
/// returns `Ok`, the change survives a crash; when it returns `Err` or a non-committed
/// [`CommitOutcome`], nothing of it is visible. In particular [`RegistryStore::commit_push`]
/// inserts the certificate, marks the challenge used and appends the log leaf with
/// its tiles and checkpoint together, so the log and the certificate table never
/// disagree, and a challenge is consumed exactly once even with concurrent pushes.
/// The log only grows: an append whose index is not the current size is refused.
pub trait RegistryStore: Send + Sync + 'static {
    /// Creates an account and its first API key.
    fn create_account(&self, account: &NewAccount) -> Result<CreateAccount>;

    /// The account of an OIDC identity.
    fn account_by_identity(&self, issuer: &str, subject: &str) -> Result<Option<Account>>;

    /// The account owning the unrevoked API key with this hash, and the stored hash
    /// (for the caller's constant-time comparison).
    fn account_by_api_key(&self, key_hash: &[u8; 32]) -> Result<Option<(Account, [u8; 32])>>;

    /// Revokes every API key of the account and adds `new_hash` as its only key.
    fn rotate_api_key(&self, account_id: i64, new_hash: &[u8; 32], now_ms: u64) -> Result<()>;

    /// Stores a new challenge unless its account already has `max_open` open ones
    /// (unused and unexpired at `now_ms`). Challenges expired at `now_ms`, of every
    /// account, are deleted in the same transaction: they can never be answered, and
    /// left in place they would grow the table without bound.
    fn create_challenge(
        &self,
        challenge: &Challenge,
        now_ms: u64,
        max_open: u32,
    ) -> Result<ChallengeOutcome>;

    /// A challenge by id.
    fn challenge(&self, id: &str) -> Result<Option<Challenge>>;

    /// Atomically consumes the challenge (which must belong to `push.cert.account_id`,
    /// be unused and unexpired at `push.now_ms`), inserts the certificate and appends
    /// the log leaf.
    fn commit_push(&self, push: &Push) -> Result<CommitOutcome>;

    /// Atomically marks the account's certificate revoked and appends the log leaf.
    fn commit_revoke(&self, revoke: &Revoke) -> Result<CommitOutcome>;

    /// Records the single use of the OIDC token `token_id` (a digest naming it),
    /// remembered until `remember_until_ms` (after which the caller refuses the token
    /// anyway): `true` the first time, `false` for every later use — also from another
    /// process and after a restart. Tokens forgotten at `now_ms` are deleted in the
    /// same transaction.
    fn consume_token(
        &self,
        token_id: &[u8; 32],
        remember_until_ms: u64,
        now_ms: u64,
    ) -> Result<bool>;

    /// A certificate by owner username and thumbprint (upper-case hex).
    fn cert_by_thumbprint(&self, username: &str, thumbprint: &str) -> Result<Option<CertRecord>>;

    /// A certificate by its storage key: a primary-key read.
    fn cert_by_storage_key(&self, storage_key: &str) -> Result<Option<CertRecord>>;

    /// A user's certificates, oldest first.
    fn certs_of_user(&self, username: &str, page: Page) -> Result<Vec<CertRecord>>;

    /// Certificates whose owner username starts with `query`, whose subject contains
    /// it, or whose thumbprint or SHA-256 starts with it (hex, any case); oldest first.
    fn search(&self, query: &str, page: Page) -> Result<Vec<CertRecord>>;

    /// The latest checkpoint, `None` for an empty log.
    fn log_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;

    /// A hash tile of the registry log at the widest width stored.
    fn log_hash_tile(&self, level: u8, index: u64) -> Result<Option<StoredTile>>;

    /// Leaves `start..end` (fewer if the log is shorter), in index order.
    fn log_leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>>;
}
