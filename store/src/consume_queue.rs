//! `ConsumeQueue`: the index of one topic queue into the commitlog,
//! `consumequeue/<topic>/<queueId>/<%020d>`, 20-byte entries:
//!
//! ```text
//! commitlog offset i64 | record size i32 | tagsCode i64
//! ```
//!
//! Entry n sits at byte n × 20 of the queue (file name = byte offset of its first entry). The
//! tagsCode is the tag's Java hash, or for `SCHEDULE_TOPIC_XXXX` the delivery time. Entries are
//! written only by the dispatcher (and by recovery), so the writer needs no lock against other
//! writers; readers select `[entry, wrote)` of a file as shared `Bytes`.
//!
//! A queue whose first file is created at a non-zero entry (entries deleted, queue recreated)
//! is pre-filled with blank entries (offset 0, size `i32::MAX`, tagsCode 0) as Java does.
//!
//! With `enableConsumeQueueExt` a queue has an extension ([`crate::consume_queue_ext`]): each
//! new entry's tagsCode slot holds the address of a unit with the real tagsCode, the store
//! time and the filter bitmap. The extension is loaded, recovered, cut, flushed and deleted
//! with its queue; [`ConsumeQueue::resolve`] turns an entry back into its real tagsCode.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use bytes::Bytes;

use crate::commit_log::CommitLog;
use crate::consume_queue_ext::{is_ext_addr, ConsumeQueueExt, CqExtUnit};
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;
use crate::StoreError;

/// Bytes per entry.
pub const CQ_STORE_UNIT_SIZE: usize = 20;

/// One decoded entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CqEntry {
    pub offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

impl CqEntry {
    pub fn decode(b: &[u8]) -> Self {
        Self {
            offset: i64::from_be_bytes(b[0..8].try_into().expect("8 bytes")),
            size: i32::from_be_bytes(b[8..12].try_into().expect("4 bytes")),
            tags_code: i64::from_be_bytes(b[12..20].try_into().expect("8 bytes")),
        }
    }

    pub fn encode(&self) -> [u8; CQ_STORE_UNIT_SIZE] {
        let mut out = [0u8; CQ_STORE_UNIT_SIZE];
        out[0..8].copy_from_slice(&self.offset.to_be_bytes());
        out[8..12].copy_from_slice(&self.size.to_be_bytes());
        out[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    /// What recovery accepts as an entry.
    pub fn is_valid(&self) -> bool {
        self.offset >= 0 && self.size > 0
    }
}

pub struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    queue: MappedFileQueue,
    /// End (offset + size) of the last record indexed.
    max_physic_offset: AtomicI64,
    /// Byte offset of the first entry still pointing into the commitlog.
    min_logic_offset: AtomicI64,
    writer: Mutex<()>,
    /// The extension (`enableConsumeQueueExt`).
    ext: Option<ConsumeQueueExt>,
}

impl ConsumeQueue {
    pub fn new(root: &Path, topic: &str, queue_id: i32, file_size: u64) -> Self {
        let dir = root.join(topic).join(queue_id.to_string());
        Self {
            topic: topic.to_owned(),
            queue_id,
            queue: MappedFileQueue::new(dir, file_size).random_access(),
            max_physic_offset: AtomicI64::new(-1),
            min_logic_offset: AtomicI64::new(0),
            writer: Mutex::new(()),
            ext: None,
        }
    }

    /// With an extension under `ext_root` (`<storePathRootDir>/consumequeue_ext`), files of
    /// `ext_file_size` bytes.
    pub fn with_ext(mut self, ext_root: &Path, ext_file_size: u64) -> Self {
        self.ext = Some(ConsumeQueueExt::new(
            ext_root,
            &self.topic,
            self.queue_id,
            ext_file_size,
        ));
        self
    }

    /// The extension, when the queue has one.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn ext(&self) -> Option<&ConsumeQueueExt> {
        self.ext.as_ref()
    }

    /// Java's `getExt`: the extension unit at a tagsCode slot's address (`None` when the value
    /// is no address, the queue has no extension, or the unit is missing).
    pub fn get_ext(&self, address: i64) -> Option<CqExtUnit> {
        self.ext.as_ref()?.get(address)
    }

