//! Dispatch: turning commitlog records into consume-queue entries and index entries.
//!
//! The reput service (Java's `ReputMessageService`, in [`reput`](crate::reput)) follows the
//! commitlog from `reput_from` to the end of the written data and, for each record (described
//! by a [`DispatchRef`]: built by the append from the message it has just written, or decoded
//! from the bytes by [`check_message`] for what this process did not append),
//! - for NOT and COMMIT transaction types writes the consume-queue entry (PREPARED and
//!   ROLLBACK are never visible to consumers),
//! - feeds the index (ROLLBACK excepted, decided by the index service from the sysFlag),
//! - tells the arriving listener (long polling) that the queue grew.
//!
//! Before the consume-queue entry, a [`FilterBitMapCalculator`] set by the broker (Java's
//! `CommitLogDispatcherCalcBitMap`, first in Java's dispatcher list) computes the message's
//! filter bitmap; it goes into the consume-queue extension unit (`enableConsumeQueueExt`) and
//! to the arriving listener.
//!
//! The same decoding ([`check_message`]) validates records during recovery.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use remoting_codec::message::sysflag::message_sys_flag::{
    get_transaction_value, TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE,
};
use remoting_codec::message::{
    crc32, decode_record, tags_string_to_tags_code, MessageProperties, Record,
};

use crate::checkpoint::StoreCheckpoint;
use crate::config::DelayLevels;
use crate::consume_queue::ConsumeQueue;
use crate::index::{IndexRecord, IndexService, KeyHashes};
use crate::StoreError;

/// The delay topic; its consume-queue tagsCode is the delivery time.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// Computes a message's filter bitmap at dispatch: Java's `CommitLogDispatcherCalcBitMap`,
/// which, when `enableCalcFilterBitMap`, sets for every consumer filter registered on the topic
/// whose expression matches the properties that consumer's bloom positions in a bitmap of `m`
/// bits (see the `filter` crate's `bloom` module). Called for every message that goes to a
/// consume queue (re-dispatch during recovery included), before its entry is written; `None`
/// means no bitmap (the switch is off, no filter on the topic, or the calculation failed).
pub trait FilterBitMapCalculator: Send + Sync {
    fn calc_filter_bit_map(&self, topic: &str, properties: &MessageProperties) -> Option<Vec<u8>>;
}

/// Told when a queue gets new dispatched messages (long polling wakes on it).
pub trait MessageArrivingListener: Send + Sync {
    /// `logic_offset` is the queue's new max offset (the entry number + 1).
    fn arriving(
        &self,
        topic: &str,
        queue_id: i32,
        logic_offset: i64,
        tags_code: i64,
        store_timestamp: i64,
        properties: &MessageProperties,
    );

    /// [`arriving`](Self::arriving) with the message's filter bitmap, as Java's
    /// `MessageArrivingListener.arriving` gets it (the held pulls check it through a
    /// `CqExtUnit` built from tagsCode, store time and bitmap). The store calls this one; by
    /// default it forgets the bitmap.
    #[allow(clippy::too_many_arguments)]
    fn arriving_with_bit_map(
        &self,
        topic: &str,
        queue_id: i32,
        logic_offset: i64,
        tags_code: i64,
        store_timestamp: i64,
        filter_bit_map: Option<&[u8]>,
        properties: &MessageProperties,
    ) {
        let _ = filter_bit_map;
        self.arriving(
            topic,
            queue_id,
            logic_offset,
            tags_code,
            store_timestamp,
            properties,
        );
    }
}

/// One record as the dispatcher sees it (Java's `DispatchRequest`).
#[derive(Clone, Debug)]
pub struct DispatchRequest {
    pub topic: String,
    pub queue_id: i32,
    pub commit_log_offset: i64,
    pub msg_size: i32,
    pub tags_code: i64,
    pub store_timestamp: i64,
    pub consume_queue_offset: i64,
    pub sys_flag: i32,
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // the store's own tests use it
    pub prepared_transaction_offset: i64,
    pub properties: MessageProperties,
}

/// What lies at a commitlog position.
#[derive(Debug)]
pub enum RecordCheck {
    Message(DispatchRequest),
    /// End-of-file BLANK record: continue with the next file.
    Blank,
    /// Not a valid record (zeros, torn write, bad CRC, size mismatch): the end of the data.
    Invalid(String),
}

impl DispatchRequest {
    /// The request as the dispatcher takes it.
    pub fn as_ref(&self) -> DispatchRef<'_> {
        DispatchRef {
            topic: &self.topic,
            queue_id: self.queue_id,
            commit_log_offset: self.commit_log_offset,
            msg_size: self.msg_size,
            tags_code: self.tags_code,
            store_timestamp: self.store_timestamp,
            consume_queue_offset: self.consume_queue_offset,
            sys_flag: self.sys_flag,
            properties: &self.properties,
        }
    }
}

