//! 5.x timer messages with a registry client: sends with the client's own calls
//! (`set_delay_time_sec`, `set_delay_time_ms`, `set_deliver_time_ms`: TIMER_DELAY_SEC,
//! TIMER_DELAY_MS, TIMER_DELIVER_MS), consumed by a push consumer; each copy received no
//! earlier than its time and the first within the precision plus a load allowance, across a
//! kill -9 and a clean restart of the broker with timers pending.
//!
//! Times are compared on one machine's clock: `deliverMs` is the time the producer asked for
//! (read just before the send, so the broker's own base is a little later) and `receivedAt`
//! the consumer's clock at the listener.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::check::bodies;
use crate::client::{ClientProcess, Clients, PHASE_TIMEOUT};
use crate::cluster::Cluster;
use crate::scenarios::{push_consumer, serial, start, wait_all_received, TOPIC};

/// `timerPrecisionMs` (the default).
const PRECISION_MS: i64 = 1000;
/// Lateness allowed beyond the precision on a loaded 2-core machine.
const LOAD_ALLOWANCE_MS: i64 = 10_000;
/// A consumer's extra lateness after a broker restart: its pulls fail and back off until the
/// broker is back, then it reconnects.
const RESTART_ALLOWANCE_MS: i64 = 60_000;

/// Sends messages `start..start + timers.len()` with the `--timer` entries; body → deliverMs.
fn produce_timers(
    cluster: &Cluster,
    client: Clients,
    start: u64,
    timers: &[&str],
) -> BTreeMap<String, i64> {
    let args = vec![
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", "RsCompatTimerProducer".to_owned()),
        ("count", timers.len().to_string()),
        ("start", start.to_string()),
        ("timer", timers.join(",")),
    ];
    let home = cluster.client_home("producer");
    let mut producer = client.spawn("producer", &home, "produce", &args);
    producer.wait_until("summary", PHASE_TIMEOUT, |p| p.count("summary") > 0);
    producer.finish_ok(Duration::from_secs(60));
    let sent = producer.events("sent");
    assert_eq!(sent.len(), timers.len(), "{}", producer.diagnostics());
    sent.iter()
        .map(|e| {
            let body = e["body"].as_str().unwrap().to_owned();
            let due = e["deliverMs"]
                .as_i64()
                .unwrap_or_else(|| panic!("no deliverMs: {e}"));
            (body, due)
        })
        .collect()
}

