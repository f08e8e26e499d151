use remoting_codec::fastjson;
use remoting_codec::protocol::broker_admin::stats_name as name;
use remoting_codec::protocol::client::{ConsumeFromWhere, ConsumeType, MessageModel};
use remoting_codec::protocol::{SubscriptionData, TopicConfig};
use remoting_codec::LanguageCode;

use super::*;
use crate::client::{ClientChannelInfo, ConnectionId};
use crate::config::BrokerConfig;
use crate::processor::offset::tests::{open_store, put};
use crate::test_util::TempDir;

const NOW: i64 = 1_795_242_000_000;

struct Fixture {
    _dir: TempDir,
    store: MessageStore,
    topics: TopicConfigManager,
    offsets: ConsumerOffsetManager,
    consumers: ConsumerManager,
    stats: BrokerStatsManager,
    groups: SubscriptionGroupManager,
}

impl Fixture {
    fn new() -> Self {
        let dir = TempDir::new("stats-admin");
        let root = dir.path().join("store");
        let topics = TopicConfigManager::new(&BrokerConfig::default(), &root);
        for (topic, queues) in [("AdminTopic", 4), ("Other", 2)] {
            topics.update_topic_config(TopicConfig {
                read_queue_nums: queues,
                write_queue_nums: queues,
                ..TopicConfig::new(topic)
            });
        }
        Fixture {
            store: open_store(&dir),
            topics,
            offsets: ConsumerOffsetManager::new(&root),
            consumers: ConsumerManager::new(),
            stats: BrokerStatsManager::new("DefaultCluster", true),
            groups: SubscriptionGroupManager::new(true, &root),
            _dir: dir,
        }
    }

    fn sources(&self) -> ProgressSources<'_> {
        ProgressSources {
            store: &self.store,
            topics: &self.topics,
            offsets: &self.offsets,
            consumers: &self.consumers,
            stats: &self.stats,
            broker_name: "broker-a",
        }
    }

    fn subscribe(&self, group: &str, topics: &[&str]) {
        let subs: Vec<SubscriptionData> = topics
            .iter()
            .map(|t| SubscriptionData {
                topic: Some((*t).into()),
                sub_string: Some("*".into()),
                ..Default::default()
            })
            .collect();
        self.consumers.register_consumer(
            group,
            ClientChannelInfo::new(
                ConnectionId(1),
                "127.0.0.1@c",
                LanguageCode::Java,
                409,
                "127.0.0.1:50000",
                NOW,
            ),
            ConsumeType::ConsumePassively,
            MessageModel::Clustering,
            ConsumeFromWhere::ConsumeFromLastOffset,
            &subs,
            NOW,
        );
    }
}

fn mq(topic: &str, queue_id: i32) -> MessageQueue {
    MessageQueue::new(topic, "broker-a", queue_id)
}

#[test]
fn topic_stats_list_every_write_queue_with_the_last_store_time() {
    let f = Fixture::new();
    put(&f.store, "AdminTopic", 1, 3);
    let table = f.sources().topic_stats("AdminTopic").unwrap();
    assert_eq!(table.offset_table.len(), 4);
    let q1 = table.offset_table[&mq("AdminTopic", 1)];
    assert_eq!((q1.min_offset, q1.max_offset), (0, 3));
    assert_eq!(
        q1.last_update_timestamp,
        f.store.message_store_timestamp("AdminTopic", 1, 2)
    );
    assert!(q1.last_update_timestamp > 0);
    let q0 = table.offset_table[&mq("AdminTopic", 0)];
    assert_eq!(
        (q0.min_offset, q0.max_offset, q0.last_update_timestamp),
        (0, 0, 0)
    );
    // Java's body: the offsetTable only, nothing for 4.9.8's absent topicPutTps.
    let json = String::from_utf8(fastjson::to_vec(&table).unwrap()).unwrap();
    assert!(json.starts_with("{\"offsetTable\":{{\"brokerName\":\"broker-a\",\"queueId\":2,"));
    assert!(!json.contains("topicPutTps"));
}

#[test]
fn topic_stats_of_an_unknown_topic_is_topic_not_exist() {
    let f = Fixture::new();
    assert_eq!(
        f.sources().topic_stats("NoSuchTopic").unwrap_err(),
        Refusal::new(resp::TOPIC_NOT_EXIST, "topic[NoSuchTopic] not exist")
    );
}

