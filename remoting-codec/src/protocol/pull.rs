//! The pull family: PULL_MESSAGE (11) and the 5.x LITE_PULL_MESSAGE (361), which share the
//! request and response headers. The response body is the matched stored records, concatenated
//! as they are in the commit log (see [`crate::message`]).

use crate::remoting_header;

remoting_header! {
    /// `PullMessageRequestHeader` (PULL_MESSAGE 11, LITE_PULL_MESSAGE 361). `sys_flag` holds
    /// [`pull_sys_flag`](crate::message::sysflag::pull_sys_flag) bits; `commit_offset`
    /// piggy-backs the consumer's offset when `FLAG_COMMIT_OFFSET` is set; `suspend_timeout_millis` is how long the broker
    /// may hold the request when nothing is there (long polling). `subscription` and
    /// `expression_type` are sent only with `FLAG_SUBSCRIPTION`. The last three
    /// fields are 5.x only; `proxyFrowardClientId` is Java's spelling.
    pub struct PullMessageRequestHeader {
        required consumer_group: String = "consumerGroup",
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
        required queue_offset: i64 = "queueOffset",
        required max_msg_nums: i32 = "maxMsgNums",
        required sys_flag: i32 = "sysFlag",
        required commit_offset: i64 = "commitOffset",
        required suspend_timeout_millis: i64 = "suspendTimeoutMillis",
        optional subscription: String = "subscription",
        required sub_version: i64 = "subVersion",
        optional expression_type: String = "expressionType",
        optional max_msg_bytes: i32 = "maxMsgBytes",
        optional request_source: i32 = "requestSource",
        optional proxy_froward_client_id: String = "proxyFrowardClientId",
    }
}

remoting_header! {
    /// `PullMessageResponseHeader`, on every pull answer that is not an error (FOUND,
    /// PULL_NOT_FOUND, PULL_RETRY_IMMEDIATELY, PULL_OFFSET_MOVED). The four required fields are
    /// unboxed by the Java client and must always be sent; the rest are 5.x only.
    pub struct PullMessageResponseHeader {
        required suggest_which_broker_id: i64 = "suggestWhichBrokerId",
        required next_begin_offset: i64 = "nextBeginOffset",
        required min_offset: i64 = "minOffset",
        required max_offset: i64 = "maxOffset",
        optional offset_delta: i64 = "offsetDelta",
        optional topic_sys_flag: i32 = "topicSysFlag",
        optional group_sys_flag: i32 = "groupSysFlag",
        optional forbidden_type: i32 = "forbiddenType",
    }
}
