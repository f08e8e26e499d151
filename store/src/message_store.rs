//! `MessageStore`: the facade the broker uses (Java's `DefaultMessageStore`).
//!
//! Calls are synchronous. `put_message` in SYNC_FLUSH blocks until the group commit has synced
//! the record (up to `syncFlushTimeout`), so an async caller runs it on a blocking thread; in
//! ASYNC_FLUSH it returns once the bytes are in the mapping. Reads never take the put lock:
//! they select published bytes of the mapped files and return them as shared [`Bytes`].

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use remoting_codec::message::message_const::{PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC};
use remoting_codec::message::record::MAX_TOPIC_LENGTH_V1;
use remoting_codec::message::sysflag::message_sys_flag::{
    get_transaction_value, TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE,
};
use remoting_codec::message::StoredMessage;

use crate::checkpoint::StoreCheckpoint;
use crate::commit_log::{AppendMessageStatus, CommitLog};
use crate::config::{BrokerRole, DelayLevels, FlushDiskType, MessageStoreConfig};
use crate::consume_queue::{ConsumeQueue, CqEntry, CQ_STORE_UNIT_SIZE};
use crate::dispatch::{
    ConsumeQueueTable, Dispatcher, MessageArrivingListener, ReputService, SCHEDULE_TOPIC,
};
use crate::flush::{
    flush_consume_queues, FlushConsumeQueueService, FlushRealTimeService, GroupCommitService,
};
use crate::index::IndexService;
use crate::lock::{AbortFile, StoreLock};
use crate::mapped_file_queue::MappedFileQueue;
use crate::recovery::{recover, RecoveryReport};
use crate::StoreError;

pub use crate::results::{
    GetMessageResult, GetMessageStatus, MessageFilter, PutMessageResult, PutMessageStatus,
    QueryMessageResult,
};

enum CommitLogFlush {
    Async(FlushRealTimeService),
    Sync(GroupCommitService),
}

pub struct MessageStore {
    config: MessageStoreConfig,
    delay: DelayLevels,
    commit_log: Arc<CommitLog>,
    queues: Arc<ConsumeQueueTable>,
    index: Option<Arc<IndexService>>,
    checkpoint: Arc<StoreCheckpoint>,
    dispatcher: Arc<Dispatcher>,
    reput: ReputService,
    flush: CommitLogFlush,
    cq_flush: FlushConsumeQueueService,
    recovery: RecoveryReport,
    shutdown: AtomicBool,
    memory_limit: i64,
    _lock: StoreLock,
}

