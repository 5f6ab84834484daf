//! What older `ccc trust --system` left in the operating system's CA store, so that
//! `ccc trusted list` shows it and `ccc trusted remove` takes it out. Debian's layout —
//! local CA certificates are PEM files named `*.crt` under
//! `/usr/local/share/ca-certificates/` (subdirectories allowed), and
//! `update-ca-certificates` folds them into `/etc/ssl/certs` and the bundle.
//!
//! Nothing is installed there any more: that store is every TLS client's set of
//! roots, for every purpose. A registry certificate in it — a code-signing
//! certificate that is also a CA allowing serverAuth, as `openssl req -x509` makes by
//! default — made its key able to mint TLS certificates for any host that the
//! machine accepted. Older versions installed into the subdirectory `certcentral/` as
//! `<user>-<THUMBPRINT>.crt`. The directory and the refresh command can be overridden
//! (`CERTCENTRAL_SYSTEM_CA_DIR`, `CERTCENTRAL_UPDATE_CA_COMMAND`, the latter split on
//! whitespace, no shell), for other layouts and for tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

pub const DIR_ENV: &str = "CERTCENTRAL_SYSTEM_CA_DIR";
pub const COMMAND_ENV: &str = "CERTCENTRAL_UPDATE_CA_COMMAND";
pub const DEFAULT_DIR: &str = "/usr/local/share/ca-certificates/certcentral";
pub const DEFAULT_COMMAND: &str = "update-ca-certificates";

/// The system CA store directory and the command that refreshes it.
pub struct SystemStore {
    pub dir: PathBuf,
    pub refresh: Vec<String>,
}

/// `Some(true)` when running as root (on Linux, `/proc/self` belongs to the
/// effective user); `None` when that cannot be told.
fn running_as_root() -> Option<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid() == 0)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

impl SystemStore {
    pub fn from_env() -> anyhow::Result<Self> {
        let dir = std::env::var_os(DIR_ENV)
            .filter(|d| !d.is_empty())
            .map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from);
        let command = std::env::var(COMMAND_ENV).unwrap_or_else(|_| DEFAULT_COMMAND.to_owned());
        let refresh: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        if refresh.is_empty() {
            bail!("{COMMAND_ENV} is set but empty");
        }
        Ok(Self { dir, refresh })
    }

    /// The error for a permission problem under the store: says plainly that the
    /// system store needs root, when that is the reason.
    fn permission(&self, path: &Path, e: std::io::Error) -> anyhow::Error {
        if e.kind() == std::io::ErrorKind::PermissionDenied && running_as_root() != Some(true) {
            anyhow::anyhow!(
                "cannot remove {}: permission denied. Changing the system CA store \
                 needs root, and ccc is not running as root: run it with sudo (or set {DIR_ENV} \
                 to a directory you can write)",
                path.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("writing {}", path.display()))
        }
    }

    /// The files `ccc` installed for `thumbprint` (any user).
    pub fn installed(&self, thumbprint: &str) -> anyhow::Result<Vec<PathBuf>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.dir.display())),
        };
        let suffix = format!("-{thumbprint}.crt");
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_str().is_some_and(|n| n.ends_with(&suffix)))
            .map(|e| e.path())
            .collect();
        found.sort();
        Ok(found)
    }

    /// Every `*.crt` `ccc` installed, as (thumbprint, path).
    pub fn list(&self) -> anyhow::Result<Vec<(String, PathBuf)>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.dir.display())),
        };
        let mut found: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".crt")?;
                let thumbprint = stem.rsplit('-').next()?.to_owned();
                Some((thumbprint, e.path()))
            })
            .collect();
        found.sort();
        Ok(found)
    }

    /// Removes the files `ccc` installed for `thumbprint`; returns them.
    pub fn remove(&self, thumbprint: &str) -> anyhow::Result<Vec<PathBuf>> {
        let found = self.installed(thumbprint)?;
        for path in &found {
            std::fs::remove_file(path).map_err(|e| self.permission(path, e))?;
        }
        Ok(found)
    }

    /// Runs the refresh command (`update-ca-certificates`) so the change takes effect.
    pub fn refresh(&self) -> anyhow::Result<()> {
        let (program, args) = self
            .refresh
            .split_first()
            .context("no CA store refresh command")?;
        let output = Command::new(program)
            .args(args)
            .output()
            .with_context(|| format!("running {program} (set {COMMAND_ENV} to change it)"))?;
        if !output.status.success() {
            let root = if running_as_root() == Some(false) {
                " (ccc is not running as root)"
            } else {
                ""
            };
            bail!(
                "{} failed{root}: {}: {}",
                self.refresh.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store in a temp dir whose refresh command appends its arguments to a file.
    fn store(tmp: &Path) -> (SystemStore, PathBuf) {
        let calls = tmp.join("calls.txt");
        let script = tmp.join("fake-update.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"refresh $*\" >> {}\n", calls.display()),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        (
            SystemStore {
                dir: tmp.join("ca").join("certcentral"),
                refresh: vec![script.display().to_string(), "--fresh".into()],
            },
            calls,
        )
    }

    const T: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

    /// What an older `ccc trust --system` left: listed, removed by thumbprint, and
    /// the store refreshed.
    #[test]
    fn copies_an_older_ccc_installed_are_listed_and_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, calls) = store(tmp.path());
        std::fs::create_dir_all(&store.dir).unwrap();
        let path = store.dir.join(format!("alice-{T}.crt"));
        std::fs::write(&path, "PEM").unwrap();
        store.refresh().unwrap();
        assert_eq!(
            std::fs::read_to_string(&calls).unwrap(),
            "refresh --fresh\n"
        );
        assert_eq!(store.list().unwrap(), vec![(T.to_owned(), path.clone())]);
        assert_eq!(store.remove(T).unwrap(), vec![path.clone()]);
        assert!(!path.exists());
        assert!(store.remove(T).unwrap().is_empty());
    }

    #[test]
    fn a_failing_refresh_command_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, _) = store(tmp.path());
        store.refresh = vec!["false".into()];
        let e = store.refresh().unwrap_err().to_string();
        assert!(e.contains("false failed"), "{e}");
        store.refresh = vec![tmp.path().join("missing").display().to_string()];
        assert!(store.refresh().is_err());
    }
}
