use std::sync::atomic::Ordering;
use std::sync::Arc;

use remoting_codec::message::{MessageProperties, StoredMessage};
use store::SCHEDULE_TOPIC;
use store::{MessageStore, MessageStoreConfig, PutMessageStatus};

use super::deliver::message_timeup;
use super::*;
use crate::test_util::{golden, TempDir};

fn open_store(root: &std::path::Path) -> Arc<MessageStore> {
    let config = MessageStoreConfig {
        store_path_root_dir: root.to_path_buf(),
        message_delay_level: "1s 2s 3s".into(),
        mapped_file_size_commit_log: 1 << 20,
        mapped_file_size_consume_queue: 600,
        ..MessageStoreConfig::default()
    };
    Arc::new(crate::test_util::open_store(config))
}

fn delayed(topic: &str, queue_id: i32, level: i32, key: &str) -> StoredMessage {
    let mut properties = MessageProperties::new();
    properties.insert("KEYS", key);
    properties.insert("TAGS", "tagA");
    properties.insert("WAIT", "true");
    properties.insert("DELAY", level.to_string());
    StoredMessage {
        topic: topic.into(),
        queue_id,
        flag: 7,
        sys_flag: 0,
        born_timestamp: 1234,
        born_host: "10.0.0.1:5555".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        reconsume_times: 2,
        body: bytes::Bytes::from_static(b"payload"),
        properties,
        ..StoredMessage::default()
    }
}

fn service(store: &Arc<MessageStore>, root: &std::path::Path) -> ScheduleMessageService {
    let s = ScheduleMessageService::new(store.clone(), crate::paths::delay_offset_path(root));
    s.load().unwrap();
    // The passes below are driven by hand, with a clock of their own.
    s.started.store(true, Ordering::Release);
    s
}

/// Store time of the first entry of a level's queue.
fn stored_at(store: &MessageStore, level: i32) -> i64 {
    store.message_store_timestamp(SCHEDULE_TOPIC, level - 1, 0)
}

fn read_queue(store: &MessageStore, topic: &str, queue_id: i32) -> Vec<StoredMessage> {
    let r = store.get_message(topic, queue_id, 0, 1000, None);
    r.messages
        .iter()
        .map(|b| StoredMessage::decode(b).unwrap())
        .collect()
}

#[test]
fn due_messages_go_to_their_real_queue_in_order() {
    let dir = TempDir::new("schedule-due");
    let store = open_store(dir.path());
    for i in 0..3 {
        assert!(store
            .put_message(delayed("RealTopic", 1, 2, &format!("K{i}")))
            .is_ok());
    }
    store.wait_dispatched().unwrap();
    let s = service(&store, dir.path());
    let t0 = stored_at(&store, 2);
    // The last of the three may have been stored later (a slow machine).
    let t2 = store.message_store_timestamp(SCHEDULE_TOPIC, 1, 2);
    assert!(t2 >= t0);

    // Not due 1 s after the first was stored (level 2 = 2 s): nothing moves.
    let pass = s.deliver_due(2, 0, &|| t0 + 1000);
    assert_eq!(pass.offset, 0);
    assert!(read_queue(&store, "RealTopic", 1).is_empty());
    assert!(s.offset_table().is_empty());

    // Due: all three, in order, with the schedule copy's bytes apart from topic and queue.
    let pass = s.deliver_due(2, 0, &|| t2 + 2000);
    assert_eq!(pass.offset, 3);
    assert!(!pass.put_failed);
    assert_eq!(s.offset_table(), [(2, 3)].into_iter().collect());
    store.wait_dispatched().unwrap();
    let parked = read_queue(&store, SCHEDULE_TOPIC, 1);
    let delivered = read_queue(&store, "RealTopic", 1);
    assert_eq!(delivered.len(), 3);
    for (i, (d, p)) in delivered.iter().zip(&parked).enumerate() {
        assert_eq!(d.properties.keys(), Some(format!("K{i}").as_str()));
        assert_eq!(d.queue_offset, i as i64);
        // Java keeps DELAY, WAIT, REAL_TOPIC and REAL_QID in the record (golden `clean` store).
        assert_eq!(d.properties.encode(), p.properties.encode());
        assert_eq!(d.properties.get("DELAY"), Some("2"));
        assert_eq!(d.properties.real_topic(), Some("RealTopic"));
        assert_eq!(
            (
                d.flag,
                d.sys_flag,
                d.born_timestamp,
                d.born_host,
                d.store_host
            ),
            (
                p.flag,
                p.sys_flag,
                p.born_timestamp,
                p.born_host,
                p.store_host
            )
        );
        assert_eq!(d.reconsume_times, 2);
        assert_eq!(d.body, p.body);
    }
    // Tags code of the delivered copy is the tag's hash again, not a time.
    let cq = store.consume_queue("RealTopic", 1).unwrap();
    assert_eq!(
        cq.entry(0).unwrap().tags_code,
        remoting_codec::message::java_string_hash_code("tagA") as i64
    );

    // A later pass finds nothing new.
    assert_eq!(s.deliver_due(2, 3, &|| t2 + 10_000).offset, 3);
    assert_eq!(read_queue(&store, "RealTopic", 1).len(), 3);
}

