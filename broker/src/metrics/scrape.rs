//! What a scrape reads from the broker: the statistics' running totals, the managers' tables,
//! the consumer lag (5.3.3 `ConsumerLagCalculator`, remoting consumers) and the store, encoded
//! with the live instruments of [`BrokerMetrics`] as Prometheus text.

use std::borrow::Cow;
use std::sync::atomic::Ordering;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use remoting_codec::protocol::broker_admin::stats_name as stat;

use super::{bool_label, is_retry_or_dlq, is_system_group, message_type_of, BrokerMetrics};
use super::{GroupTopicLabels, TopicInLabels, PROCESSORS};
use crate::controller::BrokerController;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LagLabels {
    consumer_group: String,
    topic: String,
    is_retry: &'static str,
    is_system: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProducerLabels {
    language: String,
    version: String,
    protocol_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConsumerLabels {
    consumer_group: String,
    language: String,
    version: String,
    consume_mode: String,
    protocol_type: &'static str,
    is_system: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StorageLabels {
    storage_type: &'static str,
    storage_medium: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProcessorLabels {
    processor: &'static str,
}

/// The labels of every series (`BrokerMetricsManager.LABEL_MAP`).
fn common_labels(ctrl: &BrokerController) -> Vec<(Cow<'static, str>, Cow<'static, str>)> {
    let mut labels: Vec<(Cow<'static, str>, Cow<'static, str>)> = ctrl
        .metrics_config
        .labels
        .iter()
        .map(|(k, v)| (Cow::Owned(k.clone()), Cow::Owned(v.clone())))
        .collect();
    if ctrl.metrics_config.in_delta {
        labels.push(("aggregation".into(), "delta".into()));
    }
    let config = &ctrl.broker_config;
    labels.push(("node_type".into(), "broker".into()));
    labels.push(("cluster".into(), config.broker_cluster_name.clone().into()));
    labels.push(("node_id".into(), config.broker_name.clone().into()));
    labels
}

/// One lag figure of a (group, topic) pair, summed over the topic's write queues.
#[derive(Default, Debug, PartialEq, Eq)]
pub(crate) struct Lag {
    pub lag: i64,
    pub lag_latency: i64,
    pub inflight: i64,
    pub queueing_latency: i64,
    pub ready: i64,
}

/// `ConsumerLagCalculator` for a remoting (non-POP) group on `topic` at `now`.
pub(crate) fn lag_of(
    ctrl: &BrokerController,
    group: &str,
    topic: &str,
    queues: i32,
    now: i64,
) -> Lag {
    let store = &ctrl.store;
    let metrics = &ctrl.metrics;
    let store_time = |queue_id: i32, offset: i64| {
        let t = if offset >= 0 {
            store.message_store_timestamp(topic, queue_id, offset)
        } else {
            -1
        };
        if t > 0 {
            t
        } else {
            i64::MAX
        }
    };
    let mut out = Lag::default();
    let (mut earliest_unconsumed, mut earliest_unpulled) = (i64::MAX, i64::MAX);
    for queue_id in 0..queues {
        let broker_offset = store.max_offset_in_queue(topic, queue_id).max(0);
        let mut consumer_offset = ctrl
            .consumer_offset_manager
            .query_offset(group, topic, queue_id);
        if consumer_offset < 0 {
            consumer_offset = broker_offset;
        }
        out.lag += (broker_offset - consumer_offset).max(0);
        earliest_unconsumed = earliest_unconsumed.min(store_time(queue_id, consumer_offset));

        let pulled = metrics.pull_offset(group, topic, queue_id);
        // getInFlightMsgStats: an unknown pull offset is 0, an unknown commit the pull offset.
        let pull_for_inflight = pulled.max(0);
        let commit = match ctrl
            .consumer_offset_manager
            .query_offset(group, topic, queue_id)
        {
            c if c < 0 => pull_for_inflight,
            c => c,
        };
        out.inflight += (pull_for_inflight - commit).max(0);
        earliest_unpulled = earliest_unpulled.min(store_time(queue_id, pull_for_inflight));
        // getAvailableMsgCount: an unknown pull offset is the broker's max.
        let pull_for_ready = if pulled < 0 { broker_offset } else { pulled };
        out.ready += (broker_offset - pull_for_ready).max(0);
    }
    let latency = |t: i64| if t > 0 && t != i64::MAX { now - t } else { 0 };
    out.lag_latency = latency(earliest_unconsumed);
    out.queueing_latency = latency(earliest_unpulled);
    out
}

/// The (group, topic, write queues) pairs `ConsumerLagCalculator.processAllGroup` visits: each
/// subscription group with online consumers, each topic they subscribe (not `%RETRY%`) whose
/// config exists and is readable or writable.
fn lag_pairs(ctrl: &BrokerController) -> Vec<(String, String, i32)> {
    let broker_perm = ctrl.configuration.broker(|b| b.broker_permission);
    let mut pairs = Vec::new();
    for group in ctrl.subscription_group_manager.group_names() {
        let Some(info) = ctrl.consumer_manager.get_consumer_group_info(&group) else {
            continue;
        };
        for topic in info.subscription_table.keys() {
            if topic.starts_with("%RETRY%") {
                continue;
            }
            let Some(tc) = ctrl.topic_config_manager.select_topic_config(topic) else {
                continue;
            };
            let perm = tc.perm & broker_perm;
            if perm & 0b110 == 0 {
                continue;
            }
            pairs.push((group.clone(), topic.clone(), tc.write_queue_nums));
        }
    }
    pairs
}

fn version_label(version: i32) -> String {
    remoting_codec::code::version::version_name(version)
        .unwrap_or_else(|| version.to_string())
        .to_ascii_lowercase()
}

/// Used bytes of the disk holding `dir` (Java: `getTotalSpace() - getFreeSpace()`).
fn disk_used(dir: &std::path::Path) -> Option<i64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `st` a valid out-pointer.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let frsize = st.f_frsize as i64;
    Some((st.f_blocks as i64 - st.f_bfree as i64) * frsize)
}

/// The Prometheus text of every series at `now` (ms).
pub fn render(ctrl: &BrokerController, now: i64) -> String {
    let m: &BrokerMetrics = &ctrl.metrics;
    let mut reg = Registry::with_labels(common_labels(ctrl).into_iter());

    // Counted live.
    m.register_live(&mut reg);
    let watermark = Family::<ProcessorLabels, Gauge>::default();
    for (i, processor) in PROCESSORS.iter().enumerate() {
        watermark
            .get_or_create(&ProcessorLabels { processor })
            .set(m.in_progress[i].load(Ordering::Relaxed));
    }
    reg.register(
        "rocketmq_processor_watermark",
        "Request processor watermark",
        watermark,
    );

    // The statistics' running totals.
    let stats = &ctrl.broker_stats_manager;
    let (messages_in, throughput_in) = (
        Family::<TopicInLabels, Counter>::default(),
        Family::<TopicInLabels, Counter>::default(),
    );
    for (family, name) in [
        (&messages_in, stat::TOPIC_PUT_NUMS),
        (&throughput_in, stat::TOPIC_PUT_SIZE),
    ] {
        for (topic, value) in stats.item_values(name) {
            if is_retry_or_dlq(&topic) {
                continue;
            }
            let labels = TopicInLabels {
                message_type: message_type_of(&topic),
                is_system: bool_label(m.is_system_topic(&topic)),
                topic,
            };
            family.get_or_create(&labels).inc_by(value.max(0) as u64);
        }
    }
    reg.register(
        "rocketmq_messages_in",
        "Total number of incoming messages",
        messages_in,
    );
    reg.register(
        "rocketmq_throughput_in",
        "Total traffic of incoming messages",
        throughput_in,
    );
    let (messages_out, throughput_out) = (
        Family::<GroupTopicLabels, Counter>::default(),
        Family::<GroupTopicLabels, Counter>::default(),
    );
    for (family, name) in [
        (&messages_out, stat::GROUP_GET_NUMS),
        (&throughput_out, stat::GROUP_GET_SIZE),
    ] {
        for (key, value) in stats.item_values(name) {
            let Some((topic, group)) = key.split_once('@') else {
                continue;
            };
            if is_retry_or_dlq(topic) || topic == store::SCHEDULE_TOPIC {
                continue;
            }
            let labels = GroupTopicLabels {
                is_system: bool_label(m.is_system(topic, group)),
                consumer_group: group.to_owned(),
                topic: topic.to_owned(),
            };
            family.get_or_create(&labels).inc_by(value.max(0) as u64);
        }
    }
    reg.register(
        "rocketmq_messages_out",
        "Total number of outgoing messages",
        messages_out,
    );
    reg.register(
        "rocketmq_throughput_out",
        "Total traffic of outgoing messages",
        throughput_out,
    );

    // The managers.
    let gauge = |v: i64| {
        let g = Gauge::<i64>::default();
        g.set(v);
        g
    };
    reg.register(
        "rocketmq_broker_permission",
        "Broker permission",
        gauge(ctrl.configuration.broker(|b| b.broker_permission) as i64),
    );
    reg.register(
        "rocketmq_topic_number",
        "Active topic number",
        gauge(ctrl.topic_config_manager.topic_names().len() as i64),
    );
    reg.register(
        "rocketmq_consumer_group_number",
        "Active subscription group number",
        gauge(ctrl.subscription_group_manager.group_names().len() as i64),
    );
    let producers = Family::<ProducerLabels, Gauge>::default();
    for channels in ctrl.producer_manager.producer_table().values() {
        for c in channels {
            producers
                .get_or_create(&ProducerLabels {
                    language: c.language.name().to_ascii_lowercase(),
                    version: version_label(c.version),
                    protocol_type: "remoting",
                })
                .inc();
        }
    }
    reg.register(
        "rocketmq_producer_connections",
        "Producer connections",
        producers,
    );
    let consumers = Family::<ConsumerLabels, Gauge>::default();
    for group in ctrl.consumer_manager.group_names() {
        let Some(info) = ctrl.consumer_manager.get_consumer_group_info(&group) else {
            continue;
        };
        for c in info.channel_info_table.values() {
            consumers
                .get_or_create(&ConsumerLabels {
                    consumer_group: group.clone(),
                    language: c.language.name().to_ascii_lowercase(),
                    version: version_label(c.version),
                    consume_mode: info.consume_type.type_cn().to_ascii_lowercase(),
                    protocol_type: "remoting",
                    is_system: bool_label(is_system_group(&group)),
                })
                .inc();
        }
    }
    reg.register(
        "rocketmq_consumer_connections",
        "Consumer connections",
        consumers,
    );

    // Consumer lag.
    let families: [(&str, &str, Family<LagLabels, Gauge>); 5] = [
        (
            "rocketmq_consumer_lag_messages",
            "Consumer lag messages",
            Family::default(),
        ),
        (
            "rocketmq_consumer_lag_latency",
            "Consumer lag time",
            Family::default(),
        ),
        (
            "rocketmq_consumer_inflight_messages",
            "Consumer inflight messages",
            Family::default(),
        ),
        (
            "rocketmq_consumer_queueing_latency",
            "Consumer queueing time",
            Family::default(),
        ),
        (
            "rocketmq_consumer_ready_messages",
            "Consumer ready messages",
            Family::default(),
        ),
    ];
    for (group, topic, queues) in lag_pairs(ctrl) {
        let lag = lag_of(ctrl, &group, &topic, queues, now);
        let labels = LagLabels {
            is_system: bool_label(m.is_system(&topic, &group)),
            consumer_group: group,
            topic,
            is_retry: "false",
        };
        let values = [
            lag.lag,
            lag.lag_latency,
            lag.inflight,
            lag.queueing_latency,
            lag.ready,
        ];
        for ((_, _, family), v) in families.iter().zip(values) {
            family.get_or_create(&labels).set(v);
        }
    }
    for (name, help, family) in families {
        reg.register(name, help, family);
    }

    // The store.
    let storage = |v: i64| {
        let f = Family::<StorageLabels, Gauge>::default();
        f.get_or_create(&StorageLabels {
            storage_type: "local",
            storage_medium: "disk",
        })
        .set(v);
        f
    };
    if let Some(used) = disk_used(&ctrl.store.config().store_path_root_dir) {
        reg.register(
            "rocketmq_storage_size",
            "Broker storage size",
            storage(used),
        );
    }
    reg.register(
        "rocketmq_storage_flush_behind_bytes",
        "Broker flush behind bytes",
        storage(ctrl.store.remain_how_many_data_to_flush()),
    );
    reg.register(
        "rocketmq_storage_dispatch_behind_bytes",
        "Broker dispatch behind bytes",
        storage(ctrl.store.dispatch_behind_bytes()),
    );

    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &reg).is_err() {
        tracing::warn!("metrics: encoding failed");
    }
    text
}
