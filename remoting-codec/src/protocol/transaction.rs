//! Consumer retry and transactional messages: CONSUMER_SEND_MSG_BACK (36), END_TRANSACTION (37)
//! and the broker's callback CHECK_TRANSACTION_STATE (39).

use crate::remoting_header;

remoting_header! {
    /// `ConsumerSendMsgBackRequestHeader` (CONSUMER_SEND_MSG_BACK 36): a push consumer hands back
    /// a message it failed to consume. `offset` is the message's commit-log offset; `delay_level`
    /// 0 lets the broker choose (3 + reconsumeTimes), −1 sends it to the DLQ at once.
    pub struct ConsumerSendMsgBackRequestHeader {
        required offset: i64 = "offset",
        required group: String = "group",
        required delay_level: i32 = "delayLevel",
        optional origin_msg_id: String = "originMsgId",
        optional origin_topic: String = "originTopic",
        default unit_mode: bool = "unitMode",
        optional max_reconsume_times: i32 = "maxReconsumeTimes",
    }
}

remoting_header! {
    /// `EndTransactionRequestHeader` (END_TRANSACTION 37, oneway): the producer's decision on a
    /// half message. `tran_state_table_offset` is the half message's queue offset and
    /// `commit_log_offset` its commit-log offset; `commit_or_rollback` is one of the
    /// `TRANSACTION_*_TYPE` values of
    /// [`message_sys_flag`](crate::message::sysflag::message_sys_flag) (0 unknown, 8 commit,
    /// 12 rollback); `msg_id` is the uniq key. Java initialises the boxed
    /// `fromTransactionCheck` to false, so it is always sent. `topic` is 5.x only. The remark of
    /// the command carries the producer's local-check exception text, if any.
    pub struct EndTransactionRequestHeader {
        optional topic: String = "topic",
        required producer_group: String = "producerGroup",
        required tran_state_table_offset: i64 = "tranStateTableOffset",
        required commit_log_offset: i64 = "commitLogOffset",
        required commit_or_rollback: i32 = "commitOrRollback",
        default from_transaction_check: bool = "fromTransactionCheck",
        required msg_id: String = "msgId",
        optional transaction_id: String = "transactionId",
    }
}

remoting_header! {
    /// `CheckTransactionStateRequestHeader` (CHECK_TRANSACTION_STATE 39, broker → producer,
    /// oneway): asks the producer group to resolve a half message. The offsets point at the
    /// broker's re-written copy of the half message; the body is that message. `topic` is 5.x only.
    pub struct CheckTransactionStateRequestHeader {
        optional topic: String = "topic",
        required tran_state_table_offset: i64 = "tranStateTableOffset",
        required commit_log_offset: i64 = "commitLogOffset",
        optional msg_id: String = "msgId",
        optional transaction_id: String = "transactionId",
        optional offset_msg_id: String = "offsetMsgId",
    }
}
