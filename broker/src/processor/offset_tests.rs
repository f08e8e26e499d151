use super::*;
use crate::test_util::TempDir;
use remoting_codec::message::{MessageProperties, StoredMessage};
use store::MessageStoreConfig;

pub(crate) fn open_store(dir: &TempDir) -> MessageStore {
    crate::test_util::open_store(MessageStoreConfig {
        store_path_root_dir: dir.path().join("store"),
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 50 * 20,
        max_hash_slot_num: 100,
        max_index_num: 400,
        ..Default::default()
    })
}

pub(crate) fn put(store: &MessageStore, topic: &str, queue_id: i32, n: usize) {
    for i in 0..n {
        let mut properties = MessageProperties::new();
        properties.insert("UNIQ_KEY", format!("ID{i:030}"));
        let msg = StoredMessage {
            topic: topic.to_owned(),
            queue_id,
            body: vec![b'x'; 20].into(),
            born_host: "127.0.0.1:40000".parse().unwrap(),
            store_host: "127.0.0.1:10911".parse().unwrap(),
            properties,
            ..Default::default()
        };
        assert!(store.put_message(msg).is_ok());
    }
    store.wait_dispatched().unwrap();
}

fn query(group: &str, topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request(
        req::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            set_zero_if_not_found: None,
        },
    )
}

fn update(group: &str, topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    RemotingCommand::request(
        req::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            commit_offset: offset,
        },
    )
}

#[test]
fn query_rule_update_and_persist_across_restart() {
    let dir = TempDir::new("offset-handlers");
    let store = open_store(&dir);
    let root = dir.path().join("store");
    let offsets = ConsumerOffsetManager::new(&root);

    // A new queue still starting at 0, first message in memory: 0 (the s02 answers).
    put(&store, "T", 0, 3);
    let r = query_consumer_offset(&offsets, &store, &query("g", "T", 0)).unwrap();
    assert_eq!((r.code, r.ext_field("offset")), (resp::SUCCESS, Some("0")));
    // An empty queue too (no entry at 0 → not in disk).
    let r = query_consumer_offset(&offsets, &store, &query("g", "T", 5)).unwrap();
    assert_eq!(r.ext_field("offset"), Some("0"));

    let r = update_consumer_offset(&offsets, "127.0.0.1:1", &update("g", "T", 0, 2)).unwrap();
    assert_eq!(
        (r.code, r.ext_fields.clone()),
        (resp::SUCCESS, Some(Default::default()))
    );
    let r = query_consumer_offset(&offsets, &store, &query("g", "T", 0)).unwrap();
    assert_eq!(r.ext_field("offset"), Some("2"));

    offsets.persist().unwrap();
    let text = std::fs::read_to_string(root.join("config/consumerOffset.json")).unwrap();
    assert!(text.contains("\"T@g\":{0:2\n"), "{text}");
    let reopened = ConsumerOffsetManager::open(&root).unwrap();
    let r = query_consumer_offset(&reopened, &store, &query("g", "T", 0)).unwrap();
    assert_eq!(r.ext_field("offset"), Some("2"));
    store.shutdown().unwrap();
}

#[test]
fn queue_offsets_and_times() {
    let dir = TempDir::new("offset-queue");
    let store = open_store(&dir);
    put(&store, "T", 1, 4);
    let header = |code| {
        RemotingCommand::request_without_header(code)
            .with_ext_field("topic", "T")
            .with_ext_field("queueId", "1")
    };
    let max = get_max_offset(&store, &header(req::GET_MAX_OFFSET)).unwrap();
    assert_eq!(max.ext_field("offset"), Some("4"));
    let min = get_min_offset(&store, &header(req::GET_MIN_OFFSET)).unwrap();
    assert_eq!(min.ext_field("offset"), Some("0"));
    let earliest =
        get_earliest_msg_storetime(&store, &header(req::GET_EARLIEST_MSG_STORETIME)).unwrap();
    let first_time = store.message_store_timestamp("T", 1, 0);
    assert!(first_time > 0);
    assert_eq!(
        earliest.ext_field("timestamp"),
        Some(first_time.to_string().as_str())
    );
    let search = header(req::SEARCH_OFFSET_BY_TIMESTAMP).with_ext_field("timestamp", "0");
    let r = search_offset_by_timestamp(&store, &search).unwrap();
    assert_eq!(r.ext_field("offset"), Some("0"));

    // Unknown queue: Java's answers (max 0, min 0, earliest -1).
    let unknown = |code| {
        RemotingCommand::request_without_header(code)
            .with_ext_field("topic", "Nope")
            .with_ext_field("queueId", "0")
    };
    assert_eq!(
        get_max_offset(&store, &unknown(req::GET_MAX_OFFSET))
            .unwrap()
            .ext_field("offset"),
        Some("0")
    );
    assert_eq!(
        get_min_offset(&store, &unknown(req::GET_MIN_OFFSET))
            .unwrap()
            .ext_field("offset"),
        Some("0")
    );
    assert_eq!(
        get_earliest_msg_storetime(&store, &unknown(req::GET_EARLIEST_MSG_STORETIME))
            .unwrap()
            .ext_field("timestamp"),
        Some("-1")
    );
    // Missing queueId: Java's "custom field is null" failure.
    let bad =
        RemotingCommand::request_without_header(req::GET_MAX_OFFSET).with_ext_field("topic", "T");
    assert_eq!(
        get_max_offset(&store, &bad).unwrap_err(),
        Refusal::system_error("the custom field <queueId> is null")
    );
    store.shutdown().unwrap();
}
