use base64::Engine;
use bytes::Bytes;
use remoting_codec::code::{response as resp, version};
use remoting_codec::message::record::decode_records;
use remoting_codec::message::{MessageProperties, OffsetMessageId, StoredMessage};
use remoting_codec::protocol::group_admin::SubscriptionGroupConfig;
use remoting_codec::protocol::{perm, TopicConfig};
use store::MessageStore;

use super::*;
use crate::config::BrokerConfig;
use crate::processor::offset::tests::open_store;
use crate::test_util::{golden, TempDir};

const SCHEDULE: &str = "SCHEDULE_TOPIC_XXXX";

struct Fixture {
    _dir: TempDir,
    groups: SubscriptionGroupManager,
    topics: TopicConfigManager,
    store: MessageStore,
    broker_permission: i32,
    stats: BrokerStatsManager,
}

impl Fixture {
    fn new(auto_create_group: bool) -> Self {
        let dir = TempDir::new("send-back");
        let root = dir.path().join("store");
        Fixture {
            groups: SubscriptionGroupManager::new(auto_create_group, &root),
            topics: TopicConfigManager::new(&BrokerConfig::default(), &root),
            store: open_store(&dir),
            _dir: dir,
            broker_permission: perm::READ | perm::WRITE,
            stats: BrokerStatsManager::new("DefaultCluster", true),
        }
    }

    fn send_back(&self, header: &ConsumerSendMsgBackRequestHeader) -> Answer {
        self.send_back_as(version::V4_9_8, header)
    }

    fn send_back_as(
        &self,
        request_version: i32,
        header: &ConsumerSendMsgBackRequestHeader,
    ) -> Answer {
        SendBack {
            groups: &self.groups,
            topics: &self.topics,
            store: &self.store,
            broker_permission: self.broker_permission,
            broker_ip1: "10.1.2.3",
            stats: &self.stats,
        }
        .consumer_send_msg_back(request_version, header)
    }

    /// Stores a message and returns its commitlog offset.
    fn put(&self, msg: StoredMessage) -> i64 {
        let r = self.store.put_message(msg);
        assert!(r.is_ok(), "{r:?}");
        self.store.wait_dispatched().unwrap();
        r.append.unwrap().wrote_offset
    }

    /// The records of one queue, decoded.
    fn queue(&self, topic: &str, queue_id: i32) -> Vec<StoredMessage> {
        self.store.wait_dispatched().unwrap();
        let got = self.store.get_message(topic, queue_id, 0, 32, None);
        got.messages
            .iter()
            .map(|b| StoredMessage::decode(b).unwrap())
            .collect()
    }
}

fn original(reconsume_times: i32) -> StoredMessage {
    let mut properties = MessageProperties::new();
    properties.insert("TAGS", "tagA");
    properties.insert("KEYS", "order-42");
    properties.insert("UNIQ_KEY", "7F000001757A5FFD2B27685CABC30000");
    properties.insert("CLUSTER", "DefaultCluster");
    properties.sort_in_java_hash_map_order();
    StoredMessage {
        topic: "T".into(),
        queue_id: 1,
        flag: 7,
        sys_flag: 0,
        born_timestamp: 1_795_242_103_747,
        born_host: "127.0.0.1:40000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        reconsume_times,
        body: Bytes::from_static(b"please fail me"),
        properties,
        ..Default::default()
    }
}

fn header(offset: i64, group: &str, delay_level: i32) -> ConsumerSendMsgBackRequestHeader {
    ConsumerSendMsgBackRequestHeader {
        offset,
        group: group.into(),
        delay_level,
        origin_msg_id: Some("7F000001757A5FFD2B27685CABC30000".into()),
        origin_topic: Some("T".into()),
        unit_mode: false,
        max_reconsume_times: None,
    }
}

const OK: Answer = Ok(());

