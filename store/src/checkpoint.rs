//! TEMPORARY stand-in for the `store-aux` branch's checkpoint module (replaced at merge).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

pub struct StoreCheckpoint {
    path: PathBuf,
    physic: AtomicI64,
    logics: AtomicI64,
    index: AtomicI64,
}

impl StoreCheckpoint {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let data = std::fs::read(path).unwrap_or_default();
        let get = |at: usize| {
            data.get(at..at + 8)
                .map_or(0, |b| i64::from_be_bytes(b.try_into().unwrap()))
        };
        Ok(Self {
            path: path.into(),
            physic: AtomicI64::new(get(0)),
            logics: AtomicI64::new(get(8)),
            index: AtomicI64::new(get(16)),
        })
    }
    pub fn physic_msg_timestamp(&self) -> i64 {
        self.physic.load(Ordering::Acquire)
    }
    pub fn logics_msg_timestamp(&self) -> i64 {
        self.logics.load(Ordering::Acquire)
    }
    pub fn index_msg_timestamp(&self) -> i64 {
        self.index.load(Ordering::Acquire)
    }
    pub fn set_physic_msg_timestamp(&self, v: i64) {
        self.physic.store(v, Ordering::Release)
    }
    pub fn set_logics_msg_timestamp(&self, v: i64) {
        self.logics.store(v, Ordering::Release)
    }
    pub fn set_index_msg_timestamp(&self, v: i64) {
        self.index.store(v, Ordering::Release)
    }
    pub fn min_timestamp(&self) -> i64 {
        (self.physic_msg_timestamp().min(self.logics_msg_timestamp()) - 3000).max(0)
    }
    pub fn min_timestamp_index(&self) -> i64 {
        self.min_timestamp().min(self.index_msg_timestamp())
    }
    pub fn flush(&self) -> std::io::Result<()> {
        let mut data = vec![0u8; 4096];
        data[0..8].copy_from_slice(&self.physic_msg_timestamp().to_be_bytes());
        data[8..16].copy_from_slice(&self.logics_msg_timestamp().to_be_bytes());
        data[16..24].copy_from_slice(&self.index_msg_timestamp().to_be_bytes());
        std::fs::write(&self.path, data)
    }
}
