//! Requests the broker sends to a client on the client's own connection:
//! NOTIFY_CONSUMER_IDS_CHANGED (40), RESET_CONSUMER_CLIENT_OFFSET (220),
//! GET_CONSUMER_STATUS_FROM_CLIENT (221), GET_CONSUMER_RUNNING_INFO (307) and
//! CONSUME_MESSAGE_DIRECTLY (309). The last two are relayed: an admin tool sends the same code
//! and header to the broker, which forwards it to the client and returns the client's body
//! unchanged. (PUSH_REPLY_MESSAGE_TO_CLIENT, 326, is in [`super::send`].)
//!
//! Several of these bodies are maps keyed by [`MessageQueue`], which fastjson writes as raw JSON
//! objects; read and write them only through [`crate::fastjson`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{MessageQueue, SubscriptionData};
use crate::remoting_header;

remoting_header! {
    /// `NotifyConsumerIdsChangedRequestHeader` (NOTIFY_CONSUMER_IDS_CHANGED 40, oneway): the
    /// membership of the group changed; its consumers rebalance at once.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        required consumer_group: String = "consumerGroup",
    }
}

remoting_header! {
    /// `ResetOffsetRequestHeader` (RESET_CONSUMER_CLIENT_OFFSET 220, oneway; also the header of
    /// the admin's INVOKE_BROKER_TO_RESET_OFFSET 222). `timestamp` (−1 = the queue's max offset)
    /// and `isForce` are Java primitives, always sent; the 4.9.8 broker leaves `isForce` false in
    /// what it forwards to clients. `queue_id` and `offset` are 5.x only (Java's default queue id
    /// is −1, meaning all queues). The body is a [`ResetOffsetBody`], or a
    /// [`ResetOffsetBodyForC`] when the admin that asked was a C++ client.
    pub struct ResetOffsetRequestHeader {
        required topic: String = "topic",
        required group: String = "group",
        optional queue_id: i32 = "queueId",
        optional offset: i64 = "offset",
        default timestamp: i64 = "timestamp",
        default is_force: bool = "isForce",
    }
}

/// `ResetOffsetBody`: the new offset of every queue (body of RESET_CONSUMER_CLIENT_OFFSET and
/// of the INVOKE_BROKER_TO_RESET_OFFSET response).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOffsetBody {
    #[serde(default)]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

/// `MessageQueueForC`: a queue and its new offset, flattened for C++ clients.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueueForC {
    #[serde(default)]
    pub broker_name: String,
    #[serde(default)]
    pub offset: i64,
    #[serde(default)]
    pub queue_id: i32,
    #[serde(default)]
    pub topic: String,
}

/// `ResetOffsetBodyForC`: the C++-client form of [`ResetOffsetBody`],
/// `{"offsetTable":[{"brokerName":…,"offset":…,"queueId":…,"topic":…}]}`. The Java broker sends
/// it (to every consumer of the group) when the INVOKE_BROKER_TO_RESET_OFFSET request came from
/// a client whose language is CPP.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOffsetBodyForC {
    #[serde(default)]
    pub offset_table: Vec<MessageQueueForC>,
}

impl From<&ResetOffsetBody> for ResetOffsetBodyForC {
    fn from(body: &ResetOffsetBody) -> Self {
        Self {
            offset_table: body
                .offset_table
                .iter()
                .map(|(mq, &offset)| MessageQueueForC {
                    broker_name: mq.broker_name.clone(),
                    offset,
                    queue_id: mq.queue_id,
                    topic: mq.topic.clone(),
                })
                .collect(),
        }
    }
}

remoting_header! {
    /// `GetConsumerStatusRequestHeader` (GET_CONSUMER_STATUS_FROM_CLIENT 221, broker → client;
    /// also INVOKE_BROKER_TO_GET_CONSUMER_STATUS 223 from the admin, where `clientAddr` picks
    /// one client). The client answers with a [`GetConsumerStatusBody`].
    pub struct GetConsumerStatusRequestHeader {
        required topic: String = "topic",
        required group: String = "group",
        optional client_addr: String = "clientAddr",
    }
}

/// `GetConsumerStatusBody`: a client fills `messageQueueTable` (its offset per queue); the
/// broker's answer to 223 fills `consumerTable` (client id → that table).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumerStatusBody {
    #[serde(default)]
    pub consumer_table: BTreeMap<String, BTreeMap<MessageQueue, i64>>,
    #[serde(default)]
    pub message_queue_table: BTreeMap<MessageQueue, i64>,
}

remoting_header! {
    /// `GetConsumerRunningInfoRequestHeader` (GET_CONSUMER_RUNNING_INFO 307, admin → broker →
    /// client). The client answers with a [`ConsumerRunningInfo`]; with `jstack_enable` it adds
    /// its thread dump.
    pub struct GetConsumerRunningInfoRequestHeader {
        required consumer_group: String = "consumerGroup",
        required client_id: String = "clientId",
        default jstack_enable: bool = "jstackEnable",
    }
}

/// `ProcessQueueInfo`: a consumer's view of one queue it is consuming.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessQueueInfo {
    pub cached_msg_count: i32,
    pub cached_msg_max_offset: i64,
    pub cached_msg_min_offset: i64,
    #[serde(rename = "cachedMsgSizeInMiB")]
    pub cached_msg_size_in_mib: i32,
    pub commit_offset: i64,
    /// Java's spelling.
    pub droped: bool,
    pub last_consume_timestamp: i64,
    pub last_lock_timestamp: i64,
    pub last_pull_timestamp: i64,
    pub locked: bool,
    pub transaction_msg_count: i32,
    pub transaction_msg_max_offset: i64,
    pub transaction_msg_min_offset: i64,
    pub try_unlock_times: i64,
}

