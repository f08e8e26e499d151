use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use remoting_codec::message::record::decode_records;
use remoting_codec::message::{MessageProperties, StoredMessage};
use remoting_codec::protocol::common::SubscriptionData;
use remoting_codec::protocol::consumer_admin::{ConsumeFromWhere, ConsumeType, MessageModel};
use remoting_codec::LanguageCode;
use store::{MessageStoreConfig, StoreOptions};

use super::*;
use crate::client::{ClientChannelInfo, ConnectionId};
use crate::config::BrokerConfig;
use crate::consumer_filter::{CalcBitMap, ConsumerFilterManager};
use crate::test_util::TempDir;

/// The store time of every put is whatever this says.
struct Fixture {
    store: MessageStore,
    clock: Arc<AtomicI64>,
    _dir: TempDir,
}

/// A store whose clock starts at an arbitrary instant; tests move it with `at`.
const T0: i64 = 1_700_000_000_000;

fn fixture(name: &str, tune: impl FnOnce(&mut MessageStoreConfig)) -> Fixture {
    let dir = TempDir::new(name);
    let clock = Arc::new(AtomicI64::new(T0));
    let mut config = MessageStoreConfig {
        store_path_root_dir: dir.path().join("store"),
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 50 * 20,
        max_hash_slot_num: 100,
        max_index_num: 400,
        ..Default::default()
    };
    tune(&mut config);
    let c = clock.clone();
    let store = MessageStore::open_with(
        config,
        StoreOptions {
            clock: Arc::new(move || c.load(Ordering::SeqCst)),
            ..crate::test_util::store_options()
        },
    )
    .unwrap();
    Fixture {
        store,
        clock,
        _dir: dir,
    }
}

impl Fixture {
    /// Puts one message with `keys` and `uniq` at store time `at`; returns its commitlog offset.
    fn put(&self, topic: &str, queue_id: i32, keys: &str, uniq: &str, at: i64) -> i64 {
        self.clock.store(at, Ordering::SeqCst);
        let mut properties = MessageProperties::new();
        properties.insert("KEYS", keys);
        properties.insert("UNIQ_KEY", uniq);
        properties.insert("TAGS", "q");
        let msg = StoredMessage {
            topic: topic.to_owned(),
            queue_id,
            body: format!("body of {uniq}").into_bytes().into(),
            born_host: "127.0.0.1:40000".parse().unwrap(),
            store_host: "127.0.0.1:10911".parse().unwrap(),
            born_timestamp: at - 1,
            properties,
            ..Default::default()
        };
        let r = self.store.put_message(msg);
        assert!(r.is_ok());
        self.store.wait_dispatched().unwrap();
        r.append.unwrap().wrote_offset
    }
}

fn query(topic: &str, key: &str, max_num: i32, begin: i64, end: i64) -> RemotingCommand {
    RemotingCommand::request(
        req::QUERY_MESSAGE,
        &QueryMessageRequestHeader {
            topic: topic.into(),
            key: key.into(),
            max_num,
            begin_timestamp: begin,
            end_timestamp: end,
        },
    )
}

/// `(UNIQ_KEY, store time, commitlog offset)` of each record of a body, in body order.
fn records(body: &[u8]) -> Vec<(String, i64, i64)> {
    decode_records(&bytes::Bytes::copy_from_slice(body))
        .map(|m| {
            let m = m.unwrap();
            (
                m.properties.get("UNIQ_KEY").unwrap().to_owned(),
                m.store_timestamp,
                m.commit_log_offset,
            )
        })
        .collect()
}

fn uniqs(body: &[u8]) -> Vec<String> {
    records(body).into_iter().map(|r| r.0).collect()
}

/// Five messages "K A" … one second apart; the three with the key "EVEN" at 0, 2, 4 s.
fn five(f: &Fixture) -> Vec<i64> {
    (0..5)
        .map(|i| {
            let keys = if i % 2 == 0 {
                format!("K-{i} ALL EVEN")
            } else {
                format!("K-{i} ALL")
            };
            f.put("T", i % 2, &keys, &format!("U{i}"), T0 + i as i64 * 1000)
        })
        .collect()
}

