//! `timerlog/`: 5.x's `TimerLog`, a mapped-file queue (`mappedFileSizeTimerLog`, 100 MiB, files
//! named by start offset like the commitlog) of 52-byte units, big-endian:
//!
//! | at | field |
//! |---|---|
//! | 0 | size i32 (always 52) |
//! | 4 | prevPos i64: the previous unit of the same wheel slot (−1: first) |
//! | 12 | magic i32: 1 DEFAULT, \| 2 ROLL, \| 4 DELETE |
//! | 16 | currWriteTime i64: the wheel's write time at enqueue |
//! | 24 | delay i32: delivery time − currWriteTime |
//! | 28 | offsetPy i64: the `rmq_sys_wheel_timer` record in the commitlog |
//! | 36 | sizePy i32 |
//! | 40 | hash of the real topic (Java `String.hashCode`) |
//! | 44 | reserved i64 (0) |
//!
//! A unit that does not fit before the file's end (keeping 16 bytes) is preceded by a blank
//! `size i32 = remaining, 0 i64, BLANK_MAGIC_CODE i32` and goes to the next file. Java writes
//! `0xBBCCDDEE ^ 1880681586 + 8`, which (precedence) is `0xBBCCDDEE ^ 1880681594`.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;
use crate::StoreError;

pub const UNIT_SIZE: usize = 52;
/// Where offsetPy starts in a unit (`UNIT_PRE_SIZE_FOR_MSG`).
pub const UNIT_PRE_SIZE_FOR_MSG: usize = 28;
pub const BLANK_MAGIC_CODE: i32 = (0xBBCC_DDEE_u32 as i32) ^ (1_880_681_586 + 8);
const MIN_BLANK_LEN: usize = 4 + 8 + 4;

pub const MAGIC_DEFAULT: i32 = 1;
pub const MAGIC_ROLL: i32 = 1 << 1;
pub const MAGIC_DELETE: i32 = 1 << 2;

/// Java's `isMagicOK`: only the low four bits may be set.
pub fn is_magic_ok(magic: i32) -> bool {
    (magic | 0xF) == 0xF
}

/// One unit of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerLogUnit {
    pub prev_pos: i64,
    pub magic: i32,
    pub write_time_ms: i64,
    pub delay: i32,
    pub offset_py: i64,
    pub size_py: i32,
    pub topic_hash: i32,
}

impl TimerLogUnit {
    pub fn delayed_time(&self) -> i64 {
        self.write_time_ms + self.delay as i64
    }

    pub fn encode(&self) -> [u8; UNIT_SIZE] {
        let mut b = [0u8; UNIT_SIZE];
        b[0..4].copy_from_slice(&(UNIT_SIZE as i32).to_be_bytes());
        b[4..12].copy_from_slice(&self.prev_pos.to_be_bytes());
        b[12..16].copy_from_slice(&self.magic.to_be_bytes());
        b[16..24].copy_from_slice(&self.write_time_ms.to_be_bytes());
        b[24..28].copy_from_slice(&self.delay.to_be_bytes());
        b[28..36].copy_from_slice(&self.offset_py.to_be_bytes());
        b[36..40].copy_from_slice(&self.size_py.to_be_bytes());
        b[40..44].copy_from_slice(&self.topic_hash.to_be_bytes());
        // 44..52: reserved, 0.
        b
    }

    /// The unit at the start of `b` with its size field, or None if `b` is too short.
    pub fn decode(b: &[u8]) -> Option<(i32, TimerLogUnit)> {
        if b.len() < UNIT_SIZE {
            return None;
        }
        let long = |at: usize| i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let int = |at: usize| i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"));
        Some((
            int(0),
            TimerLogUnit {
                prev_pos: long(4),
                magic: int(12),
                write_time_ms: long(16),
                delay: int(24),
                offset_py: long(28),
                size_py: int(36),
                topic_hash: int(40),
            },
        ))
    }
}

pub struct TimerLog {
    queue: MappedFileQueue,
}

impl TimerLog {
    pub fn new(dir: &Path, file_size: u64) -> Self {
        Self {
            queue: MappedFileQueue::new(dir, file_size),
        }
    }

    pub fn load(&self) -> Result<(), StoreError> {
        self.queue.load()
    }

    pub fn queue(&self) -> &MappedFileQueue {
        &self.queue
    }

    /// Java's `append`: the unit's position in the log.
    pub fn append(&self, data: &[u8]) -> Result<i64, StoreError> {
        let mut file = self.queue.last_file_or_create(0)?;
        if data.len() + MIN_BLANK_LEN > file.file_size() - file.wrote_position() {
            let remaining = (file.file_size() - file.wrote_position()) as i32;
            let mut blank = [0u8; MIN_BLANK_LEN];
            blank[0..4].copy_from_slice(&remaining.to_be_bytes());
            blank[12..16].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
            if !file.append(&blank)? {
                return Err(StoreError::Corrupt("timer log: blank does not fit".into()));
            }
            file.mark_full();
            file = self.queue.last_file_or_create(0)?;
        }
        let pos = file.file_from_offset() as i64 + file.wrote_position() as i64;
        if !file.append(data)? {
            return Err(StoreError::Corrupt("timer log: unit does not fit".into()));
        }
        Ok(pos)
    }

    /// The unit at `pos`, if written.
    pub fn unit_at(&self, pos: i64) -> Option<TimerLogUnit> {
        let file = self.queue.find_by_offset(pos as u64, false)?;
        let at = (pos as u64 - file.file_from_offset()) as usize;
        let bytes = file.select(at, UNIT_SIZE)?;
        TimerLogUnit::decode(&bytes).map(|(_, unit)| unit)
    }

    pub fn files(&self) -> Vec<Arc<MappedFile>> {
        self.queue.files()
    }

    /// Java's `getOffsetForLastUnit`: where the last unit of a full file starts.
    pub fn offset_for_last_unit(file_size: usize) -> usize {
        file_size - (file_size - MIN_BLANK_LEN) % UNIT_SIZE - MIN_BLANK_LEN - UNIT_SIZE
    }

    /// Java's `deleteExpiredFileByOffsetForTimerLog` (every 30 s): deletes, oldest first and
    /// never the last, the files whose last unit points below `min_phy_offset` (the commitlog's
    /// first byte: their messages are gone); stops at the first file that is not expired or
    /// whose last unit is not a valid unit.
    pub fn delete_expired(&self, min_phy_offset: i64) -> usize {
        let files = self.queue.files();
        let file_size = self.queue.file_size();
        let check = Self::offset_for_last_unit(file_size as usize);
        let mut end = None;
        for file in files.iter().take(files.len().saturating_sub(1)) {
            let unit = file
                .select(check, UNIT_SIZE)
                .and_then(|b| TimerLogUnit::decode(&b));
            match unit {
                Some((size, unit))
                    if size == UNIT_SIZE as i32
                        && is_magic_ok(unit.magic)
                        && unit.offset_py < min_phy_offset =>
                {
                    end = Some(file.file_from_offset() + file_size);
                }
                _ => break,
            }
        }
        end.map_or(0, |end| self.queue.delete_files_ending_before(end + 1))
    }

    /// A file's whole content for the recovery scan.
    pub fn recovery_view(file: &Arc<MappedFile>) -> Bytes {
        file.recovery_view()
    }

    /// Flushes the written units; the flushed position is what the checkpoint records.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.queue.flush(0)?;
        Ok(())
    }

    pub fn flushed_where(&self) -> i64 {
        self.queue.flushed_where() as i64
    }
}
