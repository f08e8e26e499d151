//! RECALL_MESSAGE (370) end to end, with the headers the 5.3.3 Java client writes
//! (`DefaultMQProducerImpl.recallMessage` → `MQClientAPIImpl.recallMessage`: `producerGroup`,
//! `topic`, `recallHandle`, the handle taken from the send result's `recallHandle`, which
//! `MQClientAPIImpl.processSendResponse` reads from the SEND_MESSAGE_V2 answer). The broker
//! binary on free ports:
//!
//! - a timer message's send answer carries the handle (`v1 topic broker time uniqKey`,
//!   URL-safe Base64); a plain message's does not;
//! - with `recallMessageEnable=true`, a recalled timer message never reaches its topic while
//!   one sent beside it does; Java's refusals for a bad handle, another topic, an unknown
//!   topic;
//! - with the 5.3.3 default (`recallMessageEnable=false`): NO_PERMISSION.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use common::*;
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::RemotingCommand;

/// A 5.x timer message (`Message.setDeliverTimeMs` → TIMER_DELIVER_MS) sent with
/// SEND_MESSAGE_V2.
fn send_timer(topic: &str, uniq: &str, deliver_ms: i64) -> RemotingCommand {
    let props = format!(
        "TIMER_DELIVER_MS\u{1}{deliver_ms}\u{2}UNIQ_KEY\u{1}{uniq}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}t\u{2}"
    );
    RemotingCommand::request(request::SEND_MESSAGE_V2, &send_v2_header(topic, 0, &props))
        .with_body(Bytes::from(format!("body {uniq}")))
}

fn recall(topic: &str, handle: &str) -> RemotingCommand {
    java_request(
        request::RECALL_MESSAGE,
        &[
            ("producerGroup", "PG".to_owned()),
            ("topic", topic.to_owned()),
            ("recallHandle", handle.to_owned()),
        ],
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn handle_of(client: &RemotingClient, req: RemotingCommand) -> Option<String> {
    let resp = client.invoke(req, TIMEOUT).await.unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    resp.ext_field("recallHandle").map(str::to_owned)
}

fn decoded(handle: &str) -> Vec<String> {
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(handle)
        .unwrap();
    String::from_utf8(raw)
        .unwrap()
        .split(' ')
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recalled_timer_message_is_never_delivered() {
    let dir = temp_dir("recall");
    let broker = start_broker(&dir, free_port_pair(), None, "recallMessageEnable=true\n");
    let client = broker.client().await;
    // A plain message first (creates the topic): no handle.
    assert_eq!(
        handle_of(&client, send_v2("TR", 0, "t", b"plain")).await,
        None
    );
    let due = now_ms() + 4000;
    let recalled = handle_of(&client, send_timer("TR", "UNIQ-RECALLED", due))
        .await
        .expect("a timer message's answer has a recallHandle");
    let kept = handle_of(&client, send_timer("TR", "UNIQ-KEPT", due)).await;
    assert!(kept.is_some());
    let parts = decoded(&recalled);
    assert_eq!(parts[0], "v1");
    assert_eq!(parts[1], "TR");
    assert_eq!(parts[4], "UNIQ-RECALLED");
    let at: i64 = parts[3].parse().unwrap();
    assert!(at > due - 1000 && at <= due + 1, "{at} vs {due}");

    // Refusals first: another topic, a handle that is not one, an unknown topic.
    let resp = client
        .invoke(recall("TR2", &recalled), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::TOPIC_NOT_EXIST);
    assert_eq!(
        resp.remark.as_deref(),
        Some("recall failed, the topic[TR2] not exist")
    );
    client
        .invoke(send_v2("TR2", 0, "t", b"x"), TIMEOUT)
        .await
        .unwrap();
    let resp = client
        .invoke(recall("TR2", &recalled), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::ILLEGAL_OPERATION);
    assert_eq!(
        resp.remark.as_deref(),
        Some("recall failed, topic not match")
    );
    let resp = client
        .invoke(recall("TR", "not a handle"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::ILLEGAL_OPERATION);
    assert_eq!(resp.remark.as_deref(), Some("recall handle is invalid"));
    assert_eq!(resp.ext_field("MSG_REGION"), Some("DefaultRegion"));

    // The recall: SUCCESS with the message's UNIQ_KEY.
    let resp = client
        .invoke(recall("TR", &recalled), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(resp.ext_field("msgId"), Some("UNIQ-RECALLED"));

    // The other one arrives; once it has, and a second has passed, the recalled one has not.
    let got = pull_n(&client, "TR", 0, 2).await;
    assert_eq!(&got[1].body[..], b"body UNIQ-KEPT");
    let quiet_until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < quiet_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let req = java_request(
        request::GET_MAX_OFFSET,
        &[("topic", "TR".to_owned()), ("queueId", "0".to_owned())],
    );
    let resp = client.invoke(req, TIMEOUT).await.unwrap();
    assert_eq!(
        resp.ext_field("offset"),
        Some("2"),
        "only the plain and the kept message"
    );

    // A handle whose time has passed.
    let resp = client
        .invoke(recall("TR", &kept.unwrap()), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::ILLEGAL_OPERATION);
    assert_eq!(
        resp.remark.as_deref(),
        Some("recall failed, timestamp invalid")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_is_forbidden_by_default_as_in_5_3_3() {
    let dir = temp_dir("recall-off");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    let handle = handle_of(&client, send_timer("TF", "U1", now_ms() + 60_000))
        .await
        .unwrap();
    let resp = client.invoke(recall("TF", &handle), TIMEOUT).await.unwrap();
    assert_eq!(resp.code, response::NO_PERMISSION);
    assert_eq!(
        resp.remark.as_deref(),
        Some("recall failed, operation is forbidden")
    );
}
