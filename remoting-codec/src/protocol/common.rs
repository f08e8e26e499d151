//! Body types shared by many request families.
//!
//! Fields are declared in alphabetical order of their JSON names because fastjson writes bean
//! properties sorted; `Option` fields are omitted when `None`, as fastjson omits nulls.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// `MessageQueue`: one queue of one topic on one broker. It is also a map key in several bodies,
/// where fastjson writes it as a raw JSON object; see [`crate::fastjson`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueue {
    pub broker_name: String,
    pub queue_id: i32,
    pub topic: String,
}

impl MessageQueue {
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        Self {
            broker_name: broker_name.into(),
            queue_id,
            topic: topic.into(),
        }
    }
}

/// Java's `compareTo`: by topic, then broker name, then queue id.
impl Ord for MessageQueue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.topic, &self.broker_name, self.queue_id).cmp(&(
            &other.topic,
            &other.broker_name,
            other.queue_id,
        ))
    }
}

impl MessageQueue {
    /// Java's `MessageQueue.hashCode()`: `31 * (31 * (31 + brokerName) + queueId) + topic`
    /// over `String.hashCode`, wrapping as Java's `int`.
    pub fn java_hash_code(&self) -> i32 {
        use crate::message::java_string_hash_code;
        let mut h: i32 = 1;
        h = h
            .wrapping_mul(31)
            .wrapping_add(java_string_hash_code(&self.broker_name));
        h = h.wrapping_mul(31).wrapping_add(self.queue_id);
        h.wrapping_mul(31)
            .wrapping_add(java_string_hash_code(&self.topic))
    }
}

/// Writes a `MessageQueue`-keyed map in the iteration order of the `java.util.HashMap` Java
/// builds it in (`ConsumeStats.offsetTable`, `TopicStatsTable.offsetTable`): by bucket
/// `(h ^ h >>> 16) & (n - 1)` of a table of `n` buckets (16, doubled while the map is more than
/// 3/4 full). Within a bucket Java keeps insertion order; the brokers insert queue by queue in
/// ascending id, which `MessageQueue`'s own order gives for one topic. The s12 recordings
/// (`m05-topicStatus`, `m12-consumerProgress`) show this order.
pub fn serialize_mq_map_in_java_order<V, S>(
    map: &BTreeMap<MessageQueue, V>,
    serializer: S,
) -> Result<S::Ok, S::Error>
where
    V: Serialize,
    S: serde::Serializer,
{
    use serde::ser::SerializeMap;
    let mut buckets = 16usize;
    while map.len() > buckets - buckets / 4 {
        buckets *= 2;
    }
    let bucket = |mq: &MessageQueue| {
        let h = mq.java_hash_code() as u32;
        ((h ^ (h >> 16)) as usize) & (buckets - 1)
    };
    let mut entries: Vec<(&MessageQueue, &V)> = map.iter().collect();
    // A stable sort keeps the BTreeMap order within a bucket.
    entries.sort_by_key(|(mq, _)| bucket(mq));
    let mut out = serializer.serialize_map(Some(entries.len()))?;
    for (k, v) in entries {
        out.serialize_entry(k, v)?;
    }
    out.end()
}

impl PartialOrd for MessageQueue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for MessageQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MessageQueue [topic={}, brokerName={}, queueId={}]",
            self.topic, self.broker_name, self.queue_id
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageQueueFields {
    #[serde(default)]
    broker_name: String,
    #[serde(default)]
    queue_id: i32,
    #[serde(default)]
    topic: String,
}

impl<'de> Deserialize<'de> for MessageQueue {
    /// Accepts the object, or (as a map key after [`crate::fastjson`]'s lenient reading) a string
    /// holding the object's JSON.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Object(MessageQueueFields),
            Text(String),
        }
        let fields = match Repr::deserialize(d)? {
            Repr::Object(f) => f,
            Repr::Text(s) => serde_json::from_str(&s).map_err(serde::de::Error::custom)?,
        };
        Ok(MessageQueue::new(
            fields.topic,
            fields.broker_name,
            fields.queue_id,
        ))
    }
}

