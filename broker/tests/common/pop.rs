//! A POP consumer over our remoting client, sending exactly the headers 5.3.3's Java client
//! sends (`MQClientAPIImpl.popMessageAsync` / `ackMessageAsync` / `changeInvisibleTimeAsync`)
//! and building each message's receipt handle (extraInfo) as its `processPopResponse` does:
//! the record's `POP_CK` when it has one (a message from the pop retry topic), else
//! `ExtraInfoUtil.buildExtraInfo(startOffset of its queue, popTime, invisibleTime, reviveQid,
//! topic, brokerName, queueId, queueOffset)`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::message::message_const::PROPERTY_POP_CK;
use remoting_codec::message::StoredMessage;
use remoting_codec::protocol::pop::{
    offset_info_key, parse_start_offset_info, AckMessageRequestHeader,
    ChangeInvisibleTimeRequestHeader, ExtraInfo, PopMessageRequestHeader,
};
use remoting_codec::RemotingCommand;

use super::{records, send_v2_header, TIMEOUT};

/// A popped message with its receipt handle.
#[derive(Clone, Debug)]
pub struct Popped {
    pub msg: StoredMessage,
    pub extra_info: String,
}

impl Popped {
    pub fn body(&self) -> String {
        String::from_utf8_lossy(&self.msg.body).into_owned()
    }
}

pub fn pop_request(
    group: &str,
    topic: &str,
    queue_id: i32,
    max: i32,
    invisible_ms: i64,
    poll_ms: i64,
    order: bool,
) -> RemotingCommand {
    RemotingCommand::request(
        request::POP_MESSAGE,
        &PopMessageRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            max_msg_nums: max,
            invisible_time: invisible_ms,
            poll_time: poll_ms,
            born_time: broker::now_millis(),
            init_mode: 1,
            exp_type: Some("TAG".into()),
            exp: Some("*".into()),
            order: Some(order),
            attempt_id: None,
        },
    )
}

/// The messages of a POP answer with their handles (`broker`: the brokerName of the route).
pub fn popped(resp: &RemotingCommand, topic: &str, broker: &str) -> Vec<Popped> {
    if resp.code != 0 {
        return Vec::new();
    }
    let field = |k: &str| resp.ext_field(k).unwrap_or("").to_owned();
    let pop_time: i64 = field("popTime").parse().unwrap();
    let invisible: i64 = field("invisibleTime").parse().unwrap();
    let revive_qid: i32 = field("reviveQid").parse().unwrap();
    let starts = parse_start_offset_info(&field("startOffsetInfo")).unwrap_or_default();
    records(resp)
        .into_iter()
        .map(|msg| {
            let extra_info = match msg.properties.get(PROPERTY_POP_CK) {
                Some(ck) => ck.to_owned(),
                None => ExtraInfo::build(
                    starts[&offset_info_key(&msg.topic, i64::from(msg.queue_id))],
                    pop_time,
                    invisible,
                    revive_qid,
                    topic,
                    broker,
                    msg.queue_id,
                    Some(msg.queue_offset),
                ),
            };
            Popped { msg, extra_info }
        })
        .collect()
}

pub async fn pop(
    client: &RemotingClient,
    group: &str,
    topic: &str,
    invisible_ms: i64,
    poll_ms: i64,
) -> (RemotingCommand, Vec<Popped>) {
    let resp = client
        .invoke(
            pop_request(group, topic, -1, 32, invisible_ms, poll_ms, false),
            TIMEOUT,
        )
        .await
        .unwrap();
    let list = popped(&resp, topic, "broker-t");
    (resp, list)
}

fn handle_fields(group: &str, topic: &str, p: &Popped) -> (String, i32, i64) {
    let info = ExtraInfo::parse(&p.extra_info).unwrap();
    (
        info.real_topic(topic, group),
        info.queue_id,
        info.queue_offset.unwrap(),
    )
}

pub fn ack_request(group: &str, topic: &str, p: &Popped) -> RemotingCommand {
    let (real, queue_id, offset) = handle_fields(group, topic, p);
    RemotingCommand::request(
        request::ACK_MESSAGE,
        &AckMessageRequestHeader {
            consumer_group: group.into(),
            topic: real,
            queue_id,
            extra_info: p.extra_info.clone(),
            offset,
        },
    )
}

pub async fn ack(client: &RemotingClient, group: &str, topic: &str, p: &Popped) {
    let resp = client
        .invoke(ack_request(group, topic, p), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, 0, "ack: {:?}", resp.remark);
}

pub fn change_request(group: &str, topic: &str, p: &Popped, invisible_ms: i64) -> RemotingCommand {
    let (real, queue_id, offset) = handle_fields(group, topic, p);
    RemotingCommand::request(
        request::CHANGE_MESSAGE_INVISIBLETIME,
        &ChangeInvisibleTimeRequestHeader {
            consumer_group: group.into(),
            topic: real,
            queue_id,
            extra_info: p.extra_info.clone(),
            offset,
            invisible_time: invisible_ms,
        },
    )
}

pub const GROUP: &str = "GPop";

pub fn send(topic: &str, queue_id: i32, body: String) -> RemotingCommand {
    let props = format!("UNIQ_KEY\u{1}{body}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}t");
    RemotingCommand::request(
        request::SEND_MESSAGE_V2,
        &send_v2_header(topic, queue_id, &props),
    )
    .with_body(Bytes::from(body))
}

pub async fn send_all(client: &RemotingClient, topic: &str, n: usize, prefix: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for i in 0..n {
        let body = format!("{prefix}{i}");
        let resp = client
            .invoke(send(topic, (i % 2) as i32, body.clone()), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
        bodies.push(body);
    }
    bodies
}

/// Pops until `n` messages arrived (long polls of 2 s), or the deadline.
pub async fn pop_n(client: &RemotingClient, topic: &str, n: usize, invisible: i64) -> Vec<Popped> {
    let deadline = Instant::now() + TIMEOUT;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        let (_, list) = pop(client, GROUP, topic, invisible, 2000).await;
        got.extend(list);
    }
    got
}

/// Pops (acking everything) until the bodies in `want` all came back; each arrival time.
pub async fn redeliveries(
    client: &RemotingClient,
    topic: &str,
    want: &BTreeSet<String>,
) -> BTreeMap<String, Vec<i64>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    while !want.iter().all(|b| seen.contains_key(b)) {
        assert!(
            Instant::now() < deadline,
            "not redelivered: {:?}",
            want.iter()
                .filter(|b| !seen.contains_key(*b))
                .collect::<Vec<_>>()
        );
        let (_, list) = pop(client, GROUP, topic, 60_000, 2000).await;
        let now = broker::now_millis();
        for p in list {
            seen.entry(p.body()).or_default().push(now);
            ack(client, GROUP, topic, &p).await;
        }
    }
    seen
}