#[test]
fn consume_stats_of_one_topic() {
    let f = Fixture::new();
    put(&f.store, "AdminTopic", 0, 2);
    put(&f.store, "AdminTopic", 2, 4);
    f.offsets.commit_offset("c", "g", "AdminTopic", 0, 2);
    f.offsets.commit_offset("c", "g", "AdminTopic", 2, 1);
    f.offsets.commit_offset("c", "g", "AdminTopic", 3, 0);
    let stats = f.sources().consume_stats("g", Some("AdminTopic"));
    assert_eq!(stats.offset_table.len(), 4, "the read queues");
    let at = |q| stats.offset_table[&mq("AdminTopic", q)];
    // lastTimestamp: the store time of the message at consumerOffset - 1.
    assert_eq!(
        (
            at(0).broker_offset,
            at(0).consumer_offset,
            at(0).last_timestamp
        ),
        (2, 2, f.store.message_store_timestamp("AdminTopic", 0, 1))
    );
    assert_eq!(
        (
            at(2).broker_offset,
            at(2).consumer_offset,
            at(2).last_timestamp
        ),
        (4, 1, f.store.message_store_timestamp("AdminTopic", 2, 0))
    );
    // Offset 0, or no offset at all: consumerOffset 0 and no time.
    assert_eq!((at(3).consumer_offset, at(3).last_timestamp), (0, 0));
    assert_eq!((at(1).consumer_offset, at(1).last_timestamp), (0, 0));
    assert_eq!(stats.total_diff(), 3);
    assert_eq!(stats.consume_tps, 0.0);
}

#[test]
fn consume_stats_without_topic_walks_the_groups_topics_and_adds_their_tps() {
    let f = Fixture::new();
    put(&f.store, "AdminTopic", 0, 1);
    f.offsets.commit_offset("c", "g", "AdminTopic", 0, 1);
    f.offsets.commit_offset("c", "g", "Other", 1, 0);
    // An offset on a topic that no longer exists is skipped.
    f.offsets.commit_offset("c", "g", "Gone", 0, 5);
    f.offsets.commit_offset("c", "h", "AdminTopic", 0, 1);
    f.stats.on_tick(NOW);
    f.stats.inc_group_get("g", "AdminTopic", 6, 600);
    f.stats.inc_group_get("g", "Other", 3, 300);
    f.stats.on_tick(NOW + 10_000);

    for blank in [None, Some(""), Some("  ")] {
        let stats = f.sources().consume_stats("g", blank);
        let topics: std::collections::BTreeSet<&str> = stats
            .offset_table
            .keys()
            .map(|q| q.topic.as_str())
            .collect();
        assert_eq!(topics, ["AdminTopic", "Other"].into());
        assert_eq!(stats.offset_table.len(), 6);
        // Each topic's minute tps (items created after the first tick: one 10 s window).
        assert_eq!(
            stats.consume_tps,
            3.0 * 1000.0 / 10_000.0 + 6.0 * 1000.0 / 10_000.0
        );
    }
}

#[test]
fn online_consumers_hide_the_topics_they_do_not_subscribe() {
    let f = Fixture::new();
    f.offsets.commit_offset("c", "g", "AdminTopic", 0, 0);
    f.offsets.commit_offset("c", "g", "Other", 0, 0);
    f.subscribe("g", &["AdminTopic"]);
    let stats = f.sources().consume_stats("g", None);
    assert!(stats.offset_table.keys().all(|q| q.topic == "AdminTopic"));
    assert_eq!(stats.offset_table.len(), 4);
    // Asked for by name, the unsubscribed topic is skipped too.
    assert!(f
        .sources()
        .consume_stats("g", Some("Other"))
        .offset_table
        .is_empty());
}

#[test]
fn broker_consume_stats_lists_every_group_with_its_topics() {
    let f = Fixture::new();
    put(&f.store, "AdminTopic", 0, 3);
    f.groups
        .find_subscription_group_config("live_consumer_group");
    f.offsets
        .commit_offset("c", "live_consumer_group", "AdminTopic", 0, 1);
    f.offsets
        .commit_offset("c", "live_consumer_group", "Other", 0, 0);
    // Offsets of a group without a subscription group config are not listed.
    f.offsets
        .commit_offset("c", "clone_group", "AdminTopic", 0, 0);

    let list = f
        .sources()
        .broker_consume_stats(&f.groups, false, "127.0.0.1:10911");
    assert_eq!(list.broker_addr.as_deref(), Some("127.0.0.1:10911"));
    let names: Vec<&String> = list
        .consume_stats_list
        .iter()
        .flat_map(|m| m.keys())
        .collect();
    let mut expected = f.groups.group_names();
    crate::java_order::sort_keys(&mut expected, TABLE_1024);
    assert_eq!(names, expected.iter().collect::<Vec<_>>());
    assert!(!names.iter().any(|n| *n == "clone_group"));
    let live = list
        .consume_stats_list
        .iter()
        .find_map(|m| m.get("live_consumer_group"))
        .unwrap();
    assert_eq!(live.len(), 2, "one ConsumeStats per topic");
    assert_eq!(list.total_diff, 2);
    // Built-in groups without offsets have empty lists, as in the recording.
    assert!(list
        .consume_stats_list
        .iter()
        .find_map(|m| m.get("TOOLS_CONSUMER"))
        .unwrap()
        .is_empty());

    // isOrder: only ordered topics count.
    let ordered = f
        .sources()
        .broker_consume_stats(&f.groups, true, "127.0.0.1:10911");
    assert!(ordered
        .consume_stats_list
        .iter()
        .all(|m| m.values().all(Vec::is_empty)));
    assert_eq!(ordered.total_diff, 0);
}

