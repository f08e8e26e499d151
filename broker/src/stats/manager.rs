//! Java's `BrokerStatsManager` (4.9.8, `org.apache.rocketmq.store.stats`): one
//! [`StatsItemSet`] per statistic, the keys the broker counts under, and the sampling
//! schedule — as a method [`BrokerStatsManager::on_tick`] the broker's periodic task calls
//! every 10 s with the time, instead of Java's `BrokerStatsThread`.
//!
//! Who counts what (4.9.8):
//!
//! | statistic | key | counted by |
//! |---|---|---|
//! | TOPIC_PUT_NUMS, TOPIC_PUT_SIZE | topic as stored | a stored send (`SendMessageProcessor.handlePutMessageResult`: messages of the put, 1 call / bytes written; a delayed message counts under `SCHEDULE_TOPIC_XXXX`, a half message under `RMQ_SYS_TRANS_HALF_TOPIC`); a send-back parked in `SCHEDULE_TOPIC_XXXX`; a delivered delayed message (real topic) |
//! | BROKER_PUT_NUMS | the cluster name | the same sends and deliveries; value only, no calls |
//! | QUEUE_PUT_NUMS, QUEUE_PUT_SIZE | `topic@queueId` | puts into `SCHEDULE_TOPIC_XXXX` only (with `enableDetailStat`) |
//! | GROUP_GET_NUMS, GROUP_GET_SIZE | `topic@group` | a pull answered SUCCESS (messages / bytes, 1 call); a delivered delayed message under `SCHEDULE_TOPIC_XXXX@SCHEDULE_CONSUMER` |
//! | BROKER_GET_NUMS | the cluster name | a pull answered SUCCESS; value only |
//! | GROUP_GET_LATENCY | `queueId@topic@group` (`topic@group` without `enableDetailStat`) | a pull answered SUCCESS: ms from the start of the (last) run to the body built |
//! | QUEUE_GET_NUMS, QUEUE_GET_SIZE | `topic@queueId@group` | a delivered delayed message (`SCHEDULE_TOPIC_XXXX@<level-1>@SCHEDULE_CONSUMER`) |
//! | SNDBCK_PUT_NUMS | `topic@group` (the original topic, or its `RETRY_TOPIC`) | a stored send-back |
//! | GROUP_GET_FROM_DISK_*, BROKER_GET_FROM_DISK_* | — | registered, never counted in 4.9.8 |
//!
//! VIEW_BROKER_STATS_DATA (315) reads one item; GET_CONSUME_STATS (208) and
//! GET_BROKER_CONSUME_STATS (317) read the minute tps of GROUP_GET_NUMS
//! ([`BrokerStatsManager::tps_group_get_nums`]). A deleted topic or group loses its items.
//! Java's commercial sets (counted only by plugin hooks) and the fall-behind moment items (only
//! logged) are not kept: asking for them answers "not exist" either way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::metrics::BrokerMetrics;

use remoting_codec::protocol::broker_admin::stats_name as name;

use super::item::{StatsItem, StatsItemSet, StatsSnapshot, DAY_PERIOD_MS, HOUR_PERIOD_MS};

/// The statistics of a 4.9.8 broker (the queue ones only with `enableDetailStat`).
const ALWAYS: &[&str] = &[
    name::TOPIC_PUT_NUMS,
    name::TOPIC_PUT_SIZE,
    name::GROUP_GET_NUMS,
    name::GROUP_GET_SIZE,
    name::GROUP_GET_LATENCY,
    name::SNDBCK_PUT_NUMS,
    name::BROKER_PUT_NUMS,
    name::BROKER_GET_NUMS,
    name::GROUP_GET_FROM_DISK_NUMS,
    name::GROUP_GET_FROM_DISK_SIZE,
    name::BROKER_GET_FROM_DISK_NUMS,
    name::BROKER_GET_FROM_DISK_SIZE,
];
const QUEUE_STATS: &[&str] = &[
    name::QUEUE_PUT_NUMS,
    name::QUEUE_PUT_SIZE,
    name::QUEUE_GET_NUMS,
    name::QUEUE_GET_SIZE,
];

/// When the 10-minute and hourly samplings are next due (the 10 s one runs at every tick).
#[derive(Default)]
struct Schedule {
    next_minutes: Option<i64>,
    next_hour: Option<i64>,
}

pub struct BrokerStatsManager {
    cluster_name: String,
    enable_queue_stat: bool,
    /// Looked up per statistic of every put and pull: foldhash instead of SipHash.
    sets: HashMap<&'static str, StatsItemSet, foldhash::fast::RandomState>,
    schedule: Mutex<Schedule>,
    /// The 5.x metrics counted with these statistics (message size, DLQ sends, pull offsets),
    /// when an exporter is on.
    metrics: OnceLock<Arc<BrokerMetrics>>,
}