/// A [`DispatchRequest`] borrowing topic and properties: from a decoded record, or from the
/// message the append has just written (no decoding and no copy of its properties).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DispatchRef<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub commit_log_offset: i64,
    pub msg_size: i32,
    pub tags_code: i64,
    pub store_timestamp: i64,
    pub consume_queue_offset: i64,
    pub sys_flag: i32,
    pub properties: &'a MessageProperties,
}

/// The consume-queue tagsCode of a record: the hash of its non-empty TAGS, or, in
/// `SCHEDULE_TOPIC_XXXX`, the delivery time of its `DELAY` level (Java's
/// `checkMessageAndReturnSize`).
pub fn tags_code_of(
    topic: &str,
    properties: &MessageProperties,
    store_timestamp: i64,
    delay: &DelayLevels,
) -> i64 {
    if topic == SCHEDULE_TOPIC {
        if let Some(level) = properties.delay_time_level() {
            let level = level.min(delay.max_level());
            if level > 0 {
                return delay.deliver_timestamp(level, store_timestamp);
            }
        }
    }
    tags_string_to_tags_code(properties.tags().filter(|t| !t.is_empty()))
}

/// Java's `checkMessageAndReturnSize`: decode and validate the record at the start of `buf`.
pub fn check_message(buf: &Bytes, check_crc: bool, delay: &DelayLevels) -> RecordCheck {
    let msg = match decode_record(buf) {
        Ok(Record::Blank { .. }) => return RecordCheck::Blank,
        Ok(Record::Message(m)) => m,
        Err(e) => return RecordCheck::Invalid(e.to_string()),
    };
    if check_crc && crc32(&msg.body) != msg.body_crc {
        return RecordCheck::Invalid(format!("body CRC mismatch at {}", msg.commit_log_offset));
    }
    let tags_code = tags_code_of(&msg.topic, &msg.properties, msg.store_timestamp, delay);
    RecordCheck::Message(DispatchRequest {
        topic: msg.topic,
        queue_id: msg.queue_id,
        commit_log_offset: msg.commit_log_offset,
        msg_size: msg.store_size,
        tags_code,
        store_timestamp: msg.store_timestamp,
        consume_queue_offset: msg.queue_offset,
        sys_flag: msg.sys_flag,
        prepared_transaction_offset: msg.prepared_transaction_offset,
        properties: msg.properties,
    })
}

/// Every consume queue, by topic and queue id (Java's `consumeQueueTable`).
pub struct ConsumeQueueTable {
    root: PathBuf,
    file_size: u64,
    /// `consumequeue_ext` and its file size, when `enableConsumeQueueExt`.
    ext: Option<(PathBuf, u64)>,
    /// Looked up once per dispatched message: foldhash instead of SipHash (two lookups were
    /// ~440 instructions a message).
    queues: RwLock<FastMap<String, FastMap<i32, Arc<ConsumeQueue>>>>,
}

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

impl ConsumeQueueTable {
    pub fn new(root: PathBuf, file_size: u64) -> Self {
        Self {
            root,
            file_size,
            ext: None,
            queues: RwLock::new(FastMap::default()),
        }
    }

    /// Every queue gets an extension under `ext_root` (`enableConsumeQueueExt`).
    pub fn with_ext(mut self, ext_root: PathBuf, ext_file_size: u64) -> Self {
        self.ext = Some((ext_root, ext_file_size));
        self
    }

    fn new_queue(&self, topic: &str, queue_id: i32) -> ConsumeQueue {
        let cq = ConsumeQueue::new(&self.root, topic, queue_id, self.file_size);
        match &self.ext {
            Some((root, size)) => cq.with_ext(root, *size),
            None => cq,
        }
    }

