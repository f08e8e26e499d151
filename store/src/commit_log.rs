//! `CommitLog`: every message of every topic, appended to one sequence of mapped files in the
//! stored record format of `remoting_codec::message::record`.
//!
//! Appends are serialised under one put lock, as in Java. A record is encoded (body CRC
//! included) before the lock is taken; under the lock only the fields that depend on the
//! position are patched in — QUEUEOFFSET from the topic-queue table, PHYSICALOFFSET, and
//! STORETIMESTAMP (Java takes the time at lock acquisition, so store times never go back
//! along the log) — and the bytes are copied into the mapping. A batch is written contiguously,
//! all with one store time. When the record (or batch) plus 8 bytes does not fit in the rest of
//! the file, an 8-byte BLANK record (TOTALSIZE = the rest of the file, magic `0xCBD43194`) ends
//! the file and the append goes to the next file; a record never spans files.
//!
//! PREPARED and ROLLBACK records get queue offset 0 and do not advance the table (they are
//! never dispatched to a consume queue), as Java's `DefaultAppendMessageCallback`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use bytes::{BufMut, Bytes, BytesMut};
use remoting_codec::message::ids::OffsetMessageId;
use remoting_codec::message::record::{PHY_POS_POSITION, QUEUE_OFFSET_POSITION};
use remoting_codec::message::sysflag::message_sys_flag::{
    get_transaction_value, BORNHOST_V6_FLAG, TRANSACTION_PREPARED_TYPE, TRANSACTION_ROLLBACK_TYPE,
};
use remoting_codec::message::{MessageError, StoredMessage, BLANK_MAGIC_CODE};

use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;
use crate::StoreError;

/// Java's `END_FILE_MIN_BLANK_LENGTH`: room always left for the BLANK record.
pub const END_FILE_MIN_BLANK_LENGTH: usize = 8;

/// Java's `AppendMessageStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendMessageStatus {
    PutOk,
    EndOfFile,
    MessageSizeExceeded,
    PropertiesSizeExceeded,
    UnknownError,
}

/// Java's `AppendMessageResult`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendMessageResult {
    pub status: AppendMessageStatus,
    /// Commitlog offset of the (first) record.
    pub wrote_offset: i64,
    pub wrote_bytes: usize,
    /// offsetMsgId of each record, joined by `,` for a batch (Java's `msgId` of the result).
    pub msg_id: String,
    pub store_timestamp: i64,
    /// Queue offset of the (first) record.
    pub logics_offset: i64,
    pub msg_num: usize,
}

impl AppendMessageResult {
    fn failed(status: AppendMessageStatus) -> Self {
        Self {
            status,
            wrote_offset: 0,
            wrote_bytes: 0,
            msg_id: String::new(),
            store_timestamp: 0,
            logics_offset: 0,
            msg_num: 0,
        }
    }
}

/// Where one record of an append went: what the dispatch of that record needs besides the
/// message itself (see [`reput`](crate::reput)), so that it does not decode the bytes again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendedRecord {
    /// PHYSICALOFFSET: the record's commitlog offset.
    pub offset: i64,
    /// TOTALSIZE.
    pub size: i32,
    /// QUEUEOFFSET as written (0 for PREPARED and ROLLBACK).
    pub queue_offset: i64,
    /// Start of the record in the encoded batch.
    pub(crate) start: usize,
    pub(crate) store_ts_pos: usize,
    /// Goes to a consume queue (NOT and COMMIT).
    pub(crate) dispatched: bool,
}

/// Nothing appended: no records.
fn failed(status: AppendMessageStatus) -> Result<Appended, StoreError> {
    Ok((AppendMessageResult::failed(status), Vec::new()))
}

/// An append's result and its records, in commitlog order (empty unless PUT_OK).
pub type Appended = (AppendMessageResult, Vec<AppendedRecord>);

