//! `IndexService`: the index files of a store, oldest first (Java's `IndexService`).
//!
//! Keys: for every dispatched record that is not a transaction ROLLBACK, `topic#UNIQ_KEY` and
//! `topic#k` for each non-empty space-separated token `k` of `KEYS`. A record whose commitlog
//! offset is below the current file's endPhyOffset was already indexed and is skipped (this is
//! what makes re-dispatch after recovery idempotent).
//!
//! Files are named by their creation time (`yyyyMMddHHmmssSSS`, local time). When the current
//! file is full a new one starts; the full file is flushed and its endTimestamp returned by
//! [`IndexService::build_index`], for the caller to store as the checkpoint's
//! indexMsgTimestamp (abnormal recovery keeps only index files not newer than that).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use remoting_codec::message::message_const::KEY_SEPARATOR;
use remoting_codec::message::{java_string_hash_code, java_string_hash_continue};
use remoting_codec::message::sysflag::message_sys_flag::{
    get_transaction_value, TRANSACTION_ROLLBACK_TYPE,
};

use super::index_file::{index_hash_of, time_millis_to_human_string, IndexFile, IndexHeader};
use crate::checkpoint::StoreCheckpoint;

/// What the index needs of one dispatched commitlog record.
#[derive(Debug, Clone, Copy)]
pub struct IndexRecord<'a> {
    pub topic: &'a str,
    /// The `KEYS` property (space separated).
    pub keys: Option<&'a str>,
    /// The `UNIQ_KEY` property (client msgId).
    pub uniq_key: Option<&'a str>,
    pub commit_log_offset: i64,
    pub store_timestamp: i64,
    pub sys_flag: i32,
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub msg_size: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryOffsetResult {
    /// Commitlog offsets, newest first; may include hash collisions.
    pub phy_offsets: Vec<i64>,
    /// endTimestamp of the newest index file (0 without files).
    pub index_last_update_timestamp: i64,
    /// endPhyOffset of the newest index file (0 without files).
    pub index_last_update_phyoffset: i64,
}

/// Name and header of one index file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
pub struct IndexFileInfo {
    pub name: String,
    pub header: IndexHeader,
}

pub struct IndexService {
    dir: PathBuf,
    hash_slot_num: u32,
    index_num: u32,
    /// Oldest first. Writers (the single dispatcher, expiry) take the write lock; queries read.
    files: RwLock<Vec<IndexFile>>,
}

