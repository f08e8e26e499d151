//! POP consume TPS against pull consume TPS on the same backlog (issue 18; run by
//! `scripts/bench-pop`).
//!
//! Usage: pop <broker-addr> [messages] [queues] [parallel]
//!
//! 1. UPDATE_AND_CREATE_TOPIC `PopBench` with `queues` queues, then `messages` 1 KiB messages
//!    (SEND_MESSAGE_V2, 16 senders, queues round robin).
//! 2. pull: a new group pulls every queue from offset 0 to its max, 32 per pull, all queues in
//!    parallel (as a push consumer's pull service).
//! 3. pop: another new group, `parallel` poppers (POP_MESSAGE queueId −1, maxMsgNums 32,
//!    invisibleTime 60 s, as the 5.x push consumer in POP mode), each answer acked with one
//!    BATCH_ACK_MESSAGE per queue (the bits of the popped offsets, as the Java client's batch
//!    ack); until every message was popped. Each message must come exactly once (a duplicate or
//!    a missing one fails the run).
//!
//! Prints messages/s of both and the ratio.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::message::decode_records;
use remoting_codec::message::sysflag::pull_sys_flag::FLAG_SUBSCRIPTION;
use remoting_codec::protocol::pop::{parse_start_offset_info, PopMessageRequestHeader};
use remoting_codec::protocol::pull::PullMessageRequestHeader;
use remoting_codec::protocol::send::SendMessageRequestHeaderV2;
use remoting_codec::protocol::topic_admin::CreateTopicRequestHeader;
use remoting_codec::protocol::TopicConfig;
use remoting_codec::RemotingCommand;

