//! The registry's operations over its store, independent of HTTP: accounts, API
//! keys, challenges, push, revoke, and the read side.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clock::Clock;
use merkle::Hash;
use oidc::VerifiedIdentity;
use pki::registry_api::normalize_thumbprint;
use store::registry::{
    Account, CertRecord, Challenge, ChallengeOutcome, CommitOutcome, CreateAccount, LogAppend,
    NewAccount, Page, Push, RegistryStore, Revoke, StoredCheckpoint,
};
use subtle::ConstantTimeEq;

use crate::cert::{CertError, check_code_signing};
use crate::cms::{CmsError, verify_signed_nonce};
use crate::downloads::{Download, DownloadCache};
use crate::log::{self, LogError, RegistryAction, RegistryLog, RegistryLogEntry};

/// How long a challenge can be answered, by default (the protocol's 5 minutes).
pub const CHALLENGE_TTL_MS: u64 = 5 * 60 * 1000;

/// Open (unused, unexpired) challenges one account may hold: a client needs one per
/// push in flight; without a bound, one API key could fill the table.
pub const MAX_OPEN_CHALLENGES: u32 = 32;

/// Oldest OIDC token (by `iat`) accepted for registration and key rotation, by
/// default. These tokens open or take over an account; the shorter the window, the
/// less a token seen in transit is worth.
pub const DEFAULT_TOKEN_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Deepest search result reachable by paging (`offset + limit`): the search is
/// unauthenticated and scans, so its cost must not grow with the page number asked.
pub const MAX_SEARCH_DEPTH: u64 = 10_000;

/// Prefix of API keys: makes them recognisable in logs and secret scanners, and
/// tells them apart from OIDC tokens (which contain dots) on the same header.
pub const API_KEY_PREFIX: &str = "cck_";

/// Appends retried after another process appended first; more means heavy contention,
/// and the client is told to retry (503) rather than spin here.
const MAX_LOG_CONFLICTS: u32 = 8;

/// Largest page of list and search results.
pub const MAX_PAGE: u32 = 200;

/// Longest search query.
pub const MAX_QUERY_CHARS: usize = 128;

/// Secure randomness for API keys, nonces and storage keys, injected so tests can be
/// deterministic.
pub trait Entropy: Send + Sync {
    fn fill(&self, out: &mut [u8]) -> Result<(), RegistryError>;
}

/// The operating system's CSPRNG (through aws-lc).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn fill(&self, out: &mut [u8]) -> Result<(), RegistryError> {
        aws_lc_rs::rand::fill(out).map_err(|_| RegistryError::Internal("no randomness".into()))
    }
}

