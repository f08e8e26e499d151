//! Replay of the recorded Java client→broker traffic against our broker (a real process, with
//! our namesrv as a real process), comparing each answer with the recorded Java 4.9.8 answer.
//!
//! Scenarios: quickstart (s02, and s02b with binary ROCKETMQ headers), send modes (s03),
//! orderly (s04), pull consumers (s10). Each runs on a fresh broker whose broker.conf is the
//! recorded one (paths, port and namesrv replaced). Topics are created as in the recording: the
//! first send names TBW102 as its default topic and the broker auto-creates the topic.
//!
//! Every client→broker request is sent in capture order, over one connection per recorded
//! connection, with the recorded header and body (only the opaque is new):
//! - a request with a recorded answer is awaited before the next one is sent, and compared;
//! - a oneway request (UPDATE_CONSUMER_OFFSET) is sent and not answered;
//! - a request without a recorded answer is a long poll the Java broker was still holding when
//!   the client shut down. It is sent in the background; the loose rule for it: if our broker
//!   answers it before the scenario ends, the answer must be a pull status (FOUND,
//!   PULL_NOT_FOUND, PULL_RETRY_IMMEDIATELY, PULL_OFFSET_MOVED), never an error.
//!
//! Compared for every answer: the code, the remark, the header serialization, whether
//! `extFields` is present (JSON headers), the `extFields` names and values, and the body: JSON
//! bodies as values (arrays as sets, being Java HashSet iterations); pull bodies message by
//! message (topic, queue id, queue offset, commitlog offset, flag, sysFlag, born timestamp,
//! reconsume times, body, properties). Also compared: the NOTIFY_CONSUMER_IDS_CHANGED requests
//! the broker sent to each connection (group by group).
//!
//! Exceptions, all of them:
//! - send answers: `msgId` (it encodes the broker's host:port, a free port here);
//! - pull bodies: store timestamps, born host and store host (the broker's port and the
//!   clients' ephemeral ports); message properties are compared as a map (Java writes them
//!   in its HashMap's order, which no client depends on);
//! - QUERY_CONSUMER_OFFSET right after a oneway UPDATE_CONSUMER_OFFSET of the same queue on the
//!   same connection: Java's recorded offset may be the value before the update (once in s10,
//!   the query overtook the update inside the Java broker); ours is always the updated value,
//!   since the replay waits until each oneway request (UPDATE_CONSUMER_OFFSET, oneway send) is
//!   applied before sending the next request, watching through a connection of its own.
//!
//! Likewise the replay waits after every stored send until the message is in its consume
//! queue (see `dispatched`), as the recorded consumers, started seconds after the producers,
//! always found every message sent before them.

mod harness;

use std::collections::{BTreeMap, HashMap};

use harness::compare::compare;
use harness::replay::{
    check_broker_requests, finish_parked, max_offset, ReplayCluster, PULL_STATUSES,
};
use harness::{read_capture, recorded_response, Client, Frame, RecordedClock};
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::message::batch::decode_batch;
use remoting_codec::RemotingCommand;

const SCENARIOS: &[&str] = &[
    "s02-quickstart",
    "s02b-quickstart-rocketmq-serialize",
    "s03-send-modes",
    "s04-orderly",
    "s10-pull-consumers",
];

#[test]
fn replay_recorded_client_requests() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut compared = 0;
    let mut failures = Vec::new();
    for scenario in SCENARIOS {
        let cluster = ReplayCluster::start(scenario);
        compared += rt.block_on(replay(cluster.broker.addr(), scenario, &mut failures));
        cluster.stop(scenario);
    }
    // s02 and s02b: 20 sends, 4 heartbeats, 4 member lists, 5 offset queries, 4 pulls and
    // 4 unregisters each (41); s03: 9 sends, 3 heartbeats, 4 lists, 5 queries, 4 pulls,
    // 4 unregisters (29); s04: 12 sends, 3 heartbeats, 4 lists, 5 locks, 10 queries, 4 pulls,
    // 1 unlock, 4 unregisters (43); s10: 10 sends, 2 heartbeats, 1 list, 16 queries, 21 pulls,
    // 6 min and 5 max offsets, 8 unregisters (69).
    println!("compared {compared} responses");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        compared,
        41 + 41 + 29 + 43 + 69,
        "not every recorded answer was compared"
    );
}

