//! The per-issuer key cache: one fetch at a time per issuer, at most one every
//! refresh interval, the old keys kept when a refresh fails, and a bounded number of
//! issuers (least recently used out).

use std::sync::{Arc, Mutex, MutexGuard};

use crate::Verifier;
use crate::error::OidcError;
use crate::jwk::Jwk;

/// Default minimum interval between two fetches of one issuer's keys, in seconds.
pub const DEFAULT_JWKS_REFRESH_SECS: u64 = 60;

/// Most concrete issuers whose keys are cached at once. Meta-issuers let callers
/// name any number of concrete issuers, so the cache must be bounded.
pub const MAX_CACHED_ISSUERS: usize = 256;

/// What we hold for one concrete issuer. `last_fetch` is the time of the last fetch
/// attempt, successful or not: it is what the rate limit counts from.
#[derive(Debug, Default)]
pub(crate) struct IssuerKeys {
    keys: Option<Arc<[Jwk]>>,
    last_fetch: Option<u64>,
    last_error: Option<OidcError>,
}

#[derive(Debug)]
pub(crate) struct CacheEntry {
    state: Arc<Mutex<IssuerKeys>>,
    /// For least-recently-used eviction: a flood of made-up meta-issuer names must
    /// push out its own entries, not the configured issuers that are in daily use.
    last_used: u64,
}

/// Locks a mutex, ignoring poisoning: the guarded data stays consistent because every
/// update is a single assignment.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Verifier {
    pub(crate) fn issuer_state(&self, iss: &str) -> Arc<Mutex<IssuerKeys>> {
        let now = self.now_secs();
        let mut cache = lock(&self.cache);
        if let Some(entry) = cache.get_mut(iss) {
            entry.last_used = now;
            return entry.state.clone();
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
        let state = Arc::new(Mutex::new(IssuerKeys::default()));
        cache.insert(
            iss.to_string(),
            CacheEntry {
                state: state.clone(),
                last_used: now,
            },
        );
        state
    }

    /// The issuer's keys: the cached set, unless there is none or `refresh` asks for a
    /// new one — and then only if the rate limit allows a fetch.
    pub(crate) fn keys(
        &self,
        iss: &str,
        state: &Mutex<IssuerKeys>,
        refresh: bool,
    ) -> Result<Arc<[Jwk]>, OidcError> {
        let mut st = lock(state);
        if let (Some(keys), false) = (&st.keys, refresh) {
            return Ok(keys.clone());
        }
        let now = self.now_secs();
        let next_allowed = st.last_fetch.map(|t| t.saturating_add(self.refresh_secs));
        if let Some(next) = next_allowed
            && now < next
        {
            return match (&st.keys, &st.last_error) {
                (Some(keys), _) => Ok(keys.clone()),
                (None, Some(err)) => Err(OidcError::KeysUnavailable {
                    issuer: iss.to_string(),
                    reason: err.to_string(),
                    retry_in: next - now,
                }),
                (None, None) => Err(OidcError::KeysUnavailable {
                    issuer: iss.to_string(),
                    reason: "no keys".into(),
                    retry_in: next - now,
                }),
            };
        }
        st.last_fetch = Some(now);
        match self.fetch_keys(iss) {
            Ok(keys) => {
                let keys: Arc<[Jwk]> = keys.into();
                st.keys = Some(keys.clone());
                st.last_error = None;
                Ok(keys)
            }
            Err(e) => {
                st.last_error = Some(e.clone());
                // A failed refresh keeps the old keys: the IdP being down must not
                // invalidate tokens signed by keys we already trust.
                Err(e)
            }
        }
    }
}
