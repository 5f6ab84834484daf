//! Log keys from a CT log list in Chrome's v3 JSON shape ([`pki::loglist`], the format
//! real log lists are published in, and what certcentral serves at
//! `/logs/log_list.json`).
//!
//! Only the fields needed to verify are read; unknown fields are ignored so lists from
//! other operators load. Each listed `log_id` is checked to be the SHA-256 of the
//! listed key, so a list cannot name one log and pin another's key.

use std::collections::HashMap;

use pki::loglist::LogList;

use crate::client::{Client, HttpError};

/// Largest log list read (Chrome's full list is well under 1 MiB).
pub const MAX_LOG_LIST_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LogListError {
    #[error("log list {0}: {1}")]
    Read(String, std::io::Error),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("log list is larger than {MAX_LOG_LIST_BYTES} bytes")]
    TooLarge,
    #[error("log list is not valid JSON in Chrome's v3 shape: {0}")]
    Json(String),
    #[error("log list entry {0:?}: {1}")]
    Entry(String, String),
}

/// A log as the verifier knows it: identity, key and where to ask for proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    pub description: String,
    /// SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
    /// RFC 6962 §3.2 `LogID`: SHA-256 of the SPKI.
    pub log_id: [u8; 32],
    /// The log's URL prefix from the list (may be empty).
    pub url: String,
}

/// The known logs, by `LogID`.
#[derive(Debug, Clone, Default)]
pub struct LogKeys {
    by_id: HashMap<[u8; 32], LogKey>,
}

impl LogKeys {
    /// Parses a v3 log list.
    pub fn from_json(bytes: &[u8]) -> Result<Self, LogListError> {
        if bytes.len() > MAX_LOG_LIST_BYTES {
            return Err(LogListError::TooLarge);
        }
        let list: LogList =
            serde_json::from_slice(bytes).map_err(|e| LogListError::Json(e.to_string()))?;
        let mut keys = Self::default();
        for log in list.operators.into_iter().flat_map(|o| o.logs) {
            let (spki_der, log_id) = log
                .checked_key()
                .map_err(|e| LogListError::Entry(log.description.clone(), e.to_string()))?;
            keys.insert(LogKey {
                description: log.description,
                spki_der,
                log_id,
                url: log.url,
            });
        }
        Ok(keys)
    }

    /// Loads a list from a file path or an `http(s)://` URL.
    pub async fn load(source: &str, client: &Client) -> Result<Self, LogListError> {
        let bytes = if source.starts_with("http://") || source.starts_with("https://") {
            client.get_bytes(source, MAX_LOG_LIST_BYTES).await?
        } else {
            let meta =
                std::fs::metadata(source).map_err(|e| LogListError::Read(source.to_owned(), e))?;
            if meta.len() > MAX_LOG_LIST_BYTES as u64 {
                return Err(LogListError::TooLarge);
            }
            std::fs::read(source).map_err(|e| LogListError::Read(source.to_owned(), e))?
        };
        Self::from_json(&bytes)
    }

    pub fn insert(&mut self, key: LogKey) {
        self.by_id.insert(key.log_id, key);
    }

    pub fn get(&self, log_id: &[u8; 32]) -> Option<&LogKey> {
        self.by_id.get(log_id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The log whose URL is `url`, ignoring trailing slashes and ASCII case of the
    /// scheme and host.
    pub fn find_by_url(&self, url: &str) -> Option<&LogKey> {
        let want = normalize_url(url);
        self.by_id
            .values()
            .find(|k| !k.url.is_empty() && normalize_url(&k.url) == want)
    }
}

fn normalize_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            format!(
                "{}://{}{path}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            )
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;

    fn list(key: &[u8], log_id: &str) -> String {
        serde_json::json!({
            "version": "1",
            "operators": [{"name": "op", "email": [], "logs": [{
                "description": "log a", "log_id": log_id, "key": B64.encode(key),
                "url": "HTTP://Example.com:8080/logs/a/", "mmd": 86400,
                "state": {"usable": {"timestamp": "2026-01-01T00:00:00Z"}}
            }]}]
        })
        .to_string()
    }

    #[test]
    fn v3_list_loads_and_is_found_by_id_and_url() {
        let key = b"spki bytes";
        let id = pki::ct::log_id(key);
        let keys = LogKeys::from_json(list(key, &B64.encode(id)).as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys.get(&id).unwrap().description, "log a");
        assert!(keys.find_by_url("http://example.com:8080/logs/a").is_some());
        assert!(keys.find_by_url("http://example.com:8080/logs/b").is_none());
    }

    #[test]
    fn a_log_id_that_is_not_the_keys_hash_is_refused() {
        let err = LogKeys::from_json(list(b"k", &B64.encode([0u8; 32])).as_bytes()).unwrap_err();
        assert!(err.to_string().contains("not the SHA-256"), "{err}");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(LogKeys::from_json(b"{").is_err());
        assert!(LogKeys::from_json(br#"{"operators":[{"logs":[{"key":"!!"}]}]}"#).is_err());
    }
}
