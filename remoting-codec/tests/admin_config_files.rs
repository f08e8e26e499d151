//! The broker's `store/config/*.json` files as the Java 4.9.8 broker left them
//! (`compat-tests/fixtures/golden/store-config/<store>/`): each parses into its typed wrapper with
//! the recorded values, and our pretty output reads back to the same JSON.

mod support;

use std::path::PathBuf;

use remoting_codec::fastjson;
use remoting_codec::protocol::common::TopicConfigSerializeWrapper;
use remoting_codec::protocol::config_files::*;
use remoting_codec::protocol::group_admin::SubscriptionGroupWrapper;
use serde::de::DeserializeOwned;
use serde::Serialize;

const STORES: &[&str] = &["clean", "crashed", "s05-delay"];

fn dir(store: &str) -> PathBuf {
    support::fixtures_dir().join("store-config").join(store)
}

/// Every copy (file and `.bak`) of `name` in every store that has it.
fn copies(name: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for store in STORES {
        for file in [name.to_owned(), format!("{name}{BACKUP_SUFFIX}")] {
            let path = dir(store).join(&file);
            if let Ok(bytes) = std::fs::read(&path) {
                out.push((format!("{store}/{file}"), bytes));
            }
        }
    }
    out
}

/// Parses, writes pretty, and checks both read to the same JSON value.
fn parse<T: Serialize + DeserializeOwned>(what: &str, bytes: &[u8]) -> (T, String) {
    let typed: T = fastjson::from_slice(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    let pretty = fastjson::to_string_pretty(&typed).unwrap();
    assert_eq!(
        fastjson::from_slice_value(pretty.as_bytes()).unwrap(),
        fastjson::from_slice_value(bytes).unwrap(),
        "{what}: {pretty}"
    );
    (typed, pretty)
}

fn all<T: Serialize + DeserializeOwned>(name: &str, want: usize) -> Vec<(String, T, String)> {
    let files = copies(name);
    assert_eq!(files.len(), want, "copies of {name}");
    files
        .into_iter()
        .map(|(what, bytes)| {
            let (typed, pretty) = parse::<T>(&what, &bytes);
            (what, typed, pretty)
        })
        .collect()
}

#[test]
fn delay_offsets() {
    let files = all::<DelayOffsetSerializeWrapper>(DELAY_OFFSET_FILE, 3);
    for (what, wrapper, pretty) in &files {
        let want: &[(i32, i64)] = if what.starts_with("clean") {
            &[(1, 1), (2, 1), (3, 2)]
        } else {
            &[(1, 1), (2, 1), (3, 1)]
        };
        assert_eq!(
            wrapper.offset_table,
            want.iter().copied().collect(),
            "{what}"
        );
        assert_eq!(wrapper.data_version, None);
        // Sorted integer keys: Java's HashMap order, so the file comes back byte for byte.
        let original = std::fs::read_to_string(
            dir(what.split('/').next().unwrap()).join(what.split('/').nth(1).unwrap()),
        )
        .unwrap();
        assert_eq!(pretty, &original, "{what}");
    }
}

#[test]
fn consumer_offsets() {
    let files = all::<ConsumerOffsetSerializeWrapper>(CONSUMER_OFFSET_FILE, 3);
    let (_, clean, _) = files
        .iter()
        .find(|f| f.0 == "clean/consumerOffset.json")
        .unwrap();
    let a: Vec<i64> = (0..4)
        .map(|q| clean.offset("StoreTopicA", "store_group_1", q).unwrap())
        .collect();
    assert_eq!(a, [375, 375, 380, 376]);
    assert_eq!(clean.offset("StoreTopicB", "store_group_2", 0), Some(200));
    assert_eq!(clean.offset("StoreTopicB", "store_group_2", 1), None);
    assert_eq!(clean.offset_table.len(), 5);
    assert_eq!(
        ConsumerOffsetSerializeWrapper::split_key("%RETRY%store_group_1@store_group_1"),
        Some(("%RETRY%store_group_1", "store_group_1"))
    );
    assert_eq!(
        (clean.data_version.as_ref(), clean.group_topic_map.as_ref()),
        (None, None)
    );
    let (_, s05, _) = files.iter().find(|f| f.0.starts_with("s05")).unwrap();
    assert_eq!(s05.offset("DelayTopic", "delay_consumer_group", 2), Some(1));
}

#[test]
fn consumer_filters() {
    for (what, wrapper, pretty) in all::<ConsumerFilterSerializeWrapper>(CONSUMER_FILTER_FILE, 3) {
        assert!(wrapper.filter_data_by_topic.is_empty(), "{what}");
        assert_eq!(pretty, "{\n\t\"filterDataByTopic\":{}\n}", "{what}");
    }
    // A registration as a 4.9.8 broker with enablePropertyFilter writes it.
    let java = "{\n\t\"filterDataByTopic\":{\n\t\t\"FilterTopic\":{\n\t\t\t\"groupFilterData\":{\n\t\t\t\t\"sql_group\":{\n\t\t\t\t\t\"bloomFilterData\":{\n\t\t\t\t\t\t\"bitNum\":64,\n\t\t\t\t\t\t\"bitPos\":[3,17,40]\n\t\t\t\t\t},\n\t\t\t\t\t\"bornTime\":1795242100000,\n\t\t\t\t\t\"clientVersion\":1795242100001,\n\t\t\t\t\t\"consumerGroup\":\"sql_group\",\n\t\t\t\t\t\"dead\":false,\n\t\t\t\t\t\"deadTime\":0,\n\t\t\t\t\t\"expression\":\"a between 0 and 3\",\n\t\t\t\t\t\"expressionType\":\"SQL92\",\n\t\t\t\t\t\"topic\":\"FilterTopic\"\n\t\t\t\t}\n\t\t\t},\n\t\t\t\"topic\":\"FilterTopic\"\n\t\t}\n\t}\n}";
    let (wrapper, pretty) = parse::<ConsumerFilterSerializeWrapper>("hand-made", java.as_bytes());
    assert_eq!(pretty, java);
    let data = &wrapper.filter_data_by_topic["FilterTopic"].group_filter_data["sql_group"];
    assert_eq!(data.expression_type.as_deref(), Some("SQL92"));
    assert_eq!(
        data.bloom_filter_data.as_ref().unwrap().bit_pos,
        Some(vec![3, 17, 40])
    );
    let mut dead = data.clone();
    dead.set_dead_time(1795242200000);
    assert!(dead.dead);
}

#[test]
fn subscription_groups() {
    let files = all::<SubscriptionGroupWrapper>(SUBSCRIPTION_GROUP_FILE, 3);
    let (_, clean, _) = files
        .iter()
        .find(|f| f.0 == "clean/subscriptionGroup.json")
        .unwrap();
    assert_eq!(clean.data_version.counter, 3);
    let g = &clean.subscription_group_table["store_retry_group"];
    assert!(g.consume_enable && g.consume_broadcast_enable);
    assert_eq!(g.group_retry_policy, None);
    assert_eq!(clean.forbidden_table, None);
    let (_, bak, _) = files
        .iter()
        .find(|f| f.0 == "clean/subscriptionGroup.json.bak")
        .unwrap();
    assert_eq!(bak.data_version.counter, 2);
}

#[test]
fn topics() {
    let files = all::<TopicConfigSerializeWrapper>(TOPICS_FILE, 4);
    let (_, clean, _) = files.iter().find(|f| f.0 == "clean/topics.json").unwrap();
    assert_eq!(clean.topic_config_table["StoreTopicA"].read_queue_nums, 4);
    assert!(!clean
        .topic_config_table
        .contains_key("RMQ_SYS_TRANS_OP_HALF_TOPIC"));
    let (_, crashed, _) = files.iter().find(|f| f.0 == "crashed/topics.json").unwrap();
    assert_eq!(crashed.topic_config_table["CrashTopic"].write_queue_nums, 4);
}

/// 5.x adds `dataVersion` to both offset files and the getter-only `groupTopicMap`.
#[test]
fn five_x_offset_files() {
    let java5 = "{\n\t\"dataVersion\":{\n\t\t\"counter\":4,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1795242100000\n\t},\n\t\"groupTopicMap\":{\n\t\t\"g\":[\"t\"]\n\t},\n\t\"offsetTable\":{\n\t\t\"t@g\":{0:5,1:6\n\t\t}\n\t}\n}";
    let (w, _) = parse::<ConsumerOffsetSerializeWrapper>("5.x consumerOffset", java5.as_bytes());
    assert_eq!(w.data_version.as_ref().unwrap().counter, 4);
    assert_eq!(w.offset("t", "g", 1), Some(6));
    let java5 = "{\n\t\"dataVersion\":{\n\t\t\"counter\":1,\n\t\t\"timestamp\":2\n\t},\n\t\"offsetTable\":{1:1,2:1\n\t}\n}";
    let (w, pretty) = parse::<DelayOffsetSerializeWrapper>("5.x delayOffset", java5.as_bytes());
    assert_eq!(w.data_version.unwrap().timestamp, 2);
    assert_eq!(pretty, java5);
}