#[test]
fn query_by_key_answers_the_records_ascending_with_the_index_state() {
    let f = fixture("query-key", |_| {});
    let offsets = five(&f);
    let r = query_message(&f.store, &query("T", "ALL", 32, 0, i64::MAX)).unwrap();
    assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
    let found = records(&r.body);
    assert_eq!(
        found,
        (0..5)
            .map(|i| (format!("U{i}"), T0 + i * 1000, offsets[i as usize]))
            .collect::<Vec<_>>()
    );
    // The body is the stored records themselves, concatenated.
    let stored: Vec<u8> = offsets
        .iter()
        .flat_map(|&o| f.store.select_one_message_by_offset(o).unwrap().to_vec())
        .collect();
    assert_eq!(r.body.as_ref(), stored.as_slice());
    // The index's newest entry: the last message's store time and offset.
    assert_eq!(
        r.ext_field("indexLastUpdateTimestamp"),
        Some((T0 + 4000).to_string().as_str())
    );
    assert_eq!(
        r.ext_field("indexLastUpdatePhyoffset"),
        Some(offsets[4].to_string().as_str())
    );
    // One key of one message; another topic's index is separate.
    let r = query_message(&f.store, &query("T", "K-3", 32, 0, i64::MAX)).unwrap();
    assert_eq!(uniqs(&r.body), ["U3"]);
    let r = query_message(&f.store, &query("Other", "K-3", 32, 0, i64::MAX)).unwrap();
    assert_eq!(r.code, resp::QUERY_NOT_FOUND);
}

#[test]
fn the_time_range_bounds_the_index_times() {
    let f = fixture("query-range", |_| {});
    five(&f);
    let q = |begin, end| {
        let r = query_message(&f.store, &query("T", "ALL", 32, begin, end)).unwrap();
        (r.code == resp::SUCCESS).then(|| uniqs(&r.body))
    };
    assert_eq!(q(T0 + 1000, T0 + 3000).unwrap(), ["U1", "U2", "U3"]);
    assert_eq!(q(T0 + 3000, i64::MAX).unwrap(), ["U3", "U4"]);
    assert_eq!(q(0, T0).unwrap(), ["U0"]);
    // Between two messages' seconds, and after the last one.
    assert_eq!(q(T0 + 1001, T0 + 1999), None);
    assert_eq!(q(T0 + 4001, i64::MAX), None);
    // An inverted range finds nothing.
    assert_eq!(q(T0 + 3000, T0 + 1000), None);
}

#[test]
fn max_num_keeps_the_newest_and_is_capped_by_max_msgs_num_batch() {
    let f = fixture("query-max", |c| c.max_msgs_num_batch = 3);
    five(&f);
    // The index is walked newest first: maxNum 2 keeps U3 and U4, answered ascending.
    let r = query_message(&f.store, &query("T", "ALL", 2, 0, i64::MAX)).unwrap();
    assert_eq!(uniqs(&r.body), ["U3", "U4"]);
    // maxNum 32 is capped at maxMsgsNumBatch (3 here).
    let r = query_message(&f.store, &query("T", "ALL", 32, 0, i64::MAX)).unwrap();
    assert_eq!(uniqs(&r.body), ["U2", "U3", "U4"]);
    // maxNum 0 finds nothing: QUERY_NOT_FOUND, and the index state is not reported.
    let r = query_message(&f.store, &query("T", "ALL", 0, 0, i64::MAX)).unwrap();
    assert_eq!(r.code, resp::QUERY_NOT_FOUND);
    assert_eq!(r.ext_field("indexLastUpdateTimestamp"), Some("0"));
}

