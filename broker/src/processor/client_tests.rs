use super::*;
use crate::client::ConsumerManager;
use crate::consumer_filter::ConsumerFilterManager;
use crate::test_util::TempDir;
use remoting_codec::protocol::client::{ConsumerData, ProducerData};
use remoting_codec::protocol::SubscriptionData;
use remoting_codec::ExtFields;

struct Fixture {
    _dir: TempDir,
    config: BrokerConfig,
    topics: TopicConfigManager,
    groups: SubscriptionGroupManager,
    consumers: ConsumerManager,
    producers: ProducerManager,
    filters: ConsumerFilterManager,
}

impl Fixture {
    fn new() -> Self {
        let dir = TempDir::new("client-handlers");
        let config = BrokerConfig::default();
        Fixture {
            topics: TopicConfigManager::new(&config, dir.path()),
            groups: SubscriptionGroupManager::new(true, dir.path()),
            consumers: ConsumerManager::new(),
            producers: ProducerManager::new(),
            filters: ConsumerFilterManager::new(dir.path(), 24 * 3600 * 1000),
            config,
            _dir: dir,
        }
    }

    fn m(&self) -> ClientManagers<'_> {
        ClientManagers {
            config: &self.config,
            topics: &self.topics,
            groups: &self.groups,
            consumers: &self.consumers,
            producers: &self.producers,
            filters: &self.filters,
        }
    }
}

fn peer(id: u64) -> Peer {
    Peer {
        id: ConnectionId(id),
        addr: format!("127.0.0.1:{}", 50000 + id),
    }
}

fn sub(topic: &str) -> SubscriptionData {
    SubscriptionData {
        topic: Some(topic.into()),
        sub_string: Some("*".into()),
        expression_type: Some("TAG".into()),
        sub_version: 1,
        ..Default::default()
    }
}

fn heartbeat(client: &str, group: &str, topics: &[&str]) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            consume_type: Some(ConsumeType::ConsumePassively),
            message_model: Some(MessageModel::Clustering),
            consume_from_where: Some(ConsumeFromWhere::ConsumeFromFirstOffset),
            subscription_data_set: topics.iter().map(|t| sub(t)).collect(),
            unit_mode: false,
        }],
        producer_data_set: vec![ProducerData {
            group_name: "CLIENT_INNER_PRODUCER".into(),
        }],
        ..Default::default()
    };
    RemotingCommand::request_without_header(req::HEART_BEAT)
        .with_body(fastjson::to_vec(&data).unwrap())
}

#[test]
fn first_heartbeat_creates_group_retry_topic_and_notifies_the_member() {
    let f = Fixture::new();
    let (r, notices) = heart_beat(f.m(), &peer(1), &heartbeat("c1", "cg", &["T"]), 5).unwrap();
    // Java: SUCCESS, no header fields at all, no remark.
    assert_eq!(
        (r.code, r.ext_fields.is_none(), r.remark.is_none()),
        (0, true, true)
    );
    assert_eq!(
        notices,
        [ConsumerIdsChanged {
            group: "cg".into(),
            connections: vec![ConnectionId(1)]
        }]
    );
    let retry = f.topics.select_topic_config("%RETRY%cg").unwrap();
    assert_eq!(
        (retry.read_queue_nums, retry.write_queue_nums, retry.perm),
        (1, 1, 6)
    );
    assert!(f.groups.contains("cg"));
    assert_eq!(f.producers.find_channel("c1"), Some(ConnectionId(1)));

    // The same heartbeat again changes nothing: no notice.
    let (_, notices) = heart_beat(f.m(), &peer(1), &heartbeat("c1", "cg", &["T"]), 6).unwrap();
    assert!(notices.is_empty());
    // A new subscribed topic is a change.
    let (_, notices) = heart_beat(f.m(), &peer(1), &heartbeat("c1", "cg", &["T", "U"]), 7).unwrap();
    assert_eq!(notices.len(), 1);
}

