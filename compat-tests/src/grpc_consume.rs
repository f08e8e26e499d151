//! The broker's gRPC POP consumption with the official 5.x clients' SimpleConsumer
//! (`clients/python/grpc_client.py`, `clients/node/grpc_client.js`, commands `consume` and
//! `simple`): receive and ack, changeInvisibleDuration, re-delivery after the invisible time
//! and not before, the move to `%DLQ%<group>` after the group's max attempts, the proxy's codes
//! for a stale and a garbled receipt handle, a batch received exactly once, and the mixed
//! direction: a remoting producer (rocketmq-client-rust) → a gRPC SimpleConsumer.
//!
//! The broker runs with `minInvisibleTimeMillsForRecv=1000` (the proxy's key; 10 s by default)
//! so invisible times of a few seconds keep the scenarios short.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::check::{assert_exactly_once, bodies, deliveries};
use crate::client::{Clients, PHASE_TIMEOUT};
use crate::cluster::Cluster;
use crate::free_port;
use crate::grpc::{create_typed_topic, GrpcClient};

/// `apache.rocketmq.v2.Code.INVALID_RECEIPT_HANDLE` / `INTERNAL_SERVER_ERROR`.
const INVALID_RECEIPT_HANDLE: i64 = 40013;
const INTERNAL_SERVER_ERROR: i64 = 50001;

/// A name server and a broker serving gRPC with short invisible times allowed.
pub fn start(name: &str) -> (Cluster, String) {
    let port = free_port();
    let cluster = Cluster::start_with(name, |s| {
        s.set("enableGrpcServer", "true")
            .set("grpcServerPort", &port.to_string())
            .set("minInvisibleTimeMillsForRecv", "1000")
    });
    (cluster, format!("127.0.0.1:{port}"))
}

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

/// A SimpleConsumer receiving and acking `n` messages of `topic`; its `msg` events.
fn consume_all(
    client: GrpcClient,
    endpoints: &str,
    topic: &str,
    group: &str,
    n: u64,
    timeout: Duration,
) -> Vec<Value> {
    let args = vec![
        ("topic", topic.to_owned()),
        ("group", group.to_owned()),
        ("count", n.to_string()),
        ("invisible", "30".to_owned()),
    ];
    let mut c = client.spawn("simple-consumer", endpoints, "consume", &args);
    c.wait_until("done", timeout, |c| {
        c.count("done") > 0 || c.count("error") > 0
    });
    assert_eq!(c.count("error"), 0, "{}", c.diagnostics());
    c.finish_ok(Duration::from_secs(60));
    c.events("msg")
}

/// `n` messages sent over gRPC, each received exactly once by a SimpleConsumer, with its tag,
/// key and delivery attempt 1.
pub fn batch_exactly_once(client: GrpcClient, name: &str, n: u64) {
    let (cluster, endpoints) = start(name);
    let topic = "GrpcPopTopic";
    create_typed_topic(&cluster, topic, 8, "NORMAL");
    produce(client, &endpoints, topic, n);
    let events = consume_all(
        client,
        &endpoints,
        topic,
        "GrpcPopGroup",
        n,
        PHASE_TIMEOUT * 2,
    );
    let got = deliveries(&events);
    assert_exactly_once("simple consumer", &got, &bodies(0, n));
    for (d, e) in got.iter().zip(&events) {
        assert_eq!(d.tags, "TagA", "{e}");
        assert_eq!(d.keys, format!("key-{}", d.seq()), "{e}");
        assert_eq!(e["attempt"].as_i64(), Some(1), "{e}");
    }
}

/// A remoting producer (rocketmq-client-rust) → a gRPC SimpleConsumer.
pub fn remoting_to_simple_consumer(client: GrpcClient, name: &str) {
    let (cluster, endpoints) = start(name);
    let topic = "RemotingToGrpcTopic";
    create_typed_topic(&cluster, topic, 4, "NORMAL");
    let n = 200u64;
    let args = vec![
        ("namesrv", cluster.namesrv_addr()),
        ("topic", topic.to_owned()),
        ("group", "RemotingProducerGroup".to_owned()),
        ("count", n.to_string()),
    ];
    let mut p = Clients::RocketmqRust.spawn(
        "remoting-producer",
        &cluster.client_home("p"),
        "produce",
        &args,
    );
    p.wait_until("summary", PHASE_TIMEOUT, |p| p.count("summary") > 0);
    p.finish_ok(Duration::from_secs(60));
    assert_eq!(p.count("error"), 0, "{}", p.diagnostics());
    assert_eq!(p.count("sent") as u64, n);
    let events = consume_all(
        client,
        &endpoints,
        topic,
        "FromRemotingGroup",
        n,
        PHASE_TIMEOUT,
    );
    assert_exactly_once("gRPC simple consumer", &deliveries(&events), &bodies(0, n));
}

