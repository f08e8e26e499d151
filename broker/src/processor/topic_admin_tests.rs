use super::*;
use crate::config::BrokerConfig;
use crate::processor::offset::tests::{open_store, put};
use crate::test_util::TempDir;
use remoting_codec::fastjson;
use remoting_codec::protocol::topic_admin::CreateTopicListRequestBody;
use remoting_codec::protocol::{TopicConfig, TopicConfigSerializeWrapper};

fn create(topic: &str, queues: i32, filter: &str) -> RemotingCommand {
    let mut h = CreateTopicRequestHeader::from_topic_config(&TopicConfig {
        read_queue_nums: queues,
        write_queue_nums: queues,
        ..TopicConfig::new(topic)
    });
    h.topic_filter_type = filter.into();
    RemotingCommand::request(req::UPDATE_AND_CREATE_TOPIC, &h)
}

fn delete(topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        req::DELETE_TOPIC_IN_BROKER,
        &DeleteTopicRequestHeader {
            topic: topic.into(),
        },
    )
}

#[test]
fn create_persists_registers_and_delete_cleans_queues() {
    let dir = TempDir::new("topic-admin");
    let config = BrokerConfig::default();
    let root = dir.path().join("store");
    let topics = TopicConfigManager::new(&config, &root);
    let store = open_store(&dir);

    let r =
        update_and_create_topic(&topics, false, &create("AdminTopic", 6, "SINGLE_TAG")).unwrap();
    // Java's quirk: SUCCESS with the remark of an unset response.
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (resp::SUCCESS, Some(NOT_SET_REMARK))
    );
    assert_eq!(
        topics
            .select_topic_config("AdminTopic")
            .unwrap()
            .write_queue_nums,
        6
    );
    assert!(topics.take_register_request(), "a REGISTER_BROKER is due");
    let reread = TopicConfigManager::open(&config, &root).unwrap();
    assert_eq!(
        reread
            .select_topic_config("AdminTopic")
            .unwrap()
            .read_queue_nums,
        6
    );

    // Updating an existing topic overwrites it (no "exists" answer in 4.9.8).
    let r =
        update_and_create_topic(&topics, false, &create("AdminTopic", 2, "SINGLE_TAG")).unwrap();
    assert_eq!(r.code, resp::SUCCESS);
    assert_eq!(
        topics
            .select_topic_config("AdminTopic")
            .unwrap()
            .write_queue_nums,
        2
    );

    let all = get_all_topic_config(
        &topics,
        &RemotingCommand::request_without_header(req::GET_ALL_TOPIC_CONFIG),
    )
    .unwrap();
    assert_eq!(all.ext_fields, Some(Default::default()));
    let wrapper: TopicConfigSerializeWrapper = fastjson::from_slice(&all.body).unwrap();
    assert!(wrapper.topic_config_table.contains_key("AdminTopic"));
    assert!(wrapper.topic_config_table.contains_key("TBW102"));
    assert_eq!(wrapper.data_version, topics.data_version());

    put(&store, "AdminTopic", 0, 2);
    put(&store, "Other", 0, 1);
    let cq_dir = root.join("consumequeue");
    assert!(cq_dir.join("AdminTopic").is_dir());
    let r = delete_topic(&topics, &store, false, &delete("AdminTopic")).unwrap();
    assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
    assert!(!topics.contains("AdminTopic"));
    assert!(!cq_dir.join("AdminTopic").exists());
    assert_eq!(store.max_offset_in_queue("AdminTopic", 0), 0);
    // Java's cleanUnusedTopic sweeps every queue whose topic is not in the table.
    assert_eq!(store.max_offset_in_queue("Other", 0), 0);
    store.shutdown().unwrap();
}