const TOPIC: &str = "PopBench";
const TIMEOUT: Duration = Duration::from_secs(60);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn load(addr: SocketAddr, messages: u64, queues: i32) {
    let client = RemotingClient::connect(addr).await.unwrap();
    let mut config = TopicConfig::new(TOPIC);
    config.read_queue_nums = queues;
    config.write_queue_nums = queues;
    let header = CreateTopicRequestHeader::from_topic_config(&config);
    let resp = client
        .invoke(
            RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC, &header),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let body = Bytes::from(vec![b'x'; 1024]);
    let mut tasks = Vec::new();
    for s in 0..16u64 {
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let client = RemotingClient::connect(addr).await.unwrap();
            let mut i = s;
            while i < messages {
                let header = SendMessageRequestHeaderV2 {
                    producer_group: "PopBenchProducer".into(),
                    topic: TOPIC.into(),
                    default_topic: "TBW102".into(),
                    default_topic_queue_nums: 4,
                    queue_id: (i % queues as u64) as i32,
                    sys_flag: 0,
                    born_timestamp: now_ms(),
                    flag: 0,
                    properties: Some(format!("UNIQ_KEY\u{1}U{i}\u{2}WAIT\u{1}true\u{2}")),
                    reconsume_times: Some(0),
                    unit_mode: false,
                    max_reconsume_times: None,
                    batch: false,
                    broker_name: None,
                };
                let req = RemotingCommand::request(request::SEND_MESSAGE_V2, &header)
                    .with_body(body.clone());
                let resp = client.invoke(req, TIMEOUT).await.unwrap();
                assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
                i += 16;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

async fn max_offset(client: &RemotingClient, queue_id: i32) -> i64 {
    let req = RemotingCommand::request_without_header(request::GET_MAX_OFFSET)
        .with_ext_field("topic", TOPIC)
        .with_ext_field("queueId", queue_id.to_string());
    let resp = client.invoke(req, TIMEOUT).await.unwrap();
    resp.ext_field("offset").unwrap().parse().unwrap()
}

async fn pull_all(addr: SocketAddr, queues: i32) -> (u64, Duration) {
    let begin = Instant::now();
    let mut tasks = Vec::new();
    for q in 0..queues {
        tasks.push(tokio::spawn(async move {
            let client = RemotingClient::connect(addr).await.unwrap();
            let max = max_offset(&client, q).await;
            let (mut offset, mut got) = (0i64, 0u64);
            while offset < max {
                let header = PullMessageRequestHeader {
                    consumer_group: "PopBenchPull".into(),
                    topic: TOPIC.into(),
                    queue_id: q,
                    queue_offset: offset,
                    max_msg_nums: 32,
                    sys_flag: FLAG_SUBSCRIPTION,
                    commit_offset: 0,
                    suspend_timeout_millis: 0,
                    subscription: Some("*".into()),
                    sub_version: 0,
                    expression_type: Some("TAG".into()),
                    max_msg_bytes: None,
                    request_source: None,
                    proxy_froward_client_id: None,
                };
                let req = RemotingCommand::request(request::PULL_MESSAGE, &header);
                let resp = client.invoke(req, TIMEOUT).await.unwrap();
                if resp.code == response::SUCCESS {
                    got += decode_records(&resp.body).count() as u64;
                }
                offset = resp.ext_field("nextBeginOffset").unwrap().parse().unwrap();
            }
            got
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    (total, begin.elapsed())
}

async fn pop_all(addr: SocketAddr, messages: u64, parallel: usize) -> (u64, Duration) {
    let seen: Arc<Mutex<HashSet<(i32, i64)>>> = Arc::default();
    let begin = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..parallel {
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            let client = RemotingClient::connect(addr).await.unwrap();
            let deadline = Instant::now() + Duration::from_secs(600);
            while (seen.lock().unwrap().len() as u64) < messages {
                assert!(Instant::now() < deadline, "pop did not finish");
                let header = PopMessageRequestHeader {
                    consumer_group: "PopBenchPop".into(),
                    topic: TOPIC.into(),
                    queue_id: -1,
                    max_msg_nums: 32,
                    invisible_time: 60_000,
                    poll_time: 0,
                    born_time: now_ms(),
                    init_mode: 0,
                    exp_type: Some("TAG".into()),
                    exp: Some("*".into()),
                    order: Some(false),
                    attempt_id: None,
                };
                let req = RemotingCommand::request(request::POP_MESSAGE, &header);
                let resp = client.invoke(req, TIMEOUT).await.unwrap();
                if resp.code != response::SUCCESS {
                    continue;
                }
                let field = |k: &str| resp.ext_field(k).unwrap_or("").to_owned();
                let starts = parse_start_offset_info(&field("startOffsetInfo")).unwrap();
                // Bits per queue, from the queue's start offset.
                let mut bits: BTreeMap<i32, Vec<u8>> = BTreeMap::new();
                for r in decode_records(&resp.body) {
                    let m = r.unwrap();
                    assert!(
                        seen.lock().unwrap().insert((m.queue_id, m.queue_offset)),
                        "{}:{} popped twice",
                        m.queue_id,
                        m.queue_offset
                    );
                    let start = starts[&format!("0@{}", m.queue_id)];
                    let bit = (m.queue_offset - start) as usize;
                    let v = bits.entry(m.queue_id).or_default();
                    if v.len() <= bit / 8 {
                        v.resize(bit / 8 + 1, 0);
                    }
                    v[bit / 8] |= 1 << (bit % 8);
                }
                let acks: Vec<String> = bits
                    .iter()
                    .map(|(q, b)| {
                        format!(
                            r#"{{"b":"{}","c":"PopBenchPop","it":{},"pt":{},"q":{q},"r":"0","rq":{},"so":{},"t":"{TOPIC}"}}"#,
                            base64(b),
                            field("invisibleTime"),
                            field("popTime"),
                            field("reviveQid"),
                            starts[&format!("0@{q}")]
                        )
                    })
                    .collect();
                let body = format!(r#"{{"acks":[{}],"brokerName":"bench"}}"#, acks.join(","));
                let ack = RemotingCommand::request_without_header(request::BATCH_ACK_MESSAGE)
                    .with_body(body);
                let resp = client.invoke(ack, TIMEOUT).await.unwrap();
                assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = seen.lock().unwrap().len() as u64;
    (n, begin.elapsed())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr: SocketAddr = args.get(1).expect("broker address").parse().unwrap();
    let messages: u64 = args.get(2).map_or(100_000, |s| s.parse().unwrap());
    let queues: i32 = args.get(3).map_or(8, |s| s.parse().unwrap());
    let parallel: usize = args.get(4).map_or(8, |s| s.parse().unwrap());
    let t = Instant::now();
    load(addr, messages, queues).await;
    println!(
        "loaded {messages} x 1 KiB into {queues} queues in {:?}",
        t.elapsed()
    );
    let (pulled, pull_time) = pull_all(addr, queues).await;
    assert_eq!(pulled, messages, "pull delivered every message");
    let (popped, pop_time) = pop_all(addr, messages, parallel).await;
    assert_eq!(popped, messages, "pop delivered every message once");
    let pull_tps = pulled as f64 / pull_time.as_secs_f64();
    let pop_tps = popped as f64 / pop_time.as_secs_f64();
    println!("| consume | messages | seconds | msg/s |");
    println!("|---|---|---|---|");
    println!(
        "| pull (32/pull, {queues} queues in parallel) | {pulled} | {:.2} | {pull_tps:.0} |",
        pull_time.as_secs_f64()
    );
    println!(
        "| pop + batch ack (32/pop, {parallel} poppers) | {popped} | {:.2} | {pop_tps:.0} |",
        pop_time.as_secs_f64()
    );
    println!("pop/pull: {:.2}", pop_tps / pull_tps);
}
