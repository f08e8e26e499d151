//! Statistics and consume progress (mqadmin `topicStatus`, `consumerProgress`, `statsAll`,
//! `brokerConsumeStats`; the dashboard's topic, consumer and dashboard pages): Java 4.9.8's
//! `AdminBrokerProcessor` for
//!
//! - GET_TOPIC_STATS_INFO 202 (`getTopicStatsInfo`): for each of the topic's *write* queues, the
//!   min and max offset (negative → 0) and `lastUpdateTimestamp` = store time of the message at
//!   max − 1 (0 for an empty queue; Java passes the store's -1 through when that message is
//!   gone). A topic not in topics.json: TOPIC_NOT_EXIST `topic[<t>] not exist`.
//! - GET_CONSUME_STATS 208 (`getConsumeStats`): the group on the header's topic, or (blank topic)
//!   on every topic it has offsets for (`whichTopicByConsumer`). A topic without a config is
//!   skipped; so is a topic the group's online consumers do not subscribe while they subscribe
//!   something. For each *read* queue: `brokerOffset` = max offset, `consumerOffset` = the
//!   committed offset (absent → 0), `lastTimestamp` = store time of the message at
//!   consumerOffset − 1 when positive (else 0). `consumeTps` adds up each topic's minute tps of
//!   GROUP_GET_NUMS `topic@group`.
//! - GET_BROKER_CONSUME_STATS 317 (`fetchAllConsumeStatsInBroker`): the same for every group in
//!   subscriptionGroup.json (in its `ConcurrentHashMap` order), on the *write* queues, one
//!   `ConsumeStats` per topic; `isOrder` keeps ordered topics only; `totalDiff` sums the lags;
//!   `brokerAddr` is `brokerIP1:listenPort`.
//! - VIEW_BROKER_STATS_DATA 315 (`ViewBrokerStatsData`): one item's minute, hour and day
//!   windows (`sum`, `tps`, `avgpt`) from [`crate::stats::BrokerStatsManager`]; an unknown
//!   statistic or key is SYSTEM_ERROR `The stats <NAME> <KEY> not exist`.
//! - GET_ALL_CONSUMER_OFFSET 43 (`getAllConsumerOffset`): consumerOffset.json's content on one
//!   line (never empty, so never Java's "No consumer offset in this broker").
//!
//! Every answer is SUCCESS without a header (`createResponseCommand(null)`: no `extFields`), as
//! the s12 recordings show (m05 topicStatus, m12/m13 consumerProgress, m27 statsAll, m28
//! brokerConsumeStats). Java iterates `HashSet`s of topics and `HashMap`s of queues; the bodies
//! keep that order (`serialize_mq_map_in_java_order`, [`crate::java_order`]).

use std::collections::BTreeMap;

use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::broker_admin::{
    BrokerStatsData, BrokerStatsItem, ConsumeStatsList, GetConsumeStatsInBrokerHeader,
    ViewBrokerStatsDataRequestHeader,
};
use remoting_codec::protocol::common::MessageQueue;
use remoting_codec::protocol::consumer_admin::{
    ConsumeStats, GetConsumeStatsRequestHeader, OffsetWrapper,
};
use remoting_codec::protocol::topic_admin::{
    GetTopicStatsInfoRequestHeader, TopicOffset, TopicStatsTable,
};
use remoting_codec::RemotingCommand;
use store::MessageStore;

use super::body::json_response;
use super::{Refusal, Route};
use crate::client::ConsumerManager;
use crate::controller::BrokerController;
use crate::java_order::{sort_keys, TABLE_1024};
use crate::offset::ConsumerOffsetManager;
use crate::stats::{BrokerStatsManager, StatsSnapshot};
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;

/// Buckets of a default `java.util.HashSet` (`whichTopicByConsumer`'s result).
const HASH_SET_BUCKETS: usize = 16;

/// What the consume-progress answers read.
pub struct ProgressSources<'a> {
    pub store: &'a MessageStore,
    pub topics: &'a TopicConfigManager,
    pub offsets: &'a ConsumerOffsetManager,
    pub consumers: &'a ConsumerManager,
    pub stats: &'a BrokerStatsManager,
    pub broker_name: &'a str,
}