/// 5.x `PopProcessQueueInfo`: a POP consumer's view of one queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PopProcessQueueInfo {
    pub droped: bool,
    pub last_pop_timestamp: i64,
    pub wait_ack_count: i32,
}

/// `ConsumeStatus`: a consumer's rates for one topic (RT in ms, TPS per second).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumeStatus {
    #[serde(rename = "consumeFailedMsgs")]
    pub consume_failed_msgs: i64,
    #[serde(rename = "consumeFailedTPS")]
    pub consume_failed_tps: f64,
    #[serde(rename = "consumeOKTPS")]
    pub consume_ok_tps: f64,
    #[serde(rename = "consumeRT")]
    pub consume_rt: f64,
    #[serde(rename = "pullRT")]
    pub pull_rt: f64,
    #[serde(rename = "pullTPS")]
    pub pull_tps: f64,
}

/// `ConsumerRunningInfo`, the client's answer to GET_CONSUMER_RUNNING_INFO (307). `properties`
/// is the consumer's configuration as strings (Java `Properties`, including the `PROP_*` keys
/// below). `mqPopTable` and `userConsumerInfo` are 5.x only.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerRunningInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jstack: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mq_pop_table: Option<BTreeMap<MessageQueue, PopProcessQueueInfo>>,
    #[serde(default)]
    pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub status_table: BTreeMap<String, ConsumeStatus>,
    #[serde(default)]
    pub subscription_set: Vec<SubscriptionData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_consumer_info: Option<BTreeMap<String, String>>,
}

impl ConsumerRunningInfo {
    pub const PROP_NAMESERVER_ADDR: &'static str = "PROP_NAMESERVER_ADDR";
    pub const PROP_THREADPOOL_CORE_SIZE: &'static str = "PROP_THREADPOOL_CORE_SIZE";
    /// Java's constant `PROP_CONSUME_ORDERLY`; note the key has no underscore.
    pub const PROP_CONSUME_ORDERLY: &'static str = "PROP_CONSUMEORDERLY";
    pub const PROP_CONSUME_TYPE: &'static str = "PROP_CONSUME_TYPE";
    pub const PROP_CLIENT_VERSION: &'static str = "PROP_CLIENT_VERSION";
    pub const PROP_CONSUMER_START_TIMESTAMP: &'static str = "PROP_CONSUMER_START_TIMESTAMP";
}

remoting_header! {
    /// `ConsumeMessageDirectlyResultRequestHeader` (CONSUME_MESSAGE_DIRECTLY 309, admin → broker
    /// → client): have one client consume one message (`msg_id` is an offsetMsgId; the broker
    /// puts the message in the body). `topic`, `topic_sys_flag` and `group_sys_flag` are 5.x
    /// only. The client answers with a [`ConsumeMessageDirectlyResult`].
    pub struct ConsumeMessageDirectlyResultRequestHeader {
        required consumer_group: String = "consumerGroup",
        optional client_id: String = "clientId",
        optional msg_id: String = "msgId",
        optional broker_name: String = "brokerName",
        optional topic: String = "topic",
        optional topic_sys_flag: i32 = "topicSysFlag",
        optional group_sys_flag: i32 = "groupSysFlag",
    }
}

/// `CMResult`: how a directly consumed message was handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CMResult {
    CrSuccess,
    CrLater,
    CrRollback,
    CrCommit,
    CrThrowException,
    CrReturnNull,
}

/// `ConsumeMessageDirectlyResult`, the client's answer to CONSUME_MESSAGE_DIRECTLY (309).
/// Java initialises `autoCommit` to true. `spentTimeMills` is Java's spelling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeMessageDirectlyResult {
    #[serde(default = "default_auto_commit")]
    pub auto_commit: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_result: Option<CMResult>,
    #[serde(default)]
    pub order: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    #[serde(default)]
    pub spent_time_mills: i64,
}

fn default_auto_commit() -> bool {
    true
}

impl Default for ConsumeMessageDirectlyResult {
    fn default() -> Self {
        Self {
            auto_commit: true,
            consume_result: None,
            order: false,
            remark: None,
            spent_time_mills: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cm_result_names() {
        assert_eq!(
            serde_json::to_string(&CMResult::CrThrowException).unwrap(),
            r#""CR_THROW_EXCEPTION""#
        );
        let r: ConsumeMessageDirectlyResult =
            serde_json::from_str(r#"{"consumeResult":"CR_SUCCESS"}"#).unwrap();
        assert!(r.auto_commit && !r.order);
    }

    #[test]
    fn reset_body_for_c_is_a_flat_list() {
        let mut body = ResetOffsetBody::default();
        body.offset_table.insert(MessageQueue::new("T", "b", 1), 7);
        let c = ResetOffsetBodyForC::from(&body);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"offsetTable":[{"brokerName":"b","offset":7,"queueId":1,"topic":"T"}]}"#
        );
    }

    #[test]
    fn consume_status_keys_keep_java_capitals() {
        let json = serde_json::to_string(&ConsumeStatus::default()).unwrap();
        assert_eq!(
            json,
            r#"{"consumeFailedMsgs":0,"consumeFailedTPS":0.0,"consumeOKTPS":0.0,"consumeRT":0.0,"pullRT":0.0,"pullTPS":0.0}"#
        );
    }
}
