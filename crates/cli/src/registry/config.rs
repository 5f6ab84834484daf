//! What `ccc` remembers about registries, in the user config dir
//! (`$CCC_CONFIG_DIR`, else `$XDG_CONFIG_HOME/certcentral`, else
//! `~/.config/certcentral`):
//!
//! - `registries.json` (mode 0600: it holds bearer credentials): per registry URL,
//!   normalised by [`normalize_registry_url`], the username and API key, the registry
//!   log's note verifier key (pinned on first use, so a later server cannot swap the
//!   key its checkpoints are checked with) and the newest signed checkpoint this client
//!   verified (the point every later checkpoint from *that* registry must be
//!   consistent with); plus the default registry (the last one registered with or
//!   logged in to), used when a command has no `--url`. Keying by URL is what lets one
//!   client follow two registries: each one's history is only compared with its own.
//! - `trusted/<THUMBPRINT>.pem`: certificates the user chose to trust;
//! - `certs/`: the local store of code-signing certificates `ccc push` offers (see
//!   [`super::candidates`]).
//!
//! Older clients kept one registry's state in `registry.json`, `registry-log.key` and
//! `registry-checkpoint`; those are moved into `registries.json` on first use, under
//! the URL `registry.json` names. A pinned key and checkpoint without that file (a
//! client that only ever trusted with `--url`) are kept aside and adopted by the first
//! registry whose log has the same name, so their history check is not lost.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

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

/// The key under which a registry's state is kept: scheme, host, port and path, with
/// the scheme and host in lower case, the scheme's default port left out and no
/// trailing slash — so `HTTP://Example.org:80/reg/` and `http://example.org/reg` are
/// one registry, and `http://example.org:8080` another.
pub fn normalize_registry_url(url: &str) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url.trim()).with_context(|| format!("--url {url:?}"))?;
    let scheme = parsed.scheme();
    if scheme != "http" && scheme != "https" {
        bail!("--url {url:?}: unsupported scheme {scheme:?} (http or https)");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        bail!("--url {url:?}: credentials in the URL are not supported; use `ccc login`");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        bail!("--url {url:?}: a registry URL has no query or fragment");
    }
    let host = parsed
        .host_str()
        .with_context(|| format!("--url {url:?} has no host"))?;
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = parsed.path().trim_end_matches('/');
    Ok(format!("{scheme}://{host}{port}{path}"))
}

/// Writes `bytes` to `path` atomically, mode 0600 (see [`keyfile::replace`]), creating
/// its directory, so a crash never leaves half a credential or checkpoint behind.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(keyfile::replace(path, bytes)?)
}

/// Reads a file that may not exist yet.
fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// What the client keeps about one registry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistryState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The registry log's note verifier key, pinned on first use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_key: Option<String>,
    /// The newest signed checkpoint note verified with `log_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// `registries.json`.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct StateFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    #[serde(default)]
    registries: BTreeMap<String, RegistryState>,
    /// A legacy pinned key and checkpoint with no URL to file them under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unbound: Option<RegistryState>,
}

/// The pre-`registries.json` single-registry credentials file.
#[derive(Deserialize)]
struct LegacyCredentials {
    url: String,
    #[serde(default)]
    username: Option<String>,
    api_key: String,
}

const LEGACY_CREDENTIALS: &str = "registry.json";
const LEGACY_LOG_KEY: &str = "registry-log.key";
const LEGACY_CHECKPOINT: &str = "registry-checkpoint";

/// The client's registry state in one directory.
pub struct ConfigDir {
    pub dir: PathBuf,
}