impl<'a> ProgressSources<'a> {
    pub fn of(c: &'a BrokerController) -> Self {
        Self {
            store: &c.store,
            topics: &c.topic_config_manager,
            offsets: &c.consumer_offset_manager,
            consumers: &c.consumer_manager,
            stats: &c.broker_stats_manager,
            broker_name: &c.broker_config.broker_name,
        }
    }

    /// `whichTopicByConsumer`, in the `HashSet`'s iteration order.
    fn topics_of(&self, group: &str) -> Vec<String> {
        let mut topics: Vec<String> = self
            .offsets
            .which_topic_by_consumer(group)
            .into_iter()
            .collect();
        sort_keys(&mut topics, HASH_SET_BUCKETS);
        topics
    }

    /// Java's skip rule: the group's online consumers subscribe something, but not `topic`.
    fn unsubscribed(&self, group: &str, topic: &str) -> bool {
        self.consumers
            .find_subscription_data(group, topic)
            .is_none()
            && self.consumers.find_subscription_data_count(group) > 0
    }

    /// One topic's queues `0..queue_nums` for `group`, and the topic's consume tps.
    fn topic_progress(&self, group: &str, topic: &str, queue_nums: i32) -> ConsumeStats {
        let mut table = BTreeMap::new();
        for queue_id in 0..queue_nums {
            let broker_offset = self.store.max_offset_in_queue(topic, queue_id).max(0);
            let consumer_offset = self.offsets.query_offset(group, topic, queue_id).max(0);
            let mut last_timestamp = 0;
            if consumer_offset >= 1 {
                let t = self
                    .store
                    .message_store_timestamp(topic, queue_id, consumer_offset - 1);
                if t > 0 {
                    last_timestamp = t;
                }
            }
            table.insert(
                MessageQueue::new(topic, self.broker_name, queue_id),
                OffsetWrapper {
                    broker_offset,
                    consumer_offset,
                    last_timestamp,
                    pull_offset: None,
                },
            );
        }
        ConsumeStats {
            consume_tps: self.stats.tps_group_get_nums(group, topic),
            offset_table: table,
        }
    }

    /// GET_CONSUME_STATS: `group` on `topic`, or on every topic it has offsets for.
    pub fn consume_stats(&self, group: &str, topic: Option<&str>) -> ConsumeStats {
        let topics = match topic.filter(|t| !t.trim().is_empty()) {
            Some(t) => vec![t.to_owned()],
            None => self.topics_of(group),
        };
        let mut stats = ConsumeStats::default();
        for topic in &topics {
            let Some(config) = self.topics.select_topic_config(topic) else {
                tracing::warn!("consumeStats, topic config not exist, {topic}");
                continue;
            };
            if self.unsubscribed(group, topic) {
                tracing::warn!(
                    "consumeStats, the consumer group[{group}], topic[{topic}] not exist"
                );
                continue;
            }
            let one = self.topic_progress(group, topic, config.read_queue_nums);
            stats.offset_table.extend(one.offset_table);
            stats.consume_tps += one.consume_tps;
        }
        stats
    }

    /// GET_BROKER_CONSUME_STATS: every subscription group's progress, topic by topic.
    pub fn broker_consume_stats(
        &self,
        groups: &SubscriptionGroupManager,
        is_order: bool,
        broker_addr: &str,
    ) -> ConsumeStatsList {
        let mut names = groups.group_names();
        sort_keys(&mut names, TABLE_1024);
        let mut list = Vec::with_capacity(names.len());
        let mut total_diff = 0;
        for group in names {
            let mut per_topic = Vec::new();
            for topic in self.topics_of(&group) {
                let Some(config) = self.topics.select_topic_config(&topic) else {
                    tracing::warn!("consumeStats, topic config not exist, {topic}");
                    continue;
                };
                if is_order && !config.order {
                    continue;
                }
                if self.unsubscribed(&group, &topic) {
                    continue;
                }
                let stats = self.topic_progress(&group, &topic, config.write_queue_nums);
                total_diff += stats.total_diff();
                per_topic.push(stats);
            }
            list.push(BTreeMap::from([(group, per_topic)]));
        }
        ConsumeStatsList {
            broker_addr: Some(broker_addr.to_owned()),
            consume_stats_list: list,
            total_diff,
            total_inflight_diff: None,
        }
    }

