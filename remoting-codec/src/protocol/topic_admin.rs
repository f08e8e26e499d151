//! Topic administration on the broker: create, delete, inspect and list topics, and ask who
//! consumes them (mqadmin `updateTopic`, `deleteTopic`, `topicStatus`, `topicList -c`; the
//! dashboard topic pages).
//!
//! Codes: 17 UPDATE_AND_CREATE_TOPIC, 18 UPDATE_AND_CREATE_TOPIC_LIST (5.x), 215
//! DELETE_TOPIC_IN_BROKER, 21 GET_ALL_TOPIC_CONFIG (body
//! [`TopicConfigSerializeWrapper`](super::common::TopicConfigSerializeWrapper)), 351
//! GET_TOPIC_CONFIG (5.x), 202 GET_TOPIC_STATS_INFO, 300 QUERY_TOPIC_CONSUME_BY_WHO, 343
//! QUERY_TOPICS_BY_CONSUMER (5.x), 345 QUERY_SUBSCRIPTION_BY_CONSUMER (5.x). 305
//! GET_SYSTEM_TOPIC_LIST_FROM_BROKER and 343 answer with a `TopicList`, which lives with the route
//! family. 316 CLEAN_UNUSED_TOPIC, 306 CLEAN_EXPIRED_CONSUMEQUEUE and 329 DELETE_EXPIRED_COMMITLOG
//! carry neither header nor body.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{MessageQueue, SubscriptionData, TopicConfig, TopicFilterType};

crate::remoting_header! {
    /// Request of 17 UPDATE_AND_CREATE_TOPIC (and 513 UPDATE_AND_CREATE_STATIC_TOPIC). The queue
    /// counts and flags become the broker's `TopicConfig`. `attributes` (5.x) is the
    /// `+key=value,-key` text of `AttributeParser`; `force` (5.x) lets a create change attributes
    /// that are otherwise immutable.
    pub struct CreateTopicRequestHeader {
        required topic: String = "topic",
        required default_topic: String = "defaultTopic",
        required read_queue_nums: i32 = "readQueueNums",
        required write_queue_nums: i32 = "writeQueueNums",
        required perm: i32 = "perm",
        /// `SINGLE_TAG` or `MULTI_TAG` (Java's `TopicFilterType` name).
        required topic_filter_type: String = "topicFilterType",
        optional topic_sys_flag: i32 = "topicSysFlag",
        required order: bool = "order",
        optional attributes: String = "attributes",
        optional force: bool = "force",
    }
}

impl CreateTopicRequestHeader {
    /// The request mqadmin's `updateTopic` sends for `config` (`defaultTopic` is always `TBW102`).
    pub fn from_topic_config(config: &TopicConfig) -> Self {
        Self {
            topic: config.topic_name.clone(),
            default_topic: "TBW102".to_owned(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: topic_filter_type_name(config.topic_filter_type).to_owned(),
            topic_sys_flag: Some(config.topic_sys_flag),
            order: config.order,
            attributes: None,
            force: None,
        }
    }

    /// The filter type named by `topicFilterType`; `None` for a name Java's
    /// `TopicFilterType.valueOf` would reject (the Java broker then fails the request).
    pub fn topic_filter_type(&self) -> Option<TopicFilterType> {
        match self.topic_filter_type.as_str() {
            "SINGLE_TAG" => Some(TopicFilterType::SingleTag),
            "MULTI_TAG" => Some(TopicFilterType::MultiTag),
            _ => None,
        }
    }

    /// The topic config the broker stores for this request (attributes are parsed separately);
    /// `None` when the filter type is unknown.
    pub fn to_topic_config(&self) -> Option<TopicConfig> {
        Some(TopicConfig {
            attributes: None,
            order: self.order,
            perm: self.perm,
            read_queue_nums: self.read_queue_nums,
            topic_filter_type: self.topic_filter_type()?,
            topic_name: self.topic.clone(),
            topic_sys_flag: self.topic_sys_flag.unwrap_or(0),
            write_queue_nums: self.write_queue_nums,
        })
    }
}

fn topic_filter_type_name(t: TopicFilterType) -> &'static str {
    match t {
        TopicFilterType::SingleTag => "SINGLE_TAG",
        TopicFilterType::MultiTag => "MULTI_TAG",
    }
}

crate::remoting_header! {
    /// Request of 215 DELETE_TOPIC_IN_BROKER (and, on the name server, 216).
    pub struct DeleteTopicRequestHeader {
        required topic: String = "topic",
    }
}

crate::remoting_header! {
    /// Request of 351 GET_TOPIC_CONFIG (5.x; a 4.x broker answers 3 REQUEST_CODE_NOT_SUPPORTED).
    /// The 5.x `lo` key (include static-topic mapping) is an RPC field and is not modelled.
    pub struct GetTopicConfigRequestHeader {
        required topic: String = "topic",
    }
}

