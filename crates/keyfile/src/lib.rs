//! Secret files — private keys, API keys, key seeds — written so that nobody but their
//! owner can ever read them and nobody ever reads half of one.
//!
//! On Unix every file is created with mode 0600 in the `open` call itself (the umask
//! can only narrow it), so there is no moment in which a wider file waits for a chmod.
//! Two ways to write:
//!
//! - [`create_new`] refuses to touch an existing file: a key file may be the only copy
//!   of a key that certificates were issued for, and a root the server already trusts
//!   must not be silently exchanged;
//! - [`replace`] writes a temporary file next to the target, syncs it, renames it over
//!   the target and syncs the directory, so a crash leaves the old contents or the new,
//!   never a mixture, and a replaced file that was once wider is 0600 afterwards.
//!
//! Either way a failed write removes what it created.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The mode of every file created here: read and write for the owner only.
pub const MODE: u32 = 0o600;

/// A write that failed: what was being done to which file, and the OS error (its
/// [`source`](std::error::Error::source)).
#[derive(Debug)]
pub struct Error {
    step: Step,
    path: PathBuf,
    source: io::Error,
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Create,
    CreateTemp,
    Write,
    Rename,
    SyncDir,
}

impl Error {
    fn new(step: Step, path: &Path, source: io::Error) -> Self {
        Self {
            step,
            path: path.to_owned(),
            source,
        }
    }

    /// The kind of the OS error (`AlreadyExists` when [`create_new`] found a file).
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// The file that was to be written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.step {
            Step::Create => write!(f, "creating {path}"),
            Step::CreateTemp => write!(f, "creating a temporary file to replace {path}"),
            Step::Write => write!(f, "writing {path}"),
            Step::Rename => write!(f, "replacing {path}"),
            Step::SyncDir => write!(f, "syncing the directory of {path}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Creates `path` with `contents`, mode 0600; an existing file is an error
/// ([`io::ErrorKind::AlreadyExists`]) and is left as it was.
///
/// The file is written in place, so a crash part-way through can leave a short file;
/// the next `create_new` then refuses it rather than taking it for a key.
pub fn create_new(path: &Path, contents: &[u8]) -> Result<(), Error> {
    create_new_with(path, |file| file.write_all(contents))
}

fn create_new_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), Error> {
    let mut file = open_new(path).map_err(|e| Error::new(Step::Create, path, e))?;
    if let Err(e) = fill(&mut file).and_then(|()| file.sync_all()) {
        drop(file);
        // Ours to remove: `create_new` guarantees nothing was there before.
        let _ = fs::remove_file(path);
        return Err(Error::new(Step::Write, path, e));
    }
    sync_dir(path)
}

/// Replaces `path` (or creates it) with `contents` atomically, mode 0600. The directory
/// must exist.
pub fn replace(path: &Path, contents: &[u8]) -> Result<(), Error> {
    replace_with(path, |file| file.write_all(contents))
}

fn replace_with(path: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> Result<(), Error> {
    let tmp = temp_path(path);
    // A leftover of a crashed writer with this name may be wider than 0600; it is
    // removed rather than reused, since opening keeps an existing file's mode.
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(Error::new(Step::CreateTemp, path, e));
        }
        _ => {}
    }
    let mut file = open_new(&tmp).map_err(|e| Error::new(Step::CreateTemp, path, e))?;
    let written = fill(&mut file)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::new(Step::Write, path, e));
    drop(file);
    let renamed = written
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| Error::new(Step::Rename, path, e)));
    if let Err(e) = renamed {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(path)
}

/// A new file at `path`, mode 0600 from its creation on Unix.
fn open_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(MODE);
    }
    options.open(path)
}

/// `.NAME.tmp.PID.N` next to `path`: in the same directory, so the rename stays on one
/// filesystem (and is atomic), and unique per process and call, so two writers of one
/// file never share (and truncate) a temporary file.
fn temp_path(path: &Path) -> PathBuf {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy();
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

/// A new or renamed directory entry is durable only once its directory is synced.
fn sync_dir(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::new(Step::SyncDir, path, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn create_new_writes_an_owner_only_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        create_new(&path, b"secret").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"secret");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn create_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        fs::write(&path, "precious").unwrap();
        let err = create_new(&path, b"other").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(err.path(), path);
        assert_eq!(err.to_string(), format!("creating {}", path.display()));
        assert_eq!(fs::read_to_string(&path).unwrap(), "precious");
    }

    #[test]
    fn create_new_removes_a_partly_written_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        let err = create_new_with(&path, |file| {
            file.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), format!("writing {}", path.display()));
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    }

    #[test]
    fn replace_creates_then_replaces_leaving_only_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        replace(&path, b"one").unwrap();
        replace(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["state.json"]);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn replace_narrows_a_wider_file_to_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api-key");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        replace(&path, b"new").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn a_failed_write_leaves_the_old_contents_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed");
        fs::write(&path, "old").unwrap();
        let err = replace_with(&path, |file| {
            file.write_all(b"ne")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), format!("writing {}", path.display()));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), ["seed"]);
    }

    #[test]
    fn a_failed_rename_leaves_the_target_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory cannot be replaced by a file.
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), "x").unwrap();
        let err = replace(&path, b"new").unwrap_err();
        assert_eq!(err.to_string(), format!("replacing {}", path.display()));
        assert_eq!(names(dir.path()), ["taken"]);
        assert_eq!(names(&path), ["inside"]);
    }

    #[test]
    fn replace_in_a_missing_directory_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("key");
        let err = replace(&path, b"new").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(names(dir.path()).is_empty());
    }
}
