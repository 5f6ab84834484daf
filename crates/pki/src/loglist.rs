//! CT log lists in Chrome's v3 JSON shape: the format real log lists are published in,
//! what certcentral serves at `/logs/log_list.json`, and what the monitor, `ccc verify`
//! and the load generator read to pin log keys.
//!
//! The server writes the fields below; readers need only `key` (and check `log_id`
//! against it when listed), so every other field reads as empty when absent and unknown
//! fields are ignored, so that lists from other operators load.
//!
//! <https://www.gstatic.com/ct/log_list/v3/log_list_schema.json>

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A log list. Fields are in alphabetical order, the order the server has always
/// written them in.
///
/// ```text
/// { "log_list_timestamp": …, "operators": [ … ], "version": … }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogList {
    /// When the list was published (RFC 3339).
    #[serde(default)]
    pub log_list_timestamp: String,
    /// The log operators.
    #[serde(default)]
    pub operators: Vec<LogListOperator>,
    /// The list's version.
    #[serde(default)]
    pub version: String,
}

/// One operator of a [`LogList`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogListOperator {
    /// Contact addresses.
    #[serde(default)]
    pub email: Vec<String>,
    /// The operator's RFC 6962 logs.
    #[serde(default)]
    pub logs: Vec<LogListEntry>,
    /// The operator's name.
    #[serde(default)]
    pub name: String,
}

/// One RFC 6962 log of a [`LogListOperator`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogListEntry {
    /// Human-readable name.
    #[serde(default)]
    pub description: String,
    /// Base64 SubjectPublicKeyInfo DER.
    pub key: String,
    /// Base64 RFC 6962 §3.2 `LogID`, SHA-256 of the key (may be absent).
    #[serde(default)]
    pub log_id: String,
    /// Maximum merge delay, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mmd: Option<u64>,
    /// The log's state in the list's lifecycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<LogState>,
    /// The log's URL prefix (may be absent).
    #[serde(default)]
    pub url: String,
}

/// A log's state. Only `usable` is modelled (the one certcentral writes); a reader
/// ignores the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogState {
    /// Usable since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usable: Option<StateSince>,
}

/// When a log entered a state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSince {
    /// RFC 3339.
    pub timestamp: String,
}

/// Why a list entry's key cannot be pinned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LogListEntryError {
    /// `key` does not decode.
    #[error("key is not base64")]
    KeyBase64,
    /// `log_id` does not decode.
    #[error("log_id is not base64")]
    LogIdBase64,
    /// A list must not name one log and pin another's key.
    #[error("log_id is not the SHA-256 of key")]
    LogIdMismatch,
}

impl LogList {
    /// Every log, operator by operator.
    pub fn logs(&self) -> impl Iterator<Item = &LogListEntry> {
        self.operators.iter().flat_map(|o| o.logs.iter())
    }
}

impl LogListEntry {
    /// The key's SubjectPublicKeyInfo DER and its `LogID`; the listed `log_id`, when
    /// present, must be that `LogID`.
    pub fn checked_key(&self) -> Result<(Vec<u8>, [u8; 32]), LogListEntryError> {
        let spki_der = B64
            .decode(&self.key)
            .map_err(|_| LogListEntryError::KeyBase64)?;
        let log_id = crate::ct::log_id(&spki_der);
        if !self.log_id.is_empty() {
            let listed = B64
                .decode(&self.log_id)
                .map_err(|_| LogListEntryError::LogIdBase64)?;
            if listed != log_id {
                return Err(LogListEntryError::LogIdMismatch);
            }
        }
        Ok((spki_der, log_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &[u8], log_id: String) -> LogListEntry {
        LogListEntry {
            description: "log a".into(),
            key: B64.encode(key),
            log_id,
            ..LogListEntry::default()
        }
    }

    #[test]
    fn written_in_the_shape_the_server_has_always_served() {
        // The server used to build this with `serde_json::json!`, whose objects sort
        // their keys; the struct must serialize to the same bytes.
        let list = LogList {
            log_list_timestamp: "2026-01-01T00:00:00Z".into(),
            operators: vec![LogListOperator {
                email: vec![],
                logs: vec![LogListEntry {
                    description: "certcentral log a".into(),
                    key: "a2V5".into(),
                    log_id: "aWQ=".into(),
                    mmd: Some(60),
                    state: Some(LogState {
                        usable: Some(StateSince {
                            timestamp: "2026-01-01T00:00:00Z".into(),
                        }),
                    }),
                    url: "http://127.0.0.1:8080/logs/a".into(),
                }],
                name: "certcentral".into(),
            }],
            version: "1".into(),
        };
        let before = serde_json::json!({
            "version": "1",
            "log_list_timestamp": "2026-01-01T00:00:00Z",
            "operators": [{ "name": "certcentral", "email": [], "logs": [{
                "description": "certcentral log a",
                "log_id": "aWQ=",
                "key": "a2V5",
                "url": "http://127.0.0.1:8080/logs/a",
                "mmd": 60,
                "state": { "usable": { "timestamp": "2026-01-01T00:00:00Z" } },
            }]}],
        });
        assert_eq!(
            serde_json::to_vec_pretty(&list).unwrap(),
            serde_json::to_vec_pretty(&before).unwrap()
        );
        let read: LogList = serde_json::from_slice(&serde_json::to_vec(&list).unwrap()).unwrap();
        assert_eq!(read, list);
    }

    #[test]
    fn only_the_key_is_required() {
        let list: LogList =
            serde_json::from_str(r#"{"operators":[{"logs":[{"key":"a2V5"}]}]}"#).unwrap();
        let log = list.logs().next().unwrap();
        assert_eq!(log.key, "a2V5");
        assert_eq!((log.url.as_str(), log.mmd), ("", None));
        assert!(serde_json::from_str::<LogList>(r#"{"operators":[{"logs":[{}]}]}"#).is_err());
    }

    #[test]
    fn the_listed_log_id_must_be_the_hash_of_the_key() {
        let id = crate::ct::log_id(b"spki");
        assert_eq!(
            entry(b"spki", B64.encode(id)).checked_key(),
            Ok((b"spki".to_vec(), id))
        );
        assert_eq!(
            entry(b"spki", String::new()).checked_key(),
            Ok((b"spki".to_vec(), id))
        );
        assert_eq!(
            entry(b"spki", B64.encode([0u8; 32])).checked_key(),
            Err(LogListEntryError::LogIdMismatch)
        );
        assert_eq!(
            entry(b"spki", "!!".into()).checked_key(),
            Err(LogListEntryError::LogIdBase64)
        );
        let mut bad_key = entry(b"spki", String::new());
        bad_key.key = "!!".into();
        assert_eq!(bad_key.checked_key(), Err(LogListEntryError::KeyBase64));
    }
}