impl BrokerStatsManager {
    /// `new BrokerStatsManager(brokerClusterName, enableDetailStat)`.
    pub fn new(cluster_name: &str, enable_queue_stat: bool) -> Self {
        let queue: &[&'static str] = if enable_queue_stat { QUEUE_STATS } else { &[] };
        let sets = ALWAYS
            .iter()
            .chain(queue)
            .map(|n| (*n, StatsItemSet::default()))
            .collect();
        Self {
            cluster_name: cluster_name.to_owned(),
            enable_queue_stat,
            metrics: OnceLock::new(),
            sets,
            schedule: Mutex::default(),
        }
    }

    fn set(&self, stats_name: &str) -> Option<&StatsItemSet> {
        self.sets.get(stats_name)
    }

    fn add(&self, stats_name: &str, key: &str, value: i64, times: i64) {
        if let Some(set) = self.set(stats_name) {
            set.add_value(key, value, times);
        }
    }

    /// `getStatsItem(statsName, statsKey)`: `None` for an unknown statistic or key.
    pub fn stats_item(&self, stats_name: &str, stats_key: &str) -> Option<Arc<StatsItem>> {
        self.set(stats_name)?.get(stats_key)
    }

    /// The three samplings as Java's timers run them, all first at the first call: the minute
    /// window at every call (the caller's period, 10 s), the hour window every 10 min, the day
    /// window every hour. A late call catches up one sampling per call, as a fixed-rate timer.
    pub fn on_tick(&self, now: i64) {
        let (minutes, hour) = {
            let mut s = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
            let due = |next: &mut Option<i64>, period: i64| {
                let at = next.unwrap_or(now);
                let due = now >= at;
                if due {
                    *next = Some(at + period);
                }
                due
            };
            (
                due(&mut s.next_minutes, HOUR_PERIOD_MS),
                due(&mut s.next_hour, DAY_PERIOD_MS),
            )
        };
        for set in self.sets.values() {
            set.sampling_in_seconds(now);
            if minutes {
                set.sampling_in_minutes(now);
            }
            if hour {
                set.sampling_in_hour(now);
            }
        }
    }

    /// `onTopicDeleted`.
    pub fn on_topic_deleted(&self, topic: &str) {
        for (stats, how) in [
            (name::TOPIC_PUT_NUMS, Del::Exact),
            (name::TOPIC_PUT_SIZE, Del::Exact),
            (name::QUEUE_PUT_NUMS, Del::Prefix),
            (name::QUEUE_PUT_SIZE, Del::Prefix),
            (name::GROUP_GET_NUMS, Del::Prefix),
            (name::GROUP_GET_SIZE, Del::Prefix),
            (name::QUEUE_GET_NUMS, Del::Prefix),
            (name::QUEUE_GET_SIZE, Del::Prefix),
            (name::SNDBCK_PUT_NUMS, Del::Prefix),
            (name::GROUP_GET_LATENCY, Del::Infix),
        ] {
            self.delete(stats, topic, how);
        }
    }

    /// `onGroupDeleted`.
    pub fn on_group_deleted(&self, group: &str) {
        for stats in [
            name::GROUP_GET_NUMS,
            name::GROUP_GET_SIZE,
            name::QUEUE_GET_NUMS,
            name::QUEUE_GET_SIZE,
            name::SNDBCK_PUT_NUMS,
            name::GROUP_GET_LATENCY,
        ] {
            self.delete(stats, group, Del::Suffix);
        }
    }

    fn delete(&self, stats: &str, key: &str, how: Del) {
        let Some(set) = self.set(stats) else { return };
        match how {
            Del::Exact => set.del_value(key),
            Del::Prefix => set.del_by_prefix(key, "@"),
            Del::Infix => set.del_by_infix(key, "@"),
            Del::Suffix => set.del_by_suffix(key, "@"),
        }
    }

    /// A stored put of `msg_num` messages (`wrote_bytes` in all) to `topic` as stored, queue
    /// `queue_id`: TOPIC_PUT_NUMS/SIZE, BROKER_PUT_NUMS, and the queue counters for
    /// `SCHEDULE_TOPIC_XXXX` (`handlePutMessageResult` and the schedule service's delivery).
    pub fn on_message_put(&self, topic: &str, queue_id: i32, msg_num: i64, wrote_bytes: i64) {
        if let Some(m) = self.metrics.get() {
            m.on_message_put(topic, msg_num, wrote_bytes);
        }
        if topic == store::SCHEDULE_TOPIC {
            self.inc_queue_put(topic, queue_id, msg_num, wrote_bytes);
        }
        self.add(name::TOPIC_PUT_NUMS, topic, msg_num, 1);
        self.add(name::TOPIC_PUT_SIZE, topic, wrote_bytes, 1);
        self.inc_broker_put_nums(msg_num);
    }

    /// `incQueuePutNums` + `incQueuePutSize` (only with `enableDetailStat`).
    pub fn inc_queue_put(&self, topic: &str, queue_id: i32, msg_num: i64, wrote_bytes: i64) {
        if self.enable_queue_stat {
            let key = format!("{topic}@{queue_id}");
            self.add(name::QUEUE_PUT_NUMS, &key, msg_num, 1);
            self.add(name::QUEUE_PUT_SIZE, &key, wrote_bytes, 1);
        }
    }

    /// `incTopicPutNums(topic)` + `incTopicPutSize` of one message.
    pub fn inc_topic_put(&self, topic: &str, wrote_bytes: i64) {
        self.add(name::TOPIC_PUT_NUMS, topic, 1, 1);
        self.add(name::TOPIC_PUT_SIZE, topic, wrote_bytes, 1);
    }

    /// `incBrokerPutNums`: the value only.
    pub fn inc_broker_put_nums(&self, n: i64) {
        self.add(name::BROKER_PUT_NUMS, &self.cluster_name, n, 0);
    }

    /// A pull answered SUCCESS: GROUP_GET_NUMS/SIZE, BROKER_GET_NUMS and GROUP_GET_LATENCY;
    /// `next_begin_offset` is the metrics' pull offset (5.x `commitPullOffset`).
    #[allow(clippy::too_many_arguments)]
    pub fn on_pull_found(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        msg_count: i64,
        bytes: i64,
        latency_ms: i64,
        next_begin_offset: i64,
    ) {
        if let Some(m) = self.metrics.get() {
            m.on_pull(group, topic, queue_id, next_begin_offset);
        }
        self.inc_group_get(group, topic, msg_count, bytes);
        self.add(name::BROKER_GET_NUMS, &self.cluster_name, msg_count, 0);
        let key = if self.enable_queue_stat {
            format!("{queue_id}@{topic}@{group}")
        } else {
            format!("{topic}@{group}")
        };
        self.add(name::GROUP_GET_LATENCY, &key, latency_ms, 1);
    }

    /// Messages a POP read from one queue (`popMsgFromQueue`): GROUP_GET_NUMS/SIZE under the
    /// queue's topic (a pop retry topic for retries) and BROKER_GET_NUMS.
    pub fn on_pop_found(&self, group: &str, topic: &str, msg_count: i64, bytes: i64) {
        self.inc_group_get(group, topic, msg_count, bytes);
        self.add(name::BROKER_GET_NUMS, &self.cluster_name, msg_count, 0);
    }

    /// `incGroupGetNums` + `incGroupGetSize`.
    pub fn inc_group_get(&self, group: &str, topic: &str, msg_count: i64, bytes: i64) {
        let key = format!("{topic}@{group}");
        self.add(name::GROUP_GET_NUMS, &key, msg_count, 1);
        self.add(name::GROUP_GET_SIZE, &key, bytes, 1);
    }

    /// `incQueueGetNums` + `incQueueGetSize` (only with `enableDetailStat`).
    pub fn inc_queue_get(&self, group: &str, topic: &str, queue_id: i32, n: i64, bytes: i64) {
        if self.enable_queue_stat {
            let key = format!("{topic}@{queue_id}@{group}");
            self.add(name::QUEUE_GET_NUMS, &key, n, 1);
            self.add(name::QUEUE_GET_SIZE, &key, bytes, 1);
        }
    }

    /// `incSendBackNums`.
    /// A send-back of `group` stored in `%DLQ%<group>` (5.x `sendToDlqMessages`, labelled with
    /// the message's original topic).
    pub fn on_send_to_dlq(&self, group: &str, origin_topic: &str) {
        if let Some(m) = self.metrics.get() {
            m.on_send_to_dlq(group, origin_topic);
        }
    }

    /// Counts the 5.x metrics along with these statistics from now on.
    pub fn attach_metrics(&self, metrics: Arc<BrokerMetrics>) {
        let _ = self.metrics.set(metrics);
    }

    /// Every key of one statistic with its running total (empty for an unknown statistic).
    pub fn item_values(&self, stats_name: &str) -> Vec<(String, i64)> {
        self.set(stats_name).map(|s| s.values()).unwrap_or_default()
    }

    pub fn inc_send_back_nums(&self, group: &str, topic: &str) {
        self.add(name::SNDBCK_PUT_NUMS, &format!("{topic}@{group}"), 1, 1);
    }

    /// `tpsGroupGetNums`: the minute tps of GROUP_GET_NUMS `topic@group` (0 when absent).
    pub fn tps_group_get_nums(&self, group: &str, topic: &str) -> f64 {
        self.set(name::GROUP_GET_NUMS)
            .map(|s| s.stats_in_minute(&format!("{topic}@{group}")))
            .unwrap_or_default()
            .tps
    }

    /// One window set of an item, for VIEW_BROKER_STATS_DATA.
    pub fn windows(&self, stats_name: &str, stats_key: &str) -> Option<[StatsSnapshot; 3]> {
        let item = self.stats_item(stats_name, stats_key)?;
        Some([
            item.stats_in_minute(),
            item.stats_in_hour(),
            item.stats_in_day(),
        ])
    }
}

#[derive(Clone, Copy)]
enum Del {
    Exact,
    Prefix,
    Infix,
    Suffix,
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