#[test]
fn join_and_leave_notify_the_other_member() {
    let f = Fixture::new();
    heart_beat(f.m(), &peer(1), &heartbeat("c1", "cg", &["T"]), 0).unwrap();
    let (_, notices) = heart_beat(f.m(), &peer(2), &heartbeat("c2", "cg", &["T"]), 0).unwrap();
    assert_eq!(notices[0].connections, [ConnectionId(1), ConnectionId(2)]);

    let list = RemotingCommand::request(
        req::GET_CONSUMER_LIST_BY_GROUP,
        &GetConsumerListByGroupRequestHeader {
            consumer_group: "cg".into(),
        },
    );
    let r = get_consumer_list_by_group(&f.consumers, &list).unwrap();
    assert_eq!(r.code, resp::SUCCESS);
    assert_eq!(&r.body[..], br#"{"consumerIdList":["c1","c2"]}"#);
    assert_eq!(r.ext_fields, Some(ExtFields::new()));

    // c2 unregisters: c1 is told.
    let unregister = RemotingCommand::request(
        req::UNREGISTER_CLIENT,
        &UnregisterClientRequestHeader {
            client_id: "c2".into(),
            producer_group: None,
            consumer_group: Some("cg".into()),
        },
    );
    let (r, notices) = unregister_client(f.m(), &peer(2), &unregister, 0).unwrap();
    assert_eq!(
        (r.code, r.ext_fields.clone()),
        (resp::SUCCESS, Some(ExtFields::new()))
    );
    assert_eq!(
        notices,
        [ConsumerIdsChanged {
            group: "cg".into(),
            connections: vec![ConnectionId(1)]
        }]
    );

    // The last member leaving notifies nobody; the group is gone.
    let unregister_c1 = RemotingCommand::request(
        req::UNREGISTER_CLIENT,
        &UnregisterClientRequestHeader {
            client_id: "c1".into(),
            producer_group: Some("CLIENT_INNER_PRODUCER".into()),
            consumer_group: Some("cg".into()),
        },
    );
    let (_, notices) = unregister_client(f.m(), &peer(1), &unregister_c1, 0).unwrap();
    assert!(notices.is_empty());
    assert_eq!(f.producers.find_channel("c1"), None);
    let r = get_consumer_list_by_group(&f.consumers, &list).unwrap();
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (resp::SYSTEM_ERROR, Some("no consumer for this group, cg"))
    );
}

#[test]
fn notify_flags_of_group_and_broker() {
    let mut f = Fixture::new();
    let mut quiet = remoting_codec::protocol::group_admin::SubscriptionGroupConfig::new("quiet");
    quiet.notify_consumer_ids_changed_enable = false;
    quiet.retry_queue_nums = 3;
    f.groups.update_subscription_group_config(quiet);
    let (_, notices) = heart_beat(f.m(), &peer(1), &heartbeat("c1", "quiet", &["T"]), 0).unwrap();
    assert!(notices.is_empty());
    assert_eq!(
        f.topics
            .select_topic_config("%RETRY%quiet")
            .unwrap()
            .write_queue_nums,
        3
    );

    f.config.notify_consumer_ids_changed_enable = false;
    let (_, notices) = heart_beat(f.m(), &peer(1), &heartbeat("c1", "loud", &["T"]), 0).unwrap();
    assert!(notices.is_empty());
}

#[test]
fn bad_bodies_and_headers_fail_without_panicking() {
    let f = Fixture::new();
    let empty = RemotingCommand::request_without_header(req::HEART_BEAT);
    assert!(matches!(
        heart_beat(f.m(), &peer(1), &empty, 0),
        Err(Refusal {
            code: remoting_codec::code::response::SYSTEM_ERROR,
            ..
        })
    ));
    let garbage = empty.clone().with_body(&b"\x00\xffnot json"[..]);
    assert!(matches!(
        heart_beat(f.m(), &peer(1), &garbage, 0),
        Err(Refusal {
            code: remoting_codec::code::response::SYSTEM_ERROR,
            ..
        })
    ));
    let unregister = RemotingCommand::request_without_header(req::UNREGISTER_CLIENT);
    assert_eq!(
        unregister_client(f.m(), &peer(1), &unregister, 0).unwrap_err(),
        Refusal::system_error("the custom field <clientID> is null")
    );
}

fn check(kind: Option<&str>) -> RemotingCommand {
    check_with(kind, "a between 0 and 3")
}

fn check_with(kind: Option<&str>, expression: &str) -> RemotingCommand {
    let body = CheckClientRequestBody {
        client_id: "c1".into(),
        group: "sql_filter_group".into(),
        namespace: None,
        subscription_data: Some(SubscriptionData {
            expression_type: kind.map(str::to_owned),
            sub_string: Some(expression.into()),
            topic: Some("T".into()),
            ..Default::default()
        }),
    };
    RemotingCommand::request_without_header(req::CHECK_CLIENT_CONFIG)
        .with_body(fastjson::to_vec(&body).unwrap())
}

