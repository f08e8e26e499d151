//! Request-reply end to end (SEND_REPLY_MESSAGE_V2 325, Java's `ReplyMessageProcessor`): the
//! broker binary on free ports; a requester connection that heartbeats as a producer (its client
//! id) and answers PUSH_REPLY_MESSAGE_TO_CLIENT (326), and a replier that sends the reply with
//! the 5.3.3 client's headers (`MQClientAPIImpl.sendMessage` for a message of type reply,
//! `sendSmartMsg`: the V2 header) and properties (`MessageUtil.createReplyMessage`). The reply
//! is pushed, answered SUCCESS and stored; an unknown or missing requester gets Java's
//! SYSTEM_ERROR remarks and the reply is stored anyway.

mod common;

use bytes::Bytes;
use common::*;
use remoting_codec::code::{request, response};
use remoting_codec::fastjson;
use remoting_codec::protocol::client::{HeartbeatData, ProducerData};
use remoting_codec::RemotingCommand;

const BROKER_NAME: &str = "broker-a";

/// A reply as `MessageUtil.createReplyMessage` builds it (MSG_TYPE=reply, CORRELATION_ID,
/// REPLY_TO_CLIENT, TTL) and `MQClientAPIImpl.sendMessage` sends it for a reply message with
/// `sendSmartMsg`: SEND_REPLY_MESSAGE_V2 with the V2 header.
fn java_reply(reply_to: Option<&str>, body: &'static str) -> RemotingCommand {
    let mut props =
        String::from("MSG_TYPE\u{1}reply\u{2}CORRELATION_ID\u{1}corr-1\u{2}TTL\u{1}3000\u{2}");
    if let Some(to) = reply_to {
        props.push_str(&format!("REPLY_TO_CLIENT\u{1}{to}\u{2}"));
    }
    props.push_str("UNIQ_KEY\u{1}7F0000010001000000000000000000AA\u{2}WAIT\u{1}true\u{2}");
    let fields = java533_send_fields(
        "ReplierGroup",
        "DefaultCluster_REPLY_TOPIC",
        props,
        BROKER_NAME,
    );
    java_request(request::SEND_REPLY_MESSAGE_V2, &fields)
        .with_body(Bytes::from_static(body.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_is_pushed_to_the_requester_and_stored() {
    use std::sync::{Arc, Mutex};
    let dir = temp_dir("reply");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    // The requester: a producer whose heartbeat names its client id, answering the push.
    let pushed: Arc<Mutex<Vec<RemotingCommand>>> = Arc::default();
    let sink = pushed.clone();
    let stream = tokio::net::TcpStream::connect(broker.addr()).await.unwrap();
    let requester = remoting::Connection::spawn(
        stream,
        remoting_codec::DEFAULT_MAX_FRAME_LENGTH,
        move |conn, request| {
            let answer = RemotingCommand::response_to(&request, response::SUCCESS);
            sink.lock().unwrap().push(request);
            tokio::spawn(async move { conn.send(answer).await });
        },
    );
    let heartbeat = HeartbeatData {
        client_id: "127.0.0.1@requester#1".into(),
        producer_data_set: vec![ProducerData {
            group_name: "RequesterGroup".into(),
        }],
        ..Default::default()
    };
    let resp = requester
        .invoke(
            RemotingCommand::request_without_header(request::HEART_BEAT)
                .with_body(fastjson::to_vec(&heartbeat).unwrap()),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);

    let replier = broker.client().await;
    let resp = replier
        .invoke(
            java_reply(Some("127.0.0.1@requester#1"), "the answer"),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(resp.ext_field("MSG_REGION"), Some("DefaultRegion"));
    // Stored (storeReplyMessageEnable): the header names the stored record.
    assert_eq!(resp.ext_field("queueOffset"), Some("0"));
    assert_eq!(resp.ext_field("msgId").map(str::len), Some(32));
    let push = pushed.lock().unwrap().clone();
    assert_eq!(push.len(), 1);
    assert_eq!(push[0].code, request::PUSH_REPLY_MESSAGE_TO_CLIENT);
    assert_eq!(&push[0].body[..], b"the answer");
    assert_eq!(
        push[0].ext_field("topic"),
        Some("DefaultCluster_REPLY_TOPIC")
    );
    assert_eq!(push[0].ext_field("producerGroup"), Some("ReplierGroup"));
    let props = push[0].ext_field("properties").unwrap();
    assert!(props.contains("CORRELATION_ID\u{1}corr-1"), "{props:?}");
    assert!(props.contains("PUSH_REPLY_TIME\u{1}"), "{props:?}");
    assert!(push[0].ext_field("bornHost").is_some() && push[0].ext_field("storeHost").is_some());

    // Nobody to push to: Java's refusals, the reply still stored.
    let resp = replier
        .invoke(java_reply(Some("127.0.0.1@gone#9"), "lost"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("push reply message fail, channel of <127.0.0.1@gone#9> not found.")
    );
    assert_eq!(resp.ext_field("queueOffset"), Some("1"));
    let resp = replier
        .invoke(java_reply(None, "to whom"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("reply message properties[REPLY_TO_CLIENT] is null")
    );
    // The three replies are in the reply topic, as sent.
    let stored = pull_n(&replier, "DefaultCluster_REPLY_TOPIC", 0, 3).await;
    let bodies: Vec<&[u8]> = stored.iter().map(|m| &m.body[..]).collect();
    assert_eq!(bodies, [&b"the answer"[..], b"lost", b"to whom"]);
    assert_eq!(stored[0].properties.get("CORRELATION_ID"), Some("corr-1"));
    assert_eq!(pushed.lock().unwrap().len(), 1, "no other push");
}