#[test]
fn unique_key_query_forces_default_query_max_num() {
    let f = fixture("query-uniq", |c| c.default_query_max_num = 2);
    // Three records carry the same UNIQ_KEY (a message and its copies, e.g. retries).
    for i in 0..3 {
        f.put("T", 0, &format!("copy-{i}"), "SAME", T0 + i * 1000);
    }
    let uniq = |max_num, flag: Option<&str>| {
        let mut r = query("T", "SAME", max_num, 0, i64::MAX);
        if let Some(flag) = flag {
            r = r.with_ext_field(UNIQUE_KEY_QUERY, flag);
        }
        query_message(&f.store, &r).unwrap()
    };
    // With the flag, the header's maxNum (1, even -1) is replaced by defaultQueryMaxNum (2).
    assert_eq!(records(&uniq(1, Some("true")).body).len(), 2);
    assert_eq!(records(&uniq(-1, Some("true")).body).len(), 2);
    // Without it (or with another value) the header's maxNum holds.
    assert_eq!(records(&uniq(1, None).body).len(), 1);
    assert_eq!(records(&uniq(1, Some("false")).body).len(), 1);
    assert_eq!(records(&uniq(32, Some("TRUE")).body).len(), 3);
}

#[test]
fn nothing_found_is_query_not_found_with_javas_remark() {
    let f = fixture("query-none", |_| {});
    // An empty index: zeros in the header.
    let r = query_message(&f.store, &query("T", "nope", 32, 0, i64::MAX)).unwrap();
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (
            resp::QUERY_NOT_FOUND,
            Some("can not find message, maybe time range not correct")
        )
    );
    assert_eq!(r.ext_field("indexLastUpdateTimestamp"), Some("0"));
    assert_eq!(r.ext_field("indexLastUpdatePhyoffset"), Some("0"));
    assert!(r.body.is_empty());
    // A filled index, an unknown key: still zeros (Java reports the state only with a hit).
    five(&f);
    let r = query_message(&f.store, &query("T", "nope", 32, 0, i64::MAX)).unwrap();
    assert_eq!(r.code, resp::QUERY_NOT_FOUND);
    assert_eq!(r.ext_field("indexLastUpdatePhyoffset"), Some("0"));
}

#[test]
fn bad_query_headers_get_javas_system_error() {
    let f = fixture("query-bad", |_| {});
    five(&f);
    let without = |field: &str| {
        let mut r = query("T", "ALL", 32, 0, i64::MAX);
        r.ext_fields.as_mut().unwrap().remove(field);
        query_message(&f.store, &r).unwrap_err()
    };
    for field in ["topic", "key", "maxNum", "beginTimestamp", "endTimestamp"] {
        assert_eq!(
            without(field),
            Refusal::system_error(format!("the custom field <{field}> is null"))
        );
    }
    let r = query("T", "ALL", 32, 0, 0).with_ext_field("maxNum", "many");
    let e = query_message(&f.store, &r).unwrap_err();
    assert_eq!(e.code, resp::SYSTEM_ERROR);
    let e = query_message(&f.store, &query("T", "ALL", -1, 0, i64::MAX)).unwrap_err();
    assert_eq!(
        e,
        Refusal::system_error("java.lang.IllegalArgumentException: Illegal Capacity: -1")
    );
}

fn view(offset: i64) -> RemotingCommand {
    RemotingCommand::request(
        req::VIEW_MESSAGE_BY_ID,
        &ViewMessageRequestHeader {
            topic: None,
            offset,
        },
    )
}

#[test]
fn view_message_by_id_answers_one_record_or_javas_error() {
    let f = fixture("query-view", |_| {});
    let offsets = five(&f);
    let r = view_message_by_id(&f.store, &view(offsets[3])).unwrap();
    assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
    assert!(r.ext_fields.is_none());
    assert_eq!(records(&r.body), [("U3".into(), T0 + 3000, offsets[3])]);
    let end = f.store.max_phy_offset();
    for bad in [end, end + 1000, -1, 1 << 40] {
        assert_eq!(
            view_message_by_id(&f.store, &view(bad)).unwrap_err(),
            Refusal::system_error(format!("can not find message by the offset, {bad}"))
        );
    }
    let missing = RemotingCommand::request_without_header(req::VIEW_MESSAGE_BY_ID);
    assert_eq!(
        view_message_by_id(&f.store, &missing).unwrap_err(),
        Refusal::system_error("the custom field <offset> is null")
    );
}

