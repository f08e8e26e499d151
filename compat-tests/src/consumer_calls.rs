//! The admin requests the broker answers by calling a live consumer (mqadmin `consumerStatus`,
//! `resetOffsetByTime`, `queryMsgById -g -d`), sent by the test with the `remoting` client to
//! our broker while a client program's push consumer is connected:
//! - GET_CONSUMER_RUNNING_INFO (307): relayed to the consumer, whose answer comes back;
//! - CONSUME_MESSAGE_DIRECTLY (309): the stored message relayed to the consumer, which runs its
//!   listener on it and answers the result;
//! - INVOKE_BROKER_TO_RESET_OFFSET (222): the broker sends RESET_CONSUMER_CLIENT_OFFSET (220)
//!   to the group's clients, which restart their queues at the new offsets (re-reading).
//!
//! A client that does not implement a call leaves the relayed request unanswered; the broker
//! then answers CONSUME_MSG_TIMEOUT after its 10 s wait, as Java's does.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use remoting_codec::code::response;
use remoting_codec::{fastjson, LanguageCode, RemotingCommand};
use serde_json::Value;

use crate::check::{bodies, Delivery};
use crate::client::{ClientProcess, Clients, PHASE_TIMEOUT};
use crate::cluster::Cluster;
use crate::scenarios::{
    produce, push_consumer, received, serial, start, wait_all_received, QUEUES, TOPIC,
};

/// Which of the broker's calls a client answers.
#[derive(Clone, Copy, Debug)]
pub struct Answers {
    /// GET_CONSUMER_RUNNING_INFO (307).
    pub running_info: bool,
    /// CONSUME_MESSAGE_DIRECTLY (309).
    pub consume_directly: bool,
    /// RESET_CONSUMER_CLIENT_OFFSET (220, oneway): the consumer re-reads from the new offsets.
    pub reset_offset: bool,
}

/// What the broker answered to the three calls, for the client's own checks.
pub struct CallRun {
    pub namesrv: String,
    pub client_id: String,
    pub running_info: RemotingCommand,
    pub consume_directly: RemotingCommand,
    pub reset: RemotingCommand,
}

const GROUP: &str = "RsCompatCalledGroup";
const MESSAGES: u64 = 80;