/// The recorded answers of `statsAll` (s12 m27): an unknown key, and an item with its windows.
#[test]
fn view_broker_stats_data_as_recorded() {
    let f = Fixture::new();
    assert_eq!(
        view_broker_stats_data(&f.stats, "TOPIC_PUT_NUMS", "SCHEDULE_TOPIC_XXXX").unwrap_err(),
        Refusal::system_error("The stats <TOPIC_PUT_NUMS> <SCHEDULE_TOPIC_XXXX> not exist")
    );
    assert_eq!(
        view_broker_stats_data(&f.stats, "NO_SUCH_STATS", "x")
            .unwrap_err()
            .remark
            .as_deref(),
        Some("The stats <NO_SUCH_STATS> <x> not exist")
    );

    // Created but not sampled: all zeros, as the recorded TOPIC_PUT_NUMS of AdminTopic.
    f.stats.on_message_put("AdminTopic", 0, 1, 100);
    let data = view_broker_stats_data(&f.stats, name::TOPIC_PUT_NUMS, "AdminTopic").unwrap();
    assert_eq!(
        String::from_utf8(fastjson::to_vec(&data).unwrap()).unwrap(),
        "{\"statsDay\":{\"avgpt\":0.0,\"sum\":0,\"tps\":0.0},\
         \"statsHour\":{\"avgpt\":0.0,\"sum\":0,\"tps\":0.0},\
         \"statsMinute\":{\"avgpt\":0.0,\"sum\":0,\"tps\":0.0}}"
    );

    // The recorded GROUP_GET_NUMS of AdminTopic@live_consumer_group: 8 messages in 4 pulls
    // within a full minute window.
    f.stats.on_tick(NOW);
    for i in 0..4 {
        f.stats
            .on_pull_found("live_consumer_group", "AdminTopic", i, 2, 400, 1, 0);
    }
    for i in 1..=6 {
        f.stats.on_tick(NOW + i * 10_000);
    }
    let data = view_broker_stats_data(
        &f.stats,
        name::GROUP_GET_NUMS,
        "AdminTopic@live_consumer_group",
    )
    .unwrap();
    let json = String::from_utf8(fastjson::to_vec(&data).unwrap()).unwrap();
    assert!(
        json.ends_with("\"statsMinute\":{\"avgpt\":2.0,\"sum\":8,\"tps\":0.13333333333333333}}"),
        "{json}"
    );
}

#[test]
fn all_consumer_offsets_are_consumer_offset_json_on_one_line() {
    let f = Fixture::new();
    f.offsets.commit_offset("c", "g", "AdminTopic", 0, 2);
    f.offsets.commit_offset("c", "g", "AdminTopic", 1, 1);
    let request = RemotingCommand::request_without_header(req::GET_ALL_CONSUMER_OFFSET);
    let r = all_consumer_offset(&f.offsets, &request);
    assert_eq!(r.code, resp::SUCCESS);
    assert_eq!(r.ext_fields, None);
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        "{\"offsetTable\":{\"AdminTopic@g\":{0:2,1:1}}}"
    );
    // An empty table is still a body: Java's "No consumer offset" needs an empty encoding.
    let empty = ConsumerOffsetManager::new(f._dir.path());
    assert_eq!(
        &all_consumer_offset(&empty, &request).body[..],
        b"{\"offsetTable\":{}}"
    );
}

/// A request without the required header fields is Java's SYSTEM_ERROR with the decoder's
/// remark, never a panic.
#[test]
fn missing_header_fields_are_refused() {
    let bare = |code| RemotingCommand::request_without_header(code);
    let e = Refusal::from(
        bare(req::VIEW_BROKER_STATS_DATA)
            .decode_header::<ViewBrokerStatsDataRequestHeader>()
            .unwrap_err(),
    );
    assert_eq!(e.code, resp::SYSTEM_ERROR);
    assert!(e.remark.unwrap().contains("statsName"));
    let e = Refusal::from(
        bare(req::GET_CONSUME_STATS)
            .decode_header::<GetConsumeStatsRequestHeader>()
            .unwrap_err(),
    );
    assert!(e.remark.unwrap().contains("consumerGroup"));
    let e = Refusal::from(
        bare(req::GET_TOPIC_STATS_INFO)
            .decode_header::<GetTopicStatsInfoRequestHeader>()
            .unwrap_err(),
    );
    assert!(e.remark.unwrap().contains("topic"));
    // 317's isOrder is a Java primitive: absent is false.
    let h = bare(req::GET_BROKER_CONSUME_STATS)
        .decode_header::<GetConsumeStatsInBrokerHeader>()
        .unwrap();
    assert!(!h.is_order);
}
