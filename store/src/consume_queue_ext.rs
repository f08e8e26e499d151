//! `ConsumeQueueExt`: the consume-queue extension of one topic queue,
//! `consumequeue_ext/<topic>/<queueId>/<%020d>` (files of `mappedFileSizeConsumeQueueExt`,
//! 48 MiB by default), written only when `enableConsumeQueueExt` is on.
//!
//! Units are appended one after another, big-endian as everything in the store:
//!
//! ```text
//! size i16 | tagsCode i64 | msgStoreTime i64 | bitMapSize i16 | filterBitMap [bitMapSize]
//! ```
//!
//! `size` = 20 + bitMapSize (at most `i16::MAX`). A unit never crosses a file: when it would
//! leave less than 4 bytes (`END_BLANK_DATA_LENGTH`) at the end, `-1` (an i16) is written at the
//! write position and the file counts as full; a reader (recovery) moves to the next file at a
//! size ≤ 0.
//!
//! The consume-queue entry of a message with a unit holds, in its tagsCode slot, the unit's
//! *address*: its absolute offset in the extension plus `i64::MIN` ([`decorate`]), so every
//! address is ≤ `i32::MIN − 1` ([`MAX_ADDR`]) while a real tagsCode (a tag's `String.hashCode`,
//! a delivery time) is not; [`is_ext_addr`] tells them apart and [`undecorate`] gives the
//! offset back. The unit holds the real tagsCode.
//!
//! Java does not check a unit's bounds when reading a corrupt one; we answer `None` instead.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::mapped_file_queue::MappedFileQueue;
use crate::StoreError;

/// Bytes left free at the end of a file (room for the `-1` end mark).
pub const END_BLANK_DATA_LENGTH: usize = 4;
/// The highest address (`Integer.MIN_VALUE − 1`).
pub const MAX_ADDR: i64 = i32::MIN as i64 - 1;
/// The highest offset an address can carry.
pub const MAX_REAL_OFFSET: i64 = MAX_ADDR - i64::MIN;
/// size + tagsCode + msgStoreTime + bitMapSize.
pub const MIN_EXT_UNIT_SIZE: usize = 2 + 8 * 2 + 2;
/// `Short.MAX_VALUE`.
pub const MAX_EXT_UNIT_SIZE: usize = i16::MAX as usize;

/// Java's `ConsumeQueueExt.isExtAddr`: whether a consume-queue tagsCode is an address into the
/// extension.
pub fn is_ext_addr(tags_code: i64) -> bool {
    tags_code <= MAX_ADDR
}

/// Java's `decorate`: the address of an extension offset (an address is left as it is).
pub fn decorate(offset: i64) -> i64 {
    if is_ext_addr(offset) {
        offset
    } else {
        offset.wrapping_add(i64::MIN)
    }
}

/// Java's `unDecorate`: the extension offset of an address (anything else is left as it is).
pub fn undecorate(address: i64) -> i64 {
    if is_ext_addr(address) {
        address.wrapping_sub(i64::MIN)
    } else {
        address
    }
}

/// Java's `ConsumeQueueExt.CqExtUnit`: what the extension keeps of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CqExtUnit {
    /// The real tagsCode (the consume queue holds the unit's address instead).
    pub tags_code: i64,
    /// The message's store time.
    pub msg_store_time: i64,
    /// The filter bitmap (Java's `getFilterBitMap`: `None` when the unit has none).
    pub filter_bit_map: Option<Bytes>,
}

impl CqExtUnit {
    /// Bytes the unit takes in the file.
    pub fn size(&self) -> usize {
        MIN_EXT_UNIT_SIZE + self.filter_bit_map.as_ref().map_or(0, |b| b.len())
    }