#[test]
fn a_failed_put_keeps_the_offset_for_a_retry() {
    let dir = TempDir::new("schedule-fail");
    let store = open_store(dir.path());
    assert!(store.put_message(delayed("RealTopic", 0, 1, "K")).is_ok());
    store.wait_dispatched().unwrap();
    let s = service(&store, dir.path());
    let t0 = stored_at(&store, 1);
    store.shutdown().unwrap();
    assert_eq!(
        store.put_message(delayed("X", 0, 0, "x")).status,
        PutMessageStatus::ServiceNotAvailable
    );
    let pass = s.deliver_due(1, 0, &|| t0 + 5000);
    assert_eq!(pass.offset, 0);
    assert!(pass.put_failed);
    assert!(s.offset_table().is_empty());
}

#[test]
fn far_future_delivery_times_are_due_now() {
    // Level delay 2 s: a delivery time more than 2 s ahead (clock went back) is corrected to now.
    assert_eq!(correct_deliver_timestamp(10_000, 13_000, 2000), 10_000);
    assert_eq!(correct_deliver_timestamp(10_000, 12_000, 2000), 12_000);
    assert_eq!(correct_deliver_timestamp(10_000, 9_000, 2000), 9_000);
}

#[test]
fn a_message_without_real_topic_cannot_be_rebuilt() {
    let mut msg = delayed("T", 0, 1, "K");
    assert!(message_timeup(msg.clone()).is_err());
    msg.properties.insert("REAL_TOPIC", "T");
    assert!(message_timeup(msg.clone()).is_err());
    msg.properties.insert("REAL_QID", "3");
    let inner = message_timeup(msg).unwrap();
    assert_eq!((inner.topic.as_str(), inner.queue_id), ("T", 3));
}

#[test]
fn delay_offset_file_has_the_golden_shape() {
    let dir = TempDir::new("schedule-file");
    let store = open_store(dir.path());
    let s = service(&store, dir.path());
    for (file, table) in [
        (
            "captures/s05-delay.store-config/delayOffset.json",
            [1, 1, 1],
        ),
        ("stores/clean/config/delayOffset.json", [1, 1, 2]),
    ] {
        for (level, offset) in (1..).zip(table) {
            s.update_offset(level, offset);
        }
        s.persist();
        let ours = std::fs::read(crate::paths::delay_offset_path(dir.path())).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            std::fs::read_to_string(golden(file)).unwrap(),
            "{file}"
        );
    }
    // The previous content went to .bak.
    let bak = store::config_file::bak_path(&crate::paths::delay_offset_path(dir.path()));
    assert!(std::fs::read_to_string(bak).unwrap().contains("3:1"));
    assert_eq!(s.encode(false), r#"{"offsetTable":{1:1,2:1,3:2}}"#);
}

