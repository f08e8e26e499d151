//! Opens the Java-written golden stores (copies) and reads back every message of their
//! manifests. The stores are opened with [`golden_options`]: no clean pass may delete a copy's
//! files during the test, whatever the date, the hour or the machine's disk.

mod support;

use std::collections::HashMap;

use remoting_codec::message::{decompress_body, StoredMessage};
use serde_json::Value;
use store::{GetMessageStatus, MessageStore};
use support::*;

fn manifest(name: &str) -> Value {
    let text =
        std::fs::read_to_string(golden_stores().join(format!("{name}.manifest.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every manifest message is found at its commitlog offset with the same fields, and every
/// consume-queue entry the manifest lists is served by `get_message`.
fn check_messages(store: &MessageStore, m: &Value) -> usize {
    let mut via_queue = 0;
    for msg in m["messages"].as_array().unwrap() {
        let offset = msg["commitLogOffset"].as_i64().unwrap();
        let stored = store
            .look_message_by_offset(offset)
            .unwrap_or_else(|| panic!("no record at {offset}"));
        check_fields(&stored, msg);
        check_index(store, &stored);
        for entry in msg["consumeQueue"].as_array().into_iter().flatten() {
            let topic = entry["topic"].as_str().unwrap();
            let qid = entry["queueId"].as_i64().unwrap() as i32;
            let index = entry["index"].as_i64().unwrap();
            let tags_code = entry["tagsCode"].as_i64().unwrap();
            let got = store.get_message(topic, qid, index, 1, None);
            assert_eq!(got.status, GetMessageStatus::Found, "{topic}/{qid}@{index}");
            assert_eq!(got.message_queue_offsets, vec![index]);
            let rec = StoredMessage::decode(&got.messages[0]).unwrap();
            assert_eq!(rec.commit_log_offset, offset);
            // The tag code filter sees the manifest's tagsCode (delivery time for delays).
            let wanted = move |code: i64| code == tags_code;
            let filtered = store.get_message(topic, qid, index, 1, Some(&wanted));
            assert_eq!(
                filtered.status,
                GetMessageStatus::Found,
                "tagsCode of {topic}/{qid}@{index}"
            );
            let other = move |code: i64| code != tags_code;
            let filtered = store.get_message(topic, qid, index, 1, Some(&other));
            assert!(!filtered.message_queue_offsets.contains(&index));
            via_queue += 1;
        }
    }
    via_queue
}

/// The index finds the record by each of its keys and by its UNIQ_KEY (ROLLBACK records are
/// not indexed; a key shared by more than a query's worth of messages may hide older ones).
fn check_index(store: &MessageStore, stored: &StoredMessage) {
    use remoting_codec::message::sysflag::message_sys_flag::*;
    if get_transaction_value(stored.sys_flag) == TRANSACTION_ROLLBACK_TYPE {
        return;
    }
    let keys = stored
        .properties
        .key_list()
        .chain(stored.properties.uniq_key());
    for key in keys {
        let found = store.query_message(&stored.topic, key, 64, 0, i64::MAX);
        let offsets: Vec<i64> = found
            .messages
            .iter()
            .map(|b| StoredMessage::decode(b).unwrap().commit_log_offset)
            .collect();
        assert!(
            offsets.contains(&stored.commit_log_offset) || offsets.len() == 64,
            "key {key} of {} not found ({} hits)",
            stored.commit_log_offset,
            offsets.len()
        );
    }
}

fn check_fields(stored: &StoredMessage, msg: &Value) {
    let at = msg["commitLogOffset"].as_i64().unwrap();
    assert_eq!(
        stored.topic,
        msg["topic"].as_str().unwrap(),
        "topic at {at}"
    );
    assert_eq!(stored.queue_id as i64, msg["queueId"].as_i64().unwrap());
    assert_eq!(stored.queue_offset, msg["queueOffset"].as_i64().unwrap());
    assert_eq!(stored.commit_log_offset, at);
    assert_eq!(stored.store_size as i64, msg["storeSize"].as_i64().unwrap());
    assert_eq!(stored.properties.uniq_key(), msg["msgId"].as_str());
    assert_eq!(stored.offset_msg_id(), msg["offsetMsgId"].as_str().unwrap());
    assert_eq!(stored.properties.keys(), msg["keys"].as_str());
    assert_eq!(stored.properties.tags(), msg["tags"].as_str());
    assert_eq!(stored.sys_flag as i64, msg["sysFlag"].as_i64().unwrap());
    assert_eq!(
        stored.store_timestamp,
        msg["storeTimestamp"].as_i64().unwrap()
    );
    assert_eq!(
        sha256_hex(&stored.body),
        msg["bodySha256"].as_str().unwrap()
    );
    if let Some(sha) = msg["uncompressedBodySha256"].as_str() {
        let body = decompress_body(&stored.body, stored.sys_flag, 1 << 24).unwrap();
        assert_eq!(sha256_hex(&body), sha);
    }
}

fn check_queue_bounds(store: &MessageStore, m: &Value) {
    for q in m["commitlogQueues"].as_array().unwrap() {
        let topic = q["topic"].as_str().unwrap();
        let qid = q["queueId"].as_i64().unwrap() as i32;
        assert_eq!(
            store.max_offset_in_queue(topic, qid),
            q["maxQueueOffsetPlus1"].as_i64().unwrap(),
            "max offset of {topic}/{qid}"
        );
        assert_eq!(
            store.min_offset_in_queue(topic, qid),
            q["minQueueOffset"].as_i64().unwrap(),
            "min offset of {topic}/{qid}"
        );
    }
}

#[test]
fn clean_store_reads_back_every_message() {
    let tmp = tempfile::tempdir().unwrap();
    let config = golden_copy("clean", tmp.path());
    let m = manifest("clean");
    let store = MessageStore::open_with(config, golden_options()).unwrap();
    assert!(!store.recovery_report().abnormal);
    assert_eq!(
        store.max_phy_offset(),
        m["commitlog"]["maxOffset"].as_i64().unwrap()
    );
    assert_eq!(store.min_phy_offset(), 0);
    let n = check_messages(&store, &m);
    assert!(n > 1800, "{n} queue entries checked");
    check_queue_bounds(&store, &m);
    // The pending delayed messages carry their delivery time: level 17 = 1 h after storing.
    let first = store.get_message("SCHEDULE_TOPIC_XXXX", 16, 0, 1, None);
    let rec = StoredMessage::decode(&first.messages[0]).unwrap();
    assert_eq!(rec.properties.real_topic(), Some("StoreDelayTopic"));
    assert_eq!(
        store.earliest_message_time(),
        m["messages"][0]["storeTimestamp"].as_i64().unwrap()
    );
    store.shutdown().unwrap();
}

#[test]
fn crashed_store_recovers_every_acknowledged_message() {
    let tmp = tempfile::tempdir().unwrap();
    let config = golden_copy("crashed", tmp.path());
    let root = config.store_path_root_dir.clone();
    let m = manifest("crashed");
    let store = MessageStore::open_with(config, golden_options()).unwrap();
    let report = store.recovery_report().clone();
    assert!(report.abnormal);
    assert_eq!(report.commit_log_end, 1103664);
    // The empty pre-allocated file is gone, as the Java broker removed it.
    assert!(!root.join("commitlog/00000000000002097152").exists());
    assert!(root.join("commitlog/00000000000001048576").exists());
    let counts: Vec<i64> = (0..4)
        .map(|q| store.max_offset_in_queue("CrashTopic", q))
        .collect();
    assert_eq!(counts, vec![884, 883, 883, 883]);
    check_messages(&store, &m);
    check_queue_bounds(&store, &m);

    let acked = std::fs::read_to_string(golden_stores().join("crashed.acked.txt")).unwrap();
    let mut seen = 0;
    for line in acked.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (msg_id, offset_msg_id) = (f[2], f[3]);
        let (qid, qoff): (i32, i64) = (f[4].parse().unwrap(), f[5].parse().unwrap());
        let got = store.get_message("CrashTopic", qid, qoff, 1, None);
        assert_eq!(got.status, GetMessageStatus::Found, "ack {line}");
        let rec = StoredMessage::decode(&got.messages[0]).unwrap();
        assert_eq!(rec.properties.uniq_key(), Some(msg_id));
        assert_eq!(rec.offset_msg_id(), offset_msg_id);
        seen += 1;
    }
    assert_eq!(seen, 3533);

    // After a clean shutdown the copy reopens through normal recovery with the same content.
    store.shutdown().unwrap();
    drop(store);
    assert!(!root.join("abort").exists());
    let config = golden_copy_config_at(&root);
    let store = MessageStore::open_with(config, golden_options()).unwrap();
    assert!(!store.recovery_report().abnormal);
    let counts: Vec<i64> = (0..4)
        .map(|q| store.max_offset_in_queue("CrashTopic", q))
        .collect();
    assert_eq!(counts, vec![884, 883, 883, 883]);
    let mut per_queue: HashMap<i32, i64> = HashMap::new();
    for msg in m["messages"].as_array().unwrap() {
        *per_queue
            .entry(msg["queueId"].as_i64().unwrap() as i32)
            .or_default() += 1;
    }
    assert_eq!(per_queue[&0], 884);
}

fn golden_copy_config_at(root: &std::path::Path) -> store::MessageStoreConfig {
    let conf = std::fs::read_to_string(golden_stores().join("crashed.broker.conf")).unwrap();
    let mut config = store::MessageStoreConfig::from_properties_text(&conf).unwrap();
    config.store_path_root_dir = root.to_owned();
    config.store_path_commit_log = Some(root.join("commitlog"));
    config
}