impl IndexService {
    /// An index service over `dir` (`<storePathRootDir>/index`) with `maxHashSlotNum` slots and
    /// `maxIndexNum` entries per file. Reads nothing yet: call [`IndexService::load`].
    pub fn open(
        dir: impl AsRef<Path>,
        max_hash_slot_num: u32,
        max_index_num: u32,
    ) -> io::Result<IndexService> {
        // One slot at least (the modulus); two entry numbers at least, since number 0 is unused.
        if max_hash_slot_num < 1 || max_index_num < 2 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "maxHashSlotNum {max_hash_slot_num} must be ≥ 1 and maxIndexNum \
                     {max_index_num} ≥ 2"
                ),
            ));
        }
        Ok(IndexService {
            dir: dir.as_ref().to_path_buf(),
            hash_slot_num: max_hash_slot_num,
            index_num: max_index_num,
            files: RwLock::new(Vec::new()),
        })
    }

    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<IndexFile>> {
        self.files.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Vec<IndexFile>> {
        self.files.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads the files of the directory in name order. Every file must have the configured size.
    /// After an abnormal shutdown, files whose endTimestamp is newer than the checkpoint's
    /// indexMsgTimestamp are deleted: they may lack entries, and re-dispatch rebuilds them.
    pub fn load(&self, last_exit_ok: bool, checkpoint: &StoreCheckpoint) -> io::Result<()> {
        let mut paths = Vec::new();
        match std::fs::read_dir(&self.dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry?;
                    if entry.file_type()?.is_file() {
                        paths.push(entry.path());
                    } else {
                        tracing::warn!(
                            "ignoring {} in the index directory",
                            entry.path().display()
                        );
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        paths.sort();

        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            // A zero-length file is one whose creation was cut short by a crash (open, then
            // set_len): it never held entries. Removed rather than refusing to start.
            if std::fs::metadata(&path)?.len() == 0 {
                tracing::warn!(
                    "removing empty index file {} left by a crash",
                    path.display()
                );
                std::fs::remove_file(&path)?;
                continue;
            }
            let file = IndexFile::open(&path, self.hash_slot_num, self.index_num)?;
            if !last_exit_ok && file.end_timestamp() > checkpoint.index_msg_timestamp() {
                tracing::info!(
                    "abnormal shutdown: deleting index file {} (endTimestamp {} > checkpoint {})",
                    path.display(),
                    file.end_timestamp(),
                    checkpoint.index_msg_timestamp()
                );
                file.destroy()?;
                continue;
            }
            files.push(file);
        }
        *self.write() = files;
        Ok(())
    }

    /// Indexes one record. Returns `Some(endTimestamp)` when a full file was closed and flushed
    /// during this call: the caller sets the checkpoint's indexMsgTimestamp to it and flushes the
    /// checkpoint. (Java flushes the full file on a background thread; we flush it here, once per
    /// `maxIndexNum` keys.)
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn build_index(&self, rec: &IndexRecord<'_>) -> io::Result<Option<i64>> {
        self.build_index_hashed(rec, &KeyHashes::of(rec))
    }

    /// [`build_index`](Self::build_index) with the record's key hashes already computed (for
    /// [`prefetch`](Self::prefetch)).
    pub fn build_index_hashed(
        &self,
        rec: &IndexRecord<'_>,
        hashes: &KeyHashes,
    ) -> io::Result<Option<i64>> {
        let mut files = self.write();
        let mut closed = self.ensure_writable(&mut files)?;

        let Some(current) = files.last() else {
            unreachable!("ensure_writable leaves a file")
        };
        if rec.commit_log_offset < current.end_phy_offset() {
            return Ok(closed);
        }
        if get_transaction_value(rec.sys_flag) == TRANSACTION_ROLLBACK_TYPE {
            return Ok(closed);
        }

        for key_hash in hashes.iter() {
            let (offset, ts) = (rec.commit_log_offset, rec.store_timestamp);
            let put = |files: &mut Vec<IndexFile>| match files.last_mut() {
                Some(f) => f.put_key_hash(key_hash, offset, ts),
                None => false,
            };
            if !put(&mut files) {
                if let Some(ts) = self.ensure_writable(&mut files)? {
                    closed = Some(ts);
                }
                if !put(&mut files) {
                    // A fresh file has room for maxIndexNum − 1 ≥ 1 entries.
                    unreachable!("a new index file is not full");
                }
            }
        }
        Ok(closed)
    }

    /// Starts loading the hash slots of these keys ([`IndexFile::prefetch_slot`]): called
    /// before the record's other dispatch work, so that the loads overlap it.
    pub fn prefetch(&self, hashes: &KeyHashes) {
        let files = self.read();
        if let Some(current) = files.last() {
            for key_hash in hashes.iter() {
                current.prefetch_slot(key_hash);
            }
        }
    }

    /// Makes the last file writable: creates the first file, or a new one after a full one (then
    /// flushes the full one and returns its endTimestamp).
    fn ensure_writable(&self, files: &mut Vec<IndexFile>) -> io::Result<Option<i64>> {
        let (end_phy_offset, end_timestamp, last_name) = match files.last() {
            Some(f) if !f.is_write_full() => return Ok(None),
            Some(f) => (
                f.end_phy_offset(),
                f.end_timestamp(),
                Some(f.name().to_string()),
            ),
            None => (0, 0, None),
        };
        std::fs::create_dir_all(&self.dir)?;
        let path = self
            .dir
            .join(new_file_name(&self.dir, last_name.as_deref()));
        let file = IndexFile::create(
            &path,
            self.hash_slot_num,
            self.index_num,
            end_phy_offset,
            end_timestamp,
        )?;
        files.push(file);
        tracing::info!("created index file {}", path.display());
        if files.len() < 2 {
            return Ok(None);
        }
        let full = &files[files.len() - 2];
        full.flush()?;
        Ok(Some(full.end_timestamp()))
    }

    /// Commitlog offsets of messages with `key` in `topic` stored in [begin, end], newest first,
    /// at most `max_num` (Java's caller first caps it at `maxMsgsNumBatch`, 64). Walks the files
    /// from newest to oldest and stops at the first one that began before `begin`.
    pub fn query(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> QueryOffsetResult {
        let files = self.read();
        let mut result = QueryOffsetResult::default();
        if let Some(last) = files.last() {
            result.index_last_update_timestamp = last.end_timestamp();
            result.index_last_update_phyoffset = last.end_phy_offset();
        }
        let key = build_key(topic, key);
        for f in files.iter().rev() {
            if f.is_time_matched(begin, end) {
                f.select_phy_offsets(&mut result.phy_offsets, &key, max_num, begin, end);
            }
            if f.begin_timestamp() < begin || result.phy_offsets.len() >= max_num {
                break;
            }
        }
        result
    }

    /// Forces every file's pages to disk (full files are flushed when they fill; this is for the
    /// current one, at shutdown).
    pub fn flush(&self) -> io::Result<()> {
        for f in self.read().iter() {
            f.flush()?;
        }
        Ok(())
    }

    /// Deletes the oldest files whose endPhyOffset is below `min_phy_offset` (the commitlog's
    /// new minimum), never the newest file. Returns how many were deleted.
    pub fn delete_expired_files(&self, min_phy_offset: i64) -> io::Result<usize> {
        let mut files = self.write();
        let expired = files
            .iter()
            .take(files.len().saturating_sub(1))
            .take_while(|f| f.end_phy_offset() < min_phy_offset)
            .count();
        for f in files.drain(..expired) {
            tracing::info!("deleting expired index file {}", f.path().display());
            f.destroy()?;
        }
        Ok(expired)
    }

    /// endTimestamp of the newest file (0 without files).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn last_update_timestamp(&self) -> i64 {
        self.read().last().map_or(0, |f| f.end_timestamp())
    }

    /// endPhyOffset of the newest file (0 without files).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn last_update_phy_offset(&self) -> i64 {
        self.read().last().map_or(0, |f| f.end_phy_offset())
    }

    /// The files, oldest first.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub fn files(&self) -> Vec<IndexFileInfo> {
        self.read()
            .iter()
            .map(|f| IndexFileInfo {
                name: f.name().to_string(),
                header: *f.header(),
            })
            .collect()
    }
}