#[test]
fn check_client_config_follows_enable_property_filter() {
    assert!(!BrokerConfig::default().enable_property_filter);
    let sql = |text: &str| check_with(Some("SQL92"), text);
    for enabled in [false, true] {
        let tag = check_client_config(enabled, &check(Some("TAG"))).unwrap();
        assert_eq!((tag.code, tag.remark), (0, None));
        assert_eq!(check_client_config(enabled, &check(None)).unwrap().code, 0);
        assert_eq!(
            check_client_config(enabled, &check(Some(""))).unwrap().code,
            0
        );
    }
    let r = check_client_config(false, &sql("a between 0 and 3")).unwrap();
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (
            resp::SYSTEM_ERROR,
            Some("The broker does not support consumer to filter message by SQL92")
        )
    );
    // The switch is checked before the expression.
    let r = check_client_config(false, &sql("a between")).unwrap();
    assert_eq!(r.code, resp::SYSTEM_ERROR);
    let r = check_client_config(true, &sql("a between 0 and 3 AND b = 'x'")).unwrap();
    assert_eq!((r.code, r.remark), (0, None));
    // A bad expression: the language's message is the remark.
    let r = check_client_config(true, &sql("a between")).unwrap();
    let expected = crate::consumer_filter::compile("SQL92", "a between").unwrap_err();
    assert_eq!(r.code, resp::SUBSCRIPTION_PARSE_FAILED);
    assert_eq!(r.remark.as_deref(), expected.message());
    assert!(r.remark.is_some());
    // A type no filter is registered for: no remark (Java's NPE message).
    let r = check_client_config(true, &check(Some("GROOVY"))).unwrap();
    assert_eq!((r.code, r.remark), (resp::SUBSCRIPTION_PARSE_FAILED, None));
}

fn sql_sub(topic: &str, expression: &str, version: i64) -> SubscriptionData {
    SubscriptionData {
        topic: Some(topic.into()),
        sub_string: Some(expression.into()),
        expression_type: Some("SQL92".into()),
        sub_version: version,
        ..Default::default()
    }
}

fn heartbeat_with(client: &str, group: &str, subs: Vec<SubscriptionData>) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            consume_type: Some(ConsumeType::ConsumePassively),
            message_model: Some(MessageModel::Clustering),
            consume_from_where: Some(ConsumeFromWhere::ConsumeFromFirstOffset),
            subscription_data_set: subs,
            unit_mode: false,
        }],
        ..Default::default()
    };
    RemotingCommand::request_without_header(req::HEART_BEAT)
        .with_body(fastjson::to_vec(&data).unwrap())
}

#[test]
fn heartbeats_register_sql_filters_and_the_last_leaver_kills_them() {
    let f = Fixture::new();
    let hb = heartbeat_with("c1", "cg", vec![sub("TagTopic"), sql_sub("T", "a = 1", 10)]);
    heart_beat(f.m(), &peer(1), &hb, 100).unwrap();
    assert!(
        f.filters.get("TagTopic", "cg").is_none(),
        "tag subscriptions are not registered"
    );
    let data = f.filters.get("T", "cg").unwrap();
    assert_eq!((data.client_version, data.born_time), (10, 100));
    assert!(!data.is_dead());
    // A second member joins; the first leaves: the filter lives on.
    heart_beat(
        f.m(),
        &peer(2),
        &heartbeat_with("c2", "cg", vec![sql_sub("T", "a = 1", 10)]),
        200,
    )
    .unwrap();
    let leave = |id: u64, client: &str| {
        let r = RemotingCommand::request(
            req::UNREGISTER_CLIENT,
            &UnregisterClientRequestHeader {
                client_id: client.into(),
                producer_group: None,
                consumer_group: Some("cg".into()),
            },
        );
        unregister_client(f.m(), &peer(id), &r, 300).unwrap();
    };
    leave(1, "c1");
    assert!(!f.filters.get("T", "cg").unwrap().is_dead());
    leave(2, "c2");
    let data = f.filters.get("T", "cg").unwrap();
    assert_eq!(data.dead_time, 300);
    assert!(data.is_dead());
}

