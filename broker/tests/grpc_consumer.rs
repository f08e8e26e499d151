//! The gRPC endpoint's POP consumption (ReceiveMessage, AckMessage, ChangeInvisibleDuration,
//! ForwardMessageToDeadLetterQueue) through a broker process, with our generated tonic client:
//! the stream's shape (status, messages with receipt handle and delivery attempt, delivery
//! timestamp), the proxy's codes for bad names, unknown topics, bad invisible times, empty SQL,
//! a deadline too short for polling, unparsable and expired receipt handles; the batch cap;
//! re-delivery after the invisible time (not before); the move to `%DLQ%<group>` after the
//! group's max attempts and on ForwardMessageToDeadLetterQueue; FIFO groups popped orderly.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::grpc::{code, connect, resource, start_grpc_broker, with_client_id};
use common::temp_dir;
use grpc::v2::messaging_service_client::MessagingServiceClient;
use grpc::v2::*;
use tonic::transport::Channel;

const TOPICS: &str = r#"{"dataVersion":{"counter":1,"timestamp":1},"topicConfigTable":{
"CNormal":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"CNormal","topicSysFlag":0,"writeQueueNums":4},
"CCap":{"order":false,"perm":6,"readQueueNums":1,"topicFilterType":"SINGLE_TAG","topicName":"CCap","topicSysFlag":0,"writeQueueNums":1},
"CDlq":{"order":false,"perm":6,"readQueueNums":2,"topicFilterType":"SINGLE_TAG","topicName":"CDlq","topicSysFlag":0,"writeQueueNums":2},
"CFifo":{"attributes":{"message.type":"FIFO"},"order":false,"perm":6,"readQueueNums":2,"topicFilterType":"SINGLE_TAG","topicName":"CFifo","topicSysFlag":0,"writeQueueNums":2}
}}"#;

/// Short invisible times, long polls and revive rounds, so that re-deliveries come quickly.
const CONSUMER_CONF: &str = "minInvisibleTimeMillsForRecv=1000\n\
    grpcClientConsumerMinLongPollingTimeoutMillis=300\nreviveInterval=200\n";

const GROUPS: &str = r#"{"dataVersion":{"counter":1,"timestamp":1},"subscriptionGroupTable":{
"GDlq":{"groupName":"GDlq","consumeEnable":true,"consumeBroadcastEnable":true,"retryQueueNums":1,"retryMaxTimes":1,"brokerId":0,"whichBrokerWhenConsumeSlowly":1,"notifyConsumerIdsChangedEnable":true},
"GFifo":{"groupName":"GFifo","consumeEnable":true,"consumeBroadcastEnable":true,"retryQueueNums":1,"retryMaxTimes":16,"brokerId":0,"whichBrokerWhenConsumeSlowly":1,"notifyConsumerIdsChangedEnable":true,"consumeMessageOrderly":true}
}}"#;

fn req<T>(msg: T) -> tonic::Request<T> {
    let mut r = with_client_id("consumer-1", msg);
    r.metadata_mut()
        .insert("x-mq-client-version", "5.0.7".parse().unwrap());
    r
}

fn millis(ms: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    })
}

