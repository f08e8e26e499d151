//! Route bodies of the name server: topic routes, cluster info, topic lists, broker member
//! groups and the KV config file.
//!
//! Field order is alphabetical because fastjson writes bean properties sorted. Broker id maps
//! (`brokerAddrs`) have `Long` keys, which fastjson writes unquoted (`{0:"127.0.0.1:10911"}`)
//! unless a route is answered in standard JSON; [`crate::fastjson`] reads both forms.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::code::version;

/// `BrokerData`: the addresses of the brokers sharing one broker name, by broker id (0 is the
/// master). Part of TopicRouteData and ClusterInfo.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerData {
    #[serde(default)]
    pub broker_addrs: BTreeMap<i64, String>,
    #[serde(default)]
    pub broker_name: String,
    #[serde(default)]
    pub cluster: String,
    /// 5.x only (a primitive there, so every 5.x peer writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_acting_master: Option<bool>,
    /// 5.x only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// Broker id of the master.
    pub const MASTER_ID: i64 = 0;

    pub fn new(cluster: impl Into<String>, broker_name: impl Into<String>) -> Self {
        Self {
            cluster: cluster.into(),
            broker_name: broker_name.into(),
            ..Self::default()
        }
    }

    /// Java's `selectBrokerAddr` without the random fallback: the master's address.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&Self::MASTER_ID).map(String::as_str)
    }
}

/// `QueueData`: one broker name's queues of a topic, with the topic's permission there.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueData {
    #[serde(default)]
    pub broker_name: String,
    #[serde(default)]
    pub perm: i32,
    #[serde(default)]
    pub read_queue_nums: i32,
    #[serde(default)]
    pub topic_sys_flag: i32,
    #[serde(default)]
    pub write_queue_nums: i32,
}

/// `TopicRouteData`: the answer to GET_ROUTEINFO_BY_TOPIC (105), and with only `queueDatas` the
/// body of 5.x REGISTER_TOPIC_IN_NAMESRV (217).
///
/// `filterServerTable` maps a broker address to its filter servers (Java brokers register none).
/// `orderTopicConf` is the KV `ORDER_TOPIC_CONFIG` entry of the topic (`brokerName:queues;…`),
/// set only when the name server has `orderMessageEnable`. `topicQueueMappingByBroker` (5.x
/// static topics) is kept as raw JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRouteData {
    #[serde(default)]
    pub broker_datas: Vec<BrokerData>,
    #[serde(default)]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    #[serde(default)]
    pub queue_datas: Vec<QueueData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_by_broker: Option<serde_json::Value>,
}

impl TopicRouteData {
    /// Whether a GET_ROUTEINFO_BY_TOPIC answer must be standard JSON (quoted `brokerAddrs` keys,
    /// [`crate::fastjson::to_vec_standard`]): Java's name server does so for requests of
    /// version [`version::V4_9_4`] or later, or when `acceptStandardJsonOnly` is set. Older
    /// clients get fastjson's default form.
    pub fn wants_standard_json(
        request_version: i32,
        accept_standard_json_only: Option<bool>,
    ) -> bool {
        request_version >= version::V4_9_4 || accept_standard_json_only == Some(true)
    }
}

/// `ClusterInfo`: the answer to GET_BROKER_CLUSTER_INFO (106): every broker name with its
/// addresses, and the broker names of each cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    #[serde(default)]
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    #[serde(default)]
    pub cluster_addr_table: BTreeMap<String, Vec<String>>,
}

/// `TopicList`: topic names, the body of 206, 224, 304 and 311–313. For
/// GET_SYSTEM_TOPIC_LIST_FROM_NS (304) the list holds the cluster and broker names and
/// `brokerAddr` one broker's address, which tools then ask for its own system topics (305).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    #[serde(default)]
    pub topic_list: Vec<String>,
}

/// `BrokerMemberGroup` (5.x): the brokers registered under one broker name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerMemberGroup {
    #[serde(default)]
    pub broker_addrs: BTreeMap<i64, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// `GetBrokerMemberGroupResponseBody`: the answer to GET_BROKER_MEMBER_GROUP (901, 5.x).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetBrokerMemberGroupResponseBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_member_group: Option<BrokerMemberGroup>,
}

/// `KVConfigSerializeWrapper`: the name server's `kvConfig.json`, `{namespace: {key: value}}`.
/// Java writes the file compact ([`crate::fastjson::to_vec`], not the pretty form), rewriting it
/// after every PUT_/DELETE_KV_CONFIG.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KVConfigSerializeWrapper {
    #[serde(default)]
    pub config_table: BTreeMap<String, BTreeMap<String, String>>,
}
