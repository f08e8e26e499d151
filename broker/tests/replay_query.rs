//! Replay of `s11-query` (Java 4.9.8 client: 10 sends with keys `QK-i QALL`, then
//! queryMessage(QK-3), queryMessage(QALL), viewMessage(offsetMsgId), viewMessage(topic, uniq
//! key) = QUERY_MESSAGE with `_UNIQUE_KEY_QUERY=true`, min/max offset, earliest store time,
//! three searchOffset calls) against our namesrv and broker binaries on the recorded
//! broker.conf. Every recorded client→broker request is sent in capture order on one
//! connection per recorded connection, each after the previous answer (and after a stored
//! send is in its consume queue, as Java's had dispatched them during the recorded pause), and
//! every answer is compared with Java's: code, remark, extFields names and values, body.
//!
//! Our store times are not Java's: the messages are stored today. So the replay learns both
//! clocks: Java's store time of each message from the records of the recorded QALL answer,
//! ours from a pull of each queue on a connection of its own once the sends are done, both
//! keyed by commitlog offset (equal in both stores). Then, exceptions, all of them:
//! - time arguments (QUERY_MESSAGE `beginTimestamp`/`endTimestamp`, SEARCH_OFFSET_BY_TIMESTAMP
//!   `timestamp`) are moved from Java's clock to ours relative to the message whose Java store
//!   time is nearest (so "msg5's store time" becomes our msg5's store time, "now + 1 h" our
//!   msg9's + the same distance); 0 and Long.MAX_VALUE stay;
//! - answers that are store times (`indexLastUpdateTimestamp`, GET_EARLIEST_MSG_STORETIME's
//!   `timestamp`, each record's store time) must equal Java's value moved the same way (an
//!   exact store time of one message: that message's store time here);
//! - records: born and store hosts are not compared (they carry the clients' and the broker's
//!   ports), born timestamps are compared less the replay's born-time shift
//!   ([`RecordedClock`]), properties as a map;
//! - send answers: `msgId` (it encodes the broker's port).

mod harness;

use std::collections::{BTreeMap, HashMap};

use harness::compare::compare;
use harness::replay::{check_broker_requests, max_offset, ReplayCluster};
use harness::{read_capture, recorded_response, Client, Frame, RecordedClock, TIMEOUT};
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::message::record::decode_records;
use remoting_codec::message::sysflag::pull_sys_flag::FLAG_SUBSCRIPTION;
use remoting_codec::protocol::pull::PullMessageRequestHeader;
use remoting_codec::RemotingCommand;

const SCENARIO: &str = "s11-query";
const TOPIC: &str = "QueryTopic";

/// Java's and our store time of each message, by commitlog offset.
#[derive(Default)]
struct StoreClocks {
    java: BTreeMap<i64, i64>,
    ours: BTreeMap<i64, i64>,
}

impl StoreClocks {
    /// A time of Java's clock on ours, relative to the message stored nearest to it.
    fn to_ours(&self, java_time: i64) -> i64 {
        if java_time <= 0 || java_time == i64::MAX {
            return java_time;
        }
        let (offset, java) = self
            .java
            .iter()
            .min_by_key(|(_, t)| (java_time - **t).abs())
            .expect("Java's store times");
        self.ours[offset] + (java_time - java)
    }
}

/// `commitlog offset → store time` of a body of records.
fn store_times(body: &[u8]) -> BTreeMap<i64, i64> {
    decode_records(&bytes::Bytes::copy_from_slice(body))
        .map(|m| {
            let m = m.unwrap();
            (m.commit_log_offset, m.store_timestamp)
        })
        .collect()
}