/// Every way an operation fails. [`RegistryError::status`] maps it to HTTP once.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    InvalidToken(#[from] oidc::OidcError),
    #[error("this token was already used; get a fresh one")]
    TokenUsed,
    #[error(
        "the token was issued {age_secs} s ago; registration and key rotation take tokens at most {max_secs} s old"
    )]
    TokenTooOld { age_secs: u64, max_secs: u64 },
    #[error("the account has {0} open challenges; answer or let them expire first")]
    TooManyChallenges(u32),
    #[error("{0}")]
    BadRequest(String),
    #[error("username must be 1 to 39 characters of a-z, 0-9 and '-'")]
    BadUsername,
    #[error("username {0:?} is taken")]
    UsernameTaken(String),
    #[error("this identity already has the account {0:?}; one account per identity")]
    IdentityHasAccount(String),
    #[error("no account for this identity; register first")]
    NoAccount,
    #[error("missing API key: send `Authorization: Bearer <api key>`")]
    MissingApiKey,
    #[error("invalid or revoked API key")]
    BadApiKey,
    #[error("unknown challenge")]
    UnknownChallenge,
    #[error("the challenge belongs to another account")]
    ForeignChallenge,
    #[error("the challenge was already used; ask for a new one")]
    ChallengeUsed,
    #[error("the challenge expired; ask for a new one")]
    ChallengeExpired,
    #[error("{0}")]
    Cms(#[from] CmsError),
    #[error("{0}")]
    Cert(#[from] CertError),
    #[error("this certificate is already registered")]
    AlreadyRegistered,
    #[error("no such certificate")]
    CertNotFound,
    #[error("no such tile in the registry log")]
    NoSuchTile,
    #[error("the certificate is already revoked")]
    AlreadyRevoked,
    #[error("the registry log changed underneath this server; retry")]
    Conflict,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<store::StoreError> for RegistryError {
    fn from(e: store::StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<LogError> for RegistryError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Proof(p) => Self::BadRequest(p.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl RegistryError {
    /// HTTP status and stable error code.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            Self::InvalidToken(e) if e.is_unavailable() => (503, "oidc_unavailable"),
            Self::InvalidToken(_) => (401, "invalid_token"),
            Self::TokenUsed => (401, "token_used"),
            Self::TokenTooOld { .. } => (401, "token_too_old"),
            Self::TooManyChallenges(_) => (429, "too_many_challenges"),
            Self::MissingApiKey | Self::BadApiKey => (401, "invalid_api_key"),
            Self::BadRequest(_) => (400, "bad_request"),
            Self::BadUsername => (400, "bad_username"),
            Self::UsernameTaken(_) => (409, "username_taken"),
            Self::IdentityHasAccount(_) => (409, "account_exists"),
            Self::NoAccount => (404, "no_account"),
            Self::UnknownChallenge | Self::ForeignChallenge => (400, "bad_challenge"),
            Self::ChallengeUsed => (409, "challenge_used"),
            Self::ChallengeExpired => (410, "challenge_expired"),
            Self::Cms(CmsError::TooLarge(_)) => (413, "cms_too_large"),
            Self::Cms(_) => (400, "bad_cms"),
            Self::Cert(_) => (422, "bad_certificate"),
            Self::AlreadyRegistered => (409, "already_registered"),
            Self::CertNotFound | Self::NoSuchTile => (404, "not_found"),
            Self::AlreadyRevoked => (409, "already_revoked"),
            Self::Conflict => (503, "retry"),
            Self::Internal(_) => (500, "internal"),
        }
    }
}

/// `[a-z0-9-]{1,39}` (the protocol's username syntax).
pub fn valid_username(name: &str) -> bool {
    (1..=39).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn key_hash(api_key: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, api_key.as_bytes()).as_ref());
    out
}

/// A freshly issued API key (shown once) and the account it opens.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub username: String,
    pub api_key: String,
}

/// A challenge as handed to the client.
#[derive(Debug, Clone)]
pub struct IssuedChallenge {
    pub challenge_id: String,
    pub nonce: [u8; 32],
    pub expires_ms: u64,
}

/// A committed log append with its proof against the checkpoint it produced.
#[derive(Debug, Clone)]
pub struct LoggedChange {
    pub cert: CertRecord,
    pub log_index: u64,
    pub inclusion_proof: Vec<Hash>,
    pub checkpoint: String,
}

/// What proves the account whose key is rotated.
#[derive(Debug, Clone)]
pub enum RotateWith {
    /// Its current API key.
    ApiKey(String),
    /// A verified token of its identity.
    Identity(VerifiedIdentity),
}

impl RotateWith {
    /// Whether a presented credential is an API key (else it is taken for a token).
    pub fn is_api_key(credential: &str) -> bool {
        credential.starts_with(API_KEY_PREFIX)
    }
}

/// What an OIDC token must be to register or to rotate a key: for this registry's
/// audience, fresh, and never used before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRules {
    /// The `aud` required in place of each issuer's configured client id: set when
    /// the registry shares a verifier with the CA, whose tokens it must refuse.
    /// `None`: the issuers' own client ids (a verifier built for the registry).
    pub audience: Option<String>,
    /// Oldest `iat` accepted, counted back from now.
    pub max_age: std::time::Duration,
}

