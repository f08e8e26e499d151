//! JSON bodies of the broker admin families: every recorded Java body parses into its typed
//! struct and writes back to the same JSON (compared after fastjson's lenient reading, since Java's
//! HashMap order is arbitrary); unrecorded bodies of sets c/d round-trip from hand-made Java text.

mod support;

use remoting_codec::fastjson;
use remoting_codec::protocol::broker_admin::*;
use remoting_codec::protocol::common::{KvTable, MessageQueue, TopicConfig};
use remoting_codec::protocol::consumer_admin::*;
use remoting_codec::protocol::group_admin::*;
use remoting_codec::protocol::route::TopicList;
use remoting_codec::protocol::topic_admin::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use support::GoldenFrame;

fn frames() -> &'static [GoldenFrame] {
    static FRAMES: std::sync::OnceLock<Vec<GoldenFrame>> = std::sync::OnceLock::new();
    FRAMES.get_or_init(support::golden_frames)
}

/// The non-empty bodies of successful frames of `code` on one side.
fn bodies(code: i32, responses: bool) -> Vec<&'static GoldenFrame> {
    frames()
        .iter()
        .filter(|f| f.request_code_of_exchange() == Some(code))
        .filter(|f| f.is_response() == responses && !f.body.is_empty())
        .filter(|f| !responses || f.code() == 0)
        .collect()
}

/// Parses `json` as `T`, writes it back and checks both read to the same value.
fn same_after_round_trip<T: Serialize + DeserializeOwned>(json: &[u8], what: &str) -> T {
    let typed: T = fastjson::from_slice(json).unwrap_or_else(|e| panic!("{what}: {e}"));
    let written = fastjson::to_vec(&typed).unwrap_or_else(|e| panic!("{what}: {e}"));
    let original = fastjson::from_slice_value(json).unwrap();
    let again = fastjson::from_slice_value(&written)
        .unwrap_or_else(|e| panic!("{what}: {e} in {}", String::from_utf8_lossy(&written)));
    assert_eq!(
        again,
        original,
        "{what}: {}",
        String::from_utf8_lossy(&written)
    );
    typed
}

fn check_bodies<T: Serialize + DeserializeOwned>(code: i32, responses: bool) -> Vec<T> {
    bodies(code, responses)
        .into_iter()
        .map(|f| same_after_round_trip::<T>(&f.body, &f.describe()))
        .collect()
}

#[test]
fn recorded_bodies_round_trip() {
    let counts = [
        // 21 of the 25 GET_BROKER_RUNTIME_INFO answers are the s15 master/slave ones.
        (28, check_bodies::<KvTable>(28, true).len(), 25),
        (
            200,
            check_bodies::<SubscriptionGroupConfig>(200, false).len(),
            1,
        ),
        (202, check_bodies::<TopicStatsTable>(202, true).len(), 2),
        (203, check_bodies::<ConsumerConnection>(203, true).len(), 6),
        (204, check_bodies::<ProducerConnection>(204, true).len(), 1),
        (208, check_bodies::<ConsumeStats>(208, true).len(), 7),
        (300, check_bodies::<GroupList>(300, true).len(), 22),
        (315, check_bodies::<BrokerStatsData>(315, true).len(), 2),
        (317, check_bodies::<ConsumeStatsList>(317, true).len(), 1),
        (222, check_bodies::<ResetOffsetBody>(222, true).len(), 2),
        (
            223,
            check_bodies::<GetConsumerStatusBody>(223, true).len(),
            1,
        ),
    ];
    for (code, got, want) in counts {
        assert_eq!(got, want, "code {code}: bodies checked");
    }
}

