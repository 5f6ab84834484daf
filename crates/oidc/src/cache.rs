//! The per-issuer key cache: one fetch at a time per issuer (callers wait for it
//! without holding a thread), at most one every refresh interval, the old keys kept
//! when a refresh fails, a bounded number of issuers (least recently used out), and a
//! bound on concurrent fetches for issuers whose keys were never fetched.
//!
//! Only the identity provider's failures count against it: when this process could
//! not even try (every look-up thread busy, too many new issuers being fetched), the
//! caller is told to retry and the issuer's next fetch is not delayed — otherwise a
//! flood of forged tokens could make the server refuse a real issuer's tokens.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::Verifier;
use crate::discovery::KeyFetchError;
use crate::error::OidcError;
use crate::jwk::Jwk;
use crate::verifier::IssuerConfig;

/// Default minimum interval between two fetches of one issuer's keys, in seconds.
pub const DEFAULT_JWKS_REFRESH_SECS: u64 = 60;

/// Most concrete issuers whose keys are cached at once. Meta-issuers let callers
/// name any number of concrete issuers, so the cache must be bounded.
pub const MAX_CACHED_ISSUERS: usize = 256;

/// Default bound on concurrent key fetches for issuers matched through a meta-issuer
/// whose keys were never fetched: the names a forger can make up. Configured issuers,
/// and issuers whose keys we hold, are not counted.
pub const DEFAULT_NEW_ISSUER_FETCHES: usize = 4;

/// What we hold for one concrete issuer. `last_fetch` is when the last fetch the
/// issuer is accountable for began, successful or not: what the rate limit counts from.
#[derive(Debug, Default)]
pub(crate) struct IssuerKeys {
    keys: Option<Arc<[Jwk]>>,
    last_fetch: Option<u64>,
}

/// One issuer's cache slot: the keys, and the lock that makes its fetches single-flight.
#[derive(Debug, Default)]
pub(crate) struct IssuerEntry {
    keys: Mutex<IssuerKeys>,
    /// Held (asynchronously) for the length of a fetch: a burst of tokens for one
    /// issuer causes one fetch, and the others wait for its result.
    flight: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
pub(crate) struct CacheEntry {
    entry: Arc<IssuerEntry>,
    /// For least-recently-used eviction: a flood of made-up meta-issuer names must
    /// push out its own entries, not the configured issuers that are in daily use.
    last_used: u64,
}

/// Locks a mutex, ignoring poisoning: the guarded data stays consistent because every
/// update is a single assignment.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the cached state lets a caller do without fetching.
enum Cached {
    /// Use these keys.
    Keys(Arc<[Jwk]>),
    /// A fetch is not allowed yet and there are no keys to fall back on.
    Unavailable { retry_in: u64 },
    /// A fetch is needed and allowed.
    Fetch,
}

impl IssuerKeys {
    fn cached(&self, refresh: bool, now: u64, refresh_secs: u64) -> Cached {
        if let (Some(keys), false) = (&self.keys, refresh) {
            return Cached::Keys(keys.clone());
        }
        let next_allowed = self.last_fetch.map(|t| t.saturating_add(refresh_secs));
        match (next_allowed, &self.keys) {
            (Some(next), Some(keys)) if now < next => Cached::Keys(keys.clone()),
            (Some(next), None) if now < next => Cached::Unavailable {
                retry_in: next - now,
            },
            _ => Cached::Fetch,
        }
    }
}

impl Verifier {
    pub(crate) fn issuer_entry(&self, iss: &str) -> Arc<IssuerEntry> {
        let now = self.now_secs();
        let mut cache = lock(&self.cache);
        if let Some(entry) = cache.get_mut(iss) {
            entry.last_used = now;
            return entry.entry.clone();
        }
        if cache.len() >= MAX_CACHED_ISSUERS {
            let oldest = cache
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                cache.remove(&oldest);
            }
        }
        let entry = Arc::new(IssuerEntry::default());
        cache.insert(
            iss.to_string(),
            CacheEntry {
                entry: entry.clone(),
                last_used: now,
            },
        );
        entry
    }

    /// The issuer's keys: the cached set, unless there is none or `refresh` asks for a
    /// new one — and then only if the rate limit allows a fetch.
    pub(crate) async fn keys(
        &self,
        iss: &str,
        cfg: &IssuerConfig,
        entry: &IssuerEntry,
        refresh: bool,
    ) -> Result<Arc<[Jwk]>, OidcError> {
        let seen = {
            let st = lock(&entry.keys);
            match st.cached(refresh, self.now_secs(), self.refresh_secs) {
                Cached::Keys(keys) => return Ok(keys),
                Cached::Unavailable { retry_in } => return Err(unavailable(iss, retry_in)),
                Cached::Fetch => st.last_fetch,
            }
        };
        let _flight = entry.flight.lock().await;
        let now = self.now_secs();
        let has_keys = {
            let st = lock(&entry.keys);
            if st.last_fetch != seen {
                // Another caller fetched while we waited: its result is ours.
                return match &st.keys {
                    Some(keys) => Ok(keys.clone()),
                    None => Err(unavailable(iss, self.refresh_secs)),
                };
            }
            match st.cached(refresh, now, self.refresh_secs) {
                Cached::Keys(keys) => return Ok(keys),
                Cached::Unavailable { retry_in } => return Err(unavailable(iss, retry_in)),
                Cached::Fetch => st.keys.is_some(),
            }
        };
        // A name made up under a meta-issuer costs the forger nothing; bound how many
        // of those are fetched at once.
        let _permit = if has_keys || self.is_configured_exactly(iss) {
            None
        } else {
            match self.new_issuer_fetches.try_acquire() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    tracing::warn!(issuer = %iss, "OIDC: too many new issuers being fetched; token refused for now");
                    return Err(OidcError::Busy);
                }
            }
        };
        match self.fetch_keys(iss, cfg).await {
            Ok(keys) => {
                let keys: Arc<[Jwk]> = keys.into();
                let mut st = lock(&entry.keys);
                st.keys = Some(keys.clone());
                st.last_fetch = Some(now);
                Ok(keys)
            }
            Err(KeyFetchError::Saturated(detail)) => {
                tracing::warn!(issuer = %iss, error = %detail, "OIDC: could not fetch the issuer's keys (this server is saturated); not held against the issuer");
                Err(OidcError::Busy)
            }
            Err(KeyFetchError::Provider(e)) => {
                tracing::warn!(issuer = %iss, error = %e.detail(), "OIDC: fetching the issuer's keys failed");
                let mut st = lock(&entry.keys);
                st.last_fetch = Some(now);
                // A failed refresh keeps the old keys (the caller falls back on them
                // only through the rate limit): the IdP being down must not invalidate
                // tokens signed by keys we already trust.
                Err(e)
            }
        }
    }
}

fn unavailable(iss: &str, retry_in: u64) -> OidcError {
    OidcError::KeysUnavailable {
        issuer: iss.to_string(),
        retry_in,
    }
}