/// (delivery attempt, received at, the handle's pop time) of each delivery of `body`.
fn received_at(events: &[Value], body: &str) -> Vec<(i64, i64, i64)> {
    events
        .iter()
        .filter(|e| e["body"] == body)
        .map(|e| {
            (
                e["attempt"].as_i64().unwrap(),
                e["atMs"].as_i64().unwrap(),
                e["popTime"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The SimpleConsumer script (`simple`): ack, changeInvisibleDuration, re-delivery not before
/// the invisible time, the proxy's codes for a stale and a garbled handle, and msg-2, never
/// acked, delivered `retryMaxTimes + 1` times and then moved to `%DLQ%<group>`.
pub fn simple_consumer_lifecycle(client: GrpcClient, name: &str) {
    let (cluster, endpoints) = start(name);
    let topic = "GrpcSimpleTopic";
    let group = "GrpcSimpleGroup";
    create_typed_topic(&cluster, topic, 2, "NORMAL");
    // Two attempts, then the DLQ.
    cluster.update_subscription_group(group, 1);
    produce(client, &endpoints, topic, 3);
    let invisible_s = 3i64;
    let args = vec![
        ("topic", topic.to_owned()),
        ("group", group.to_owned()),
        ("invisible", invisible_s.to_string()),
    ];
    let mut c = client.spawn("simple", &endpoints, "simple", &args);
    let dlq = format!("%DLQ%{group}");
    let deadline = Instant::now() + PHASE_TIMEOUT;
    loop {
        c.assert_alive();
        let msg1_back = received_at(&c.events("received"), "msg-1").len() >= 2
            && c.events("acked").iter().any(|e| e["body"] == "msg-1");
        if msg1_back && cluster.max_offset(&dlq, 0) >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no re-delivery of msg-1 or no DLQ move of msg-2\n{}",
            c.diagnostics()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Give a third delivery of msg-2 (there must be none) time to show.
    std::thread::sleep(Duration::from_millis(1500));
    c.finish(Duration::from_secs(30));
    let received = c.events("received");
    assert_eq!(c.count("error"), 0, "{}", c.diagnostics());

    // msg-0 acked: never again.
    assert_eq!(
        received_at(&received, "msg-0").len(),
        1,
        "{}",
        c.diagnostics()
    );
    // msg-1: changed to `invisible_s`, delivered again no earlier, attempt 2, then acked.
    let changing = c.events("changing")[0]["atMs"].as_i64().unwrap();
    let msg1 = received_at(&received, "msg-1");
    assert_eq!(msg1.len(), 2, "{msg1:?}");
    assert_eq!(msg1[1].0, 2);
    assert!(
        msg1[1].1 >= changing + invisible_s * 1000,
        "msg-1 back {} ms after the change, asked {invisible_s} s",
        msg1[1].1 - changing
    );
    // msg-2: attempts 1 and 2, each re-delivery after the invisible time, then the DLQ.
    let msg2 = received_at(&received, "msg-2");
    assert_eq!(
        msg2.iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![1, 2],
        "{}",
        c.diagnostics()
    );
    assert!(msg2[1].1 >= msg2[0].2 + invisible_s * 1000, "{msg2:?}");
    let in_dlq = cluster.pull_records(&dlq, 0, 0);
    assert_eq!(in_dlq.len(), 1);
    assert_eq!(&in_dlq[0].body[..], b"msg-2");

    let refusals: BTreeMap<String, (i64, String)> = c
        .events("refusal")
        .iter()
        .map(|e| {
            (
                e["case"].as_str().unwrap().to_owned(),
                (
                    e["code"].as_i64().unwrap_or(-1),
                    e["error"].as_str().unwrap_or("").to_owned(),
                ),
            )
        })
        .collect();
    for (case, code, text) in [
        (
            "stale-change",
            INVALID_RECEIPT_HANDLE,
            "receipt handle is expired",
        ),
        // An ack's status is the entries' code by name.
        (
            "expired-ack",
            INVALID_RECEIPT_HANDLE,
            "INVALID_RECEIPT_HANDLE",
        ),
        (
            "garbled-ack",
            INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
        ),
    ] {
        let (got, error) = refusals
            .get(case)
            .unwrap_or_else(|| panic!("no {case}: {}", c.diagnostics()));
        assert_eq!(*got, code, "{case}: {error}");
        assert!(error.contains(text), "{case}: {error}");
    }
}
