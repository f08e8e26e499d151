//! TEMPORARY stand-in for the `store-aux` branch's lock module (replaced at merge).

use std::path::Path;

pub struct StoreLock;

impl StoreLock {
    pub fn acquire(_root: &Path) -> std::io::Result<Self> {
        Ok(StoreLock)
    }
}

pub struct AbortFile;

impl AbortFile {
    pub fn exists(root: &Path) -> bool {
        root.join("abort").exists()
    }
    pub fn create(root: &Path) -> std::io::Result<()> {
        std::fs::write(root.join("abort"), b"")
    }
    pub fn remove(root: &Path) -> std::io::Result<()> {
        std::fs::remove_file(root.join("abort"))
    }
}