impl ConfigDir {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self { dir: config_dir()? })
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.join("registries.json")
    }

    /// Reads `registries.json`, first moving a legacy single-registry state into it.
    fn load(&self) -> anyhow::Result<StateFile> {
        let path = self.state_path();
        if let Some(text) = read_optional(&path)? {
            return serde_json::from_str(&text)
                .with_context(|| format!("{} is not a ccc registry state file", path.display()));
        }
        self.migrate_legacy()
    }

    fn migrate_legacy(&self) -> anyhow::Result<StateFile> {
        let creds_path = self.dir.join(LEGACY_CREDENTIALS);
        let key_path = self.dir.join(LEGACY_LOG_KEY);
        let checkpoint_path = self.dir.join(LEGACY_CHECKPOINT);
        let creds = read_optional(&creds_path)?;
        let log_key = read_optional(&key_path)?.map(|k| k.trim().to_owned());
        let checkpoint = read_optional(&checkpoint_path)?;
        let mut state = StateFile::default();
        if creds.is_none() && log_key.is_none() && checkpoint.is_none() {
            return Ok(state);
        }
        let history = RegistryState {
            log_key,
            checkpoint,
            ..RegistryState::default()
        };
        match creds {
            Some(text) => {
                let old: LegacyCredentials = serde_json::from_str(&text)
                    .with_context(|| format!("parsing {}", creds_path.display()))?;
                let url = normalize_registry_url(&old.url)
                    .with_context(|| format!("the URL in {}", creds_path.display()))?;
                state.registries.insert(
                    url.clone(),
                    RegistryState {
                        username: old.username,
                        api_key: Some(old.api_key),
                        ..history
                    },
                );
                state.default = Some(url);
            }
            None => state.unbound = Some(history),
        }
        let path = self.store(&state)?;
        for old in [creds_path, key_path, checkpoint_path] {
            match std::fs::remove_file(&old) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", old.display())),
            }
        }
        eprintln!(
            "moved the single-registry state of an older ccc into {}",
            path.display()
        );
        Ok(state)
    }

    fn store(&self, state: &StateFile) -> anyhow::Result<PathBuf> {
        let path = self.state_path();
        write_private(&path, &serde_json::to_vec_pretty(state)?)?;
        Ok(path)
    }

    /// The registry a command talks to: `--url` (normalised), else the default one.
    pub fn registry_url(&self, url: Option<&str>) -> anyhow::Result<String> {
        if let Some(url) = url {
            return normalize_registry_url(url);
        }
        self.load()?.default.with_context(|| {
            format!(
                "no registry chosen: pass --url, or run `ccc register` or `ccc login` \
                 (nothing saved in {})",
                self.state_path().display()
            )
        })
    }

    /// The saved state for `url` (already normalised); empty if never used.
    pub fn registry(&self, url: &str) -> anyhow::Result<RegistryState> {
        Ok(self.load()?.registries.remove(url).unwrap_or_default())
    }

    /// The API key saved for `url`, or how to get one.
    pub fn api_key(&self, url: &str) -> anyhow::Result<String> {
        self.registry(url)?.api_key.with_context(|| {
            format!(
                "not logged in to {url}: run `ccc register --url {url} …` or \
                 `ccc login --url {url} --api-key KEY`"
            )
        })
    }

    /// Holds `registries.lock` (an OS file lock, released when the returned file is
    /// dropped or the process dies) around a read-change-write of `registries.json`,
    /// so two `ccc` running at once — a push in one terminal, a trust in another —
    /// cannot lose each other's changes. Readers need no lock: the file is replaced
    /// by rename, never rewritten in place.
    fn lock_state(&self) -> anyhow::Result<std::fs::File> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let path = self.dir.join("registries.lock");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(file)
    }

    /// Changes the state of `url` (normalised) and saves it; `make_default` makes it
    /// the registry of commands without `--url`. Returns the file written.
    pub fn update(
        &self,
        url: &str,
        make_default: bool,
        change: impl FnOnce(&mut RegistryState),
    ) -> anyhow::Result<PathBuf> {
        let _locked = self.lock_state()?;
        let mut state = self.load()?;
        change(state.registries.entry(url.to_owned()).or_default());
        if make_default || state.default.is_none() {
            state.default = Some(url.to_owned());
        }
        self.store(&state)
    }

    /// Hands a legacy pinned key and checkpoint without a URL to the registry at `url`
    /// if its log has the same name (the note key name, RFC-free C2SP signed-note
    /// convention: the text before the first `+`); returns whether it did.
    pub fn adopt_unbound(&self, url: &str, server_log_key: &str) -> anyhow::Result<bool> {
        let _locked = self.lock_state()?;
        let mut state = self.load()?;
        let name = |key: &str| key.split('+').next().unwrap_or_default().to_owned();
        let Some(unbound) = state.unbound.take() else {
            return Ok(false);
        };
        if unbound.log_key.as_deref().map(name) != Some(name(server_log_key)) {
            return Ok(false);
        }
        let entry = state.registries.entry(url.to_owned()).or_default();
        entry.log_key = unbound.log_key;
        entry.checkpoint = unbound.checkpoint;
        self.store(&state)?;
        Ok(true)
    }

    pub fn trusted_dir(&self) -> PathBuf {
        self.dir.join("trusted")
    }

    /// The local store of code-signing certificates and keys `ccc push` offers.
    pub fn cert_store_dir(&self) -> PathBuf {
        self.dir.join("certs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> (tempfile::TempDir, ConfigDir) {
        let tmp = tempfile::tempdir().unwrap();
        let config = ConfigDir {
            dir: tmp.path().join("cc"),
        };
        (tmp, config)
    }

    #[test]
    fn registry_urls_are_normalised_to_scheme_host_port_path() {
        for (input, want) in [
            ("http://h", "http://h"),
            ("HTTP://Example.ORG:80/", "http://example.org"),
            ("https://example.org:443/reg/", "https://example.org/reg"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("http://[::1]:9/x//", "http://[::1]:9/x"),
        ] {
            assert_eq!(normalize_registry_url(input).unwrap(), want, "{input}");
        }
        for bad in [
            "ftp://h",
            "not a url",
            "http://u:p@h",
            "http://h/?q=1",
            "http://h/#f",
        ] {
            assert!(normalize_registry_url(bad).is_err(), "{bad}");
        }
    }

    /// Many writers at once (each with its own handle on the directory, as separate
    /// `ccc` processes would have): every change survives.
    #[test]
    fn concurrent_updates_are_all_kept() {
        let (_tmp, config) = config();
        let dir = config.dir.clone();
        let writers: Vec<_> = (0..16)
            .map(|i| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let config = ConfigDir { dir };
                    for round in 0..5 {
                        config
                            .update(&format!("http://r{i}.example"), false, |s| {
                                s.api_key = Some(format!("key-{i}-{round}"));
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let state = config.load().unwrap();
        assert_eq!(state.registries.len(), 16, "{state:?}");
        for i in 0..16 {
            let key = config.api_key(&format!("http://r{i}.example")).unwrap();
            assert_eq!(key, format!("key-{i}-4"));
        }
    }

    #[test]
    fn state_is_kept_per_registry_with_mode_0600() {
        let (_tmp, config) = config();
        let a = "http://a.example";
        let b = "http://b.example:8080";
        config
            .update(a, true, |s| s.api_key = Some("ka".into()))
            .unwrap();
        let path = config
            .update(b, false, |s| s.checkpoint = Some("cp-b".into()))
            .unwrap();
        assert_eq!(config.api_key(a).unwrap(), "ka");
        let e = config.api_key(b).unwrap_err().to_string();
        assert!(e.contains("not logged in to http://b.example:8080"), "{e}");
        assert_eq!(config.registry(b).unwrap().checkpoint.unwrap(), "cp-b");
        assert!(config.registry(a).unwrap().checkpoint.is_none());
        assert_eq!(config.registry_url(None).unwrap(), a);
        assert_eq!(
            config.registry_url(Some("http://B.example:8080/")).unwrap(),
            b
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn missing_registry_says_how_to_log_in() {
        let (_tmp, config) = config();
        let e = config.registry_url(None).unwrap_err().to_string();
        assert!(e.contains("ccc register"), "{e}");
    }

    #[test]
    fn legacy_single_registry_state_is_migrated_under_its_url() {
        let (_tmp, config) = config();
        std::fs::create_dir_all(&config.dir).unwrap();
        std::fs::write(
            config.dir.join(LEGACY_CREDENTIALS),
            r#"{"url":"http://127.0.0.1:8080/","username":"alice","api_key":"k1"}"#,
        )
        .unwrap();
        std::fs::write(config.dir.join(LEGACY_LOG_KEY), "reg/log+01+AAAA\n").unwrap();
        std::fs::write(config.dir.join(LEGACY_CHECKPOINT), "note").unwrap();
        let url = config.registry_url(None).unwrap();
        assert_eq!(url, "http://127.0.0.1:8080");
        let state = config.registry(&url).unwrap();
        assert_eq!(
            state,
            RegistryState {
                username: Some("alice".into()),
                api_key: Some("k1".into()),
                log_key: Some("reg/log+01+AAAA".into()),
                checkpoint: Some("note".into()),
            }
        );
        for old in [LEGACY_CREDENTIALS, LEGACY_LOG_KEY, LEGACY_CHECKPOINT] {
            assert!(!config.dir.join(old).exists(), "{old} left behind");
        }
    }

    #[test]
    fn legacy_history_without_a_url_goes_to_the_registry_with_that_log_name() {
        let (_tmp, config) = config();
        std::fs::create_dir_all(&config.dir).unwrap();
        std::fs::write(config.dir.join(LEGACY_LOG_KEY), "reg/log+01+AAAA\n").unwrap();
        std::fs::write(config.dir.join(LEGACY_CHECKPOINT), "note").unwrap();
        let url = "http://h";
        assert!(!config.adopt_unbound(url, "other/log+02+BBBB").unwrap());
        // Not adopted, but not lost either.
        assert!(config.adopt_unbound(url, "reg/log+01+AAAA").unwrap());
        let state = config.registry(url).unwrap();
        assert_eq!(state.log_key.as_deref(), Some("reg/log+01+AAAA"));
        assert_eq!(state.checkpoint.as_deref(), Some("note"));
        assert!(!config.adopt_unbound(url, "reg/log+01+AAAA").unwrap());
    }
}