/// A push consumer of [`GROUP`] reads 80 messages and commits its offsets; then the three
/// calls go to it through the broker, checked against `answers`: the running info names the
/// consumer's subscription, the directly consumed message reaches its listener again, and a
/// reset to timestamp 0 makes it read every message a second time. `admin_language` is the
/// language of the 222 request (CPP asks the broker for the C++ body form, as Java's `isC`).
pub fn broker_calls_the_consumer(
    client: Clients,
    name: &str,
    answers: Answers,
    admin_language: LanguageCode,
) -> CallRun {
    let _serial = serial();
    let cluster = start(name);
    let mut consumer = push_consumer(&cluster, client, "consumer", GROUP, &[]);
    produce(&cluster, client, 0, MESSAGES, 0);
    wait_all_received(&mut [&mut consumer], &bodies(0, MESSAGES));
    // A reset needs the group's committed offsets (Java refuses it for a group without), and
    // the client commits them on its own clock.
    wait_committed_to_end(&cluster, GROUP, &mut consumer);
    let ids = cluster.consumer_ids(GROUP);
    assert_eq!(ids.len(), 1, "members of {GROUP}: {ids:?}");
    let client_id = ids[0].clone();

    // 307.
    let running_info = cluster.consumer_running_info(GROUP, &client_id);
    if answers.running_info {
        assert_eq!(
            running_info.code,
            response::SUCCESS,
            "GET_CONSUMER_RUNNING_INFO answered by the consumer: {:?}\n{}",
            running_info.remark,
            consumer.diagnostics()
        );
        let info = fastjson::from_slice_value(&running_info.body).unwrap_or_else(|e| {
            panic!(
                "running info body {e}: {}",
                String::from_utf8_lossy(&running_info.body)
            )
        });
        let topics: BTreeSet<&str> = info["subscriptionSet"]
            .as_array()
            .unwrap_or_else(|| panic!("no subscriptionSet in the running info: {info}"))
            .iter()
            .filter_map(|s| s["topic"].as_str())
            .collect();
        assert!(
            topics.contains(TOPIC),
            "the consumer's subscriptions in its running info: {info}"
        );
        // mqTable: the queues it consumes, keyed by MessageQueue objects.
        let queues: BTreeSet<i64> = info["mqTable"]
            .as_object()
            .unwrap_or_else(|| panic!("no mqTable in the running info: {info}"))
            .keys()
            .filter_map(|k| serde_json::from_str::<Value>(k).ok())
            .filter(|mq| mq["topic"] == TOPIC)
            .filter_map(|mq| mq["queueId"].as_i64())
            .collect();
        assert_eq!(
            queues,
            (0..QUEUES as i64).collect(),
            "the queues of {TOPIC} in the running info: {info}"
        );
    } else {
        assert_unanswered(&running_info, &client_id);
    }

    // 309, for message 5 (its offsetMsgId, found through the index).
    let stored = cluster.messages_by_key(TOPIC, "key-5");
    assert_eq!(stored.len(), 1, "messages with key-5");
    let before = consumer.count("msg");
    let consume_directly =
        cluster.consume_message_directly(GROUP, &client_id, &stored[0].offset_msg_id());
    if answers.consume_directly {
        assert_eq!(
            consume_directly.code,
            response::SUCCESS,
            "CONSUME_MESSAGE_DIRECTLY answered by the consumer: {:?}\n{}",
            consume_directly.remark,
            consumer.diagnostics()
        );
        let result = fastjson::from_slice_value(&consume_directly.body).unwrap_or_else(|e| {
            panic!(
                "CONSUME_MESSAGE_DIRECTLY body {e}: {}",
                String::from_utf8_lossy(&consume_directly.body)
            )
        });
        // Java's key is `consumeResult`; rocketmq-client-rust 1.0.0 writes its struct's field
        // names (`consume_result`, `spent_time_mills`, …), which a Java admin would read as
        // null: a client bug, relayed by the broker as it came.
        let consume_result = result
            .get("consumeResult")
            .or_else(|| result.get("consume_result"));
        assert_eq!(consume_result, Some(&"CR_SUCCESS".into()), "{result}");
        // Its listener saw the message (again).
        let again: Vec<Delivery> = received(&consumer).split_off(before);
        assert!(
            again.iter().any(|d| d.body == "msg-5"),
            "the listener received msg-5 directly: {again:?}"
        );
    } else {
        assert_unanswered(&consume_directly, &client_id);
    }

    // 222: back to the first message of every queue.
    let before = consumer.count("msg");
    let reset = cluster.reset_offset(TOPIC, GROUP, 0, true, admin_language);
    assert_eq!(
        reset.code,
        response::SUCCESS,
        "INVOKE_BROKER_TO_RESET_OFFSET: {:?}",
        reset.remark
    );
    let table = fastjson::from_slice_value(&reset.body).expect("reset offset body");
    let offsets: BTreeMap<i64, i64> = table["offsetTable"]
        .as_object()
        .unwrap_or_else(|| panic!("no offsetTable: {table}"))
        .iter()
        .map(|(k, v)| {
            let mq: Value = serde_json::from_str(k).expect("a MessageQueue key");
            (mq["queueId"].as_i64().unwrap(), v.as_i64().unwrap())
        })
        .collect();
    assert_eq!(
        offsets,
        (0..QUEUES as i64).map(|q| (q, 0)).collect(),
        "the new offsets the broker computed for timestamp 0"
    );
    if answers.reset_offset {
        let deadline = Instant::now() + PHASE_TIMEOUT;
        loop {
            let again: BTreeSet<String> = received(&consumer)
                .split_off(before)
                .into_iter()
                .map(|d| d.body)
                .collect();
            if bodies(0, MESSAGES).is_subset(&again) {
                break;
            }
            consumer.assert_alive();
            assert!(
                Instant::now() < deadline,
                "after the reset the consumer re-read {} of {MESSAGES} messages\n{}",
                again.len(),
                consumer.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    consumer.finish_ok(Duration::from_secs(60));
    CallRun {
        namesrv: cluster.namesrv_addr(),
        client_id,
        running_info,
        consume_directly,
        reset,
    }
}

/// Java's answer when the called client never answers: CONSUME_MSG_TIMEOUT after 10 s.
fn assert_unanswered(answer: &RemotingCommand, client_id: &str) {
    let prefix = format!("consumer <{GROUP}> <{client_id}> Timeout: ");
    assert!(
        answer.code == response::CONSUME_MSG_TIMEOUT
            && answer
                .remark
                .as_deref()
                .is_some_and(|r| r.starts_with(&prefix)),
        "a call the client does not answer: code {} remark {:?}",
        answer.code,
        answer.remark
    );
}

/// Polls until the committed offset of `group` on every queue of [`TOPIC`] is the queue's end.
pub fn wait_committed_to_end(cluster: &Cluster, group: &str, consumer: &mut ClientProcess) {
    let deadline = Instant::now() + PHASE_TIMEOUT;
    loop {
        let behind: Vec<(i32, Option<i64>, i64)> = (0..QUEUES)
            .map(|q| {
                (
                    q,
                    cluster.consumer_offset(group, TOPIC, q),
                    cluster.max_offset(TOPIC, q),
                )
            })
            .filter(|(_, c, m)| *c != Some(*m))
            .collect();
        if behind.is_empty() {
            return;
        }
        consumer.assert_alive();
        assert!(
            Instant::now() < deadline,
            "queues not committed to their end (queue, committed, max): {behind:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