pub struct CommitLog {
    queue: MappedFileQueue,
    /// Next queue offset per topic and queue id (Java's `topicQueueTable`, keyed there by
    /// `topic-queueId`), guarded by the put lock. Nested so that a put looks its queue up by
    /// `&str` without building a key.
    put_lock: Mutex<TopicQueueTable>,
    /// When the put holding the lock took it (ms), 0 when none holds it (Java's
    /// `beginTimeInLock`, reported as `pageCacheLockTimeMills`).
    begin_time_in_lock: AtomicI64,
    max_message_size: usize,
}

/// Clears `begin_time_in_lock` when the put leaves the lock, on every path out.
struct LockClock<'a>(&'a AtomicI64);

impl Drop for LockClock<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// Topic → queue id → next queue offset. Looked up twice per append: foldhash instead of
/// SipHash, as the consume-queue table.
type TopicQueueTable = FastMap<String, FastMap<i32, i64>>;
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

impl CommitLog {
    pub fn new(queue: MappedFileQueue, max_message_size: usize) -> Self {
        Self {
            queue,
            put_lock: Mutex::new(TopicQueueTable::default()),
            begin_time_in_lock: AtomicI64::new(0),
            max_message_size,
        }
    }

    pub fn queue(&self) -> &MappedFileQueue {
        &self.queue
    }

    pub fn file_size(&self) -> u64 {
        self.queue.file_size()
    }

    pub fn min_offset(&self) -> i64 {
        self.queue.min_offset() as i64
    }

    /// Java's `CommitLog.deleteExpiredFile` (see `MappedFileQueue::delete_expired_file_by_time`);
    /// `now` is the wall clock the files' ages are measured against.
    pub fn delete_expired_file(
        &self,
        expired_ms: i64,
        interval: std::time::Duration,
        clean_immediately: bool,
        now: impl Fn() -> i64,
    ) -> usize {
        self.queue
            .delete_expired_file_by_time(expired_ms, interval, clean_immediately, now)
    }

    pub fn max_offset(&self) -> i64 {
        self.queue.max_offset() as i64
    }

    /// Replaces the topic-queue table (after recovery, from the consume queues): each
    /// queue's next offset.
    pub fn set_topic_queue_table(&self, queues: impl IntoIterator<Item = (String, i32, i64)>) {
        let mut table = TopicQueueTable::default();
        for (topic, queue_id, next) in queues {
            table.entry(topic).or_default().insert(queue_id, next);
        }
        *self.put_lock.lock().expect("put lock") = table;
    }

    pub fn remove_queue_offset(&self, topic: &str, queue_id: i32) {
        let mut table = self.put_lock.lock().expect("put lock");
        if let Some(queues) = table.get_mut(topic) {
            queues.remove(&queue_id);
            if queues.is_empty() {
                table.remove(topic);
            }
        }
    }