#[test]
fn first_retry_goes_to_the_schedule_topic_for_the_retry_topic() {
    let f = Fixture::new(true);
    let offset = f.put(original(0));
    assert!(!f.topics.take_register_request());

    assert_eq!(f.send_back(&header(offset, "g", 0)), OK);

    // %RETRY%g: the group's retryQueueNums (1), perm 6, registered with the namesrv.
    let retry = f.topics.select_topic_config("%RETRY%g").unwrap();
    assert_eq!(
        (retry.read_queue_nums, retry.write_queue_nums, retry.perm),
        (1, 1, 6)
    );
    assert_eq!(retry.topic_sys_flag, 0);
    assert!(f.topics.take_register_request());

    // Level 3 + 0: queue 2 of SCHEDULE_TOPIC_XXXX, for %RETRY%g queue 0.
    let parked = f.queue(SCHEDULE, 2);
    assert_eq!(parked.len(), 1);
    let m = &parked[0];
    let p = &m.properties;
    assert_eq!(p.get("REAL_TOPIC"), Some("%RETRY%g"));
    assert_eq!(p.get("REAL_QID"), Some("0"));
    assert_eq!(p.get("RETRY_TOPIC"), Some("T"));
    assert_eq!(p.get("WAIT"), Some("false"));
    assert_eq!(p.get("DELAY"), Some("3"));
    let origin = OffsetMessageId::new("127.0.0.1:10911".parse().unwrap(), offset).to_string();
    assert_eq!(p.get("ORIGIN_MESSAGE_ID"), Some(origin.as_str()));
    // The original's own properties stay.
    assert_eq!(p.get("KEYS"), Some("order-42"));
    assert_eq!(p.get("UNIQ_KEY"), Some("7F000001757A5FFD2B27685CABC30000"));
    assert_eq!(p.get("TAGS"), Some("tagA"));
    assert_eq!(m.reconsume_times, 1);
    assert_eq!((m.flag, m.sys_flag), (7, 0));
    assert_eq!(m.born_timestamp, 1_795_242_103_747);
    assert_eq!(m.born_host, "127.0.0.1:40000".parse().unwrap());
    assert_eq!(&m.body[..], b"please fail me");
    assert!(f.queue("%DLQ%g", 0).is_empty());
}

#[test]
fn a_later_retry_keeps_the_first_topic_and_origin_and_waits_longer() {
    let f = Fixture::new(true);
    let first = f.put(original(0));
    // What the schedule service delivers to %RETRY%g after the first send-back.
    let mut delivered = original(1);
    delivered.topic = "%RETRY%g".into();
    delivered.queue_id = 0;
    delivered.properties.insert("RETRY_TOPIC", "T");
    let origin = OffsetMessageId::new("127.0.0.1:10911".parse().unwrap(), first).to_string();
    delivered
        .properties
        .insert("ORIGIN_MESSAGE_ID", origin.as_str());
    let offset = f.put(delivered);

    assert_eq!(f.send_back(&header(offset, "g", 0)), OK);
    let parked = f.queue(SCHEDULE, 3);
    assert_eq!(parked.len(), 1, "level 3 + 1 = 4 is queue 3");
    let p = &parked[0].properties;
    assert_eq!(p.get("DELAY"), Some("4"));
    assert_eq!(p.get("RETRY_TOPIC"), Some("T"));
    assert_eq!(p.get("ORIGIN_MESSAGE_ID"), Some(origin.as_str()));
    assert_eq!(p.get("REAL_TOPIC"), Some("%RETRY%g"));
    assert_eq!(parked[0].reconsume_times, 2);
}

#[test]
fn the_client_chooses_the_level() {
    let f = Fixture::new(true);
    let offset = f.put(original(0));
    assert_eq!(f.send_back(&header(offset, "g", 5)), OK);
    let parked = f.queue(SCHEDULE, 4);
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].properties.get("DELAY"), Some("5"));
    // A level above the table is clamped by the store to the last level (18).
    assert_eq!(f.send_back(&header(offset, "g", 99)), OK);
    let parked = f.queue(SCHEDULE, 17);
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].properties.get("DELAY"), Some("18"));
}

