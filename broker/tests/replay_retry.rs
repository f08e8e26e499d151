//! Replay of the recorded retry/DLQ run (s06-retry-dlq) against our broker and namesrv
//! processes, on the recorded broker.conf (delay levels "1s 2s 3s ..."), each answer compared
//! with the Java 4.9.8 answer by `harness::compare` (code, remark, extFields, JSON bodies,
//! pulled messages field by field: commitlog offsets and properties included).
//!
//! Why this scenario has its own driver: its answers depend on time. A send-back parks the
//! message for 3 or 4 s before the schedule service delivers it to `%RETRY%<group>`, and the
//! consumers' long polls are answered when that happens, often after later requests of the
//! capture were sent. So the replay keeps the capture's clock and causality:
//! - each request is sent no earlier than its recorded time after the start;
//! - and only after our answer to every request whose recorded answer came before it in the
//!   capture (a consumer sends a message back only after pulling it);
//! - and only after our answer to the earlier requests of its connection other than pulls
//!   (which the broker may hold), and 100 ms after an earlier pull of its connection (Java had
//!   checked those pulls against the subscription before the next heartbeat changed it);
//! - requests are sent without waiting for their own answer, which is compared when it comes.
//!
//! The clock matters for the commitlog offsets the consumers send back (`offset` 907, 1955,
//! 1606): they are where Java appended each copy, and they are ours only if the copies are
//! appended in Java's order (retry_group's second send-back before throw_group's first copy is
//! delivered, as in the recording).
//!
//! Exceptions, as in `replay.rs`: a send's `msgId`; store timestamps and hosts of pulled
//! messages, whose properties are compared as a map; and, for the same reason (the broker's
//! port), the host part of `ORIGIN_MESSAGE_ID` (an offsetMsgId of the original): ours must
//! name our broker's host:port and the same commitlog offset as Java's. Long polls the Java broker still held at
//! the end have no recorded answer: if ours answers one, it must be a pull status. Oneway
//! UPDATE_CONSUMER_OFFSET requests are sent at their time and not answered.

mod harness;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use harness::compare::compare;
use harness::replay::{check_broker_requests, finish_parked, Answer, ReplayCluster, PULL_STATUSES};
use harness::{read_capture, recorded_response, Client, RecordedClock};
use remoting_codec::code::request as req;
use remoting_codec::message::message_const::PROPERTY_ORIGIN_MESSAGE_ID;
use remoting_codec::message::record::decode_records;
use remoting_codec::message::OffsetMessageId;

const SCENARIO: &str = "s06-retry-dlq";

/// How long a request waits after a pull sent before it on the same connection.
const PULL_HEAD_START: Duration = Duration::from_millis(100);

#[test]
fn replay_retry_and_dlq_on_the_recorded_clock() {
    let cluster = ReplayCluster::start(SCENARIO);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut failures = Vec::new();
    let compared = rt.block_on(replay(cluster.broker.addr(), &mut failures));
    cluster.stop(SCENARIO);
    println!("compared {compared} responses");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // 1 send, 8 heartbeats, 10 member lists, 10 offset queries, 18 answered pulls, 5
    // send-backs (36), 6 unregisters.
    assert_eq!(compared, 58, "not every recorded answer was compared");
}