#[test]
fn recorded_bodies_have_the_expected_values() {
    let stats = check_bodies::<TopicStatsTable>(202, true);
    let admin = &stats[0];
    assert_eq!(admin.offset_table.len(), 4);
    let q2 = &admin.offset_table[&MessageQueue::new("AdminTopic", "broker-a", 2)];
    assert_eq!((q2.min_offset, q2.max_offset), (0, 2));
    assert_eq!(admin.topic_put_tps, None);

    let conn = &check_bodies::<ConsumerConnection>(203, true)[0];
    assert_eq!(conn.consume_type, Some(ConsumeType::ConsumePassively));
    assert_eq!(conn.message_model, Some(MessageModel::Clustering));
    assert_eq!(
        conn.consume_from_where,
        Some(ConsumeFromWhere::ConsumeFromFirstOffset)
    );
    assert_eq!(conn.connection_set[0].client_id, "127.0.0.1@live-consumer");
    assert_eq!(
        conn.connection_set[0].language,
        remoting_codec::LanguageCode::Java
    );
    assert_eq!(conn.connection_set[0].version, 409);
    assert_eq!(conn.subscription_table.len(), 2);

    let group = &check_bodies::<SubscriptionGroupConfig>(200, false)[0];
    assert_eq!(group.group_name, "admin_sub_group");
    assert!(!group.consume_broadcast_enable && !group.consume_from_min_enable);
    assert_eq!(
        (
            group.retry_max_times,
            group.which_broker_when_consume_slowly
        ),
        (16, 1)
    );

    let all = check_bodies::<ConsumeStatsList>(317, true);
    assert_eq!(all[0].consume_stats_list.len(), 8);
    let live = all[0]
        .consume_stats_list
        .iter()
        .find_map(|m| m.get("live_consumer_group"))
        .unwrap();
    assert_eq!(live.len(), 2);
    assert_eq!(
        live.iter().map(ConsumeStats::total_diff).sum::<i64>(),
        all[0].total_diff
    );
    assert!((live[0].consume_tps - 0.13333333333333333).abs() < 1e-15);

    let stats = check_bodies::<BrokerStatsData>(315, true);
    let minute = stats[1].stats_minute.unwrap();
    assert_eq!((minute.sum, minute.avgpt), (8, 2.0));

    let runtime = &check_bodies::<KvTable>(28, true)[0];
    for key in [
        runtime_info::BROKER_VERSION_DESC,
        runtime_info::PUT_TPS,
        runtime_info::GET_TOTAL_TPS,
        runtime_info::GET_TRANSFERED_TPS,
        runtime_info::COMMIT_LOG_DISK_RATIO,
        runtime_info::EARLIEST_MESSAGE_TIME_STAMP,
        runtime_info::MSG_PUT_TOTAL_TODAY_NOW,
    ] {
        assert!(runtime.table.contains_key(key), "{key}");
    }
}

/// Writes `value`, checks the exact bytes, and reads them back to the same value.
fn exact<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T, java: &str) {
    assert_eq!(fastjson::to_string(value).unwrap(), java);
    assert_eq!(&fastjson::from_str::<T>(java).unwrap(), value);
}

