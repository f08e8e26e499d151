//! One index file, byte-compatible with Java's `IndexFile` (all integers big-endian):
//!
//! ```text
//! header (40 B)     beginTimestamp i64 | endTimestamp i64 | beginPhyOffset i64 | endPhyOffset i64
//!                   | hashSlotCount i32 (slots in use) | indexCount i32 (next entry number)
//! slots             hashSlotNum × i32: number of the newest entry whose keyHash % hashSlotNum
//!                   is this slot; 0 = empty
//! entries           indexNum × 20 B: keyHash i32 | commitlog offset i64
//!                   | timeDiff i32 (seconds since beginTimestamp) | previous entry number i32
//! ```
//!
//! Entry numbers start at 1: entry 0 is never written, so 0 can mean "no entry" in slots and
//! chains, and a file is full when indexCount reaches indexNum (holding indexNum − 1 entries).
//! A fresh file's header says indexCount 0 on disk until its first entry; it is read as 1.
//!
//! The header is cached in memory and written through on every change, as Java does.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;
use remoting_codec::message::java_string_hash_code;

pub const INDEX_HEADER_SIZE: usize = 40;
pub const HASH_SLOT_SIZE: usize = 4;
pub const INDEX_ENTRY_SIZE: usize = 20;

const BEGIN_TIMESTAMP: usize = 0;
const END_TIMESTAMP: usize = 8;
const BEGIN_PHY_OFFSET: usize = 16;
const END_PHY_OFFSET: usize = 24;
const HASH_SLOT_COUNT: usize = 32;
const INDEX_COUNT: usize = 36;

/// The 40-byte header, as held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexHeader {
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    pub begin_phy_offset: i64,
    pub end_phy_offset: i64,
    pub hash_slot_count: i32,
    pub index_count: i32,
}

/// `abs(String.hashCode(key))`, and 0 when the hash is `i32::MIN` (whose abs overflows).
pub fn index_key_hash(key: &str) -> i32 {
    index_hash_of(java_string_hash_code(key))
}

/// [`index_key_hash`] of a key whose Java `hashCode` is `java_hash`.
pub fn index_hash_of(java_hash: i32) -> i32 {
    java_hash.checked_abs().unwrap_or(0)
}

/// Java's `UtilAll.timeMillisToHumanString`: `yyyyMMddHHmmssSSS` in the local time zone (the
/// process's `TZ`, through `localtime_r`). Index files are named by it.
pub fn time_millis_to_human_string(ms: i64) -> String {
    let secs = ms.div_euclid(1000) as libc::time_t;
    // SAFETY: `tm` is a plain C struct (all-zero is valid); both pointers are to live locals.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() }
        || unsafe { !libc::gmtime_r(&secs, &mut tm).is_null() };
    if !ok {
        // Out of the C library's range; still 17 digits and ordered.
        return format!("{:017}", ms.max(0));
    }
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        ms.rem_euclid(1000)
    )
}

pub struct IndexFile {
    path: PathBuf,
    name: String,
    hash_slot_num: u32,
    index_num: u32,
    header: IndexHeader,
    /// SAFETY invariant: the file is only changed through this map while the store lock is
    /// held, and nobody truncates it while mapped.
    mmap: MmapMut,
}

impl IndexFile {
    pub fn file_size(hash_slot_num: u32, index_num: u32) -> u64 {
        INDEX_HEADER_SIZE as u64
            + hash_slot_num as u64 * HASH_SLOT_SIZE as u64
            + index_num as u64 * INDEX_ENTRY_SIZE as u64
    }

