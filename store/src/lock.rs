//! The store's `lock` file and `abort` marker.
//!
//! `lock`: while a broker runs it holds an exclusive lock on byte range [0,1) of
//! `<storePathRootDir>/lock` and has written the 4 bytes `lock` into it. Java takes this lock
//! with `FileChannel.tryLock(0, 1, false)`, which on Linux is a POSIX record lock
//! (`fcntl(F_SETLK)`). `flock(2)` locks live in a different namespace and do not conflict with
//! record locks, so we take the same kind of lock: a Java broker and ours then exclude each other
//! on the same directory.
//!
//! POSIX record locks belong to a *process*, not to a file descriptor: a second `F_SETLK` from
//! the same process succeeds, and closing *any* descriptor of the file releases the lock. So a
//! process-wide registry of held lock paths makes a second acquisition in this process fail
//! before it ever opens the file (opening and closing it would silently drop the first lock).
//! Nothing else in the process may open the `lock` file.
//!
//! `abort`: an empty marker created at store start and removed on a clean shutdown; its presence
//! at startup means the last run did not shut down cleanly (abnormal recovery).

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const LOCK_FILE_NAME: &str = "lock";
pub const ABORT_FILE_NAME: &str = "abort";

/// Lock files held by this process (canonical paths).
static HELD: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn held() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreLockError {
    /// Another process (a Java broker or another of ours) holds the lock.
    #[error("Lock failed, MQ already started: {path} is locked by another process")]
    LockedByOtherProcess { path: PathBuf },
    /// This process already holds the lock on that store.
    #[error("Lock failed, MQ already started: {path} is already locked by this process")]
    LockedByThisProcess { path: PathBuf },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The exclusive lock on a store directory; released when dropped.
#[derive(Debug)]
pub struct StoreLock {
    path: PathBuf,
    /// `Some` until drop; closing it releases the record lock.
    file: Option<File>,
}

impl StoreLock {
    /// Locks `<store_root>/lock` (creating the directory and the file if needed) and writes
    /// `lock` into it, as the Java broker does at start.
    pub fn acquire(store_root: impl AsRef<Path>) -> Result<StoreLock, StoreLockError> {
        let root = store_root.as_ref();
        let io_err = |source| StoreLockError::Io {
            path: root.join(LOCK_FILE_NAME),
            source,
        };
        std::fs::create_dir_all(root).map_err(io_err)?;
        let path = root.canonicalize().map_err(io_err)?.join(LOCK_FILE_NAME);
        if !held().insert(path.clone()) {
            return Err(StoreLockError::LockedByThisProcess { path });
        }
        match lock_file(&path) {
            Ok(file) => Ok(StoreLock {
                path,
                file: Some(file),
            }),
            Err(e) => {
                held().remove(&path);
                Err(e)
            }
        }
    }

    /// The canonical path of the lock file.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn lock_file(path: &Path) -> Result<File, StoreLockError> {
    let io_err = |source| StoreLockError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err)?;
    // SAFETY: `flock` is a plain C struct; all-zero is a valid value that we then fill in.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = 0;
    fl.l_len = 1;
    // SAFETY: valid descriptor owned by `file`, pointer to a live, initialized `flock`.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EACCES) => StoreLockError::LockedByOtherProcess {
                path: path.to_path_buf(),
            },
            _ => io_err(err),
        });
    }
    file.write_all_at(b"lock", 0).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    Ok(file)
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Close first (which releases the record lock), then forget the path: in the other
        // order a concurrent acquire in this process could lock and then lose its lock to our
        // close.
        drop(self.file.take());
        held().remove(&self.path);
    }
}

/// The `abort` marker file.
pub struct AbortFile;

impl AbortFile {
    pub fn path(store_root: impl AsRef<Path>) -> PathBuf {
        store_root.as_ref().join(ABORT_FILE_NAME)
    }

    pub fn exists(store_root: impl AsRef<Path>) -> bool {
        Self::path(store_root).exists()
    }

    /// Creates the empty marker (if missing) and makes its directory entry durable: a crash must
    /// never leave a store that looks cleanly shut down.
    pub fn create(store_root: impl AsRef<Path>) -> io::Result<()> {
        let root = store_root.as_ref();
        std::fs::create_dir_all(root)?;
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(Self::path(root))?;
        File::open(root)?.sync_all()
    }

    /// Removes the marker; a missing marker is not an error.
    pub fn remove(store_root: impl AsRef<Path>) -> io::Result<()> {
        match std::fs::remove_file(Self::path(store_root)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