    /// Appends one record, or a batch (all of one topic and queue) as consecutive records.
    /// `now` gives the store timestamp, read once the lock is held. With the result come the
    /// records' offsets, sizes and queue offsets, one per message of `msgs`.
    pub fn append(
        &self,
        msgs: &[StoredMessage],
        now: impl Fn() -> i64,
    ) -> Result<Appended, StoreError> {
        let Some(first) = msgs.first() else {
            return failed(AppendMessageStatus::UnknownError);
        };
        let mut buf = BytesMut::new();
        let mut records = Vec::with_capacity(msgs.len());
        for msg in msgs {
            let start = buf.len();
            let size = match msg.encode_into(&mut buf) {
                Ok(len) if len > self.max_message_size => {
                    return failed(AppendMessageStatus::MessageSizeExceeded)
                }
                Ok(len) => len,
                Err(MessageError::TooLong {
                    field: "PROPERTIES",
                    ..
                }) => return failed(AppendMessageStatus::PropertiesSizeExceeded),
                Err(MessageError::TooLong { .. }) => {
                    return failed(AppendMessageStatus::MessageSizeExceeded)
                }
                Err(e) => return Err(StoreError::Message(e)),
            };
            let born_host_len = if msg.effective_sys_flag() & BORNHOST_V6_FLAG == 0 {
                8
            } else {
                20
            };
            let tran = get_transaction_value(msg.sys_flag);
            records.push(AppendedRecord {
                offset: 0,
                size: size as i32,
                queue_offset: 0,
                start,
                store_ts_pos: start + 48 + born_host_len,
                dispatched: tran != TRANSACTION_PREPARED_TYPE && tran != TRANSACTION_ROLLBACK_TYPE,
            });
        }
        let mut table = self.put_lock.lock().expect("put lock");
        let store_timestamp = now();
        self.begin_time_in_lock
            .store(store_timestamp, Ordering::Relaxed);
        let _clock = LockClock(&self.begin_time_in_lock);
        let mut file = self.queue.last_file_or_create(0)?;
        if !self.fits(&file, buf.len()) {
            self.write_blank(&file)?;
            file = self.queue.last_file_or_create(0)?;
            if !self.fits(&file, buf.len()) {
                return failed(AppendMessageStatus::UnknownError);
            }
        }
        let base = file.file_from_offset() as i64 + file.wrote_position() as i64;
        let mut queue_offset = table
            .get(first.topic.as_str())
            .and_then(|queues| queues.get(&first.queue_id))
            .copied()
            .unwrap_or(0);
        let logics_offset = queue_offset;
        let mut ids = Vec::with_capacity(records.len());
        for (rec, msg) in records.iter_mut().zip(msgs) {
            let phy = base + rec.start as i64;
            let qo = if rec.dispatched { queue_offset } else { 0 };
            rec.offset = phy;
            rec.queue_offset = qo;
            patch_i64(&mut buf, rec.start + QUEUE_OFFSET_POSITION, qo);
            patch_i64(&mut buf, rec.start + PHY_POS_POSITION, phy);
            patch_i64(&mut buf, rec.store_ts_pos, store_timestamp);
            if rec.dispatched {
                queue_offset += 1;
            }
            ids.push(OffsetMessageId::new(msg.store_host, phy).to_hex());
        }
        let appended = file.append(&buf)?;
        debug_assert!(appended, "room was checked under the lock");
        file.set_store_timestamp(store_timestamp);
        if queue_offset != logics_offset {
            match table.get_mut(first.topic.as_str()) {
                Some(queues) => {
                    queues.insert(first.queue_id, queue_offset);
                }
                None => {
                    let mut queues = FastMap::default();
                    queues.insert(first.queue_id, queue_offset);
                    table.insert(first.topic.clone(), queues);
                }
            }
        }
        drop(table);
        let result = AppendMessageResult {
            status: AppendMessageStatus::PutOk,
            wrote_offset: base,
            wrote_bytes: buf.len(),
            msg_id: match ids.len() {
                1 => ids.pop().unwrap_or_default(),
                _ => ids.join(","),
            },
            store_timestamp,
            logics_offset: if records[0].dispatched {
                logics_offset
            } else {
                0
            },
            msg_num: msgs.len(),
        };
        Ok((result, records))
    }

    /// Java's `appendData` (a slave's HA append): `data` replicated from the master's
    /// commitlog at `start_offset`, copied as they are under the put lock. Refused (false)
    /// unless `start_offset` is the current end, or the log is empty (the first file is then
    /// created at the file boundary below `start_offset`), or when `data` does not fit the
    /// rest of the file (a master never sends across a file end).
    pub fn append_data(&self, start_offset: i64, data: &[u8]) -> Result<bool, StoreError> {
        let Ok(start) = u64::try_from(start_offset) else {
            return Ok(false);
        };
        let _table = self.put_lock.lock().expect("put lock");
        let empty = self.queue.is_empty();
        if !empty && start != self.queue.max_offset() {
            return Ok(false);
        }
        let file = self.queue.last_file_or_create(start)?;
        if file.file_from_offset() + file.wrote_position() as u64 != start {
            return Ok(false);
        }
        Ok(file.append(data)?)
    }