async fn send(c: &mut MessagingServiceClient<Channel>, topic: &str, n: usize, group: Option<&str>) {
    let messages = (0..n)
        .map(|i| Message {
            topic: resource(topic),
            user_properties: Default::default(),
            system_properties: Some(SystemProperties {
                tag: Some(if i % 2 == 0 { "TagA" } else { "TagB" }.into()),
                message_id: format!("{topic}-{i}-{}", rand_suffix()),
                message_type: if group.is_some() {
                    MessageType::Fifo
                } else {
                    MessageType::Normal
                } as i32,
                message_group: group.map(str::to_owned),
                ..Default::default()
            }),
            body: Bytes::from(format!("{topic}-{i}")),
        })
        .collect::<Vec<_>>();
    for m in messages {
        let r = c
            .send_message(req(SendMessageRequest { messages: vec![m] }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&r.status), Code::Ok, "{r:?}");
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// One ReceiveMessage call's stream: the status, the messages, whether a delivery timestamp
/// came last.
struct Received {
    status: Status,
    messages: Vec<Message>,
    timestamp_last: bool,
}

fn receive_request(
    topic: &str,
    group: &str,
    batch: i32,
    invisible_ms: i64,
) -> ReceiveMessageRequest {
    ReceiveMessageRequest {
        group: resource(group),
        message_queue: Some(MessageQueue {
            topic: resource(topic),
            id: 0,
            permission: Permission::ReadWrite as i32,
            broker: None,
            accept_message_types: vec![],
        }),
        filter_expression: Some(FilterExpression {
            r#type: FilterType::Tag as i32,
            expression: "*".into(),
        }),
        batch_size: batch,
        invisible_duration: millis(invisible_ms),
        auto_renew: false,
        long_polling_timeout: millis(500),
        attempt_id: None,
    }
}

async fn receive(c: &mut MessagingServiceClient<Channel>, r: ReceiveMessageRequest) -> Received {
    receive_with(c, req(r)).await
}

async fn receive_with(
    c: &mut MessagingServiceClient<Channel>,
    r: tonic::Request<ReceiveMessageRequest>,
) -> Received {
    let mut stream = c.receive_message(r).await.unwrap().into_inner();
    let mut out = Received {
        status: Status::default(),
        messages: vec![],
        timestamp_last: false,
    };
    let mut first = true;
    while let Some(item) = stream.message().await.unwrap() {
        out.timestamp_last = false;
        match item.content.expect("content") {
            receive_message_response::Content::Status(s) => {
                assert!(first, "the status comes first");
                out.status = s;
            }
            receive_message_response::Content::Message(m) => out.messages.push(m),
            receive_message_response::Content::DeliveryTimestamp(_) => out.timestamp_last = true,
        }
        first = false;
    }
    out
}

/// Receives until `n` messages came or `deadline` passed.
async fn receive_n(
    c: &mut MessagingServiceClient<Channel>,
    r: &ReceiveMessageRequest,
    n: usize,
    deadline: Duration,
) -> Vec<Message> {
    let end = Instant::now() + deadline;
    let mut got = vec![];
    while got.len() < n && Instant::now() < end {
        got.extend(receive(c, r.clone()).await.messages);
    }
    got
}

fn handle(m: &Message) -> String {
    m.system_properties
        .as_ref()
        .unwrap()
        .receipt_handle
        .clone()
        .expect("a receipt handle")
}

fn attempt(m: &Message) -> i32 {
    m.system_properties
        .as_ref()
        .unwrap()
        .delivery_attempt
        .unwrap()
}

fn ack_entry(m: &Message) -> AckMessageEntry {
    AckMessageEntry {
        message_id: m.system_properties.as_ref().unwrap().message_id.clone(),
        receipt_handle: handle(m),
    }
}

async fn ack(
    c: &mut MessagingServiceClient<Channel>,
    topic: &str,
    group: &str,
    entries: Vec<AckMessageEntry>,
) -> AckMessageResponse {
    c.ack_message(req(AckMessageRequest {
        group: resource(group),
        topic: resource(topic),
        entries,
    }))
    .await
    .unwrap()
    .into_inner()
}

async fn change(
    c: &mut MessagingServiceClient<Channel>,
    topic: &str,
    group: &str,
    handle: &str,
    ms: i64,
) -> ChangeInvisibleDurationResponse {
    c.change_invisible_duration(req(ChangeInvisibleDurationRequest {
        group: resource(group),
        topic: resource(topic),
        receipt_handle: handle.to_owned(),
        invisible_duration: millis(ms),
        message_id: String::new(),
    }))
    .await
    .unwrap()
    .into_inner()
}

/// The handle with its popTime moved to the past: expired.
fn expired(handle: &str) -> String {
    let mut f: Vec<&str> = handle.split(' ').collect();
    f[1] = "1000";
    f.join(" ")
}

async fn max_offset(c: &mut MessagingServiceClient<Channel>, topic: &str) -> i64 {
    let r = c
        .query_offset(req(QueryOffsetRequest {
            message_queue: Some(MessageQueue {
                topic: resource(topic),
                id: 0,
                permission: 0,
                broker: None,
                accept_message_types: vec![],
            }),
            query_offset_policy: QueryOffsetPolicy::End as i32,
            timestamp: None,
        }))
        .await
        .unwrap()
        .into_inner();
    if code(&r.status) == Code::Ok {
        r.offset
    } else {
        0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_ack_change_redeliver_and_dead_letter_over_grpc() {
    let dir = temp_dir("grpc-consumer");
    let broker = start_grpc_broker(
        &dir,
        &[("topics.json", TOPICS), ("subscriptionGroup.json", GROUPS)],
        CONSUMER_CONF,
    );
    let mut c = connect(broker.grpc_port).await;

    // Bad requests: the proxy's codes, one status then the delivery timestamp.
    let base = receive_request("CNormal", "GNormal", 32, 30_000);
    let mut cases: Vec<(&str, ReceiveMessageRequest, Code)> = vec![];
    let mut r = base.clone();
    r.group = resource("");
    cases.push(("blank group", r, Code::IllegalConsumerGroup));
    let mut r = base.clone();
    r.group = None;
    cases.push(("no group", r, Code::IllegalConsumerGroup));
    let mut r = base.clone();
    r.message_queue = None;
    cases.push(("no queue", r, Code::IllegalTopic));
    cases.push((
        "unknown topic",
        receive_request("NoSuchTopic", "GNormal", 32, 30_000),
        Code::TopicNotFound,
    ));
    cases.push((
        "bad topic",
        receive_request("bad topic", "GNormal", 32, 30_000),
        Code::IllegalTopic,
    ));
    cases.push((
        "short invisible",
        receive_request("CNormal", "GNormal", 32, 999),
        Code::IllegalInvisibleTime,
    ));
    cases.push((
        "long invisible",
        receive_request("CNormal", "GNormal", 32, 13 * 3600 * 1000),
        Code::IllegalInvisibleTime,
    ));
    let mut r = base.clone();
    r.invisible_duration = None;
    cases.push(("no invisible", r, Code::IllegalInvisibleTime));
    let mut r = base.clone();
    r.filter_expression = Some(FilterExpression {
        r#type: FilterType::Sql as i32,
        expression: String::new(),
    });
    cases.push(("empty sql", r, Code::IllegalFilterExpression));
    let mut r = base.clone();
    r.batch_size = -1;
    cases.push(("negative batch", r, Code::InternalServerError));
    for (what, r, expected) in cases {
        let got = receive(&mut c, r).await;
        assert_eq!(
            code(&Some(got.status.clone())),
            expected,
            "{what}: {:?}",
            got.status
        );
        assert!(got.messages.is_empty() && got.timestamp_last, "{what}");
    }
    // A deadline shorter than the minimal polling time.
    let mut r = req(base.clone());
    r.set_timeout(Duration::from_millis(200));
    r.get_mut().long_polling_timeout = None;
    let got = receive_with(&mut c, r).await;
    assert_eq!(code(&Some(got.status)), Code::IllegalPollingTime);

    // Nothing there yet: MESSAGE_NOT_FOUND after the long polling.
    let t = Instant::now();
    let got = receive(&mut c, base.clone()).await;
    assert_eq!(
        code(&Some(got.status.clone())),
        Code::MessageNotFound,
        "{:?}",
        got.status
    );
    assert_eq!(got.status.message, "no new message");
    assert!(
        t.elapsed() >= Duration::from_millis(450),
        "{:?}",
        t.elapsed()
    );

    // A parked receive is woken by a send.
    let mut c2 = c.clone();
    let mut long = base.clone();
    long.long_polling_timeout = millis(15_000);
    let parked = tokio::spawn(async move { receive(&mut c2, long).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(&mut c, "CNormal", 6, None).await;
    let got = parked.await.unwrap();
    assert_eq!(code(&Some(got.status.clone())), Code::Ok);
    assert!(got.timestamp_last);
    let mut msgs = got.messages;
    msgs.extend(receive_n(&mut c, &base, 6 - msgs.len(), Duration::from_secs(10)).await);
    assert_eq!(msgs.len(), 6, "every message once");
    for m in &msgs {
        let sys = m.system_properties.as_ref().unwrap();
        assert_eq!(attempt(m), 1);
        assert!(sys.born_timestamp.is_some() && sys.store_timestamp.is_some());
        assert_eq!(m.topic.as_ref().unwrap().name, "CNormal");
        // Handle: extraInfo (8 fields) + the commitlog offset.
        assert_eq!(handle(m).split(' ').count(), 9, "{}", handle(m));
    }

    // Ack: two good handles, one unparsable, one expired.
    let entries = vec![
        ack_entry(&msgs[0]),
        ack_entry(&msgs[1]),
        AckMessageEntry {
            message_id: "x".into(),
            receipt_handle: "garbage".into(),
        },
        AckMessageEntry {
            message_id: "y".into(),
            receipt_handle: expired(&handle(&msgs[2])),
        },
    ];
    let r = ack(&mut c, "CNormal", "GNormal", entries).await;
    assert_eq!(code(&r.status), Code::MultipleResults);
    let codes: Vec<Code> = r.entries.iter().map(|e| code(&e.status)).collect();
    assert_eq!(
        codes,
        vec![
            Code::Ok,
            Code::Ok,
            Code::InternalServerError,
            Code::InvalidReceiptHandle
        ]
    );
    assert!(r.entries[2]
        .status
        .as_ref()
        .unwrap()
        .message
        .contains("Parse failed"));
    assert_eq!(
        r.entries[3].status.as_ref().unwrap().message,
        "receipt handle is expired"
    );
    let r = ack(&mut c, "CNormal", "GNormal", vec![ack_entry(&msgs[3])]).await;
    assert_eq!(
        (code(&r.status), r.status.unwrap().message.as_str()),
        (Code::Ok, "OK")
    );
    let r = ack(&mut c, "bad topic", "GNormal", vec![ack_entry(&msgs[4])]).await;
    assert_eq!(code(&r.status), Code::IllegalTopic);

    // ChangeInvisibleDuration: bad durations, an expired handle, then a real change.
    for (h, ms, expected) in [
        (handle(&msgs[4]), -1, Code::IllegalInvisibleTime),
        (
            handle(&msgs[4]),
            13 * 3600 * 1000,
            Code::IllegalInvisibleTime,
        ),
        (expired(&handle(&msgs[4])), 1000, Code::InvalidReceiptHandle),
        ("1 2".to_owned(), 1000, Code::InternalServerError),
    ] {
        let r = change(&mut c, "CNormal", "GNormal", &h, ms).await;
        assert_eq!(code(&r.status), expected, "{h} {ms}: {r:?}");
    }
    // msgs[2], msgs[4], msgs[5] un-acked: msgs[4] becomes visible 1.5 s from now; msgs[2] and
    // msgs[5] keep their 30 s.
    let changed_at = Instant::now();
    let r = change(&mut c, "CNormal", "GNormal", &handle(&msgs[4]), 1500).await;
    assert_eq!(code(&r.status), Code::Ok, "{r:?}");
    assert_ne!(r.receipt_handle, handle(&msgs[4]));
    // Received with 1 s invisible time: had its ack failed, it would be back long before the
    // end of this test.
    let mut short = base.clone();
    short.invisible_duration = millis(1000);
    let again = receive_n(&mut c, &short, 1, Duration::from_secs(20)).await;
    assert!(
        changed_at.elapsed() >= Duration::from_millis(1500),
        "re-delivered early"
    );
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].body, msgs[4].body);
    assert_eq!(attempt(&again[0]), 2);
    let r = ack(&mut c, "CNormal", "GNormal", vec![ack_entry(&again[0])]).await;
    assert_eq!(code(&r.status), Code::Ok, "{r:?}");
    // The old handle of a changed message was acked by the change.
    let r = ack(
        &mut c,
        "CNormal",
        "GNormal",
        vec![ack_entry(&msgs[5]), ack_entry(&msgs[2])],
    )
    .await;
    assert_eq!(code(&r.status), Code::Ok, "{r:?}");

    // The batch cap: 40 messages, at most 32 a call.
    send(&mut c, "CCap", 40, None).await;
    let r = receive(&mut c, receive_request("CCap", "GCap", 1000, 30_000)).await;
    assert!(
        r.messages.len() <= 32 && !r.messages.is_empty(),
        "{}",
        r.messages.len()
    );
    let rest = receive_n(
        &mut c,
        &receive_request("CCap", "GCap", 1000, 30_000),
        40 - r.messages.len(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(r.messages.len() + rest.len(), 40);
    // A TAG filter.
    send(&mut c, "CCap", 4, None).await;
    let mut tag_b = receive_request("CCap", "GCap", 32, 30_000);
    tag_b.filter_expression = Some(FilterExpression {
        r#type: FilterType::Tag as i32,
        expression: "TagB".into(),
    });
    let got = receive_n(&mut c, &tag_b, 2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2);
    assert!(got
        .iter()
        .all(|m| m.system_properties.as_ref().unwrap().tag.as_deref() == Some("TagB")));

    // DLQ after max attempts: GDlq has retryMaxTimes 1, so 2 attempts.
    send(&mut c, "CDlq", 1, None).await;
    let dlq = receive_request("CDlq", "GDlq", 32, 1000);
    let first = receive_n(&mut c, &dlq, 1, Duration::from_secs(10)).await;
    assert_eq!(attempt(&first[0]), 1);
    let second = receive_n(&mut c, &dlq, 1, Duration::from_secs(30)).await;
    assert_eq!(second.len(), 1, "re-delivered after its invisible time");
    assert_eq!(attempt(&second[0]), 2);
    assert_eq!(second[0].body, first[0].body);
    let end = Instant::now() + Duration::from_secs(30);
    while max_offset(&mut c, "%DLQ%GDlq").await < 1 {
        assert!(Instant::now() < end, "not moved to the DLQ");
        let third = receive(&mut c, dlq.clone()).await;
        assert!(third.messages.is_empty(), "delivered a third time");
    }
    // ForwardMessageToDeadLetterQueue.
    send(&mut c, "CDlq", 1, None).await;
    let m = receive_n(&mut c, &dlq, 1, Duration::from_secs(10)).await;
    let r = c
        .forward_message_to_dead_letter_queue(req(ForwardMessageToDeadLetterQueueRequest {
            group: resource("GDlq"),
            topic: resource("CDlq"),
            receipt_handle: handle(&m[0]),
            message_id: m[0].system_properties.as_ref().unwrap().message_id.clone(),
            delivery_attempt: 1,
            max_delivery_attempts: 2,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&r.status), Code::Ok, "{r:?}");
    assert_eq!(max_offset(&mut c, "%DLQ%GDlq").await, 2);
    let r = c
        .forward_message_to_dead_letter_queue(req(ForwardMessageToDeadLetterQueueRequest {
            group: resource("GDlq"),
            topic: resource("CDlq"),
            receipt_handle: "garbage".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&r.status), Code::InternalServerError);

    // FIFO: a group consuming orderly gets one queue's messages in order, the next batch of a
    // queue only after the previous one is acked.
    send(&mut c, "CFifo", 6, Some("g1")).await;
    let fifo = receive_request("CFifo", "GFifo", 32, 30_000);
    let got = receive_n(&mut c, &fifo, 6, Duration::from_secs(10)).await;
    let bodies: Vec<String> = got
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    assert_eq!(
        bodies,
        (0..6).map(|i| format!("CFifo-{i}")).collect::<Vec<_>>()
    );
    assert!(got.iter().all(|m| m
        .system_properties
        .as_ref()
        .unwrap()
        .message_group
        .as_deref()
        == Some("g1")));
    send(&mut c, "CFifo", 1, Some("g1")).await;
    let blocked = receive(&mut c, fifo.clone()).await;
    assert!(
        blocked.messages.is_empty(),
        "the queue is blocked by un-acked messages"
    );
    let r = ack(
        &mut c,
        "CFifo",
        "GFifo",
        got.iter().map(ack_entry).collect(),
    )
    .await;
    assert_eq!(code(&r.status), Code::Ok, "{r:?}");
    let next = receive_n(&mut c, &fifo, 1, Duration::from_secs(10)).await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].body, Bytes::from("CFifo-0"));

    // Every CNormal message was acked, the re-delivered one (from the pop retry topic, 1 s
    // invisible) seconds ago: none comes back.
    let got = receive(&mut c, base.clone()).await;
    assert_eq!(code(&Some(got.status)), Code::MessageNotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_ack_acks_every_live_handle_in_one_request() {
    let dir = temp_dir("grpc-batch-ack");
    let broker = start_grpc_broker(
        &dir,
        &[("topics.json", TOPICS)],
        &format!("{CONSUMER_CONF}enableBatchAck=true\n"),
    );
    let mut c = connect(broker.grpc_port).await;
    send(&mut c, "CNormal", 20, None).await;
    let r = receive_request("CNormal", "GBatch", 32, 1000);
    let got = receive_n(&mut c, &r, 20, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 20);
    // A garbled handle fails the whole request; nothing is acked.
    let mut entries: Vec<AckMessageEntry> = got.iter().map(ack_entry).collect();
    entries.push(AckMessageEntry {
        message_id: "x".into(),
        receipt_handle: "garbled".into(),
    });
    let a = ack(&mut c, "CNormal", "GBatch", entries).await;
    assert_eq!(code(&a.status), Code::InternalServerError);
    assert!(a.entries.is_empty());
    // 19 live handles and one expired one (got[0]'s, which stays un-acked).
    let mut entries: Vec<AckMessageEntry> = got.iter().map(ack_entry).collect();
    entries[0].receipt_handle = expired(&entries[0].receipt_handle);
    let a = ack(&mut c, "CNormal", "GBatch", entries).await;
    assert_eq!(code(&a.status), Code::MultipleResults, "{a:?}");
    assert_eq!(code(&a.entries[0].status), Code::InvalidReceiptHandle);
    assert!(a.entries[1..].iter().all(|e| code(&e.status) == Code::Ok));
    // Only got[0] comes back after its 1 s.
    let back = receive_n(&mut c, &r, 1, Duration::from_secs(20)).await;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body, got[0].body);
    assert_eq!(attempt(&back[0]), 2);
    let a = ack(&mut c, "CNormal", "GBatch", vec![ack_entry(&back[0])]).await;
    assert_eq!(code(&a.status), Code::Ok);
    // A receive held 3 s, well past the 1 s invisible time: an un-acked message would come.
    let mut held = r.clone();
    held.long_polling_timeout = millis(3000);
    let none = receive(&mut c, held).await;
    assert!(none.messages.is_empty(), "an acked message came back");
}
