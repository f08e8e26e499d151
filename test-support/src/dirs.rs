//! Scratch directories under the system temp dir, named `rocketmq-rs-<name>-<pid>`: the pid
//! keeps parallel test binaries apart, the name the tests of one binary. A directory left by
//! an earlier run with the same pid is emptied first.

use std::path::{Path, PathBuf};

/// A fresh, empty directory that nobody removes (for a test that leaves its files for a look
/// afterwards).
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rocketmq-rs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// A fresh, empty directory removed on drop, unless its keep variable is set in the
/// environment (then the store, confs and logs stay for a post-mortem) or it is dropped by a
/// failing test's unwinding when it was created with [`TempDir::kept_by`].
pub struct TempDir {
    path: PathBuf,
    keep_var: Option<&'static str>,
}

impl TempDir {
    /// Removed on drop whatever happened.
    pub fn new(name: &str) -> TempDir {
        TempDir {
            path: fresh_dir(name),
            keep_var: None,
        }
    }

    /// Kept when the environment variable `keep_var` is set or the test failed.
    pub fn kept_by(name: &str, keep_var: &'static str) -> TempDir {
        TempDir {
            path: fresh_dir(name),
            keep_var: Some(keep_var),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(var) = self.keep_var {
            if std::env::var_os(var).is_some() || std::thread::panicking() {
                return;
            }
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Copies a directory tree, leaving every copy writable: the golden fixtures are never opened in
/// place (a store opened there would be recovered and rewritten), and a checkout may have
/// made them read-only.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            let mut perm = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&target, perm).unwrap();
        }
    }
}
