//! `config/timercheck`: 5.x's `TimerCheckpoint`, a 4096-byte file (one OS page, mapped by
//! Java) holding seven big-endian i64 at 0..56: `lastReadTimeMs`, `lastTimerLogFlushPos`,
//! `lastTimerQueueOffset`, `masterTimerQueueOffset`, then the DataVersion's `stateVersion`,
//! `timestamp`, `counter`. The rest of the page is zero.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::StoreError;

pub const FILE_SIZE: u64 = 4096;
pub const ENCODED_LEN: usize = 56;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerCheckpoint {
    pub last_read_time_ms: i64,
    pub last_timer_log_flush_pos: i64,
    pub last_timer_queue_offset: i64,
    pub master_timer_queue_offset: i64,
    pub state_version: i64,
    pub timestamp: i64,
    pub counter: i64,
}

impl TimerCheckpoint {
    /// Java's `encode`.
    pub fn encode(&self) -> [u8; ENCODED_LEN] {
        let mut b = [0u8; ENCODED_LEN];
        let fields = [
            self.last_read_time_ms,
            self.last_timer_log_flush_pos,
            self.last_timer_queue_offset,
            self.master_timer_queue_offset,
            self.state_version,
            self.timestamp,
            self.counter,
        ];
        for (i, v) in fields.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        b
    }

    /// Java's `decode` (the DataVersion part only when present).
    pub fn decode(b: &[u8]) -> Option<Self> {
        let long = |i: usize| {
            b.get(i * 8..i * 8 + 8)
                .map(|s| i64::from_be_bytes(s.try_into().expect("8 bytes")))
        };
        Some(Self {
            last_read_time_ms: long(0)?,
            last_timer_log_flush_pos: long(1)?,
            last_timer_queue_offset: long(2)?,
            master_timer_queue_offset: long(3)?,
            state_version: long(4).unwrap_or(0),
            timestamp: long(5).unwrap_or(0),
            counter: long(6).unwrap_or(0),
        })
    }
}

/// The checkpoint file.
pub struct TimerCheckpointFile {
    path: PathBuf,
}

impl TimerCheckpointFile {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }

    /// The stored checkpoint (all zero when the file does not exist, as Java).
    pub fn load(&self) -> Result<TimerCheckpoint, StoreError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(TimerCheckpoint::decode(&bytes).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TimerCheckpoint::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Java's `flush`: the 56 bytes at 0 of the page-sized file, synced.
    pub fn flush(&self, cp: &TimerCheckpoint) -> Result<(), StoreError> {
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        if file.metadata()?.len() < FILE_SIZE {
            file.set_len(FILE_SIZE)?;
        }
        file.write_all_at(&cp.encode(), 0)?;
        file.sync_data()?;
        Ok(())
    }
}
