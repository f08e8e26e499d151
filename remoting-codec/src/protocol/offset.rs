//! Offsets: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15), SEARCH_OFFSET_BY_TIMESTAMP
//! (29), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31) and GET_EARLIEST_MSG_STORETIME (32).
//! Offsets here are consume-queue offsets (message counts), not commit-log byte offsets.

use crate::ext_fields::FieldValue;
use crate::remoting_header;

remoting_header! {
    /// `QueryConsumerOffsetRequestHeader` (QUERY_CONSUMER_OFFSET 14): a group's committed offset
    /// of one queue. `set_zero_if_not_found` is 5.x only (the broker then answers 0 instead of
    /// QUERY_NOT_FOUND).
    pub struct QueryConsumerOffsetRequestHeader {
        required consumer_group: String = "consumerGroup",
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
        optional set_zero_if_not_found: bool = "setZeroIfNotFound",
    }
}

remoting_header! {
    /// `QueryConsumerOffsetResponseHeader` (QUERY_CONSUMER_OFFSET 14).
    pub struct QueryConsumerOffsetResponseHeader {
        required offset: i64 = "offset",
    }
}

remoting_header! {
    /// `UpdateConsumerOffsetRequestHeader` (UPDATE_CONSUMER_OFFSET 15, usually oneway): commit a
    /// group's offset of one queue.
    pub struct UpdateConsumerOffsetRequestHeader {
        required consumer_group: String = "consumerGroup",
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
        required commit_offset: i64 = "commitOffset",
    }
}

/// 5.x `BoundaryType` of SEARCH_OFFSET_BY_TIMESTAMP: when several messages share the timestamp,
/// LOWER finds the first of them and UPPER the last. Written as its name; read as Java's
/// `BoundaryType.getType` does: `upper` in any case is UPPER, anything else LOWER.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BoundaryType {
    #[default]
    Lower,
    Upper,
}

impl FieldValue for BoundaryType {
    fn parse_field(text: &str) -> Option<Self> {
        Some(if text.eq_ignore_ascii_case("upper") {
            BoundaryType::Upper
        } else {
            BoundaryType::Lower
        })
    }

    fn write_field(&self) -> String {
        match self {
            BoundaryType::Lower => "LOWER",
            BoundaryType::Upper => "UPPER",
        }
        .to_owned()
    }
}

remoting_header! {
    /// `SearchOffsetRequestHeader` (SEARCH_OFFSET_BY_TIMESTAMP 29): the queue offset of the
    /// message stored at `timestamp` (milliseconds). `boundary_type` is 5.x only; a missing
    /// one means [`BoundaryType::Lower`].
    pub struct SearchOffsetRequestHeader {
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
        required timestamp: i64 = "timestamp",
        optional boundary_type: BoundaryType = "boundaryType",
    }
}

remoting_header! {
    /// `SearchOffsetResponseHeader` (SEARCH_OFFSET_BY_TIMESTAMP 29).
    pub struct SearchOffsetResponseHeader {
        required offset: i64 = "offset",
    }
}

remoting_header! {
    /// `GetMaxOffsetRequestHeader` (GET_MAX_OFFSET 30): the queue's next offset. `committed` is
    /// 5.x only, where Java initialises it to `true` (count only messages already dispatched);
    /// see [`GetMaxOffsetRequestHeader::is_committed`].
    pub struct GetMaxOffsetRequestHeader {
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
        optional committed: bool = "committed",
    }
}

impl GetMaxOffsetRequestHeader {
    /// `committed` with the 5.x default (`true`) when a peer did not send it.
    pub fn is_committed(&self) -> bool {
        self.committed.unwrap_or(true)
    }
}

remoting_header! {
    /// `GetMaxOffsetResponseHeader` (GET_MAX_OFFSET 30).
    pub struct GetMaxOffsetResponseHeader {
        required offset: i64 = "offset",
    }
}

remoting_header! {
    /// `GetMinOffsetRequestHeader` (GET_MIN_OFFSET 31).
    pub struct GetMinOffsetRequestHeader {
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
    }
}

remoting_header! {
    /// `GetMinOffsetResponseHeader` (GET_MIN_OFFSET 31).
    pub struct GetMinOffsetResponseHeader {
        required offset: i64 = "offset",
    }
}

remoting_header! {
    /// `GetEarliestMsgStoretimeRequestHeader` (GET_EARLIEST_MSG_STORETIME 32).
    pub struct GetEarliestMsgStoretimeRequestHeader {
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
    }
}

remoting_header! {
    /// `GetEarliestMsgStoretimeResponseHeader` (GET_EARLIEST_MSG_STORETIME 32): store timestamp
    /// (milliseconds) of the queue's first message.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        required timestamp: i64 = "timestamp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExtFields;

    #[test]
    fn boundary_type_reads_like_java() {
        assert_eq!(
            BoundaryType::parse_field("upper"),
            Some(BoundaryType::Upper)
        );
        assert_eq!(
            BoundaryType::parse_field("UPPER"),
            Some(BoundaryType::Upper)
        );
        assert_eq!(BoundaryType::parse_field("x"), Some(BoundaryType::Lower));
        let h = SearchOffsetRequestHeader {
            topic: "T".into(),
            queue_id: 1,
            timestamp: 5,
            boundary_type: Some(BoundaryType::Upper),
        };
        let mut ext = ExtFields::new();
        ext.encode(&h);
        assert_eq!(ext.get("boundaryType"), Some("UPPER"));
        assert_eq!(ext.decode::<SearchOffsetRequestHeader>().unwrap(), h);
    }

    #[test]
    fn committed_defaults_to_true() {
        let ext: ExtFields = [("topic", "T"), ("queueId", "0")].into_iter().collect();
        let h: GetMaxOffsetRequestHeader = ext.decode().unwrap();
        assert!(h.is_committed() && h.committed.is_none());
    }
}
