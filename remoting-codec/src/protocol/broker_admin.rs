//! Broker-wide administration: configuration, runtime info, statistics and cleaning (mqadmin
//! `getBrokerConfig`, `updateBrokerConfig`, `clusterList`, `brokerStatus`, `statsAll`,
//! `brokerConsumeStats`; the dashboard cluster page and its minute collector).
//!
//! Codes:
//! - 25 UPDATE_BROKER_CONFIG: no header; the body is Java properties text (`key=value` lines,
//!   read and written with [`super::properties_text`]).
//! - 26 GET_BROKER_CONFIG: no request header; response [`GetBrokerConfigResponseHeader`] and a
//!   properties-text body with every broker, store and netty setting.
//! - 28 GET_BROKER_RUNTIME_INFO: no header; the body is a
//!   [`KvTable`](super::common::KvTable) whose keys are listed in [`runtime_info`].
//! - 315 VIEW_BROKER_STATS_DATA: [`ViewBrokerStatsDataRequestHeader`] → [`BrokerStatsData`];
//!   unknown stats answer 1 SYSTEM_ERROR "The stats <NAME> <KEY> not exist".
//! - 317 GET_BROKER_CONSUME_STATS: [`GetConsumeStatsInBrokerHeader`] → [`ConsumeStatsList`].
//! - 43 GET_ALL_CONSUMER_OFFSET / 45 GET_ALL_DELAY_OFFSET: no header; the bodies are the
//!   broker's `consumerOffset.json` / `delayOffset.json`, see [`super::config_files`].
//! - 306 CLEAN_EXPIRED_CONSUMEQUEUE, 316 CLEAN_UNUSED_TOPIC, 329 DELETE_EXPIRED_COMMITLOG: no
//!   header, no body; the answer is success or 1 with a remark.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::consumer_admin::ConsumeStats;

crate::remoting_header! {
    /// Response of 26 GET_BROKER_CONFIG. `version` is the configuration's `DataVersion` as
    /// compact JSON text (`{"counter":0,"timestamp":…}`); mqadmin does not read it but Java
    /// requires it.
    pub struct GetBrokerConfigResponseHeader {
        required version: String = "version",
    }
}

crate::remoting_header! {
    /// Request of 315 VIEW_BROKER_STATS_DATA: one statistic ([`stats_name`]) of one key (a topic,
    /// `topic@group`, `queueId@topic@group`, …).
    pub struct ViewBrokerStatsDataRequestHeader {
        required stats_name: String = "statsName",
        required stats_key: String = "statsKey",
    }
}

crate::remoting_header! {
    /// Request of 317 GET_BROKER_CONSUME_STATS: `isOrder` limits the answer to groups consuming
    /// ordered topics. A primitive in Java, so always present.
    pub struct GetConsumeStatsInBrokerHeader {
        default is_order: bool = "isOrder",
    }
}

/// The `statsName` values of 315 that mqadmin and the dashboard ask for (`BrokerStatsManager`).
pub mod stats_name {
    /// Messages put to a topic; key = topic.
    pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
    pub const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
    /// Messages pulled by a group; key = `topic@group`.
    pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
    pub const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
    /// Messages sent back for retry; key = `topic@group`.
    pub const SNDBCK_PUT_NUMS: &str = "SNDBCK_PUT_NUMS";
    /// Whole-broker counters; key = the broker's cluster name.
    pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
    pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";
    /// Key = `topic@queueId`.
    pub const QUEUE_PUT_NUMS: &str = "QUEUE_PUT_NUMS";
    pub const QUEUE_PUT_SIZE: &str = "QUEUE_PUT_SIZE";
    /// Key = `topic@queueId@group` (Java's `buildStatsKey(topic, queueId, group)`).
    pub const QUEUE_GET_NUMS: &str = "QUEUE_GET_NUMS";
    pub const QUEUE_GET_SIZE: &str = "QUEUE_GET_SIZE";
    /// Pull latency (ms per pull); key = `queueId@topic@group` with `enableDetailStat`,
    /// else `topic@group`.
    pub const GROUP_GET_LATENCY: &str = "GROUP_GET_LATENCY";
    /// Registered by 4.9.8's `BrokerStatsManager` but never counted: every key answers
    /// "not exist".
    pub const GROUP_GET_FROM_DISK_NUMS: &str = "GROUP_GET_FROM_DISK_NUMS";
    pub const GROUP_GET_FROM_DISK_SIZE: &str = "GROUP_GET_FROM_DISK_SIZE";
    pub const BROKER_GET_FROM_DISK_NUMS: &str = "BROKER_GET_FROM_DISK_NUMS";
    pub const BROKER_GET_FROM_DISK_SIZE: &str = "BROKER_GET_FROM_DISK_SIZE";
}

/// One time window of a statistic: the sum over the window, per-second rate and average value
/// per event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BrokerStatsItem {
    #[serde(default)]
    pub avgpt: f64,
    #[serde(default)]
    pub sum: i64,
    #[serde(default)]
    pub tps: f64,
}