impl MessageStore {
    /// Opens (creating if needed) the store, recovers it, dispatches what the consume queues
    /// lack, and starts the services.
    pub fn open(config: MessageStoreConfig) -> Result<Self, StoreError> {
        let root = config.store_path_root_dir.clone();
        std::fs::create_dir_all(&root)?;
        let lock = StoreLock::acquire(&root).map_err(|e| StoreError::Locked(e.to_string()))?;
        let last_exit_ok = !AbortFile::exists(&root);
        let checkpoint = Arc::new(StoreCheckpoint::open(config.checkpoint_path())?);
        let commit_log = Arc::new(CommitLog::new(
            MappedFileQueue::new(config.commit_log_dir(), config.mapped_file_size_commit_log),
            config.max_message_size,
        ));
        commit_log.queue().load()?;
        let queues = Arc::new(ConsumeQueueTable::new(
            config.consume_queue_dir(),
            config.mapped_file_size_consume_queue,
        ));
        queues.load()?;
        let index = if config.message_index_enable {
            let index = IndexService::open(
                config.index_dir(),
                config.max_hash_slot_num,
                config.max_index_num,
            )?;
            index.load(last_exit_ok, &checkpoint)?;
            Some(Arc::new(index))
        } else {
            None
        };
        let dispatcher = Arc::new(Dispatcher {
            queues: queues.clone(),
            index: index.clone(),
            checkpoint: checkpoint.clone(),
            listener: Default::default(),
            notify: config.broker_role != BrokerRole::Slave,
        });
        let recovery = recover(
            &config,
            last_exit_ok,
            &commit_log,
            &queues,
            &checkpoint,
            &dispatcher,
        )?;
        tracing::info!(?recovery, "store recovered");

        // Dispatch from the furthest point any consume queue reached (Java's start()).
        let min = commit_log.min_offset();
        let reput_from = queues
            .all()
            .iter()
            .map(|cq| cq.max_physic_offset())
            .fold(min, i64::max);
        let delay = config.delay_levels();
        let reput = ReputService::new(
            commit_log.clone(),
            dispatcher.clone(),
            delay.clone(),
            reput_from,
        );
        reput.catch_up()?;
        let mut table = std::collections::HashMap::new();
        for cq in queues.all() {
            table.insert(
                crate::commit_log::queue_key(cq.topic(), cq.queue_id()),
                cq.max_offset_in_queue(),
            );
        }
        commit_log.set_topic_queue_table(table);

        AbortFile::create(&root)?;
        reput.start()?;
        let flush = match config.flush_disk_type {
            FlushDiskType::AsyncFlush => CommitLogFlush::Async(FlushRealTimeService::start(
                &config,
                commit_log.clone(),
                checkpoint.clone(),
            )?),
            FlushDiskType::SyncFlush => CommitLogFlush::Sync(GroupCommitService::start(
                commit_log.clone(),
                checkpoint.clone(),
            )?),
        };
        let cq_flush =
            FlushConsumeQueueService::start(&config, queues.clone(), checkpoint.clone())?;
        let memory_limit = (total_physical_memory() as f64
            * (config.access_message_in_memory_max_ratio as f64 / 100.0))
            as i64;
        Ok(Self {
            config,
            delay,
            commit_log,
            queues,
            index,
            checkpoint,
            dispatcher,
            reput,
            flush,
            cq_flush,
            recovery,
            shutdown: AtomicBool::new(false),
            memory_limit,
            _lock: lock,
        })
    }

    pub fn config(&self) -> &MessageStoreConfig {
        &self.config
    }

    pub fn delay_levels(&self) -> &DelayLevels {
        &self.delay
    }

    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// Registers the long-polling listener told of every dispatched message.
    pub fn set_message_arriving_listener(&self, listener: Arc<dyn MessageArrivingListener>) {
        *self.dispatcher.listener.write().expect("listener") = Some(listener);
    }

    fn check_store_status(&self) -> Option<PutMessageStatus> {
        if self.shutdown.load(Ordering::Acquire) || self.config.broker_role == BrokerRole::Slave {
            return Some(PutMessageStatus::ServiceNotAvailable);
        }
        None
    }

    /// Appends one message. The broker has filled topic, queue, flags, born/store hosts and
    /// the final properties; the store sets the CRC, store time, offsets, and (as 4.9.8's
    /// `CommitLog`) redirects a NOT/COMMIT message with a `DELAY` level to
    /// `SCHEDULE_TOPIC_XXXX` (queue level−1) keeping `REAL_TOPIC`/`REAL_QID`.
    pub fn put_message(&self, mut msg: StoredMessage) -> PutMessageResult {
        if let Some(status) = self.check_store_status() {
            return PutMessageResult::status(status);
        }
        if msg.topic.len() > MAX_TOPIC_LENGTH_V1 || msg.properties.encoded_len() > i16::MAX as usize
        {
            return PutMessageResult::status(PutMessageStatus::MessageIllegal);
        }
        let tran = get_transaction_value(msg.sys_flag);
        if tran == TRANSACTION_NOT_TYPE || tran == TRANSACTION_COMMIT_TYPE {
            if let Some(level) = msg.properties.delay_time_level().filter(|&l| l > 0) {
                let level = level.min(self.delay.max_level());
                if level != msg.properties.delay_time_level().unwrap_or(0) {
                    msg.properties.insert("DELAY", level.to_string());
                }
                msg.properties
                    .insert(PROPERTY_REAL_TOPIC, msg.topic.clone());
                msg.properties
                    .insert(PROPERTY_REAL_QUEUE_ID, msg.queue_id.to_string());
                msg.topic = SCHEDULE_TOPIC.to_owned();
                msg.queue_id = level - 1;
            }
        }
        let wait = msg.properties.wait_store_msg_ok();
        self.append(std::slice::from_ref(&msg), wait)
    }

