//! A client's own query and admin calls (the `admin` command of a client program) against our
//! broker and name server, checked against what was produced and consumed.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::check::{bodies, deliveries, Delivery};
use crate::client::{Clients, PHASE_TIMEOUT};
use crate::consumer_calls::wait_committed_to_end;
use crate::scenarios::{push_consumer, serial, start, wait_all_received, QUEUES, TAGS, TOPIC};

const GROUP: &str = "RsCompatAdminGroup";
const CREATED_TOPIC: &str = "RsCompatCreatedTopic";
/// Messages of each of the two batches.
const BATCH: u64 = 200;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// Runs the producer and returns its `sent` events (queue id and offset of each message).
fn produce_batch(cluster: &crate::Cluster, client: Clients, start: u64) -> Vec<Delivery> {
    let args = [
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", "RsCompatAdminProducer".to_owned()),
        ("count", BATCH.to_string()),
        ("start", start.to_string()),
        ("tags", TAGS.join(",")),
    ];
    let home = cluster.client_home("producer");
    let mut producer = client.spawn("producer", &home, "produce", &args);
    producer.wait_until("summary", PHASE_TIMEOUT, |p| p.count("summary") > 0);
    producer.finish_ok(Duration::from_secs(60));
    assert_eq!(producer.count("error"), 0, "{}", producer.diagnostics());
    deliveries(&producer.events("sent"))
}

/// Two batches of 200 messages, at least 2 s apart, consumed by a push consumer of
/// [`GROUP`] that commits everything; then the client's admin calls:
/// - GET_MAX_OFFSET of every queue: the number of messages sent to it;
/// - SEARCH_OFFSET_BY_TIMESTAMP: 0 for timestamp 0, and for the store time of the first
///   message of batch 2 in a queue (read through the index), that message's offset;
/// - QUERY_CONSUMER_OFFSET: the committed offsets, each queue's end;
/// - GET_CONSUMER_LIST_BY_GROUP: the live consumer's client id, as the broker lists it;
/// - UPDATE_AND_CREATE_TOPIC of a 4-queue topic, which the name server then routes;
/// - GET_KV_CONFIG_BY_VALUE (217, ali-ons' project-group lookup) on the name server: a code
///   4.9.8 does not know, REQUEST_CODE_NOT_SUPPORTED.
pub fn client_admin_calls(client: Clients, name: &str) {
    let _serial = serial();
    let cluster = start(name);
    let mut consumer = push_consumer(&cluster, client, "consumer", GROUP, &[]);
    let first = produce_batch(&cluster, client, 0);
    // The batches far apart in time, so that a search for a batch-2 store time cannot land
    // on a batch-1 message.
    let end_first = now_ms();
    while now_ms() < end_first + 2_000 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = produce_batch(&cluster, client, BATCH);
    wait_all_received(&mut [&mut consumer], &bodies(0, 2 * BATCH));
    wait_committed_to_end(&cluster, GROUP, &mut consumer);

    let count = |sent: &[Delivery], q: i64| sent.iter().filter(|d| d.queue_id == q).count() as i64;
    // Per queue: the store time of its first batch-2 message.
    let mut stamps: BTreeMap<i64, i64> = BTreeMap::new();
    for q in 0..QUEUES as i64 {
        let d = second
            .iter()
            .filter(|d| d.queue_id == q)
            .min_by_key(|d| d.queue_offset)
            .unwrap_or_else(|| panic!("no batch-2 message in queue {q}"));
        assert_eq!(d.queue_offset, count(&first, q), "{d:?}");
        let stored = cluster.messages_by_key(TOPIC, &d.keys);
        assert_eq!(stored.len(), 1, "messages with key {}", d.keys);
        stamps.insert(q, stored[0].store_timestamp);
    }
    let search: Vec<String> = std::iter::once("0".to_owned())
        .chain(stamps.values().map(i64::to_string))
        .collect();
    let args = [
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", GROUP.to_owned()),
        ("search", search.join(",")),
        ("create-topic", CREATED_TOPIC.to_owned()),
    ];
    let mut admin = client.spawn("admin", &cluster.client_home("admin"), "admin", &args);
    admin.wait_until("admin event", PHASE_TIMEOUT, |p| p.count("admin") > 0);
    admin.finish_ok(Duration::from_secs(60));
    let a = admin.events("admin").remove(0);
    let ids = cluster.consumer_ids(GROUP);
    consumer.finish_ok(Duration::from_secs(60));

    let per_queue = |v: &Value| -> Vec<Value> {
        v.as_array()
            .unwrap_or_else(|| panic!("not a list: {v} in {a}"))
            .clone()
    };
    let ends: Vec<Value> = (0..QUEUES as i64)
        .map(|q| (count(&first, q) + count(&second, q)).into())
        .collect();
    assert_eq!(per_queue(&a["maxOffsets"]), ends, "getMaxOffset: {a}");
    for q in 0..QUEUES {
        assert_eq!(
            a["maxOffsets"][q as usize],
            cluster.max_offset(TOPIC, q),
            "{a}"
        );
    }
    assert_eq!(
        per_queue(&a["searches"]["0"]),
        vec![Value::from(0); QUEUES as usize],
        "searchOffset(0): {a}"
    );
    for (q, ts) in &stamps {
        assert_eq!(
            a["searches"][ts.to_string()][*q as usize],
            count(&first, *q),
            "searchOffset(store time of queue {q}'s first batch-2 message, {ts}): {a}"
        );
    }
    assert_eq!(
        per_queue(&a["consumerOffsets"]),
        ends,
        "queryConsumerOffset: {a}"
    );
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        a["consumerIds"],
        Value::from(ids.clone()),
        "getConsumerIdListByGroup: {a}"
    );
    assert_eq!(a["created"], "ok", "createTopic: {a}");
    cluster.wait_route(CREATED_TOPIC, |r| {
        r.queue_datas.iter().any(|q| q.write_queue_nums == 4)
    });
    assert_eq!(
        a["kv"]["error"]["code"],
        remoting_codec::code::response::REQUEST_CODE_NOT_SUPPORTED,
        "getKVConfigByValue: {a}"
    );
}

