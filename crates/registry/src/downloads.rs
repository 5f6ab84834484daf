//! The download cache behind `getusercert`: the hottest read of the registry, served
//! from memory on the async worker instead of a blocking-pool hop, a database read
//! and a PEM encoding per request.
//!
//! Why caching is safe: a stored certificate never changes; only its revoked flag
//! does. A revocation made through this process removes the entry at once. A
//! revocation made by another process sharing the database (scale-out) is seen
//! when the entry's time to live runs out, so `ttl` bounds how stale the revoked
//! flag can be there. Misses (unknown certificates) are not cached, so a push is
//! downloadable immediately.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use quick_cache::sync::Cache;
use store::registry::CertRecord;

use crate::cert::pem;

/// What `getusercert` answers for one certificate.
#[derive(Debug)]
pub struct Download {
    /// The certificate as PEM, ready to send (cloning `Bytes` copies nothing).
    pub pem: Bytes,
    pub revoked: bool,
    fetched: Instant,
}

impl Download {
    pub fn new(cert: &CertRecord) -> Self {
        Self {
            pem: Bytes::from(pem(&cert.der)),
            revoked: cert.revoked,
            fetched: Instant::now(),
        }
    }
}

/// A bounded map (username, normalized thumbprint) → [`Download`], evicting with
/// S3-FIFO (quick_cache): one-hit wonders from a scan do not push out hot entries.
pub struct DownloadCache {
    entries: Cache<String, Arc<Download>>,
    ttl: Duration,
}

impl std::fmt::Debug for DownloadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadCache")
            .field("len", &self.entries.len())
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// Default number of cached certificates: ~1 KiB each, so about 64 MiB at most.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// Default time to live of a cached entry (see the module docs).
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

impl Default for DownloadCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY, DEFAULT_TTL)
    }
}

impl DownloadCache {
    /// A cache of at most `capacity` entries (0 disables caching), each trusted for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: Cache::new(capacity.max(1)),
            ttl: if capacity == 0 { Duration::ZERO } else { ttl },
        }
    }

    /// `username` must be valid and `thumbprint` normalized: the key is their
    /// concatenation with a separator neither can contain.
    fn key(username: &str, thumbprint: &str) -> String {
        let mut key = String::with_capacity(username.len() + 1 + thumbprint.len());
        key.push_str(username);
        key.push('/');
        key.push_str(thumbprint);
        key
    }

    /// The cached answer, if fresh.
    pub fn get(&self, username: &str, thumbprint: &str) -> Option<Arc<Download>> {
        let hit = self.entries.get(&Self::key(username, thumbprint))?;
        (hit.fetched.elapsed() < self.ttl).then_some(hit)
    }

    pub fn insert(&self, username: &str, thumbprint: &str, download: Arc<Download>) {
        if !self.ttl.is_zero() {
            self.entries
                .insert(Self::key(username, thumbprint), download);
        }
    }

    /// Forgets one certificate (after its revocation).
    pub fn remove(&self, username: &str, thumbprint: &str) {
        self.entries.remove(&Self::key(username, thumbprint));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(revoked: bool) -> CertRecord {
        CertRecord {
            storage_key: "k".into(),
            account_id: 1,
            username: "alice".into(),
            der: vec![0x30, 0x03, 0x02, 0x01, 0x05],
            thumbprint: "AB".repeat(20),
            sha256: "cd".repeat(32),
            subject: String::new(),
            not_before_ms: 0,
            not_after_ms: 1,
            pushed_ms: 0,
            log_index: 0,
            revoked,
            revoke_log_index: None,
        }
    }

    #[test]
    fn hit_until_removed() {
        let cache = DownloadCache::new(16, Duration::from_secs(60));
        let thumb = "AB".repeat(20);
        assert!(cache.get("alice", &thumb).is_none());
        cache.insert("alice", &thumb, Arc::new(Download::new(&record(false))));
        let hit = cache.get("alice", &thumb).expect("cached");
        assert!(hit.pem.starts_with(b"-----BEGIN CERTIFICATE-----\n"));
        assert!(!hit.revoked);
        assert!(cache.get("bob", &thumb).is_none(), "keyed by owner too");
        cache.remove("alice", &thumb);
        assert!(cache.get("alice", &thumb).is_none());
    }

    #[test]
    fn stale_entries_are_misses() {
        let cache = DownloadCache::new(16, Duration::ZERO);
        let thumb = "AB".repeat(20);
        cache.insert("alice", &thumb, Arc::new(Download::new(&record(true))));
        assert!(cache.get("alice", &thumb).is_none());
    }

    #[test]
    fn capacity_zero_disables_caching() {
        let cache = DownloadCache::new(0, Duration::from_secs(60));
        let thumb = "AB".repeat(20);
        cache.insert("alice", &thumb, Arc::new(Download::new(&record(false))));
        assert!(cache.get("alice", &thumb).is_none());
    }

    #[test]
    fn bounded() {
        let cache = DownloadCache::new(100, Duration::from_secs(60));
        for i in 0..10_000 {
            let thumb = format!("{i:040X}");
            cache.insert("alice", &thumb, Arc::new(Download::new(&record(false))));
        }
        assert!(cache.entries.len() <= 200, "{}", cache.entries.len());
    }
}