#[test]
fn unrecorded_bodies_round_trip() {
    exact(
        &QueryCorrectionOffsetBody {
            correction_offsets: [(0, 12), (1, 7)].into_iter().collect(),
        },
        "{\"correctionOffsets\":{0:12,1:7}}",
    );
    exact(
        &ProducerTableInfo {
            data: [(
                "pg".to_owned(),
                vec![ProducerInfo {
                    client_id: "127.0.0.1@p".into(),
                    language: remoting_codec::LanguageCode::Java,
                    last_update_timestamp: 1795242322039,
                    remote_ip: "127.0.0.1:59700".into(),
                    version: 409,
                }],
            )]
            .into_iter()
            .collect(),
        },
        "{\"data\":{\"pg\":[{\"clientId\":\"127.0.0.1@p\",\"language\":\"JAVA\",\
         \"lastUpdateTimestamp\":1795242322039,\"remoteIP\":\"127.0.0.1:59700\",\"version\":409}]}}",
    );
    exact(
        &TopicConfigAndQueueMapping::new(TopicConfig::new("T")),
        "{\"attributes\":{},\"order\":false,\"perm\":6,\"readQueueNums\":16,\
         \"topicFilterType\":\"SINGLE_TAG\",\"topicName\":\"T\",\"topicSysFlag\":0,\"writeQueueNums\":16}",
    );
    exact(
        &SubscriptionGroupConfig::new("g").with_5x_defaults(),
        "{\"attributes\":{},\"brokerId\":0,\"consumeBroadcastEnable\":true,\"consumeEnable\":true,\
         \"consumeFromMinEnable\":true,\"consumeMessageOrderly\":false,\"consumeTimeoutMinute\":15,\
         \"groupName\":\"g\",\"groupRetryPolicy\":{\"type\":\"CUSTOMIZED\"},\"groupSysFlag\":0,\
         \"notifyConsumerIdsChangedEnable\":true,\"retryMaxTimes\":16,\"retryQueueNums\":1,\
         \"whichBrokerWhenConsumeSlowly\":1}",
    );
    exact(
        &SubscriptionGroupList {
            group_config_list: vec![SubscriptionGroupConfig::new("g")],
        },
        "{\"groupConfigList\":[{\"brokerId\":0,\"consumeBroadcastEnable\":true,\"consumeEnable\":true,\
         \"consumeFromMinEnable\":true,\"groupName\":\"g\",\"notifyConsumerIdsChangedEnable\":true,\
         \"retryMaxTimes\":16,\"retryQueueNums\":1,\"whichBrokerWhenConsumeSlowly\":1}]}",
    );
    exact(
        &GroupForbidden {
            group: Some("g".into()),
            readable: Some(false),
            topic: Some("t".into()),
        },
        "{\"group\":\"g\",\"readable\":false,\"topic\":\"t\"}",
    );
    let mq = MessageQueue::new("t", "broker-a", 0);
    exact(
        &ConsumeStats {
            consume_tps: 0.5,
            offset_table: [(
                mq.clone(),
                OffsetWrapper {
                    broker_offset: 5,
                    consumer_offset: 3,
                    last_timestamp: 0,
                    pull_offset: Some(4),
                },
            )]
            .into_iter()
            .collect(),
        },
        "{\"consumeTps\":0.5,\"offsetTable\":{{\"brokerName\":\"broker-a\",\"queueId\":0,\"topic\":\"t\"}:\
         {\"brokerOffset\":5,\"consumerOffset\":3,\"lastTimestamp\":0,\"pullOffset\":4}}}",
    );
    exact(
        &QueryConsumeTimeSpanBody {
            consume_time_span_set: vec![QueueTimeSpan {
                consume_time_stamp: 3,
                delay_time: 4,
                max_time_stamp: 2,
                message_queue: Some(mq.clone()),
                min_time_stamp: 1,
                ..Default::default()
            }],
        },
        "{\"consumeTimeSpanSet\":[{\"consumeTimeStamp\":3,\"delayTime\":4,\"maxTimeStamp\":2,\
         \"messageQueue\":{\"brokerName\":\"broker-a\",\"queueId\":0,\"topic\":\"t\"},\"minTimeStamp\":1}]}",
    );
    exact(
        &QueryConsumeQueueResponseBody {
            filter_data: None,
            max_queue_index: 2,
            min_queue_index: 0,
            queue_data: Some(vec![ConsumeQueueData {
                eval: true,
                physic_offset: 196,
                physic_size: 196,
                tags_code: 0,
                ..Default::default()
            }]),
            subscription_data: None,
        },
        "{\"maxQueueIndex\":2,\"minQueueIndex\":0,\"queueData\":[{\"eval\":true,\"physicOffset\":196,\
         \"physicSize\":196,\"tagsCode\":0}]}",
    );
    exact(
        &CreateTopicListRequestBody {
            topic_config_list: vec![TopicConfig::new("A")],
        },
        "{\"topicConfigList\":[{\"order\":false,\"perm\":6,\"readQueueNums\":16,\
         \"topicFilterType\":\"SINGLE_TAG\",\"topicName\":\"A\",\"topicSysFlag\":0,\"writeQueueNums\":16}]}",
    );
}

/// 25 UPDATE_BROKER_CONFIG and 26 GET_BROKER_CONFIG carry properties text, not JSON.
#[test]
fn broker_config_bodies_are_properties_text() {
    use remoting_codec::protocol::properties_text;
    let update = &bodies(25, false)[0].body;
    let update = properties_text::to_map(&properties_text::parse_bytes(update).unwrap());
    assert_eq!(
        update.get("fileReservedTime").map(String::as_str),
        Some("72")
    );
    let all = &bodies(26, true)[0].body;
    let all = properties_text::to_map(&properties_text::parse_bytes(all).unwrap());
    assert!(all.len() > 150, "{} properties", all.len());
    assert_eq!(all.get("brokerName").map(String::as_str), Some("broker-a"));
}

/// 305 GET_SYSTEM_TOPIC_LIST_FROM_BROKER and 343 QUERY_TOPICS_BY_CONSUMER answer with the route
/// family's `TopicList` (no capture has them).
#[test]
fn topic_list_answers() {
    let list = TopicList {
        broker_addr: None,
        topic_list: vec!["TBW102".into(), "SCHEDULE_TOPIC_XXXX".into()],
    };
    exact(
        &list,
        "{\"topicList\":[\"TBW102\",\"SCHEDULE_TOPIC_XXXX\"]}",
    );
}