#[test]
fn loaded_offsets_are_clamped_into_the_queue() {
    let dir = TempDir::new("schedule-clamp");
    let store = open_store(dir.path());
    for _ in 0..2 {
        assert!(store.put_message(delayed("T", 0, 1, "K")).is_ok());
    }
    store.wait_dispatched().unwrap();
    let path = crate::paths::delay_offset_path(dir.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // Level 1 beyond its queue's max (2); level 3 has no queue and is kept as is.
    std::fs::write(&path, "{\n\t\"offsetTable\":{1:9,3:5\n\t}\n}").unwrap();
    let s = ScheduleMessageService::new(store.clone(), path);
    s.load().unwrap();
    assert_eq!(s.offset_table(), [(1, 2), (3, 5)].into_iter().collect());
    let mut stats = BTreeMap::new();
    s.build_running_stats(&mut stats);
    assert_eq!(stats["scheduleMessageOffset_1"], "2,2");
    assert_eq!(stats["scheduleMessageOffset_3"], "5,0");
}

#[test]
fn an_unparsable_file_without_backup_refuses_to_load() {
    let dir = TempDir::new("schedule-bad");
    let store = open_store(dir.path());
    let path = crate::paths::delay_offset_path(dir.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{not json").unwrap();
    let s = ScheduleMessageService::new(store, path);
    assert!(s.load().is_err());
}

#[test]
fn the_timers_deliver_and_shutdown_persists() {
    let dir = TempDir::new("schedule-timers");
    let store = open_store(dir.path());
    assert!(store.put_message(delayed("T", 0, 1, "K")).is_ok());
    let s = Arc::new(ScheduleMessageService::new(
        store.clone(),
        crate::paths::delay_offset_path(dir.path()),
    ));
    s.load().unwrap();
    s.start().unwrap();
    // Level 1 = 1 s, first pass after 1 s: wait for the copy, bounded generously.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.max_offset_in_queue("T", 0) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered in 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    s.shutdown();
    assert!(!s.is_started());
    let text = std::fs::read_to_string(crate::paths::delay_offset_path(dir.path())).unwrap();
    assert_eq!(text, "{\n\t\"offsetTable\":{1:1\n\t}\n}");
}

/// 4.9.8's `PutResultProcess.onSuccess` with `enableScheduleMessageStats`: a delivery is a get
/// of the level's queue by SCHEDULE_CONSUMER and a put of the real topic.
#[test]
fn deliveries_are_counted_in_the_broker_statistics() {
    use remoting_codec::protocol::broker_admin::stats_name as name;
    let dir = TempDir::new("schedule-stats");
    let store = open_store(dir.path());
    for i in 0..2 {
        assert!(store
            .put_message(delayed("RealTopic", 1, 2, &format!("K{i}")))
            .is_ok());
    }
    store.wait_dispatched().unwrap();
    let s = service(&store, dir.path());
    let stats = Arc::new(BrokerStatsManager::new("DefaultCluster", true));
    s.count_deliveries_in(stats.clone());
    let last = store.message_store_timestamp(SCHEDULE_TOPIC, 1, 1);
    assert_eq!(s.deliver_due(2, 0, &|| last + 2000).offset, 2);

    let item = |stats_name: &str, key: &str| {
        let i = stats.stats_item(stats_name, key).unwrap();
        (i.value(), i.times())
    };
    let (bytes, calls) = item(name::TOPIC_PUT_SIZE, "RealTopic");
    assert!(bytes > 0 && calls == 2);
    assert_eq!(item(name::TOPIC_PUT_NUMS, "RealTopic"), (2, 2));
    assert_eq!(item(name::BROKER_PUT_NUMS, "DefaultCluster"), (2, 0));
    assert_eq!(
        item(
            name::GROUP_GET_NUMS,
            "SCHEDULE_TOPIC_XXXX@SCHEDULE_CONSUMER"
        ),
        (2, 2)
    );
    assert_eq!(
        item(
            name::GROUP_GET_SIZE,
            "SCHEDULE_TOPIC_XXXX@SCHEDULE_CONSUMER"
        ),
        (bytes, 2)
    );
    assert_eq!(
        item(
            name::QUEUE_GET_NUMS,
            "SCHEDULE_TOPIC_XXXX@1@SCHEDULE_CONSUMER"
        ),
        (2, 2)
    );
    s.shutdown();
}

#[test]
fn with_the_queue_extension_due_times_come_from_the_units_or_the_record() {
    let dir = TempDir::new("schedule-ext");
    let config = MessageStoreConfig {
        store_path_root_dir: dir.path().to_path_buf(),
        message_delay_level: "1s 2s 3s".into(),
        mapped_file_size_commit_log: 1 << 20,
        mapped_file_size_consume_queue: 600,
        enable_consume_queue_ext: true,
        ..MessageStoreConfig::default()
    };
    let store = Arc::new(crate::test_util::open_store(config));
    for key in ["A", "B"] {
        assert!(store.put_message(delayed("RealTopic", 0, 3, key)).is_ok());
    }
    store.wait_dispatched().unwrap();
    let s = service(&store, dir.path());
    let cq = store.consume_queue(SCHEDULE_TOPIC, 2).unwrap();
    let slot = cq.entry_raw(0).unwrap().tags_code;
    assert!(store::is_ext_addr(slot), "the due time is in the unit");
    let t0 = stored_at(&store, 3);
    // The unit's due time (store time + 3 s): not due a second after the store.
    assert_eq!(s.deliver_due(3, 0, &|| t0 + 1000).offset, 0);
    // Units lost (zeroed in place): the due time is computed again from the record's store
    // time, so the entries still wait for it instead of being taken for due at once.
    let ext = dir
        .path()
        .join("consumequeue_ext")
        .join(SCHEDULE_TOPIC)
        .join("2")
        .join("00000000000000000000");
    let len = std::fs::metadata(&ext).unwrap().len() as usize;
    std::fs::write(&ext, vec![0u8; len]).unwrap();
    assert!(cq.ext_unit(slot).is_none());
    assert_eq!(s.deliver_due(3, 0, &|| t0 + 1000).offset, 0);
    assert!(read_queue(&store, "RealTopic", 0).is_empty());
    // Both due once the second's store time + 3 s has come.
    let t1 = store.message_store_timestamp(SCHEDULE_TOPIC, 2, 1);
    assert_eq!(s.deliver_due(3, 0, &|| t1 + 3000).offset, 2);
    store.wait_dispatched().unwrap();
    assert_eq!(read_queue(&store, "RealTopic", 0).len(), 2);
}