fn build_key(topic: &str, key: &str) -> String {
    format!("{topic}#{key}")
}

/// Calls `f` with each index key of `rec`, as Java's `buildKey` makes it: `topic#key` for the
/// uniq key and for every non-empty key of KEYS (split on spaces). One buffer serves every key.
const KEY_SEPARATOR_CHAR: char = ' ';
const _: () = assert!(KEY_SEPARATOR.len() == 1 && KEY_SEPARATOR.as_bytes()[0] == KEY_SEPARATOR_CHAR as u8);

/// How many key hashes a record keeps without allocating (a uniq key and a few KEYS).
const INLINE_KEYS: usize = 6;

/// The index hashes of a record's keys, in the order they are put: the uniq key, then every
/// non-empty key of KEYS (split on spaces), each as Java's `buildKey` makes it, `topic#key`,
/// hashed without building that string. Computed once for the prefetch and the put.
pub struct KeyHashes {
    inline: [i32; INLINE_KEYS],
    len: usize,
    more: Vec<i32>,
}

impl KeyHashes {
    pub fn of(rec: &IndexRecord<'_>) -> Self {
        let mut hashes = KeyHashes {
            inline: [0; INLINE_KEYS],
            len: 0,
            more: Vec::new(),
        };
        let prefix = java_string_hash_continue(java_string_hash_code(rec.topic), "#");
        let keys = rec
            .keys
            .into_iter()
            // KEY_SEPARATOR as a char, which `split` finds with memchr.
            .flat_map(|k| k.split(KEY_SEPARATOR_CHAR))
            .filter(|k| !k.is_empty());
        for key in rec.uniq_key.into_iter().chain(keys) {
            let hash = index_hash_of(java_string_hash_continue(prefix, key));
            if hashes.len < INLINE_KEYS {
                hashes.inline[hashes.len] = hash;
                hashes.len += 1;
            } else {
                hashes.more.push(hash);
            }
        }
        hashes
    }

    pub fn iter(&self) -> impl Iterator<Item = i32> + '_ {
        self.inline[..self.len].iter().chain(&self.more).copied()
    }
}

/// The creation-time name of a new file. Files are ordered by name, so the name must sort after
/// the newest file's (the clock may have gone back, or that file may come from a broker in
/// another time zone) and must not exist yet (two files within one millisecond): then the
/// newest name plus one, as a 17-digit number, is used instead.
fn new_file_name(dir: &Path, last_name: Option<&str>) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut name = time_millis_to_human_string(now);
    if let Some(last) = last_name {
        // Byte order, the order `load` sorts paths in.
        if name.as_str() <= last {
            name = match last.parse::<u64>() {
                Ok(n) => format!("{:017}", n + 1),
                Err(_) => format!("{last}1"),
            };
        }
    }
    while dir.join(&name).exists() {
        name = match name.parse::<u64>() {
            Ok(n) => format!("{:017}", n + 1),
            Err(_) => format!("{name}1"),
        };
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::index_key_hash;

    /// The hashes are those of the `topic#key` strings Java builds, for ASCII and non-ASCII
    /// topics and keys, empty keys skipped, beyond the inline capacity too.
    #[test]
    fn key_hashes_are_the_hashes_of_the_built_keys() {
        let keys = "k1  é-key 𝄞 a b c d e f";
        for (topic, uniq) in [("T", Some("U1")), ("主题", None), ("", Some("")), ("T", None)] {
            let rec = IndexRecord {
                topic,
                keys: Some(keys),
                uniq_key: uniq,
                commit_log_offset: 0,
                store_timestamp: 0,
                sys_flag: 0,
                msg_size: 0,
            };
            let built: Vec<i32> = uniq
                .into_iter()
                .chain(keys.split(' ').filter(|k| !k.is_empty()))
                .map(|k| index_key_hash(&format!("{topic}#{k}")))
                .collect();
            assert!(built.len() > INLINE_KEYS);
            assert_eq!(KeyHashes::of(&rec).iter().collect::<Vec<_>>(), built);
        }
    }
}
