//! The broker's JSON files under `store/config/`, which are also the bodies of the slave-sync
//! codes (21 topics, 43 consumer offsets, 45 delay offsets, 201 subscription groups).
//!
//! Java writes each with fastjson in pretty (tab-indented) form, first copying the previous file
//! to `<name>.bak`; integer map keys are unquoted (`{0:375,1:375}`). Read and write them with
//! [`crate::fastjson::from_slice`] and [`crate::fastjson::to_string_pretty`].
//!
//! | file | type |
//! |---|---|
//! | `topics.json` | [`TopicConfigSerializeWrapper`](super::common::TopicConfigSerializeWrapper) |
//! | `subscriptionGroup.json` | [`SubscriptionGroupWrapper`](super::group_admin::SubscriptionGroupWrapper) |
//! | `consumerOffset.json` | [`ConsumerOffsetSerializeWrapper`] |
//! | `delayOffset.json` | [`DelayOffsetSerializeWrapper`] |
//! | `consumerFilter.json` | [`ConsumerFilterSerializeWrapper`] |

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};

use super::common::DataVersion;

pub const TOPICS_FILE: &str = "topics.json";
pub const SUBSCRIPTION_GROUP_FILE: &str = "subscriptionGroup.json";
pub const CONSUMER_OFFSET_FILE: &str = "consumerOffset.json";
pub const DELAY_OFFSET_FILE: &str = "delayOffset.json";
pub const CONSUMER_FILTER_FILE: &str = "consumerFilter.json";
/// Suffix of the copy Java keeps of a config file's previous content.
pub const BACKUP_SUFFIX: &str = ".bak";

/// The separator of `offsetTable` keys in `consumerOffset.json`: `topic@group`.
pub const TOPIC_GROUP_SEPARATOR: char = '@';

/// `consumerOffset.json` and the body of 43 GET_ALL_CONSUMER_OFFSET: `"topic@group"` → queueId →
/// committed offset. 4.9.8 writes only `offsetTable`. A 5.x broker serializes its
/// `ConsumerOffsetManager`, which adds `dataVersion` and the getter-only `groupTopicMap` (group →
/// topics, derived from the keys; readers ignore it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerOffsetSerializeWrapper {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_topic_map: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl ConsumerOffsetSerializeWrapper {
    /// The `offsetTable` key of a group's offsets on a topic.
    pub fn key(topic: &str, group: &str) -> String {
        format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
    }

    /// Splits an `offsetTable` key into (topic, group) at its first `@`, as Java's
    /// `split("@")` does for names without `@` (topic and group names cannot contain one).
    pub fn split_key(key: &str) -> Option<(&str, &str)> {
        key.split_once(TOPIC_GROUP_SEPARATOR)
    }

    /// The committed offset of one queue.
    pub fn offset(&self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        self.offset_table
            .get(&Self::key(topic, group))
            .and_then(|queues| queues.get(&queue_id))
            .copied()
    }
}

/// `delayOffset.json` and the body of 45 GET_ALL_DELAY_OFFSET: delay level (1-based) → how many
/// messages of that level's `SCHEDULE_TOPIC_XXXX` queue (queueId = level − 1) were delivered.
/// `dataVersion` is 5.x.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayOffsetSerializeWrapper {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
    #[serde(default)]
    pub offset_table: BTreeMap<i32, i64>,
}

/// `consumerFilter.json`: the SQL92/bloom-filter registrations of consumer groups, per topic (the
/// broker's `ConsumerFilterManager`; its bloom filter itself is transient and not written).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerFilterSerializeWrapper {
    #[serde(default)]
    pub filter_data_by_topic: BTreeMap<String, FilterDataMapByTopic>,
}

/// `ConsumerFilterManager.FilterDataMapByTopic`: group → its filter on one topic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterDataMapByTopic {
    #[serde(default)]
    pub group_filter_data: BTreeMap<String, ConsumerFilterData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

/// `ConsumerFilterData`: one group's filter expression on one topic, with the bloom-filter bits of
/// the group and its life span. `dead` is written by fastjson from the `isDead()` getter
/// (`deadTime >= bornTime`) and ignored when read; the compiled expression is transient.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerFilterData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bloom_filter_data: Option<BloomFilterData>,
    #[serde(default)]
    pub born_time: i64,
    #[serde(default)]
    pub client_version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_group: Option<String>,
    #[serde(default)]
    pub dead: bool,
    #[serde(default)]
    pub dead_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl ConsumerFilterData {
    /// Sets `deadTime` and the `dead` flag Java derives from it together.
    pub fn set_dead_time(&mut self, dead_time: i64) {
        self.dead_time = dead_time;
        self.dead = self.dead_time >= self.born_time;
    }
}

/// `BloomFilterData`: the bit positions of a group in the broker's bloom filter of `bitNum` bits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BloomFilterData {
    #[serde(default)]
    pub bit_num: i32,
    /// A Java `int[]`: written without line breaks even in the pretty form.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "inline_opt_seq"
    )]
    pub bit_pos: Option<Vec<i32>>,
}

/// [`crate::fastjson::inline_seq`] for a nullable Java `Set` or primitive array.
pub(crate) fn inline_opt_seq<T: Serialize, S: Serializer>(
    items: &Option<Vec<T>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match items {
        Some(items) => crate::fastjson::inline_seq(items, serializer),
        None => serializer.serialize_none(),
    }
}
