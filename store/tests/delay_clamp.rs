//! A DELAY level above the `messageDelayLevel` table is clamped to its last level, as Java's
//! `CommitLog.putMessage` does: the record goes to that level's queue and its stored `DELAY`
//! property says the clamped level.

mod support;

use store::PutMessageStatus;
use support::*;

#[test]
fn a_delay_level_above_the_table_is_clamped_to_the_last_level() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    config.message_delay_level = "1s 2s 3s".into();
    let store = support::open(config);

    let mut msg = message("ClampTopic", 2, 0, 16);
    msg.properties.insert("DELAY", "40");
    let put = store.put_message(msg);
    assert_eq!(put.status, PutMessageStatus::PutOk);
    let offset = put.append.unwrap().wrote_offset;

    let stored = store.look_message_by_offset(offset).unwrap();
    assert_eq!(stored.topic, "SCHEDULE_TOPIC_XXXX");
    assert_eq!(stored.queue_id, 2, "queue = clamped level 3 - 1");
    assert_eq!(stored.properties.get("DELAY"), Some("3"));
    assert_eq!(stored.properties.get("REAL_TOPIC"), Some("ClampTopic"));
    assert_eq!(stored.properties.get("REAL_QID"), Some("2"));

    // Its consume-queue tagsCode is the delivery time of level 3: store time + 3 s.
    store.wait_dispatched().unwrap();
    let got = store.get_message("SCHEDULE_TOPIC_XXXX", 2, 0, 1, None);
    assert_eq!(got.messages.len(), 1);
    let cq = store
        .consume_queue("SCHEDULE_TOPIC_XXXX", 2)
        .unwrap()
        .entry(0)
        .unwrap();
    assert_eq!(cq.tags_code, stored.store_timestamp + 3000);
    store.shutdown().unwrap();
}