crate::remoting_header! {
    /// Request of 202 GET_TOPIC_STATS_INFO; the answer is a [`TopicStatsTable`].
    pub struct GetTopicStatsInfoRequestHeader {
        required topic: String = "topic",
    }
}

crate::remoting_header! {
    /// Request of 300 QUERY_TOPIC_CONSUME_BY_WHO; the answer is a [`GroupList`].
    pub struct QueryTopicConsumeByWhoRequestHeader {
        required topic: String = "topic",
    }
}

crate::remoting_header! {
    /// Request of 343 QUERY_TOPICS_BY_CONSUMER (5.x); the answer is a `TopicList`.
    pub struct QueryTopicsByConsumerRequestHeader {
        required group: String = "group",
    }
}

crate::remoting_header! {
    /// Request of 345 QUERY_SUBSCRIPTION_BY_CONSUMER (5.x); the answer is a
    /// [`QuerySubscriptionResponseBody`].
    pub struct QuerySubscriptionByConsumerRequestHeader {
        required group: String = "group",
        optional topic: String = "topic",
    }
}

/// Body of 18 UPDATE_AND_CREATE_TOPIC_LIST (5.x).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTopicListRequestBody {
    #[serde(default)]
    pub topic_config_list: Vec<TopicConfig>,
}

/// Response body of 351 GET_TOPIC_CONFIG (5.x): a `TopicConfig` (Java subclass) with the
/// static-topic `mappingDetail`, which is kept as raw JSON (static topics are out of scope but
/// must survive a round trip). The fields are repeated rather than flattened so that they stay in
/// fastjson's alphabetical order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfigAndQueueMapping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping_detail: Option<serde_json::Value>,
    #[serde(default)]
    pub order: bool,
    #[serde(default = "default_perm")]
    pub perm: i32,
    #[serde(default = "default_queue_nums")]
    pub read_queue_nums: i32,
    #[serde(default)]
    pub topic_filter_type: TopicFilterType,
    #[serde(default)]
    pub topic_name: String,
    #[serde(default)]
    pub topic_sys_flag: i32,
    #[serde(default = "default_queue_nums")]
    pub write_queue_nums: i32,
}

fn default_perm() -> i32 {
    TopicConfig::new("").perm
}

fn default_queue_nums() -> i32 {
    TopicConfig::new("").read_queue_nums
}

impl TopicConfigAndQueueMapping {
    /// What a 5.x broker answers for a topic without static mapping: `attributes` is always
    /// written (an empty map when the topic has none).
    pub fn new(config: TopicConfig) -> Self {
        Self {
            attributes: Some(config.attributes.unwrap_or_default()),
            mapping_detail: None,
            order: config.order,
            perm: config.perm,
            read_queue_nums: config.read_queue_nums,
            topic_filter_type: config.topic_filter_type,
            topic_name: config.topic_name,
            topic_sys_flag: config.topic_sys_flag,
            write_queue_nums: config.write_queue_nums,
        }
    }

    pub fn topic_config(&self) -> TopicConfig {
        TopicConfig {
            attributes: self.attributes.clone(),
            order: self.order,
            perm: self.perm,
            read_queue_nums: self.read_queue_nums,
            topic_filter_type: self.topic_filter_type,
            topic_name: self.topic_name.clone(),
            topic_sys_flag: self.topic_sys_flag,
            write_queue_nums: self.write_queue_nums,
        }
    }
}

/// `TopicOffset`: the offset range of one queue and the store time of its last message (0 when
/// empty).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicOffset {
    #[serde(default)]
    pub last_update_timestamp: i64,
    #[serde(default)]
    pub max_offset: i64,
    #[serde(default)]
    pub min_offset: i64,
}

/// Response body of 202 GET_TOPIC_STATS_INFO. `offsetTable` is keyed by `MessageQueue`, which
/// fastjson writes as a raw JSON object key. `topicPutTps` is 5.x (always written there).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatsTable {
    #[serde(
        default,
        serialize_with = "super::common::serialize_mq_map_in_java_order"
    )]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_put_tps: Option<f64>,
}

/// Response body of 300 QUERY_TOPIC_CONSUME_BY_WHO: the groups that have a subscription to or an
/// offset on the topic. A Java `HashSet`; kept as a list in the peer's order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupList {
    #[serde(default, serialize_with = "crate::fastjson::inline_seq")]
    pub group_list: Vec<String>,
}

/// Response body of 345 QUERY_SUBSCRIPTION_BY_CONSUMER (5.x).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuerySubscriptionResponseBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}