async fn replay(addr: SocketAddr, failures: &mut Vec<String>) -> usize {
    let frames = read_capture(&format!("{SCENARIO}.jsonl"));
    let ts = |i: usize| frames[i].record["ts"].as_f64().unwrap();
    let requests: Vec<usize> = (0..frames.len())
        .filter(|&i| {
            let f = &frames[i];
            f.to_broker() && f.is_c2s() && !f.is_response()
        })
        .collect();
    let t0 = ts(requests[0]);
    let start = Instant::now();
    let clock = RecordedClock::starting_now(&frames, requests[0]);
    let mut clients: BTreeMap<i64, Client> = BTreeMap::new();
    // Sent, answer not yet compared: (request index, recorded answer index, our answer).
    let mut pending: Vec<(usize, usize, Answer)> = Vec::new();
    let mut parked: Vec<(String, Answer)> = Vec::new();
    let mut last_pull: HashMap<i64, Instant> = HashMap::new();
    let mut compared = 0;

    for &i in &requests {
        let f = &frames[i];
        // Causality: what the client had received before sending this request; and the
        // earlier requests of its connection other than (long-held) pulls, which the Java
        // broker had handled before this one (a heartbeat before the pull that relies on it).
        let (due, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(j, r, _)| {
            *r < i || (frames[*j].conn() == f.conn() && frames[*j].code() != req::PULL_MESSAGE)
        });
        pending = later;
        for (j, r, answer) in due {
            compared += check(&frames, j, r, answer, addr, clock, failures).await;
        }
        let mut at = start + Duration::from_secs_f64(ts(i) - t0);
        // A pull is checked against the group's subscription when it arrives; Java had checked
        // the capture's pulls before the heartbeat that followed them on their connection
        // (1 ms later) changed it. Our broker handles each request in a task of its own, so
        // a request right after a pull on the same connection waits a little longer.
        if let Some(pulled) = last_pull.get(&f.conn()) {
            at = at.max(*pulled + PULL_HEAD_START);
        }
        tokio::time::sleep_until(at.into()).await;

        if let std::collections::btree_map::Entry::Vacant(slot) = clients.entry(f.conn()) {
            slot.insert(Client::connect(addr).await);
        }
        let conn = clients[&f.conn()].conn.clone();
        let command = clock.command(f);
        if f.is_oneway() {
            conn.invoke_oneway(command).await.unwrap();
            continue;
        }
        if f.code() == req::PULL_MESSAGE {
            last_pull.insert(f.conn(), Instant::now());
        }
        let answer = tokio::spawn(async move { conn.invoke(command, harness::TIMEOUT).await });
        match recorded_response(&frames, i) {
            Some(r) => pending.push((i, r, answer)),
            None => parked.push((frames[i].at(), answer)),
        }
    }
    for (j, r, answer) in pending {
        compared += check(&frames, j, r, answer, addr, clock, failures).await;
    }
    check_broker_requests(SCENARIO, &frames, &clients, failures);
    finish_parked(parked, PULL_STATUSES, failures).await;
    for client in clients.values() {
        client.conn.close();
    }
    compared
}

/// Awaits our answer to request `i` and compares it with the recorded answer `r`.
async fn check(
    frames: &[harness::Frame],
    i: usize,
    r: usize,
    answer: Answer,
    broker: SocketAddr,
    clock: RecordedClock,
    failures: &mut Vec<String>,
) -> usize {
    match answer.await.unwrap() {
        Ok(mut ours) => {
            if frames[i].code() == req::PULL_MESSAGE {
                ours.body = with_java_store_host(&ours.body, broker);
            }
            if let Err(e) = compare(&frames[i], &frames[r], &ours, None, clock) {
                failures.push(format!("{}: {e}", frames[i].at()));
            }
        }
        Err(e) => failures.push(format!("{}: no answer: {e}", frames[i].at())),
    }
    1
}

/// Java's offsetMsgIds name 127.0.0.1:10911; ours our broker's free port. Records whose
/// ORIGIN_MESSAGE_ID starts with our broker's host:port get Java's instead (same length, same
/// offset part), so the comparison sees every other byte as it is.
fn with_java_store_host(body: &Bytes, broker: SocketAddr) -> Bytes {
    let java = &OffsetMessageId::new("127.0.0.1:10911".parse().unwrap(), 0).to_string()[..16];
    let ours = &OffsetMessageId::new(broker, 0).to_string()[..16];
    let mut out = BytesMut::new();
    for record in decode_records(body) {
        let Ok(mut m) = record else {
            return body.clone();
        };
        if let Some(offset) = m
            .properties
            .get(PROPERTY_ORIGIN_MESSAGE_ID)
            .and_then(|id| id.strip_prefix(ours))
        {
            let id = format!("{java}{offset}");
            m.properties.insert(PROPERTY_ORIGIN_MESSAGE_ID, id);
        }
        m.encode_into(&mut out).unwrap();
    }
    out.freeze()
}
