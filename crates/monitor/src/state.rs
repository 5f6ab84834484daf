//! The monitor's memory between runs: per log, the last tree head it verified and the
//! compact range (peaks) of that tree, so new entries can be hashed onto it.
//!
//! The file is only ever replaced atomically (write a temporary file, fsync, rename,
//! fsync the directory): a crash leaves either the old or the new state, never half of
//! one. Loading re-checks that the peaks fold to the recorded root, so a damaged or
//! hand-edited file is refused instead of silently re-trusting a log.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use merkle::{CompactTree, Hash};
use serde::{Deserialize, Serialize};

/// Largest state file read: a few hundred bytes per log.
pub const MAX_STATE_BYTES: u64 = 16 * 1024 * 1024;
/// The format written; loading refuses others.
pub const STATE_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("state file is larger than {MAX_STATE_BYTES} bytes")]
    TooLarge,
    #[error("state file is not valid: {0}")]
    Invalid(String),
}

/// What the monitor verified about one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogState {
    /// Base64 SHA-256 of the log key the heads were verified with: a changed key is
    /// never silently accepted.
    pub log_id: String,
    /// The checkpoint origin, for logs followed through static-ct-api tiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Size of the last verified tree.
    pub tree_size: u64,
    /// Its root, base64.
    pub root_hash: String,
    /// The tree head's timestamp (ms since the epoch).
    pub timestamp: u64,
    /// Compact range `[0, tree_size)`, largest subtree first, base64.
    pub peaks: Vec<String>,
}

impl LogState {
    /// Records a verified tree.
    pub fn new(
        log_id: &[u8; 32],
        origin: Option<String>,
        tree: &CompactTree,
        timestamp: u64,
    ) -> Self {
        Self {
            log_id: B64.encode(log_id),
            origin,
            tree_size: tree.size(),
            root_hash: B64.encode(tree.root()),
            timestamp,
            peaks: tree.peaks().iter().map(|p| B64.encode(p)).collect(),
        }
    }

    fn hash(field: &str, s: &str) -> Result<Hash, StateError> {
        B64.decode(s)
            .ok()
            .and_then(|v| <Hash>::try_from(v.as_slice()).ok())
            .ok_or_else(|| StateError::Invalid(format!("{field} is not a base64 SHA-256 hash")))
    }

    /// The verified root.
    pub fn root(&self) -> Result<Hash, StateError> {
        Self::hash("root_hash", &self.root_hash)
    }

    /// The compact tree, checked against the recorded root.
    pub fn tree(&self) -> Result<CompactTree, StateError> {
        let peaks = self
            .peaks
            .iter()
            .map(|p| Self::hash("peak", p))
            .collect::<Result<Vec<_>, _>>()?;
        let tree = CompactTree::from_peaks(self.tree_size, peaks)
            .map_err(|e| StateError::Invalid(e.to_string()))?;
        if tree.root() != self.root()? {
            return Err(StateError::Invalid(
                "peaks do not fold to the recorded root".into(),
            ));
        }
        Ok(tree)
    }
}

/// The whole state file: one [`LogState`] per log URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorState {
    pub version: u32,
    pub logs: BTreeMap<String, LogState>,
}

impl Default for MonitorState {
    fn default() -> Self {
        Self {
            version: STATE_VERSION,
            logs: BTreeMap::new(),
        }
    }
}

impl MonitorState {
    /// Parses and checks a state file's contents.
    pub fn from_json(bytes: &[u8]) -> Result<Self, StateError> {
        let state: Self =
            serde_json::from_slice(bytes).map_err(|e| StateError::Invalid(e.to_string()))?;
        if state.version != STATE_VERSION {
            return Err(StateError::Invalid(format!(
                "version {} (this monitor writes {STATE_VERSION})",
                state.version
            )));
        }
        for (url, log) in &state.logs {
            log.tree()
                .map_err(|e| StateError::Invalid(format!("log {url}: {e}")))?;
            let id = B64
                .decode(&log.log_id)
                .map_err(|_| StateError::Invalid(format!("log {url}: log_id is not base64")))?;
            if id.len() != 32 {
                return Err(StateError::Invalid(format!(
                    "log {url}: log_id is not 32 bytes"
                )));
            }
        }
        Ok(state)
    }

    /// Loads the state at `path`; a missing file is a fresh state (first run).
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let io = |source| StateError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(io(e)),
        };
        if file.metadata().map_err(io)?.len() > MAX_STATE_BYTES {
            return Err(StateError::TooLarge);
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_STATE_BYTES + 1),
            &mut bytes,
        )
        .map_err(io)?;
        Self::from_json(&bytes)
    }

    /// Replaces the file at `path` atomically (see the module comment).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.display().to_string(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| StateError::Invalid("state path has no file name".into()))?;
        let tmp = dir.join(format!(
            ".{}.tmp.{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| StateError::Invalid(e.to_string()))?;
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            // The rename is durable only once the directory entry is.
            std::fs::File::open(dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: u64) -> CompactTree {
        let mut t = CompactTree::new();
        for i in 0..n {
            t.append_data(&i.to_be_bytes(), |_, _| {}).unwrap();
        }
        t
    }

    #[test]
    fn state_round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(MonitorState::load(&path).unwrap(), MonitorState::default());
        let mut state = MonitorState::default();
        let t = tree(13);
        state.logs.insert(
            "http://h/logs/a/".into(),
            LogState::new(&[7; 32], None, &t, 99),
        );
        state.save(&path).unwrap();
        let back = MonitorState::load(&path).unwrap();
        assert_eq!(back, state);
        assert_eq!(back.logs["http://h/logs/a/"].tree().unwrap(), t);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_state_whose_peaks_do_not_fold_to_its_root_is_refused() {
        let mut log = LogState::new(&[7; 32], None, &tree(5), 1);
        log.root_hash = B64.encode([0u8; 32]);
        let mut state = MonitorState::default();
        state.logs.insert("u".into(), log);
        let json = serde_json::to_vec(&state).unwrap();
        assert!(matches!(
            MonitorState::from_json(&json),
            Err(StateError::Invalid(_))
        ));
    }

    #[test]
    fn wrong_version_unknown_fields_and_peak_counts_are_refused() {
        let mut state = MonitorState::default();
        state
            .logs
            .insert("u".into(), LogState::new(&[7; 32], None, &tree(6), 1));
        let mut v: serde_json::Value = serde_json::to_value(&state).unwrap();
        v["version"] = 2.into();
        assert!(MonitorState::from_json(v.to_string().as_bytes()).is_err());
        v["version"] = 1.into();
        v["logs"]["u"]["tree_size"] = 7.into();
        assert!(MonitorState::from_json(v.to_string().as_bytes()).is_err());
        v["logs"]["u"]["tree_size"] = 6.into();
        v["extra"] = 1.into();
        assert!(MonitorState::from_json(v.to_string().as_bytes()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_tree_state_round_trips(n in 0u64..2000, ts in proptest::num::u64::ANY) {
            let t = tree(n);
            let mut state = MonitorState::default();
            state.logs.insert("log".into(), LogState::new(&[1; 32], Some("o".into()), &t, ts));
            let json = serde_json::to_vec(&state).unwrap();
            let back = MonitorState::from_json(&json).unwrap();
            proptest::prop_assert_eq!(back.logs["log"].tree().unwrap(), t);
        }

        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = MonitorState::from_json(&bytes);
        }
    }
}
