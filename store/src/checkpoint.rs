//! `StoreCheckpoint`: the 4096-byte `checkpoint` file at the store root.
//!
//! Layout (big-endian, the rest of the page stays zero):
//!
//! | offset | field |
//! |---|---|
//! | 0  | physicMsgTimestamp: store time of the last message flushed in the commitlog |
//! | 8  | logicsMsgTimestamp: store time of the last message flushed to the consume queues |
//! | 16 | indexMsgTimestamp: endTimestamp of the last full index file that was flushed |
//! | 24 | masterFlushedOffset (5.x only; 4.x leaves zero) |
//! | 32 | confirmPhyOffset (5.x only) |
//!
//! Java maps the page and writes the three timestamps into it on every `flush`. We write the
//! same 40 bytes with `pwrite` and `fdatasync`; the 5.x fields are kept as they were read so a
//! store that a 5.x broker wrote goes back to it unchanged.
//!
//! The recovery scan start is derived from [`StoreCheckpoint::min_timestamp`] and
//! [`StoreCheckpoint::min_timestamp_index`] exactly as Java computes them.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;

/// Size of the checkpoint file: one OS page.
pub const CHECKPOINT_FILE_SIZE: u64 = 4096;
/// The bytes of the page that carry data (5 longs).
const DATA_LEN: usize = 40;

pub struct StoreCheckpoint {
    path: PathBuf,
    /// Serializes flushes so the file never goes back to older values than a finished flush wrote.
    file: Mutex<File>,
    physic_msg_timestamp: AtomicI64,
    /// Whether a commitlog flush of this process has written the file yet
    /// ([`StoreCheckpoint::advance_physic_msg_timestamp`]).
    physic_written: AtomicBool,
    logics_msg_timestamp: AtomicI64,
    index_msg_timestamp: AtomicI64,
    master_flushed_offset: AtomicI64,
    confirm_phy_offset: AtomicI64,
}