fn assert_in_dlq(f: &Fixture, group: &str, reconsume_times: i32) -> StoredMessage {
    let dlq = f
        .topics
        .select_topic_config(&format!("%DLQ%{group}"))
        .unwrap();
    assert_eq!(
        (
            dlq.read_queue_nums,
            dlq.write_queue_nums,
            dlq.perm,
            dlq.topic_sys_flag
        ),
        (1, 1, perm::READ | perm::WRITE, 0)
    );
    let dead = f.queue(&format!("%DLQ%{group}"), 0);
    assert_eq!(dead.len(), 1);
    let m = dead[0].clone();
    assert_eq!(m.reconsume_times, reconsume_times);
    // Java sets the level to 0 (a DELAY=0 pair) so the store does not park it.
    assert_eq!(m.properties.get("DELAY"), Some("0"));
    assert_eq!(m.properties.get("REAL_TOPIC"), None);
    assert_eq!(m.properties.get("RETRY_TOPIC"), Some("T"));
    assert!(f.queue(SCHEDULE, 2).is_empty());
    m
}

#[test]
fn level_minus_one_goes_straight_to_the_dlq() {
    let f = Fixture::new(true);
    let offset = f.put(original(0));
    assert_eq!(f.send_back(&header(offset, "g", -1)), OK);
    assert_in_dlq(&f, "g", 1);
    // The retry topic is created first, as Java does.
    assert!(f.topics.contains("%RETRY%g"));
}

#[test]
fn the_maximum_from_the_header_or_the_group_decides_the_dlq() {
    // Header maximum 2, message already reconsumed twice: DLQ.
    let f = Fixture::new(true);
    let offset = f.put(original(2));
    let mut h = header(offset, "g", 0);
    h.max_reconsume_times = Some(2);
    assert_eq!(f.send_back(&h), OK);
    assert_in_dlq(&f, "g", 3);

    // Below the maximum: one more retry.
    let f = Fixture::new(true);
    let offset = f.put(original(1));
    let mut h = header(offset, "g", 0);
    h.max_reconsume_times = Some(2);
    assert_eq!(f.send_back(&h), OK);
    assert_eq!(f.queue(SCHEDULE, 3).len(), 1);
    assert!(!f.topics.contains("%DLQ%g"));

    // Clients older than V3_4_9: the header's maximum is ignored, the group's (16) counts.
    let f = Fixture::new(true);
    let offset = f.put(original(2));
    let mut h = header(offset, "g", 0);
    h.max_reconsume_times = Some(2);
    assert_eq!(f.send_back_as(version::V3_4_9 - 1, &h), OK);
    assert_eq!(f.queue(SCHEDULE, 4).len(), 1, "level 3 + 2");

    // No header maximum: the group's retryMaxTimes.
    let f = Fixture::new(true);
    let mut config = SubscriptionGroupConfig::new("g");
    config.retry_max_times = 1;
    f.groups.update_subscription_group_config(config);
    let offset = f.put(original(1));
    assert_eq!(f.send_back(&header(offset, "g", 0)), OK);
    assert_in_dlq(&f, "g", 2);
}

#[test]
fn the_dlq_stays_queryable_by_key_and_uniq_key() {
    let f = Fixture::new(true);
    let offset = f.put(original(0));
    assert_eq!(f.send_back(&header(offset, "g", -1)), OK);
    f.store.wait_dispatched().unwrap();
    for key in ["order-42", "7F000001757A5FFD2B27685CABC30000"] {
        let found = f.store.query_message("%DLQ%g", key, 32, 0, i64::MAX);
        assert_eq!(found.messages.len(), 1, "key {key}");
        let m = StoredMessage::decode(&found.messages[0]).unwrap();
        assert_eq!(m.topic, "%DLQ%g");
    }
}

#[test]
fn an_unknown_offset_is_a_system_error() {
    let f = Fixture::new(true);
    f.put(original(0));
    assert_eq!(
        f.send_back(&header(1_000_000, "g", 0)),
        Err(Refusal::new(
            resp::SYSTEM_ERROR,
            "look message by offset failed, 1000000"
        ))
    );
    // The retry topic was created before the lookup, as in Java.
    assert!(f.topics.contains("%RETRY%g"));
    assert!(f.queue(SCHEDULE, 2).is_empty());
}