    /// GET_TOPIC_STATS_INFO.
    pub fn topic_stats(&self, topic: &str) -> Result<TopicStatsTable, Refusal> {
        let Some(config) = self.topics.select_topic_config(topic) else {
            return Err(Refusal::new(
                resp::TOPIC_NOT_EXIST,
                format!("topic[{topic}] not exist"),
            ));
        };
        let mut table = BTreeMap::new();
        for queue_id in 0..config.write_queue_nums {
            let min_offset = self.store.min_offset_in_queue(topic, queue_id).max(0);
            let max_offset = self.store.max_offset_in_queue(topic, queue_id).max(0);
            let last_update_timestamp = if max_offset > 0 {
                self.store
                    .message_store_timestamp(topic, queue_id, max_offset - 1)
            } else {
                0
            };
            table.insert(
                MessageQueue::new(topic, self.broker_name, queue_id),
                TopicOffset {
                    last_update_timestamp,
                    max_offset,
                    min_offset,
                },
            );
        }
        Ok(TopicStatsTable {
            offset_table: table,
            topic_put_tps: None,
        })
    }
}

/// VIEW_BROKER_STATS_DATA: one item's three windows.
pub fn view_broker_stats_data(
    stats: &BrokerStatsManager,
    name: &str,
    key: &str,
) -> Result<BrokerStatsData, Refusal> {
    let Some([minute, hour, day]) = stats.windows(name, key) else {
        return Err(Refusal::system_error(format!(
            "The stats <{name}> <{key}> not exist"
        )));
    };
    let item = |s: StatsSnapshot| BrokerStatsItem {
        avgpt: s.avgpt,
        sum: s.sum,
        tps: s.tps,
    };
    Ok(BrokerStatsData {
        stats_day: Some(item(day)),
        stats_hour: Some(item(hour)),
        stats_minute: Some(item(minute)),
    })
}

/// GET_ALL_CONSUMER_OFFSET: consumerOffset.json on one line.
pub fn all_consumer_offset(
    offsets: &ConsumerOffsetManager,
    request: &RemotingCommand,
) -> RemotingCommand {
    RemotingCommand::response_to(request, resp::SUCCESS).with_body(offsets.encode().into_bytes())
}

pub(super) const ROUTES: &[Route] = &[
    Route::inline(req::VIEW_BROKER_STATS_DATA, |cx, r| {
        let h: ViewBrokerStatsDataRequestHeader = r.decode_header()?;
        let data =
            view_broker_stats_data(&cx.ctrl.broker_stats_manager, &h.stats_name, &h.stats_key)?;
        Ok(json_response(&r, &data)?.into())
    }),
    Route::inline(req::GET_ALL_CONSUMER_OFFSET, |cx, r| {
        Ok(all_consumer_offset(&cx.ctrl.consumer_offset_manager, &r).into())
    }),
    // The three below read the store time of a message per queue (random commitlog reads).
    Route::blocking(req::GET_TOPIC_STATS_INFO, |cx, r| {
        let h: GetTopicStatsInfoRequestHeader = r.decode_header()?;
        let table = ProgressSources::of(&cx.ctrl).topic_stats(&h.topic)?;
        Ok(json_response(&r, &table)?.into())
    }),
    Route::blocking(req::GET_CONSUME_STATS, |cx, r| {
        let h: GetConsumeStatsRequestHeader = r.decode_header()?;
        let stats =
            ProgressSources::of(&cx.ctrl).consume_stats(&h.consumer_group, h.topic.as_deref());
        Ok(json_response(&r, &stats)?.into())
    }),
    Route::blocking(req::GET_BROKER_CONSUME_STATS, |cx, r| {
        let h: GetConsumeStatsInBrokerHeader = r.decode_header()?;
        let c = &cx.ctrl;
        let list = ProgressSources::of(c).broker_consume_stats(
            &c.subscription_group_manager,
            h.is_order,
            &c.broker_addr(),
        );
        Ok(json_response(&r, &list)?.into())
    }),
];

#[cfg(test)]
#[path = "stats_admin_tests.rs"]
mod tests;
