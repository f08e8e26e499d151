//! 5.x POP end to end: the broker binary on free ports, driven over the wire by our remoting
//! client with the headers 5.3.3's Java client sends (`common::pop`).
//!
//! - pop, ack, change invisible time, revive: every message is handed out once; acked ones
//!   never again; un-acked ones come back from `%RETRY%<group>_<topic>` no earlier than their
//!   invisible time, and a message whose invisible time was changed no earlier than the new one;
//! - long polling: a parked POP is answered by a message sent after it;
//! - orderly POP: a queue's batch blocks the queue until it is acked, `orderCountInfo` counts
//!   the hand-outs;
//! - PEEK reads without moving anything; NOTIFICATION (also parked) says whether there is
//!   something to pop; a revived message over the maximum goes to the DLQ the way 5.3.3's proxy
//!   forwards it (CONSUMER_SEND_MSG_BACK);
//!
//! Restart and kill -9: `pop_restart.rs`; bad input and the server-side rebalance:
//! `pop_admin.rs`.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::pop::*;
use common::*;
use remoting_codec::code::{request, response};
use remoting_codec::RemotingCommand;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop_ack_change_invisible_time_and_revive() {
    let dir = temp_dir("pop-revive");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    let topic = "PopT";
    let sent = send_all(&client, topic, 10, "m").await;

    let popped = pop_n(&client, topic, 10, 4000).await;
    let pop_time = broker::now_millis();
    let bodies: BTreeSet<String> = popped.iter().map(Popped::body).collect();
    assert_eq!(bodies, sent.iter().cloned().collect(), "each message once");
    assert_eq!(popped.len(), 10);

    // Ack half, move one's invisible time to 12 s, leave the rest.
    let mut unacked = BTreeSet::new();
    let mut changed = None;
    for (i, p) in popped.iter().enumerate() {
        if i % 2 == 0 {
            ack(&client, GROUP, topic, p).await;
        } else if changed.is_none() {
            let resp = client
                .invoke(change_request(GROUP, topic, p, 12_000), TIMEOUT)
                .await
                .unwrap();
            assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
            assert_eq!(resp.ext_field("invisibleTime"), Some("12000"));
            assert!(resp.ext_field("popTime").is_some() && resp.ext_field("reviveQid").is_some());
            changed = Some((p.body(), broker::now_millis()));
        } else {
            unacked.insert(p.body());
        }
    }
    let (changed_body, changed_at) = changed.unwrap();

    // Nothing is visible right after: the offset moved on pop.
    let (resp, list) = pop(&client, GROUP, topic, 4000, 0).await;
    assert_eq!(resp.code, response::POLLING_TIMEOUT);
    assert_eq!(resp.remark.as_deref(), Some("NO_MESSAGE_IN_QUEUE"));
    assert!(list.is_empty());

    let mut want = unacked.clone();
    want.insert(changed_body.clone());
    let seen = redeliveries(&client, topic, &want).await;
    let got: BTreeSet<String> = seen.keys().cloned().collect();
    assert_eq!(got, want, "exactly the un-acked ones come back");
    for (body, times) in &seen {
        let due = if *body == changed_body {
            changed_at + 12_000
        } else {
            pop_time + 4000
        };
        assert!(
            times[0] >= due - 1000,
            "{body} back {} ms early",
            due - times[0]
        );
        println!("{body}: back {} ms after its time", times[0] - due);
    }
    // They were acked: a last long poll finds nothing.
    let (resp, list) = pop(&client, GROUP, topic, 4000, 3000).await;
    assert!(
        list.is_empty(),
        "{:?}",
        list.iter().map(Popped::body).collect::<Vec<_>>()
    );
    assert_eq!(resp.code, response::POLLING_TIMEOUT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_pop_is_answered_by_a_message_sent_later() {
    let dir = temp_dir("pop-poll");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    let producer = broker.client().await;
    send_all(&client, "PollT", 1, "first").await;
    assert_eq!(pop_n(&client, "PollT", 1, 60_000).await.len(), 1);
    let begin = Instant::now();
    let parked = tokio::spawn(async move { pop(&client, GROUP, "PollT", 60_000, 20_000).await });
    // Send once the POP is parked (POLLING_INFO counts it).
    let info = RemotingCommand::request_without_header(request::POLLING_INFO)
        .with_ext_field("consumerGroup", GROUP)
        .with_ext_field("topic", "PollT")
        .with_ext_field("queueId", "-1");
    loop {
        let resp = producer.invoke(info.clone(), TIMEOUT).await.unwrap();
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
        if resp.ext_field("pollingNum") == Some("1") {
            break;
        }
        assert!(begin.elapsed() < Duration::from_secs(15), "never parked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    send_all(&producer, "PollT", 1, "late").await;
    let (resp, list) = parked.await.unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(list[0].body(), "late0");
    assert!(
        begin.elapsed() < Duration::from_secs(19),
        "answered by the arrival"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orderly_pop_blocks_the_queue_until_acked() {
    let dir = temp_dir("pop-order");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    for i in 0..4 {
        let resp = client
            .invoke(send("OrdT", 0, format!("o{i}")), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS);
    }
    let order_pop = |max: i32| pop_request(GROUP, "OrdT", 0, max, 60_000, 0, true);
    let mut first = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    while first.is_empty() {
        assert!(Instant::now() < deadline);
        let resp = client.invoke(order_pop(2), TIMEOUT).await.unwrap();
        if resp.code == response::SUCCESS {
            assert_eq!(resp.ext_field("reviveQid"), Some("999"));
            assert_eq!(resp.ext_field("orderCountInfo"), Some("0 0 0"));
        }
        first = popped(&resp, "OrdT", "broker-t");
    }
    assert_eq!(
        first.iter().map(Popped::body).collect::<Vec<_>>(),
        ["o0", "o1"]
    );
    // Blocked: the batch is neither acked nor past its invisible time.
    let resp = client.invoke(order_pop(2), TIMEOUT).await.unwrap();
    assert_eq!(resp.code, response::POLLING_TIMEOUT);
    // One ack is not enough; both are.
    ack(&client, GROUP, "OrdT", &first[1]).await;
    let resp = client.invoke(order_pop(2), TIMEOUT).await.unwrap();
    assert_eq!(resp.code, response::POLLING_TIMEOUT);
    ack(&client, GROUP, "OrdT", &first[0]).await;
    // The next batch with a short invisible time: not acked, it comes again, counted.
    let short = || pop_request(GROUP, "OrdT", 0, 2, 1500, 0, true);
    let resp = client.invoke(short(), TIMEOUT).await.unwrap();
    let next = popped(&resp, "OrdT", "broker-t");
    assert_eq!(
        next.iter().map(Popped::body).collect::<Vec<_>>(),
        ["o2", "o3"]
    );
    let blocked_until = broker::now_millis() + 1500 - 100;
    let mut again = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    while again.is_empty() {
        assert!(Instant::now() < deadline, "the batch never came back");
        let resp = client.invoke(short(), TIMEOUT).await.unwrap();
        if resp.code == response::SUCCESS {
            assert!(
                broker::now_millis() >= blocked_until,
                "handed out while invisible"
            );
            assert_eq!(
                resp.ext_field("orderCountInfo"),
                Some("0 qo0%2 1;0 qo0%3 1;0 0 1")
            );
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        again = popped(&resp, "OrdT", "broker-t");
    }
    assert_eq!(
        again.iter().map(Popped::body).collect::<Vec<_>>(),
        ["o2", "o3"]
    );
}

/// A message consumed too often goes to `%DLQ%<group>` as 5.3.3's proxy forwards it
/// (`forwardMessageToDeadLetterQueue`): CONSUMER_SEND_MSG_BACK with the popped record's
/// commitlog offset and `maxReconsumeTimes`, then an ack of its handle. The revived copy
/// (reconsumeTimes 1, from `%RETRY%<group>_<topic>`, delivered under the topic with `POP_CK`)
/// is the one that reaches the maximum of 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revived_message_over_the_maximum_is_forwarded_to_the_dlq() {
    use remoting_codec::protocol::transaction::ConsumerSendMsgBackRequestHeader;
    let dir = temp_dir("pop-dlq");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    send_all(&client, "DlqT", 1, "x").await;
    let first = pop_n(&client, "DlqT", 1, 2000).await;
    assert_eq!(first[0].msg.reconsume_times, 0);
    let want: BTreeSet<String> = ["x0".to_owned()].into();
    // Revived, not acked yet: pop it without acking.
    let deadline = Instant::now() + Duration::from_secs(60);
    let revived = loop {
        assert!(Instant::now() < deadline, "never revived");
        let (_, list) = pop(&client, GROUP, "DlqT", 60_000, 2000).await;
        if let Some(p) = list.into_iter().find(|p| want.contains(&p.body())) {
            break p;
        }
    };
    assert_eq!(revived.msg.reconsume_times, 1);
    assert_eq!(revived.msg.topic, "DlqT", "delivered under its topic");
    assert!(revived.msg.properties.get("POP_CK").is_some());
    assert!(revived.msg.properties.get("1ST_POP_TIME").is_some());
    let back = RemotingCommand::request(
        request::CONSUMER_SEND_MSG_BACK,
        &ConsumerSendMsgBackRequestHeader {
            offset: revived.msg.commit_log_offset,
            group: GROUP.into(),
            delay_level: -1,
            origin_msg_id: None,
            origin_topic: Some("DlqT".into()),
            unit_mode: false,
            max_reconsume_times: Some(1),
        },
    );
    let resp = client.invoke(back, TIMEOUT).await.unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    ack(&client, GROUP, "DlqT", &revived).await;
    let dlq = pull_n(&client, &format!("%DLQ%{GROUP}"), 0, 1).await;
    assert_eq!(dlq[0].body, Bytes::from_static(b"x0"));
}

/// PEEK_MESSAGE reads from the group's position without moving it (a POP afterwards gets the
/// same messages); NOTIFICATION says whether there is something to pop, and a parked one is
/// answered `hasMsg=true` by a message sent after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peek_and_notification() {
    use remoting_codec::protocol::pop::{NotificationRequestHeader, PeekMessageRequestHeader};
    let dir = temp_dir("pop-peek");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    send_all(&client, "PeekT", 2, "p").await;
    let peek = || {
        RemotingCommand::request(
            request::PEEK_MESSAGE,
            &PeekMessageRequestHeader {
                topic: "PeekT".into(),
                queue_id: -1,
                max_msg_nums: 32,
                consumer_group: GROUP.into(),
            },
        )
    };
    let deadline = Instant::now() + TIMEOUT;
    let peeked = loop {
        let resp = client.invoke(peek(), TIMEOUT).await.unwrap();
        let got = records(&resp);
        if got.len() == 2 {
            assert_eq!(resp.remark.as_deref(), Some("FOUND"));
            assert_eq!(resp.ext_field("restNum"), Some("2"));
            break got;
        }
        assert!(Instant::now() < deadline, "peek: {:?}", resp.remark);
    };
    assert_eq!(peeked.len(), 2);
    let notify = |poll: i64| {
        RemotingCommand::request(
            request::NOTIFICATION,
            &NotificationRequestHeader {
                consumer_group: GROUP.into(),
                topic: "PeekT".into(),
                queue_id: -1,
                poll_time: poll,
                born_time: broker::now_millis(),
                order: Some(false),
                attempt_id: None,
            },
        )
    };
    let resp = client.invoke(notify(0), TIMEOUT).await.unwrap();
    assert_eq!((resp.code, resp.ext_field("hasMsg")), (0, Some("true")));
    // Peeking moved nothing: the POP gets both.
    let popped = pop_n(&client, "PeekT", 2, 60_000).await;
    assert_eq!(popped.len(), 2);
    let resp = client.invoke(notify(0), TIMEOUT).await.unwrap();
    assert_eq!((resp.code, resp.ext_field("hasMsg")), (0, Some("false")));
    let resp = client.invoke(peek(), TIMEOUT).await.unwrap();
    assert_eq!(resp.code, response::PULL_NOT_FOUND);
    assert_eq!(resp.remark.as_deref(), Some("NO_MESSAGE_IN_QUEUE"));
    // A parked NOTIFICATION, answered by a later message.
    let begin = Instant::now();
    let parked = {
        let c = broker.client().await;
        let req = notify(20_000);
        tokio::spawn(async move { c.invoke(req, TIMEOUT).await.unwrap() })
    };
    let info = RemotingCommand::request_without_header(request::POLLING_INFO)
        .with_ext_field("consumerGroup", GROUP)
        .with_ext_field("topic", "PeekT")
        .with_ext_field("queueId", "-1");
    while client
        .invoke(info.clone(), TIMEOUT)
        .await
        .unwrap()
        .ext_field("pollingNum")
        != Some("1")
    {
        assert!(begin.elapsed() < Duration::from_secs(15), "never parked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    send_all(&client, "PeekT", 1, "late").await;
    let resp = parked.await.unwrap();
    assert_eq!((resp.code, resp.ext_field("hasMsg")), (0, Some("true")));
    assert!(begin.elapsed() < Duration::from_secs(19));
}