    /// An entry as readers want it: the real tagsCode and the extension unit, when the slot
    /// holds an extension address. `Err(address)` when the slot is an address whose unit cannot
    /// be read (Java: "[BUG] can't find consume queue extend file content"; `getMessage` then
    /// filters with no tagsCode).
    pub fn resolve(&self, tags_code: i64) -> Result<(i64, Option<CqExtUnit>), i64> {
        if !is_ext_addr(tags_code) {
            return Ok((tags_code, None));
        }
        match self.get_ext(tags_code) {
            Some(unit) => Ok((unit.tags_code, Some(unit))),
            None => Err(tags_code),
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn files(&self) -> &MappedFileQueue {
        &self.queue
    }

    pub fn load(&self) -> Result<(), StoreError> {
        self.queue.load()?;
        if let Some(ext) = &self.ext {
            ext.load()?;
        }
        Ok(())
    }

    fn file_size(&self) -> usize {
        self.queue.file_size() as usize
    }

    /// Java's `ConsumeQueue.recover`: scan from the third-last file while entries are valid,
    /// cut the queue after the last valid one.
    pub fn recover(&self) -> Result<(), StoreError> {
        let files = self.queue.files();
        if files.is_empty() {
            // Java leaves an extension alone here; we still cut its torn tail.
            if let Some(ext) = &self.ext {
                ext.recover()?;
            }
            return Ok(());
        }
        let mut index = files.len().saturating_sub(3);
        let mut end;
        let mut max_ext_addr = None;
        loop {
            let file = &files[index];
            let mut pos = 0;
            while pos < self.file_size() {
                let entry = read_entry(file, pos);
                if !entry.is_valid() {
                    break;
                }
                self.max_physic_offset
                    .store(entry.offset + entry.size as i64, Ordering::Release);
                if is_ext_addr(entry.tags_code) {
                    max_ext_addr = Some(entry.tags_code);
                }
                pos += CQ_STORE_UNIT_SIZE;
            }
            end = file.file_from_offset() + pos as u64;
            if pos == self.file_size() && index + 1 < files.len() {
                index += 1;
            } else {
                break;
            }
        }
        self.queue.set_flushed_where(end);
        self.queue.truncate_dirty_files(end)?;
        if let Some(ext) = &self.ext {
            ext.recover()?;
            if let Some(addr) = max_ext_addr {
                ext.truncate_by_max_address(addr)?;
            }
        }
        Ok(())
    }

    /// End of the last indexed record (-1 when empty).
    pub fn max_physic_offset(&self) -> i64 {
        self.max_physic_offset.load(Ordering::Acquire)
    }

    /// Java's `truncateDirtyLogicFiles`: drop entries pointing at or beyond `phy_offset`.
    pub fn truncate_dirty_logic_files(&self, phy_offset: i64) -> Result<(), StoreError> {
        let _w = self.writer.lock().expect("cq writer");
        self.max_physic_offset.store(phy_offset, Ordering::Release);
        let mut max_ext_addr = None;
        self.truncate_entries(phy_offset, &mut max_ext_addr)?;
        // As Java: the extension is cut after the unit of the last entry kept, when one of the
        // kept entries of the last file looked at points into it.
        if let (Some(ext), Some(addr)) = (&self.ext, max_ext_addr) {
            ext.truncate_by_max_address(addr)?;
        }
        Ok(())
    }

    fn truncate_entries(
        &self,
        phy_offset: i64,
        max_ext_addr: &mut Option<i64>,
    ) -> Result<(), StoreError> {
        while let Some(file) = self.queue.last_file() {
            let first = read_entry(&file, 0);
            if !first.is_valid() || first.offset >= phy_offset {
                if first.is_valid() {
                    self.queue.delete_last_file()?;
                    continue;
                }
                file.set_positions(0);
                return Ok(());
            }
            let mut pos = 0;
            while pos < self.file_size() {
                let e = read_entry(&file, pos);
                if !e.is_valid() || e.offset >= phy_offset {
                    break;
                }
                self.max_physic_offset
                    .store(e.offset + e.size as i64, Ordering::Release);
                if is_ext_addr(e.tags_code) {
                    *max_ext_addr = Some(e.tags_code);
                }
                pos += CQ_STORE_UNIT_SIZE;
            }
            file.set_positions(pos);
            file.zero_stale_tail(pos);
            return Ok(());
        }
        Ok(())
    }

    /// Java's `correctMinOffset`: the first entry of the first file that points at or beyond
    /// the commitlog's min offset.
    pub fn correct_min_offset(&self, phy_min_offset: i64) {
        let Some(file) = self.queue.first_file() else {
            return;
        };
        let wrote = file.wrote_position();
        let mut pos = 0;
        while pos + CQ_STORE_UNIT_SIZE <= wrote {
            let entry = read_entry(&file, pos);
            if entry.offset >= phy_min_offset {
                self.min_logic_offset.store(
                    file.file_from_offset() as i64 + pos as i64,
                    Ordering::Release,
                );
                // As Java: extension files wholly before the first kept entry's unit go.
                if let Some(ext) = &self.ext {
                    ext.truncate_by_min_address(entry.tags_code);
                }
                return;
            }
            pos += CQ_STORE_UNIT_SIZE;
        }
    }

    /// Java's `deleteExpiredFile`: after the commitlog lost everything below `phy_min_offset`,
    /// deletes the files whose entries all point below it (never the last file) and moves the
    /// min logical offset to the first entry still pointing into the commitlog. Returns how
    /// many files went.
    pub fn delete_expired_file(&self, phy_min_offset: i64) -> usize {
        let deleted = self
            .queue
            .delete_expired_file_by_offset(phy_min_offset, CQ_STORE_UNIT_SIZE);
        self.correct_min_offset(phy_min_offset);
        deleted
    }

    pub fn min_offset_in_queue(&self) -> i64 {
        self.min_logic_offset.load(Ordering::Acquire) / CQ_STORE_UNIT_SIZE as i64
    }

    /// Java's `getLastOffset`: the commitlog end (offset + size) of the last entry of the last
    /// file, -1 when there is no file or the last file has no entry yet (just rolled).
    pub fn last_offset(&self) -> i64 {
        let Some(file) = self.queue.last_file() else {
            return -1;
        };
        let pos = file.wrote_position().saturating_sub(CQ_STORE_UNIT_SIZE);
        let entry = read_entry(&file, pos);
        if entry.offset >= 0 && entry.size > 0 {
            entry.offset + i64::from(entry.size)
        } else {
            -1
        }
    }

    /// The next entry number (Java's `getMaxOffsetInQueue`).
    pub fn max_offset_in_queue(&self) -> i64 {
        self.queue.max_offset() as i64 / CQ_STORE_UNIT_SIZE as i64
    }

    /// Java's `putMessagePositionInfoWrapper` + `putMessagePositionInfo`: writes entry
    /// `cq_offset`. A record already indexed is skipped (re-dispatch after abnormal recovery).
    /// With an extension, a unit (tagsCode, `store_timestamp`, `bit_map`) is appended first and
    /// its address takes the tagsCode slot; if the unit cannot be written the plain tagsCode is
    /// kept, as Java. (Java appends the unit before it sees that the entry exists already; we
    /// look first, so a re-dispatch leaves no orphan units.)
    pub fn put_message_position_info(
        &self,
        offset: i64,
        size: i32,
        tags_code: i64,
        cq_offset: i64,
        store_timestamp: i64,
        bit_map: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let _w = self.writer.lock().expect("cq writer");
        if offset + size as i64 <= self.max_physic_offset() {
            return Ok(());
        }
        let mut tags_code = tags_code;
        if let Some(ext) = &self.ext {
            let unit = CqExtUnit {
                tags_code,
                msg_store_time: store_timestamp,
                filter_bit_map: bit_map.map(Bytes::copy_from_slice),
            };
            match ext.put(&unit) {
                Some(address) => tags_code = address,
                None => tracing::warn!(topic = %self.topic, queue = self.queue_id, offset,
                    "consume queue ext unit not saved; keeping the plain tagsCode"),
            }
        }
        let expect = cq_offset as u64 * CQ_STORE_UNIT_SIZE as u64;
        let file = self.queue.last_file_or_create(expect)?;
        if file.is_first_create_in_queue() && cq_offset != 0 && file.wrote_position() == 0 {
            self.min_logic_offset
                .store(expect as i64, Ordering::Release);
            self.queue.set_flushed_where(expect);
            self.fill_pre_blank(&file, expect)?;
        }
        if cq_offset != 0 {
            let current = file.file_from_offset() + file.wrote_position() as u64;
            if expect < current {
                tracing::warn!(topic = %self.topic, queue = self.queue_id, expect, current,
                    "consume queue entry built twice");
                return Ok(());
            }
            if expect != current {
                tracing::warn!(topic = %self.topic, queue = self.queue_id, expect, current,
                    "[BUG] consume queue order may be wrong");
            }
        }
        let entry = CqEntry {
            offset,
            size,
            tags_code,
        };
        if !file.append(&entry.encode())? {
            return Err(StoreError::Corrupt(format!(
                "consume queue {}/{} file full at entry {cq_offset}",
                self.topic, self.queue_id
            )));
        }
        self.max_physic_offset
            .store(offset + size as i64, Ordering::Release);
        Ok(())
    }

    fn fill_pre_blank(&self, file: &MappedFile, until: u64) -> std::io::Result<()> {
        let blank = CqEntry {
            offset: 0,
            size: i32::MAX,
            tags_code: 0,
        }
        .encode();
        let until = (until % self.queue.file_size()) as usize;
        let mut pos = 0;
        while pos < until {
            file.append(&blank)?;
            pos += CQ_STORE_UNIT_SIZE;
        }
        Ok(())
    }

    /// The entries from `start_index` to the end of the written part of its file.
    pub fn get_index_buffer(&self, start_index: i64) -> Option<Bytes> {
        let offset = start_index.checked_mul(CQ_STORE_UNIT_SIZE as i64)?;
        if offset < self.min_logic_offset.load(Ordering::Acquire) {
            return None;
        }
        let file = self.queue.find_by_offset(offset as u64, false)?;
        file.select_from((offset as u64 - file.file_from_offset()) as usize)
    }

    /// Entry `index`, if written.
    pub fn entry(&self, index: i64) -> Option<CqEntry> {
        let buf = self.get_index_buffer(index)?;
        (buf.len() >= CQ_STORE_UNIT_SIZE).then(|| CqEntry::decode(&buf[..CQ_STORE_UNIT_SIZE]))
    }

    /// Start index of the file after the one holding `index` (Java's `rollNextFile`).
    pub fn roll_next_file(&self, index: i64) -> i64 {
        let per_file = self.queue.file_size() as i64 / CQ_STORE_UNIT_SIZE as i64;
        index + per_file - index % per_file
    }

    pub fn flush(&self, least_pages: usize) -> Result<bool, StoreError> {
        let mut nothing = self.queue.flush(least_pages)?;
        if let Some(ext) = &self.ext {
            nothing &= ext.flush(least_pages)?;
        }
        Ok(nothing)
    }

    /// Flushes everything written (queue and extension).
    pub fn flush_all(&self) -> Result<(), StoreError> {
        self.queue.flush_all()?;
        if let Some(ext) = &self.ext {
            ext.flush_all()?;
        }
        Ok(())
    }

    /// Java's `getOffsetInQueueByTime`: pick the first file modified at or after `timestamp`
    /// (else the last), then binary-search its entries by the records' store time; the entry
    /// nearest in time when there is no exact match.
    pub fn offset_in_queue_by_time(&self, timestamp: i64, commit_log: &CommitLog) -> i64 {
        let Some(file) = self.file_by_time(timestamp) else {
            return 0;
        };
        let Some(buf) = file.select_from(0) else {
            return 0;
        };
        let unit = CQ_STORE_UNIT_SIZE as i64;
        let min_logic = self.min_logic_offset.load(Ordering::Acquire);
        let from = file.file_from_offset() as i64;
        let mut low = if min_logic > from {
            min_logic - from
        } else {
            0
        };
        let mut high = buf.len() as i64 - unit;
        let (mut target, mut left, mut right) = (-1i64, -1i64, -1i64);
        let (mut left_value, mut right_value) = (-1i64, -1i64);
        let min_phy = commit_log.min_offset();
        while high >= low {
            let mid = (low + high) / (2 * unit) * unit;
            let e = CqEntry::decode(&buf[mid as usize..mid as usize + CQ_STORE_UNIT_SIZE]);
            if e.offset < min_phy {
                low = mid + unit;
                left = mid;
                continue;
            }
            let store_time = commit_log.pickup_store_timestamp(e.offset, e.size.max(0) as usize);
            if store_time < 0 {
                return 0;
            } else if store_time == timestamp {
                target = mid;
                break;
            } else if store_time > timestamp {
                high = mid - unit;
                right = mid;
                right_value = store_time;
            } else {
                low = mid + unit;
                left = mid;
                left_value = store_time;
            }
        }
        let offset = if target != -1 {
            target
        } else if left_value == -1 {
            right
        } else if right_value == -1 {
            left
        } else if (timestamp - left_value).abs() > (timestamp - right_value).abs() {
            right
        } else {
            left
        };
        (from + offset) / unit
    }

    fn file_by_time(&self, timestamp: i64) -> Option<Arc<MappedFile>> {
        let files = self.queue.files();
        for f in &files {
            let modified = std::fs::metadata(f.path())
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            if modified >= timestamp {
                return Some(f.clone());
            }
        }
        files.last().cloned()
    }

    /// Deletes every file (the commitlog is gone).
    pub fn destroy(&self) -> Result<(), StoreError> {
        self.max_physic_offset.store(-1, Ordering::Release);
        self.min_logic_offset.store(0, Ordering::Release);
        self.queue.destroy()?;
        if let Some(ext) = &self.ext {
            ext.destroy()?;
        }
        Ok(())
    }
}

fn read_entry(file: &MappedFile, pos: usize) -> CqEntry {
    file.read_array::<CQ_STORE_UNIT_SIZE>(pos)
        .map(|b| CqEntry::decode(&b))
        .unwrap_or(CqEntry {
            offset: -1,
            size: 0,
            tags_code: 0,
        })
}
