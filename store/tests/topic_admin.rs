//! What the broker's admin and offset handlers ask of the store: `cleanUnusedTopic` (topic
//! deletion) and `checkInDiskByConsumeOffset` (QUERY_CONSUMER_OFFSET's return-0 rule).

mod support;

use std::collections::HashSet;

use support::{message, small_config};

#[test]
fn clean_unused_topic_destroys_queues_and_restarts_offsets() {
    let tmp = tempfile::tempdir().unwrap();
    let config = small_config(tmp.path());
    let cq_dir = config.consume_queue_dir();
    let store = support::open(config);
    for i in 0..3 {
        assert!(store.put_message(message("Gone", 0, i, 50)).is_ok());
        assert!(store.put_message(message("Kept", 1, i, 50)).is_ok());
    }
    assert!(store
        .put_message(message("SCHEDULE_TOPIC_XXXX", 0, 9, 50))
        .is_ok());
    store.wait_dispatched().unwrap();
    assert_eq!(store.max_offset_in_queue("Gone", 0), 3);
    assert!(cq_dir.join("Gone").join("0").is_dir());

    let keep: HashSet<String> = ["Kept".to_owned()].into();
    assert_eq!(store.clean_unused_topic(&keep), ["Gone"]);
    assert!(!cq_dir.join("Gone").exists());
    assert_eq!(store.queue_ids("Gone"), Vec::<i32>::new());
    assert_eq!(store.max_offset_in_queue("Gone", 0), 0);
    assert_eq!(store.max_offset_in_queue("Kept", 1), 3);
    // SCHEDULE_TOPIC_XXXX is never cleaned, even though it is not in the set.
    assert_eq!(store.max_offset_in_queue("SCHEDULE_TOPIC_XXXX", 0), 1);

    // A re-created topic starts again at queue offset 0.
    let put = store.put_message(message("Gone", 0, 7, 50));
    assert!(put.is_ok());
    store.wait_dispatched().unwrap();
    assert_eq!(store.max_offset_in_queue("Gone", 0), 1);
    assert_eq!(store.min_offset_in_queue("Gone", 0), 0);
    store.shutdown().unwrap();
}

#[test]
fn in_disk_check_follows_the_memory_share() {
    let tmp = tempfile::tempdir().unwrap();
    let store = support::open(small_config(tmp.path()));
    // No queue, or no entry at the offset: false (Java's answer).
    assert!(!store.check_in_disk_by_consume_offset("T", 0, 0));
    assert!(store.put_message(message("T", 0, 0, 100)).is_ok());
    store.wait_dispatched().unwrap();
    // A few hundred bytes behind the end is far inside any machine's memory share.
    assert!(!store.check_in_disk_by_consume_offset("T", 0, 0));
    assert!(!store.check_in_disk_by_consume_offset("T", 0, 1));
    store.shutdown().unwrap();
}
