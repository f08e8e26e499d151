//! 5.x POP with server-side rebalance, driven by a client's push consumer in POP mode: the
//! group's request mode is set to POP (SET_MESSAGE_REQUEST_MODE, as `mqadmin
//! setConsumeMode -m POP`), the consumers turn client rebalance off, so they ask
//! QUERY_ASSIGNMENT, get every queue as queue −1 in POP mode, and consume with POP_MESSAGE,
//! acking with BATCH_ACK_MESSAGE; a failed message gets CHANGE_MESSAGE_INVISIBLETIME with the
//! client's pop delay level (10 s first), and the broker's revive service puts it back through
//! `%RETRY%<group>_<topic>` once that time is up.
//!
//! Not covered here: the dead-letter queue. In 5.3.3 neither the broker's revive service nor
//! the remoting client sends a POP message to `%DLQ%` (the client acks or delays a message
//! consumed too often; the proxy forwards with CONSUMER_SEND_MSG_BACK): broker/tests/pop.rs
//! checks that path with our remoting client.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use remoting_codec::code::{request, response};
use remoting_codec::RemotingCommand;

use crate::check::{bodies, Delivery};
use crate::client::{Clients, PHASE_TIMEOUT};
use crate::cluster::Cluster;
use crate::scenarios::{produce, push_consumer, received, serial, wait_all_received, TOPIC};

fn set_pop_mode(cluster: &Cluster, group: &str) {
    cluster.update_subscription_group(group, 16);
    let body = format!(
        r#"{{"consumerGroup":"{group}","mode":"POP","popShareQueueNum":0,"topic":"{TOPIC}"}}"#
    );
    let answer = cluster.call(
        RemotingCommand::request_without_header(request::SET_MESSAGE_REQUEST_MODE).with_body(body),
    );
    assert_eq!(answer.code, response::SUCCESS, "{:?}", answer.remark);
}

/// Three consumers of one POP group on a 2-queue topic consume 300 messages: each exactly
/// once (acked ones never come again, even after their invisible time); then a failing
/// consumer of another group sees each of its messages again no earlier than the 10 s its
/// CHANGE_MESSAGE_INVISIBLETIME asked for (its pop invisible time is 5 s, the crate's minimum).
pub fn pop_group_with_server_side_rebalance(client: Clients, name: &str) {
    let _serial = serial();
    let cluster = Cluster::start(name);
    cluster.create_topic(TOPIC, 2);
    let group = "RsCompatPopGroup";
    set_pop_mode(&cluster, group);
    let extra = [("pop", "true"), ("invisible-ms", "6000")];
    let mut consumers: Vec<_> = (0..3)
        .map(|i| push_consumer(&cluster, client, &format!("pop{i}"), group, &extra))
        .collect();
    let count = 300;
    produce(&cluster, client, 0, count, 0);
    let expected = bodies(0, count);
    {
        let mut refs: Vec<&mut _> = consumers.iter_mut().collect();
        wait_all_received(&mut refs, &expected);
    }
    // Past the invisible time (6 s) and a revive round: nothing comes again.
    let quiet_until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < quiet_until {
        for c in consumers.iter_mut() {
            c.assert_alive();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut times: BTreeMap<String, usize> = BTreeMap::new();
    for (i, c) in consumers.iter().enumerate() {
        let got = received(c);
        println!("consumer pop{i}: {} messages", got.len());
        for d in got {
            *times.entry(d.body).or_default() += 1;
        }
    }
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(times.keys().cloned().collect::<BTreeSet<_>>(), expected);
    let retry = format!("%RETRY%{group}_{TOPIC}");
    assert!(
        cluster.max_offset(&retry, 0) <= 0,
        "nothing was revived into {retry}"
    );
    for mut c in consumers {
        c.finish_ok(Duration::from_secs(60));
    }

    // A consumer that fails everything.
    let failing = "RsCompatPopFail";
    set_pop_mode(&cluster, failing);
    let extra = [("pop", "true"), ("invisible-ms", "5000"), ("fail", "true")];
    let mut consumer = push_consumer(&cluster, client, "pop-fail", failing, &extra);
    produce(&cluster, client, count, count + 4, 0);
    let fresh = bodies(count, count + 4);
    let deadline = Instant::now() + PHASE_TIMEOUT;
    let again = |c: &crate::client::ClientProcess| -> BTreeMap<String, Vec<(i64, i64)>> {
        let mut m: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
        for e in c.events("msg") {
            let d = Delivery::from_event(&e);
            m.entry(d.body).or_default().push((
                e["reconsumeTimes"].as_i64().unwrap(),
                e["receivedAt"].as_i64().unwrap(),
            ));
        }
        m
    };
    loop {
        consumer.assert_alive();
        let m = again(&consumer);
        let done = fresh
            .iter()
            .all(|b| m.get(b).is_some_and(|v| v.iter().any(|(r, _)| *r >= 1)));
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not redelivered: {m:?}\n{}",
            consumer.diagnostics()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let m = again(&consumer);
    for b in &fresh {
        let v = &m[b];
        let first = v.iter().find(|(r, _)| *r == 0).expect("a first delivery").1;
        let retry = v.iter().find(|(r, _)| *r == 1).expect("a redelivery").1;
        println!("{b}: back after {} ms", retry - first);
        assert!(
            retry - first >= 9_000,
            "{b} came back after {} ms, before the 10 s it asked for",
            retry - first
        );
        assert!(v.iter().all(|(_, t)| *t >= first), "{b}: deliveries {v:?}");
    }
    consumer.finish_ok(Duration::from_secs(60));
}
