//! What `ccc` remembers about the registry, in the user config dir
//! (`$CCC_CONFIG_DIR`, else `$XDG_CONFIG_HOME/certcentral`, else
//! `~/.config/certcentral`):
//!
//! - `registry.json`: server URL, username and API key (mode 0600: the key is a
//!   bearer credential);
//! - `registry-log.key`: the registry log's note verifier key, pinned on first use so
//!   a later server cannot swap the key its checkpoints are checked with;
//! - `registry-checkpoint`: the newest signed checkpoint this client verified, the
//!   point every later checkpoint must be consistent with;
//! - `trusted/<THUMBPRINT>.pem`: certificates the user chose to trust.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The saved account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub api_key: String,
}

/// The config directory, from the environment.
pub fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CCC_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("certcentral"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config").join("certcentral")),
        None => bail!("no config directory: set CCC_CONFIG_DIR, XDG_CONFIG_HOME or HOME"),
    }
}

/// Writes `bytes` to `path` atomically (temp file + rename), mode 0600 on Unix, so a
/// crash never leaves half a credential or checkpoint behind.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

/// Reads a file that may not exist yet.
fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The client's registry state in one directory.
pub struct ConfigDir {
    pub dir: PathBuf,
}

impl ConfigDir {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self { dir: config_dir()? })
    }

    fn credentials_path(&self) -> PathBuf {
        self.dir.join("registry.json")
    }

    pub fn save_credentials(&self, creds: &Credentials) -> anyhow::Result<PathBuf> {
        let path = self.credentials_path();
        write_private(&path, &serde_json::to_vec_pretty(creds)?)?;
        Ok(path)
    }

    pub fn credentials(&self) -> anyhow::Result<Credentials> {
        let path = self.credentials_path();
        let text = read_optional(&path)?.with_context(|| {
            format!(
                "not logged in ({} is missing): run `ccc register` or `ccc login`",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn pinned_log_key(&self) -> anyhow::Result<Option<String>> {
        Ok(read_optional(&self.dir.join("registry-log.key"))?.map(|k| k.trim().to_owned()))
    }

    pub fn pin_log_key(&self, key: &str) -> anyhow::Result<()> {
        write_private(
            &self.dir.join("registry-log.key"),
            format!("{key}\n").as_bytes(),
        )
    }

    pub fn saved_checkpoint(&self) -> anyhow::Result<Option<String>> {
        read_optional(&self.dir.join("registry-checkpoint"))
    }

    pub fn save_checkpoint(&self, note: &str) -> anyhow::Result<()> {
        write_private(&self.dir.join("registry-checkpoint"), note.as_bytes())
    }

    pub fn trusted_dir(&self) -> PathBuf {
        self.dir.join("trusted")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_round_trip_with_mode_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let config = ConfigDir {
            dir: tmp.path().join("cc"),
        };
        let creds = Credentials {
            url: "http://h".into(),
            username: Some("alice".into()),
            api_key: "k".into(),
        };
        let path = config.save_credentials(&creds).unwrap();
        assert_eq!(config.credentials().unwrap(), creds);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn missing_credentials_say_how_to_log_in() {
        let tmp = tempfile::tempdir().unwrap();
        let config = ConfigDir {
            dir: tmp.path().to_owned(),
        };
        let e = config.credentials().unwrap_err().to_string();
        assert!(e.contains("ccc register"), "{e}");
    }
}