#[test]
fn an_unknown_group_without_auto_create_is_refused() {
    let f = Fixture::new(false);
    let offset = f.put(original(0));
    assert_eq!(
        f.send_back(&header(offset, "nobody", 0)),
        Err(Refusal::new(
            resp::SUBSCRIPTION_GROUP_NOT_EXIST,
            "subscription group not exist, nobody \nSee http://rocketmq.apache.org/docs/faq/ for further details."
        ))
    );
    assert!(!f.topics.contains("%RETRY%nobody"));
    // With auto-create on, the group is created with Java's defaults.
    let f = Fixture::new(true);
    let offset = f.put(original(0));
    assert_eq!(f.send_back(&header(offset, "fresh", 0)), OK);
    assert_eq!(f.groups.get("fresh").unwrap().retry_max_times, 16);
}

#[test]
fn no_permission_on_the_broker_or_the_retry_topic() {
    let mut f = Fixture::new(true);
    let offset = f.put(original(0));
    f.broker_permission = perm::READ;
    assert_eq!(
        f.send_back(&header(offset, "g", 0)),
        Err(Refusal::new(
            resp::NO_PERMISSION,
            "the broker[10.1.2.3] sending message is forbidden"
        ))
    );
    f.broker_permission = perm::READ | perm::WRITE;
    f.topics.update_topic_config(TopicConfig {
        read_queue_nums: 1,
        write_queue_nums: 1,
        perm: perm::READ,
        ..TopicConfig::new("%RETRY%g")
    });
    assert_eq!(
        f.send_back(&header(offset, "g", 0)),
        Err(Refusal::new(
            resp::NO_PERMISSION,
            "the topic[%RETRY%g] sending message is forbidden"
        ))
    );
    assert!(f.queue(SCHEDULE, 2).is_empty());
}

#[test]
fn a_group_without_retry_queues_drops_the_message() {
    let f = Fixture::new(true);
    let mut config = SubscriptionGroupConfig::new("g");
    config.retry_queue_nums = 0;
    f.groups.update_subscription_group_config(config);
    let offset = f.put(original(0));
    assert_eq!(f.send_back(&header(offset, "g", 0)), OK);
    assert!(!f.topics.contains("%RETRY%g"));
    assert!(f.queue(SCHEDULE, 2).is_empty());
}

#[test]
fn unit_mode_marks_the_retry_topic() {
    let f = Fixture::new(true);
    let offset = f.put(original(0));
    let mut h = header(offset, "g", 0);
    h.unit_mode = true;
    assert_eq!(f.send_back(&h), OK);
    assert_eq!(
        f.topics
            .select_topic_config("%RETRY%g")
            .unwrap()
            .topic_sys_flag,
        0x2
    );
}

#[test]
fn a_failed_put_is_a_system_error_named_after_the_status() {
    let f = Fixture::new(true);
    // A message whose properties are too long for the record (> 32767 bytes once
    // ORIGIN_MESSAGE_ID and the rest are added) is refused by the store.
    let mut big = original(0);
    let room = i16::MAX as usize - big.properties.encoded_len() - "pad".len() - 2;
    big.properties.insert("pad", "x".repeat(room));
    assert_eq!(big.properties.encoded_len(), i16::MAX as usize);
    let offset = f.put(big);
    assert_eq!(
        f.send_back(&header(offset, "g", 0)),
        Err(Refusal::new(resp::SYSTEM_ERROR, "MESSAGE_ILLEGAL"))
    );
}

/// The recorded s06 run: the original on RetryTopic (commitlog offset 0) and the copy the Java
/// broker delivered to `%RETRY%retry_group` after the first send-back. Our parked copy must
/// carry exactly the Java properties string (same pairs, same HashMap order, same bytes).
#[test]
fn the_parked_copy_has_java_s_properties_string() {
    let frames = std::fs::read_to_string(golden("captures/s06-retry-dlq.jsonl")).unwrap();
    let mut pulled = Vec::new();
    for line in frames.lines() {
        let frame: serde_json::Value = serde_json::from_str(line).unwrap();
        let found = frame["is_response"] == true && frame["code"] == 0 && frame["conn"] == 4;
        let Some(body) = frame["body_b64"].as_str().filter(|_| found) else {
            continue;
        };
        let body = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let body = Bytes::from(body);
        pulled.extend(decode_records(&body).filter_map(Result::ok));
    }
    let original = pulled.iter().find(|m| m.topic == "RetryTopic").unwrap();
    let java_retry = pulled
        .iter()
        .find(|m| m.topic == "%RETRY%retry_group" && m.reconsume_times == 1)
        .unwrap();

    let f = Fixture::new(true);
    let offset = f.put(original.clone());
    assert_eq!(offset, 0);
    let mut h = header(offset, "retry_group", 0);
    h.max_reconsume_times = Some(2);
    assert_eq!(f.send_back(&h), OK);
    let parked = f.queue(SCHEDULE, 2);
    assert_eq!(parked.len(), 1);
    assert_eq!(
        parked[0].properties.encode(),
        java_retry.properties.encode()
    );
    assert_eq!(parked[0].reconsume_times, java_retry.reconsume_times);
    assert_eq!(parked[0].born_timestamp, java_retry.born_timestamp);
    assert_eq!(parked[0].body, java_retry.body);
}

