use super::*;
use crate::config::BrokerConfig;
use crate::processor::offset::tests::{open_store, put};
use crate::test_util::TempDir;

#[test]
fn clean_unused_topic_keeps_the_table_topics() {
    let dir = TempDir::new("maintenance-unused");
    let topics = TopicConfigManager::new(&BrokerConfig::default(), &dir.path().join("store"));
    let store = open_store(&dir);
    topics.update_topic_config(remoting_codec::protocol::TopicConfig::new("Kept"));
    put(&store, "Kept", 0, 2);
    put(&store, "Orphan", 0, 2);
    let req = RemotingCommand::request_without_header(req::CLEAN_UNUSED_TOPIC);
    let r = clean_unused_topic(&topics, &store, &req);
    assert_eq!(
        (r.code, r.remark.as_deref(), r.ext_fields.as_ref()),
        (resp::SUCCESS, None, None)
    );
    assert_eq!(store.queue_ids("Orphan"), Vec::<i32>::new());
    assert_eq!(store.queue_ids("Kept"), vec![0]);
    let _ = store.shutdown();
}

#[test]
fn clean_expired_consume_queue_and_delete_expired_commit_log_answer_success() {
    let dir = TempDir::new("maintenance-expired");
    let store = open_store(&dir);
    put(&store, "Live", 0, 2);
    let r = clean_expired_consume_queue(
        &store,
        &RemotingCommand::request_without_header(req::CLEAN_EXPIRED_CONSUMEQUEUE),
    );
    assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
    // Nothing expired: the queue stays.
    assert_eq!(store.queue_ids("Live"), vec![0]);

    assert_eq!(store.manual_delete_rounds_left(), 0);
    let r = delete_expired_commit_log(
        &store,
        &RemotingCommand::request_without_header(req::DELETE_EXPIRED_COMMITLOG),
    );
    assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
    // 20 manual rounds were granted (the clean thread may already have used one).
    assert!((19..=20).contains(&store.manual_delete_rounds_left()));
    let _ = store.shutdown();
}