    /// Creates a new zero-filled file. A file that follows a full one starts with begin = end =
    /// the full file's end offset and timestamp (Java does the same; the first entry then
    /// overwrites the begin values).
    pub fn create(
        path: &Path,
        hash_slot_num: u32,
        index_num: u32,
        end_phy_offset: i64,
        end_timestamp: i64,
    ) -> io::Result<IndexFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        file.set_len(Self::file_size(hash_slot_num, index_num))?;
        let mut f = Self::map(path, &file, hash_slot_num, index_num)?;
        if end_phy_offset > 0 {
            f.set_long(BEGIN_PHY_OFFSET, end_phy_offset);
            f.set_long(END_PHY_OFFSET, end_phy_offset);
        }
        if end_timestamp > 0 {
            f.set_long(BEGIN_TIMESTAMP, end_timestamp);
            f.set_long(END_TIMESTAMP, end_timestamp);
        }
        Ok(f)
    }

    /// Opens an existing file; its length must be exactly what the slot and entry numbers give.
    pub fn open(path: &Path, hash_slot_num: u32, index_num: u32) -> io::Result<IndexFile> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let expected = Self::file_size(hash_slot_num, index_num);
        let actual = file.metadata()?.len();
        if actual != expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "index file {} is {actual} bytes, but maxHashSlotNum {hash_slot_num} and \
                     maxIndexNum {index_num} give {expected}",
                    path.display()
                ),
            ));
        }
        Self::map(path, &file, hash_slot_num, index_num)
    }

    fn map(
        path: &Path,
        file: &std::fs::File,
        hash_slot_num: u32,
        index_num: u32,
    ) -> io::Result<IndexFile> {
        // SAFETY: see the `mmap` field invariant.
        let mmap = unsafe { MmapMut::map_mut(file)? };
        let mut f = IndexFile {
            path: path.to_path_buf(),
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            hash_slot_num,
            index_num,
            header: IndexHeader {
                begin_timestamp: 0,
                end_timestamp: 0,
                begin_phy_offset: 0,
                end_phy_offset: 0,
                hash_slot_count: 0,
                index_count: 1,
            },
            mmap,
        };
        f.header = IndexHeader {
            begin_timestamp: f.long(BEGIN_TIMESTAMP),
            end_timestamp: f.long(END_TIMESTAMP),
            begin_phy_offset: f.long(BEGIN_PHY_OFFSET),
            end_phy_offset: f.long(END_PHY_OFFSET),
            hash_slot_count: f.int(HASH_SLOT_COUNT),
            index_count: f.int(INDEX_COUNT).max(1),
        };
        Ok(f)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn header(&self) -> &IndexHeader {
        &self.header
    }

    pub fn begin_timestamp(&self) -> i64 {
        self.header.begin_timestamp
    }

    pub fn end_timestamp(&self) -> i64 {
        self.header.end_timestamp
    }

    pub fn end_phy_offset(&self) -> i64 {
        self.header.end_phy_offset
    }

    pub fn is_write_full(&self) -> bool {
        self.header.index_count as i64 >= self.index_num as i64
    }

    /// Java's `isTimeMatched`: does [begin, end] overlap the file's time span?
    pub fn is_time_matched(&self, begin: i64, end: i64) -> bool {
        let (b, e) = (self.header.begin_timestamp, self.header.end_timestamp);
        (begin < b && end > e) || (begin >= b && begin <= e) || (end >= b && end <= e)
    }

    fn long(&self, pos: usize) -> i64 {
        i64::from_be_bytes(self.mmap[pos..pos + 8].try_into().unwrap())
    }

    fn int(&self, pos: usize) -> i32 {
        i32::from_be_bytes(self.mmap[pos..pos + 4].try_into().unwrap())
    }

    fn put_long(&mut self, pos: usize, v: i64) {
        self.mmap[pos..pos + 8].copy_from_slice(&v.to_be_bytes());
    }

    fn put_int(&mut self, pos: usize, v: i32) {
        self.mmap[pos..pos + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets a header long in memory and in the file.
    fn set_long(&mut self, pos: usize, v: i64) {
        match pos {
            BEGIN_TIMESTAMP => self.header.begin_timestamp = v,
            END_TIMESTAMP => self.header.end_timestamp = v,
            BEGIN_PHY_OFFSET => self.header.begin_phy_offset = v,
            _ => self.header.end_phy_offset = v,
        }
        self.put_long(pos, v);
    }

    /// Starts loading the hash slot of `key_hash` into the cache, so that a `put_key` a little
    /// later does not wait for it. The slot table (`maxHashSlotNum` × 4 bytes, 20 MB by
    /// default) is read at a random place per key: a cache and TLB miss each time, which perf
    /// showed as a tenth of the broker's CPU under 64 synchronous senders, nearly all on that
    /// one load.
    pub fn prefetch_slot(&self, key_hash: i32) {
        let pos = self.slot_pos(key_hash);
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let slot = self.mmap[pos..pos + HASH_SLOT_SIZE].as_ptr();
            // SAFETY: a prefetch is only a hint: it never faults and changes nothing the
            // program can observe; the address is inside the mapping regardless.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(slot as *const i8) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = pos;
    }

    fn slot_pos(&self, key_hash: i32) -> usize {
        INDEX_HEADER_SIZE + (key_hash as u32 % self.hash_slot_num) as usize * HASH_SLOT_SIZE
    }

    fn entry_pos(&self, number: i32) -> usize {
        INDEX_HEADER_SIZE
            + self.hash_slot_num as usize * HASH_SLOT_SIZE
            + number as usize * INDEX_ENTRY_SIZE
    }

    /// Adds `key` as the next entry; false when the file is full.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn put_key(&mut self, key: &str, phy_offset: i64, store_timestamp: i64) -> bool {
        self.put_key_hash(index_key_hash(key), phy_offset, store_timestamp)
    }

    /// [`put_key`](Self::put_key) of a key whose [`index_key_hash`] is `key_hash` (an entry
    /// holds only the hash).
    pub fn put_key_hash(&mut self, key_hash: i32, phy_offset: i64, store_timestamp: i64) -> bool {
        let count = self.header.index_count;
        if count as i64 >= self.index_num as i64 {
            return false;
        }
        let slot_pos = self.slot_pos(key_hash);
        let mut prev = self.int(slot_pos);
        if prev <= 0 || prev > count {
            prev = 0;
        }
        // Seconds since the file's first entry, computed before a first entry sets
        // beginTimestamp (so a file that follows a full one measures its first entry from the
        // previous file's end, as Java does).
        let time_diff = if self.header.begin_timestamp <= 0 {
            0
        } else {
            ((store_timestamp - self.header.begin_timestamp) / 1000).clamp(0, i32::MAX as i64)
        };
        let pos = self.entry_pos(count);
        self.put_int(pos, key_hash);
        self.put_long(pos + 4, phy_offset);
        self.put_int(pos + 12, time_diff as i32);
        self.put_int(pos + 16, prev);
        self.put_int(slot_pos, count);

        if count <= 1 {
            self.set_long(BEGIN_PHY_OFFSET, phy_offset);
            self.set_long(BEGIN_TIMESTAMP, store_timestamp);
        }
        if prev == 0 {
            self.header.hash_slot_count += 1;
            self.put_int(HASH_SLOT_COUNT, self.header.hash_slot_count);
        }
        self.header.index_count = count + 1;
        self.put_int(INDEX_COUNT, count + 1);
        self.set_long(END_PHY_OFFSET, phy_offset);
        self.set_long(END_TIMESTAMP, store_timestamp);
        true
    }

    /// Appends to `out` (up to `max_num` in all) the commitlog offsets of entries whose keyHash
    /// equals `key`'s and whose time lies in [begin, end], newest first. Hash collisions are not
    /// filtered out: callers re-check the real key.
    pub fn select_phy_offsets(
        &self,
        out: &mut Vec<i64>,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) {
        let count = self.header.index_count;
        let key_hash = index_key_hash(key);
        let first = self.int(self.slot_pos(key_hash));
        if first <= 0 || first > count || count <= 1 {
            return;
        }
        // Entry numbers that lie inside the file; a corrupt header or chain must not read past it.
        let in_file = |n: i32| (n as i64) < self.index_num as i64;
        let mut next = first;
        // A chain is at most `count` long; the bound stops a corrupt cyclic chain.
        for _ in 0..count {
            if out.len() >= max_num || !in_file(next) {
                break;
            }
            let pos = self.entry_pos(next);
            let hash_read = self.int(pos);
            let phy_offset = self.long(pos + 4);
            let time_diff = self.int(pos + 12);
            let prev = self.int(pos + 16);
            if time_diff < 0 {
                break;
            }
            let time_read = self.header.begin_timestamp + time_diff as i64 * 1000;
            if hash_read == key_hash && time_read >= begin && time_read <= end {
                out.push(phy_offset);
            }
            if prev <= 0 || prev > count || prev == next || time_read < begin {
                break;
            }
            next = prev;
        }
    }

    /// Forces the mapped pages to disk.
    pub fn flush(&self) -> io::Result<()> {
        self.mmap.flush()
    }

    /// Unmaps and deletes the file.
    pub fn destroy(self) -> io::Result<()> {
        let path = self.path.clone();
        drop(self);
        std::fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_is_abs_of_java_hash() {
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE
        assert_eq!(java_string_hash_code("polygenelubricants"), i32::MIN);
        assert_eq!(index_key_hash("polygenelubricants"), 0);
        let neg = "StoreTopicA#KA-1";
        assert_eq!(index_key_hash(neg), java_string_hash_code(neg).abs());
    }

    #[test]
    fn human_string_has_17_digits() {
        let s = time_millis_to_human_string(1_795_243_834_073);
        assert_eq!(s.len(), 17);
        assert!(s.ends_with("073"));
        assert!(s.starts_with("2026112"));
    }
}