/// Java's statistics of a send-back (`asyncConsumerSendMsgBack`): SNDBCK_PUT_NUMS under the
/// original topic and the group; a copy parked in SCHEDULE_TOPIC_XXXX is one put of that topic
/// (and of its queue); a DLQ copy is not a topic put.
#[test]
fn send_backs_are_counted_as_java_counts_them() {
    use remoting_codec::protocol::broker_admin::stats_name as name;
    let f = Fixture::new(true);
    let offset = f.put(original(0));
    assert_eq!(f.send_back(&header(offset, "g", 0)), OK);
    let item = |stats: &str, key: &str| {
        f.stats
            .stats_item(stats, key)
            .map(|i| (i.value(), i.times()))
    };
    assert_eq!(item(name::SNDBCK_PUT_NUMS, "T@g"), Some((1, 1)));
    assert_eq!(item(name::TOPIC_PUT_NUMS, SCHEDULE), Some((1, 1)));
    let (size, calls) = item(name::TOPIC_PUT_SIZE, SCHEDULE).unwrap();
    assert!(size > 0 && calls == 1);
    assert_eq!(
        item(name::QUEUE_PUT_NUMS, "SCHEDULE_TOPIC_XXXX@2"),
        Some((1, 1))
    );
    assert_eq!(item(name::BROKER_PUT_NUMS, "DefaultCluster"), None);

    // Straight to the DLQ: a send-back, no topic put.
    assert_eq!(f.send_back(&header(offset, "g", -1)), OK);
    assert_eq!(item(name::SNDBCK_PUT_NUMS, "T@g"), Some((2, 2)));
    assert_eq!(item(name::TOPIC_PUT_NUMS, SCHEDULE), Some((1, 1)));
    assert_eq!(item(name::TOPIC_PUT_NUMS, "%DLQ%g"), None);

    // A refused send-back counts nothing.
    assert!(
        f.send_back(&header(offset, "nobody", 0)).is_ok(),
        "auto-created"
    );
    assert!(f.send_back(&header(1 << 40, "g", 0)).is_err());
    assert_eq!(item(name::SNDBCK_PUT_NUMS, "T@g"), Some((2, 2)));
}

/// The 5.x `rocketmq_send_to_dlq_messages_total` counts a send-back stored in the DLQ, under
/// the group and the original topic, and nothing for a retry.
#[test]
fn a_send_back_to_the_dlq_is_counted_by_the_metrics() {
    let f = Fixture::new(true);
    let metrics = std::sync::Arc::new(crate::metrics::BrokerMetrics::new(true, Vec::new()));
    f.stats.attach_metrics(metrics.clone());
    let offset = f.put(original(0));
    assert_eq!(f.send_back(&header(offset, "g", 0)), OK);
    assert!(!metrics
        .live_text()
        .contains("rocketmq_send_to_dlq_messages_total{"));
    assert_eq!(f.send_back(&header(offset, "g", -1)), OK);
    assert_eq!(f.send_back(&header(offset, "g", -1)), OK);
    let text = metrics.live_text();
    assert!(
        text.contains(
            r#"rocketmq_send_to_dlq_messages_total{consumer_group="g",topic="T",is_system="false"} 2"#
        ),
        "{text}"
    );
    // A send-back is not a send: no message-size observation.
    assert!(
        !text.contains(r#"rocketmq_message_size_count{topic="T""#),
        "{text}"
    );
}