impl StoreCheckpoint {
    /// Opens `path`, creating it (and its directory) as a zero-filled 4096-byte file if missing.
    /// A file shorter than a page (a torn creation) is extended with zeros, as Java's mapping does.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        if file.metadata()?.len() < CHECKPOINT_FILE_SIZE {
            file.set_len(CHECKPOINT_FILE_SIZE)?;
        }
        let mut data = [0u8; DATA_LEN];
        file.read_exact_at(&mut data, 0)?;
        let long = |i: usize| i64::from_be_bytes(data[i * 8..i * 8 + 8].try_into().unwrap());
        Ok(StoreCheckpoint {
            path,
            file: Mutex::new(file),
            physic_msg_timestamp: AtomicI64::new(long(0)),
            physic_written: AtomicBool::new(false),
            logics_msg_timestamp: AtomicI64::new(long(1)),
            index_msg_timestamp: AtomicI64::new(long(2)),
            master_flushed_offset: AtomicI64::new(long(3)),
            confirm_phy_offset: AtomicI64::new(long(4)),
        })
    }

    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn physic_msg_timestamp(&self) -> i64 {
        self.physic_msg_timestamp.load(Ordering::Acquire)
    }

    pub fn set_physic_msg_timestamp(&self, value: i64) {
        self.physic_msg_timestamp.store(value, Ordering::Release);
    }

    /// A commitlog flush's store time: set, and on this process's first call also written to
    /// the file. Java leaves the file to the consume-queue flush, whose first (thorough) round
    /// comes about a second after start and the next one `flushConsumeQueueThoroughInterval`
    /// (60 s) later; when that first round runs before the first commitlog flush (a loaded
    /// machine), the file keeps the previous life's physicMsgTimestamp — zero if that life was
    /// killed before its own first round — for a minute, and a crash then recovers from the
    /// first commitlog file. One extra write per process closes that window. The values written
    /// are the flushed ones, as on every flush.
    pub fn advance_physic_msg_timestamp(&self, value: i64) -> io::Result<()> {
        self.set_physic_msg_timestamp(value);
        if self.physic_written.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.flush()
    }

    pub fn logics_msg_timestamp(&self) -> i64 {
        self.logics_msg_timestamp.load(Ordering::Acquire)
    }

    pub fn set_logics_msg_timestamp(&self, value: i64) {
        self.logics_msg_timestamp.store(value, Ordering::Release);
    }

    pub fn index_msg_timestamp(&self) -> i64 {
        self.index_msg_timestamp.load(Ordering::Acquire)
    }

    pub fn set_index_msg_timestamp(&self, value: i64) {
        self.index_msg_timestamp.store(value, Ordering::Release);
    }

    /// 5.x `masterFlushedOffset`, as read from the file (we never change it).
    pub fn master_flushed_offset(&self) -> i64 {
        self.master_flushed_offset.load(Ordering::Acquire)
    }

    /// 5.x `confirmPhyOffset`, as read from the file (we never change it).
    pub fn confirm_phy_offset(&self) -> i64 {
        self.confirm_phy_offset.load(Ordering::Acquire)
    }

    /// min(physic, logics) − 3 s, floored at 0: abnormal recovery starts from the first commitlog
    /// file whose first message is not newer than this.
    pub fn min_timestamp(&self) -> i64 {
        let min = self
            .physic_msg_timestamp()
            .min(self.logics_msg_timestamp())
            .saturating_sub(3000);
        min.max(0)
    }

    /// min(min_timestamp, indexMsgTimestamp): the recovery bound when `messageIndexSafe` is set.
    pub fn min_timestamp_index(&self) -> i64 {
        self.min_timestamp().min(self.index_msg_timestamp())
    }

    /// Writes the five values at offset 0 and forces them to disk.
    pub fn flush(&self) -> io::Result<()> {
        let file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let mut data = [0u8; DATA_LEN];
        let values = [
            self.physic_msg_timestamp(),
            self.logics_msg_timestamp(),
            self.index_msg_timestamp(),
            self.master_flushed_offset(),
            self.confirm_phy_offset(),
        ];
        for (i, v) in values.iter().enumerate() {
            data[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        file.write_all_at(&data, 0)?;
        file.sync_data()
    }
}

impl std::fmt::Debug for StoreCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCheckpoint")
            .field("path", &self.path)
            .field("physic_msg_timestamp", &self.physic_msg_timestamp())
            .field("logics_msg_timestamp", &self.logics_msg_timestamp())
            .field("index_msg_timestamp", &self.index_msg_timestamp())
            .field("master_flushed_offset", &self.master_flushed_offset())
            .field("confirm_phy_offset", &self.confirm_phy_offset())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("store-cp-{}-{}", name, std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// The file as a fresh open reads it.
    fn on_disk(path: &Path) -> (i64, i64) {
        let cp = StoreCheckpoint::open(path).unwrap();
        (cp.physic_msg_timestamp(), cp.logics_msg_timestamp())
    }

    #[test]
    fn the_first_commitlog_flush_of_a_process_writes_the_file_later_ones_wait() {
        let dir = temp_dir("advance");
        let path = dir.join("checkpoint");
        let cp = StoreCheckpoint::open(&path).unwrap();
        cp.set_logics_msg_timestamp(500);
        cp.advance_physic_msg_timestamp(1_000).unwrap();
        assert_eq!(on_disk(&path), (1_000, 500));
        // Later store times wait for the next flush of the file, as in Java.
        cp.advance_physic_msg_timestamp(2_000).unwrap();
        assert_eq!((cp.physic_msg_timestamp(), on_disk(&path)), (2_000, (1_000, 500)));
        cp.flush().unwrap();
        assert_eq!(on_disk(&path), (2_000, 500));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn creates_zero_filled_page_and_round_trips() {
        let dir = temp_dir("rt");
        let path = dir.join("checkpoint");
        let cp = StoreCheckpoint::open(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096);
        assert_eq!(cp.physic_msg_timestamp(), 0);
        assert_eq!(cp.min_timestamp(), 0);
        cp.set_physic_msg_timestamp(1_000_000);
        cp.set_logics_msg_timestamp(900_000);
        cp.set_index_msg_timestamp(800_000);
        cp.flush().unwrap();
        drop(cp);

        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert_eq!(&bytes[0..8], &1_000_000i64.to_be_bytes());
        assert_eq!(&bytes[8..16], &900_000i64.to_be_bytes());
        assert_eq!(&bytes[16..24], &800_000i64.to_be_bytes());
        assert!(bytes[24..].iter().all(|&b| b == 0));

        let cp = StoreCheckpoint::open(&path).unwrap();
        assert_eq!(cp.physic_msg_timestamp(), 1_000_000);
        assert_eq!(cp.logics_msg_timestamp(), 900_000);
        assert_eq!(cp.index_msg_timestamp(), 800_000);
        assert_eq!(cp.min_timestamp(), 897_000);
        assert_eq!(cp.min_timestamp_index(), 800_000);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn min_timestamp_floors_at_zero_and_index_can_be_larger() {
        let dir = temp_dir("min");
        let cp = StoreCheckpoint::open(dir.join("checkpoint")).unwrap();
        cp.set_physic_msg_timestamp(2000);
        cp.set_logics_msg_timestamp(5000);
        cp.set_index_msg_timestamp(10_000);
        assert_eq!(cp.min_timestamp(), 0);
        assert_eq!(cp.min_timestamp_index(), 0);
        cp.set_physic_msg_timestamp(20_000);
        assert_eq!(cp.min_timestamp(), 2000);
        assert_eq!(cp.min_timestamp_index(), 2000);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn keeps_5x_fields_as_read() {
        let dir = temp_dir("5x");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("checkpoint");
        let mut page = vec![0u8; 4096];
        page[24..32].copy_from_slice(&123_456i64.to_be_bytes());
        page[32..40].copy_from_slice(&654_321i64.to_be_bytes());
        std::fs::write(&path, &page).unwrap();
        let cp = StoreCheckpoint::open(&path).unwrap();
        assert_eq!(cp.master_flushed_offset(), 123_456);
        assert_eq!(cp.confirm_phy_offset(), 654_321);
        cp.set_physic_msg_timestamp(7);
        cp.flush().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[0..8], &7i64.to_be_bytes());
        assert_eq!(&bytes[24..40], &page[24..40]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn short_file_is_extended() {
        let dir = temp_dir("short");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("checkpoint");
        std::fs::write(&path, 42i64.to_be_bytes()).unwrap();
        let cp = StoreCheckpoint::open(&path).unwrap();
        assert_eq!(cp.physic_msg_timestamp(), 42);
        assert_eq!(cp.logics_msg_timestamp(), 0);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
