//! What the store's operations return: Java's `PutMessageStatus`/`PutMessageResult`,
//! `GetMessageStatus`/`GetMessageResult`, `QueryMessageResult`, and the `MessageFilter` the
//! broker passes to `get_message`.

use bytes::Bytes;

use crate::commit_log::AppendMessageResult;
use crate::consume_queue_ext::CqExtUnit;

/// Java's `PutMessageStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutMessageStatus {
    PutOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
    ServiceNotAvailable,
    CreateMappedFileFailed,
    MessageIllegal,
    PropertiesSizeExceeded,
    OsPageCacheBusy,
    UnknownError,
    /// 5.x: a timer message's slot is congested (`timerCongestNumEachSlot`).
    WheelTimerFlowControl,
    /// 5.x: a timer message's time is too far away, not a number, or a cancel in the past.
    WheelTimerMsgIllegal,
    /// 5.x: a timer message while `timerWheelEnable` is false.
    WheelTimerNotEnable,
}

/// Java's `PutMessageResult`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutMessageResult {
    pub status: PutMessageStatus,
    pub append: Option<AppendMessageResult>,
}

impl PutMessageResult {
    pub(crate) fn status(status: PutMessageStatus) -> Self {
        Self {
            status,
            append: None,
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self.status, PutMessageStatus::PutOk)
    }
}

/// Java's `GetMessageStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetMessageStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
}

/// Java's `GetMessageResult`: the records (each a shared slice of the mapping) and offsets.
#[derive(Clone, Debug)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    pub messages: Vec<Bytes>,
    /// Queue offset of each returned record.
    pub message_queue_offsets: Vec<i64>,
    pub buffer_total_size: usize,
    pub suggest_pulling_from_slave: bool,
}

/// Java's `MessageFilter`: the broker's subscription check.
///
/// `get_message` asks [`is_matched_by_consume_queue_with_ext`](Self::is_matched_by_consume_queue_with_ext)
/// for every entry *before* it reads the commitlog record, then
/// [`is_matched_by_commit_log`](Self::is_matched_by_commit_log) for the records it read.
pub trait MessageFilter {
    /// By the consume-queue tagsCode (`None` when the code is unusable).
    fn is_matched_by_consume_queue(&self, tags_code: Option<i64>) -> bool;
    /// Java's `isMatchedByConsumeQueue(tagsCode, cqExtUnit)`: by the real tagsCode (`None`
    /// when the entry's extension unit is missing) and the extension unit (`None` when the
    /// queue has no extension or the entry no unit) — the unit's store time and filter bitmap
    /// are the bloom pre-filter's input. Default: [`is_matched_by_consume_queue`](Self::is_matched_by_consume_queue).
    fn is_matched_by_consume_queue_with_ext(
        &self,
        tags_code: Option<i64>,
        ext: Option<&CqExtUnit>,
    ) -> bool {
        let _ = ext;
        self.is_matched_by_consume_queue(tags_code)
    }
    /// By the whole record (SQL92 filters); default: accept.
    fn is_matched_by_commit_log(&self, _record: &[u8]) -> bool {
        true
    }
}

impl<F: Fn(i64) -> bool> MessageFilter for F {
    fn is_matched_by_consume_queue(&self, tags_code: Option<i64>) -> bool {
        tags_code.is_none_or(self)
    }
}

/// Java's `QueryMessageResult`.
#[derive(Clone, Debug, Default)]
pub struct QueryMessageResult {
    pub messages: Vec<Bytes>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_phyoffset: i64,
}