    /// The unit's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let bit_map: &[u8] = self.filter_bit_map.as_deref().unwrap_or_default();
        let size = self.size();
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&(size as i16).to_be_bytes());
        out.extend_from_slice(&self.tags_code.to_be_bytes());
        out.extend_from_slice(&self.msg_store_time.to_be_bytes());
        out.extend_from_slice(&(bit_map.len() as i16).to_be_bytes());
        out.extend_from_slice(bit_map);
        out
    }

    /// The unit at the start of `buf` (Java's `CqExtUnit.read`): `None` at a size ≤ 0 (end
    /// mark or nothing written) or when the unit does not fit in `buf`.
    pub fn decode(buf: &Bytes) -> Option<Self> {
        let size = i16::from_be_bytes(buf.get(0..2)?.try_into().ok()?);
        if size < 1 {
            return None;
        }
        let head = buf.get(2..MIN_EXT_UNIT_SIZE)?;
        let tags_code = i64::from_be_bytes(head[0..8].try_into().ok()?);
        let msg_store_time = i64::from_be_bytes(head[8..16].try_into().ok()?);
        let bit_map_size = i16::from_be_bytes(head[16..18].try_into().ok()?);
        let filter_bit_map = if bit_map_size < 1 {
            None
        } else {
            let end = MIN_EXT_UNIT_SIZE + bit_map_size as usize;
            if end > buf.len() {
                return None;
            }
            Some(buf.slice(MIN_EXT_UNIT_SIZE..end))
        };
        Some(Self {
            tags_code,
            msg_store_time,
            filter_bit_map,
        })
    }
}

/// The extension files of one topic queue.
pub struct ConsumeQueueExt {
    queue: MappedFileQueue,
    file_size: usize,
    topic_dir: PathBuf,
}

impl ConsumeQueueExt {
    /// `ext_root` is `<storePathRootDir>/consumequeue_ext`.
    pub fn new(ext_root: &Path, topic: &str, queue_id: i32, file_size: u64) -> Self {
        let topic_dir = ext_root.join(topic);
        Self {
            queue: MappedFileQueue::new(topic_dir.join(queue_id.to_string()), file_size),
            file_size: file_size as usize,
            topic_dir,
        }
    }

    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn files(&self) -> &MappedFileQueue {
        &self.queue
    }

    pub fn load(&self) -> Result<(), StoreError> {
        self.queue.load()
    }

    /// Java's `recover`: walks every file unit by unit (a size ≤ 0 ends a file) and cuts the
    /// extension after the last unit of the last file. The consume queue then cuts it again
    /// after the unit its last entry points at ([`truncate_by_max_address`](Self::truncate_by_max_address)).
    pub fn recover(&self) -> Result<(), StoreError> {
        // Java walks every file but keeps only the end found in the last one.
        let Some(last) = self.queue.last_file() else {
            return Ok(());
        };
        let mut pos = 0usize;
        while let Some(size) = last.read_array::<2>(pos).map(i16::from_be_bytes) {
            if size <= 0 {
                break;
            }
            pos += size as usize;
        }
        let end = last.file_from_offset() + pos.min(self.file_size) as u64;
        self.queue.set_flushed_where(end);
        self.queue.truncate_dirty_files(end)
    }