/// A 5.x v2 heartbeat body: `heartbeatFingerprint` and `withoutSub` as
/// `MQClientInstance.prepareHeartbeatData` sets them (no subscriptions when `without_sub`).
fn heartbeat_v2(
    client: &str,
    group: &str,
    topics: &[&str],
    fingerprint: i32,
    without_sub: bool,
) -> RemotingCommand {
    let mut data: HeartbeatData =
        fastjson::from_slice(&heartbeat(client, group, topics).body).unwrap();
    if without_sub {
        data.consumer_data_set[0].subscription_data_set.clear();
    }
    data.heartbeat_fingerprint = Some(fingerprint);
    data.without_sub = Some(without_sub);
    RemotingCommand::request_without_header(req::HEART_BEAT)
        .with_body(fastjson::to_vec(&data).unwrap())
}

fn v2_fields(r: &RemotingCommand) -> (Option<&str>, Option<&str>) {
    (
        r.ext_field(IS_SUPPORT_HEART_BEAT_V2),
        r.ext_field(IS_SUB_CHANGE),
    )
}

#[test]
fn v2_heartbeat_is_answered_with_the_v2_fields_and_the_fingerprint_change() {
    let f = Fixture::new();
    // First v2 heartbeat of the group: nothing to compare with, no change.
    let (r, notices) = heart_beat(
        f.m(),
        &peer(1),
        &heartbeat_v2("c1", "cg", &["T"], 77, false),
        1,
    )
    .unwrap();
    assert_eq!(v2_fields(&r), (Some("true"), Some("false")));
    assert_eq!(notices.len(), 1, "the first member joined");
    // The same fingerprint, without subscriptions: member kept, subscriptions kept.
    let (r, notices) =
        heart_beat(f.m(), &peer(1), &heartbeat_v2("c1", "cg", &[], 77, true), 2).unwrap();
    assert_eq!(v2_fields(&r), (Some("true"), Some("false")));
    assert!(notices.is_empty());
    assert!(f.consumers.find_subscription_data("cg", "T").is_some());
    assert_eq!(f.consumers.consumer_id_list("cg").unwrap(), ["c1"]);
    // Another fingerprint for the group (another client's subscriptions): IS_SUB_CHANGE.
    let (r, _) = heart_beat(
        f.m(),
        &peer(2),
        &heartbeat_v2("c2", "cg", &["T"], 78, false),
        3,
    )
    .unwrap();
    assert_eq!(v2_fields(&r), (Some("true"), Some("true")));
    // A classic heartbeat answers as 4.9.8 (no extFields) and records fingerprint 0 ...
    let (r, _) = heart_beat(f.m(), &peer(1), &heartbeat("c1", "cg", &["T"]), 4).unwrap();
    assert!(r.ext_fields.is_none());
    // ... so the next v2 heartbeat of the group is a change.
    let (r, _) = heart_beat(f.m(), &peer(1), &heartbeat_v2("c1", "cg", &[], 78, true), 5).unwrap();
    assert_eq!(v2_fields(&r), (Some("true"), Some("true")));
    assert!(f.consumers.find_subscription_data("cg", "T").is_some());
}

#[test]
fn v2_heartbeat_without_sub_adds_a_new_member_with_the_groups_subscriptions() {
    let f = Fixture::new();
    heart_beat(
        f.m(),
        &peer(1),
        &heartbeat_v2("c1", "cg", &["T"], 5, false),
        1,
    )
    .unwrap();
    // A second connection of the same fingerprint sends only the fingerprint: it joins
    // (notice to both), and the group's subscription of T is untouched.
    let (_, notices) =
        heart_beat(f.m(), &peer(2), &heartbeat_v2("c2", "cg", &[], 5, true), 2).unwrap();
    assert_eq!(notices[0].connections, [ConnectionId(1), ConnectionId(2)]);
    assert!(f.consumers.find_subscription_data("cg", "T").is_some());
    // A full heartbeat without the topic still removes it (withoutSub is what keeps it).
    heart_beat(
        f.m(),
        &peer(1),
        &heartbeat_v2("c1", "cg", &["U"], 6, false),
        3,
    )
    .unwrap();
    assert!(f.consumers.find_subscription_data("cg", "T").is_none());
    // withoutSub is ignored on a classic (fingerprint 0) body, as Java's classic path does.
    let mut classic = heartbeat_v2("c1", "cg", &[], 0, true);
    classic.opaque = 9;
    heart_beat(f.m(), &peer(1), &classic, 4).unwrap();
    assert!(f.consumers.find_subscription_data("cg", "U").is_none());
}
