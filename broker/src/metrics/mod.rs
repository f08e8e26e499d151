//! The 5.x broker's metrics (5.3.3 `BrokerMetricsManager`, `BrokerMetricsConstant`,
//! `RemotingMetricsManager`, `DefaultStoreMetricsManager`, `ConsumerLagCalculator`), served as
//! Prometheus text when `metricsExporterType=PROM` ([`config`], [`exporter`]).
//!
//! Java's names, labels and histogram buckets are kept so that dashboards made for a 5.x broker
//! work unchanged. Every series carries `cluster`, `node_type="broker"` and `node_id` (the
//! broker name), plus `metricsLabel`'s pairs. What is counted where, so that the send path pays
//! almost nothing:
//!
//! | series | source |
//! |---|---|
//! | `rocketmq_rpc_latency` (ms; buckets 1, 3, 5, 7, 10, 100, 1000, 2000, 3000; `protocol_type`, `request_code`, `response_code`, `is_long_polling`, `result`) | [`BrokerMetrics::record_rpc`], once around the processor's routing table |
//! | `rocketmq_processor_watermark` (`processor`) | requests of each Java processor pool in progress, counted around the table (Java reports its pools' queue lengths; our requests never queue, so the work in progress is the nearest figure) |
//! | `rocketmq_topic_create_execution_time` (`invocation_status`, `is_system`), `rocketmq_consumer_group_create_execution_time` (`invocation_status`) (ms; buckets 10, 100, 1000, 3000, 5000) | [`BrokerMetrics::record_create`], around the table for codes 17, 18, 200 and 225 |
//! | `rocketmq_message_size` (bytes per message of a put; buckets 1 KiB, 4 KiB, 512 KiB, 1 MiB, 2 MiB, 4 MiB) | [`BrokerMetrics::on_message_put`], from `BrokerStatsManager::on_message_put` |
//! | `rocketmq_send_to_dlq_messages_total` (`consumer_group`, `topic` = the original topic) | a send-back stored in `%DLQ%`, from the stats manager |
//! | `rocketmq_messages_in_total`, `rocketmq_throughput_in_total` (`topic`, `message_type`, `is_system`) | scrape time: TOPIC_PUT_NUMS / TOPIC_PUT_SIZE of `BrokerStatsManager` (retry and DLQ topics left out, as Java) |
//! | `rocketmq_messages_out_total`, `rocketmq_throughput_out_total` (`topic`, `consumer_group`, `is_system`) | scrape time: GROUP_GET_NUMS / GROUP_GET_SIZE (the schedule service's internal reads left out) |
//! | `rocketmq_topic_number`, `rocketmq_consumer_group_number`, `rocketmq_broker_permission` | scrape time: the managers |
//! | `rocketmq_producer_connections` (`language`, `version`), `rocketmq_consumer_connections` (`consumer_group`, `language`, `version`, `consume_mode`, `is_system`) | scrape time: the client managers |
//! | `rocketmq_consumer_lag_messages`, `_lag_latency`, `_inflight_messages`, `_queueing_latency`, `_ready_messages` (`consumer_group`, `topic`, `is_retry`, `is_system`) | scrape time: `ConsumerLagCalculator`'s rules over the online groups' subscriptions, the committed offsets, the pull offsets ([`BrokerMetrics::on_pull`]) and the store |
//! | `rocketmq_storage_size`, `_flush_behind_bytes`, `_dispatch_behind_bytes` (`storage_type="local"`, `storage_medium="disk"`) | scrape time: the store's disk and offsets |
//!
//! `message_type` is derived from where the put landed (`RMQ_SYS_TRANS_HALF_TOPIC`:
//! `transaction`, `SCHEDULE_TOPIC_XXXX`: `delay`, else `normal`), which for remoting clients is
//! what 5.x reads from the request's properties (its `fifo` needs the gRPC sharding key).
//! Deriving the totals from 4.9.8's statistics differs from 5.x in one place: a send-back that
//! the store parks in `SCHEDULE_TOPIC_XXXX` counts there (system topic, `delay`), where 5.x
//! counts nothing for it. Not kept: 5.x's transaction series (`rocketmq_commit_messages_total`,
//! `_rollback_messages_total`, `rocketmq_half_messages`, `rocketmq_finish_message_latency`), nor
//! the POP and timer series.
//! Java's lag estimate for tag subscriptions (`estimateAccumulation`) is not applied: lag counts
//! every message of the queue. The name server of 5.3.3 has no metrics, so ours has none.

