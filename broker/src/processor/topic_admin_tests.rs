use super::*;
use crate::config::BrokerConfig;
use crate::processor::offset::tests::{open_store, put};
use crate::test_util::TempDir;
use remoting_codec::fastjson;
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