    /// Loads every `<topic>/<queueId>` directory (file sizes checked).
    pub fn load(&self) -> Result<(), StoreError> {
        let Ok(topics) = std::fs::read_dir(&self.root) else {
            return Ok(());
        };
        let mut map = self.queues.write().expect("cq table");
        for topic in topics {
            let topic = topic?;
            let Some(name) = topic.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !topic.file_type()?.is_dir() {
                continue;
            }
            for qdir in std::fs::read_dir(topic.path())? {
                let qdir = qdir?;
                let Some(qid) = qdir
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<i32>().ok())
                else {
                    continue;
                };
                let cq = self.new_queue(&name, qid);
                cq.load()?;
                map.entry(name.clone())
                    .or_default()
                    .insert(qid, Arc::new(cq));
            }
        }
        Ok(())
    }

    pub fn find(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .expect("cq table")
            .get(topic)?
            .get(&queue_id)
            .cloned()
    }

    pub fn find_or_create(&self, topic: &str, queue_id: i32) -> Arc<ConsumeQueue> {
        if let Some(cq) = self.find(topic, queue_id) {
            return cq;
        }
        let mut map = self.queues.write().expect("cq table");
        map.entry(topic.to_owned())
            .or_default()
            .entry(queue_id)
            .or_insert_with(|| Arc::new(self.new_queue(topic, queue_id)))
            .clone()
    }

    pub fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        let map = self.queues.read().expect("cq table");
        map.values().flat_map(|q| q.values().cloned()).collect()
    }

    /// Takes out of the table every topic matching `pred`, with its queues.
    pub fn remove_topics(
        &self,
        pred: impl Fn(&str) -> bool,
    ) -> Vec<(String, Vec<Arc<ConsumeQueue>>)> {
        let mut map = self.queues.write().expect("cq table");
        let names: Vec<String> = map.keys().filter(|t| pred(t)).cloned().collect();
        names
            .into_iter()
            .filter_map(|t| {
                let queues = map.remove(&t)?;
                Some((t, queues.into_values().collect()))
            })
            .collect()
    }

    /// Takes out of the table every queue matching `pred` (topic left without queues go too)
    /// and returns them.
    pub fn remove_queues(&self, pred: impl Fn(&ConsumeQueue) -> bool) -> Vec<Arc<ConsumeQueue>> {
        let mut map = self.queues.write().expect("cq table");
        let mut removed = Vec::new();
        map.retain(|_, queues| {
            queues.retain(|_, cq| {
                let hit = pred(cq);
                if hit {
                    removed.push(cq.clone());
                }
                !hit
            });
            !queues.is_empty()
        });
        removed
    }

    /// Queue ids of a topic.
    pub fn queue_ids(&self, topic: &str) -> Vec<i32> {
        let map = self.queues.read().expect("cq table");
        let mut ids: Vec<i32> = map
            .get(topic)
            .map(|q| q.keys().copied().collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }
}

/// Applies dispatch requests to the consume queues and the index.
pub struct Dispatcher {
    pub queues: Arc<ConsumeQueueTable>,
    pub index: Option<Arc<IndexService>>,
    pub checkpoint: Arc<StoreCheckpoint>,
    pub listener: RwLock<Option<Arc<dyn MessageArrivingListener>>>,
    pub bit_map: RwLock<Option<Arc<dyn FilterBitMapCalculator>>>,
    /// Notify the listener (not on a slave, and not while recovering).
    pub notify: bool,
    /// A SLAVE's put counters: Java's reput counts every replicated message as a put
    /// (`msgPutTotalTodayNow` of a slave is what it received).
    pub slave_stats: std::sync::OnceLock<Arc<crate::stats::StoreStats>>,
}

impl Dispatcher {
    /// Dispatches one record; returns the message's filter bitmap, if one was computed.
    pub fn dispatch(&self, req: &DispatchRef<'_>) -> Result<Option<Vec<u8>>, StoreError> {
        let tran = get_transaction_value(req.sys_flag);
        let to_queue = tran == TRANSACTION_NOT_TYPE || tran == TRANSACTION_COMMIT_TYPE;
        // The index's slot loads start now and overlap the consume-queue write. Nothing of the
        // index is looked at when it is off (`messageIndexEnable=false`).
        let indexed = self.index.as_ref().map(|index| {
            let record = IndexRecord {
                topic: req.topic,
                keys: req.properties.keys(),
                uniq_key: req.properties.uniq_key(),
                commit_log_offset: req.commit_log_offset,
                store_timestamp: req.store_timestamp,
                sys_flag: req.sys_flag,
                msg_size: req.msg_size,
            };
            let hashes = KeyHashes::of(&record);
            index.prefetch(&hashes);
            (index, record, hashes)
        });
        let mut bit_map = None;
        if to_queue {
            let calculator = self.bit_map.read().expect("bit map hook").clone();
            bit_map = calculator.and_then(|c| c.calc_filter_bit_map(req.topic, req.properties));
            let cq = self.queues.find_or_create(req.topic, req.queue_id);
            cq.put_message_position_info(
                req.commit_log_offset,
                req.msg_size,
                req.tags_code,
                req.consume_queue_offset,
                req.store_timestamp,
                bit_map.as_deref(),
            )?;
            self.checkpoint
                .set_logics_msg_timestamp(req.store_timestamp);
        }
        if let Some((index, record, hashes)) = &indexed {
            let closed = index.build_index_hashed(record, hashes)?;
            // A full index file was closed and flushed: the checkpoint may now claim it.
            if let Some(end_timestamp) = closed {
                self.checkpoint.set_index_msg_timestamp(end_timestamp);
                self.checkpoint.flush()?;
            }
        }
        Ok(bit_map)
    }

    pub(crate) fn notify_arrival(&self, req: &DispatchRef<'_>, bit_map: Option<&[u8]>) {
        let tran = get_transaction_value(req.sys_flag);
        if !self.notify || !(tran == TRANSACTION_NOT_TYPE || tran == TRANSACTION_COMMIT_TYPE) {
            return;
        }
        let listener = self.listener.read().expect("listener").clone();
        if let Some(l) = listener {
            l.arriving_with_bit_map(
                req.topic,
                req.queue_id,
                req.consume_queue_offset + 1,
                req.tags_code,
                req.store_timestamp,
                bit_map,
                req.properties,
            );
        }
    }
}