pub mod config;
pub mod exporter;
mod scrape;

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

pub use config::{ExporterType, MetricsConfig};
pub use scrape::render;

/// `RemotingMetricsManager`'s rpc buckets (ms).
pub const RPC_LATENCY_BUCKETS: [f64; 9] = [1.0, 3.0, 5.0, 7.0, 10.0, 100.0, 1000.0, 2000.0, 3000.0];
/// `BrokerMetricsManager`'s message size buckets (bytes).
pub const MESSAGE_SIZE_BUCKETS: [f64; 6] = [
    1024.0,
    4096.0,
    524_288.0,
    1_048_576.0,
    2_097_152.0,
    4_194_304.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RpcLabels {
    protocol_type: &'static str,
    request_code: String,
    response_code: String,
    is_long_polling: &'static str,
    result: &'static str,
}

/// `BrokerMetricsManager`'s create-time buckets (ms).
pub const CREATE_TIME_BUCKETS: [f64; 5] = [10.0, 100.0, 1000.0, 3000.0, 5000.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TopicCreateLabels {
    invocation_status: &'static str,
    is_system: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct GroupCreateLabels {
    invocation_status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TopicInLabels {
    topic: String,
    message_type: &'static str,
    is_system: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct GroupTopicLabels {
    consumer_group: String,
    topic: String,
    is_system: &'static str,
}

/// Java's processor pools, for `rocketmq_processor_watermark`.
pub const PROCESSORS: [&str; 8] = [
    "send",
    "pull",
    "query_message",
    "client_manager",
    "heartbeat",
    "transaction",
    "consumer_manager",
    "admin",
];

/// The pool Java runs a request code in (`BrokerController.registerProcessor`).
pub fn processor_of(code: i32) -> usize {
    use remoting_codec::code::request as rc;
    match code {
        rc::SEND_MESSAGE
        | rc::SEND_MESSAGE_V2
        | rc::SEND_BATCH_MESSAGE
        | rc::CONSUMER_SEND_MSG_BACK => 0,
        rc::PULL_MESSAGE => 1,
        rc::QUERY_MESSAGE | rc::VIEW_MESSAGE_BY_ID => 2,
        rc::UNREGISTER_CLIENT | rc::CHECK_CLIENT_CONFIG => 3,
        rc::HEART_BEAT => 4,
        rc::END_TRANSACTION => 5,
        rc::GET_CONSUMER_LIST_BY_GROUP | rc::UPDATE_CONSUMER_OFFSET | rc::QUERY_CONSUMER_OFFSET => {
            6
        }
        _ => 7,
    }
}

/// The live instruments: what must be counted as it happens. Everything else is read from
/// the broker's managers at scrape time ([`render`]).
pub struct BrokerMetrics {
    enabled: bool,
    rpc: Family<RpcLabels, Histogram>,
    /// (request code, response code, long polling, oneway) → its histogram, so a request
    /// costs one lookup by integers and no label strings once its series exists.
    rpc_cache: DashMap<(i32, i32, bool, bool), Histogram>,
    message_size: Family<TopicInLabels, Histogram>,
    /// `rocketmq_topic_create_execution_time` / `rocketmq_consumer_group_create_execution_time`.
    topic_create: Family<TopicCreateLabels, Histogram>,
    group_create: Family<GroupCreateLabels, Histogram>,
    message_size_cache: DashMap<String, Histogram>,
    send_to_dlq: Family<GroupTopicLabels, Counter>,
    /// `topic@group` → queue → the next offset a pull was answered with (Java 5.x's
    /// `ConsumerOffsetManager.pullOffsetTable`), for the in-flight and ready gauges.
    pull_offsets: DashMap<String, DashMap<i32, i64>>,
    in_progress: [AtomicI64; PROCESSORS.len()],
    /// `TopicValidator`'s system topics of this broker (the `is_system` label).
    system_topics: HashSet<String>,
}

impl std::fmt::Debug for BrokerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerMetrics")
            .field("enabled", &self.enabled)
            .finish()
    }
}

fn rpc_histogram() -> Histogram {
    Histogram::new(RPC_LATENCY_BUCKETS)
}

fn create_time_histogram() -> Histogram {
    Histogram::new(CREATE_TIME_BUCKETS)
}

fn size_histogram() -> Histogram {
    Histogram::new(MESSAGE_SIZE_BUCKETS)
}

/// `BrokerMetricsManager.isSystemGroup`: the `CID_RMQ_SYS_` prefix, case-insensitive.
pub fn is_system_group(group: &str) -> bool {
    group
        .get(..12)
        .is_some_and(|p| p.eq_ignore_ascii_case("CID_RMQ_SYS_"))
}

/// Java's `isRetryOrDlqTopic`.
pub fn is_retry_or_dlq(topic: &str) -> bool {
    topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%")
}

/// `message_type` from where a put was stored (see the module doc).
pub fn message_type_of(stored_topic: &str) -> &'static str {
    match stored_topic {
        "RMQ_SYS_TRANS_HALF_TOPIC" => "transaction",
        store::SCHEDULE_TOPIC => "delay",
        _ => "normal",
    }
}

pub(crate) fn bool_label(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

impl BrokerMetrics {
    /// `enabled`: an exporter serves the metrics; otherwise nothing is counted.
    /// `system_topics`: `TopicConfigManager::system_topic_list`.
    pub fn new(enabled: bool, system_topics: impl IntoIterator<Item = String>) -> Self {
        BrokerMetrics {
            enabled,
            rpc: Family::new_with_constructor(rpc_histogram),
            rpc_cache: DashMap::new(),
            message_size: Family::new_with_constructor(size_histogram),
            topic_create: Family::new_with_constructor(create_time_histogram),
            group_create: Family::new_with_constructor(create_time_histogram),
            message_size_cache: DashMap::new(),
            send_to_dlq: Family::default(),
            pull_offsets: DashMap::new(),
            in_progress: Default::default(),
            system_topics: system_topics.into_iter().collect(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// `TopicValidator.isSystemTopic`.
    pub fn is_system_topic(&self, topic: &str) -> bool {
        self.system_topics.contains(topic) || topic.starts_with("rmq_sys_")
    }

    /// `BrokerMetricsManager.isSystem(topic, group)`.
    pub fn is_system(&self, topic: &str, group: &str) -> bool {
        self.is_system_topic(topic) || is_system_group(group)
    }

    /// A request of `code` enters its processor; the returned guard leaves it.
    pub fn enter(self: &Arc<Self>, code: i32) -> Option<InProgress> {
        if !self.enabled {
            return None;
        }
        let pool = processor_of(code);
        self.in_progress[pool].fetch_add(1, Ordering::Relaxed);
        Some(InProgress {
            metrics: self.clone(),
            pool,
        })
    }

    /// One request answered (`response_code`, or `None` when nothing was sent back) after
    /// `elapsed`; `long_polling`: the answer waited in the hold service.
    pub fn record_rpc(
        &self,
        request_code: i32,
        response_code: Option<i32>,
        long_polling: bool,
        elapsed: Duration,
    ) {
        if !self.enabled {
            return;
        }
        let key = (
            request_code,
            response_code.unwrap_or(0),
            long_polling,
            response_code.is_none(),
        );
        let ms = elapsed.as_millis() as f64;
        if let Some(h) = self.rpc_cache.get(&key) {
            h.observe(ms);
            return;
        }
        let labels = RpcLabels {
            protocol_type: "remoting",
            request_code: code_name(
                remoting_codec::code::request::name(request_code),
                request_code,
            ),
            response_code: match response_code {
                Some(c) => code_name(remoting_codec::code::response::name(c), c),
                None => String::new(),
            },
            is_long_polling: bool_label(long_polling),
            result: if response_code.is_some() {
                "success"
            } else {
                "oneway"
            },
        };
        let h = self.rpc.get_or_create(&labels).clone();
        h.observe(ms);
        self.rpc_cache.insert(key, h);
    }

    /// 5.x's `AdminBrokerProcessor` times every topic and subscription-group creation
    /// (UPDATE_AND_CREATE_TOPIC 17 and its list 18, UPDATE_AND_CREATE_SUBSCRIPTIONGROUP 200 and
    /// its list 225) with `invocation_status` success (answer SUCCESS) or failure. `topic` is
    /// the header's topic of a 17; Java labels a list by `isSystemTopic` of its joined names,
    /// which is false for any real list, as ours is. Other codes are ignored.
    pub fn record_create(
        &self,
        request_code: i32,
        topic: Option<&str>,
        response_code: Option<i32>,
        elapsed: Duration,
    ) {
        use remoting_codec::code::request as rc;
        if !self.enabled {
            return;
        }
        let invocation_status = if response_code == Some(0) {
            "success"
        } else {
            "failure"
        };
        let ms = elapsed.as_millis() as f64;
        match request_code {
            rc::UPDATE_AND_CREATE_TOPIC | rc::UPDATE_AND_CREATE_TOPIC_LIST => {
                let is_system = topic.is_some_and(|t| self.is_system_topic(t));
                self.topic_create
                    .get_or_create(&TopicCreateLabels {
                        invocation_status,
                        is_system: bool_label(is_system),
                    })
                    .observe(ms);
            }
            rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
            | rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST => {
                self.group_create
                    .get_or_create(&GroupCreateLabels { invocation_status })
                    .observe(ms);
            }
            _ => {}
        }
    }

    /// A stored put of `msg_num` messages, `wrote_bytes` in all, under `topic` as stored.
    pub fn on_message_put(&self, topic: &str, msg_num: i64, wrote_bytes: i64) {
        if !self.enabled || msg_num <= 0 || is_retry_or_dlq(topic) {
            return;
        }
        let size = (wrote_bytes / msg_num) as f64;
        if let Some(h) = self.message_size_cache.get(topic) {
            h.observe(size);
            return;
        }
        let h = self
            .message_size
            .get_or_create(&TopicInLabels {
                topic: topic.to_owned(),
                message_type: message_type_of(topic),
                is_system: bool_label(self.is_system_topic(topic)),
            })
            .clone();
        h.observe(size);
        self.message_size_cache.insert(topic.to_owned(), h);
    }

    /// A send-back of `group` stored in its DLQ; `origin_topic` is the message's topic.
    pub fn on_send_to_dlq(&self, group: &str, origin_topic: &str) {
        if !self.enabled {
            return;
        }
        self.send_to_dlq
            .get_or_create(&GroupTopicLabels {
                consumer_group: group.to_owned(),
                topic: origin_topic.to_owned(),
                is_system: bool_label(self.is_system(origin_topic, group)),
            })
            .inc();
    }

    /// A pull of `group` on `topic`/`queue_id` answered with `next_begin_offset`.
    pub fn on_pull(&self, group: &str, topic: &str, queue_id: i32, next_begin_offset: i64) {
        if !self.enabled {
            return;
        }
        let key = format!("{topic}@{group}");
        match self.pull_offsets.get(&key) {
            Some(queues) => {
                queues.insert(queue_id, next_begin_offset);
            }
            None => {
                self.pull_offsets
                    .entry(key)
                    .or_default()
                    .insert(queue_id, next_begin_offset);
            }
        }
    }

    /// Java's `queryPullOffset`: −1 when this group never pulled the queue.
    pub fn pull_offset(&self, group: &str, topic: &str, queue_id: i32) -> i64 {
        self.pull_offsets
            .get(&format!("{topic}@{group}"))
            .and_then(|q| q.get(&queue_id).map(|o| *o))
            .unwrap_or(-1)
    }
}

impl BrokerMetrics {
    /// Registers the instruments counted live (the rest is read at scrape time).
    pub(crate) fn register_live(&self, reg: &mut prometheus_client::registry::Registry) {
        reg.register("rocketmq_rpc_latency", "Rpc latency", self.rpc.clone());
        reg.register(
            "rocketmq_message_size",
            "Incoming messages size",
            self.message_size.clone(),
        );
        reg.register(
            "rocketmq_topic_create_execution_time",
            "The distribution of create topic time",
            self.topic_create.clone(),
        );
        reg.register(
            "rocketmq_consumer_group_create_execution_time",
            "The distribution of create subscription time",
            self.group_create.clone(),
        );
        reg.register(
            "rocketmq_send_to_dlq_messages",
            "Consumer send to DLQ messages",
            self.send_to_dlq.clone(),
        );
    }

    /// The live instruments as Prometheus text, for tests.
    #[cfg(test)]
    pub(crate) fn live_text(&self) -> String {
        let mut reg = prometheus_client::registry::Registry::default();
        self.register_live(&mut reg);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
        text
    }
}

/// Java's `getRequestCodeDesc` / `getResponseCodeDesc`: the lower-case constant name, or the
/// number for a code without one.
fn code_name(name: Option<&str>, code: i32) -> String {
    match name {
        Some(n) => n.split('|').next().unwrap_or(n).to_ascii_lowercase(),
        None => code.to_string(),
    }
}

/// A request in progress in its processor pool (dropped when it is answered).
pub struct InProgress {
    metrics: Arc<BrokerMetrics>,
    pool: usize,
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.metrics.in_progress[self.pool].fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
