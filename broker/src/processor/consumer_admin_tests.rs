use remoting_codec::fastjson;
use remoting_codec::protocol::client::{ConsumeFromWhere, ConsumeType, MessageModel};
use remoting_codec::protocol::SubscriptionData;
use remoting_codec::LanguageCode;
use serde_json::Value;
use test_support::capture::{read_capture, recorded_response, sort_arrays_as_sets, Frame};

use super::*;
use crate::client::ConnectionId;
use crate::config::BrokerConfig;
use crate::test_util::TempDir;

const NOW: i64 = 1_795_242_441_455;

struct Fixture {
    _dir: TempDir,
    topics: TopicConfigManager,
    consumers: ConsumerManager,
    producers: ProducerManager,
    offsets: ConsumerOffsetManager,
}

impl Fixture {
    fn new() -> Self {
        let dir = TempDir::new("consumer-admin");
        let config = BrokerConfig::default();
        Fixture {
            topics: TopicConfigManager::new(&config, dir.path()),
            consumers: ConsumerManager::new(),
            producers: ProducerManager::new(),
            offsets: ConsumerOffsetManager::new(dir.path()),
            _dir: dir,
        }
    }

    fn join(&self, group: &str, conn: u64, info: ClientChannelInfo, subs: &[SubscriptionData]) {
        let info = ClientChannelInfo {
            connection_id: ConnectionId(conn),
            ..info
        };
        self.consumers.register_consumer(
            group,
            info,
            ConsumeType::ConsumePassively,
            MessageModel::Clustering,
            ConsumeFromWhere::ConsumeFromFirstOffset,
            subs,
            NOW,
        );
    }
}

fn info(client_id: &str, addr: &str) -> ClientChannelInfo {
    ClientChannelInfo::new(
        ConnectionId(0),
        client_id,
        LanguageCode::Java,
        409,
        addr,
        NOW,
    )
}

fn sub(topic: &str, version: i64) -> SubscriptionData {
    SubscriptionData {
        topic: Some(topic.into()),
        sub_string: Some("*".into()),
        expression_type: Some("TAG".into()),
        sub_version: version,
        ..Default::default()
    }
}

fn json(body: &[u8]) -> Value {
    let mut v = fastjson::from_slice_value(body).unwrap();
    sort_arrays_as_sets(&mut v);
    v
}

/// The first request of `code` in an s12 capture and Java's answer to it.
fn recorded(file: &str, code: i32) -> (Frame, Frame) {
    let frames = read_capture(&format!("s12-mqadmin/{file}.jsonl"));
    let request = frames
        .iter()
        .find(|f| f.code() == code && f.is_c2s() && !f.is_response())
        .unwrap()
        .clone();
    let answer = recorded_response(&frames, &request).unwrap().clone();
    (request, answer)
}

fn assert_as_recorded(ours: &RemotingCommand, theirs: &Frame) {
    assert_eq!(ours.code, theirs.code());
    assert_eq!(ours.remark.as_deref(), theirs.remark());
    assert_eq!(ours.ext_fields.is_some(), theirs.ext_fields().is_some());
    assert_eq!(json(&ours.body), json(&theirs.body));
}

#[test]
fn consumer_connection_is_javas_m14_answer() {
    let f = Fixture::new();
    // The live consumer of the s12 run, as its heartbeats registered it.
    f.join(
        "live_consumer_group",
        1,
        info("127.0.0.1@live-consumer", "127.0.0.1:59704"),
        &[
            sub("AdminTopic", 1_795_242_323_464),
            sub("%RETRY%live_consumer_group", 1_795_242_323_530),
        ],
    );
    let (request, answer) = recorded("m14-consumerConnection", req::GET_CONSUMER_CONNECTION_LIST);
    let ours = get_consumer_connection_list(&f.consumers, &request.to_command()).unwrap();
    assert_as_recorded(&ours, &answer);
}