    /// Java's `put`: appends a unit; returns its address, `None` when it cannot be written
    /// (too large, the address space is used up, or the file cannot be created): the consume
    /// queue then keeps the plain tagsCode. Not thread safe: the queue's writer calls it.
    pub fn put(&self, unit: &CqExtUnit) -> Option<i64> {
        let size = unit.size();
        if size > MAX_EXT_UNIT_SIZE {
            tracing::error!(size, "consume queue ext unit larger than {MAX_EXT_UNIT_SIZE}");
            return None;
        }
        if self.queue.max_offset() as i64 + size as i64 > MAX_REAL_OFFSET {
            tracing::warn!("consume queue ext address space used up");
            return None;
        }
        let bytes = unit.encode();
        for _ in 0..3 {
            let file = match self.queue.last_file_or_create(0) {
                Ok(f) => f,
                Err(e) => {
                    tracing::error!(error = %e, "cannot create a consume queue ext file");
                    continue;
                }
            };
            let wrote = file.wrote_position();
            let room = self
                .file_size
                .saturating_sub(wrote + END_BLANK_DATA_LENGTH);
            let written = if size > room {
                // The end mark; the file is full from now on.
                file.append(&(-1i16).to_be_bytes()).map(|_| {
                    file.mark_full();
                    false
                })
            } else {
                file.append(&bytes)
            };
            match written {
                Ok(true) => return Some(decorate((file.file_from_offset() + wrote as u64) as i64)),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(error = %e, "cannot write a consume queue ext unit");
                    return None;
                }
            }
        }
        None
    }

    /// Java's `get`: the unit at `address` (`None` for a tagsCode that is no address, or an
    /// address outside the written data). Java reads address 0 in the first file when the
    /// file at 0 is gone (whatever unit starts there); we answer `None`.
    pub fn get(&self, address: i64) -> Option<CqExtUnit> {
        if !is_ext_addr(address) {
            return None;
        }
        let offset = undecorate(address) as u64;
        let file = self.queue.find_by_offset(offset, false)?;
        let pos = (offset % self.file_size as u64) as usize;
        CqExtUnit::decode(&file.select_from(pos)?)
    }

    /// Java's `truncateByMinAddress`: deletes the files that end before `min_address` (the
    /// unit of the queue's first kept entry).
    pub fn truncate_by_min_address(&self, min_address: i64) {
        if !is_ext_addr(min_address) {
            return;
        }
        let offset = undecorate(min_address) as u64;
        let deleted = self.queue.delete_files_ending_before(offset);
        if deleted > 0 {
            tracing::info!(deleted, offset, "consume queue ext files deleted by min address");
        }
    }

    /// Java's `truncateByMaxAddress`: cuts the extension after the unit at `max_address` (the
    /// unit of the queue's last kept entry).
    pub fn truncate_by_max_address(&self, max_address: i64) -> Result<(), StoreError> {
        if !is_ext_addr(max_address) {
            return Ok(());
        }
        let Some(unit) = self.get(max_address) else {
            tracing::error!(max_address, "[BUG] consume queue ext unit not found");
            return Ok(());
        };
        self.queue
            .truncate_dirty_files(undecorate(max_address) as u64 + unit.size() as u64)
    }

    pub fn flush(&self, least_pages: usize) -> Result<bool, StoreError> {
        self.queue.flush(least_pages)
    }

    pub fn flush_all(&self) -> Result<(), StoreError> {
        self.queue.flush_all()
    }

    /// Java's `getMaxAddress`: the address the next unit would get (in the current file).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn max_address(&self) -> i64 {
        decorate(self.queue.max_offset() as i64)
    }

    /// Java's `getMinAddress`: the address of the first file's start.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn min_address(&self) -> i64 {
        decorate(self.queue.min_offset() as i64)
    }

    /// Deletes every file, the queue's directory and, when nothing else is left in it, the
    /// topic's (as Java's `MappedFileQueue.destroy`).
    pub fn destroy(&self) -> Result<(), StoreError> {
        self.queue.destroy()?;
        let _ = std::fs::remove_dir(self.queue.dir());
        let _ = std::fs::remove_dir(&self.topic_dir);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit read the way Java's `ConsumeQueueExt.get` does, from the files on disk: the
    /// address minus `Long.MIN_VALUE` is the offset, the file is `%020d` of `offset − offset %
    /// fileSize`, then `getShort`, `getLong`, `getLong`, `getShort`, `get(byte[])`, big-endian.
    fn java_read(dir: &Path, file_size: u64, address: i64) -> (i16, i64, i64, Vec<u8>) {
        assert!(address < i32::MIN as i64);
        let offset = (address as i128 - i64::MIN as i128) as u64;
        let name = format!("{:020}", offset - offset % file_size);
        let data = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(data.len() as u64, file_size);
        let p = (offset % file_size) as usize;
        let size = i16::from_be_bytes(data[p..p + 2].try_into().unwrap());
        let tags = i64::from_be_bytes(data[p + 2..p + 10].try_into().unwrap());
        let time = i64::from_be_bytes(data[p + 10..p + 18].try_into().unwrap());
        let bm = i16::from_be_bytes(data[p + 18..p + 20].try_into().unwrap());
        let bits = data[p + 20..p + 20 + bm.max(0) as usize].to_vec();
        assert_eq!(size as usize, 20 + bits.len());
        (size, tags, time, bits)
    }

    fn unit(tags_code: i64, time: i64, bits: Option<&[u8]>) -> CqExtUnit {
        CqExtUnit {
            tags_code,
            msg_store_time: time,
            filter_bit_map: bits.map(Bytes::copy_from_slice),
        }
    }

    #[test]
    fn addresses_are_decorated_as_java() {
        assert_eq!(MAX_ADDR, -2_147_483_649);
        assert_eq!(MAX_REAL_OFFSET, 9_223_372_034_707_292_159);
        assert_eq!(decorate(0), i64::MIN);
        assert_eq!(decorate(22), i64::MIN + 22);
        assert_eq!(undecorate(i64::MIN + 22), 22);
        assert_eq!(decorate(i64::MIN + 5), i64::MIN + 5); // already an address
        assert_eq!(undecorate(-5), -5); // a tagsCode
        assert!(is_ext_addr(decorate(MAX_REAL_OFFSET)));
        assert_eq!(undecorate(decorate(MAX_REAL_OFFSET)), MAX_REAL_OFFSET);
        // no tagsCode (an int hash, a positive delivery time) is an address
        assert!(!is_ext_addr(i32::MIN as i64));
        assert!(!is_ext_addr(0));
        assert!(!is_ext_addr(1_700_000_000_000));
        for offset in [0, 1, 4096, 48 << 20, 1 << 40] {
            assert!(is_ext_addr(decorate(offset)));
            assert_eq!(undecorate(decorate(offset)), offset);
        }
    }

    #[test]
    fn unit_bytes_are_java_s_layout() {
        let u = unit(0x0102_0304, 0x1122_3344_5566_7788, Some(&[0xaa, 0xbb]));
        assert_eq!(u.size(), 22);
        assert_eq!(
            u.encode(),
            [
                0, 22, 0, 0, 0, 0, 1, 2, 3, 4, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0,
                2, 0xaa, 0xbb
            ]
        );
        let none = unit(-7, 1, None);
        assert_eq!(none.size(), MIN_EXT_UNIT_SIZE);
        assert_eq!(&none.encode()[18..20], &[0, 0]);
        assert_eq!(CqExtUnit::decode(&Bytes::from(none.encode())), Some(none));
        assert_eq!(CqExtUnit::decode(&Bytes::from_static(&[0xff, 0xff, 0, 0])), None);
        assert_eq!(CqExtUnit::decode(&Bytes::from(u.encode()[..21].to_vec())), None);
    }

    #[test]
    fn units_written_are_read_back_as_java_reads_them() {
        let tmp = tempfile::tempdir().unwrap();
        let size = 100u64;
        let dir = tmp.path().join("T").join("3");
        let ext = ConsumeQueueExt::new(tmp.path(), "T", 3, size);
        let bits = [0x01u8, 0x80, 0x10];
        let mut addrs = Vec::new();
        for i in 0..6i64 {
            let u = unit(1000 + i, 1_700_000_000_000 + i, (i % 2 == 0).then_some(&bits[..]));
            addrs.push(ext.put(&u).unwrap());
        }
        // 23, 20, 23, 20 bytes fill file 0 up to 86; the fifth (23) would leave < 4 bytes:
        // file 0 gets the -1 end mark at 86, units 4 and 5 go to file 100.
        let offsets: Vec<i64> = addrs.iter().map(|&a| undecorate(a)).collect();
        assert_eq!(offsets, [0, 23, 43, 66, 100, 123]);
        let file0 = std::fs::read(dir.join(format!("{:020}", 0))).unwrap();
        assert_eq!(&file0[86..88], &[0xff, 0xff]);
        for (i, &a) in addrs.iter().enumerate() {
            let (sz, tags, time, bm) = java_read(&dir, size, a);
            let with_bits = i % 2 == 0;
            assert_eq!(sz, if with_bits { 23 } else { 20 });
            assert_eq!(tags, 1000 + i as i64);
            assert_eq!(time, 1_700_000_000_000 + i as i64);
            assert_eq!(bm, if with_bits { bits.to_vec() } else { vec![] });
        }
        ext.flush_all().unwrap();
        drop(ext);

        // Reopen: load + recover, then read by address and append after the last unit.
        let ext = ConsumeQueueExt::new(tmp.path(), "T", 3, size);
        ext.load().unwrap();
        ext.recover().unwrap();
        assert_eq!(undecorate(ext.max_address()), 143);
        assert_eq!(ext.min_address(), decorate(0));
        let u = ext.get(addrs[4]).unwrap();
        assert_eq!((u.tags_code, u.filter_bit_map.as_deref()), (1004, Some(&bits[..])));
        assert_eq!(ext.get(addrs[1]).unwrap().filter_bit_map, None);
        assert_eq!(ext.get(1004), None); // a tagsCode
        assert_eq!(ext.get(decorate(143)), None); // nothing written there
        let next = ext.put(&unit(9, 9, None)).unwrap();
        assert_eq!(undecorate(next), 143);
    }

    #[test]
    fn recovery_cuts_a_torn_tail_and_truncation_by_max_address() {
        let tmp = tempfile::tempdir().unwrap();
        let ext = ConsumeQueueExt::new(tmp.path(), "T", 0, 1024);
        let addrs: Vec<i64> = (0..5).map(|i| ext.put(&unit(i, i, None)).unwrap()).collect();
        ext.flush_all().unwrap();
        drop(ext);
        // A torn write after the fifth unit: half a size field of garbage is no unit
        // (Java reads the short 0x0000 → end); a whole bogus size would be skipped by Java too.
        let path = tmp.path().join("T/0").join(format!("{:020}", 0));
        let mut data = std::fs::read(&path).unwrap();
        data[100] = 0;
        data[101] = 0;
        data[102] = 0x55; // stale byte beyond the end
        std::fs::write(&path, &data).unwrap();

        let ext = ConsumeQueueExt::new(tmp.path(), "T", 0, 1024);
        ext.load().unwrap();
        ext.recover().unwrap();
        assert_eq!(undecorate(ext.max_address()), 100);
        // The consume queue kept only three entries: cut after the third unit.
        ext.truncate_by_max_address(addrs[2]).unwrap();
        assert_eq!(undecorate(ext.max_address()), 60);
        assert_eq!(ext.get(addrs[3]), None);
        let data = std::fs::read(&path).unwrap();
        assert!(data[60..].iter().all(|&b| b == 0), "stale tail zeroed");
        assert_eq!(undecorate(ext.put(&unit(7, 7, None)).unwrap()), 60);
        ext.truncate_by_max_address(5).unwrap(); // not an address: nothing
        assert_eq!(undecorate(ext.max_address()), 80);
    }

    #[test]
    fn files_before_the_min_address_are_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let ext = ConsumeQueueExt::new(tmp.path(), "T", 1, 64);
        // 20-byte units, three per 64-byte file (a fourth would leave < 4 bytes).
        let addrs: Vec<i64> = (0..7).map(|i| ext.put(&unit(i, i, None)).unwrap()).collect();
        let offsets: Vec<i64> = addrs.iter().map(|&a| undecorate(a)).collect();
        assert_eq!(offsets, [0, 20, 40, 64, 84, 104, 128]);
        assert_eq!(ext.files().files().len(), 3);
        // first kept entry's unit at 104 (file 64): file 0 (tail 64 < 104) goes, file 64 stays
        ext.truncate_by_min_address(addrs[5]);
        let names: Vec<u64> = ext
            .files()
            .files()
            .iter()
            .map(|f| f.file_from_offset())
            .collect();
        assert_eq!(names, [64, 128]);
        assert!(!tmp.path().join("T/1").join(format!("{:020}", 0)).exists());
        assert_eq!(ext.min_address(), decorate(64));
        assert_eq!(ext.get(addrs[0]), None);
        assert_eq!(ext.get(addrs[5]).unwrap().tags_code, 5);
        // At a file's start (tail == min, Java's strict `<`): that file stays.
        ext.truncate_by_min_address(decorate(128));
        assert_eq!(ext.files().files().len(), 2);
        ext.truncate_by_min_address(1); // not an address
        ext.destroy().unwrap();
        assert!(!tmp.path().join("T").exists());
    }

    #[test]
    fn oversized_units_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let ext = ConsumeQueueExt::new(tmp.path(), "T", 0, 1 << 20);
        let big = vec![0u8; MAX_EXT_UNIT_SIZE - MIN_EXT_UNIT_SIZE + 1];
        assert_eq!(ext.put(&unit(1, 1, Some(&big))), None);
        let fits = vec![0u8; MAX_EXT_UNIT_SIZE - MIN_EXT_UNIT_SIZE];
        assert!(ext.put(&unit(1, 1, Some(&fits))).is_some());
    }
}