    /// How long the current put has held the lock at `now` (ms), 0 when none holds it.
    pub fn lock_time_mills(&self, now: i64) -> i64 {
        match self.begin_time_in_lock.load(Ordering::Relaxed) {
            0 => 0,
            begin => (now - begin).max(0),
        }
    }

    fn fits(&self, file: &MappedFile, len: usize) -> bool {
        len + END_FILE_MIN_BLANK_LENGTH <= file.file_size() - file.wrote_position()
    }

    /// Ends the file with the BLANK record: TOTALSIZE = the rest of the file, BLANK magic; the
    /// remaining bytes stay zero.
    fn write_blank(&self, file: &MappedFile) -> std::io::Result<()> {
        let remaining = file.file_size() - file.wrote_position();
        let mut blank = BytesMut::with_capacity(END_FILE_MIN_BLANK_LENGTH);
        blank.put_i32(remaining as i32);
        blank.put_i32(BLANK_MAGIC_CODE);
        file.append(&blank)?;
        file.mark_full();
        Ok(())
    }

    /// The bytes `[offset, offset + size)` if written.
    pub fn get_message(&self, offset: i64, size: usize) -> Option<Bytes> {
        let offset = u64::try_from(offset).ok()?;
        let file = self.queue.find_by_offset(offset, offset == 0)?;
        // Below the first file (expired): nothing, where Java would read the first file.
        let pos = offset.checked_sub(file.file_from_offset())? as usize;
        file.select(pos, size)
    }

    /// The whole record at `offset` (size read from its TOTALSIZE).
    pub fn get_record(&self, offset: i64) -> Option<Bytes> {
        let off = u64::try_from(offset).ok()?;
        let file = self.queue.find_by_offset(off, false)?;
        let pos = (off - file.file_from_offset()) as usize;
        let head = file.select(pos, 4)?;
        let size = i32::from_be_bytes(head[..4].try_into().ok()?);
        let size = usize::try_from(size).ok().filter(|&s| s >= 8)?;
        file.select(pos, size)
    }

    /// The written bytes from `offset` to the end of its file's data.
    pub fn get_data(&self, offset: i64) -> Option<Bytes> {
        let off = u64::try_from(offset).ok()?;
        let file = self.queue.find_by_offset(off, off == 0)?;
        file.select_from(off.checked_sub(file.file_from_offset())? as usize)
    }

    /// STORETIMESTAMP of the record at `offset`, -1 if unreadable (Java's
    /// `pickupStoreTimestamp`).
    pub fn pickup_store_timestamp(&self, offset: i64, size: usize) -> i64 {
        if offset < self.min_offset() {
            return -1;
        }
        match self.get_message(offset, size) {
            Some(b) if b.len() >= 68 => store_timestamp_of(&b).unwrap_or(-1),
            _ => -1,
        }
    }

    /// Start of the file after the one holding `offset`.
    pub fn roll_next_file(&self, offset: i64) -> i64 {
        let size = self.file_size() as i64;
        offset + size - offset % size
    }
}

/// STORETIMESTAMP of a record's bytes.
pub fn store_timestamp_of(record: &[u8]) -> Option<i64> {
    let sys_flag = i32::from_be_bytes(record.get(36..40)?.try_into().ok()?);
    let pos = 48
        + if sys_flag & BORNHOST_V6_FLAG == 0 {
            8
        } else {
            20
        };
    Some(i64::from_be_bytes(
        record.get(pos..pos + 8)?.try_into().ok()?,
    ))
}

fn patch_i64(buf: &mut [u8], pos: usize, value: i64) {
    buf[pos..pos + 8].copy_from_slice(&value.to_be_bytes());
}
