//! The `certcentral.toml` file and the `--dev` defaults. Unknown keys are errors:
//! a misspelt option silently ignored is a production incident waiting to happen.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where SQLite databases and generated keys live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The URL clients reach this server at (`https://ct.example.com`); log URLs and
    /// checkpoint origins derive from it. Default: `http://<listen address>`.
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default)]
    pub logs: Vec<LogSection>,
}

/// One `[[logs]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub name: String,
    /// PKCS#8 PEM of the log's ECDSA P-256 key, or `ephemeral`: a key generated on
    /// first start and kept under `<data_dir>/keys/` (a log's key must outlive
    /// restarts, or its stored tree heads would stop verifying).
    pub key_file: String,
    /// PEM bundle of accepted roots.
    #[serde(default)]
    pub roots_pem: Option<PathBuf>,
    #[serde(default = "default_interval", with = "humantime_duration")]
    pub sequence_interval: Duration,
    /// Submissions that may wait for a batch before the log answers 503.
    #[serde(default)]
    pub pool_size: Option<usize>,
    /// Expanded hash tiles cached for proofs (about 16 KiB each).
    #[serde(default)]
    pub tile_cache_tiles: Option<usize>,
}

fn default_listen() -> SocketAddr {
    "127.0.0.1:8080".parse().expect("literal address")
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./certcentral-data")
}

fn default_interval() -> Duration {
    Duration::from_secs(1)
}

mod humantime_duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

impl Config {
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in config file {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Self = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// The `--dev` configuration: two logs with generated keys, one-second batches.
    pub fn dev(listen: SocketAddr, data_dir: PathBuf) -> Self {
        let log = |name: &str| LogSection {
            name: name.to_owned(),
            key_file: "ephemeral".to_owned(),
            roots_pem: None,
            sequence_interval: default_interval(),
            pool_size: None,
            tile_cache_tiles: None,
        };
        Self {
            listen,
            data_dir,
            public_url: None,
            logs: vec![log("dev-a"), log("dev-b")],
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        let mut seen = std::collections::HashSet::new();
        for log in &self.logs {
            let ok = !log.name.is_empty()
                && log.name.len() <= 64
                && log.name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !ok {
                bail!(
                    "log name {:?} must be 1-64 characters of a-z, 0-9, '-' or '_'",
                    log.name
                );
            }
            if !seen.insert(&log.name) {
                bail!("log name {:?} appears twice", log.name);
            }
            if log.sequence_interval < Duration::from_millis(1)
                || log.sequence_interval > Duration::from_secs(60)
            {
                bail!(
                    "log {:?}: sequence_interval must be between 1ms and 60s",
                    log.name
                );
            }
            if log.pool_size == Some(0) {
                bail!("log {:?}: pool_size must be at least 1", log.name);
            }
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("public_url must start with http:// or https://");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let config = Config::parse(
            r#"
            listen = "0.0.0.0:9000"
            data_dir = "/var/lib/cc"
            public_url = "https://ct.example.com"
            [[logs]]
            name = "a2026"
            key_file = "/etc/cc/a.pem"
            roots_pem = "/etc/cc/roots.pem"
            sequence_interval = "500ms"
            [[logs]]
            name = "b"
            key_file = "ephemeral"
            "#,
        )
        .unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.logs.len(), 2);
        assert_eq!(config.logs[0].sequence_interval, Duration::from_millis(500));
        assert_eq!(config.logs[1].sequence_interval, Duration::from_secs(1));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        for bad in [
            "listen = \"127.0.0.1:1\"\nlisten_addr = \"x\"",
            "[[logs]]\nname = \"a\"\nkey_file = \"ephemeral\"\nsequence_intreval = \"1s\"",
            "[[logs]]\nname = \"a\"\nkey_file = \"ephemeral\"\nsequence_interval = \"soon\"",
            "[[logs]]\nname = \"A b\"\nkey_file = \"ephemeral\"",
            "[[logs]]\nname = \"a\"\nkey_file = \"ephemeral\"\n[[logs]]\nname = \"a\"\nkey_file = \"ephemeral\"",
            "[[logs]]\nname = \"a\"\nkey_file = \"ephemeral\"\nsequence_interval = \"0s\"",
            "public_url = \"ftp://x\"",
            "listen = \"nonsense\"",
        ] {
            assert!(Config::parse(bad).is_err(), "accepted: {bad}");
        }
    }
}