#[test]
fn consumer_connection_of_a_group_without_members_is_not_online() {
    let f = Fixture::new();
    let request = RemotingCommand::request_without_header(req::GET_CONSUMER_CONNECTION_LIST)
        .with_ext_field("consumerGroup", "nobody");
    let refusal = get_consumer_connection_list(&f.consumers, &request).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::new(
            resp::CONSUMER_NOT_ONLINE,
            "the consumer group[nobody] not online"
        )
    );
}

#[test]
fn missing_group_field_is_javas_header_error() {
    let f = Fixture::new();
    let bare = RemotingCommand::request_without_header(req::GET_CONSUMER_CONNECTION_LIST);
    let refusal = get_consumer_connection_list(&f.consumers, &bare).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::system_error("the custom field <consumerGroup> is null")
    );
    let refusal = get_producer_connection_list(&f.producers, &bare).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::system_error("the custom field <producerGroup> is null")
    );
    let refusal = query_topic_consume_by_who(&f.consumers, &f.offsets, &bare).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::system_error("the custom field <topic> is null")
    );
}

#[test]
fn producer_connection_is_javas_m15_answer() {
    let f = Fixture::new();
    let live = ClientChannelInfo {
        connection_id: ConnectionId(7),
        ..info("127.0.0.1@live-producer", "127.0.0.1:59700")
    };
    f.producers
        .register_producer("live_producer_group", live, NOW);
    let (request, answer) = recorded("m15-producerConnection", req::GET_PRODUCER_CONNECTION_LIST);
    let ours = get_producer_connection_list(&f.producers, &request.to_command()).unwrap();
    assert_as_recorded(&ours, &answer);
}

#[test]
fn producer_connection_of_an_unknown_group_does_not_exist() {
    let f = Fixture::new();
    let request = RemotingCommand::request_without_header(req::GET_PRODUCER_CONNECTION_LIST)
        .with_ext_field("producerGroup", "pg");
    assert_eq!(
        get_producer_connection_list(&f.producers, &request).unwrap_err(),
        Refusal::system_error("the producer group[pg] not exist")
    );
}

#[test]
fn all_producer_info_lists_every_group_with_javas_remote_ip() {
    let f = Fixture::new();
    let a = ClientChannelInfo {
        connection_id: ConnectionId(1),
        ..info("127.0.0.1@a", "127.0.0.1:50001")
    };
    let b = ClientChannelInfo {
        connection_id: ConnectionId(2),
        last_update_timestamp: NOW + 5,
        ..info("127.0.0.1@b", "127.0.0.1:50002")
    };
    f.producers.register_producer("pg1", a, NOW);
    f.producers.register_producer("pg2", b, NOW + 5);
    let request = RemotingCommand::request_without_header(req::GET_ALL_PRODUCER_INFO);
    let ours = get_all_producer_info(&f.producers, &request).unwrap();
    assert_eq!(ours.code, resp::SUCCESS);
    assert_eq!(ours.remark, None);
    let body: Value = fastjson::from_slice_value(&ours.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"data": {
            "pg1": [{"clientId": "127.0.0.1@a", "language": "JAVA",
                     "lastUpdateTimestamp": NOW, "remoteIP": "/127.0.0.1:50001", "version": 409}],
            "pg2": [{"clientId": "127.0.0.1@b", "language": "JAVA",
                     "lastUpdateTimestamp": NOW + 5, "remoteIP": "/127.0.0.1:50002", "version": 409}],
        }})
    );
}