/// s09-filters (its broker.conf has `enablePropertyFilter=true`): 12 sends, CHECK_CLIENT_CONFIG
/// of the SQL92 subscription, heartbeats registering it, the tag consumer's pulls (6 of 12
/// messages: `TagA || TagC`) and the SQL consumer's (4 of 12: `a between 0 and 3 AND b = 'x'`,
/// PULL_RETRY_IMMEDIATELY NO_MATCHED_MESSAGE for the queues holding only `b = 'y'`), and the
/// tag consumer's SUBSCRIPTION_NOT_LATEST; the last round of pulls is parked (Java held them).
#[test]
fn replay_s09_filters() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut failures = Vec::new();
    let scenario = "s09-filters";
    let cluster = ReplayCluster::start(scenario);
    let compared = rt.block_on(replay(cluster.broker.addr(), scenario, &mut failures));
    cluster.stop(scenario);
    println!("compared {compared} responses");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        compared, S09_ANSWERS,
        "not every recorded answer was compared"
    );
}

/// s09's client→broker requests Java answered: 12 sends, 6 unregisters, 7 heartbeats,
/// 1 CHECK_CLIENT_CONFIG, 8 member lists, 10 offset queries, 9 pulls.
const S09_ANSWERS: usize = 12 + 6 + 7 + 1 + 8 + 10 + 9;

/// `(topic, group, queueId)` of an offset request.
fn offset_key(f: &Frame) -> Option<(String, String, String)> {
    Some((
        f.ext_field("topic")?.to_owned(),
        f.ext_field("consumerGroup")?.to_owned(),
        f.ext_field("queueId")?.to_owned(),
    ))
}

/// What a oneway request changes.
enum Target<'a> {
    /// A send: the queue's max offset grows by one.
    Queue(&'a str, &'a str),
    /// UPDATE_CONSUMER_OFFSET: the group's offset becomes `commitOffset`.
    Offset,
}

fn oneway_target(f: &Frame) -> Option<Target<'_>> {
    match f.code() {
        req::SEND_MESSAGE_V2 => Some(Target::Queue(f.ext_field("b")?, f.ext_field("e")?)),
        req::SEND_MESSAGE => Some(Target::Queue(
            f.ext_field("topic")?,
            f.ext_field("queueId")?,
        )),
        req::UPDATE_CONSUMER_OFFSET => Some(Target::Offset),
        _ => None,
    }
}

const SENDS: &[i32] = &[
    req::SEND_MESSAGE,
    req::SEND_MESSAGE_V2,
    req::SEND_BATCH_MESSAGE,
];