/// Our store times: every queue of the topic pulled from 0 on our own connection.
async fn our_store_times(control: &Client) -> BTreeMap<i64, i64> {
    let mut out = BTreeMap::new();
    for queue_id in 0..4 {
        let header = PullMessageRequestHeader {
            consumer_group: "replay_query_control".into(),
            topic: TOPIC.into(),
            queue_id,
            queue_offset: 0,
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
        let r = control
            .invoke(RemotingCommand::request(req::PULL_MESSAGE, &header))
            .await
            .unwrap();
        assert_eq!(r.code, resp::SUCCESS, "pull of queue {queue_id}");
        out.extend(store_times(&r.body));
    }
    out
}

/// The recorded request as we send it: born time shifted, time arguments on our clock.
fn request(f: &Frame, clock: RecordedClock, clocks: &StoreClocks) -> RemotingCommand {
    let mut command = clock.command(f);
    let keys: &[&str] = match f.code() {
        req::QUERY_MESSAGE => &["beginTimestamp", "endTimestamp"],
        req::SEARCH_OFFSET_BY_TIMESTAMP => &["timestamp"],
        _ => &[],
    };
    for key in keys {
        let java: i64 = f.ext_field(key).unwrap().parse().unwrap();
        command = command.with_ext_field(*key, clocks.to_ours(java).to_string());
    }
    command
}

/// The header fields that are store times.
fn time_fields(code: i32) -> &'static [&'static str] {
    match code {
        req::QUERY_MESSAGE => &["indexLastUpdateTimestamp"],
        req::GET_EARLIEST_MSG_STORETIME => &["timestamp"],
        _ => &[],
    }
}