#[test]
fn topic_consume_by_who_is_javas_m03_answer_and_joins_offsets_and_members() {
    let f = Fixture::new();
    f.join(
        "live_consumer_group",
        1,
        info("127.0.0.1@live-consumer", "127.0.0.1:59704"),
        &[sub("AdminTopic", 1)],
    );
    f.offsets
        .commit_offset("h", "live_consumer_group", "AdminTopic", 0, 2);
    let (request, answer) = recorded("m03-topicList-c", req::QUERY_TOPIC_CONSUME_BY_WHO);
    assert_eq!(request.ext_field("topic"), Some("SCHEDULE_TOPIC_XXXX"));
    let ours = query_topic_consume_by_who(&f.consumers, &f.offsets, &request.to_command()).unwrap();
    assert_as_recorded(&ours, &answer);

    // A group with only an offset and one with only a subscription are both listed, once each.
    f.offsets
        .commit_offset("h", "offline_group", "AdminTopic", 1, 5);
    f.join(
        "online_only",
        2,
        info("c2", "127.0.0.1:2"),
        &[sub("AdminTopic", 1)],
    );
    let request = RemotingCommand::request_without_header(req::QUERY_TOPIC_CONSUME_BY_WHO)
        .with_ext_field("topic", "AdminTopic");
    let ours = query_topic_consume_by_who(&f.consumers, &f.offsets, &request).unwrap();
    assert_eq!(
        json(&ours.body),
        serde_json::json!({"groupList": ["live_consumer_group", "offline_group", "online_only"]})
    );
}

fn clone_request(topic: Option<&str>, offline: bool) -> RemotingCommand {
    let mut r = RemotingCommand::request_without_header(req::CLONE_GROUP_OFFSET)
        .with_ext_field("srcGroup", "src")
        .with_ext_field("destGroup", "dest")
        .with_ext_field("offline", offline.to_string());
    if let Some(t) = topic {
        r = r.with_ext_field("topic", t);
    }
    r
}

#[test]
fn clone_group_offset_copies_a_topic_the_source_subscribes() {
    let f = Fixture::new();
    f.topics
        .update_topic_config(remoting_codec::protocol::TopicConfig::new("T"));
    f.topics
        .update_topic_config(remoting_codec::protocol::TopicConfig::new("U"));
    f.offsets.commit_offset("h", "src", "T", 0, 4);
    f.offsets.commit_offset("h", "src", "T", 1, 9);
    f.offsets.commit_offset("h", "src", "U", 0, 3);
    f.offsets.commit_offset("h", "dest", "T", 3, 1);
    f.join("src", 1, info("c1", "127.0.0.1:1"), &[sub("T", 1)]);

    let ours = clone_group_offset(
        &f.topics,
        &f.consumers,
        &f.offsets,
        &clone_request(Some("T"), false),
    )
    .unwrap();
    assert_eq!((ours.code, ours.remark.clone()), (resp::SUCCESS, None));
    // The destination's offsets on T are replaced by the source's.
    assert_eq!(
        f.offsets.query_offsets("dest", "T"),
        Some([(0, 4), (1, 9)].into_iter().collect())
    );

    // Online, the source subscribes T only: U is skipped ...
    clone_group_offset(
        &f.topics,
        &f.consumers,
        &f.offsets,
        &clone_request(Some("U"), false),
    )
    .unwrap();
    assert_eq!(f.offsets.query_offsets("dest", "U"), None);
    // ... unless offline.
    clone_group_offset(
        &f.topics,
        &f.consumers,
        &f.offsets,
        &clone_request(Some("U"), true),
    )
    .unwrap();
    assert_eq!(
        f.offsets.query_offsets("dest", "U"),
        Some([(0, 3)].into_iter().collect())
    );
}

#[test]
fn clone_group_offset_skips_unknown_topics_and_copies_nothing_without_a_topic() {
    let f = Fixture::new();
    f.offsets.commit_offset("h", "src", "Gone", 0, 4);
    clone_group_offset(
        &f.topics,
        &f.consumers,
        &f.offsets,
        &clone_request(Some("Gone"), true),
    )
    .unwrap();
    assert_eq!(f.offsets.query_offsets("dest", "Gone"), None);

    // Java clones with the header's topic (null) for every topic of the source: nothing.
    f.topics
        .update_topic_config(remoting_codec::protocol::TopicConfig::new("T"));
    f.offsets.commit_offset("h", "src", "T", 0, 4);
    let ours = clone_group_offset(
        &f.topics,
        &f.consumers,
        &f.offsets,
        &clone_request(None, true),
    )
    .unwrap();
    assert_eq!(ours.code, resp::SUCCESS);
    assert_eq!(f.offsets.query_offsets("dest", "T"), None);
    assert_eq!(f.offsets.which_topic_by_consumer("dest").len(), 0);
}