/// Response body of 315 VIEW_BROKER_STATS_DATA: the statistic over the last minute, hour and day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStatsData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_day: Option<BrokerStatsItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_hour: Option<BrokerStatsItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_minute: Option<BrokerStatsItem>,
}

/// Response body of 317 GET_BROKER_CONSUME_STATS: for every group (one single-entry map per
/// group, in a list), the consume stats of each topic it consumes; `totalDiff` is the summed lag.
/// `totalInflightDiff` is 5.x.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeStatsList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    #[serde(default)]
    pub consume_stats_list: Vec<BTreeMap<String, Vec<ConsumeStats>>>,
    #[serde(default)]
    pub total_diff: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_inflight_diff: Option<i64>,
}

/// Keys of the 28 GET_BROKER_RUNTIME_INFO table that Java tools read. Every value is text. A
/// 4.9.8 broker sends 48 keys (see the recorded `m18-brokerStatus` capture); these are the ones
/// whose absence or shape breaks a reader.
pub mod runtime_info {
    /// `MQVersion` name, e.g. `V4_9_8` (clusterList "Version").
    pub const BROKER_VERSION_DESC: &str = "brokerVersionDesc";
    /// `MQVersion` ordinal, e.g. `409`.
    pub const BROKER_VERSION: &str = "brokerVersion";
    /// Message counters since midnight/yesterday (clusterList "#Yesterday/#Today" columns).
    pub const MSG_PUT_TOTAL_TODAY_NOW: &str = "msgPutTotalTodayNow";
    pub const MSG_GET_TOTAL_TODAY_NOW: &str = "msgGetTotalTodayNow";
    pub const MSG_PUT_TOTAL_TODAY_MORNING: &str = "msgPutTotalTodayMorning";
    pub const MSG_GET_TOTAL_TODAY_MORNING: &str = "msgGetTotalTodayMorning";
    pub const MSG_PUT_TOTAL_YESTERDAY_MORNING: &str = "msgPutTotalYesterdayMorning";
    pub const MSG_GET_TOTAL_YESTERDAY_MORNING: &str = "msgGetTotalYesterdayMorning";
    /// Rates as `"<10s> <60s> <600s>"` space-separated doubles; clusterList and the dashboard
    /// split on spaces and parse the first field (a trailing space is what Java sends).
    pub const PUT_TPS: &str = "putTps";
    pub const GET_TOTAL_TPS: &str = "getTotalTps";
    pub const GET_FOUND_TPS: &str = "getFoundTps";
    pub const GET_MISS_TPS: &str = "getMissTps";
    /// 4.x spelling; 5.x tools read [`GET_TRANSFERRED_TPS`].
    pub const GET_TRANSFERED_TPS: &str = "getTransferedTps";
    pub const GET_TRANSFERRED_TPS: &str = "getTransferredTps";
    /// Commit log disk usage as a fraction (`0.23`); plus one `commitLogDiskRatio_<path>` per path.
    pub const COMMIT_LOG_DISK_RATIO: &str = "commitLogDiskRatio";
    pub const CONSUME_QUEUE_DISK_RATIO: &str = "consumeQueueDiskRatio";
    pub const COMMIT_LOG_MIN_OFFSET: &str = "commitLogMinOffset";
    pub const COMMIT_LOG_MAX_OFFSET: &str = "commitLogMaxOffset";
    pub const COMMIT_LOG_DIR_CAPACITY: &str = "commitLogDirCapacity";
    pub const BOOT_TIMESTAMP: &str = "bootTimestamp";
    /// `[ D days, H hours, M minutes, S seconds ]`.
    pub const RUNTIME: &str = "runtime";
    /// Store time of the oldest message, `-1` when unknown.
    pub const EARLIEST_MESSAGE_TIME_STAMP: &str = "earliestMessageTimeStamp";
    /// clusterList "SendQ/PullQ" columns and the dashboard.
    pub const SEND_THREAD_POOL_QUEUE_SIZE: &str = "sendThreadPoolQueueSize";
    pub const SEND_THREAD_POOL_QUEUE_HEAD_WAIT_TIME_MILLS: &str =
        "sendThreadPoolQueueHeadWaitTimeMills";
    pub const PULL_THREAD_POOL_QUEUE_SIZE: &str = "pullThreadPoolQueueSize";
    pub const PULL_THREAD_POOL_QUEUE_HEAD_WAIT_TIME_MILLS: &str =
        "pullThreadPoolQueueHeadWaitTimeMills";
    pub const PAGE_CACHE_LOCK_TIME_MILLS: &str = "pageCacheLockTimeMills";
    /// 5.x clusterList reads these; a missing one prints as null.
    pub const BROKER_ACTIVE: &str = "brokerActive";
    pub const TIMER_READ_BEHIND: &str = "timerReadBehind";
    pub const TIMER_OFFSET_BEHIND: &str = "timerOffsetBehind";
    pub const TIMER_CONGEST_NUM: &str = "timerCongestNum";
    pub const TIMER_ENQUEUE_TPS: &str = "timerEnqueueTps";
    pub const TIMER_DEQUEUE_TPS: &str = "timerDequeueTps";
}
