//! Consumer and producer administration on the broker: who is connected, how far groups have
//! consumed, resetting and cloning offsets, and looking into consume queues (mqadmin
//! `consumerConnection`, `producerConnection`, `producer`, `consumerProgress`,
//! `resetOffsetByTime`, `cloneGroupOffset`, `queryCq`; the dashboard consumer and producer pages).
//!
//! Codes: 203 GET_CONSUMER_CONNECTION_LIST, 204 GET_PRODUCER_CONNECTION_LIST, 328
//! GET_ALL_PRODUCER_INFO (no header), 208 GET_CONSUME_STATS, 222 INVOKE_BROKER_TO_RESET_OFFSET
//! (answered with a `ResetOffsetBody`, shared with the 220 callback), 303 QUERY_CONSUME_TIME_SPAN,
//! 308 QUERY_CORRECTION_OFFSET, 314 CLONE_GROUP_OFFSET, 321 QUERY_CONSUME_QUEUE, 323
//! RESUME_CHECK_HALF_MESSAGE.
//!
//! 222 and 223 INVOKE_BROKER_TO_GET_CONSUMER_STATUS share their header and body types with the
//! broker → client callbacks they trigger (220, 221): `ResetOffsetRequestHeader` /
//! `ResetOffsetBody` and `GetConsumerStatusRequestHeader` / `GetConsumerStatusBody` in
//! [`super::callback`]. The consumer enums are the heartbeat's, from [`super::client`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::callback::{
    GetConsumerStatusBody, GetConsumerStatusRequestHeader, ResetOffsetBody,
    ResetOffsetRequestHeader,
};
pub use super::client::{ConsumeFromWhere, ConsumeType, MessageModel};
use super::common::{MessageQueue, SubscriptionData};
use crate::LanguageCode;

crate::remoting_header! {
    /// Request of 203 GET_CONSUMER_CONNECTION_LIST; the answer is a [`ConsumerConnection`], or
    /// 206 CONSUMER_NOT_ONLINE.
    pub struct GetConsumerConnectionListRequestHeader {
        required consumer_group: String = "consumerGroup",
    }
}

crate::remoting_header! {
    /// Request of 204 GET_PRODUCER_CONNECTION_LIST; the answer is a [`ProducerConnection`].
    pub struct GetProducerConnectionListRequestHeader {
        required producer_group: String = "producerGroup",
    }
}

crate::remoting_header! {
    /// Request of 208 GET_CONSUME_STATS: one group, on one topic or (no topic) all it subscribes
    /// to; 5.x may name several topics in `topicList` (comma-separated). The answer is a
    /// [`ConsumeStats`].
    pub struct GetConsumeStatsRequestHeader {
        required consumer_group: String = "consumerGroup",
        optional topic: String = "topic",
        optional topic_list: String = "topicList",
    }
}

crate::remoting_header! {
    /// Request of 303 QUERY_CONSUME_TIME_SPAN; the answer is a [`QueryConsumeTimeSpanBody`].
    pub struct QueryConsumeTimeSpanRequestHeader {
        required topic: String = "topic",
        required group: String = "group",
    }
}

crate::remoting_header! {
    /// Request of 308 QUERY_CORRECTION_OFFSET: per queue, the smallest offset of `compareGroup`
    /// and the (comma-separated) `filterGroups`; the answer is a [`QueryCorrectionOffsetBody`].
    pub struct QueryCorrectionOffsetHeader {
        optional filter_groups: String = "filterGroups",
        required compare_group: String = "compareGroup",
        required topic: String = "topic",
    }
}

crate::remoting_header! {
    /// Request of 314 CLONE_GROUP_OFFSET: copy `srcGroup`'s offsets (of `topic`, or all its
    /// topics) to `destGroup`; `offline` is sent but not used by the broker.
    pub struct CloneGroupOffsetRequestHeader {
        required src_group: String = "srcGroup",
        required dest_group: String = "destGroup",
        optional topic: String = "topic",
        default offline: bool = "offline",
    }
}

crate::remoting_header! {
    /// Request of 321 QUERY_CONSUME_QUEUE (mqadmin `queryCq`): `count` entries of a consume queue
    /// from `index`, evaluated against `consumerGroup`'s subscription when given. Every field is
    /// nullable or primitive in Java.
    pub struct QueryConsumeQueueRequestHeader {
        optional topic: String = "topic",
        default queue_id: i32 = "queueId",
        default index: i64 = "index",
        default count: i32 = "count",
        optional consumer_group: String = "consumerGroup",
    }
}

crate::remoting_header! {
    /// Request of 323 RESUME_CHECK_HALF_MESSAGE: re-check the transaction of the half message
    /// with this (offset) msgId. `topic` is 5.x.
    pub struct ResumeCheckHalfMessageRequestHeader {
        optional topic: String = "topic",
        optional msg_id: String = "msgId",
    }
}