/// `DataVersion`: a change counter with the time of the last change. 5.x adds `stateVersion`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVersion {
    pub counter: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_version: Option<i64>,
    pub timestamp: i64,
}

/// `TopicFilterType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TopicFilterType {
    #[default]
    SingleTag,
    MultiTag,
}

/// `TopicConfig`: a topic's queue counts, permission and flags, as in topics.json and
/// REGISTER_BROKER bodies. `attributes` is 5.x only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub order: bool,
    #[serde(default = "TopicConfig::default_perm")]
    pub perm: i32,
    #[serde(default = "TopicConfig::default_queue_nums")]
    pub read_queue_nums: i32,
    #[serde(default)]
    pub topic_filter_type: TopicFilterType,
    #[serde(default)]
    pub topic_name: String,
    #[serde(default)]
    pub topic_sys_flag: i32,
    #[serde(default = "TopicConfig::default_queue_nums")]
    pub write_queue_nums: i32,
}

impl TopicConfig {
    /// Java's defaults: 16 read and write queues, read+write permission.
    pub fn new(topic_name: impl Into<String>) -> Self {
        Self {
            attributes: None,
            order: false,
            perm: Self::default_perm(),
            read_queue_nums: Self::default_queue_nums(),
            topic_filter_type: TopicFilterType::SingleTag,
            topic_name: topic_name.into(),
            topic_sys_flag: 0,
            write_queue_nums: Self::default_queue_nums(),
        }
    }

    fn default_perm() -> i32 {
        crate::protocol::perm::READ | crate::protocol::perm::WRITE
    }

    fn default_queue_nums() -> i32 {
        16
    }
}

/// `TopicConfigSerializeWrapper`: a broker's topic table with its data version. It is the body of
/// GET_ALL_TOPIC_CONFIG, the core of REGISTER_BROKER, and the content of `config/topics.json`.
/// The 5.x static-topic mapping fields are kept as raw JSON so that they survive a round trip.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfigSerializeWrapper {
    #[serde(default)]
    pub data_version: DataVersion,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping_data_version: Option<DataVersion>,
    #[serde(default)]
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_detail_map: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_info_map: Option<serde_json::Value>,
}

/// `KVTable`: a string map in a `table` field (broker runtime info, namesrv KV listings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvTable {
    #[serde(default)]
    pub table: BTreeMap<String, String>,
}

/// `SubscriptionData`: what a consumer group subscribes to on one topic (heartbeats, connection
/// listings, consumerFilter.json). Java's sets are kept as lists so their order survives a
/// read-then-write; `filterClassSource` is never serialized by Java and is not modelled.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionData {
    #[serde(default)]
    pub class_filter_mode: bool,
    #[serde(default)]
    pub code_set: Vec<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_string: Option<String>,
    /// The C++ client writes it as a string; fastjson reads both.
    #[serde(default, deserialize_with = "crate::fastjson::lenient::long_or_text")]
    pub sub_version: i64,
    #[serde(default)]
    pub tags_set: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_queue_orders_like_java() {
        let a = MessageQueue::new("A", "b", 2);
        let b = MessageQueue::new("A", "c", 0);
        let c = MessageQueue::new("B", "a", 0);
        assert!(a < b && b < c);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#"{"brokerName":"b","queueId":2,"topic":"A"}"#);
    }

    #[test]
    fn message_queue_reads_object_or_json_text() {
        let from_obj: MessageQueue =
            serde_json::from_str(r#"{"brokerName":"b","queueId":1,"topic":"t"}"#).unwrap();
        let from_text: MessageQueue =
            serde_json::from_str(r#""{\"brokerName\":\"b\",\"queueId\":1,\"topic\":\"t\"}""#)
                .unwrap();
        assert_eq!(from_obj, from_text);
        assert_eq!(from_obj, MessageQueue::new("t", "b", 1));
    }
}