/// crates.io `rocketmq-client-rust`'s `DefaultMQAdminExt` (the `admin` command of its program)
/// against our broker, after 400 messages were consumed and committed by a live push consumer
/// of [`GROUP`]:
/// - GET_MAX_OFFSET / GET_MIN_OFFSET / SEARCH_OFFSET_BY_TIMESTAMP(0) of every queue;
/// - GET_TOPIC_STATS_INFO (examine_topic_stats): the same min/max per queue, and
///   GET_CONSUME_STATS (examine_consume_stats): eight queues, nothing left to consume — but
///   the crate cannot decode either 4.9.8 body (see below);
/// - QUERY_TOPIC_CONSUME_BY_WHO: the group; GET_CONSUMER_CONNECTION_LIST: its live client;
/// - GET_BROKER_CONFIG, UPDATE_BROKER_CONFIG (flushIntervalCommitLog) and the new value read
///   back; VIEW_BROKER_STATS_DATA (TOPIC_PUT_NUMS of the topic) answered.
pub fn admin_ext_calls(client: Clients, name: &str) {
    let _serial = serial();
    let cluster = start(name);
    let mut consumer = push_consumer(&cluster, client, "consumer", GROUP, &[]);
    let sent = produce_batch(&cluster, client, 0);
    wait_all_received(&mut [&mut consumer], &bodies(0, BATCH));
    wait_committed_to_end(&cluster, GROUP, &mut consumer);
    let args = [
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", GROUP.to_owned()),
        ("broker", cluster.broker.addr().to_string()),
        ("broker-name", cluster.broker.settings.broker_name.clone()),
        ("queues", QUEUES.to_string()),
    ];
    let mut admin = client.spawn("admin", &cluster.client_home("admin"), "admin", &args);
    admin.wait_until("admin event", PHASE_TIMEOUT, |p| p.count("admin") > 0);
    admin.finish_ok(Duration::from_secs(60));
    let a = admin.events("admin").remove(0);
    let ids = cluster.consumer_ids(GROUP);
    consumer.finish_ok(Duration::from_secs(60));

    let ends: Vec<i64> = (0..QUEUES as i64)
        .map(|q| sent.iter().filter(|d| d.queue_id == q).count() as i64)
        .collect();
    assert_eq!(
        a["maxOffsets"],
        Value::from(ends.clone()),
        "max_offset: {a}"
    );
    let zeros = Value::from(vec![0; QUEUES as usize]);
    assert_eq!(a["minOffsets"], zeros, "min_offset: {a}");
    assert_eq!(a["search0"], zeros, "search_offset(0): {a}");
    // The crate's TopicStatsTable and OffsetWrapper require 5.x-only fields (`topicPutTps`,
    // `pullOffset`, no serde default): the bodies of a 4.9.8 broker, Java's as ours, fail its
    // decoding ("Serialization failed"). Checked when they decode, else that exact failure.
    let stats: Vec<Value> = ends
        .iter()
        .enumerate()
        .map(|(q, end)| Value::from(vec![q as i64, 0, *end]))
        .collect();
    if a["topicStats"].get("error").is_none() {
        assert_eq!(
            a["topicStats"]["queues"],
            Value::from(stats),
            "examine_topic_stats (queue, min, max): {a}"
        );
    } else {
        assert_client_decoding_failure(&a["topicStats"], &a);
    }
    if a["consumeStats"].get("error").is_none() {
        assert_eq!(
            (
                &a["consumeStats"]["queues"],
                &a["consumeStats"]["totalDiff"]
            ),
            (&Value::from(QUEUES), &Value::from(0)),
            "examine_consume_stats: {a}"
        );
    } else {
        assert_client_decoding_failure(&a["consumeStats"], &a);
    }
    assert_eq!(a["consumeByWho"], Value::from(vec![GROUP]), "{a}");
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(a["connections"], Value::from(ids), "{a}");
    assert_eq!(
        a["config"]["brokerName"],
        cluster.broker.settings.broker_name.as_str(),
        "get_broker_config: {a}"
    );
    assert_ne!(a["config"]["flushIntervalCommitLog"], "777", "{a}");
    assert_eq!(a["updated"], "ok", "update_broker_config: {a}");
    assert_eq!(a["configAfter"], "777", "the updated value read back: {a}");
    assert!(
        a["stats"].is_string(),
        "view_broker_stats_data answered: {a}"
    );
}

fn assert_client_decoding_failure(outcome: &Value, all: &Value) {
    assert_eq!(
        outcome["error"], "core.serialization.failed: Serialization failed",
        "{all}"
    );
}
