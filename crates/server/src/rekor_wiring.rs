//! Wiring of the artifact-signature logs (`[[artifact_logs]]`): each log's key (a
//! file, or generated once under `<data_dir>/keys/rekor-<name>.pem`), its store, and
//! its checkpoint origin `<host>/rekor/<name>`.

use std::sync::Arc;

use anyhow::Context;
use rekor::{ApiVersion, ArtifactLog, ArtifactLogConfig};

use crate::app::{Storage, generated_key_path, load_log_key};
use crate::config::Config;
use crate::trust_wiring::{ArtifactLogTrust, LogKeyPeriod, UNKNOWN_KEY_START_MS, file_time_ms};

/// An opened artifact log and where it is served.
pub struct OpenedArtifactLog {
    pub log: Arc<ArtifactLog>,
    /// The path it is mounted at, `/rekor/<name>`.
    pub base_path: String,
    /// Its base URL, what clients are configured with.
    pub url: String,
}

/// Opens every `[[artifact_logs]]` entry.
pub fn open_artifact_logs(
    config: &Config,
    storage: &Storage,
    public_url: &str,
) -> anyhow::Result<Vec<OpenedArtifactLog>> {
    let base = public_url.trim_end_matches('/');
    let host = base.split_once("://").map_or(base, |(_, rest)| rest);
    let mut logs = Vec::new();
    for section in &config.artifact_logs {
        let signer = load_log_key(
            &format!("rekor-{}", section.name),
            &section.key_file,
            &config.data_dir,
        )?;
        let api = match section.api_version {
            1 => ApiVersion::V1,
            _ => ApiVersion::V2,
        };
        let base_path = format!("/rekor/{}", section.name);
        let mut log_config = ArtifactLogConfig::new(
            section.name.clone(),
            format!("{host}{base_path}"),
            signer,
            api,
        );
        log_config.sequence_interval = section.sequence_interval;
        if let Some(pool) = section.pool_size {
            log_config.pool_size = pool;
        }
        let store = storage.artifact_log(&section.name)?;
        let log = ArtifactLog::open(log_config, store).with_context(|| {
            let location = storage.artifact_log_location(&section.name);
            format!("opening artifact log {} ({location})", section.name)
        })?;
        logs.push(OpenedArtifactLog {
            log: Arc::new(log),
            url: format!("{base}{base_path}"),
            base_path,
        });
    }
    Ok(logs)
}

/// What the trusted root and signing config say of the artifact logs: each log's URL,
/// API version and current key, trusted since the second its generated key file was
/// written ([`start_of_second`]; a configured key file's age says nothing, so it is
/// trusted from the epoch).
pub fn trust(config: &Config, logs: &[OpenedArtifactLog]) -> Vec<ArtifactLogTrust> {
    logs.iter()
        .map(|l| {
            let section = config.artifact_logs.iter().find(|s| s.name == l.log.name());
            let start = match section {
                Some(s) if s.key_file == "ephemeral" => file_time_ms(&generated_key_path(
                    &config.data_dir,
                    &format!("rekor-{}", s.name),
                ))
                .map(start_of_second),
                _ => None,
            };
            ArtifactLogTrust {
                base_url: l.url.clone(),
                major_api_version: l.log.api().major(),
                keys: vec![LogKeyPeriod::current_sha256(
                    l.log.public_key_der().to_vec(),
                    start.unwrap_or(UNKNOWN_KEY_START_MS),
                )],
            }
        })
        .collect()
}

/// The start of the second holding `unix_ms`. A Rekor v1 entry's `integratedTime` is
/// whole seconds, and sigstore-js takes a log's key for an entry's SET only when
/// `validFor.start <= integratedTime` (@sigstore/verify 3.1.1, `filterTLogAuthorities`):
/// a period starting at the key file's millisecond would make it refuse every entry
/// logged in the rest of that second ("inclusion promise could not be verified").
fn start_of_second(unix_ms: u64) -> u64 {
    unix_ms - unix_ms % 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_period_covers_entries_integrated_in_the_second_the_key_was_written() {
        let key_written_ms = 1_796_683_525_191;
        // An entry logged 9 ms later carries integratedTime 1796683525 (seconds).
        let integrated_time_ms = (key_written_ms + 9) / 1000 * 1000;
        assert!(start_of_second(key_written_ms) <= integrated_time_ms);
        assert_eq!(start_of_second(key_written_ms), 1_796_683_525_000);
        assert_eq!(start_of_second(1_796_683_525_000), 1_796_683_525_000);
    }
}