/// `LanguageCode` as its Java name inside JSON bodies.
mod language_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::LanguageCode;

    pub fn serialize<S: Serializer>(lang: &LanguageCode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(lang.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<LanguageCode, D::Error> {
        Ok(LanguageCode::from_name(&String::deserialize(d)?))
    }
}

/// `Connection`: one client channel of a group, as the broker saw it in heartbeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// The peer's `ip:port`.
    #[serde(default)]
    pub client_addr: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(with = "language_name", default)]
    pub language: LanguageCode,
    /// The client's `MQVersion` ordinal.
    #[serde(default)]
    pub version: i32,
}

/// Response body of 203 GET_CONSUMER_CONNECTION_LIST: the group's live channels and what the
/// group registered in its heartbeats. Java's `HashSet` of connections is kept as a list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerConnection {
    #[serde(default, serialize_with = "crate::fastjson::inline_seq")]
    pub connection_set: Vec<Connection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_from_where: Option<ConsumeFromWhere>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_type: Option<ConsumeType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_model: Option<MessageModel>,
    #[serde(default)]
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

/// Response body of 204 GET_PRODUCER_CONNECTION_LIST.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerConnection {
    #[serde(default, serialize_with = "crate::fastjson::inline_seq")]
    pub connection_set: Vec<Connection>,
}

/// `ProducerInfo`: one producer channel in 328's table. fastjson names the `getRemoteIP` property
/// `remoteIP`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerInfo {
    #[serde(default)]
    pub client_id: String,
    #[serde(with = "language_name", default)]
    pub language: LanguageCode,
    #[serde(default)]
    pub last_update_timestamp: i64,
    #[serde(rename = "remoteIP", default)]
    pub remote_ip: String,
    #[serde(default)]
    pub version: i32,
}

/// Response body of 328 GET_ALL_PRODUCER_INFO (4.9.8 and 5.x): producer group → its channels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerTableInfo {
    #[serde(default)]
    pub data: BTreeMap<String, Vec<ProducerInfo>>,
}

/// `OffsetWrapper`: one queue's broker max offset, the group's committed offset and the store time
/// of the last consumed message (0 when none). `pullOffset` is 5.x (always written there).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetWrapper {
    #[serde(default)]
    pub broker_offset: i64,
    #[serde(default)]
    pub consumer_offset: i64,
    #[serde(default)]
    pub last_timestamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_offset: Option<i64>,
}

/// Response body of 208 GET_CONSUME_STATS (and an element of 317's list): a group's progress per
/// queue (a `MessageQueue`-keyed map, written with object keys) and its consume rate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeStats {
    #[serde(default)]
    pub consume_tps: f64,
    #[serde(
        default,
        serialize_with = "super::common::serialize_mq_map_in_java_order"
    )]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

impl ConsumeStats {
    /// Java's `computeTotalDiff`: the summed lag (broker offset − consumer offset).
    pub fn total_diff(&self) -> i64 {
        self.offset_table
            .values()
            .map(|o| o.broker_offset - o.consumer_offset)
            .sum()
    }
}

/// `QueueTimeSpan`: for one queue, the store times of its first and last messages and of the
/// group's next message, and how far (ms) the group is behind. Java also writes the three
/// `…TimeStampStr` getters (local-time `yyyy-MM-dd HH:mm:ss,SSS` text); readers ignore them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueTimeSpan {
    #[serde(default)]
    pub consume_time_stamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_time_stamp_str: Option<String>,
    #[serde(default)]
    pub delay_time: i64,
    #[serde(default)]
    pub max_time_stamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time_stamp_str: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_queue: Option<MessageQueue>,
    #[serde(default)]
    pub min_time_stamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_time_stamp_str: Option<String>,
}

/// Response body of 303 QUERY_CONSUME_TIME_SPAN.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryConsumeTimeSpanBody {
    #[serde(default)]
    pub consume_time_span_set: Vec<QueueTimeSpan>,
}

/// Response body of 308 QUERY_CORRECTION_OFFSET: queueId → offset. fastjson writes the integer
/// keys unquoted (`{0:12,1:7}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryCorrectionOffsetBody {
    #[serde(default)]
    pub correction_offsets: BTreeMap<i32, i64>,
}

/// `ConsumeQueueData`: one consume-queue entry and, when a group was given, whether it passes
/// the group's filter (`eval`); `msg` is an error text, `bitMap`/`extendDataJson` the CQ-ext data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeQueueData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_map: Option<String>,
    #[serde(default)]
    pub eval: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_data_json: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(default)]
    pub physic_offset: i64,
    #[serde(default)]
    pub physic_size: i32,
    #[serde(default)]
    pub tags_code: i64,
}

/// Response body of 321 QUERY_CONSUME_QUEUE.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryConsumeQueueResponseBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_data: Option<String>,
    #[serde(default)]
    pub max_queue_index: i64,
    #[serde(default)]
    pub min_queue_index: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_data: Option<Vec<ConsumeQueueData>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
}
