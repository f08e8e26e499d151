//! Property keys of `MessageConst` (4.9.x and 5.x), with Java's constant names.
//!
//! Keys marked 5.x are not written by 4.9.8 programs; a 4.9.8-compatible broker stores and
//! returns them untouched like any user property.

pub const PROPERTY_KEYS: &str = "KEYS";
pub const PROPERTY_TAGS: &str = "TAGS";
/// `"false"` asks the broker not to wait for the flush/replication before answering.
pub const PROPERTY_WAIT_STORE_MSG_OK: &str = "WAIT";
pub const PROPERTY_DELAY_TIME_LEVEL: &str = "DELAY";
pub const PROPERTY_RETRY_TOPIC: &str = "RETRY_TOPIC";
/// The original topic of a message parked in `SCHEDULE_TOPIC_XXXX` or the half topic.
pub const PROPERTY_REAL_TOPIC: &str = "REAL_TOPIC";
pub const PROPERTY_REAL_QUEUE_ID: &str = "REAL_QID";
/// `"true"` marks a transactional half message.
pub const PROPERTY_TRANSACTION_PREPARED: &str = "TRAN_MSG";
pub const PROPERTY_PRODUCER_GROUP: &str = "PGROUP";
pub const PROPERTY_MIN_OFFSET: &str = "MIN_OFFSET";
pub const PROPERTY_MAX_OFFSET: &str = "MAX_OFFSET";
pub const PROPERTY_BUYER_ID: &str = "BUYER_ID";
pub const PROPERTY_ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
pub const PROPERTY_TRANSFER_FLAG: &str = "TRANSFER_FLAG";
pub const PROPERTY_CORRECTION_FLAG: &str = "CORRECTION_FLAG";
pub const PROPERTY_MQ2_FLAG: &str = "MQ2_FLAG";
pub const PROPERTY_RECONSUME_TIME: &str = "RECONSUME_TIME";
pub const PROPERTY_MSG_REGION: &str = "MSG_REGION";
pub const PROPERTY_TRACE_SWITCH: &str = "TRACE_ON";
/// The client msgId (see [`crate::message::ids::ClientMessageId`]).
pub const PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX: &str = "UNIQ_KEY";
pub const PROPERTY_MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
pub const PROPERTY_CONSUME_START_TIMESTAMP: &str = "CONSUME_START_TIME";
pub const PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
pub const PROPERTY_TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
pub const PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
pub const PROPERTY_INSTANCE_ID: &str = "INSTANCE_ID";
pub const PROPERTY_CORRELATION_ID: &str = "CORRELATION_ID";
pub const PROPERTY_MESSAGE_REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
pub const PROPERTY_MESSAGE_TTL: &str = "TTL";
pub const PROPERTY_REPLY_MESSAGE_ARRIVE_TIME: &str = "ARRIVE_TIME";
pub const PROPERTY_PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
/// Added by the broker on every send: its `brokerClusterName`.
pub const PROPERTY_CLUSTER: &str = "CLUSTER";
/// `"reply"` for request/reply responses.
pub const PROPERTY_MESSAGE_TYPE: &str = "MSG_TYPE";
pub const PROPERTY_INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
pub const PROPERTY_INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";