impl Default for TokenRules {
    fn default() -> Self {
        Self {
            audience: Some(pki::registry_api::DEFAULT_REGISTRY_AUDIENCE.to_owned()),
            max_age: DEFAULT_TOKEN_MAX_AGE,
        }
    }
}

/// The registry service.
pub struct Registry {
    store: Arc<dyn RegistryStore>,
    verifier: Arc<oidc::Verifier>,
    tokens: TokenRules,
    log: RegistryLog,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    challenge_ttl_ms: u64,
    downloads: DownloadCache,
    /// Bumped by every revocation made here, so a download-cache fill that raced
    /// with one does not re-insert the pre-revocation answer.
    revocations: AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("origin", &self.log.origin())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Opens the registry over `store`; `origin` names the log (and its note key),
    /// `log_seed` is its Ed25519 key seed.
    pub fn open(
        store: Arc<dyn RegistryStore>,
        verifier: Arc<oidc::Verifier>,
        origin: &str,
        log_seed: &[u8; 32],
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Self, RegistryError> {
        let log = RegistryLog::open(origin, log_seed, store.as_ref())?;
        Ok(Self {
            store,
            verifier,
            tokens: TokenRules::default(),
            log,
            clock,
            entropy,
            challenge_ttl_ms: CHALLENGE_TTL_MS,
            downloads: DownloadCache::default(),
            revocations: AtomicU64::new(0),
        })
    }

    /// Sizes the `getusercert` cache (see [`crate::downloads`]); capacity 0 disables it.
    pub fn with_download_cache(mut self, capacity: usize, ttl: std::time::Duration) -> Self {
        self.downloads = DownloadCache::new(capacity, ttl);
        self
    }

    /// Sets what registration and key-rotation tokens must be (default
    /// [`TokenRules::default`]: the audience
    /// [`DEFAULT_REGISTRY_AUDIENCE`](pki::registry_api::DEFAULT_REGISTRY_AUDIENCE),
    /// at most [`DEFAULT_TOKEN_MAX_AGE`] old).
    pub fn with_token_rules(mut self, rules: TokenRules) -> Self {
        self.tokens = rules;
        self
    }

    /// Sets how long challenges stay valid (default [`CHALLENGE_TTL_MS`]).
    pub fn with_challenge_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.challenge_ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The log's note verifier key.
    pub fn verifier_key(&self) -> String {
        self.log.verifier_key()
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        self.log.origin()
    }

    fn random<const N: usize>(&self) -> Result<[u8; N], RegistryError> {
        let mut out = [0u8; N];
        self.entropy.fill(&mut out)?;
        Ok(out)
    }

    fn new_api_key(&self) -> Result<String, RegistryError> {
        Ok(format!(
            "{API_KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(self.random::<32>()?)
        ))
    }

    /// Verifies an OIDC identity token: signed by a trusted issuer for this
    /// registry's audience ([`TokenRules`]). Async: it may wait for the issuer's keys,
    /// holding no thread; the account operations that follow run on the blocking pool
    /// and accept the token only once ([`Registry::accept_token`]).
    pub async fn verify_token(&self, token: &str) -> Result<VerifiedIdentity, RegistryError> {
        Ok(match &self.tokens.audience {
            Some(audience) => self.verifier.verify_for_audience(token, audience).await?,
            None => self.verifier.verify(token).await?,
        })
    }

    /// Accepts a verified token that opens an account or replaces its key: issued at
    /// most `max_age` ago, and consumed here — a second use is refused, from any
    /// process sharing the store and after restarts, for as long as the token would
    /// otherwise be accepted.
    fn accept_token(&self, identity: &VerifiedIdentity) -> Result<(), RegistryError> {
        let now_ms = self.clock.now_ms();
        let max_secs = self.tokens.max_age.as_secs();
        let iat = identity
            .issued_at
            .ok_or(oidc::OidcError::MissingClaim("iat"))?;
        let age_secs = (now_ms / 1000).saturating_sub(iat);
        if age_secs > max_secs {
            return Err(RegistryError::TokenTooOld { age_secs, max_secs });
        }
        // Accepted until the earlier of expiry (with the verifier's skew) and the
        // maximum age: remembered exactly that long.
        let expiry = identity.expires_at.saturating_add(oidc::CLOCK_SKEW_SECS);
        let too_old = iat.saturating_add(max_secs).saturating_add(1);
        let remember_until_ms = expiry.min(too_old).saturating_mul(1000);
        if !self
            .store
            .consume_token(&identity.token_id, remember_until_ms, now_ms)?
        {
            return Err(RegistryError::TokenUsed);
        }
        Ok(())
    }

    /// Registers a verified identity ([`Registry::verify_token`]) under `username`.
    pub fn register(
        &self,
        identity: VerifiedIdentity,
        username: &str,
    ) -> Result<IssuedKey, RegistryError> {
        if !valid_username(username) {
            return Err(RegistryError::BadUsername);
        }
        self.accept_token(&identity)?;
        let api_key = self.new_api_key()?;
        let outcome = self.store.create_account(&NewAccount {
            issuer: identity.issuer,
            subject: identity.subject,
            username: username.to_owned(),
            api_key_hash: key_hash(&api_key),
            created_ms: self.clock.now_ms(),
        })?;
        match outcome {
            CreateAccount::Created(account) => Ok(IssuedKey {
                username: account.username,
                api_key,
            }),
            CreateAccount::UsernameTaken => Err(RegistryError::UsernameTaken(username.to_owned())),
            CreateAccount::IdentityHasAccount(a) => {
                Err(RegistryError::IdentityHasAccount(a.username))
            }
        }
    }

    /// The account an API key opens.
    pub fn authenticate(&self, api_key: &str) -> Result<Account, RegistryError> {
        // Bounded before hashing, and only well-formed keys reach the store.
        if api_key.len() > 128 || !api_key.starts_with(API_KEY_PREFIX) {
            return Err(RegistryError::BadApiKey);
        }
        let hash = key_hash(api_key);
        let (account, stored) = self
            .store
            .account_by_api_key(&hash)?
            .ok_or(RegistryError::BadApiKey)?;
        // The look-up already matched on the hash; comparing again in constant time
        // keeps the decision itself free of timing differences whatever the backend's
        // index comparison does.
        if bool::from(stored.ct_eq(&hash)) {
            Ok(account)
        } else {
            Err(RegistryError::BadApiKey)
        }
    }

    /// Replaces every API key of the account with a new one. The caller proves the
    /// account with its current API key, or with a verified OIDC token of its
    /// identity (a lost key), which must meet the [`TokenRules`].
    pub fn rotate_key(&self, by: &RotateWith) -> Result<IssuedKey, RegistryError> {
        let account = match by {
            RotateWith::ApiKey(key) => self.authenticate(key)?,
            RotateWith::Identity(identity) => {
                self.accept_token(identity)?;
                self.store
                    .account_by_identity(&identity.issuer, &identity.subject)?
                    .ok_or(RegistryError::NoAccount)?
            }
        };
        let api_key = self.new_api_key()?;
        self.store
            .rotate_api_key(account.id, &key_hash(&api_key), self.clock.now_ms())?;
        Ok(IssuedKey {
            username: account.username,
            api_key,
        })
    }

    /// Issues a challenge bound to the account, unless it already holds
    /// [`MAX_OPEN_CHALLENGES`] open ones.
    pub fn challenge(&self, account: &Account) -> Result<IssuedChallenge, RegistryError> {
        let id = hex::encode(self.random::<16>()?);
        let nonce = self.random::<32>()?;
        let now = self.clock.now_ms();
        let expires_ms = now.saturating_add(self.challenge_ttl_ms);
        let challenge = Challenge {
            id: id.clone(),
            account_id: account.id,
            nonce,
            expires_ms,
            used: false,
        };
        match self
            .store
            .create_challenge(&challenge, now, MAX_OPEN_CHALLENGES)?
        {
            ChallengeOutcome::Created => {}
            ChallengeOutcome::TooMany => {
                return Err(RegistryError::TooManyChallenges(MAX_OPEN_CHALLENGES));
            }
        }
        Ok(IssuedChallenge {
            challenge_id: id,
            nonce,
            expires_ms,
        })
    }

    /// Verifies and stores a push (see the crate docs). Nothing is written unless all
    /// checks pass, and then certificate, challenge and log leaf commit together.
    pub fn push(
        &self,
        account: &Account,
        challenge_id: &str,
        cms_der: &[u8],
    ) -> Result<LoggedChange, RegistryError> {
        let now = self.clock.now_ms();
        if challenge_id.len() > 64 {
            return Err(RegistryError::UnknownChallenge);
        }
        let challenge = self
            .store
            .challenge(challenge_id)?
            .ok_or(RegistryError::UnknownChallenge)?;
        if challenge.account_id != account.id {
            return Err(RegistryError::ForeignChallenge);
        }
        if challenge.used {
            return Err(RegistryError::ChallengeUsed);
        }
        if now >= challenge.expires_ms {
            return Err(RegistryError::ChallengeExpired);
        }
        let signed = verify_signed_nonce(cms_der, &challenge.nonce)?;
        let facts = check_code_signing(&signed.certificate_der, now)?;
        let storage_key = hex::encode(self.random::<16>()?);

        let entry = RegistryLogEntry {
            timestamp_ms: now,
            username: account.username.clone(),
            action: RegistryAction::Push,
            certificate: facts.der.clone(),
        };
        let mut cert = CertRecord {
            storage_key,
            account_id: account.id,
            username: account.username.clone(),
            der: facts.der,
            thumbprint: facts.thumbprint,
            sha256: facts.sha256,
            subject: facts.subject,
            not_before_ms: facts.not_before_ms,
            not_after_ms: facts.not_after_ms,
            pushed_ms: now,
            log_index: 0,
            revoked: false,
            revoke_log_index: None,
        };
        let (outcome, append) = self.append_logged(&entry, |append| {
            cert.log_index = append.index;
            Ok(self.store.commit_push(&Push {
                cert: cert.clone(),
                challenge_id: challenge_id.to_owned(),
                now_ms: now,
                log: append.clone(),
            })?)
        })?;
        match outcome {
            CommitOutcome::Committed => {}
            // A concurrent push consumed the challenge between our read and commit.
            CommitOutcome::ChallengeUnusable => return Err(RegistryError::ChallengeUsed),
            CommitOutcome::AlreadyRegistered => return Err(RegistryError::AlreadyRegistered),
            _ => return Err(RegistryError::Conflict),
        }
        self.logged_change(cert, append)
    }

    /// Revokes the account's certificate `thumbprint`: it stays downloadable, marked
    /// revoked, and a revoke leaf records when.
    pub fn revoke(
        &self,
        account: &Account,
        thumbprint: &str,
    ) -> Result<LoggedChange, RegistryError> {
        let thumbprint = normalize_thumbprint(thumbprint).ok_or(RegistryError::CertNotFound)?;
        let cert = self
            .store
            .cert_by_thumbprint(&account.username, &thumbprint)?
            .ok_or(RegistryError::CertNotFound)?;
        if cert.revoked {
            return Err(RegistryError::AlreadyRevoked);
        }
        let now = self.clock.now_ms();
        let entry = RegistryLogEntry {
            timestamp_ms: now,
            username: account.username.clone(),
            action: RegistryAction::Revoke,
            certificate: cert.der.clone(),
        };
        let (outcome, append) = self.append_logged(&entry, |append| {
            Ok(self.store.commit_revoke(&Revoke {
                account_id: account.id,
                thumbprint: thumbprint.clone(),
                log: append.clone(),
            })?)
        })?;
        match outcome {
            CommitOutcome::Committed => {}
            CommitOutcome::NotFound => return Err(RegistryError::CertNotFound),
            CommitOutcome::AlreadyRevoked => return Err(RegistryError::AlreadyRevoked),
            _ => return Err(RegistryError::Conflict),
        }
        self.revocations.fetch_add(1, Ordering::SeqCst);
        self.downloads.remove(&account.username, &thumbprint);
        let cert = self
            .store
            .cert_by_storage_key(&cert.storage_key)?
            .ok_or(RegistryError::CertNotFound)?;
        self.logged_change(cert, append)
    }

    /// Appends `entry` to the log, storing it with `commit` (the change and its leaf in
    /// one transaction). Appends are serialised in this process; when another process
    /// sharing the database appended first (`LogConflict`), the log's edge is reloaded
    /// from the store and the append rebuilt, a few times. The append is adopted only
    /// if committed.
    fn append_logged(
        &self,
        entry: &RegistryLogEntry,
        mut commit: impl FnMut(&LogAppend) -> Result<CommitOutcome, RegistryError>,
    ) -> Result<(CommitOutcome, LogAppend), RegistryError> {
        let mut guard = self.log.begin();
        let mut conflicts = 0;
        loop {
            let prepared = guard.prepare(entry)?;
            let outcome = commit(&prepared.append)?;
            match outcome {
                CommitOutcome::Committed => {
                    let append = prepared.append.clone();
                    guard.adopt(prepared);
                    return Ok((outcome, append));
                }
                CommitOutcome::LogConflict { .. } if conflicts < MAX_LOG_CONFLICTS => {
                    conflicts += 1;
                    guard.reload(self.store.as_ref())?;
                }
                _ => return Ok((outcome, prepared.append)),
            }
        }
    }

    /// The answer to a committed push or revocation: its leaf's inclusion proof in the
    /// checkpoint it produced.
    fn logged_change(
        &self,
        cert: CertRecord,
        append: LogAppend,
    ) -> Result<LoggedChange, RegistryError> {
        let inclusion_proof =
            log::inclusion_proof(self.store.as_ref(), append.index, append.checkpoint.size)?;
        Ok(LoggedChange {
            cert,
            log_index: append.index,
            inclusion_proof,
            checkpoint: append.checkpoint.note,
        })
    }

    /// `getusercert`: a certificate by owner and thumbprint.
    pub fn user_cert(&self, username: &str, thumbprint: &str) -> Result<CertRecord, RegistryError> {
        let thumbprint = normalize_thumbprint(thumbprint).ok_or(RegistryError::CertNotFound)?;
        if !valid_username(username) {
            return Err(RegistryError::CertNotFound);
        }
        self.store
            .cert_by_thumbprint(username, &thumbprint)?
            .ok_or(RegistryError::CertNotFound)
    }

    /// `getusercert` from memory: `Some` only for a fresh cached answer, so it never
    /// blocks and can run on the async worker. `None` means: call [`Self::download`].
    pub fn cached_download(&self, username: &str, thumbprint: &str) -> Option<Arc<Download>> {
        let thumbprint = normalize_thumbprint(thumbprint)?;
        if !valid_username(username) {
            return None;
        }
        self.downloads.get(username, &thumbprint)
    }

    /// `getusercert` as PEM, from the cache or else the store (blocking), caching it.
    pub fn download(
        &self,
        username: &str,
        thumbprint: &str,
    ) -> Result<Arc<Download>, RegistryError> {
        let thumbprint = normalize_thumbprint(thumbprint).ok_or(RegistryError::CertNotFound)?;
        if let Some(hit) = self.downloads.get(username, &thumbprint) {
            return Ok(hit);
        }
        let generation = self.revocations.load(Ordering::SeqCst);
        let download = Arc::new(Download::new(&self.user_cert(username, &thumbprint)?));
        if self.revocations.load(Ordering::SeqCst) == generation {
            self.downloads
                .insert(username, &thumbprint, download.clone());
        }
        Ok(download)
    }

    /// A user's certificates.
    pub fn user_certs(&self, username: &str, page: Page) -> Result<Vec<CertRecord>, RegistryError> {
        if !valid_username(username) {
            return Ok(Vec::new());
        }
        Ok(self.store.certs_of_user(username, page)?)
    }

    /// Search by username prefix, subject text, thumbprint or SHA-256 prefix, no
    /// deeper than [`MAX_SEARCH_DEPTH`] results.
    pub fn search(&self, query: &str, page: Page) -> Result<Vec<CertRecord>, RegistryError> {
        let query = query.trim();
        if query.is_empty() || query.chars().count() > MAX_QUERY_CHARS {
            return Err(RegistryError::BadRequest(format!(
                "q must be 1 to {MAX_QUERY_CHARS} characters"
            )));
        }
        if page.offset.saturating_add(u64::from(page.limit)) > MAX_SEARCH_DEPTH {
            return Err(RegistryError::BadRequest(format!(
                "search results go {MAX_SEARCH_DEPTH} deep: narrow the query instead of paging further"
            )));
        }
        Ok(self.store.search(query, page)?)
    }

    /// A certificate by storage key (a primary-key read).
    pub fn by_storage_key(&self, key: &str) -> Result<CertRecord, RegistryError> {
        if key.is_empty() || key.len() > 64 {
            return Err(RegistryError::CertNotFound);
        }
        self.store
            .cert_by_storage_key(key)?
            .ok_or(RegistryError::CertNotFound)
    }

    /// The latest signed checkpoint (the empty tree's before the first push).
    pub fn checkpoint(&self) -> Result<StoredCheckpoint, RegistryError> {
        match self.store.log_checkpoint()? {
            Some(checkpoint) => Ok(checkpoint),
            None => Ok(self.log.empty_checkpoint()?),
        }
    }

    /// Inclusion proof of leaf `index` in the tree of `size` (≤ the current size),
    /// with that tree's root.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<(Hash, Vec<Hash>), RegistryError> {
        self.check_size(size)?;
        let proof = log::inclusion_proof(self.store.as_ref(), index, size)?;
        Ok((log::root_at(self.store.as_ref(), size)?, proof))
    }