/// 5.x peers send fields a 4.x one does not; they must survive a read-then-write.
#[test]
fn five_x_fields_survive() {
    let java5 = br#"{"brokerAddr":"127.0.0.1:10911","consumeStatsList":[{"g":[{"consumeTps":0.0,"offsetTable":{}}]}],"totalDiff":3,"totalInflightDiff":1}"#;
    let list: ConsumeStatsList = same_after_round_trip(java5, "ConsumeStatsList 5.x");
    assert_eq!(list.total_inflight_diff, Some(1));
    let java5 = br#"{"offsetTable":{},"topicPutTps":1.5}"#;
    let t: TopicStatsTable = same_after_round_trip(java5, "TopicStatsTable 5.x");
    assert_eq!(t.topic_put_tps, Some(1.5));
    let java5 = br#"{"attributes":{"+message.type":"NORMAL"},"mappingDetail":{"bname":"b","currIdMap":{},"epoch":0,"hostedQueues":{},"scope":"__global__","topic":"T","totalQueues":0},"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":8}"#;
    let t: TopicConfigAndQueueMapping = same_after_round_trip(java5, "GET_TOPIC_CONFIG 5.x");
    assert_eq!(t.topic_config().read_queue_nums, 8);
    let java5 = br#"{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":true,"consumeTimeoutMinute":15,"groupName":"g","groupRetryPolicy":{"exponentialRetryPolicy":{"initial":1000,"max":60000,"multiplier":3},"type":"EXPONENTIAL"},"groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"subscriptionDataSet":[{"expression":"*","expressionType":"TAG","topic":"t","version":0}],"whichBrokerWhenConsumeSlowly":1}"#;
    let g: SubscriptionGroupConfig = same_after_round_trip(java5, "SubscriptionGroupConfig 5.x");
    let policy = g.group_retry_policy.unwrap();
    assert_eq!(policy.policy_type, GroupRetryPolicyType::Exponential);
    assert_eq!(policy.exponential_retry_policy.unwrap().multiplier, 3);
    assert_eq!(g.consume_message_orderly, Some(true));
    // Fields a peer leaves out take Java's initial values.
    let sparse: SubscriptionGroupConfig = fastjson::from_slice(br#"{"groupName":"g"}"#).unwrap();
    assert_eq!(sparse, SubscriptionGroupConfig::new("g"));
    let java5 = br#"{"group":"g","subscriptionData":{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1,"tagsSet":[],"topic":"t"},"topic":"t"}"#;
    same_after_round_trip::<QuerySubscriptionResponseBody>(java5, "345");
    let wrapper5 = br#"{"dataVersion":{"counter":1,"stateVersion":0,"timestamp":2},"forbiddenTable":{"g":{"t":1}},"subscriptionGroupTable":{}}"#;
    let w: SubscriptionGroupWrapper = same_after_round_trip(wrapper5, "201 5.x");
    assert_eq!(w.forbidden_table.unwrap()["g"]["t"], 1);
}

#[test]
fn bad_bodies_are_errors() {
    assert!(fastjson::from_slice::<ConsumeStats>(b"{\"offsetTable\":{{\"queueId\":").is_err());
    assert!(fastjson::from_slice::<ConsumerConnection>(br#"{"consumeType":"NOPE"}"#).is_err());
    assert!(
        fastjson::from_slice::<QueryCorrectionOffsetBody>(br#"{"correctionOffsets":{x:1}}"#)
            .is_err()
    );
}

/// Java writes `TopicStatsTable` and `ConsumeStats` from a `java.util.HashMap` keyed by
/// `MessageQueue`; ours come out in the same order, so every recorded body (202, 208, and the
/// `ConsumeStats` inside 317) is written back byte for byte.
#[test]
fn message_queue_maps_are_written_in_java_hash_map_order() {
    let mut checked = 0;
    for (code, f) in [202, 208, 317]
        .into_iter()
        .flat_map(|c| bodies(c, true).into_iter().map(move |f| (c, f)))
    {
        let written = match code {
            202 => fastjson::to_vec(&fastjson::from_slice::<TopicStatsTable>(&f.body).unwrap()),
            208 => fastjson::to_vec(&fastjson::from_slice::<ConsumeStats>(&f.body).unwrap()),
            _ => fastjson::to_vec(&fastjson::from_slice::<ConsumeStatsList>(&f.body).unwrap()),
        }
        .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&f.body),
            "{}",
            f.describe()
        );
        checked += 1;
    }
    assert_eq!(checked, 10);
}

#[test]
fn message_queue_hash_code_is_javas() {
    // Java: new MessageQueue("AdminTopic", "broker-a", 2).hashCode(), by its formula.
    let mq = MessageQueue::new("AdminTopic", "broker-a", 2);
    let s = |t: &str| remoting_codec::message::java_string_hash_code(t);
    let expected = 31i32
        .wrapping_mul(31i32.wrapping_mul(31 + s("broker-a")).wrapping_add(2))
        .wrapping_add(s("AdminTopic"));
    assert_eq!(mq.java_hash_code(), expected);
    assert_eq!(MessageQueue::default().java_hash_code(), 31 * 31 * 31);
}