#[test]
fn names_system_topics_slave_and_bad_filter_type() {
    let dir = TempDir::new("topic-admin-bad");
    let config = BrokerConfig::default();
    let topics = TopicConfigManager::new(&config, dir.path());
    let store = open_store(&dir);
    let cases = [
        (
            "bad topic!",
            "The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
                .to_owned(),
        ),
        (
            "SCHEDULE_TOPIC_XXXX",
            "The topic[SCHEDULE_TOPIC_XXXX] is conflict with system topic.".to_owned(),
        ),
        (
            "rmq_sys_x",
            "The topic[rmq_sys_x] is conflict with system topic.".to_owned(),
        ),
        (
            &*config.broker_cluster_name,
            format!(
                "The topic[{}] is conflict with system topic.",
                config.broker_cluster_name
            ),
        ),
    ];
    for (topic, remark) in &cases {
        let r = update_and_create_topic(&topics, false, &create(topic, 4, "SINGLE_TAG")).unwrap();
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (resp::SYSTEM_ERROR, Some(remark.as_str())),
            "{topic}"
        );
        let r = delete_topic(&topics, &store, false, &delete(topic)).unwrap();
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (resp::SYSTEM_ERROR, Some(remark.as_str())),
            "{topic}"
        );
    }
    let long = "t".repeat(128);
    let r = update_and_create_topic(&topics, false, &create(&long, 4, "SINGLE_TAG")).unwrap();
    assert_eq!(
        r.remark.as_deref(),
        Some("The specified topic is longer than topic max length.")
    );

    let r = update_and_create_topic(&topics, true, &create("T", 4, "SINGLE_TAG")).unwrap();
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (resp::SYSTEM_ERROR, Some(SLAVE_REMARK))
    );
    assert!(!topics.contains("T"));
    assert!(matches!(
        update_and_create_topic(&topics, false, &create("T", 4, "NOPE")),
        Err(Refusal { remark: Some(text), .. }) if text.contains("TopicFilterType.NOPE")
    ));
    let missing = RemotingCommand::request_without_header(req::UPDATE_AND_CREATE_TOPIC);
    assert_eq!(
        update_and_create_topic(&topics, false, &missing).unwrap_err(),
        Refusal::system_error("the custom field <topic> is null")
    );
    store.shutdown().unwrap();
}

#[test]
fn system_topic_list_is_javas_hash_set() {
    let dir = TempDir::new("system-topics");
    let config = BrokerConfig {
        broker_name: "broker-a".into(),
        broker_cluster_name: "DefaultCluster".into(),
        ..BrokerConfig::default()
    };
    let topics = TopicConfigManager::new(&config, &dir.path().join("store"));
    let r = get_system_topic_list(
        &topics,
        &RemotingCommand::request_without_header(req::GET_SYSTEM_TOPIC_LIST_FROM_BROKER),
    )
    .unwrap();
    assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
    let list: TopicList = fastjson::from_slice(&r.body).unwrap();
    assert_eq!(list.broker_addr, None);
    // The nine fixed names of 4.9.8's TopicValidator, then the start topics of this broker, in
    // java.util.HashSet order: bucket (String.hashCode spread, 16 buckets for 12 names), then
    // insertion order. No recording has a 305 answer; this list was worked out by hand with
    // those rules (a Python one-liner over the names), not with the code under test.
    assert_eq!(
        list.topic_list,
        [
            "SCHEDULE_TOPIC_XXXX",
            "RMQ_SYS_TRANS_HALF_TOPIC",
            "RMQ_SYS_TRACE_TOPIC",
            "DefaultCluster_REPLY_TOPIC",
            "RMQ_SYS_TRANS_OP_HALF_TOPIC",
            "BenchmarkTest",
            "TRANS_CHECK_MAX_TIME_TOPIC",
            "OFFSET_MOVED_EVENT",
            "TBW102",
            "broker-a",
            "SELF_TEST_TOPIC",
            "DefaultCluster",
        ]
    );
}

fn get_topic(topic: Option<&str>) -> RemotingCommand {
    let mut r = RemotingCommand::request_without_header(req::GET_TOPIC_CONFIG);
    if let Some(t) = topic {
        r.ext_fields_mut().insert("topic", t);
        r.ext_fields_mut().insert("lo", "true");
    }
    r
}

