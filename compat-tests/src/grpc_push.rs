//! The broker's gRPC consumption with the official 5.x clients' PushConsumer
//! (`clients/python/grpc_client.py`, `clients/node/grpc_client.js`, command `push`).
//!
//! A 5.x PushConsumer asks the endpoints for its assignments (`QueryAssignment`, the
//! proxy's `RouteActivity.queryAssignment`: every readable queue of the topic on the broker),
//! long-polls `ReceiveMessage` per assigned queue (POP), acks each message its listener
//! consumed, and on a FAILURE changes the message's invisible duration by the group's retry
//! backoff (`ChangeInvisibleDuration`), so the broker delivers it again with the next
//! delivery attempt.
//!
//! The scenario: a PushConsumer started before the producer, `n` messages sent by the same
//! client's Producer; each body succeeds exactly once, the first delivery of one chosen body
//! fails and that body comes back with attempt 2 (every other delivery is attempt 1).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::check::{assert_exactly_once, bodies, deliveries};
use crate::client::PHASE_TIMEOUT;
use crate::grpc::{create_typed_topic, GrpcClient};
use crate::grpc_consume::start;

/// Sends msg-0..n over gRPC with `client`'s producer.
fn produce(client: GrpcClient, endpoints: &str, topic: &str, n: u64) {
    let args = vec![("topic", topic.to_owned()), ("count", n.to_string())];
    let mut p = client.spawn("producer", endpoints, "produce", &args);
    p.wait_until("done", PHASE_TIMEOUT, |p| {
        p.count("done") > 0 || p.count("error") > 0
    });
    assert_eq!(p.count("error"), 0, "{}", p.diagnostics());
    p.finish_ok(Duration::from_secs(60));
}

/// `n` messages received by a PushConsumer, each succeeding exactly once; the first
/// delivery of one body fails and it is delivered again with attempt 2.
pub fn push_exactly_once_with_redelivery(client: GrpcClient, name: &str, n: u64) {
    let (cluster, endpoints) = start(name);
    let topic = "GrpcPushTopic";
    let group = "GrpcPushGroup";
    create_typed_topic(&cluster, topic, 8, "NORMAL");
    let fail = format!("msg-{}", n / 2);
    let args = vec![
        ("topic", topic.to_owned()),
        ("group", group.to_owned()),
        ("count", n.to_string()),
        ("fail", fail.clone()),
    ];
    let mut c = client.spawn("push-consumer", &endpoints, "push", &args);
    c.wait_ready();
    produce(client, &endpoints, topic, n);
    c.wait_until("done", PHASE_TIMEOUT * 2, |c| {
        c.count("done") > 0 || c.count("error") > 0
    });
    // Give a duplicate delivery (there must be none) time to show.
    let settle = Instant::now() + Duration::from_secs(3);
    while Instant::now() < settle {
        c.assert_alive();
        std::thread::sleep(Duration::from_millis(200));
    }
    c.finish(Duration::from_secs(60));
    assert_eq!(c.count("error"), 0, "{}", c.diagnostics());
    assert_eq!(c.count("failing"), 1, "{}", c.diagnostics());

    let events = c.events("msg");
    let attempts = |body: &str| -> Vec<i64> {
        events
            .iter()
            .filter(|e| e["body"] == body)
            .map(|e| e["attempt"].as_i64().unwrap_or(-1))
            .collect()
    };
    assert_eq!(attempts(&fail), vec![1, 2], "{}", c.diagnostics());
    // Every delivery but the failed first one of `fail` is a success: exactly once each.
    let failed_at = events
        .iter()
        .position(|e| e["body"] == fail.as_str())
        .unwrap();
    let succeeded: Vec<Value> = events
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != failed_at)
        .map(|(_, e)| e.clone())
        .collect();
    let got = deliveries(&succeeded);
    assert_exactly_once("push consumer", &got, &bodies(0, n));
    for (d, e) in got.iter().zip(&succeeded) {
        assert_eq!(d.tags, "TagA", "{e}");
        assert_eq!(d.keys, format!("key-{}", d.seq()), "{e}");
        if d.body != fail {
            assert_eq!(e["attempt"].as_i64(), Some(1), "{e}");
        }
    }
}