    /// Appends a batch (one topic and queue, consecutive queue offsets, one store time).
    /// As Java: transactional or delayed batches are illegal.
    pub fn put_messages(&self, msgs: &[StoredMessage]) -> PutMessageResult {
        if let Some(status) = self.check_store_status() {
            return PutMessageResult::status(status);
        }
        let Some(first) = msgs.first() else {
            return PutMessageResult::status(PutMessageStatus::MessageIllegal);
        };
        let illegal = msgs.iter().any(|m| {
            m.topic != first.topic
                || m.queue_id != first.queue_id
                || m.topic.len() > MAX_TOPIC_LENGTH_V1
                || get_transaction_value(m.sys_flag) != TRANSACTION_NOT_TYPE
                || m.properties.delay_time_level().is_some_and(|l| l > 0)
        });
        if illegal {
            return PutMessageResult::status(PutMessageStatus::MessageIllegal);
        }
        self.append(msgs, first.properties.wait_store_msg_ok())
    }

    fn append(&self, msgs: &[StoredMessage], wait_store_msg_ok: bool) -> PutMessageResult {
        let result = match self.commit_log.append(msgs, crate::now_millis) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "append failed");
                return PutMessageResult::status(PutMessageStatus::CreateMappedFileFailed);
            }
        };
        let status = match result.status {
            AppendMessageStatus::PutOk => PutMessageStatus::PutOk,
            AppendMessageStatus::MessageSizeExceeded
            | AppendMessageStatus::PropertiesSizeExceeded => PutMessageStatus::MessageIllegal,
            AppendMessageStatus::EndOfFile | AppendMessageStatus::UnknownError => {
                PutMessageStatus::UnknownError
            }
        };
        if status != PutMessageStatus::PutOk {
            return PutMessageResult {
                status,
                append: Some(result),
            };
        }
        self.reput.wakeup();
        let mut status = PutMessageStatus::PutOk;
        match &self.flush {
            CommitLogFlush::Sync(group) if wait_store_msg_ok => {
                let end = (result.wrote_offset + result.wrote_bytes as i64) as u64;
                let req = group.put_request(end);
                let timeout = Duration::from_millis(self.config.sync_flush_timeout);
                if req.wait(timeout) != Some(true) {
                    status = PutMessageStatus::FlushDiskTimeout;
                }
            }
            CommitLogFlush::Sync(group) => group.wakeup(),
            CommitLogFlush::Async(service) => service.wakeup(),
        }
        PutMessageResult {
            status,
            append: Some(result),
        }
    }

    /// Java's `getMessage`: up to `max_msg_nums` records of a queue from `offset`, limited by
    /// the transfer byte/count limits (in memory vs on disk), filtered by `filter`.
    pub fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msg_nums: usize,
        filter: Option<&dyn MessageFilter>,
    ) -> GetMessageResult {
        let mut result = GetMessageResult {
            status: GetMessageStatus::NoMessageInQueue,
            next_begin_offset: offset,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            message_queue_offsets: Vec::new(),
            buffer_total_size: 0,
            suggest_pulling_from_slave: false,
        };
        let Some(cq) = self.queues.find(topic, queue_id) else {
            result.status = GetMessageStatus::NoMatchedLogicQueue;
            result.next_begin_offset = self.next_offset_correction(offset, 0);
            return result;
        };
        let max_offset_py = self.commit_log.max_offset();
        let (min, max) = (cq.min_offset_in_queue(), cq.max_offset_in_queue());
        result.min_offset = min;
        result.max_offset = max;
        let (status, next) = if max == 0 {
            (
                GetMessageStatus::NoMessageInQueue,
                self.next_offset_correction(offset, 0),
            )
        } else if offset < min {
            (
                GetMessageStatus::OffsetTooSmall,
                self.next_offset_correction(offset, min),
            )
        } else if offset == max {
            (
                GetMessageStatus::OffsetOverflowOne,
                self.next_offset_correction(offset, offset),
            )
        } else if offset > max {
            (
                GetMessageStatus::OffsetOverflowBadly,
                self.next_offset_correction(offset, max),
            )
        } else {
            match cq.get_index_buffer(offset) {
                Some(buf) => self.collect(
                    &cq,
                    &buf,
                    offset,
                    max_msg_nums,
                    filter,
                    max_offset_py,
                    &mut result,
                ),
                None => (
                    GetMessageStatus::OffsetFoundNull,
                    self.next_offset_correction(offset, cq.roll_next_file(offset)),
                ),
            }
        };
        result.status = status;
        result.next_begin_offset = next;
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn collect(
        &self,
        _cq: &ConsumeQueue,
        buf: &Bytes,
        offset: i64,
        max_msg_nums: usize,
        filter: Option<&dyn MessageFilter>,
        max_offset_py: i64,
        out: &mut GetMessageResult,
    ) -> (GetMessageStatus, i64) {
        let mut status = GetMessageStatus::NoMatchedMessage;
        let mut next_phy_file_start = i64::MIN;
        let mut max_phy_pulling = 0;
        let max_filter = 16000usize.max(max_msg_nums * CQ_STORE_UNIT_SIZE);
        let mut i = 0;
        while i + CQ_STORE_UNIT_SIZE <= buf.len() && i < max_filter {
            let e = CqEntry::decode(&buf[i..i + CQ_STORE_UNIT_SIZE]);
            let index = offset + (i / CQ_STORE_UNIT_SIZE) as i64;
            i += CQ_STORE_UNIT_SIZE;
            max_phy_pulling = e.offset;
            if next_phy_file_start != i64::MIN && e.offset < next_phy_file_start {
                continue;
            }
            let in_disk = max_offset_py - e.offset > self.memory_limit;
            if self.is_the_batch_full(
                e.size,
                max_msg_nums,
                out.buffer_total_size,
                out.messages.len(),
                in_disk,
            ) {
                i -= CQ_STORE_UNIT_SIZE;
                break;
            }
            if let Some(f) = filter {
                if !f.is_matched_by_consume_queue(Some(e.tags_code)) {
                    continue;
                }
            }
            let Some(record) = self
                .commit_log
                .get_message(e.offset, e.size.max(0) as usize)
            else {
                if out.buffer_total_size == 0 {
                    status = GetMessageStatus::MessageWasRemoving;
                }
                next_phy_file_start = self.commit_log.roll_next_file(e.offset);
                continue;
            };
            if let Some(f) = filter {
                if !f.is_matched_by_commit_log(&record) {
                    continue;
                }
            }
            out.buffer_total_size += record.len();
            out.messages.push(record);
            out.message_queue_offsets.push(index);
            status = GetMessageStatus::Found;
            next_phy_file_start = i64::MIN;
        }
        out.suggest_pulling_from_slave = max_offset_py - max_phy_pulling > self.memory_limit;
        (status, offset + (i / CQ_STORE_UNIT_SIZE) as i64)
    }

    fn is_the_batch_full(
        &self,
        size: i32,
        max_nums: usize,
        total: usize,
        count: usize,
        in_disk: bool,
    ) -> bool {
        if total == 0 || count == 0 {
            return false;
        }
        if max_nums <= count {
            return true;
        }
        let size = size.max(0) as usize;
        let c = &self.config;
        let (bytes, num) = if in_disk {
            (
                c.max_transfer_bytes_on_message_in_disk,
                c.max_transfer_count_on_message_in_disk,
            )
        } else {
            (
                c.max_transfer_bytes_on_message_in_memory,
                c.max_transfer_count_on_message_in_memory,
            )
        };
        total + size > bytes || count + 1 > num
    }

    fn next_offset_correction(&self, old: i64, new: i64) -> i64 {
        if self.config.broker_role != BrokerRole::Slave || self.config.offset_check_in_slave {
            new
        } else {
            old
        }
    }

    /// The queue's next offset (0 for an unknown queue).
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queues
            .find(topic, queue_id)
            .map_or(0, |cq| cq.max_offset_in_queue())
    }

    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queues
            .find(topic, queue_id)
            .map_or(-1, |cq| cq.min_offset_in_queue())
    }

    /// Java's `getOffsetInQueueByTime`.
    pub fn offset_in_queue_by_time(&self, topic: &str, queue_id: i32, timestamp: i64) -> i64 {
        self.queues.find(topic, queue_id).map_or(0, |cq| {
            cq.offset_in_queue_by_time(timestamp, &self.commit_log)
        })
    }

    /// Commitlog offset of a queue entry (-1 if absent).
    pub fn commit_log_offset_in_queue(&self, topic: &str, queue_id: i32, cq_offset: i64) -> i64 {
        self.queues
            .find(topic, queue_id)
            .and_then(|cq| cq.entry(cq_offset))
            .map_or(-1, |e| e.offset)
    }

    /// The record at a commitlog offset, decoded (Java's `lookMessageByOffset`).
    pub fn look_message_by_offset(&self, commit_log_offset: i64) -> Option<StoredMessage> {
        StoredMessage::decode(&self.commit_log.get_record(commit_log_offset)?).ok()
    }

    /// The record's bytes at a commitlog offset (Java's `selectOneMessageByOffset`).
    pub fn select_one_message_by_offset(&self, commit_log_offset: i64) -> Option<Bytes> {
        self.commit_log.get_record(commit_log_offset)
    }

    pub fn select_one_message_by_offset_and_size(&self, offset: i64, size: usize) -> Option<Bytes> {
        self.commit_log.get_message(offset, size)
    }

    /// Java's `queryMessage`: records whose index key is `topic#key` in the time range
    /// (callers re-check the key: the index matches by hash).
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> QueryMessageResult {
        let mut out = QueryMessageResult::default();
        let Some(index) = &self.index else {
            return out;
        };
        let max = max_num.min(self.config.max_msgs_num_batch);
        let found = index.query(topic, key, max, begin, end);
        out.index_last_update_timestamp = found.index_last_update_timestamp;
        out.index_last_update_phyoffset = found.index_last_update_phyoffset;
        for offset in found.phy_offsets {
            if let Some(record) = self.commit_log.get_record(offset) {
                out.messages.push(record);
            }
        }
        out
    }

    /// Store time of the first message still in the commitlog (-1 if none).
    pub fn earliest_message_time(&self) -> i64 {
        let min = self.commit_log.min_offset();
        match self.commit_log.get_record(min) {
            Some(r) => crate::commit_log::store_timestamp_of(&r).unwrap_or(-1),
            None => -1,
        }
    }

    /// Store time of the first message of a queue (-1 if none).
    pub fn earliest_message_time_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        let min = self.min_offset_in_queue(topic, queue_id);
        self.message_store_timestamp(topic, queue_id, min)
    }

    /// Store time of the message at a queue offset (-1 if none).
    pub fn message_store_timestamp(&self, topic: &str, queue_id: i32, cq_offset: i64) -> i64 {
        let Some(e) = self
            .queues
            .find(topic, queue_id)
            .and_then(|cq| cq.entry(cq_offset))
        else {
            return -1;
        };
        self.commit_log
            .pickup_store_timestamp(e.offset, e.size.max(0) as usize)
    }

    pub fn min_phy_offset(&self) -> i64 {
        self.commit_log.min_offset()
    }

    /// End of the written commitlog data.
    pub fn max_phy_offset(&self) -> i64 {
        self.commit_log.max_offset()
    }

    /// Commitlog bytes not yet dispatched to the consume queues.
    pub fn dispatch_behind_bytes(&self) -> i64 {
        self.reput.behind()
    }

    /// Dispatches everything written so far before returning (tests, admin tools).
    pub fn wait_dispatched(&self) -> Result<(), StoreError> {
        self.reput.catch_up()
    }

    /// Java's `checkInDiskByConsumeOffset`: whether the message at a queue offset lies further
    /// behind the commitlog's end than the in-memory share (`accessMessageInMemoryMaxRatio` of
    /// physical memory), i.e. would be read from disk. False when the queue has no such entry.
    pub fn check_in_disk_by_consume_offset(
        &self,
        topic: &str,
        queue_id: i32,
        consume_offset: i64,
    ) -> bool {
        let max_offset_py = self.commit_log.max_offset();
        self.queues
            .find(topic, queue_id)
            .and_then(|cq| cq.entry(consume_offset))
            .is_some_and(|e| e.offset >= 0 && max_offset_py - e.offset > self.memory_limit)
    }

    /// Java's `cleanUnusedTopic`: destroys the consume queues (files and queue offsets) of every
    /// topic not in `topics`, except SCHEDULE_TOPIC_XXXX and RMQ_SYS_TRANS_OP_HALF_TOPIC, which
    /// the broker keeps whether or not they are in its topic table. The commitlog is untouched;
    /// messages of a destroyed topic stay there until they expire. Returns the topics removed.
    pub fn clean_unused_topic(&self, topics: &HashSet<String>) -> Vec<String> {
        const KEPT: [&str; 2] = ["SCHEDULE_TOPIC_XXXX", "RMQ_SYS_TRANS_OP_HALF_TOPIC"];
        let removed = self
            .queues
            .remove_topics(|t| !topics.contains(t) && !KEPT.contains(&t));
        let mut names = Vec::with_capacity(removed.len());
        for (topic, queues) in removed {
            for cq in queues {
                if let Err(e) = cq.destroy() {
                    tracing::warn!("cleanUnusedTopic: {topic} {}: {e}", cq.queue_id());
                }
                self.commit_log.remove_queue_offset(&topic, cq.queue_id());
                tracing::info!(
                    "cleanUnusedTopic: {topic} {} ConsumeQueue cleaned",
                    cq.queue_id()
                );
            }
            // Java deletes the emptied directories too.
            let dir = self.config.consume_queue_dir().join(&topic);
            for cq in self.queue_ids_in(&dir) {
                let _ = std::fs::remove_dir(dir.join(cq));
            }
            let _ = std::fs::remove_dir(&dir);
            tracing::info!("cleanUnusedTopic: {topic},topic destroyed");
            names.push(topic);
        }
        names
    }

    fn queue_ids_in(&self, dir: &std::path::Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default()
    }

    /// Queue ids of a topic that have a consume queue.
    pub fn queue_ids(&self, topic: &str) -> Vec<i32> {
        self.queues.queue_ids(topic)
    }

    /// How many msyncs the commitlog has run (group-commit accounting).
    pub fn commit_log_msync_count(&self) -> u64 {
        self.commit_log.queue().msync_count()
    }

    /// Syncs the commitlog, consume queues, index and checkpoint now; returns the flushed
    /// commitlog offset.
    pub fn flush(&self) -> Result<i64, StoreError> {
        self.commit_log.queue().flush_all()?;
        let ts = self.commit_log.queue().store_timestamp();
        if ts > 0 {
            self.checkpoint.set_physic_msg_timestamp(ts);
        }
        for cq in self.queues.all() {
            cq.files().flush_all()?;
        }
        flush_consume_queues(&self.queues, &self.checkpoint, 0);
        if let Some(index) = &self.index {
            index.flush()?;
        }
        Ok(self.commit_log.queue().flushed_where() as i64)
    }

    /// Clean shutdown: stop the services, dispatch the rest, sync everything, and remove the
    /// `abort` file (only when everything was dispatched, as Java).
    pub fn shutdown(&self) -> Result<(), StoreError> {
        if self.shutdown.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.reput.shutdown();
        match &self.flush {
            CommitLogFlush::Async(s) => s.shutdown(),
            CommitLogFlush::Sync(s) => s.shutdown(),
        }
        self.cq_flush.shutdown();
        self.flush()?;
        if self.reput.behind() == 0 {
            AbortFile::remove(&self.config.store_path_root_dir)?;
        } else {
            tracing::warn!(
                behind = self.reput.behind(),
                "dispatch incomplete; keeping the abort file"
            );
        }
        Ok(())
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "store shutdown failed");
        }
    }
}

/// Physical memory in bytes (Java's `StoreUtil.TOTAL_PHYSICAL_MEMORY_SIZE`).
fn total_physical_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages > 0 && size > 0 {
        pages as u64 * size as u64
    } else {
        24 * 1024 * 1024 * 1024
    }
}
