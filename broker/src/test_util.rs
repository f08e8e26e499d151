//! Test helpers: scratch directories and the golden fixtures.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use store::{FixedDiskUsage, MessageStore, MessageStoreConfig, StoreOptions};

/// Options for every store a test opens in process: the disk is always half full. With the
/// machine's real use, a disk over 90 % used makes the store refuse every put from its first
/// disk check on (1 s after opening), and over 85 % a clean pass deletes files of any age.
pub fn store_options() -> StoreOptions {
    StoreOptions {
        disk_probe: Arc::new(FixedDiskUsage(0.5)),
        ..StoreOptions::default()
    }
}

/// `MessageStore::open` with [`store_options`].
pub fn open_store(config: MessageStoreConfig) -> MessageStore {
    MessageStore::open_with(config, store_options()).unwrap()
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "broker-test-{name}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `compat-tests/fixtures/golden/<rel>`.
pub fn golden(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../compat-tests/fixtures/golden")
        .join(rel)
}

/// Copies a golden store-config file into `<root>/config/`.
pub fn install_golden_config(root: &Path, rel: &str, name: &str) {
    let dir = crate::paths::config_dir(root);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(golden(rel), dir.join(name)).unwrap();
}