/// Waits until a stored send is in its consume queue. The store dispatches asynchronously (in
/// Java too); the recorded consumers started seconds after the producers, so they always saw
/// every message sent before them.
async fn dispatched(control: &Client, f: &Frame, answer: &RemotingCommand) {
    let (Some(queue_id), Some(offset)) =
        (answer.ext_field("queueId"), answer.ext_field("queueOffset"))
    else {
        return;
    };
    let topic = f.ext_field("b").or(f.ext_field("topic")).unwrap();
    let count = if f.code() == req::SEND_BATCH_MESSAGE {
        decode_batch(&f.body).unwrap().len() as i64
    } else {
        1
    };
    let last: i64 = offset.parse::<i64>().unwrap() + count - 1;
    for _ in 0..3000 {
        if max_offset(control, topic, queue_id).await > last {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{}: the message was never dispatched", f.at());
}

/// A oneway request is handled in its own task, so the next request (on any connection)
/// could overtake it. The Java broker, whose recorded answers show the effect, had applied it
/// (all but once, see the exceptions): wait until it is applied here too.
async fn settle(control: &Client, f: &Frame, max_before: i64) {
    for _ in 0..3000 {
        let done = match oneway_target(f) {
            Some(Target::Queue(topic, queue_id)) => {
                max_offset(control, topic, queue_id).await > max_before
            }
            Some(Target::Offset) => {
                let request = f.to_command();
                let query = RemotingCommand::request_without_header(req::QUERY_CONSUMER_OFFSET)
                    .with_ext_field("topic", request.ext_field("topic").unwrap())
                    .with_ext_field("consumerGroup", request.ext_field("consumerGroup").unwrap())
                    .with_ext_field("queueId", request.ext_field("queueId").unwrap());
                let r = control.invoke(query).await.unwrap();
                r.ext_field("offset") == request.ext_field("commitOffset")
            }
            None => true,
        };
        if done {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{}: the oneway request was never applied", f.at());
}

async fn replay(addr: std::net::SocketAddr, scenario: &str, failures: &mut Vec<String>) -> usize {
    let frames = read_capture(&format!("{scenario}.jsonl"));
    let mut clients: BTreeMap<i64, Client> = BTreeMap::new();
    let mut parked = Vec::new();
    // Per connection: the last offset a oneway UPDATE_CONSUMER_OFFSET committed, by queue.
    let mut oneway_updates: HashMap<(i64, (String, String, String)), String> = HashMap::new();
    // Our own connection, to see when a oneway request has been applied.
    let control = Client::connect(addr).await;
    let first_request = frames
        .iter()
        .position(|f| f.to_broker() && f.is_c2s() && !f.is_response());
    let clock = RecordedClock::starting_now(&frames, first_request.unwrap());
    let mut compared = 0;
    for (i, f) in frames.iter().enumerate() {
        if !(f.to_broker() && f.is_c2s() && !f.is_response()) {
            continue;
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = clients.entry(f.conn()) {
            slot.insert(Client::connect(addr).await);
        }
        let client = &clients[&f.conn()];
        if f.is_oneway() {
            let before = match oneway_target(f) {
                Some(Target::Queue(topic, queue_id)) => max_offset(&control, topic, queue_id).await,
                _ => 0,
            };
            client.conn.invoke_oneway(clock.command(f)).await.unwrap();
            if f.code() == req::UPDATE_CONSUMER_OFFSET {
                if let (Some(key), Some(v)) = (offset_key(f), f.ext_field("commitOffset")) {
                    oneway_updates.insert((f.conn(), key), v.to_owned());
                }
            }
            settle(&control, f, before).await;
            continue;
        }
        let Some(j) = recorded_response(&frames, i) else {
            let conn = client.conn.clone();
            let (cmd, at) = (clock.command(f), f.at());
            parked.push((
                at,
                tokio::spawn(async move { conn.invoke(cmd, harness::TIMEOUT).await }),
            ));
            continue;
        };
        let ours = match client.invoke(clock.command(f)).await {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: no answer: {e}", f.at()));
                continue;
            }
        };
        if ours.code == resp::SUCCESS && SENDS.contains(&f.code()) {
            dispatched(&control, f, &ours).await;
        }
        let mut also_allowed = None;
        if f.code() == req::QUERY_CONSUMER_OFFSET {
            if let Some(key) = offset_key(f) {
                also_allowed = oneway_updates.remove(&(f.conn(), key));
            }
        }
        if let Err(e) = compare(f, &frames[j], &ours, also_allowed.as_deref(), clock) {
            failures.push(format!("{}: {e}", f.at()));
        }
        compared += 1;
    }
    check_broker_requests(scenario, &frames, &clients, failures);
    finish_parked(parked, PULL_STATUSES, failures).await;
    for client in clients.values() {
        client.conn.close();
    }
    compared
}
