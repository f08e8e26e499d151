//! Replay of the recorded transaction run (s07-transaction) against our broker and namesrv
//! processes, on the recorded broker.conf (`transactionCheckInterval=3000`,
//! `transactionTimeOut=2000`), each answer compared with the Java 4.9.8 answer by
//! `harness::compare`.
//!
//! The run: a TransactionMQProducer sends three half messages (tx-commit, tx-rollback,
//! tx-unknown) each followed by a oneway END_TRANSACTION (commit, rollback, unknown); a push
//! consumer long-polls TxTopic; the broker's check service asks the producer about tx-unknown
//! (CHECK_TRANSACTION_STATE to the producer's connection), the producer answers
//! END_TRANSACTION commit with `fromTransactionCheck=true`, and the consumer's long poll of
//! queue 1 is answered with the committed message.
//!
//! Replay rules (as `replay_retry.rs`): each request no earlier than its recorded time, after
//! our answers to the requests whose recorded answers came before it, and after the earlier
//! non-pull requests of its connection. Two more, for the transaction:
//! - a oneway commit / rollback is applied before the next request is sent (we watch the op
//!   queue's max offset through GET_MAX_OFFSET on a connection of our own), so
//!   every record is appended at Java's commitlog offset — the recorded END_TRANSACTION from
//!   the check names the re-written half at 1475, and the delivered records name theirs;
//! - the producer's answer to the check is sent only once our broker's CHECK_TRANSACTION_STATE
//!   arrived on its connection (the check runs on the broker's own 3 s timer).
//!
//! Compared beyond the answers: the CHECK_TRANSACTION_STATE request itself (every header field,
//! the offsetMsgId by its offset part since the store host's port is ours; the body record field
//! by field, properties included: TRANSACTION_CHECK_TIMES=1, WAIT=false), the broker's requests
//! per connection, and the prepared-transaction offset of every delivered record.
//! Exceptions, as in `replay.rs`: a send's `msgId`; store timestamps and hosts of records.

mod harness;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use harness::compare::{compare, compare_messages};
use harness::replay::{
    check_broker_requests, finish_parked, op_queue_max_offset, wait_for_op_message, Answer,
    ReplayCluster, PULL_STATUSES,
};
use harness::{read_capture, recorded_response, Client, RecordedClock};
use remoting_codec::code::request as req;
use remoting_codec::message::record::decode_records;

const SCENARIO: &str = "s07-transaction";

#[test]
fn replay_transaction_on_the_recorded_clock() {
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
    // 3 sends, 5 heartbeats, 4 member lists, 5 offset queries, 2 answered pulls, 4
    // unregisters, and the broker's CHECK_TRANSACTION_STATE.
    assert_eq!(compared, 24, "not every recorded answer was compared");
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
    let admin = Client::connect(addr).await;
    let t0 = ts(requests[0]);
    let start = Instant::now();
    let clock = RecordedClock::starting_now(&frames, requests[0]);
    let mut clients: BTreeMap<i64, Client> = BTreeMap::new();
    let mut pending: Vec<(usize, usize, Answer)> = Vec::new();
    let mut parked: Vec<(String, Answer)> = Vec::new();
    let mut compared = 0;

    for &i in &requests {
        let f = &frames[i];
        let (due, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(j, r, _)| {
            *r < i || (frames[*j].conn() == f.conn() && frames[*j].code() != req::PULL_MESSAGE)
        });
        pending = later;
        for (j, r, answer) in due {
            compared += check(&frames, j, r, answer, clock, failures).await;
        }
        tokio::time::sleep_until((start + Duration::from_secs_f64(ts(i) - t0)).into()).await;
        if let std::collections::btree_map::Entry::Vacant(slot) = clients.entry(f.conn()) {
            slot.insert(Client::connect(addr).await);
        }
        let client = &clients[&f.conn()];
        if f.code() == req::END_TRANSACTION && f.ext_field("fromTransactionCheck") == Some("true") {
            compared += compare_check_request(&frames, f.conn(), client, clock, failures).await;
        }
        let command = clock.command(f);
        if f.is_oneway() {
            let before = op_queue_max_offset(&admin).await;
            client.conn.invoke_oneway(command).await.unwrap();
            let kind = f.ext_field("commitOrRollback");
            if f.code() == req::END_TRANSACTION && kind != Some("0") {
                wait_for_op_message(&admin, before).await;
            }
            continue;
        }
        let conn = client.conn.clone();
        let answer = tokio::spawn(async move { conn.invoke(command, harness::TIMEOUT).await });
        match recorded_response(&frames, i) {
            Some(r) => pending.push((i, r, answer)),
            None => parked.push((frames[i].at(), answer)),
        }
    }
    for (j, r, answer) in pending {
        compared += check(&frames, j, r, answer, clock, failures).await;
    }
    check_broker_requests(SCENARIO, &frames, &clients, failures);
    finish_parked(parked, PULL_STATUSES, failures).await;
    for client in clients.values() {
        client.conn.close();
    }
    admin.conn.close();
    compared
}