/// 5.x.
pub const PROPERTY_EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
/// 5.x: number of messages inside an inner-batch record.
pub const PROPERTY_INNER_NUM: &str = "INNER_NUM";
/// 5.x: queue offset of the first message of an inner batch.
pub const PROPERTY_INNER_BASE: &str = "INNER_BASE";
/// 5.x (Java name `DUP_INFO`, no `PROPERTY_` prefix).
pub const DUP_INFO: &str = "DUP_INFO";
/// 5.x.
pub const PROPERTY_TRANSACTION_ID: &str = "__transactionId__";
/// 5.x POP.
pub const PROPERTY_POP_CK: &str = "POP_CK";
/// 5.x POP.
pub const PROPERTY_POP_CK_OFFSET: &str = "POP_CK_OFFSET";
/// 5.x POP.
pub const PROPERTY_FIRST_POP_TIME: &str = "1ST_POP_TIME";
/// 5.x.
pub const PROPERTY_SHARDING_KEY: &str = "__SHARDINGKEY";
/// 5.x.
pub const PROPERTY_FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
/// 5.x.
pub const PROPERTY_REDIRECT: &str = "REDIRECT";
/// 5.x.
pub const PROPERTY_TRACE_CONTEXT: &str = "TRACE_CONTEXT";
/// 5.x timer messages.
pub const PROPERTY_TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
/// 5.x timer messages.
pub const PROPERTY_TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
/// 5.x.
pub const PROPERTY_BORN_HOST: &str = "__BORNHOST";
/// 5.x.
pub const PROPERTY_BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
/// 5.x: properties whose name starts with this are never stored.
pub const PROPERTY_TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
/// 5.x (transient).
pub const PROPERTY_TRANSIENT_TOPIC_CONFIG: &str = "__RMQ.TRANSIENT.TOPIC_SYS_FLAG";
/// 5.x (transient).
pub const PROPERTY_TRANSIENT_GROUP_CONFIG: &str = "__RMQ.TRANSIENT.GROUP_SYS_FLAG";
/// 5.x timer store.
pub const PROPERTY_TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
/// 5.x timer store.
pub const PROPERTY_TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
/// 5.x timer store.
pub const PROPERTY_TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
/// 5.x timer store.
pub const PROPERTY_TIMER_OUT_MS: &str = "TIMER_OUT_MS";
/// 5.x timer store.
pub const PROPERTY_TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
/// 5.x timer store.
pub const PROPERTY_TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
/// 5.x timer messages.
pub const PROPERTY_TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
/// 5.x `enabledAppendPropCRC`: `\u{1}` + 10 digits + `\u{2}` appended by the store.
pub const PROPERTY_CRC32: &str = "__CRC32#";
/// 5.x DLQ.
pub const PROPERTY_DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
/// 5.x DLQ.
pub const PROPERTY_DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";

/// Separator of several keys inside `KEYS`.
pub const KEY_SEPARATOR: &str = " ";

/// Java's `STRING_HASH_SET` (5.3.3, a superset of 4.9.8's): names a client refuses as user
/// properties (`Message.putUserProperty`).
pub const RESERVED_KEYS: &[&str] = &[
    PROPERTY_TRACE_SWITCH,
    PROPERTY_MSG_REGION,
    PROPERTY_KEYS,
    PROPERTY_TAGS,
    PROPERTY_WAIT_STORE_MSG_OK,
    PROPERTY_DELAY_TIME_LEVEL,
    PROPERTY_RETRY_TOPIC,
    PROPERTY_REAL_TOPIC,
    PROPERTY_REAL_QUEUE_ID,
    PROPERTY_TRANSACTION_PREPARED,
    PROPERTY_PRODUCER_GROUP,
    PROPERTY_MIN_OFFSET,
    PROPERTY_MAX_OFFSET,
    PROPERTY_BUYER_ID,
    PROPERTY_ORIGIN_MESSAGE_ID,
    PROPERTY_TRANSFER_FLAG,
    PROPERTY_CORRECTION_FLAG,
    PROPERTY_MQ2_FLAG,
    PROPERTY_RECONSUME_TIME,
    PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
    PROPERTY_MAX_RECONSUME_TIMES,
    PROPERTY_CONSUME_START_TIMESTAMP,
    PROPERTY_POP_CK,
    PROPERTY_POP_CK_OFFSET,
    PROPERTY_FIRST_POP_TIME,
    PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET,
    DUP_INFO,
    PROPERTY_EXTEND_UNIQ_INFO,
    PROPERTY_INSTANCE_ID,
    PROPERTY_CORRELATION_ID,
    PROPERTY_MESSAGE_REPLY_TO_CLIENT,
    PROPERTY_MESSAGE_TTL,
    PROPERTY_REPLY_MESSAGE_ARRIVE_TIME,
    PROPERTY_PUSH_REPLY_TIME,
    PROPERTY_CLUSTER,
    PROPERTY_MESSAGE_TYPE,
    PROPERTY_INNER_MULTI_QUEUE_OFFSET,
    PROPERTY_TIMER_DELAY_MS,
    PROPERTY_TIMER_DELAY_SEC,
    PROPERTY_TIMER_DELIVER_MS,
    PROPERTY_TIMER_ENQUEUE_MS,
    PROPERTY_TIMER_DEQUEUE_MS,
    PROPERTY_TIMER_ROLL_TIMES,
    PROPERTY_TIMER_OUT_MS,
    PROPERTY_TIMER_DEL_UNIQKEY,
    PROPERTY_TIMER_DELAY_LEVEL,
    PROPERTY_BORN_HOST,
    PROPERTY_BORN_TIMESTAMP,
    PROPERTY_DLQ_ORIGIN_TOPIC,
    PROPERTY_DLQ_ORIGIN_MESSAGE_ID,
    PROPERTY_CRC32,
];

/// Whether `name` is a system property a client may not set as a user property.
pub fn is_reserved(name: &str) -> bool {
    RESERVED_KEYS.contains(&name)
}
