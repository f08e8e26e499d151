//! The read path of [`MessageStore`]: `get_message` (Java's `getMessage`, with its statuses
//! and transfer limits), queue offsets and times, lookups by physical offset and by key.

use bytes::Bytes;
use remoting_codec::message::StoredMessage;

use super::MessageStore;
use crate::config::BrokerRole;
use crate::consume_queue::{ConsumeQueue, CqEntry, CQ_STORE_UNIT_SIZE};
use crate::results::{GetMessageResult, GetMessageStatus, MessageFilter, QueryMessageResult};

impl MessageStore {
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
        let begin = std::time::Instant::now();
        let result = self.get_message_uncounted(topic, queue_id, offset, max_msg_nums, filter);
        self.stats.record_get(
            result.status == GetMessageStatus::Found,
            result.messages.len(),
            begin.elapsed().as_millis() as i64,
        );
        result
    }

    fn get_message_uncounted(
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
            // Java's `findConsumeQueue` creates a missing queue (empty), so a pull of a queue
            // that never had a message is NO_MESSAGE_IN_QUEUE; NO_MATCHED_LOGIC_QUEUE is left
            // for a failed creation, which cannot happen here.
            result.status = GetMessageStatus::NoMessageInQueue;
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
        cq: &ConsumeQueue,
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
                // An extension address stands for the unit's tagsCode; a missing unit leaves
                // no usable tagsCode (Java logs a [BUG] and lets the client filter by tag).
                let (tags_code, ext) = match cq.resolve(e.tags_code) {
                    Ok((tags_code, ext)) => (Some(tags_code), ext),
                    Err(address) => {
                        tracing::error!(
                            address,
                            offset_py = e.offset,
                            size_py = e.size,
                            "[BUG] consume queue ext unit not found"
                        );
                        (None, None)
                    }
                };
                if !f.is_matched_by_consume_queue_with_ext(tags_code, ext.as_ref()) {
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

    /// The record's bytes at a commitlog offset (Java's `selectOneMessageByOffset`): its first
    /// four bytes are read as the size, then that many bytes, both within the written part of
    /// the file holding `commit_log_offset` (the first file for offset 0). `None` when either
    /// read falls outside it, or the size is negative (Java throws there).
    pub fn select_one_message_by_offset(&self, commit_log_offset: i64) -> Option<Bytes> {
        let head = self.commit_log.get_message(commit_log_offset, 4)?;
        let size = i32::from_be_bytes(head[..4].try_into().ok()?);
        self.commit_log
            .get_message(commit_log_offset, usize::try_from(size).ok()?)
    }

    pub fn select_one_message_by_offset_and_size(&self, offset: i64, size: usize) -> Option<Bytes> {
        self.commit_log.get_message(offset, size)
    }

    /// Java's `DefaultMessageStore.queryMessage`: the records indexed under `topic#key` whose
    /// index time lies in [`begin`, `end`], at most `max_num` capped at `maxMsgsNumBatch`.
    ///
    /// As Java: up to three index lookups; each sorts the offsets found ascending and reads
    /// their records (a record that cannot be read or decoded is skipped); the first lookup
    /// that yields a record ends it, else the next one ends at the store time of the lowest
    /// offset found (and none follows once that time is before `begin`). The index's last
    /// update (time and commitlog offset of its newest file's newest entry) is reported only
    /// when a lookup found offsets; otherwise both stay 0. Keys are matched by hash, as in
    /// Java: the client drops the records whose KEYS/UNIQ_KEY differ.
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
        let mut last_query_msg_time = end;
        for _ in 0..3 {
            let mut found = index.query(topic, key, max, begin, last_query_msg_time);
            if found.phy_offsets.is_empty() {
                break;
            }
            found.phy_offsets.sort_unstable();
            out.index_last_update_timestamp = found.index_last_update_timestamp;
            out.index_last_update_phyoffset = found.index_last_update_phyoffset;
            for (m, &offset) in found.phy_offsets.iter().enumerate() {
                let Some(msg) = self.look_message_by_offset(offset) else {
                    continue;
                };
                if m == 0 {
                    last_query_msg_time = msg.store_timestamp;
                }
                if let Some(record) = self.commit_log.get_record(offset) {
                    out.messages.push(record);
                }
            }
            if !out.messages.is_empty() || last_query_msg_time < begin {
                break;
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
}