/// Awaits our answer to request `i` and compares it with the recorded answer `r`; for pulls,
/// also the prepared-transaction offsets of the records (not part of `compare_messages`).
async fn check(
    frames: &[harness::Frame],
    i: usize,
    r: usize,
    answer: Answer,
    clock: RecordedClock,
    failures: &mut Vec<String>,
) -> usize {
    match answer.await.unwrap() {
        Ok(ours) => {
            if let Err(e) = compare(&frames[i], &frames[r], &ours, None, clock) {
                failures.push(format!("{}: {e}", frames[i].at()));
            }
            if frames[i].code() == req::PULL_MESSAGE {
                let prepared = |body: &bytes::Bytes| -> Vec<i64> {
                    decode_records(body)
                        .filter_map(Result::ok)
                        .map(|m| m.prepared_transaction_offset)
                        .collect()
                };
                let (o, t) = (prepared(&ours.body), prepared(&frames[r].body));
                if o != t {
                    failures.push(format!(
                        "{}: prepared transaction offsets {o:?}, Java {t:?}",
                        frames[i].at()
                    ));
                }
            }
        }
        Err(e) => failures.push(format!("{}: no answer: {e}", frames[i].at())),
    }
    1
}

/// Waits for our CHECK_TRANSACTION_STATE on `conn` and compares it with Java's.
async fn compare_check_request(
    frames: &[harness::Frame],
    conn: i64,
    client: &Client,
    clock: RecordedClock,
    failures: &mut Vec<String>,
) -> usize {
    let Some(theirs) = frames.iter().find(|f| {
        f.to_broker() && f.conn() == conn && !f.is_c2s() && f.code() == req::CHECK_TRANSACTION_STATE
    }) else {
        failures.push("no recorded CHECK_TRANSACTION_STATE".into());
        return 0;
    };
    let deadline = Instant::now() + harness::TIMEOUT;
    let ours = loop {
        let found = client
            .received
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.code == req::CHECK_TRANSACTION_STATE)
            .cloned();
        if let Some(ours) = found {
            break ours;
        }
        if Instant::now() > deadline {
            failures.push(format!("{}: our broker sent no check", theirs.at()));
            return 0;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    if !ours.is_oneway() {
        failures.push("CHECK_TRANSACTION_STATE must be oneway".into());
    }
    let mut ours_ext: BTreeMap<String, String> = ours
        .ext_fields
        .iter()
        .flat_map(|e| e.iter())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut theirs_ext: BTreeMap<String, String> = theirs
        .ext_fields()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    // An offsetMsgId is the store host (our broker's port) + the commitlog offset.
    for ext in [&mut ours_ext, &mut theirs_ext] {
        if let Some(id) = ext.get_mut("offsetMsgId") {
            *id = id.split_off(id.len().saturating_sub(16));
        }
    }
    if ours_ext != theirs_ext {
        failures.push(format!(
            "{}: check header {ours_ext:?}, Java {theirs_ext:?}",
            theirs.at()
        ));
    }
    if let Err(e) = compare_messages(&theirs.body, &ours.body, clock) {
        failures.push(format!("{}: check body: {e}", theirs.at()));
    }
    1
}