#[test]
fn get_topic_config_as_5x() {
    let dir = TempDir::new("get-topic-config");
    let topics = TopicConfigManager::new(&BrokerConfig::default(), &dir.path().join("store"));
    update_and_create_topic(&topics, false, &create("T5", 4, "SINGLE_TAG")).unwrap();
    let r = get_topic_config(&topics, &get_topic(Some("T5"))).unwrap();
    assert_eq!(
        (r.code, r.remark.as_deref(), r.ext_fields.as_ref()),
        (resp::SUCCESS, None, None)
    );
    // fastjson's getter order, `attributes` always written, no mappingDetail.
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T5","topicSysFlag":0,"writeQueueNums":4}"#
    );
    assert_eq!(
        get_topic_config(&topics, &get_topic(Some("Nope"))),
        Err(Refusal::new(
            resp::TOPIC_NOT_EXIST,
            "No topic in this broker. topic: Nope"
        ))
    );
    assert_eq!(
        get_topic_config(&topics, &get_topic(None)),
        Err(Refusal::system_error("the custom field <topic> is null"))
    );
}

fn topic_list(configs: &[TopicConfig]) -> RemotingCommand {
    RemotingCommand::request_without_header(req::UPDATE_AND_CREATE_TOPIC_LIST).with_body(
        fastjson::to_vec(&CreateTopicListRequestBody {
            topic_config_list: configs.to_vec(),
        })
        .unwrap(),
    )
}

#[test]
fn topic_list_creates_all_or_refuses_as_5x() {
    let dir = TempDir::new("topic-list");
    let root = dir.path().join("store");
    let topics = TopicConfigManager::new(&BrokerConfig::default(), &root);
    let t = |name: &str, q: i32| TopicConfig {
        read_queue_nums: q,
        write_queue_nums: q,
        ..TopicConfig::new(name)
    };
    let r = update_and_create_topic_list(&topics, &topic_list(&[t("L1", 2), t("L2", 3)])).unwrap();
    assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
    assert_eq!(
        topics.select_topic_config("L2").unwrap().write_queue_nums,
        3
    );
    assert!(TopicConfigManager::open(&BrokerConfig::default(), &root)
        .unwrap()
        .contains("L1"));

    // Refusals stop before anything is stored.
    let refused =
        |configs: &[TopicConfig]| update_and_create_topic_list(&topics, &topic_list(configs));
    assert_eq!(
        refused(&[t("L3", 1), t("bad name", 1)]),
        Err(Refusal::new(
            resp::INVALID_PARAMETER,
            "The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ))
    );
    assert_eq!(
        refused(&[t("SCHEDULE_TOPIC_XXXX", 1)]),
        Err(Refusal::new(
            resp::INVALID_PARAMETER,
            "The topic[SCHEDULE_TOPIC_XXXX] is conflict with system topic."
        ))
    );
    let mut mixed = t("L4", 1);
    mixed.attributes = Some([("+message.type".to_owned(), "MIXED".to_owned())].into());
    assert_eq!(
        refused(&[mixed]),
        Err(Refusal::new(
            resp::INVALID_PARAMETER,
            "MIXED message type is not supported."
        ))
    );
    assert!(!topics.contains("L3") && !topics.contains("L4"));
    // 5.3.3's quirk: an unchanged topic answers SUCCESS at once; L5 after it is not created.
    let r = update_and_create_topic_list(&topics, &topic_list(&[t("L1", 2), t("L5", 1)])).unwrap();
    assert_eq!(r.code, resp::SUCCESS);
    assert!(!topics.contains("L5"));
    // No body.
    assert!(update_and_create_topic_list(
        &topics,
        &RemotingCommand::request_without_header(req::UPDATE_AND_CREATE_TOPIC_LIST)
    )
    .is_err_and(|e| e.code == resp::SYSTEM_ERROR));
}
