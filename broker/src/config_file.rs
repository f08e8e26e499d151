//! Java's `ConfigManager`: a manager's JSON file under `config/` (topics.json,
//! subscriptionGroup.json, consumerOffset.json, delayOffset.json). It is read at start, falling
//! back to the `.bak` copy, and always written whole: `.tmp`, then a rename, with the previous
//! content kept as `.bak` (`store::config_file` does the file work).

use std::fmt::Display;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use store::config_file::{self, ConfigFileError};

pub struct ConfigFile {
    path: PathBuf,
    /// Writers take turns, and each encodes the table during its turn: whoever writes last
    /// writes the latest state, and two writers never share the `.tmp` file.
    write_turn: Mutex<()>,
}

impl ConfigFile {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            write_turn: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parsed file, or its `.bak` when the file is missing or unreadable; `None` when
    /// neither exists (a new broker).
    pub fn load<T, E: Display>(
        &self,
        parse: impl FnMut(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ConfigFileError> {
        config_file::load_with(&self.path, parse)
    }

    /// Writes the text `encode` returns.
    pub fn persist(&self, encode: impl FnOnce() -> String) -> io::Result<()> {
        let _turn = self.write_turn.lock().unwrap_or_else(|e| e.into_inner());
        config_file::persist(&self.path, &encode())
    }

    /// [`persist`](Self::persist), logging a failure: Java logs it and carries on with the
    /// table in memory, which the next change or the shutdown writes again.
    pub fn persist_logged(&self, encode: impl FnOnce() -> String) {
        if let Err(e) = self.persist(encode) {
            tracing::error!("persist {} failed: {e}", self.path.display());
        }
    }
}