    /// Consistency proof between sizes `old` and `size` (≤ the current size).
    pub fn consistency(&self, old: u64, size: u64) -> Result<Vec<Hash>, RegistryError> {
        self.check_size(size)?;
        Ok(log::consistency_proof(self.store.as_ref(), old, size)?)
    }

    fn check_size(&self, size: u64) -> Result<(), RegistryError> {
        let current = self.checkpoint()?.size;
        if size > current {
            return Err(RegistryError::BadRequest(format!(
                "size {size} is beyond the log's size {current}"
            )));
        }
        Ok(())
    }

    /// A hash tile at exactly `width` (a prefix of the stored, possibly wider tile).
    pub fn hash_tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<u8>, RegistryError> {
        let tile = self
            .store
            .log_hash_tile(level, index)?
            .ok_or(RegistryError::NoSuchTile)?;
        if tile.width < width {
            return Err(RegistryError::NoSuchTile);
        }
        tile.bytes
            .get(..usize::from(width) * 32)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| RegistryError::Internal("stored tile shorter than its width".into()))
    }

    /// An entry bundle at exactly `width`.
    pub fn entry_bundle(&self, index: u64, width: u16) -> Result<Vec<u8>, RegistryError> {
        log::entry_bundle(self.store.as_ref(), index, width)?.ok_or(RegistryError::NoSuchTile)
    }
}