fn topics_with(dir: &TempDir, topic: &str, queues: i32) -> TopicConfigManager {
    let topics = TopicConfigManager::new(&BrokerConfig::default(), dir.path());
    let mut config = remoting_codec::protocol::common::TopicConfig::new(topic);
    config.read_queue_nums = queues;
    config.write_queue_nums = queues;
    topics.update_topic_config(config);
    topics
}

fn time_span(group: &str, topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        req::QUERY_CONSUME_TIME_SPAN,
        &QueryConsumeTimeSpanRequestHeader {
            topic: topic.into(),
            group: group.into(),
        },
    )
}

#[test]
fn consume_time_span_per_write_queue() {
    let f = fixture("query-span", |_| {});
    five(&f); // queue 0: U0 U2 U4 (0, 2, 4 s); queue 1: U1 U3 (1, 3 s)
    let dir = TempDir::new("query-span-cfg");
    let topics = topics_with(&dir, "T", 3);
    let offsets = ConsumerOffsetManager::new(dir.path());
    offsets.commit_offset("127.0.0.1:1", "g", "T", 0, 1);
    offsets.commit_offset("127.0.0.1:1", "g", "T", 1, 2);
    let now = T0 + 60_000;
    let r = query_consume_time_span(
        &topics,
        &offsets,
        &f.store,
        "broker-a",
        now,
        &time_span("g", "T"),
    )
    .unwrap();
    assert_eq!(r.code, resp::SUCCESS);
    let body: QueryConsumeTimeSpanBody = fastjson::from_slice(&r.body).unwrap();
    let got: Vec<_> = body
        .consume_time_span_set
        .iter()
        .map(|s| {
            let mq = s.message_queue.as_ref().unwrap();
            assert_eq!(
                (mq.topic.as_str(), mq.broker_name.as_str()),
                ("T", "broker-a")
            );
            (
                mq.queue_id,
                s.min_time_stamp,
                s.max_time_stamp,
                s.consume_time_stamp,
                s.delay_time,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            // Consumed U0 (offset 1): next is U2, stored 2 s after T0.
            (0, T0, T0 + 4000, T0, now - (T0 + 2000)),
            // Consumed everything: no delay.
            (1, T0 + 1000, T0 + 3000, T0 + 3000, 0),
            // An empty queue: −1 everywhere; offset −1 < max 0 → now − (−1).
            (2, -1, -1, -1, now + 1),
        ]
    );
    // Java's `…TimeStampStr` getters are written too.
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(text.contains("\"minTimeStampStr\":\"") && text.contains("\"delayTime\":"));

    // A group without offsets: consume time = the first message's; delayed since it.
    let r = query_consume_time_span(
        &topics,
        &offsets,
        &f.store,
        "b",
        now,
        &time_span("new", "T"),
    )
    .unwrap();
    let body: QueryConsumeTimeSpanBody = fastjson::from_slice(&r.body).unwrap();
    let q0 = &body.consume_time_span_set[0];
    assert_eq!((q0.consume_time_stamp, q0.delay_time), (T0, now + 1));

    let e = query_consume_time_span(&topics, &offsets, &f.store, "b", now, &time_span("g", "X"))
        .unwrap_err();
    assert_eq!(e, Refusal::new(resp::TOPIC_NOT_EXIST, "topic[X] not exist"));
    let missing = RemotingCommand::request_without_header(req::QUERY_CONSUME_TIME_SPAN)
        .with_ext_field("topic", "T");
    assert_eq!(
        query_consume_time_span(&topics, &offsets, &f.store, "b", now, &missing).unwrap_err(),
        Refusal::system_error("the custom field <group> is null")
    );
}

fn cq_request(
    topic: &str,
    queue_id: i32,
    index: i64,
    count: i32,
    group: Option<&str>,
) -> RemotingCommand {
    RemotingCommand::request(
        req::QUERY_CONSUME_QUEUE,
        &QueryConsumeQueueRequestHeader {
            topic: Some(topic.into()),
            queue_id,
            index,
            count,
            consumer_group: group.map(Into::into),
        },
    )
}

#[test]
fn consume_queue_entries_subscription_and_refusals() {
    let f = fixture("query-cq", |_| {});
    let offsets = five(&f);
    let consumers = ConsumerManager::new();
    let filters = Arc::new(ConsumerFilterManager::new(f._dir.path(), 1000));
    let sub = SubscriptionData {
        topic: Some("T".into()),
        sub_string: Some("q".into()),
        tags_set: vec!["q".into()],
        code_set: vec![113],
        sub_version: 7,
        expression_type: Some("TAG".into()),
        ..Default::default()
    };
    consumers.register_consumer(
        "online",
        ClientChannelInfo::new(
            ConnectionId(1),
            "c1",
            LanguageCode::Java,
            409,
            "127.0.0.1:1",
            T0,
        ),
        ConsumeType::ConsumePassively,
        MessageModel::Clustering,
        ConsumeFromWhere::ConsumeFromLastOffset,
        std::slice::from_ref(&sub),
        T0,
    );

    // Queue 0 holds U0, U2, U4; two entries from index 1.
    let r = query_consume_queue(
        &f.store,
        &consumers,
        &filters,
        &cq_request("T", 0, 1, 2, None),
    )
    .unwrap();
    assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
    let body: QueryConsumeQueueResponseBody = fastjson::from_slice(&r.body).unwrap();
    assert_eq!((body.min_queue_index, body.max_queue_index), (0, 3));
    assert_eq!((body.subscription_data, body.filter_data), (None, None));
    let entries: Vec<_> = body
        .queue_data
        .unwrap()
        .into_iter()
        .map(|d| (d.physic_offset, d.tags_code, d.eval, d.physic_size > 0))
        .collect();
    let q = remoting_codec::message::java_string_hash_code("q") as i64;
    assert_eq!(
        entries,
        [(offsets[2], q, false, true), (offsets[4], q, false, true)]
    );

    // With an online group: its subscription and "null" filter data; an offline one.
    let r = query_consume_queue(
        &f.store,
        &consumers,
        &filters,
        &cq_request("T", 0, 0, 10, Some("online")),
    )
    .unwrap();
    let body: QueryConsumeQueueResponseBody = fastjson::from_slice(&r.body).unwrap();
    assert_eq!(body.subscription_data, Some(sub));
    assert_eq!(body.filter_data.as_deref(), Some("null"));
    assert_eq!(body.queue_data.unwrap().len(), 3);
    let r = query_consume_queue(
        &f.store,
        &consumers,
        &filters,
        &cq_request("T", 0, 0, 0, Some("gone")),
    )
    .unwrap();
    let body: QueryConsumeQueueResponseBody = fastjson::from_slice(&r.body).unwrap();
    assert_eq!(body.filter_data.as_deref(), Some("gone@T is not online!"));
    assert_eq!(body.queue_data, Some(vec![]));

    // An index past the end: SUCCESS with Java's remark and no body.
    let r = query_consume_queue(
        &f.store,
        &consumers,
        &filters,
        &cq_request("T", 0, 3, 1, None),
    )
    .unwrap();
    assert_eq!(
        (r.code, r.remark.as_deref(), r.body.is_empty()),
        (resp::SUCCESS, Some("Index 3 of 0@T is not exist!"), true)
    );
    // No such consume queue.
    let e = query_consume_queue(
        &f.store,
        &consumers,
        &filters,
        &cq_request("T", 7, 0, 1, None),
    )
    .unwrap_err();
    assert_eq!(e, Refusal::system_error("7@T is not exist!"));
    let no_topic = RemotingCommand::request_without_header(req::QUERY_CONSUME_QUEUE);
    assert_eq!(
        query_consume_queue(&f.store, &consumers, &filters, &no_topic)
            .unwrap_err()
            .code,
        resp::SYSTEM_ERROR
    );
}

#[test]
fn consume_queue_ext_units_bitmaps_and_eval() {
    let f = fixture("query-cq-ext", |c| c.enable_consume_queue_ext = true);
    let filters = Arc::new(ConsumerFilterManager::new(f._dir.path(), 1000));
    assert!(filters.register("T", "sqlg", "UNIQ_KEY = 'U2'", Some("SQL92"), 1, T0 - 1));
    f.store
        .set_filter_bit_map_calculator(Arc::new(CalcBitMap::new(filters.clone(), true)));
    let offsets = five(&f);
    let consumers = ConsumerManager::new();
    let sub = SubscriptionData {
        topic: Some("T".into()),
        sub_string: Some("UNIQ_KEY = 'U2'".into()),
        sub_version: 1,
        expression_type: Some("SQL92".into()),
        ..Default::default()
    };
    consumers.register_consumer(
        "sqlg",
        ClientChannelInfo::new(
            ConnectionId(1),
            "c1",
            LanguageCode::Java,
            409,
            "127.0.0.1:1",
            T0,
        ),
        ConsumeType::ConsumePassively,
        MessageModel::Clustering,
        ConsumeFromWhere::ConsumeFromLastOffset,
        std::slice::from_ref(&sub),
        T0,
    );
    let r = query_consume_queue(
        &f.store,
        &consumers,
        &filters,
        &cq_request("T", 0, 0, 10, Some("sqlg")),
    )
    .unwrap();
    let body: QueryConsumeQueueResponseBody = fastjson::from_slice(&r.body).unwrap();
    let data = filters.get("T", "sqlg").unwrap();
    assert_eq!(
        body.filter_data.unwrap(),
        fastjson::to_string_pretty(&data.to_json()).unwrap()
    );
    let q = remoting_codec::message::java_string_hash_code("q") as i64;
    let bloom = *filters.bloom_filter();
    let mut u2_bits = bloom.new_bits();
    bloom
        .hash_to_data(data.bloom_filter_data.as_ref().unwrap(), &mut u2_bits)
        .unwrap();
    let zero = bloom.new_bits();
    let entries = body.queue_data.unwrap();
    assert_eq!(entries.len(), 3);
    for (i, e) in entries.iter().enumerate() {
        assert!(store::is_ext_addr(e.tags_code), "the stored address");
        assert_eq!(e.physic_offset, offsets[2 * i]);
        let bits = if i == 1 { &u2_bits } else { &zero };
        let bytes = bits.clone().into_bytes();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        assert_eq!(
            e.extend_data_json.as_deref().unwrap(),
            format!(
                "{{\"filterBitMap\":\"{b64}\",\"msgStoreTime\":{},\"size\":34,\"tagsCode\":{q}}}",
                T0 + 2000 * i as i64
            )
        );
        assert_eq!(e.bit_map.as_deref(), Some(bits.to_string().as_str()));
        assert_eq!(e.eval, i == 1, "the bloom pre-filter of sqlg");
        assert_eq!(e.msg, None);
    }
}

#[test]
fn java_date_string_has_javas_shape() {
    let s = java_date_string(T0 + 123);
    assert_eq!(s.len(), "yyyy-MM-dd#HH:mm:ss:SSS".len(), "{s}");
    assert_eq!(
        (&s[4..5], &s[10..11], &s[19..20], &s[20..]),
        ("-", "#", ":", "123")
    );
    assert!(java_date_string(-1).ends_with(":59:999"));
}