/// Broker side: every copy stored in the topic (QUERY_MESSAGE by key) no earlier than its
/// time, the first within the precision plus the load allowance. Consumer side: every copy
/// received no earlier than its time, the first within `consumer_allowance_ms` (after a broker
/// restart the client's pulls back off and reconnect, which the broker does not control); each
/// with the timer properties and its real topic.
fn assert_on_time(
    cluster: &Cluster,
    consumer: &ClientProcess,
    due: &BTreeMap<String, i64>,
    consumer_allowance_ms: i64,
) {
    let mut failures = Vec::new();
    for (body, at) in due {
        let key = body.replace("msg-", "key-");
        let stored = cluster.messages_by_key(TOPIC, &key);
        assert!(!stored.is_empty(), "{body} not stored in {TOPIC}");
        let first = stored.iter().map(|m| m.store_timestamp).min().unwrap();
        for m in &stored {
            assert!(
                m.store_timestamp >= *at,
                "{body} stored {} ms early",
                at - m.store_timestamp
            );
            assert!(
                m.properties.contains_key("TIMER_OUT_MS"),
                "{:?}",
                m.properties
            );
        }
        let late = first - at;
        println!(
            "{body}: stored {late} ms after its time ({} copies)",
            stored.len()
        );
        if late > PRECISION_MS + LOAD_ALLOWANCE_MS {
            failures.push(format!("{body} stored {late} ms late"));
        }
    }
    let mut first: BTreeMap<&str, i64> = BTreeMap::new();
    for e in consumer.events("msg") {
        let body = e["body"].as_str().unwrap_or_default();
        let Some((body, at)) = due.get_key_value(body) else {
            continue;
        };
        let received = e["receivedAt"].as_i64().unwrap();
        assert!(
            received >= *at,
            "{body} received {} ms early: {e}",
            at - received
        );
        assert_eq!(e["topic"], TOPIC, "{e}");
        let props = &e["properties"];
        for p in ["TIMER_OUT_MS", "TIMER_ENQUEUE_MS", "TIMER_DEQUEUE_MS"] {
            assert!(props[p] != Value::Null, "{p} missing: {e}");
        }
        let f = first.entry(body.as_str()).or_insert(received);
        *f = (*f).min(received);
    }
    for (body, at) in due {
        let late = first[body.as_str()] - at;
        println!("{body}: received {late} ms after its time");
        if late > PRECISION_MS + consumer_allowance_ms {
            failures.push(format!("{body} received {late} ms late"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

/// Timers of 1 s to 60 s by each client call; kill -9 and a clean stop with timers pending.
pub fn timer_messages_on_time_across_restarts(client: Clients, name: &str) {
    let _serial = serial();
    let mut cluster = start(name);
    let group = "RsCompatTimerGroup";
    let mut consumer = push_consumer(&cluster, client, "consumer", group, &[]);

    // msg-0 (60 s) stays pending through both restarts.
    let long = produce_timers(&cluster, client, 0, &["sec:60"]);
    let first = produce_timers(
        &cluster,
        client,
        1,
        &["sec:1", "ms:2500", "at:5000", "sec:5", "ms:1000", "at:3000"],
    );
    wait_all_received(&mut [&mut consumer], &bodies(1, 7));
    assert_on_time(&cluster, &consumer, &first, LOAD_ALLOWANCE_MS);

    // Pending 8..12 s ahead, then kill -9 and restart on the same store.
    let killed = produce_timers(
        &cluster,
        client,
        7,
        &[
            "at:8000", "sec:9", "ms:10000", "at:11000", "sec:12", "ms:8500",
        ],
    );
    cluster.broker.kill();
    cluster.broker.restart();
    wait_all_received(&mut [&mut consumer], &bodies(7, 13));
    assert_on_time(&cluster, &consumer, &killed, RESTART_ALLOWANCE_MS);

    // Pending 6..7 s ahead, then a clean stop and restart.
    let stopped = produce_timers(
        &cluster,
        client,
        13,
        &["sec:6", "at:7000", "ms:6500", "sec:7"],
    );
    assert!(cluster.broker.stop(), "clean stop");
    cluster.broker.restart();
    wait_all_received(&mut [&mut consumer], &bodies(13, 17));
    assert_on_time(&cluster, &consumer, &stopped, RESTART_ALLOWANCE_MS);

    wait_all_received(&mut [&mut consumer], &bodies(0, 1));
    assert_on_time(&cluster, &consumer, &long, RESTART_ALLOWANCE_MS);
    consumer.finish_ok(Duration::from_secs(60));
}

/// 5.3.x recall (`DefaultMQProducer::recall_message`) on a broker with
/// `recallMessageEnable=true`: four timer messages due in 5 s, each answered with a
/// `recallHandle`; the first two are recalled (RECALL_MESSAGE, answered with their UNIQ_KEY).
/// The push consumer receives the other two and, once they are in and the precision plus a
/// margin has passed, never the recalled ones.
pub fn recall_timer_messages(client: Clients, name: &str) {
    let _serial = serial();
    let cluster = Cluster::start_with(name, |s| s.set("recallMessageEnable", "true"));
    cluster.create_topic(TOPIC, crate::scenarios::QUEUES);
    let mut consumer = push_consumer(&cluster, client, "consumer", "RsCompatRecallGroup", &[]);
    let args = vec![
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", "RsCompatRecallProducer".to_owned()),
        ("count", "4".to_owned()),
        ("start", "0".to_owned()),
        ("timer", "sec:5".to_owned()),
        ("recall", "2".to_owned()),
    ];
    let mut producer = client.spawn(
        "producer",
        &cluster.client_home("producer"),
        "produce",
        &args,
    );
    producer.wait_until("summary", PHASE_TIMEOUT, |p| p.count("summary") > 0);
    producer.finish_ok(Duration::from_secs(60));
    let sent = producer.events("sent");
    assert_eq!(sent.len(), 4, "{}", producer.diagnostics());
    assert!(
        sent.iter().all(|e| e["recallHandle"].is_string()),
        "every timer send has a recall handle: {sent:?}"
    );
    let recalled = producer.events("recalled");
    assert_eq!(recalled.len(), 2, "{}", producer.diagnostics());
    for (r, s) in recalled.iter().zip(&sent) {
        assert_eq!(r["body"], s["body"], "{r}");
        assert_eq!(r["msgId"], s["msgId"], "recalled with its UNIQ_KEY: {r}");
    }
    wait_all_received(&mut [&mut consumer], &bodies(2, 4));
    let quiet_until = std::time::Instant::now() + Duration::from_millis(3 * PRECISION_MS as u64);
    while std::time::Instant::now() < quiet_until {
        std::thread::sleep(Duration::from_millis(100));
    }
    let got: Vec<String> = consumer
        .events("msg")
        .iter()
        .filter_map(|e| e["body"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !got.iter().any(|b| b == "msg-0" || b == "msg-1"),
        "a recalled message was delivered: {got:?}"
    );
    consumer.finish_ok(Duration::from_secs(60));
}