/// The answer of a request that reads messages or store times, against Java's.
fn compare_query(
    request: &Frame,
    theirs: &Frame,
    ours: &RemotingCommand,
    clock: RecordedClock,
    clocks: &StoreClocks,
) -> Result<(), String> {
    if ours.code != theirs.code() || ours.remark.as_deref() != theirs.remark() {
        return Err(format!(
            "code {} remark {:?}, Java {} remark {:?}",
            ours.code,
            ours.remark,
            theirs.code(),
            theirs.remark()
        ));
    }
    let ours_ext: BTreeMap<String, String> = ours
        .ext_fields
        .as_ref()
        .map(|e| {
            e.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut expected: BTreeMap<String, String> = theirs
        .ext_fields()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    for key in time_fields(request.code()) {
        if let Some(v) = expected.get_mut(*key) {
            *v = clocks.to_ours(v.parse().unwrap()).to_string();
        }
    }
    if ours_ext != expected || ours.ext_fields.is_some() != theirs.ext_fields().is_some() {
        return Err(format!(
            "extFields {:?}, Java (on our clock) {:?}",
            ours.ext_fields, expected
        ));
    }
    let describe = |body: &[u8], on_our_clock: bool| -> Vec<String> {
        decode_records(&bytes::Bytes::copy_from_slice(body))
            .map(|m| {
                let m = m.unwrap();
                let properties: BTreeMap<&str, &str> = m.properties.iter().collect();
                let (born, stored) = if on_our_clock {
                    (m.born_timestamp - clock.shift_ms(), m.store_timestamp)
                } else {
                    (m.born_timestamp, clocks.to_ours(m.store_timestamp))
                };
                format!(
                    "{} q{} @{} phy{} flag{} sys{} born{born} stored{stored} re{} body{:?} {properties:?}",
                    m.topic,
                    m.queue_id,
                    m.queue_offset,
                    m.commit_log_offset,
                    m.flag,
                    m.sys_flag,
                    m.reconsume_times,
                    m.body
                )
            })
            .collect()
    };
    let (o, t) = (describe(&ours.body, true), describe(&theirs.body, false));
    if o != t {
        return Err(format!("records\n  ours: {o:#?}\n  Java: {t:#?}"));
    }
    Ok(())
}

/// Waits until a stored send is in its consume queue.
async fn dispatched(control: &Client, f: &Frame, answer: &RemotingCommand) {
    let (Some(queue_id), Some(offset)) =
        (answer.ext_field("queueId"), answer.ext_field("queueOffset"))
    else {
        return;
    };
    let topic = f.ext_field("b").unwrap();
    let offset: i64 = offset.parse().unwrap();
    let deadline = std::time::Instant::now() + TIMEOUT;
    while max_offset(control, topic, queue_id).await <= offset {
        assert!(
            std::time::Instant::now() < deadline,
            "{}: never dispatched",
            f.at()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[test]
fn replay_query_scenario() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cluster = ReplayCluster::start(SCENARIO);
    let mut failures = Vec::new();
    let compared = rt.block_on(replay(cluster.broker.addr(), &mut failures));
    cluster.stop(SCENARIO);
    println!("compared {compared:?}");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // 10 sends, 1 heartbeat, 3 QUERY_MESSAGE, 1 VIEW_MESSAGE_BY_ID, min, max, earliest
    // store time, 3 searches, 2 unregisters.
    let expected: HashMap<i32, usize> = [
        (req::SEND_MESSAGE_V2, 10),
        (req::HEART_BEAT, 1),
        (req::QUERY_MESSAGE, 3),
        (req::VIEW_MESSAGE_BY_ID, 1),
        (req::GET_MIN_OFFSET, 1),
        (req::GET_MAX_OFFSET, 1),
        (req::GET_EARLIEST_MSG_STORETIME, 1),
        (req::SEARCH_OFFSET_BY_TIMESTAMP, 3),
        (req::UNREGISTER_CLIENT, 2),
    ]
    .into();
    assert_eq!(compared, expected, "not every recorded answer was compared");
}

async fn replay(addr: std::net::SocketAddr, failures: &mut Vec<String>) -> HashMap<i32, usize> {
    let frames = read_capture(&format!("{SCENARIO}.jsonl"));
    let is_request = |f: &Frame| f.to_broker() && f.is_c2s() && !f.is_response();
    let first_request = frames.iter().position(is_request).unwrap();
    let clock = RecordedClock::starting_now(&frames, first_request);

    // Java's store times: the recorded answer to queryMessage(QALL) holds all ten records.
    let qall = frames
        .iter()
        .position(|f| {
            is_request(f) && f.code() == req::QUERY_MESSAGE && f.ext_field("key") == Some("QALL")
        })
        .unwrap();
    let mut clocks = StoreClocks {
        java: store_times(&frames[recorded_response(&frames, qall).unwrap()].body),
        ours: BTreeMap::new(),
    };
    assert_eq!(clocks.java.len(), 10, "Java's QALL answer");

    let control = Client::connect(addr).await;
    let mut clients: BTreeMap<i64, Client> = BTreeMap::new();
    let mut compared: HashMap<i32, usize> = HashMap::new();
    for (i, f) in frames.iter().enumerate() {
        if !is_request(f) {
            continue;
        }
        if f.code() != req::SEND_MESSAGE_V2 && clocks.ours.is_empty() {
            clocks.ours = our_store_times(&control).await;
            assert_eq!(
                clocks.ours.keys().collect::<Vec<_>>(),
                clocks.java.keys().collect::<Vec<_>>(),
                "the messages are stored at Java's commitlog offsets"
            );
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = clients.entry(f.conn()) {
            slot.insert(Client::connect(addr).await);
        }
        let client = &clients[&f.conn()];
        let j = recorded_response(&frames, i).expect("every s11 request was answered");
        let ours = match client.invoke(request(f, clock, &clocks)).await {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: no answer: {e}", f.at()));
                continue;
            }
        };
        if f.code() == req::SEND_MESSAGE_V2 && ours.code == resp::SUCCESS {
            dispatched(&control, f, &ours).await;
        }
        let result = match f.code() {
            req::QUERY_MESSAGE | req::VIEW_MESSAGE_BY_ID | req::GET_EARLIEST_MSG_STORETIME => {
                compare_query(f, &frames[j], &ours, clock, &clocks)
            }
            _ => compare(f, &frames[j], &ours, None, clock),
        };
        if let Err(e) = result {
            failures.push(format!("{}: {e}", f.at()));
        }
        *compared.entry(f.code()).or_default() += 1;
    }
    check_broker_requests(SCENARIO, &frames, &clients, failures);
    for client in clients.values() {
        client.conn.close();
    }
    control.conn.close();
    compared
}
